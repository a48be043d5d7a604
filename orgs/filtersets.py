import django_filters
from django.utils.translation import gettext_lazy as _

from core.filtersets import AreaPrefixFilter, BaseFilterSet

from .choices import OrgType, Sector
from .models import Organization


class OrganizationFilterSet(BaseFilterSet):
    search_fields = ("name", "short_name", "uscc", "address")
    type = django_filters.MultipleChoiceFilter(choices=OrgType.choices, label=_("type"))
    sector = django_filters.MultipleChoiceFilter(choices=Sector.choices, label=_("sector"))
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))
    parent_id = django_filters.NumberFilter(field_name="parent_id", label=_("parent organisation (ID)"))

    class Meta:
        model = Organization
        fields = ["is_member_unit", "is_active", "uscc"]
