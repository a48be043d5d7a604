from rest_framework.permissions import BasePermission

from core.permissions import model_perm

METHOD_ACTIONS = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "add", "PUT": "change",
                  "PATCH": "change", "DELETE": "delete"}


class RolePermission(BasePermission):
    """The caller's role must grant ``<model resource>:<action>``; rows are then scoped by ``restrict``.

    A view may name the action itself (``required_action``), and views without a model (e.g. the
    token endpoint) set ``permission_classes`` of their own.
    """

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        action = getattr(view, "required_action", None) or METHOD_ACTIONS.get(request.method, "change")
        model = getattr(view, "model", None) or getattr(getattr(view, "queryset", None), "model", None)
        if model is None:
            return True
        return model_perm(user, model, action)
