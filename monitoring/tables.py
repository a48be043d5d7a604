import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from core.tables import BaseTable

from . import models


class TreatmentPlantTable(BaseTable):
    code = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.TreatmentPlant
        fields = ("code", "name", "area_code", "design_capacity_m3_d", "design_population", "is_active")


class SampleTable(BaseTable):
    sample_date = tables.Column(linkify=True)
    plant = tables.Column(accessor="plant__code", verbose_name=_("site code"))
    residues = tables.Column(empty_values=(), orderable=False, verbose_name=_("residues"))

    class Meta(BaseTable.Meta):
        model = models.Sample
        fields = ("sample_date", "plant", "sample_type", "flow_m3_d", "campaign", "residues")

    def render_residues(self, record):
        return len(record.measurements.all())


class LoadEstimateTable(BaseTable):
    sample_date = tables.Column()
    plant = tables.Column(accessor="plant__code", verbose_name=_("site code"))
    residue = tables.Column(verbose_name=_("residue"))
    pnl_mg_d_1000 = tables.Column(verbose_name=_("PNL (mg/d/1000 inh)"))
    pnl_low = tables.Column(verbose_name=_("lower 95 percent bound"))
    pnl_high = tables.Column(verbose_name=_("upper 95 percent bound"))
    consumption_mg_d_1000 = tables.Column(verbose_name=_("consumption (mg/d/1000 inh)"))
    population = tables.Column(verbose_name=_("population"))

    class Meta(BaseTable.Meta):
        model = models.LoadEstimate
        fields = ("sample_date", "plant", "residue", "pnl_mg_d_1000", "pnl_low", "pnl_high",
                  "consumption_mg_d_1000", "population", "population_method", "loq_rule")

    def _fmt(self, value):
        return f"{value:,.2f}" if value is not None else "—"

    render_pnl_mg_d_1000 = render_pnl_low = render_pnl_high = render_consumption_mg_d_1000 = _fmt


class ScreeningBatchTable(BaseTable):
    reference = tables.Column(linkify=True)
    positives = tables.Column(empty_values=(), orderable=False, verbose_name=_("positive"))

    class Meta(BaseTable.Meta):
        model = models.ScreeningBatch
        fields = ("reference", "collected_on", "area_code", "population_group", "sample_type", "tested", "positives")

    def render_positives(self, record):
        return "、".join(f"{r.drug} {r.positive}" for r in record.results.all()) or "0"

    # exports leave the platform: counts of persons below 5 are suppressed there
    def value_positives(self, record):
        from .report import suppress

        return "、".join(f"{r.drug} {suppress(r.positive)}" for r in record.results.all()) or "0"

    def value_tested(self, value):
        from .report import suppress

        return suppress(value)


class ForensicIdentificationTable(BaseTable):
    substance = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.ForensicIdentification
        fields = ("identified_on", "substance", "category", "is_nps", "area_code", "case_reference", "quantity_g")


class DispensingTable(BaseTable):
    dispensed_on = tables.Column(linkify=True)
    patient_key = tables.Column(verbose_name=_("patient (pseudonym)"))

    class Meta(BaseTable.Meta):
        model = models.Dispensing
        fields = ("dispensed_on", "patient_key", "drug", "drug_class", "control_category", "strength", "quantity",
                  "days_supply", "prescriber_code", "pharmacy_code", "area_code")

    def render_patient_key(self, value):
        return value[:10] + "…"


class AlertTable(BaseTable):
    subject = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Alert
        fields = ("period", "rule_id", "severity", "subject", "area_code", "source", "status", "assignee", "outcome")


class AlertDefinitionTable(BaseTable):
    name = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.AlertDefinition
        fields = ("name", "indicator", "area_code", "plant", "method", "severity", "is_active")


class CorrectionFactorTable(BaseTable):
    residue = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.CorrectionFactor
        fields = ("residue", "name_zh", "drug", "excretion_fraction", "cf", "cf_rsd", "typical_dose_mg", "version",
                  "valid_from", "is_default", "status", "source")


class MonthlyReportTable(BaseTable):
    month = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.MonthlyReport
        fields = ("month", "area_code", "created")

    def render_month(self, value):
        return value.strftime("%Y-%m")


class SamplingCampaignTable(BaseTable):
    name = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.SamplingCampaign
        fields = ("name", "start", "end", "description")


class PopulationEstimateTable(BaseTable):
    plant = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.PopulationEstimate
        fields = ("plant", "method", "population", "valid_from", "is_default", "source")
