import django_filters
from django.utils.translation import gettext_lazy as _

from core.filtersets import AreaPrefixFilter, BaseFilterSet

from . import models


class PartyFilterSet(BaseFilterSet):
    search_fields = ("name", "identifier", "uscc")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))

    class Meta:
        model = models.Party
        fields = ["risk_grade", "is_active", "industry"]


class SiteFilterSet(BaseFilterSet):
    search_fields = ("name", "identifier", "party__name")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))

    class Meta:
        model = models.Site
        fields = ["kind", "party"]


class AuthorizationFilterSet(BaseFilterSet):
    search_fields = ("number", "holder__name", "issuer")
    area = AreaPrefixFilter(field_name="holder__area_code", label=_("area code"))
    valid_on = django_filters.DateFilter(method="filter_valid_on", label=_("valid on"))

    class Meta:
        model = models.Authorization
        fields = ["type", "status", "holder"]

    def filter_valid_on(self, qs, name, value):
        from django.db.models import Q

        return qs.filter(valid_from__lte=value).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=value))


class FilingFilterSet(BaseFilterSet):
    search_fields = ("party__name", "reference")

    class Meta:
        model = models.Filing
        fields = ["kind", "party", "year"]


class AlertFilterSet(BaseFilterSet):
    search_fields = ("message", "party_identifier", "party__name")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))
    rule = django_filters.CharFilter(field_name="rule_id", label=_("rule"))

    class Meta:
        model = models.Alert
        fields = ["status", "severity", "outcome", "party", "blocked"]


class InspectionFilterSet(BaseFilterSet):
    search_fields = ("party__name", "inspectors", "findings")
    area = AreaPrefixFilter(field_name="party__area_code", label=_("area code"))
    year = django_filters.NumberFilter(method="filter_year", label=_("year"))

    class Meta:
        model = models.Inspection
        fields = ["status", "party", "on_site"]

    def filter_year(self, qs, name, value):
        from django.db.models import Q

        return qs.filter(Q(done_at__year=value) | Q(done_at__isnull=True, planned_on__year=value))


class EquipmentFilterSet(BaseFilterSet):
    search_fields = ("serial", "make", "model", "owner__name")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))

    class Meta:
        model = models.Equipment
        fields = ["type", "benchtop", "owner", "is_active"]


class ShipmentFilterSet(BaseFilterSet):
    search_fields = ("waybill", "vehicle_plate", "permit_no", "party__name")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))
    departed_from = django_filters.DateFilter(field_name="departed_at", lookup_expr="date__gte", label=_("from"))
    departed_to = django_filters.DateFilter(field_name="departed_at", lookup_expr="date__lte", label=_("to"))

    class Meta:
        model = models.Shipment
        fields = ["waybill", "party", "carrier"]


class EventFilterSet(BaseFilterSet):
    search_fields = ("event_id",)
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))
    time_from = django_filters.DateFilter(field_name="event_time", lookup_expr="date__gte", label=_("from"))
    time_to = django_filters.DateFilter(field_name="event_time", lookup_expr="date__lte", label=_("until"))

    class Meta:
        model = models.Event
        fields = ["event_type", "biz_step", "party"]


class SubstanceFilterSet(BaseFilterSet):
    search_fields = ("code", "name_zh", "name_en", "cas")

    class Meta:
        model = models.Substance
        fields = ["category", "is_pharma", "watch"]


class SurveyAreaFilterSet(BaseFilterSet):
    search_fields = ("name",)
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))

    class Meta:
        model = models.SurveyArea
        fields = ["year"]


class RuleParameterFilterSet(BaseFilterSet):
    search_fields = ("name", "source")

    class Meta:
        model = models.RuleParameter
        fields = ["name"]



class PatrolFindingFilterSet(BaseFilterSet):
    search_fields = ("note", "area__name")
    area_prefix = AreaPrefixFilter(field_name="area_code", label=_("area code"))

    class Meta:
        model = models.PatrolFinding
        fields = ["kind", "eradicated", "area"]
