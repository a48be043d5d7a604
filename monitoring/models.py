"""全方位毒情监测预警 (measure 19): wastewater, lab and hair screening, forensic identifications,
controlled-medicine dispensing, and the alerts fused from them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import AuditedModel, BaseModel

from .choices import (AlertSeverity, AlertSource, AlertStatus, AlertOutcome, ControlCategory, DosageForm, DrugClass,
                      PopulationGroup, PopulationMethod, SampleType, ScreeningSampleType, SubstanceCategory)

__all__ = ("TreatmentPlant", "PopulationEstimate", "SamplingCampaign", "Sample", "Measurement", "CorrectionFactor",
           "LoadEstimate", "ScreeningBatch", "ScreeningResult", "ForensicIdentification", "Dispensing",
           "AlertDefinition", "Alert", "MonthlyReport", "AreaBoundary")


class TreatmentPlant(AuditedModel):
    """A wastewater treatment plant (污水处理厂) and its catchment (the area codes it serves)."""

    scope_area_field = "area_code"

    code = models.SlugField(_("site code"), max_length=32, unique=True,
                            help_text=_("Short code used in charts and reports instead of the plant's name."))
    name = models.CharField(_("name"), max_length=200)
    org = models.ForeignKey("orgs.Organization", verbose_name=_("operator"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="+")
    area_code = models.CharField(_("area code"), max_length=15, db_index=True,
                                 help_text=_("The district (or street) where the plant is."))
    served_area_codes = models.JSONField(_("catchment area codes"), default=list, blank=True,
                                         help_text=_("Streets or districts whose sewage the plant receives."))
    design_capacity_m3_d = models.FloatField(_("design capacity (m³/d)"), null=True, blank=True)
    design_population = models.PositiveIntegerField(_("design population"), null=True, blank=True)
    domestic_fraction = models.FloatField(_("domestic sewage fraction"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("treatment plant")
        verbose_name_plural = _("treatment plants")

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def district_code(self) -> str:
        return self.area_code[:6]

    def population_on(self, day=None):
        """The default population estimate in force on ``day`` (latest before it)."""
        qs = self.population_estimates.filter(is_default=True)
        if day is not None:
            qs = qs.filter(valid_from__lte=day)
        return qs.order_by("-valid_from").first()


class PopulationEstimate(AuditedModel):
    """Population served by a plant, by one method (census, design, hydrochemical, cotinine…)."""

    plant = models.ForeignKey(TreatmentPlant, verbose_name=_("plant"), on_delete=models.CASCADE,
                              related_name="population_estimates")
    method = models.CharField(_("method"), max_length=20, choices=PopulationMethod.choices)
    population = models.PositiveIntegerField(_("population"))
    valid_from = models.DateField(_("valid from"))
    is_default = models.BooleanField(_("used by default"), default=True)
    source = models.CharField(_("source"), max_length=300, blank=True)

    scope_area_field = "plant__area_code"

    class Meta:
        ordering = ["plant", "-valid_from"]
        verbose_name = _("population estimate")
        verbose_name_plural = _("population estimates")

    def __str__(self):
        return f"{self.plant.code} {self.get_method_display()} {self.population}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        from core.jobs import enqueue

        # every estimate of the plant may use this population: recompute them as a job
        enqueue("monitoring.refresh_estimates", _("Recompute estimates of %(plant)s") % {"plant": self.plant.code},
                None, plant_ids=[self.plant_id])


class SamplingCampaign(AuditedModel):
    name = models.CharField(_("name"), max_length=200, unique=True)
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["-start"]
        verbose_name = _("sampling campaign")
        verbose_name_plural = _("sampling campaigns")

    def __str__(self):
        return self.name


class Sample(AuditedModel):
    """One influent sample of a plant (normally a 24-h flow-proportional composite) with the day's flow."""

    scope_area_field = "plant__area_code"
    scope_org_field = "lab"  # a laboratory sees and reports the samples it analysed

    plant = models.ForeignKey(TreatmentPlant, verbose_name=_("plant"), on_delete=models.PROTECT,
                              related_name="samples")
    campaign = models.ForeignKey(SamplingCampaign, verbose_name=_("campaign"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="samples")
    sample_date = models.DateField(_("sampling date"), db_index=True)
    sample_type = models.CharField(_("sample type"), max_length=20, choices=SampleType.choices,
                                   default=SampleType.COMPOSITE_24H)
    flow_m3_d = models.FloatField(_("flow (m³/d)"))
    lab = models.ForeignKey("orgs.Organization", verbose_name=_("laboratory"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="+")
    # hydrochemical markers of the day's influent (for hydrochemical population estimates)
    cod_mg_l = models.FloatField(_("COD (mg/L)"), null=True, blank=True)
    bod5_mg_l = models.FloatField(_("BOD5 (mg/L)"), null=True, blank=True)
    nh4_n_mg_l = models.FloatField(_("NH4-N (mg/L)"), null=True, blank=True)
    total_n_mg_l = models.FloatField(_("total nitrogen (mg/L)"), null=True, blank=True)
    total_p_mg_l = models.FloatField(_("total phosphorus (mg/L)"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-sample_date", "plant"]
        verbose_name = _("sample")
        verbose_name_plural = _("samples")
        constraints = [models.UniqueConstraint(fields=["plant", "sample_date", "sample_type"],
                                               name="monitoring_sample_unique_day",
                                               violation_error_message=_("This plant already has a sample of this "
                                                                         "type on this day."))]

    def __str__(self):
        return f"{self.plant.code} {self.sample_date}"

    def save(self, *args, **kwargs):
        flow_changed = not self._state.adding and type(self).objects.filter(pk=self.pk).exclude(
            flow_m3_d=self.flow_m3_d).exists()
        super().save(*args, **kwargs)
        if flow_changed:  # the day's back-calculations depend on the flow
            from .services import refresh_estimates

            refresh_estimates(self.measurements.all())


class CorrectionFactor(BaseModel):
    """Versioned, effective-dated correction factors (CF = MW ratio / excretion fraction) with sources.

    Loaded from monitoring/data/correction_factors.json; one default per residue at any date.
    """

    residue = models.CharField(_("residue"), max_length=40, db_index=True)
    drug = models.CharField(_("drug"), max_length=60)
    name_zh = models.CharField(_("Chinese name"), max_length=60)
    mw_parent = models.FloatField(_("molar mass of the parent drug"), null=True, blank=True)
    mw_residue = models.FloatField(_("molar mass of the residue"), null=True, blank=True)
    excretion_fraction = models.FloatField(_("excretion fraction"), null=True, blank=True)
    cf = models.FloatField(_("correction factor"), null=True, blank=True)
    cf_rsd = models.FloatField(_("relative uncertainty of the factor"), null=True, blank=True)
    typical_dose_mg = models.FloatField(_("typical dose (mg)"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=500)
    status = models.CharField(_("status"), max_length=40)
    valid_from = models.DateField(_("valid from"))
    version = models.CharField(_("version"), max_length=40)
    is_default = models.BooleanField(_("default"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["residue", "-valid_from", "version"]
        verbose_name = _("correction factor")
        verbose_name_plural = _("correction factors")
        constraints = [models.UniqueConstraint(fields=["residue", "version", "excretion_fraction"],
                                               name="monitoring_cf_unique_version")]

    def __str__(self):
        return f"{self.residue} {self.cf} ({self.version})"


class Measurement(AuditedModel):
    """The concentration of one residue in one sample, with its limit of quantification."""

    scope_area_field = "sample__plant__area_code"
    scope_org_field = "sample__lab"

    sample = models.ForeignKey(Sample, verbose_name=_("sample"), on_delete=models.CASCADE,
                               related_name="measurements")
    residue = models.CharField(_("residue"), max_length=40, db_index=True)
    concentration_ng_l = models.FloatField(_("concentration (ng/L)"), null=True, blank=True,
                                           help_text=_("Leave empty when below the limit of quantification."))
    loq_ng_l = models.FloatField(_("limit of quantification (ng/L)"), null=True, blank=True)

    class Meta:
        ordering = ["sample", "residue"]
        verbose_name = _("measurement")
        verbose_name_plural = _("measurements")
        constraints = [models.UniqueConstraint(fields=["sample", "residue"], name="monitoring_measurement_unique",
                                               violation_error_message=_("This residue is already measured in this "
                                                                         "sample."))]

    def __str__(self):
        return f"{self.sample} {self.residue}"

    @property
    def below_loq(self) -> bool:
        return self.concentration_ng_l is None or (self.loq_ng_l is not None and self.concentration_ng_l < self.loq_ng_l)


class LoadEstimate(BaseModel):
    """Derived: the back-calculation of one measurement, naming the population and factor it used."""

    scope_area_field = "plant__area_code"

    measurement = models.OneToOneField(Measurement, on_delete=models.CASCADE, related_name="estimate")
    plant = models.ForeignKey(TreatmentPlant, on_delete=models.CASCADE, related_name="+")
    sample_date = models.DateField(db_index=True)
    residue = models.CharField(max_length=40, db_index=True)
    population = models.PositiveIntegerField()
    population_method = models.CharField(max_length=20, choices=PopulationMethod.choices)
    correction_factor = models.ForeignKey(CorrectionFactor, null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    loq_rule = models.CharField(max_length=20)
    load_mg_d = models.FloatField(null=True)
    pnl_mg_d_1000 = models.FloatField(null=True)
    consumption_mg_d_1000 = models.FloatField(null=True)
    doses_d_1000 = models.FloatField(null=True)
    pnl_low = models.FloatField(null=True)
    pnl_high = models.FloatField(null=True)
    consumption_low = models.FloatField(null=True)
    consumption_high = models.FloatField(null=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-sample_date"]
        verbose_name = _("load estimate")
        verbose_name_plural = _("load estimates")
        indexes = [models.Index(fields=["residue", "plant", "sample_date"])]


class ScreeningBatch(AuditedModel):
    """A batch of hair (or urine) screening tests: where, which group, when, by which lab."""

    scope_area_field = "area_code"
    scope_org_field = "lab"

    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    lab = models.ForeignKey("orgs.Organization", verbose_name=_("laboratory"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="+")
    population_group = models.CharField(_("population group"), max_length=30, choices=PopulationGroup.choices)
    sample_type = models.CharField(_("sample type"), max_length=10, choices=ScreeningSampleType.choices,
                                   default=ScreeningSampleType.HAIR)
    collected_on = models.DateField(_("collected on"), db_index=True)
    reference = models.CharField(_("batch reference"), max_length=60)
    tested = models.PositiveIntegerField(_("persons tested"))

    class Meta:
        ordering = ["-collected_on"]
        verbose_name = _("screening batch")
        verbose_name_plural = _("screening batches")
        constraints = [models.UniqueConstraint(fields=["reference"], name="monitoring_screening_unique_reference",
                                               violation_error_message=_("A batch with this reference exists."))]

    def __str__(self):
        return self.reference


class ScreeningResult(AuditedModel):
    scope_area_field = "batch__area_code"
    scope_org_field = "batch__lab"

    batch = models.ForeignKey(ScreeningBatch, verbose_name=_("batch"), on_delete=models.CASCADE,
                              related_name="results")
    drug = models.CharField(_("drug"), max_length=40)
    positive = models.PositiveIntegerField(_("positive"))

    class Meta:
        ordering = ["batch", "drug"]
        verbose_name = _("screening result")
        verbose_name_plural = _("screening results")
        constraints = [models.UniqueConstraint(fields=["batch", "drug"], name="monitoring_screening_result_unique")]

    def __str__(self):
        return f"{self.batch} {self.drug} {self.positive}"


class ForensicIdentification(AuditedModel):
    """A substance identified by a forensic laboratory (检验鉴定), including new psychoactive substances."""

    scope_area_field = "area_code"
    scope_org_field = "lab"

    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    lab = models.ForeignKey("orgs.Organization", verbose_name=_("laboratory"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="+")
    identified_on = models.DateField(_("identified on"), db_index=True)
    substance = models.CharField(_("substance"), max_length=100)
    category = models.CharField(_("category"), max_length=20, choices=SubstanceCategory.choices)
    is_nps = models.BooleanField(_("new psychoactive substance"), default=False)
    case_reference = models.CharField(_("case reference"), max_length=60, blank=True)
    quantity_g = models.FloatField(_("quantity (g)"), null=True, blank=True)

    class Meta:
        ordering = ["-identified_on"]
        verbose_name = _("forensic identification")
        verbose_name_plural = _("forensic identifications")

    def __str__(self):
        return f"{self.substance} {self.identified_on}"


class Dispensing(AuditedModel):
    """One dispensing of a controlled medicine (麻精药品). The patient is a blind index, never a name."""

    scope_area_field = "area_code"

    patient_key = models.CharField(_("patient (pseudonym)"), max_length=64, db_index=True)
    patient_age = models.PositiveSmallIntegerField(_("patient age"), null=True, blank=True)
    prescriber_code = models.CharField(_("prescriber"), max_length=40)
    pharmacy_code = models.CharField(_("pharmacy / hospital"), max_length=40)
    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    drug = models.CharField(_("drug"), max_length=60)
    drug_class = models.CharField(_("drug class"), max_length=20, choices=DrugClass.choices)
    control_category = models.CharField(_("control category"), max_length=20, choices=ControlCategory.choices)
    dosage_form = models.CharField(_("dosage form"), max_length=20, choices=DosageForm.choices)
    strength = models.FloatField(_("strength (mg, or mcg/h for patches)"))
    quantity = models.FloatField(_("quantity (units)"))
    days_supply = models.PositiveSmallIntegerField(_("days' supply"))
    dispensed_on = models.DateField(_("dispensed on"), db_index=True)
    setting = models.CharField(_("setting"), max_length=12, default="outpatient",
                               choices=[("outpatient", _("Outpatient")), ("inpatient", _("Inpatient"))])
    indication = models.CharField(_("indication"), max_length=20, blank=True, choices=[
        ("", _("None that changes the limit")), ("cancer_pain", _("Cancer pain")),
        ("chronic_pain", _("Moderate or severe chronic pain")), ("adhd", _("ADHD (methylphenidate)"))])
    reason_noted = models.BooleanField(_("reason for a longer supply noted"), default=False)
    import_batch = models.ForeignKey("core.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    class Meta:
        ordering = ["-dispensed_on"]
        verbose_name = _("dispensing record")
        verbose_name_plural = _("dispensing records")
        indexes = [models.Index(fields=["patient_key", "dispensed_on"])]

    def __str__(self):
        return f"{self.drug} {self.dispensed_on}"


class AlertDefinition(AuditedModel):
    """A signal-detection rule over a series (area × indicator): which method, which parameters."""

    scope_area_field = "area_code"

    name = models.CharField(_("name"), max_length=200)
    indicator = models.CharField(_("indicator"), max_length=60,
                                 help_text=_("wbe_pnl:<residue>, screening_positive:<drug or *>, forensic_nps or "
                                             "pdmp_alerts"))
    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    plant = models.ForeignKey(TreatmentPlant, verbose_name=_("plant"), null=True, blank=True,
                              on_delete=models.CASCADE, related_name="alert_definitions")
    method = models.CharField(_("method"), max_length=30)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=AlertSeverity.choices,
                                default=AlertSeverity.MEDIUM)
    notify_neighbours = models.BooleanField(_("warn neighbouring districts"), default=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["area_code", "indicator"]
        verbose_name = _("alert definition")
        verbose_name_plural = _("alert definitions")

    def __str__(self):
        return self.name


class Alert(AuditedModel):
    """An early-warning alert with its evidence; staff assign, investigate and close it with an outcome."""

    scope_area_field = "area_code"

    rule_id = models.CharField(_("rule"), max_length=40, db_index=True)
    source = models.CharField(_("source"), max_length=20, choices=AlertSource.choices, db_index=True)
    definition = models.ForeignKey(AlertDefinition, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="alerts")
    area_code = models.CharField(_("area code"), max_length=15, db_index=True)
    subject = models.CharField(_("subject"), max_length=200)
    period = models.DateField(_("date of the data"), db_index=True)
    severity = models.CharField(_("severity"), max_length=10, choices=AlertSeverity.choices)
    status = models.CharField(_("status"), max_length=15, choices=AlertStatus.choices, default=AlertStatus.NEW,
                              db_index=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=AlertOutcome.choices, blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("assigned to"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    value = models.FloatField(_("value"), null=True, blank=True)
    upperbound = models.FloatField(_("upper bound"), null=True, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    dedup_key = models.CharField(max_length=200, unique=True, editable=False)

    class Meta:
        ordering = ["-period", "-created"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")

    def __str__(self):
        return f"{self.rule_id} {self.subject} {self.period}"


class MonthlyReport(AuditedModel):
    """A generated monthly 毒情 report (Word), produced by a job."""

    scope_area_field = "area_code"

    month = models.DateField(_("month"))
    area_code = models.CharField(_("area code"), max_length=15)
    file_path = models.CharField(_("file"), max_length=300, blank=True)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-month"]
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")

    def __str__(self):
        return f"{self.area_code} {self.month:%Y-%m}"


class AreaBoundary(AuditedModel):
    """An uploaded GeoJSON feature per area (until real boundaries exist the dashboard draws a schematic map)."""

    area_code = models.CharField(_("area code"), max_length=15, unique=True)
    geojson = models.JSONField(_("GeoJSON geometry"))
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        ordering = ["area_code"]
        verbose_name = _("area boundary")
        verbose_name_plural = _("area boundaries")

    def __str__(self):
        return self.area_code
