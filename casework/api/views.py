from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from core.api.views import BaseModelViewSet
from core.audit import log_access
from core.models import AccessLog
from core.permissions import ensure_in_scope

from .. import filtersets, models, services
from . import serializers


def _api_errors(exc: ValidationError):
    return ApiValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class _ServiceActionMixin:
    """Detail actions that validate a small body, call one service in a transaction and answer with
    the updated record (400 naming the field when the service refuses)."""

    def _act(self, request, body_serializer, call):
        obj = self.get_object()
        values = {}
        if body_serializer is not None:
            data = body_serializer(data=request.data)
            data.is_valid(raise_exception=True)
            values = data.validated_data
        try:
            with transaction.atomic():
                call(obj, values)
        except ValidationError as exc:
            raise _api_errors(exc) from exc
        obj.refresh_from_db()
        return Response(self.get_serializer_class()(obj, context=self.get_serializer_context()).data)


class PersonViewSet(BaseModelViewSet):
    """Registered persons. POST registers one (refused, with a pointer, if the ID number exists);
    reading a person is logged; ``break-glass`` opens a person outside your area for a few hours."""

    queryset = models.Person.objects.all()
    serializer_class = serializers.PersonSerializer
    filterset_class = filtersets.PersonFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        return serializers.PersonCreateSerializer if self.action == "create" else serializers.PersonSerializer

    @extend_schema(request=serializers.PersonCreateSerializer, responses={201: serializers.PersonSerializer})
    def create(self, request, *args, **kwargs):
        data = serializers.PersonCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                person = services.register_person(request.user, **data.validated_data)
                ensure_in_scope(person, request.user, "add")
        except services.DuplicatePerson as exc:
            return Response(serializers.duplicate_response_body(exc), status=status.HTTP_409_CONFLICT)
        except ValidationError as exc:
            raise _api_errors(exc) from exc
        return Response(serializers.PersonSerializer(person, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        log_access(AccessLog.Event.READ, self.get_object())
        return response

    def list(self, request, *args, **kwargs):
        if any(k for k in request.query_params if k not in ("limit", "offset")):
            log_access(AccessLog.Event.SEARCH, object_type="casework.person",
                       detail={k: v for k, v in request.query_params.items()})
        return super().list(request, *args, **kwargs)

    @extend_schema(request=serializers.BreakGlassSerializer, responses={201: serializers.PersonSerializer})
    @action(detail=True, methods=["post"], url_path="break-glass")
    def break_glass(self, request, pk=None):
        data = serializers.BreakGlassSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not request.user.has_resource_perm("casework.person", "view"):
            raise PermissionDenied
        person = get_object_or_404(models.Person, pk=pk)
        try:
            grant = services.break_glass(request.user, person, data.validated_data["reason"])
        except ValidationError as exc:
            raise _api_errors(exc) from exc
        body = serializers.PersonSerializer(person, context=self.get_serializer_context()).data
        return Response({"person": body, "expires_at": grant.expires_at}, status=status.HTTP_201_CREATED)

    custom_action_permission = "view"


class MeasureViewSet(_ServiceActionMixin, BaseModelViewSet):
    queryset = models.Measure.objects.select_related("person")
    serializer_class = serializers.MeasureSerializer
    filterset_class = filtersets.MeasureFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer):
        v = serializer.validated_data
        person = v["person"]
        if not models.Person.objects.restrict(self.request.user, "change").filter(pk=person.pk).exists():
            raise PermissionDenied
        try:
            with transaction.atomic():
                serializer.instance = services.open_measure(
                    person, v["kind"], execution_area_code=v["execution_area_code"], decided_on=v.get("decided_on"),
                    served_on=v.get("served_on"), decision_no=v.get("decision_no", ""),
                    deciding_org=v.get("deciding_org"), ordered_years=v.get("ordered_years", 3),
                    facility=v.get("facility"), legal_basis=v.get("legal_basis", ""),
                    medical_grounds=v.get("medical_grounds", ""),
                    review_every_months=v.get("review_every_months"))
                ensure_in_scope(serializer.instance, self.request.user, "add")
        except ValidationError as exc:
            raise _api_errors(exc) from exc

    @extend_schema(request=serializers.ReportSerializer)
    @action(detail=True, methods=["post"])
    def report(self, request, pk=None):
        return self._act(request, serializers.ReportSerializer,
                         lambda m, v: services.record_report(m, v["reported_on"], v.get("agreement_signed_on"),
                                                             late_reason=v.get("late_reason", "")))

    @extend_schema(request=serializers.ReportSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._act(request, serializers.ReportSerializer,
                         lambda m, v: services.resume(m, v["reported_on"]))

    @extend_schema(request=serializers.EndSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._act(request, serializers.EndSerializer,
                         lambda m, v: services.end_measure(m, outcome=v["outcome"], on=v["on"],
                                                           reason=v.get("reason", "")))

    @extend_schema(request=serializers.IsolationDecisionSerializer)
    @action(detail=True, methods=["post"], url_path="isolation-decision")
    def isolation_decision(self, request, pk=None):
        return self._act(request, serializers.IsolationDecisionSerializer,
                         lambda m, v: services.decide_isolation(m, extension_days=v.get("extension_days") or 0,
                                                                early_release_on=v.get("early_release_on")))

    @extend_schema(request=serializers.FacilityMoveSerializer)
    @action(detail=True, methods=["post"])
    def facility(self, request, pk=None):
        """强戒: admission to or a move between facilities (the 司法 move 3–6 months after the decision)."""
        return self._act(request, serializers.FacilityMoveSerializer,
                         lambda m, v: services.move_facility(m, **v))

    @extend_schema(request=serializers.EscapeSerializer)
    @action(detail=True, methods=["post"])
    def escape(self, request, pk=None):
        return self._act(request, serializers.EscapeSerializer,
                         lambda m, v: services.record_escape(m, **v))

    @extend_schema(request=serializers.ReturnSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def returned(self, request, pk=None):
        return self._act(request, serializers.ReturnSerializer,
                         lambda m, v: services.record_return(m, **v))

    @extend_schema(request=serializers.SuspendSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._act(request, serializers.SuspendSerializer,
                         lambda m, v: services.suspend(m, v["from_on"], v["reason"], v.get("to_on")))

    custom_action_permission = "change"


class _PersonEventViewSet(_ServiceActionMixin, BaseModelViewSet):
    """Events are written through services (which run the rules) and re-checked for scope."""

    http_method_names = ["get", "post", "head", "options"]

    def perform_create(self, serializer):
        try:
            with transaction.atomic():
                serializer.instance = self.create_through_service(serializer.validated_data)
                ensure_in_scope(serializer.instance, self.request.user, "add")
        except ValidationError as exc:
            raise _api_errors(exc) from exc


class _CorrectableMixin:
    """``POST …/{id}/correct/`` with ``reason`` and the corrected fields (services.correct_event)."""

    @extend_schema(request=serializers.CorrectionSerializer)
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        event = get_object_or_404(self.queryset.model.objects.restrict(request.user, "change"), pk=pk)
        body = serializers.CorrectionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        allowed = services.CORRECTABLE_FIELDS[event._meta.model_name]
        partial = self.get_serializer(event, data={k: v for k, v in request.data.items() if k in allowed},
                                      partial=True)
        partial.is_valid(raise_exception=True)
        changes = {k: v for k, v in partial.validated_data.items() if k in allowed}
        try:
            event = services.correct_event(request.user, event, reason=body.validated_data["reason"], **changes)
        except ValidationError as exc:
            raise _api_errors(exc) from exc
        return Response(self.get_serializer(event).data)


class DrugTestViewSet(_CorrectableMixin, _PersonEventViewSet):
    queryset = models.DrugTest.objects.all()
    serializer_class = serializers.DrugTestSerializer
    filterset_fields = ["person", "measure", "result", "sample"]

    def create_through_service(self, v):
        return services.record_test(v["person"], measure=v.get("measure"), sample=v["sample"],
                                    collected_on=v["collected_on"], result=v["result"],
                                    performed_by=self.request.user, legal_effect=v.get("legal_effect", False),
                                    random=v.get("random", False), substances=v.get("substances", ()),
                                    hair_segment_cm=v.get("hair_segment_cm"), method=v.get("method", "onsite"),
                                    lab_reference=v.get("lab_reference", ""))


class ContactEventViewSet(_CorrectableMixin, _PersonEventViewSet):
    queryset = models.ContactEvent.objects.all()
    serializer_class = serializers.ContactEventSerializer
    filterset_fields = ["person", "measure", "kind", "outcome"]

    def create_through_service(self, v):
        return services.record_contact(v["person"], kind=v["kind"], occurred_on=v["occurred_on"],
                                       outcome=v.get("outcome", "met"), performed_by=self.request.user,
                                       location=v.get("location", ""), measure=v.get("measure"))


class AbsenceViewSet(_CorrectableMixin, _PersonEventViewSet):
    queryset = models.Absence.objects.all()
    serializer_class = serializers.AbsenceSerializer
    filterset_fields = ["measure"]

    def create_through_service(self, v):
        return services.record_absence(v["measure"], left_on=v["left_on"], returned_on=v.get("returned_on"),
                                       written_notice=v.get("written_notice", False),
                                       authorised=v.get("authorised", False), destination=v.get("destination", ""))


class RiskAssessmentViewSet(_PersonEventViewSet):
    queryset = models.RiskAssessment.objects.all()
    serializer_class = serializers.RiskAssessmentSerializer
    filterset_fields = ["person"]

    def create_through_service(self, v):
        from ..risk_service import assess

        return assess(v["person"], factors=v.get("factors", {}), manual_level=v.get("manual_level", ""),
                      manual_reason=v.get("manual_reason", ""), user=self.request.user,
                      assessed_on=v.get("assessed_on"), flags=v.get("flags", ()))

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve the manual level of the person's latest assessment (district office)."""
        from ..risk_service import approve_manual_level

        return self._act(request, None, lambda a, v: approve_manual_level(request.user, a))

    custom_action_permission = "approve"


class TransferViewSet(_PersonEventViewSet):
    queryset = models.Transfer.objects.all()
    serializer_class = serializers.TransferSerializer
    filterset_class = filtersets.TransferFilterSet

    def create_through_service(self, v):
        return services.request_transfer(self.request.user, v["person"], v["to_area_code"], v["reason"])

    @extend_schema(request=serializers.DecisionSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        return self._act(request, serializers.DecisionSerializer,
                         lambda t, v: services.decide_transfer(request.user, t, v["accept"]))

    custom_action_permission = "approve"


class ReferralViewSet(_PersonEventViewSet):
    queryset = models.Referral.objects.select_related("provider_org")
    serializer_class = serializers.ReferralSerializer
    filterset_class = filtersets.ReferralFilterSet

    def create_through_service(self, v):
        return services.refer(v["person"], kind=v["kind"], need=v["need"], provider_org=v["provider_org"],
                              consent=v.get("consent", False))

    @extend_schema(request=serializers.DecisionSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        return self._act(request, serializers.DecisionSerializer,
                         lambda r, v: services.decide_referral(request.user, r, v["accept"]))

    @extend_schema(request=serializers.CompleteSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._act(request, serializers.CompleteSerializer,
                         lambda r, v: services.complete_referral(request.user, r, v["outcome"]))

    custom_action_permission = "change"


class PoliceReportTaskViewSet(BaseModelViewSet):
    queryset = models.PoliceReportTask.objects.all()
    serializer_class = serializers.PoliceReportTaskSerializer
    filterset_class = filtersets.PoliceReportTaskFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def create(self, request, *args, **kwargs):
        return Response({"detail": "Tasks are raised by the rules."}, status=status.HTTP_405_METHOD_NOT_ALLOWED)

    @action(detail=True, methods=["post"])
    def reported(self, request, pk=None):
        task = services.report_to_police(self.get_object(), request.user)
        return Response(serializers.PoliceReportTaskSerializer(task, context=self.get_serializer_context()).data)

    custom_action_permission = "change"


class PlannedEventViewSet(BaseModelViewSet):
    queryset = models.PlannedEvent.objects.all()
    serializer_class = serializers.PlannedEventSerializer
    filterset_class = filtersets.PlannedEventFilterSet
    http_method_names = ["get", "head", "options"]


class ChildViewSet(_PersonEventViewSet):
    """A registered person's minor children (sensitive; only roles that see the assistance section)."""

    queryset = models.Child.objects.all()
    serializer_class = serializers.ChildSerializer
    filterset_fields = ["person", "guardianship"]

    def create_through_service(self, v):
        return services.record_child(v["person"], name=v["name"], birth_date=v["birth_date"],
                                     guardianship=v["guardianship"], needs=v.get("needs", ""))


class StatusChangeViewSet(_PersonEventViewSet):
    """The person's status history; POST records a change with its source and document."""

    queryset = models.StatusChange.objects.all()
    serializer_class = serializers.StatusChangeSerializer
    filterset_fields = ["person", "to_status", "source"]

    def create_through_service(self, v):
        if not models.Person.objects.restrict(self.request.user, "change").filter(pk=v["person"].pk).exists():
            raise PermissionDenied
        return services.change_status(v["person"], v["to_status"], v["on"], v["source"],
                                      v.get("document", ""), v.get("reason", ""))


class IncidentViewSet(BaseModelViewSet):
    """肇事肇祸 incidents (K15); the persons linked raise their risk at the next assessment."""

    queryset = models.Incident.objects.prefetch_related("persons")
    serializer_class = serializers.IncidentSerializer
    filterset_fields = ["kind", "severity", "area_code"]
    http_method_names = ["get", "post", "patch", "head", "options"]


class SchedulePolicyViewSet(BaseModelViewSet):
    """How often people under each measure are seen and tested, by phase and risk level, and after how many
    missed contacts L01 (失控) fires. Everyone with the permission reads; only the city writes. The nightly run
    re-plans from these rows."""

    queryset = models.SchedulePolicy.objects.all()
    serializer_class = serializers.SchedulePolicySerializer
    filterset_fields = ["measure_kind", "risk_level"]


class CaseDocumentViewSet(_PersonEventViewSet):
    """Signed documents kept with the file (agreement, consent, care plan, decision): multipart POST with
    ``file`` (PDF, PNG or JPEG ≤ 10 MB); ``download`` is the logged download URL."""

    queryset = models.CaseDocument.objects.all()
    serializer_class = serializers.CaseDocumentSerializer
    filterset_fields = ["person", "measure", "kind"]

    def create_through_service(self, v):
        return services.attach_document(v["person"], kind=v["kind"], title=v["title"], signed_on=v["signed_on"],
                                        file=v["file"], measure=v.get("measure"), note=v.get("note", ""))


class CarePlanViewSet(_PersonEventViewSet):
    """帮扶计划: needs, goals, actions and the review date; a new plan closes the active one."""

    queryset = models.CarePlan.objects.all()
    serializer_class = serializers.CarePlanSerializer
    filterset_fields = ["person", "status"]

    def create_through_service(self, v):
        return services.draw_care_plan(v["person"], needs=v["needs"], goals=v["goals"], actions=v.get("actions", ""),
                                       review_on=v["review_on"], drawn_on=v.get("drawn_on"))


class WorkTeamMemberViewSet(_PersonEventViewSet):
    """The work team (工作小组) of a measure."""

    queryset = models.WorkTeamMember.objects.all()
    serializer_class = serializers.WorkTeamMemberSerializer
    filterset_fields = ["measure", "role"]

    def create_through_service(self, v):
        return services.add_team_member(v["measure"], role=v["role"], user=v.get("user"), name=v.get("name", ""),
                                        phone=v.get("phone", ""))
