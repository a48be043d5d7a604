from django.db import transaction
from rest_framework import viewsets

from core.permissions import ensure_in_scope, scope_filter


class BaseModelViewSet(viewsets.ModelViewSet):
    """Every queryset is ``restrict``-ed to the caller and the action; writes re-check scope in the
    transaction (so a write that would land outside the caller's scope is rolled back → 403)."""

    ACTIONS = {"list": "view", "retrieve": "view", "create": "add", "update": "change", "partial_update": "change",
               "destroy": "delete"}

    @property
    def model(self):
        return self.queryset.model

    @property
    def required_action(self):
        return self.ACTIONS.get(self.action, getattr(self, "custom_action_permission", "view"))

    def get_queryset(self):
        q = scope_filter(self.model, self.request.user, self.required_action)
        if q is None:
            return self.queryset.none()
        return self.queryset.filter(q)

    def perform_create(self, serializer):
        with transaction.atomic():
            obj = serializer.save()
            ensure_in_scope(obj, self.request.user, "add")

    def perform_update(self, serializer):
        with transaction.atomic():
            obj = serializer.save()
            ensure_in_scope(obj, self.request.user, "change")

    def perform_destroy(self, instance):
        instance.delete()

