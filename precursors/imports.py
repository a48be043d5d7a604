"""Excel door: the enterprise 台账 (purchases, sales, use, stock counts…) through the platform's import pipeline.
Each row becomes the EPCIS event the web form and the API would make (see reporting.py)."""

from django.utils.translation import gettext_lazy as _

from core.imports import Column, ImportSpec, registry

from . import models
from .forms import ShipmentFixRowForm, ShipmentRowForm
from .reporting import LedgerRowForm

LEDGER = registry.register(ImportSpec(
    name="precursors.ledger",
    label=_("Precursor ledger (台账) movements"),
    model=models.CaptureBatch,
    form_class=LedgerRowForm,
    key_fields=("party", "kind", "time", "substance", "quantity_kg", "counterparty"),
    find_existing=lambda data: None,
    save=lambda form, user: form.save(user),
    row_check=lambda form, user: _reporting_party_check(form, user),
    also_for=(models.Event,),
    columns=[
        Column("party", "单位标识或统一社会信用代码", example="urn:epc:id:pgln:6901234.00001"),
        Column("kind", "业务类型", help="购入/销售/使用/生产/盘点/销毁/丢失被盗", example="sale"),
        Column("time", "日期时间", example="2026-03-01 09:30"),
        Column("substance", "品种代码", help="目录代码，如 C3-02 丙酮", example="C3-02"),
        Column("quantity_kg", "数量(kg)", example="500"),
        Column("counterparty", "对方单位标识或统一社会信用代码", example="urn:epc:id:pgln:6901234.00002"),
        Column("site", "场所(SGLN)"),
        Column("permit_no", "许可证/备案证明编号"),
        Column("waybill_no", "运单号"),
        Column("payment_method", "付款方式", example="transfer"),
        Column("dest_country", "出口目的国"),
        Column("output_kg", "产出(kg)"),
    ],
))

# R29's data door from Excel: the shipments (one row per waybill, planned route as "lon,lat; lon,lat"), then the
# vehicle-monitoring platform's export of GPS fixes (one row per fix). Both are idempotent: a shipment is keyed by
# its waybill and consignor, a fix by its track and time.
SHIPMENTS = registry.register(ImportSpec(
    name="precursors.shipments",
    label=_("Shipment tracks (planned route, departure, arrival)"),
    model=models.Shipment,
    form_class=ShipmentRowForm,
    key_fields=("waybill", "party"),
    find_existing=lambda data: _track_named(data.get("waybill", ""), data.get("party", "")),
    duplicate_key=lambda data: (data.get("waybill", "").strip(), _party_key(data.get("party", ""))),
    row_check=lambda form, user: _shipment_check(form, user),
    columns=[
        Column("waybill", "运单号", example="WB2026102100012"),
        Column("party", "托运单位标识或统一社会信用代码", example="urn:epc:id:pgln:6901234.00001"),
        Column("carrier", "承运单位标识或统一社会信用代码"),
        Column("vehicle_plate", "车牌号", example="苏E·A1234"),
        Column("permit_no", "运输许可证/备案证明编号"),
        Column("planned_route", "规划路线(经度,纬度;…)", example="120.62,31.31; 120.30,31.57; 118.78,32.05"),
        Column("departed_at", "起运时间", example="2026-10-21 08:30"),
        Column("eta", "预计到达时间", example="2026-10-21 13:00"),
        Column("arrived_at", "到达时间"),
        Column("departure_kg", "起运重量(kg)"),
        Column("arrival_kg", "到达重量(kg)"),
        Column("note", "备注"),
    ],
))

