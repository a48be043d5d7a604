from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.views import BaseModelViewSet
from core.permissions import has_perm

from .. import filtersets, models, services, tracing
from ..algorithms import epcis
from ..capture import CaptureRefused, capture_body
from ..query import DEFAULT_PER_PAGE, QueryTooLarge, query_events
from . import serializers


class EPCISJSONParser(JSONParser):
    media_type = "application/ld+json"


class CaptureView(APIView):
    """EPCIS 2.0 capture: an ``EPCISDocument`` (JSON or JSON-LD). The whole document is validated against GS1's
    schema and refused with every error when it fails; otherwise every new event is stored (idempotent by
    eventID: re-sending adds nothing). Capture-time rules (R01–R08, R12, R19–R21) answer in ``flags``: the events
    are stored and flagged, and the alerts appear in the inbox. Offices may pass ``?party=<identifier>`` to
    capture on behalf of a party in their scope."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, EPCISJSONParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
                   parameters=[OpenApiParameter("party", str, description="capture on behalf of this party")])
    def post(self, request):
        party = None
        ident = request.query_params.get("party")
        if ident:
            party = models.Party.objects.restrict(request.user, "add").filter(identifier=ident).first()
            if party is None:
                return Response({"errors": [{"path": "party", "message": f"unknown or out-of-scope party {ident}"}]},
                                status=status.HTTP_400_BAD_REQUEST)
        # the body is parsed by the capture with orjson (a 10,000-event document is ~8 MB: the stdlib parser behind
        # request.data takes several times longer), and its bytes are what the capture's SM3 records
        try:
            result = capture_body(request.body, user=request.user, party=party, channel="api")
        except CaptureRefused as exc:
            return Response({"errors": exc.errors}, status=exc.status)
        except PermissionDenied as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)


class EventQueryView(APIView):
    """EPCIS 2.0 SimpleEventQuery over the events in your scope (``GET /api/epcis/events?EQ_bizStep=shipping``).
    List values are written ``a|b``. Paging: ``perPage`` (≤ 1000) and ``nextPageToken``. Result set: ``orderBy``
    (eventTime / recordTime) with ``orderDirection`` (ASC / DESC, default DESC), ``eventCountLimit``, or
    ``maxEventCount`` (413 QueryTooLargeException when more match). The answer is an ``EPCISQueryDocument``; the
    next page's token is also in the ``Link`` header."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT}, parameters=[
        OpenApiParameter(n, str) for n in ("eventType", "GE_eventTime", "LT_eventTime", "EQ_bizStep",
                                           "EQ_disposition", "MATCH_epc", "MATCH_anyEPC", "MATCH_epcClass",
                                           "EQ_bizLocation", "EQ_readPoint", "orderBy", "orderDirection",
                                           "eventCountLimit", "maxEventCount", "perPage", "nextPageToken")])
    def get(self, request):
        if not has_perm(request.user, "precursors.event", "view"):
            return Response({"detail": "You may not read precursor events."}, status=status.HTTP_403_FORBIDDEN)
        params = epcis.parse_query_string(request.query_params.lists())
        per_page = params.pop("perPage", [DEFAULT_PER_PAGE])
        token = params.pop("nextPageToken", None)
        try:
            per_page = int(per_page[0] if isinstance(per_page, list) else per_page)
        except ValueError:
            return Response({"type": "epcisException:QueryParameterException",
                             "title": "perPage must be an integer"}, status=400)
        try:
            events, next_token = query_events(request.user, params, per_page=per_page,
                                              token=token[0] if isinstance(token, list) else token)
        except epcis.QueryParameterError as exc:
            return Response({"type": "epcisException:QueryParameterException", "title": str(exc)}, status=400)
        except QueryTooLarge as exc:
            return Response({"type": "epcisException:QueryTooLargeException", "title": str(exc)},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        doc = epcis.to_query_document(events)
        response = Response(doc)
        if next_token:
            query = request.GET.copy()
            query["nextPageToken"] = next_token
            response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'
            doc["epcisBody"]["queryResults"]["nextPageToken"] = next_token
        return response


class TraceView(APIView):
    """来源倒查 / 去向追溯: ``?epc=`` (a tag / container), ``?epc_class=`` (a lot), ``?waybill=`` (a waybill or other
    bizTransaction id) with ``direction=back|forward`` and ``max_hops`` (default 50). Returns ``nodes`` (party as
    the identifier used in the events, site, lot, ``quantity_in``/``quantity_out``/``unaccounted`` in kg, times,
    permits, gaps) and ``edges``."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, parameters=[
        OpenApiParameter("epc", str), OpenApiParameter("epc_class", str), OpenApiParameter("waybill", str),
        OpenApiParameter("direction", str, enum=["back", "forward"]), OpenApiParameter("max_hops", int)])
    def get(self, request):
        user = request.user
        if not has_perm(user, "precursors.event", "view"):
            return Response({"detail": "You may not trace precursor events."}, status=status.HTTP_403_FORBIDDEN)
        q = request.query_params
        seeds = [(k, q.get(k)) for k in ("epc", "epc_class", "waybill") if q.get(k)]
        errors = {}
        if len(seeds) != 1:
            errors["seed"] = ["Give exactly one of epc, epc_class or waybill."]
        direction = q.get("direction", "back")
        if direction not in ("back", "forward"):
            errors["direction"] = ["back or forward"]
        try:
            max_hops = int(q.get("max_hops", 50))
            if not 1 <= max_hops <= 200:
                raise ValueError
        except ValueError:
            errors["max_hops"] = ["an integer from 1 to 200"]
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        kind, seed = seeds[0]
        if not tracing.seed_visible(user, seed):
            return Response({"detail": "No events you may see name this identifier."},
                            status=status.HTTP_404_NOT_FOUND)
        kind = {"waybill": "biz_transaction"}.get(kind, kind)
        result = tracing.trace(seed, direction=direction, kind=kind, max_hops=max_hops)
        return Response(tracing.visible_to(result, user))


class CoverageView(APIView):
    """R26 on-site inspection coverage (现场检查率) for a year, per district, with the uninspected parties."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, parameters=[OpenApiParameter("year", int),
                                                                     OpenApiParameter("area", str)])
    def get(self, request):
        from django.utils import timezone

        try:
            year = int(request.query_params.get("year") or timezone.localdate().year)
        except ValueError:
            return Response({"year": ["a year such as 2026"]}, status=400)
        report = services.inspection_coverage(request.user, year,
                                              area_prefix=request.query_params.get("area", ""))
        return Response({"year": year, **report.as_dict()})


