from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

__all__ = ("RestrictedQuerySet", "BaseModel", "AuditedModel")


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view"):
        from core.permissions import scope_filter

        q = scope_filter(self.model, user, action)
        if q is None:
            return self.none()
        return self.filter(q) if q else self


class BaseModel(models.Model):
    objects = RestrictedQuerySet.as_manager()

    class Meta:
        abstract = True

    def get_absolute_url(self):
        from core.views.generic import model_url

        return model_url(type(self), "detail", self.pk)


class AuditedModel(BaseModel):
    """A model whose every save and delete writes a ChangeLog row in the same transaction.

    Bulk operations (``bulk_create``, ``QuerySet.update``) bypass this; services that use them must
    call ``core.audit.log_change`` themselves.
    """

    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args, audit_message: str = "", **kwargs):
        from core.audit import log_change, serialize_instance

        with transaction.atomic(using=kwargs.get("using")):
            adding = self._state.adding
            before = None
            if not adding and self.pk is not None:
                old = type(self)._base_manager.filter(pk=self.pk).first()
                before = serialize_instance(old) if old is not None else None
            super().save(*args, **kwargs)
            log_change(self, "create" if adding or before is None else "update", before=before,
                       message=audit_message)

    def delete(self, *args, audit_message: str = "", **kwargs):
        from core.audit import log_change, serialize_instance

        with transaction.atomic(using=kwargs.get("using")):
            before, pk = serialize_instance(self), self.pk
            result = super().delete(*args, **kwargs)
            log_change(self, "delete", before=before, message=audit_message, object_id=str(pk))
        return result
