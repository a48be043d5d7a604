import django_filters
from django.utils.translation import gettext_lazy as _

from core.filtersets import AreaPrefixFilter, BaseFilterSet

from .models import Division


class DivisionFilterSet(BaseFilterSet):
    search_fields = ("name", "code")
    within = AreaPrefixFilter(field_name="code", label=_("within division (code)"))
    code_prefix = django_filters.CharFilter(field_name="code", lookup_expr="startswith", label=_("code prefix"))
    level = django_filters.MultipleChoiceFilter(choices=Division.Level.choices, label=_("level"))
    parent = django_filters.CharFilter(field_name="parent_id", label=_("parent code"))

    class Meta:
        model = Division
        fields = ["code", "name"]
