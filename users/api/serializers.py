from rest_framework import serializers

from core.api.serializers import BaseModelSerializer
from core.unmask import MaskedField

from ..models import Role, User


class UserSerializer(BaseModelSerializer):
    role = serializers.SlugRelatedField(slug_field="code", read_only=True)
    id_number = MaskedField()
    phone = MaskedField()

    class Meta:
        model = User
        fields = ["id", "url", "username", "full_name", "role", "org", "area_code", "search_area_code", "id_number",
                  "phone",
                  "is_active", "is_system_account", "last_login"]
        read_only_fields = ["last_login"]


class RoleSerializer(BaseModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "url", "code", "name", "description", "scope_kind", "permissions", "sections", "requires_otp",
                  "builtin"]
        read_only_fields = ["builtin"]
