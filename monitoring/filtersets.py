import django_filters
from django.utils.translation import gettext_lazy as _

from core.filtersets import AreaPrefixFilter, BaseFilterSet

from . import choices, models


class TreatmentPlantFilterSet(BaseFilterSet):
    search_fields = ("code", "name")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))

    class Meta:
        model = models.TreatmentPlant
        fields = ["is_active"]


class SampleFilterSet(BaseFilterSet):
    search_fields = ("plant__code", "plant__name", "note")
    area = AreaPrefixFilter(field_name="plant__area_code", label=_("area code"))
    plant = django_filters.CharFilter(field_name="plant__code", label=_("site code"))
    date_from = django_filters.DateFilter(field_name="sample_date", lookup_expr="gte", label=_("from"))
    date_to = django_filters.DateFilter(field_name="sample_date", lookup_expr="lte", label=_("until"))

    class Meta:
        model = models.Sample
        fields = ["sample_type", "campaign"]


class LoadEstimateFilterSet(BaseFilterSet):
    search_fields = ("plant__code", "residue")
    area = AreaPrefixFilter(field_name="plant__area_code", label=_("area code"))
    plant = django_filters.CharFilter(field_name="plant__code", label=_("site code"))
    residue = django_filters.CharFilter(field_name="residue", label=_("residue"))
    date_from = django_filters.DateFilter(field_name="sample_date", lookup_expr="gte", label=_("from"))
    date_to = django_filters.DateFilter(field_name="sample_date", lookup_expr="lte", label=_("until"))

    class Meta:
        model = models.LoadEstimate
        fields = []


class ScreeningBatchFilterSet(BaseFilterSet):
    search_fields = ("reference",)
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))
    date_from = django_filters.DateFilter(field_name="collected_on", lookup_expr="gte", label=_("from"))
    date_to = django_filters.DateFilter(field_name="collected_on", lookup_expr="lte", label=_("until"))
    population_group = django_filters.MultipleChoiceFilter(choices=choices.PopulationGroup.choices,
                                                           label=_("population group"))

    class Meta:
        model = models.ScreeningBatch
        fields = ["sample_type"]


class ForensicIdentificationFilterSet(BaseFilterSet):
    search_fields = ("substance", "case_reference")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))
    category = django_filters.MultipleChoiceFilter(choices=choices.SubstanceCategory.choices, label=_("category"))
    date_from = django_filters.DateFilter(field_name="identified_on", lookup_expr="gte", label=_("from"))
    date_to = django_filters.DateFilter(field_name="identified_on", lookup_expr="lte", label=_("until"))

    class Meta:
        model = models.ForensicIdentification
        fields = ["is_nps"]


class DispensingFilterSet(BaseFilterSet):
    search_fields = ("drug", "prescriber_code", "pharmacy_code")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))
    patient_key = django_filters.CharFilter(field_name="patient_key", label=_("patient (pseudonym)"))
    drug_class = django_filters.MultipleChoiceFilter(choices=choices.DrugClass.choices, label=_("drug class"))
    date_from = django_filters.DateFilter(field_name="dispensed_on", lookup_expr="gte", label=_("from"))
    date_to = django_filters.DateFilter(field_name="dispensed_on", lookup_expr="lte", label=_("until"))

    class Meta:
        model = models.Dispensing
        fields = ["control_category"]


class AlertFilterSet(BaseFilterSet):
    search_fields = ("subject", "rule_id", "note")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))
    rule = django_filters.CharFilter(field_name="rule_id", label=_("rule"))
    status = django_filters.MultipleChoiceFilter(choices=choices.AlertStatus.choices, label=_("status"))
    source = django_filters.MultipleChoiceFilter(choices=choices.AlertSource.choices, label=_("source"))
    severity = django_filters.MultipleChoiceFilter(choices=choices.AlertSeverity.choices, label=_("severity"))
    date_from = django_filters.DateFilter(field_name="period", lookup_expr="gte", label=_("from"))
    date_to = django_filters.DateFilter(field_name="period", lookup_expr="lte", label=_("until"))

    class Meta:
        model = models.Alert
        fields = ["outcome", "assignee"]


class AlertDefinitionFilterSet(BaseFilterSet):
    search_fields = ("name", "indicator", "method")
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))

    class Meta:
        model = models.AlertDefinition
        fields = ["is_active", "severity"]


class CorrectionFactorFilterSet(BaseFilterSet):
    search_fields = ("residue", "drug", "name_zh", "source")

    class Meta:
        model = models.CorrectionFactor
        fields = ["residue", "is_default", "version"]


class MonthlyReportFilterSet(BaseFilterSet):
    area = AreaPrefixFilter(field_name="area_code", label=_("area code"))

    class Meta:
        model = models.MonthlyReport
        fields = []


class SamplingCampaignFilterSet(BaseFilterSet):
    search_fields = ("name", "description")

    class Meta:
        model = models.SamplingCampaign
        fields = []


class PopulationEstimateFilterSet(BaseFilterSet):
    search_fields = ("plant__code", "source")
    area = AreaPrefixFilter(field_name="plant__area_code", label=_("area code"))

    class Meta:
        model = models.PopulationEstimate
        fields = ["method", "is_default"]
