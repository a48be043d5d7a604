"""Append-only, hash-chained audit: ChangeLog (what changed) and AccessLog (who looked, logged in, exported…).

Each row stores the SM3 hash of its predecessor (``prev_hash``) and its own hash over its content
(``row_hash``); ``seq`` numbers rows without gaps. Editing, removing or reordering any row breaks
the chain, which ``manage.py audit_verify`` reports. The application refuses updates and deletes,
and the migration adds database triggers that refuse them too.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .base import RestrictedQuerySet

__all__ = ("AuditChainHead", "ChangeLog", "AccessLog", "AppendOnlyError")


class AppendOnlyError(RuntimeError):
    pass


class AppendOnlyQuerySet(RestrictedQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit records cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit records cannot be deleted")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError("audit records cannot be updated")


class AuditChainHead(models.Model):
    """The newest (seq, hash) of each chain; locked while appending so the chain stays linear."""

    chain = models.CharField(max_length=32, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)


class AuditRecord(models.Model):
    chain_name = ""
    hashed_fields: tuple[str, ...] = ()

    seq = models.BigIntegerField(_("sequence"), unique=True, editable=False)
    time = models.DateTimeField(_("time"), db_index=True)
    user_id = models.BigIntegerField(_("user id"), null=True, blank=True, db_index=True)
    username = models.CharField(_("user"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.UUIDField(_("request id"), null=True, blank=True, db_index=True)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, editable=False)
    row_hash = models.CharField(_("row hash"), max_length=64, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-seq"]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit records cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit records cannot be deleted")

    def get_absolute_url(self):
        from core.views.generic import model_url

        return model_url(type(self), "detail", self.pk)


class ChangeLog(AuditRecord):
    chain_name = "change"

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Updated")
        DELETE = "delete", _("Deleted")

    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)

    hashed_fields = ("action", "before", "after", "message")

    class Meta(AuditRecord.Meta):
        verbose_name = _("change log entry")
        verbose_name_plural = _("change log")

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AccessLog(AuditRecord):
    chain_name = "access"

    class Event(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Login failed")
        LOCKED_OUT = "locked_out", _("Locked out")
        LOGOUT = "logout", _("Logout")
        IDLE_TIMEOUT = "idle_timeout", _("Idle timeout")
        OTP_VERIFIED = "otp_verified", _("Second factor verified")
        OTP_FAILED = "otp_failed", _("Second factor failed")
        OTP_ENROLLED = "otp_enrolled", _("Second factor enrolled")
        TOKEN_ISSUED = "token_issued", _("API token issued")
        READ = "read", _("Read sensitive record")
        SEARCH = "search", _("Search")
        EXPORT = "export", _("Export")
        IMPORT = "import", _("Import")
        UNMASK = "unmask", _("Unmask")
        BREAK_GLASS = "break_glass", _("Break-glass access")
        TRANSFER = "transfer", _("Transfer")
        APPROVE = "approve", _("Approval")
        DENIED = "denied", _("Access denied")
        ADMIN = "admin", _("Administration")

    class Result(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        DENIED = "denied", _("Denied")

    event = models.CharField(_("event"), max_length=32, choices=Event.choices, db_index=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, default=Result.SUCCESS)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    detail = models.JSONField(_("detail"), null=True, blank=True)

    hashed_fields = ("event", "result", "reason", "detail")

    class Meta(AuditRecord.Meta):
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")

    def __str__(self):
        return f"#{self.seq} {self.event} {self.username} {self.result}"
