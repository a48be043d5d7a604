from rest_framework import serializers

from core.api.serializers import BaseModelSerializer

from .. import models


class _PartyRef(serializers.SlugRelatedField):
    """A party named by its identifier, among the parties the caller may see (an unknown and an out-of-scope
    identifier get the same answer)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "identifier")
        kwargs.setdefault("queryset", models.Party.objects.all())
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        qs = super().get_queryset()
        return qs.restrict(request.user, "view") if request is not None else qs.none()


class _SiteRef(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        request = self.context.get("request")
        return models.Site.objects.restrict(request.user, "view") if request is not None else models.Site.objects.none()


class PartySerializer(BaseModelSerializer):
    class Meta:
        model = models.Party
        fields = ["id", "url", "identifier", "uscc", "name", "kinds", "industry", "area_code", "org", "address",
                  "legal_rep", "responsible_person", "phone", "registered_on", "changed_on", "is_active",
                  "risk_grade", "blacklist_until", "residential_site", "declared_annual_kg", "link_keys", "country"]


class SiteSerializer(BaseModelSerializer):
    party = _PartyRef()

    class Meta:
        model = models.Site
        fields = ["id", "url", "party", "identifier", "name", "kind", "area_code", "address", "residential",
                  "dedicated_store", "dual_lock", "cctv", "alarm_to_police"]


class AuthorizationSerializer(BaseModelSerializer):
    holder = _PartyRef()
    counterparty = _PartyRef(required=False, allow_null=True)
    consignee = _PartyRef(required=False, allow_null=True)
    carrier = _PartyRef(required=False, allow_null=True)

    class Meta:
        model = models.Authorization
        fields = ["id", "url", "number", "type", "holder", "issuer", "substances", "counterparty", "consignee",
                  "carrier", "origin_area", "destination_area", "destination_country", "valid_from", "valid_to",
                  "uses_allowed", "status", "revoked_on"]

    def validate_substances(self, value):
        if not isinstance(value, dict) or not value:
            raise serializers.ValidationError("A JSON object of substance code → maximum kg (or null).")
        known = set(models.Substance.objects.filter(code__in=list(value)).values_list("code", flat=True))
        unknown = sorted(set(value) - known)
        if unknown:
            raise serializers.ValidationError(f"Unknown substance code(s): {', '.join(unknown)}")
        for code, kg in value.items():
            if kg is not None and (not isinstance(kg, (int, float)) or kg <= 0):
                raise serializers.ValidationError(f"{code}: the maximum must be a positive number of kg or null.")
        return value


class FilingSerializer(BaseModelSerializer):
    party = _PartyRef()

    class Meta:
        model = models.Filing
        fields = ["id", "url", "kind", "party", "submitted_at", "reference", "year", "status", "note"]


class AlertSerializer(BaseModelSerializer):
    party = serializers.SlugRelatedField(slug_field="identifier", read_only=True)
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = models.Alert
        fields = ["id", "url", "rule_id", "severity", "party", "party_identifier", "area_code", "message",
                  "evidence", "details", "blocked", "first_seen", "last_seen", "status", "outcome", "assignee",
                  "note"]
        read_only_fields = fields


class AlertActionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=models.Alert._meta.get_field("status").choices)
    outcome = serializers.ChoiceField(choices=models.Alert._meta.get_field("outcome").choices, required=False,
                                      allow_blank=True)
    assignee = serializers.CharField(required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True)


class InspectionSerializer(BaseModelSerializer):
    party = _PartyRef()
    site = _SiteRef(required=False, allow_null=True)

    class Meta:
        model = models.Inspection
        fields = ["id", "url", "party", "site", "planned_on", "done_at", "on_site", "inspectors", "checklist",
                  "findings", "status", "rectify_by", "rechecked_on", "recheck_passed"]


class EquipmentSerializer(BaseModelSerializer):
    owner = _PartyRef(required=False, allow_null=True)
    site = _SiteRef(required=False, allow_null=True)

    class Meta:
        model = models.Equipment
        fields = ["id", "url", "type", "make", "model", "serial", "field_mhz", "benchtop", "owner", "site",
                  "area_code", "acquired_on", "purpose", "is_active"]


class _ConsignorRef(_PartyRef):
    """A new track's consignor among the parties the caller may see; a recorded track's own consignor is accepted
    too (its carrier may send back the whole track it read without seeing the consignor's file)."""

    def get_queryset(self):
        qs = super().get_queryset()
        track = getattr(self.parent, "instance", None)
        if isinstance(track, models.Shipment):
            qs = qs | models.Party.objects.filter(pk=track.party_id)
        return qs


class ShipmentSerializer(BaseModelSerializer):
    """A shipment track (R29). ``planned_route``: [[lon, lat], …] or a GeoJSON LineString, WGS-84."""

    party = _ConsignorRef()
    # any registered party may be named carrier (the consignor need not see the carrier's file to name it)
    carrier = serializers.SlugRelatedField(slug_field="identifier", queryset=models.Party.objects.all(),
                                           required=False, allow_null=True)
    planned_route = serializers.JSONField()
    n_fixes = serializers.SerializerMethodField()

    class Meta:
        model = models.Shipment
        fields = ["id", "url", "waybill", "party", "carrier", "area_code", "vehicle_plate", "permit_no",
                  "planned_route", "departed_at", "eta", "arrived_at", "departure_kg", "arrival_kg", "note", "n_fixes"]
        read_only_fields = ["area_code"]

    def get_n_fixes(self, obj) -> int:
        counted = getattr(obj, "n_fixes", None)          # the list's annotation; a saved track counts its own
        return counted if counted is not None else obj.fixes.count()

    def validate_planned_route(self, value):
        from django.core.exceptions import ValidationError

        from ..services import planned_route_from

        try:
            return planned_route_from(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    def validate(self, attrs):
        from ..services import shipment_errors

        values = {name: attrs.get(name, getattr(self.instance, name, None))       # as the track would be saved
                  for name in ("waybill", "party", "departed_at", "eta", "arrived_at", "departure_kg", "arrival_kg")}
        changed = [name for name, value in attrs.items()
                   if self.instance is not None and value != getattr(self.instance, name)]
        errors = shipment_errors(self.instance, values, changed, self.context["request"].user)
        if errors:
            raise serializers.ValidationError({name: [str(message)] for name, message in errors.items()})
        return attrs


class FixSerializer(serializers.Serializer):
    time = serializers.DateTimeField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()


class FixBatchSerializer(serializers.Serializer):
    """``{"fixes": [{"time": "2026-10-21T08:35:00+08:00", "lon": 120.6154, "lat": 31.3097}, …]}``"""

    fixes = FixSerializer(many=True, allow_empty=False, max_length=50_000)