class PartyViewSet(BaseModelViewSet):
    queryset = models.Party.objects.all()
    serializer_class = serializers.PartySerializer
    filterset_class = filtersets.PartyFilterSet


class SiteViewSet(BaseModelViewSet):
    queryset = models.Site.objects.select_related("party")
    serializer_class = serializers.SiteSerializer
    filterset_class = filtersets.SiteFilterSet


class AuthorizationViewSet(BaseModelViewSet):
    queryset = models.Authorization.objects.select_related("holder", "counterparty", "consignee", "carrier")
    serializer_class = serializers.AuthorizationSerializer
    filterset_class = filtersets.AuthorizationFilterSet


class FilingViewSet(BaseModelViewSet):
    queryset = models.Filing.objects.select_related("party")
    serializer_class = serializers.FilingSerializer
    filterset_class = filtersets.FilingFilterSet


class InspectionViewSet(BaseModelViewSet):
    queryset = models.Inspection.objects.select_related("party")
    serializer_class = serializers.InspectionSerializer
    filterset_class = filtersets.InspectionFilterSet


class EquipmentViewSet(BaseModelViewSet):
    queryset = models.Equipment.objects.select_related("owner")
    serializer_class = serializers.EquipmentSerializer
    filterset_class = filtersets.EquipmentFilterSet


class ShipmentViewSet(BaseModelViewSet):
    """Shipment tracks for R29 (在途监控): the planned route, departure, ETA, arrival and weights of a permitted
    shipment, keyed by its waybill (``?waybill=``). ``POST shipments/{id}/fixes/`` appends GPS fixes (idempotent by
    time; a batch with one bad fix is refused whole); ``GET`` the same path lists them."""

    queryset = models.Shipment.objects.select_related("party", "carrier").annotate(n_fixes=Count("fixes"))
    serializer_class = serializers.ShipmentSerializer
    filterset_class = filtersets.ShipmentFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    @property
    def required_action(self):
        if self.action == "fixes":
            return "change" if self.request.method == "POST" else "view"
        return super().required_action

    @extend_schema(request=serializers.FixBatchSerializer, responses={200: OpenApiTypes.OBJECT,
                                                                       201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"])
    def fixes(self, request, pk=None):
        shipment = self.get_object()
        if request.method == "GET":
            rows = shipment.fixes.order_by("time").values_list("time", "lon", "lat")
            return Response({"waybill": shipment.waybill,
                             "fixes": [{"time": t.isoformat(), "lon": x, "lat": y} for t, x, y in rows]})
        body = serializers.FixBatchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            added, known = services.add_fixes(shipment, [(f["time"], f["lon"], f["lat"])
                                                         for f in body.validated_data["fixes"]], request.user)
        except ValidationError as exc:
            raise DRFValidationError(exc.message_dict) from exc
        except PermissionDenied as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response({"waybill": shipment.waybill, "added": added, "already_recorded": known},
                        status=status.HTTP_201_CREATED if added else status.HTTP_200_OK)


class AlertViewSet(BaseModelViewSet):
    """Diversion alerts R01–R31 with their evidence (``?rule=R11&status=new``). Alerts are raised by the rules,
    not created by hand; ``POST alerts/{id}/act/`` assigns, investigates or closes one with an outcome."""

    queryset = models.Alert.objects.select_related("party", "assignee")
    serializer_class = serializers.AlertSerializer
    filterset_class = filtersets.AlertFilterSet
    http_method_names = ["get", "post", "head", "options"]
    custom_action_permission = "change"

    def create(self, request, *args, **kwargs):
        return Response({"detail": "Alerts are raised by the rules."}, status=status.HTTP_405_METHOD_NOT_ALLOWED)

    @extend_schema(request=serializers.AlertActionSerializer, responses={200: serializers.AlertSerializer})
    @action(detail=True, methods=["post"])
    def act(self, request, pk=None):
        alert = self.get_object()
        body = serializers.AlertActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        assignee = None
        if data.get("assignee"):
            assignee = services.alert_assignees(request.user).filter(username=data["assignee"]).first()
            if assignee is None:
                raise DRFValidationError({"assignee": ["not a user in your scope who handles alerts"]})
        try:
            alert = services.update_alert(alert, request.user, status=data["status"], outcome=data.get("outcome", ""),
                                          assignee=assignee, note=data.get("note", ""))
        except ValidationError as exc:
            raise DRFValidationError(exc.message_dict) from exc
        return Response(serializers.AlertSerializer(alert, context={"request": request}).data)
