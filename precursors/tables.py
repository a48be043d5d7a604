import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from core.tables import BaseTable

from . import models


class PartyTable(BaseTable):
    name = tables.Column(linkify=True)
    open_alerts = tables.Column(verbose_name=_("open alerts"), orderable=True)

    class Meta(BaseTable.Meta):
        model = models.Party
        fields = ("name", "identifier", "uscc", "kinds", "industry", "area_code", "risk_grade", "is_active")
        sequence = ("name", "identifier", "uscc", "kinds", "industry", "area_code", "risk_grade", "open_alerts",
                    "is_active")

    def render_kinds(self, value):
        from .choices import PartyKind

        return "、".join(str(PartyKind(k).label) for k in value if k in PartyKind.values)


class SiteTable(BaseTable):
    name = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Site
        fields = ("name", "identifier", "kind", "area_code", "dedicated_store", "dual_lock", "cctv",
                  "alarm_to_police")


class AuthorizationTable(BaseTable):
    number = tables.Column(linkify=True)
    holder = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Authorization
        fields = ("number", "type", "holder", "substances", "valid_from", "valid_to", "uses_allowed", "status")


class FilingTable(BaseTable):
    kind = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Filing
        fields = ("kind", "party", "submitted_at", "reference", "year", "status")


class AlertTable(BaseTable):
    rule_id = tables.Column(linkify=True, verbose_name=_("rule"))
    party = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Alert
        fields = ("rule_id", "severity", "party", "message", "blocked", "status", "outcome", "assignee",
                  "last_seen")


class InspectionTable(BaseTable):
    party = tables.Column(linkify=lambda record: record.get_absolute_url())

    class Meta(BaseTable.Meta):
        model = models.Inspection
        fields = ("party", "site", "planned_on", "done_at", "status", "inspectors", "rectify_by", "rechecked_on")


class EquipmentTable(BaseTable):
    serial = tables.Column(linkify=True)
    owner = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Equipment
        fields = ("type", "make", "model", "serial", "field_mhz", "benchtop", "owner", "area_code", "is_active")


class ShipmentTable(BaseTable):
    waybill = tables.Column(linkify=True)
    party = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Shipment
        fields = ("waybill", "party", "carrier", "vehicle_plate", "permit_no", "departed_at", "eta", "arrived_at",
                  "departure_kg", "arrival_kg")


class ShipmentFixTable(BaseTable):
    class Meta(BaseTable.Meta):
        model = models.ShipmentFix
        fields = ("time", "lon", "lat")


class EventTable(BaseTable):
    event_time = tables.Column(verbose_name=_("event time"))

    class Meta(BaseTable.Meta):
        model = models.Event
        fields = ("event_time", "event_type", "action", "biz_step", "disposition", "biz_location", "party",
                  "event_id", "declared_error")


class SubstanceTable(BaseTable):
    code = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.Substance
        fields = ("code", "category", "name_zh", "name_en", "cas", "is_pharma", "listed_from", "listed_to",
                  "criminal_threshold_kg", "watch", "tag")
        per_page = 60


class RuleParameterTable(BaseTable):
    name = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.RuleParameter
        fields = ("name", "value", "effective_from", "effective_to", "source")


class SurveyAreaTable(BaseTable):
    name = tables.Column(linkify=True)
    covered_fraction = tables.Column(verbose_name=_("covered"))

    class Meta(BaseTable.Meta):
        model = models.SurveyArea
        fields = ("name", "year", "area_code", "area_m2", "covered_fraction")

    def render_covered_fraction(self, value):
        return f"{100 * value:.1f}%"

    def render_area_m2(self, value):
        return f"{value / 1e6:.2f} km²"


class SurveyFlightTable(BaseTable):
    class Meta(BaseTable.Meta):
        model = models.SurveyFlight
        fields = ("flown_on", "kind", "pilot", "altitude_m", "hfov_deg", "swath_m")


class PatrolFindingTable(BaseTable):
    found_on = tables.Column(linkify=True)

    class Meta(BaseTable.Meta):
        model = models.PatrolFinding
        fields = ("found_on", "kind", "source", "plants", "lon", "lat", "eradicated", "note")


class EquipmentTransferTable(BaseTable):
    class Meta(BaseTable.Meta):
        model = models.EquipmentTransfer
        fields = ("date", "from_party", "to_party", "to_name", "note")
