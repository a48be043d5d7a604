from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.serializers import BaseModelSerializer
from core.unmask import MaskedField
from geo.validators import validate_division_code
from orgs.models import Organization

from .. import choices, models


class PersonSerializer(BaseModelSerializer):
    """``id_number``, ``name`` and ``phone`` come masked unless the caller may unmask (each unmask logged)."""

    name = MaskedField()
    id_number = MaskedField()
    phone = MaskedField()

    class Meta:
        model = models.Person
        fields = ["id", "url", "name", "id_number", "phone", "gender", "birth_date", "household_area_code",
                  "residence_area_code", "grid", "owner_area_code", "drug_types", "first_found_on", "status",
                  "risk_level", "in_control", "created", "updated"]
        # areas change only through a transfer (异地执行), status through its services
        read_only_fields = ["gender", "birth_date", "status", "risk_level", "in_control", "owner_area_code",
                            "household_area_code", "residence_area_code"]


class PersonCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    id_number = serializers.CharField(max_length=18)
    household_area_code = serializers.CharField(max_length=15, validators=[validate_division_code])
    residence_area_code = serializers.CharField(max_length=15, validators=[validate_division_code])
    grid = serializers.CharField(max_length=40, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    drug_types = serializers.ListField(child=serializers.CharField(max_length=40), required=False)
    first_found_on = serializers.DateField(required=False, allow_null=True)

    def validate_id_number(self, value):
        from utilities.validators import validate_id_number

        value = value.strip().upper()
        validate_id_number(value)
        return value


class BreakGlassSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, min_length=4)


class MeasureSerializer(BaseModelSerializer):
    medical_grounds = serializers.CharField(write_only=True, required=False, allow_blank=True,
                                            help_text="病残收治: why the person cannot be held in custody")

    class Meta:
        model = models.Measure
        fields = ["id", "url", "person", "kind", "state", "decision_no", "deciding_org", "decided_on", "served_on",
                  "report_due_on", "reported_on", "agreement_signed_on", "start_on", "ordered_years",
                  "extension_days", "early_release_on", "planned_end_on", "ended_on", "execution_area_code",
                  "facility", "legal_basis", "medical_grounds", "review_every_months"]
        read_only_fields = ["state", "report_due_on", "reported_on", "agreement_signed_on", "start_on",
                            "planned_end_on", "ended_on"]


class ReportSerializer(serializers.Serializer):
    reported_on = serializers.DateField()
    agreement_signed_on = serializers.DateField(required=False, allow_null=True)
    late_reason = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                        help_text="good reason (正当理由) for reporting after 15 days")


class SuspendSerializer(serializers.Serializer):
    from_on = serializers.DateField()
    to_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=100)


class DrugTestSerializer(BaseModelSerializer):
    class Meta:
        model = models.DrugTest
        fields = ["id", "person", "measure", "sample", "method", "random", "collected_on", "hair_segment_cm",
                  "window_start", "result", "substances", "performed_by", "legal_effect", "lab_reference", "created"]
        read_only_fields = ["window_start", "performed_by"]


class ContactEventSerializer(BaseModelSerializer):
    class Meta:
        model = models.ContactEvent
        fields = ["id", "person", "measure", "kind", "occurred_on", "outcome", "performed_by", "location", "created"]
        read_only_fields = ["performed_by"]


class AbsenceSerializer(BaseModelSerializer):
    class Meta:
        model = models.Absence
        fields = ["id", "measure", "left_on", "returned_on", "written_notice", "authorised", "destination"]


class RiskAssessmentSerializer(BaseModelSerializer):
    flags = serializers.ListField(child=serializers.CharField(), write_only=True, required=False,
                                  help_text="Hard overrides the worker established: HO-SELF-HARM, HO-MENTAL, HO-ILLNESS")

    class Meta:
        model = models.RiskAssessment
        fields = ["id", "person", "instrument_version", "factors", "score", "computed_level", "overrides",
                  "manual_level", "manual_reason", "approved_by", "assessed_on", "next_review_on", "flags"]
        read_only_fields = ["instrument_version", "score", "computed_level", "overrides", "approved_by",
                            "next_review_on"]


class TransferSerializer(BaseModelSerializer):
    class Meta:
        model = models.Transfer
        fields = ["id", "person", "measure", "from_area_code", "to_area_code", "reason", "requested_on", "status",
                  "decided_on", "report_due_on", "reported_on"]
        read_only_fields = ["measure", "from_area_code", "requested_on", "status", "decided_on", "report_due_on",
                            "reported_on"]


class DecisionSerializer(serializers.Serializer):
    accept = serializers.BooleanField()


class ReferralSerializer(BaseModelSerializer):
    class Meta:
        model = models.Referral
        fields = ["id", "person", "kind", "need", "provider_org", "status", "consent", "referred_on", "decided_on",
                  "done_on", "outcome"]
        read_only_fields = ["status", "referred_on", "decided_on", "done_on", "outcome"]


class CompleteSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=300)


class PoliceReportTaskSerializer(BaseModelSerializer):
    class Meta:
        model = models.PoliceReportTask
        fields = ["id", "person", "measure", "rule_id", "trigger", "triggered_on", "due_on", "reported_on",
                  "reported_by", "evidence"]
        read_only_fields = fields


class PlannedEventSerializer(BaseModelSerializer):
    class Meta:
        model = models.PlannedEvent
        fields = ["id", "person", "measure", "kind", "due_on", "status", "done_on"]
        read_only_fields = fields


def duplicate_response_body(exc):
    return {"id_number": exc.message_dict["id_number"], "existing_id": exc.existing.pk,
            "visible": exc.visible, "break_glass": f"/api/casework/persons/{exc.existing.pk}/break-glass/",
            "detail": _("Duplicate registration refused.")}


class EndSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["completed", "released", "terminated", "converted"])
    on = serializers.DateField()
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class IsolationDecisionSerializer(serializers.Serializer):
    extension_days = serializers.IntegerField(min_value=0, required=False, default=0)
    early_release_on = serializers.DateField(required=False, allow_null=True)


class MaskedOnReadMixin:
    """Encrypted fields that are written in clear and read masked (or clear and logged for callers who
    may unmask), as on the pages."""

    masked_fields: tuple = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in self.masked_fields:
            if name in data:
                field = MaskedField()
                field.bind(name, self)
                data[name] = field.to_representation(instance)
        return data


class ChildSerializer(MaskedOnReadMixin, BaseModelSerializer):
    masked_fields = ("name",)

    class Meta:
        model = models.Child
        fields = ["id", "person", "name", "birth_date", "guardianship", "needs"]


class StatusChangeSerializer(BaseModelSerializer):
    class Meta:
        model = models.StatusChange
        fields = ["id", "person", "from_status", "to_status", "on", "source", "document", "reason"]
        read_only_fields = ["from_status"]


class IncidentSerializer(MaskedOnReadMixin, BaseModelSerializer):
    masked_fields = ("description",)

    class Meta:
        model = models.Incident
        fields = ["id", "url", "occurred_on", "kind", "severity", "area_code", "persons", "description",
                  "high_risk_trigger"]

    def get_fields(self):
        # link only persons the caller may see (as the web form offers only those)
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and "persons" in fields:
            fields["persons"].child_relation.queryset = models.Person.objects.restrict(request.user, "view")
        return fields


class SchedulePolicySerializer(BaseModelSerializer):
    class Meta:
        model = models.SchedulePolicy
        fields = ["id", "url", "measure_kind", "risk_level", "phase_from_month", "phase_to_month", "period_months",
                  "checkins", "tests", "random_tests", "home_visits", "grace_days", "lost_contact_misses", "source"]

    def validate(self, attrs):
        lo = attrs.get("phase_from_month", getattr(self.instance, "phase_from_month", None))
        hi = attrs.get("phase_to_month", getattr(self.instance, "phase_to_month", None))
        if lo is not None and hi is not None and hi < lo:
            raise serializers.ValidationError({"phase_to_month": "must not be before phase_from_month"})
        if attrs.get("period_months", 1) == 0:
            raise serializers.ValidationError({"period_months": "must be at least 1"})
        return attrs


class CaseDocumentSerializer(BaseModelSerializer):
    file = serializers.FileField(write_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = models.CaseDocument
        fields = ["id", "person", "measure", "kind", "title", "signed_on", "note", "sm3", "size", "file", "download"]
        read_only_fields = ["sm3", "size"]

    def get_download(self, obj) -> str:
        from django.urls import reverse

        return reverse("casework:document_download", args=[obj.pk])


class CarePlanSerializer(BaseModelSerializer):
    needs = serializers.ListField(child=serializers.ChoiceField(choices=choices.AssistanceKind.choices),
                                  allow_empty=False)

    class Meta:
        model = models.CarePlan
        fields = ["id", "person", "drawn_on", "needs", "goals", "actions", "review_on", "status"]
        read_only_fields = ["status"]
        extra_kwargs = {"drawn_on": {"required": False}}


class WorkTeamMemberSerializer(BaseModelSerializer):
    class Meta:
        model = models.WorkTeamMember
        fields = ["id", "measure", "role", "user", "name", "phone"]


class CorrectionSerializer(serializers.Serializer):
    """``reason`` plus the fields to correct (only those listed for the kind of record)."""

    reason = serializers.CharField(max_length=200)


class FacilityMoveSerializer(serializers.Serializer):
    facility = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.filter(type="rehab_center"))
    authority = serializers.ChoiceField(choices=["police", "justice"])
    on = serializers.DateField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EscapeSerializer(serializers.Serializer):
    escaped_on = serializers.DateField()


class ReturnSerializer(serializers.Serializer):
    returned_on = serializers.DateField()
