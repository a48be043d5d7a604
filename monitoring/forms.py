from django import forms
from django.utils.translation import gettext_lazy as _

from geo.models import Division

from . import models
from .residues import residue_choices


def _check_area(code: str) -> str:
    code = (code or "").strip()
    if not Division.objects.filter(code=code).exists():
        raise forms.ValidationError(_("Unknown area code %(code)s."), params={"code": code}, code="unknown_area")
    return code


class AreaCodeMixin:
    def clean_area_code(self):
        return _check_area(self.cleaned_data["area_code"])


class TreatmentPlantForm(AreaCodeMixin, forms.ModelForm):
    served_area_codes = forms.CharField(label=_("catchment area codes"), required=False,
                                        help_text=_("Area codes separated by spaces or commas."))

    class Meta:
        model = models.TreatmentPlant
        fields = ["code", "name", "org", "area_code", "served_area_codes", "design_capacity_m3_d",
                  "design_population", "domestic_fraction", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and isinstance(self.instance.served_area_codes, list):
            self.initial["served_area_codes"] = " ".join(self.instance.served_area_codes)

    def clean_served_area_codes(self):
        raw = self.cleaned_data.get("served_area_codes") or ""
        codes = [c for c in raw.replace(",", " ").replace("，", " ").split() if c]
        return [_check_area(c) for c in codes]


class SamplingCampaignForm(forms.ModelForm):
    class Meta:
        model = models.SamplingCampaign
        fields = ["name", "start", "end", "description"]
        widgets = {"start": forms.DateInput(attrs={"type": "date"}), "end": forms.DateInput(attrs={"type": "date"})}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] < cleaned["start"]:
            self.add_error("end", _("The campaign ends before it starts."))
        return cleaned


class PopulationEstimateForm(forms.ModelForm):
    class Meta:
        model = models.PopulationEstimate
        fields = ["plant", "method", "population", "valid_from", "is_default", "source"]


class SampleForm(forms.ModelForm):
    class Meta:
        model = models.Sample
        fields = ["plant", "campaign", "sample_date", "sample_type", "flow_m3_d", "lab", "cod_mg_l", "bod5_mg_l",
                  "nh4_n_mg_l", "total_n_mg_l", "total_p_mg_l", "note"]
        widgets = {"sample_date": forms.DateInput(attrs={"type": "date"})}

    def clean_flow_m3_d(self):
        flow = self.cleaned_data["flow_m3_d"]
        if flow is None or flow <= 0:
            raise forms.ValidationError(_("The flow must be greater than zero."), code="flow")
        return flow


class MeasurementForm(forms.ModelForm):
    residue = forms.ChoiceField(label=_("residue"), choices=residue_choices)

    class Meta:
        model = models.Measurement
        fields = ["sample", "residue", "concentration_ng_l", "loq_ng_l"]

    def clean(self):
        cleaned = super().clean()
        for name in ("concentration_ng_l", "loq_ng_l"):
            value = cleaned.get(name)
            if value is not None and value < 0:
                self.add_error(name, _("A concentration cannot be negative."))
        return cleaned


class LabResultForm(forms.Form):
    """One row of a laboratory result file: plant, day, flow, residue, concentration, LOQ.

    Used by the Excel import and the lab API alike; saving creates the day's sample if needed.
    """

    plant = forms.CharField(label=_("site code"), max_length=32)
    sample_date = forms.DateField(label=_("sampling date"))
    flow_m3_d = forms.FloatField(label=_("flow (m³/d)"), min_value=0.000001)
    residue = forms.ChoiceField(label=_("residue"), choices=residue_choices)
    concentration_ng_l = forms.FloatField(label=_("concentration (ng/L)"), required=False, min_value=0)
    loq_ng_l = forms.FloatField(label=_("limit of quantification (ng/L)"), required=False, min_value=0)

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)

    def clean_plant(self):
        code = self.cleaned_data["plant"].strip()
        plant = models.TreatmentPlant.objects.filter(code=code).first()
        if plant is None:
            raise forms.ValidationError(_("Unknown plant code %(code)s."), params={"code": code}, code="unknown_plant")
        return plant

    def has_changed(self):
        if self.instance is None:
            return True
        m = self.instance
        data = self.cleaned_data
        return (m.concentration_ng_l != data.get("concentration_ng_l") or m.loq_ng_l != data.get("loq_ng_l")
                or m.sample.flow_m3_d != data.get("flow_m3_d"))

    def save(self, lab=None):
        from .services import record_lab_result

        data = self.cleaned_data
        return record_lab_result(data["plant"], data["sample_date"], data["flow_m3_d"], data["residue"],
                                 data.get("concentration_ng_l"), data.get("loq_ng_l"), lab=lab)


class ScreeningBatchForm(AreaCodeMixin, forms.ModelForm):
    class Meta:
        model = models.ScreeningBatch
        fields = ["reference", "area_code", "lab", "population_group", "sample_type", "collected_on", "tested"]
        widgets = {"collected_on": forms.DateInput(attrs={"type": "date"})}


