from rest_framework.exceptions import PermissionDenied

from core.api.views import BaseModelViewSet

from ..admin_views import RoleFilterSet, UserFilterSet
from ..models import Role, User
from .serializers import RoleSerializer, UserSerializer


class UserViewSet(BaseModelViewSet):
    queryset = User.objects.select_related("role", "org")
    serializer_class = UserSerializer
    filterset_class = UserFilterSet
    http_method_names = ["get", "patch", "head", "options"]


class RoleViewSet(BaseModelViewSet):
    queryset = Role.objects.all()
    serializer_class = RoleSerializer
    filterset_class = RoleFilterSet

    def perform_update(self, serializer):
        if serializer.instance.builtin:
            raise PermissionDenied("built-in roles are defined in code and cannot be changed")
        super().perform_update(serializer)

    def perform_destroy(self, instance):
        if instance.builtin:
            raise PermissionDenied("built-in roles cannot be deleted")
        super().perform_destroy(instance)
