from core.api.serializers import BaseModelSerializer

from ..models import Organization


class OrganizationSerializer(BaseModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "url", "name", "short_name", "type", "sector", "is_member_unit", "uscc", "area_code", "parent",
                  "address", "contact_name", "contact_phone", "is_active", "created", "updated"]