class ScreeningRowForm(forms.Form):
    """One row of a screening result file: a batch (created on first sight) and one drug's positives."""

    reference = forms.CharField(label=_("batch reference"), max_length=60)
    area_code = forms.CharField(label=_("area code"), max_length=15)
    population_group = forms.ChoiceField(label=_("population group"),
                                         choices=models.ScreeningBatch._meta.get_field("population_group").choices)
    sample_type = forms.ChoiceField(label=_("sample type"),
                                    choices=models.ScreeningBatch._meta.get_field("sample_type").choices)
    collected_on = forms.DateField(label=_("collected on"))
    tested = forms.IntegerField(label=_("persons tested"), min_value=1)
    drug = forms.CharField(label=_("drug"), max_length=40)
    positive = forms.IntegerField(label=_("positive"), min_value=0)

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)

    def clean_area_code(self):
        return _check_area(self.cleaned_data["area_code"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("positive") is not None and cleaned.get("tested") is not None \
                and cleaned["positive"] > cleaned["tested"]:
            self.add_error("positive", _("More positives than persons tested."))
        return cleaned

    def has_changed(self):
        return self.instance is None or self.instance.positive != self.cleaned_data.get("positive") \
            or self.instance.batch.tested != self.cleaned_data.get("tested")

    def save(self, lab=None):
        from .services import record_screening_result

        return record_screening_result(lab=lab, **self.cleaned_data)


class ForensicIdentificationForm(AreaCodeMixin, forms.ModelForm):
    class Meta:
        model = models.ForensicIdentification
        fields = ["area_code", "lab", "identified_on", "substance", "category", "is_nps", "case_reference",
                  "quantity_g"]
        widgets = {"identified_on": forms.DateInput(attrs={"type": "date"})}


class DispensingForm(AreaCodeMixin, forms.ModelForm):
    patient_id_number = forms.CharField(label=_("patient ID number"), max_length=18, required=False,
                                        help_text=_("Only a keyed pseudonym (blind index) is stored."))

    class Meta:
        model = models.Dispensing
        fields = ["patient_key", "patient_age", "prescriber_code", "pharmacy_code", "area_code", "drug",
                  "drug_class", "control_category", "dosage_form", "strength", "quantity", "days_supply",
                  "dispensed_on", "setting", "indication", "reason_noted"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient_key"].required = False

    def clean(self):
        cleaned = super().clean()
        from core.fields import blind_index_for
        from utilities.validators import validate_id_number

        raw = (cleaned.get("patient_id_number") or "").strip().upper()
        if raw:
            try:
                validate_id_number(raw)
            except forms.ValidationError as exc:
                self.add_error("patient_id_number", exc)
                return cleaned
            cleaned["patient_key"] = blind_index_for("id_number", raw, normalizer=str.upper)
        if not cleaned.get("patient_key"):
            self.add_error("patient_id_number", _("Give the patient's ID number."))
        for name in ("strength", "quantity"):
            if cleaned.get(name) is not None and cleaned[name] <= 0:
                self.add_error(name, _("Must be greater than zero."))
        return cleaned

    def save(self, commit=True):
        self.instance.patient_key = self.cleaned_data["patient_key"]
        return super().save(commit)


class AlertDefinitionForm(AreaCodeMixin, forms.ModelForm):
    class Meta:
        model = models.AlertDefinition
        fields = ["name", "indicator", "area_code", "plant", "method", "params", "severity", "notify_neighbours",
                  "is_active"]

    def clean(self):
        """Try the method and parameters on a short series, so a bad definition is refused here and not
        halfway through an alert run."""
        from .algorithms import signals

        cleaned = super().clean()
        kind = (cleaned.get("indicator") or "").partition(":")[0]
        if kind and kind not in ("wbe_pnl", "screening_positive", "forensic_nps", "pdmp_alerts"):
            self.add_error("indicator", _("Unknown indicator."))
        params = dict(cleaned.get("params") or {})
        params.pop("transform", None)
        params.pop("evaluate_last", None)
        try:
            signals.detect(cleaned.get("method") or "", [1.0] * 30, [1.0], params)
        except ValueError as exc:
            field = getattr(exc, "field", "params")
            self.add_error("method" if field == "method" else "params", str(exc))
        return cleaned


class AlertHandleForm(forms.ModelForm):
    class Meta:
        model = models.Alert
        fields = ["status", "assignee", "outcome", "note"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == "closed" and not cleaned.get("outcome"):
            self.add_error("outcome", _("Closing an alert needs an outcome."))
        return cleaned


def reporting_lab(user):
    """The laboratory a result comes from when a laboratory account sends it (None for offices)."""
    role = getattr(user, "role", None)
    return user.org if role is not None and role.scope_kind == "org" and user.org_id else None
