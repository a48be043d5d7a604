"""Showing personal data in clear: only with the ``unmask`` permission on the model, only for rows
in the user's scope, and every time with an access-log entry."""

from django.apps import apps
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .audit import log_access
from .fields import EncryptedTextField
from .models import AccessLog
from .permissions import model_perm


def encrypted_field(model, name: str) -> EncryptedTextField | None:
    try:
        field = model._meta.get_field(name)
    except Exception:
        return None
    return field if isinstance(field, EncryptedTextField) else None


def can_unmask(user, obj) -> bool:
    model = type(obj)
    return model_perm(user, model, "unmask") and model._default_manager.restrict(user, "view").filter(
        pk=obj.pk).exists()


def masked(obj, name: str) -> str:
    field = encrypted_field(type(obj), name)
    value = getattr(obj, name)
    return field.audit_repr(value) if field is not None else value


def reveal(user, obj, name: str, reason: str = "") -> str:
    """The clear value, logged. Callers must have checked ``can_unmask``."""
    log_access(AccessLog.Event.UNMASK, obj, reason=reason, detail={"field": name})
    return getattr(obj, name)


def resolve(label: str, pk):
    model = apps.get_model(label)
    return model, model._default_manager.filter(pk=pk).first()


@extend_schema_field(OpenApiTypes.STR)
class MaskedField(serializers.Field):
    """Read-only serializer field for an encrypted model field: masked, or clear (and logged) for
    callers who may unmask the record."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return instance

    def to_representation(self, instance):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        value = getattr(instance, self.source)
        if not value:
            return value
        if user is not None and model_perm(user, type(instance), "unmask"):
            return reveal(user, instance, self.source, reason="API response")
        return masked(instance, self.source)
