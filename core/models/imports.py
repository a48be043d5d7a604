from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .base import AuditedModel

__all__ = ("ImportBatch",)


class ImportBatch(AuditedModel):
    """One uploaded file for one import spec: who, when, the file's SM3 hash and what it did."""

    class Status(models.TextChoices):
        VALIDATING = "validating", _("Validating")
        INVALID = "invalid", _("Has errors")
        READY = "ready", _("Ready to commit")
        COMMITTING = "committing", _("Committing")
        COMMITTED = "committed", _("Committed")
        DUPLICATE = "duplicate", _("Same file already imported")
        FAILED = "failed", _("Failed")

    spec = models.CharField(_("import type"), max_length=100, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, on_delete=models.SET_NULL,
                             related_name="import_batches")
    file_name = models.CharField(_("file name"), max_length=255)
    file_sm3 = models.CharField(_("file SM3 hash"), max_length=64, db_index=True)
    stored_path = models.CharField(_("stored file"), max_length=300)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.VALIDATING)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    rows_created = models.PositiveIntegerField(_("created"), default=0)
    rows_updated = models.PositiveIntegerField(_("updated"), default=0)
    rows_unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rows_invalid = models.PositiveIntegerField(_("rows with errors"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    notices = models.JSONField(_("notices"), default=list, blank=True)
    error_file = models.CharField(_("error workbook"), max_length=300, blank=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created"]
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    @classmethod
    def scope_q(cls, scope, user, action):
        return Q() if scope.is_global else Q(user_id=user.pk)
