import django_filters
from django.utils.translation import gettext_lazy as _

from core.fields import blind_index_for
from core.filtersets import AreaPrefixFilter, BaseFilterSet

from . import choices, models


class PersonFilterSet(BaseFilterSet):
    """Exact search on encrypted identity goes through the blind index: ?id_number=… or ?name=…"""

    id_number = django_filters.CharFilter(method="by_id_number", label=_("ID number"))
    name = django_filters.CharFilter(method="by_name", label=_("name"))
    area = AreaPrefixFilter(field_name="owner_area_code", label=_("managing area"))
    household_area = AreaPrefixFilter(field_name="household_area_code", label=_("household registration area"))
    status = django_filters.MultipleChoiceFilter(choices=choices.PersonStatus.choices, label=_("status"))
    grid = django_filters.CharFilter(field_name="grid", label=_("grid (网格)"))

    class Meta:
        model = models.Person
        fields = ["in_control"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if len(value) >= 15 and value[:6].isdigit():
            return self.by_id_number(queryset, name, value)
        return self.by_name(queryset, name, value)

    def by_id_number(self, queryset, name, value):
        return queryset.filter(id_number_index=blind_index_for("id_number", value, normalizer=lambda v: v.strip()
                                                               .upper())) if value else queryset

    def by_name(self, queryset, name, value):
        return queryset.filter(name_index=blind_index_for("person_name", value)) if value else queryset


class MeasureFilterSet(BaseFilterSet):
    area = AreaPrefixFilter(field_name="execution_area_code", label=_("execution area"))
    kind = django_filters.MultipleChoiceFilter(choices=choices.MeasureKind.choices, label=_("measure"))
    person = django_filters.NumberFilter(field_name="person_id", label=_("person (ID)"))

    class Meta:
        model = models.Measure
        fields = ["state"]


class PlannedEventFilterSet(BaseFilterSet):
    area = AreaPrefixFilter(field_name="measure__execution_area_code", label=_("area"))
    due_from = django_filters.DateFilter(field_name="due_on", lookup_expr="gte", label=_("due from"))
    due_to = django_filters.DateFilter(field_name="due_on", lookup_expr="lte", label=_("due until"))

    class Meta:
        model = models.PlannedEvent
        fields = ["status", "kind"]


class PoliceReportTaskFilterSet(BaseFilterSet):
    area = AreaPrefixFilter(field_name="measure__execution_area_code", label=_("area"))
    open = django_filters.BooleanFilter(field_name="reported_on", lookup_expr="isnull", label=_("not yet reported"))

    class Meta:
        model = models.PoliceReportTask
        fields = ["rule_id"]


class TransferFilterSet(BaseFilterSet):
    class Meta:
        model = models.Transfer
        fields = ["status"]


class ReferralFilterSet(BaseFilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=choices.AssistanceKind.choices, label=_("kind"))

    class Meta:
        model = models.Referral
        fields = ["status", "provider_org"]


class IncidentFilterSet(BaseFilterSet):
    area = AreaPrefixFilter(field_name="area_code", label=_("area"))

    class Meta:
        model = models.Incident
        fields = ["kind", "severity"]


class BreakGlassFilterSet(BaseFilterSet):
    granted_from = django_filters.DateTimeFilter(field_name="granted_at", lookup_expr="gte", label=_("from"))
    reviewed = django_filters.BooleanFilter(field_name="reviewed_at", lookup_expr="isnull", exclude=True,
                                            label=_("reviewed"))

    class Meta:
        model = models.BreakGlass
        fields = ["user"]


class SchedulePolicyFilterSet(BaseFilterSet):
    class Meta:
        model = models.SchedulePolicy
        fields = ["measure_kind", "risk_level"]


class RiskInstrumentFilterSet(BaseFilterSet):
    search_fields = ("code", "version", "source")

    class Meta:
        model = models.RiskInstrument
        fields = ["in_use"]
