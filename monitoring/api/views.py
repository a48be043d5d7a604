from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.views import BaseModelViewSet
from core.permissions import ensure_in_scope, model_perm

from .. import filtersets, models, services
from ..forms import reporting_lab
from . import serializers


class TreatmentPlantViewSet(BaseModelViewSet):
    queryset = models.TreatmentPlant.objects.all()
    serializer_class = serializers.TreatmentPlantSerializer
    filterset_class = filtersets.TreatmentPlantFilterSet


class SampleViewSet(BaseModelViewSet):
    queryset = models.Sample.objects.select_related("plant")
    serializer_class = serializers.SampleSerializer
    filterset_class = filtersets.SampleFilterSet

    @extend_schema(request=serializers.LabResultSerializer(many=True),
                   responses={201: inline_serializer("LabResultsAccepted", {"stored": drf_serializers.IntegerField()})})
    @action(detail=False, methods=["post"], url_path="lab-results")
    def lab_results(self, request):
        """Laboratories post results here (a list): validated exactly like the Excel import, all or nothing."""
        payload = request.data if isinstance(request.data, list) else [request.data]
        rows = [serializers.LabResultSerializer(data=item) for item in payload]
        errors = {str(i): row.errors for i, row in enumerate(rows) if not row.is_valid()}
        if errors:  # the index names the row, the inner keys name the fields; nothing is stored
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        with transaction.atomic():
            lab = reporting_lab(request.user)
            for row in rows:
                measurement = row.form.save(lab=lab)
                ensure_in_scope(measurement, request.user, "add")
        return Response({"stored": len(payload)}, status=status.HTTP_201_CREATED)

    custom_action_permission = "add"


class LoadEstimateViewSet(BaseModelViewSet):
    queryset = models.LoadEstimate.objects.select_related("plant")
    serializer_class = serializers.LoadEstimateSerializer
    filterset_class = filtersets.LoadEstimateFilterSet
    http_method_names = ["get", "head", "options"]


class ScreeningBatchViewSet(BaseModelViewSet):
    queryset = models.ScreeningBatch.objects.prefetch_related("results")
    serializer_class = serializers.ScreeningBatchSerializer
    filterset_class = filtersets.ScreeningBatchFilterSet


class ForensicIdentificationViewSet(BaseModelViewSet):
    queryset = models.ForensicIdentification.objects.all()
    serializer_class = serializers.ForensicIdentificationSerializer
    filterset_class = filtersets.ForensicIdentificationFilterSet


class DispensingViewSet(BaseModelViewSet):
    queryset = models.Dispensing.objects.all()
    serializer_class = serializers.DispensingSerializer
    filterset_class = filtersets.DispensingFilterSet


class AlertViewSet(BaseModelViewSet):
    """Alerts with their evidence: ``?rule=P01&status=new``. PATCH status/assignee/outcome/note to handle one."""

    queryset = models.Alert.objects.all()
    serializer_class = serializers.AlertSerializer
    filterset_class = filtersets.AlertFilterSet
    http_method_names = ["get", "patch", "head", "options"]


class EstimateView(APIView):
    """Back-calculate one result stage by stage: load → PNL → consumption → doses, with the factor used."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=serializers.EstimateRequestSerializer,
                   responses={200: inline_serializer("Estimate", {
                       "load_mg_d": drf_serializers.FloatField(), "pnl_mg_d_1000": drf_serializers.FloatField(),
                       "consumption_mg_d_1000": drf_serializers.FloatField(allow_null=True),
                       "doses_d_1000": drf_serializers.FloatField(allow_null=True),
                       "correction_factor": drf_serializers.FloatField(allow_null=True),
                       "factor": drf_serializers.DictField(allow_null=True)})})
    def post(self, request):
        if not model_perm(request.user, models.LoadEstimate, "view"):
            return Response({"detail": "Your role has no access to monitoring data."}, status=403)
        data = serializers.EstimateRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return Response(services.estimate(v["residue"], v["concentration_ng_l"], v["flow_m3_d"], v["population"],
                                          cf=v.get("correction_factor"), on=v.get("date"), loq_ng_l=v.get("loq_ng_l")))


class DetectView(APIView):
    """Run one detection method over a series, with ``history`` as the past of its first point."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=serializers.DetectRequestSerializer,
                   responses={200: inline_serializer("Detection", {"points": drf_serializers.ListField(
                       child=drf_serializers.DictField())})})
    def post(self, request):
        from ..algorithms import signals

        if not model_perm(request.user, models.Alert, "view"):
            return Response({"detail": "Your role has no access to monitoring data."}, status=403)
        data = serializers.DetectRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            points = signals.detect(v["method"], v["history"], v["series"], v.get("params") or {})
        except (ValueError, TypeError) as exc:
            return Response({"params": [str(exc)]}, status=400)
        return Response({"method": v["method"], "points": [p.to_dict() for p in points]})
