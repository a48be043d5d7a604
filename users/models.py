import fnmatch
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField
from core.models import AuditedModel, BaseModel, RestrictedQuerySet
from core.permissions import READ_ACTIONS, Scope
from geo.codes import prefix_of
from utilities.crypto import sm3_hex
from utilities.masking import mask_id_number, mask_mobile
from utilities.validators import validate_id_number

__all__ = ("Role", "User", "ApiToken")


class Role(AuditedModel):
    """Resource × action permissions plus form-section access, with a scope kind.

    ``permissions`` holds patterns ``"<app>.<model>:<action>"``; either part may use ``*``
    (``"casework.*:view"``). ``sections`` names the form sections (e.g. ``identity``,
    ``assistance``, ``tests``, ``risk``, ``police_notes``) the role may see; ``*`` is all.
    """

    class ScopeKind(models.TextChoices):
        AREA = "area", _("By area (the user's area code)")
        ORG = "org", _("By organisation (the user's organisation)")
        GLOBAL = "global", _("Everything (platform operators)")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    scope_kind = models.CharField(_("scope"), max_length=16, choices=ScopeKind.choices, default=ScopeKind.AREA)
    permissions = models.JSONField(_("permissions"), default=list, blank=True)
    sections = models.JSONField(_("form sections"), default=list, blank=True)
    requires_otp = models.BooleanField(_("requires a second factor"), default=False)
    builtin = models.BooleanField(_("built-in"), default=False, editable=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self):
        return self.name

    def grants(self, resource: str, action: str) -> bool:
        for pattern in self.permissions:
            res_pattern, _sep, act_pattern = pattern.partition(":")
            if fnmatch.fnmatchcase(resource, res_pattern) and fnmatch.fnmatchcase(action, act_pattern or "*"):
                return True
        return False

    def sees_section(self, section: str) -> bool:
        return "*" in self.sections or section in self.sections


class UserQuerySet(RestrictedQuerySet):
    pass


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    pass


class User(AuditedModel, AbstractUser):
    """A person (or a system account) using Jindu. Scope comes from the role's scope kind:
    area roles act within ``area_code`` (and may search within ``search_area_code``), organisation
    roles within ``org``."""

    audit_exclude = ("password",)

    full_name = models.CharField(_("full name"), max_length=60, blank=True)
    role = models.ForeignKey(Role, verbose_name=_("role"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="users")
    org = models.ForeignKey("orgs.Organization", verbose_name=_("organisation"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="users")
    area_code = models.CharField(_("area (capture scope)"), max_length=15, blank=True, db_index=True)
    search_area_code = models.CharField(_("search area"), max_length=15, blank=True,
                                        help_text=_("Optional wider area for look-ups; defaults to the capture "
                                                    "area."))
    # Real-name accounts (实名): encrypted at rest, exact search through the blind index.
    id_number = EncryptedTextField(_("ID number"), blank=True, validators=[validate_id_number],
                                   index_field="id_number_index", index_purpose="id_number",
                                   normalizer=lambda v: v.strip().upper(), masker=mask_id_number)
    id_number_index = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    phone = EncryptedTextField(_("phone"), blank=True, masker=mask_mobile)
    is_system_account = models.BooleanField(_("system account"), default=False,
                                            help_text=_("An account used by another system (enterprise, lab)."))
    password_changed_at = models.DateTimeField(_("password changed"), null=True, blank=True)

    objects = UserManager()

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.full_name or self.username

    def set_password(self, raw_password):
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    # --- permissions ------------------------------------------------------------------------
    def has_resource_perm(self, resource: str, action: str) -> bool:
        return self.is_active and self.role is not None and self.role.grants(resource, action)

    def sees_section(self, section: str) -> bool:
        return self.role is not None and self.role.sees_section(section)

    @property
    def requires_otp(self) -> bool:
        return self.role is not None and (self.role.requires_otp or self.role.code in settings.JINDU_OTP_REQUIRED_ROLES)

    def scope_for(self, action: str) -> Scope:
        role = self.role
        if role is None:
            return Scope()
        if role.scope_kind == Role.ScopeKind.GLOBAL:
            return Scope(is_global=True)
        if role.scope_kind == Role.ScopeKind.ORG:
            return Scope(org_id=self.org_id)
        area = self.area_code
        if action in READ_ACTIONS and self.search_area_code:
            area = self.search_area_code
        return Scope(area_prefix=prefix_of(area)) if area else Scope()

    @property
    def password_expired(self) -> bool:
        max_age = settings.JINDU_PASSWORD_MAX_AGE_DAYS
        if not max_age or self.password_changed_at is None or self.is_system_account:
            return False
        return timezone.now() - self.password_changed_at > timedelta(days=max_age)

    @classmethod
    def scope_q(cls, scope, user, action):
        if scope.is_global:
            return Q()
        if scope.org_id:
            return Q(org_id=scope.org_id)
        if scope.area_prefix:
            return Q(area_code__startswith=scope.area_prefix)
        return None


class ApiToken(BaseModel):
    """An API token for a person or a system. Only its SM3 hash is stored; the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked = models.BooleanField(_("revoked"), default=False)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash_key(key: str) -> str:
        return sm3_hex(key.encode("utf-8"))

    @classmethod
    def issue(cls, user, name: str = "", days: int | None = None) -> tuple["ApiToken", str]:
        key = "jd_" + secrets.token_urlsafe(32)
        expires = timezone.now() + timedelta(days=days) if days else None
        token = cls.objects.create(user=user, name=name, prefix=key[:10], key_hash=cls.hash_key(key), expires=expires)
        return token, key

    @property
    def is_valid(self) -> bool:
        return not self.revoked and (self.expires is None or self.expires > timezone.now())

    @classmethod
    def scope_q(cls, scope, user, action):
        return Q() if scope.is_global else Q(user_id=user.pk)