GPS_FIXES = registry.register(ImportSpec(
    name="precursors.gps_fixes",
    label=_("GPS fixes of shipments (vehicle-monitoring export)"),
    model=models.ShipmentFix,
    form_class=ShipmentFixRowForm,
    key_fields=("waybill", "time"),
    find_existing=lambda data: _fix_at(data.get("waybill", ""), data.get("time", ""), data.get("party", "")),
    duplicate_key=lambda data: (data.get("waybill", "").strip(), _party_key(data.get("party", "")),
                                _moment(data.get("time", ""))),
    save=lambda form, user: form.save(user),
    row_check=lambda form, user: _track_check(form, user),
    also_for=(models.Shipment,),
    columns=[
        Column("waybill", "运单号", example="WB2026102100012"),
        Column("time", "定位时间", example="2026-10-21 08:35:00"),
        Column("lon", "经度", example="120.6154"),
        Column("lat", "纬度", example="31.3097"),
        Column("party", "托运单位标识或统一社会信用代码", help="仅当多个托运单位使用同一运单号时填写"),
    ],
))


def _track_named(waybill: str, consignor: str):
    """The recorded track of this waybill and consignor (the shipment sheet's key), if any."""
    from django import forms as dj_forms

    from .forms import party_from_text

    try:
        party = party_from_text(consignor)
    except dj_forms.ValidationError:
        return None          # the row's own validation names the consignor
    return models.Shipment.objects.filter(waybill=waybill.strip(), party=party).first()


def _party_key(text: str):
    """A consignor cell as one key, however it is spelled (identifier or credit code)."""
    from .forms import PartyTextField

    return PartyTextField._pk(text)


def _moment(text: str):
    """A time cell as a datetime (the text itself when it is not one: the row's validation names it)."""
    from django import forms as dj_forms

    try:
        return dj_forms.DateTimeField().clean(text)
    except dj_forms.ValidationError:
        return text


def _fix_at(waybill: str, time: str, consignor: str = ""):
    """The fix already recorded at this time on the one track this row can mean, if any (a row naming a waybill
    several consignors share, without the consignor, is decided by ``_track_check``)."""
    from django import forms as dj_forms

    from .forms import tracks_of

    moment = _moment(time)
    try:
        tracks = tracks_of(waybill, consignor)
    except dj_forms.ValidationError:
        return None          # the row's own validation names the track
    if isinstance(moment, str) or len(tracks) != 1:
        return None          # …or the bad time
    return models.ShipmentFix.objects.filter(shipment=tracks[0], time=moment).first()


def _reporting_party_check(form, user) -> dict:
    """A 台账 row reports for the user's own party (an enterprise) or a party in the office's capture scope."""
    from django.utils.translation import gettext

    from .reporting import reporting_parties

    if not reporting_parties(user).filter(pk=form.cleaned_data["party"].pk).exists():
        return {"party": gettext("You may not report for this party.")}
    return {}


def _track_check(form, user) -> dict:
    """A fix joins the one track of its waybill the user may add to (as consignor, carrier, or an office in its
    area): another party's track under the same waybill neither takes the fix nor makes the row ambiguous."""
    from django.utils.translation import gettext

    mine = list(models.Shipment.objects.restrict(user, "change").filter(pk__in=[t.pk for t in form.tracks]))
    if not mine:
        return {"waybill": gettext("This shipment track is outside your scope.")}
    if len(mine) > 1:
        return {"waybill": gettext("Tracks of several consignors have this waybill: name the consignor.")}
    form.cleaned_data["waybill"] = mine[0]
    return {}


def _shipment_check(form, user) -> dict:
    """A new track's consignor is in the user's scope (its own party, or one in the office's area); a recorded one
    changes only as ``services.shipment_change_errors`` allows (its carrier the arrival; an enterprise not the plan
    once the shipment has departed or fixes are recorded)."""
    from django.utils.translation import gettext

    from core.permissions import default_scope_q

    from .services import shipment_change_errors

    if form.instance.pk:
        return shipment_change_errors(form.instance, form.changed_data, user)
    q = default_scope_q(models.Party, user.scope_for("add"))
    if q is None or not models.Party.objects.filter(q, pk=form.cleaned_data["party"].pk).exists():
        return {"party": gettext("You may not record shipments for this party.")}
    return {}
