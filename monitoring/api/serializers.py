from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.serializers import BaseModelSerializer

from .. import models
from ..residues import residue_codes


class TreatmentPlantSerializer(BaseModelSerializer):
    class Meta:
        model = models.TreatmentPlant
        fields = ["id", "url", "code", "name", "org", "area_code", "served_area_codes", "design_capacity_m3_d",
                  "design_population", "domestic_fraction", "is_active"]


class SampleSerializer(BaseModelSerializer):
    plant = serializers.SlugRelatedField(slug_field="code", queryset=models.TreatmentPlant.objects.all())

    class Meta:
        model = models.Sample
        fields = ["id", "url", "plant", "campaign", "sample_date", "sample_type", "flow_m3_d", "lab", "cod_mg_l",
                  "bod5_mg_l", "nh4_n_mg_l", "total_n_mg_l", "total_p_mg_l", "note"]


class LoadEstimateSerializer(BaseModelSerializer):
    plant = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = models.LoadEstimate
        fields = ["id", "plant", "sample_date", "residue", "population", "population_method", "correction_factor",
                  "loq_rule", "load_mg_d", "pnl_mg_d_1000", "pnl_low", "pnl_high", "consumption_mg_d_1000",
                  "consumption_low", "consumption_high", "doses_d_1000", "measurement"]


class LabResultSerializer(serializers.Serializer):
    """One laboratory result, validated by the same form as the Excel import (LabResultForm)."""

    plant = serializers.CharField(max_length=32)
    sample_date = serializers.DateField()
    flow_m3_d = serializers.FloatField()
    residue = serializers.CharField(max_length=40)
    concentration_ng_l = serializers.FloatField(required=False, allow_null=True)
    loq_ng_l = serializers.FloatField(required=False, allow_null=True)

    def validate(self, attrs):
        from ..forms import LabResultForm

        form = LabResultForm(data={k: ("" if v is None else v) for k, v in attrs.items()})
        if not form.is_valid():
            raise serializers.ValidationError({k: [str(m) for m in v] for k, v in form.errors.items()})
        self.form = form
        return attrs


class ScreeningResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = models.ScreeningResult
        fields = ["drug", "positive"]


class ScreeningBatchSerializer(BaseModelSerializer):
    results = ScreeningResultSerializer(many=True, read_only=True)

    class Meta:
        model = models.ScreeningBatch
        fields = ["id", "url", "reference", "area_code", "lab", "population_group", "sample_type", "collected_on",
                  "tested", "results"]


class ForensicIdentificationSerializer(BaseModelSerializer):
    class Meta:
        model = models.ForensicIdentification
        fields = ["id", "url", "area_code", "lab", "identified_on", "substance", "category", "is_nps",
                  "case_reference", "quantity_g"]


class DispensingSerializer(BaseModelSerializer):
    class Meta:
        model = models.Dispensing
        fields = ["id", "url", "patient_key", "patient_age", "prescriber_code", "pharmacy_code", "area_code", "drug",
                  "drug_class", "control_category", "dosage_form", "strength", "quantity", "days_supply",
                  "dispensed_on", "setting", "indication", "reason_noted"]


class AlertSerializer(BaseModelSerializer):
    class Meta:
        model = models.Alert
        fields = ["id", "url", "rule_id", "source", "definition", "area_code", "subject", "period", "severity",
                  "status", "outcome", "assignee", "value", "upperbound", "score", "params", "evidence", "note",
                  "created", "updated"]
        read_only_fields = ["rule_id", "source", "definition", "area_code", "subject", "period", "severity", "value",
                            "upperbound", "score", "params", "evidence"]

    def validate(self, attrs):
        status = attrs.get("status", getattr(self.instance, "status", None))
        outcome = attrs.get("outcome", getattr(self.instance, "outcome", ""))
        if status == "closed" and not outcome:
            raise serializers.ValidationError({"outcome": [_("Closing an alert needs an outcome.")]})
        return attrs


class EstimateRequestSerializer(serializers.Serializer):
    residue = serializers.CharField()
    concentration_ng_l = serializers.FloatField(min_value=0)
    flow_m3_d = serializers.FloatField()
    population = serializers.FloatField()
    correction_factor = serializers.FloatField(required=False, allow_null=True)
    loq_ng_l = serializers.FloatField(required=False, allow_null=True, min_value=0)
    date = serializers.DateField(required=False, allow_null=True)

    def validate_residue(self, value):
        value = value.strip().lower()
        if value not in residue_codes():
            raise serializers.ValidationError(_("Unknown residue %(value)s; known: %(known)s")
                                              % {"value": value, "known": ", ".join(residue_codes())})
        return value

    def validate_flow_m3_d(self, value):
        if value <= 0:
            raise serializers.ValidationError(_("Must be greater than zero."))
        return value

    def validate_population(self, value):
        if value <= 0:
            raise serializers.ValidationError(_("Must be greater than zero."))
        return value

    def validate_correction_factor(self, value):
        if value is not None and value <= 0:
            raise serializers.ValidationError(_("Must be greater than zero."))
        return value


class DetectRequestSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["ears_c1", "ears_c2", "ears_c3", "cusum", "cdc", "farrington",
                                              "farrington_flexible"])
    history = serializers.ListField(child=serializers.FloatField(), allow_empty=True, max_length=100_000)
    series = serializers.ListField(child=serializers.FloatField(), allow_empty=False, max_length=100_000)
    params = serializers.DictField(required=False, default=dict)
