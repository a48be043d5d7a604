"""The web form and the Excel ledger (台账) door for reporting movements. Both build the same EPCIS 2.0 events the
API accepts and hand them to ``capture``, so every door produces the same events, rules and audit."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .algorithms.transactions import JINDU_NAMESPACE, SUBSTANCE_CLASS_PREFIX
from .models import Party, Substance

KINDS = [
    ("purchase", _("Purchase received (购入)")), ("sale", _("Sale shipped (销售)")),
    ("use", _("Used in production (使用)")), ("production", _("Produced (生产)")),
    ("count", _("Stock count (盘点)")), ("destruction", _("Destroyed (销毁)")), ("loss", _("Lost or stolen (丢失被盗)")),
]
PAYMENTS = [("", "—"), ("transfer", _("Bank transfer")), ("cash", _("Cash")), ("in_kind", _("In kind")),
            ("other", _("Other"))]


def reporting_parties(user):
    """Whom a user reports for: an enterprise its own party; an office the parties in its capture scope."""
    from .capture import own_party

    mine = own_party(user)
    if mine is not None:
        return Party.objects.filter(pk=mine.pk)
    return Party.objects.restrict(user, "add").order_by("name")


class MovementForm(forms.Form):
    party = forms.ModelChoiceField(label=_("reporting party"), queryset=Party.objects.none())
    kind = forms.ChoiceField(label=_("movement"), choices=KINDS)
    time = forms.DateTimeField(label=_("date and time"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    substance = forms.ModelChoiceField(label=_("substance"), queryset=Substance.objects.filter(category__isnull=False),
                                       to_field_name="code")
    quantity_kg = forms.FloatField(label=_("quantity (kg)"), min_value=0.001)
    counterparty = forms.CharField(label=_("counterparty (identifier or credit code)"), required=False,
                                   max_length=200)
    site = forms.CharField(label=_("site (SGLN, optional)"), required=False, max_length=200)
    permit_no = forms.CharField(label=_("permit or filing number"), required=False, max_length=80)
    waybill_no = forms.CharField(label=_("waybill number"), required=False, max_length=80)
    payment_method = forms.ChoiceField(label=_("payment"), choices=PAYMENTS, required=False)
    dest_country = forms.CharField(label=_("destination country (exports, ISO code)"), required=False, max_length=2)
    output_kg = forms.FloatField(label=_("product made (kg, for use in production)"), required=False, min_value=0)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].queryset = reporting_parties(user) if user else Party.objects.all()
        self.fields["time"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean_counterparty(self):
        value = self.cleaned_data["counterparty"].strip()
        if not value:
            return ""
        party = Party.objects.filter(identifier=value).first() or Party.objects.filter(uscc=value.upper()).first()
        return party.identifier if party else value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") in ("purchase", "sale") and not cleaned.get("counterparty"):
            self.add_error("counterparty", _("A purchase or a sale needs the counterparty."))
        return cleaned


def _site(row) -> str | None:
    if row.get("site"):
        return row["site"]
    party = row["party"]
    site = party.sites.order_by("pk").first()
    return site.identifier if site else None


def movement_event(row: dict) -> dict:
    """One form row / ledger row → one EPCIS 2.0 event dict (without eventID: its id is the hash of its content,
    so the same row reported twice is one event)."""
    party: Party = row["party"]
    substance = row["substance"].code if hasattr(row["substance"], "code") else row["substance"]
    when: dt.datetime = row["time"]
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    when = timezone.localtime(when)
    qty = [{"epcClass": SUBSTANCE_CLASS_PREFIX + substance, "quantity": float(row["quantity_kg"]), "uom": "KGM"}]
    site = _site(row)
    ev: dict = {"type": "ObjectEvent", "eventTime": when.isoformat(), "eventTimeZoneOffset": when.strftime("%z")[:3]
                + ":" + when.strftime("%z")[3:], "jindu:substance": substance}
    kind = row["kind"]
    other = row.get("counterparty") or ""
    if kind in ("sale", "purchase"):
        me, them = {"type": "owning_party", "source": party.identifier}, {"type": "owning_party",
                                                                          "destination": other}
        if kind == "sale":
            ev.update(action="OBSERVE", bizStep="shipping", disposition="in_transit", quantityList=qty,
                      sourceList=[me], destinationList=[them])
        else:
            ev.update(action="OBSERVE", bizStep="receiving", disposition="in_progress", quantityList=qty,
                      sourceList=[{"type": "owning_party", "source": other}],
                      destinationList=[{"type": "owning_party", "destination": party.identifier}])
    elif kind == "use":
        ev = {"type": "TransformationEvent", "eventTime": ev["eventTime"], "eventTimeZoneOffset":
              ev["eventTimeZoneOffset"], "inputQuantityList": qty,
              "jindu:substance": substance}
        if row.get("output_kg"):
            ev["outputQuantityList"] = [{"epcClass": f"urn:jindu:class:output:{party.pk}", "quantity":
                                         float(row["output_kg"]), "uom": "KGM"}]
    elif kind == "production":
        ev.update(action="ADD", bizStep="commissioning", disposition="active", quantityList=qty)
    elif kind == "count":
        ev.update(action="OBSERVE", bizStep="cycle_counting", disposition="in_progress", quantityList=qty)
    elif kind == "destruction":
        ev.update(action="DELETE", bizStep="destroying", disposition="destroyed", quantityList=qty)
    elif kind == "loss":
        ev.update(action="OBSERVE", disposition="stolen", quantityList=qty)
    if site:
        ev["bizLocation"] = {"id": site}
        ev["readPoint"] = {"id": site}
    for key, name in (("permit_no", "jindu:permitNo"), ("waybill_no", "jindu:waybillNo"),
                      ("payment_method", "jindu:paymentMethod"), ("dest_country", "jindu:destCountry")):
        if row.get(key):
            ev[name] = row[key]
    if row.get("waybill_no") and kind in ("sale", "purchase"):
        ev["bizTransactionList"] = [{"type": "bol", "bizTransaction": f"urn:jindu:waybill:{row['waybill_no']}"}]
    return ev


def movement_document(rows: list[dict]) -> dict:
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"jindu": JINDU_NAMESPACE}],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": timezone.now().isoformat(), "epcisBody": {"eventList": [movement_event(r)
                                                                                     for r in rows]}}


class LedgerRowForm(MovementForm):
    """One row of the enterprise 台账 upload: the same fields as the web form, the party named by its identifier
    or 统一社会信用代码."""

    party = forms.CharField(label=_("reporting party (identifier or credit code)"), max_length=200)

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)

    def clean_party(self):
        from .forms import party_from_text

        return party_from_text(self.cleaned_data["party"])

    def has_changed(self):
        return True

    def save(self, user=None):
        from .capture import capture

        data = self.cleaned_data
        return capture(movement_document([data]), user=user, party=data["party"], channel="excel").batch
