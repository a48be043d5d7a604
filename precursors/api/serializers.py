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
