"""Business actions of the precursor pillar (every write goes through here and is audited)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.permissions import ensure_in_scope, has_perm

from .choices import AlertOutcome, AlertStatus, InspectionStatus
from .models import Alert, Inspection, Party, StockCheck

# --- alerts -----------------------------------------------------------------------------------------------------

def update_alert(alert: Alert, user, *, status: str, outcome: str = "", assignee=None, note: str = "") -> Alert:
    """Assign, investigate or close an alert. Closing needs an outcome (false positive, rectified, case opened)."""
    if not has_perm(user, "precursors.alert", "change"):
        raise PermissionDenied(_("You may not handle diversion alerts."))
    if status == AlertStatus.CLOSED and outcome not in AlertOutcome.values:
        raise ValidationError({"outcome": _("Closing an alert needs an outcome.")})
    if status != AlertStatus.CLOSED and outcome:
        raise ValidationError({"outcome": _("An outcome is given only when the alert is closed.")})
    if status == AlertStatus.ASSIGNED and assignee is None and alert.assignee_id is None:
        raise ValidationError({"assignee": _("Choose whom to assign the alert to.")})
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        ensure_in_scope(alert, user, "change")
        alert.status, alert.outcome = status, outcome if status == AlertStatus.CLOSED else ""
        if assignee is not None:
            alert.assignee = assignee
        if note:
            stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
            alert.note = (alert.note + "\n" if alert.note else "") + f"[{stamp} {user.username}] {note}"
        alert.save(audit_message=f"alert {status}" + (f" ({outcome})" if outcome else ""))
    return alert


def alert_assignees(user):
    """Whom an alert may be assigned to: active users in the assigner's scope who may handle alerts."""
    from users.models import User

    scope = user.scope_for("change")
    users = User.objects.filter(is_active=True).select_related("role")
    if not scope.is_global:
        users = users.filter(area_code__startswith=scope.area_prefix) if scope.area_prefix else \
            users.filter(org_id=scope.org_id)
    return User.objects.filter(pk__in=[u.pk for u in users if u.has_resource_perm("precursors.alert", "change")])


# --- inspections ------------------------------------------------------------------------------------------------

CHECKLIST = [
    ("licence", _("Licences and filings valid and displayed")),
    ("ledger", _("Ledger (台账) complete and matches documents")),
    ("storage", _("Dedicated store or cabinet, two persons two locks")),
    ("cctv", _("CCTV and alarm working")),
    ("responsible", _("Responsible person appointed and trained")),
    ("system", _("Internal management system in place")),
    ("labels", _("Packaging and labels show names and composition")),
    ("sales_filing", _("Sales filed with the police in time")),
]
CHECK_VALUES = ("ok", "bad", "na")


def plan_inspections(year: int, user, *, area_prefix: str = "", spread_months: int = 11) -> int:
    """Plan one on-site inspection in ``year`` for every active registered party in the user's scope that has
    none planned or done (R26: reach every registered party in the year); spread over the months."""
    parties = Party.objects.restrict(user, "view").filter(is_active=True)
    if area_prefix:
        parties = parties.filter(area_code__startswith=area_prefix)
    covered = set(Inspection.objects.filter(party__in=parties)
                  .filter(planned_on__year=year).values_list("party_id", flat=True))
    covered |= set(Inspection.objects.filter(party__in=parties, done_at__year=year).values_list("party_id",
                                                                                                  flat=True))
    todo = [p for p in parties.order_by("risk_grade", "area_code", "pk") if p.pk not in covered]
    with transaction.atomic():
        for i, party in enumerate(todo):
            month = 1 + (i % spread_months)
            insp = Inspection(party=party, planned_on=dt.date(year, month, 15), status=InspectionStatus.PLANNED)
            insp.save(audit_message=f"planned for {year}")
            ensure_in_scope(insp, user, "add")
    return len(todo)


def record_inspection(inspection: Inspection, user, *, inspectors: str, checklist: dict, findings: str = "",
                      counts: list[tuple[str, float, float]] = (), rectify_by: dt.date | None = None,
                      done_at: dt.datetime | None = None, on_site: bool = True) -> Inspection:
    """Record an inspection as done: two inspectors, the checklist, stock counted against the book (R22), findings
    and, when something is wrong, a rectification deadline."""
    names = [n.strip() for n in inspectors.replace("，", ",").split(",") if n.strip()]
    errors = {}
    if len(names) < 2:
        errors["inspectors"] = _("An on-site inspection needs at least two inspectors.")
    bad_items = [k for k, v in checklist.items() if v not in CHECK_VALUES]
    if bad_items:
        errors["checklist"] = _("Unknown answer for: %(items)s") % {"items": ", ".join(bad_items)}
    failed = [k for k, v in checklist.items() if v == "bad"]
    if failed and rectify_by is None:
        errors["rectify_by"] = _("Items failed: set a rectification deadline.")
    for code, counted, book in counts:
        if counted < 0 or book < 0:
            errors["counts"] = _("Counted and book stock cannot be negative (%(code)s).") % {"code": code}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        insp = Inspection.objects.select_for_update().get(pk=inspection.pk)
        ensure_in_scope(insp, user, "change")
        insp.inspectors, insp.checklist, insp.findings = ", ".join(names), checklist, findings
        insp.done_at = done_at or timezone.now()
        insp.on_site = on_site
        insp.rectify_by = rectify_by
        insp.status = InspectionStatus.RECTIFYING if failed else InspectionStatus.DONE
        insp.save(audit_message="inspection recorded")
        for code, counted, book in counts:
            StockCheck(inspection=insp, substance_id=code, counted_kg=counted, book_kg=book).save(
                audit_message="stock counted")
    return insp


def recheck_inspection(inspection: Inspection, user, *, passed: bool, on: dt.date | None = None,
                       note: str = "") -> Inspection:
    with transaction.atomic():
        insp = Inspection.objects.select_for_update().get(pk=inspection.pk)
        ensure_in_scope(insp, user, "change")
        if insp.status != InspectionStatus.RECTIFYING:
            raise ValidationError({"status": _("Only an inspection with a rectification order is re-checked.")})
        insp.rechecked_on = on or timezone.localdate()
        insp.recheck_passed = passed
        insp.status = InspectionStatus.RECHECKED if passed else InspectionStatus.RECTIFYING
        if note:
            insp.findings += f"\n[{insp.rechecked_on}] {note}"
        insp.save(audit_message="re-check " + ("passed" if passed else "failed"))
    return insp


def inspection_coverage(user, year: int, *, area_prefix: str = ""):
    """R26 現场检查率 for a year, per district, over the parties the user may see (a CoverageReport)."""
    from .algorithms.rules import facts as F
    from .algorithms.rules.operations import inspection_coverage as coverage

    parties = Party.objects.restrict(user, "view").filter(is_active=True)
    if area_prefix:
        parties = parties.filter(area_code__startswith=area_prefix)
    fparties = [F.Party(id=p.identifier, name=p.name, kinds=frozenset(p.kinds or ()), area_code=p.area_code[:6],
                        active=True, country=p.country,
                        registered_on=p.registered_on) for p in parties]
    ident = {p.pk: p.identifier for p in parties}
    insps = [F.Inspection(str(i.pk), ident[i.party_id], i.done_at, True, i.on_site)
             for i in Inspection.objects.filter(party__in=parties, done_at__year=year)]
    return coverage(fparties, insps, dt.date(year, 1, 1), dt.date(year, 12, 31))


# --- illegal-cultivation patrols --------------------------------------------------------------------------------

def add_flight(area, user, *, kind: str, flown_on, pilot: str, altitude_m: float, hfov_deg: float,
               vfov_deg: float | None, track: dict):
    """Record a drone flight (or foot patrol), compute its footprint from altitude and field of view, and refresh
    the area's covered fraction (area ∩ ⋃ footprints / area, in a metric projection)."""
    from .algorithms import patrol
    from .models import SurveyFlight

    width, _height = patrol.footprint_from_fov(altitude_m, hfov_deg, vfov_deg or hfov_deg)
    fixes = [patrol.Fix(*pt[:2]) for pt in track["coordinates"]]
    footprint = patrol.flight_footprint(fixes, width)
    with transaction.atomic():
        flight = SurveyFlight(area=area, kind=kind, flown_on=flown_on, pilot=pilot, altitude_m=altitude_m,
                              hfov_deg=hfov_deg, vfov_deg=vfov_deg, track=track, swath_m=round(width, 2),
                              footprint=patrol.to_geojson(footprint))
        flight.save(audit_message="flight recorded")
        ensure_in_scope(flight, user, "add")
        refresh_coverage(area)
    return flight


def refresh_coverage(area):
    from .algorithms import patrol

    polygon = patrol.polygon_from_geojson(area.polygon)
    footprints = [patrol.polygon_from_geojson(f.footprint) for f in area.flights.all() if f.footprint
                  and f.footprint.get("coordinates")]
    result = patrol.coverage(polygon, footprints)
    area.area_m2, area.covered_fraction = result.aoi_area_m2, result.covered_fraction
    area.save(audit_message="coverage recomputed")
    return result


# --- equipment --------------------------------------------------------------------------------------------------

def transfer_equipment(equipment, user, *, date, to_party=None, to_name: str = "", note: str = ""):
    """Record a change of owner (sale, gift, scrapping to a recycler): the transfer history keeps who had it when;
    the equipment's owner becomes the new party (R28 judges transfers to individuals or unregistered parties)."""
    from .models import Equipment, EquipmentTransfer

    if to_party is None and not to_name.strip():
        raise ValidationError({"to_party": _("Name the new owner (a registered party or a name).")})
    with transaction.atomic():
        eq = Equipment.objects.select_for_update().get(pk=equipment.pk)
        ensure_in_scope(eq, user, "change")          # the user may change it now…
        EquipmentTransfer(equipment=eq, date=date, from_party=eq.owner, to_party=to_party, to_name=to_name.strip(),
                          note=note).save(audit_message="equipment transferred")
        eq.owner = to_party
        if to_party is not None:
            eq.area_code = to_party.area_code
            eq.site = None
        eq.save(audit_message="owner changed by transfer")
        if to_party is not None and not Party.objects.restrict(user, "view").filter(pk=to_party.pk).exists():
            raise PermissionDenied(_("The new owner is outside your scope."))   # …and sees where it goes
    return eq


# --- shipment tracks (R29) --------------------------------------------------------------------------------------

ROUTE_MESSAGES = {
    "not_number": gettext_lazy("longitude and latitude must be numbers"),
    "lon_range": gettext_lazy("longitude %(value)s is outside −180…180"),
    "lat_range": gettext_lazy("latitude %(value)s is outside −90…90 (longitude and latitude swapped?)"),
    "pair": gettext_lazy("give longitude and latitude"),
    "json": gettext_lazy("not valid JSON"),
    "geojson": gettext_lazy("a GeoJSON route must be a LineString"),
    "shape": gettext_lazy('give the route as [[lon, lat], …], a GeoJSON LineString or "lon,lat; lon,lat"'),
    "too_short": gettext_lazy("a route needs at least its origin and its destination"),
}


def route_error_text(exc) -> str:
    """A ``gps.RouteError`` in the user's language, naming the point it is about."""
    text = str(ROUTE_MESSAGES[exc.code]) % {"value": f"{exc.value:g}" if exc.value is not None else ""}
    return _("point %(n)d: %(error)s") % {"n": exc.point, "error": text} if exc.point else text


def planned_route_from(value) -> list[list[float]]:
    """A planned route as the model stores it, from what the page, the sheet or the API sent; ValidationError (in
    the user's language, naming the point) when it cannot be read."""
    from .algorithms.gps import RouteError, parse_route, route_as_json

    try:
        return route_as_json(parse_route(value))
    except RouteError as exc:
        raise ValidationError(route_error_text(exc)) from None


#: what a carrier records on a track it carries; everything else is the consignor's (or the office's)
CARRIER_FIELDS = ("arrived_at", "arrival_kg", "note")
#: the plan a track is judged against: fixed once GPS fixes are recorded (it is evidence, like the fixes)
PLAN_FIELDS = ("planned_route", "departed_at", "eta", "departure_kg", "vehicle_plate", "permit_no")


def consignor_side(shipment, user) -> bool:
    """Whether the user reaches the track as its consignor or an office in its area (not only as its carrier)."""
    from core.permissions import default_scope_q

    from .models import Shipment

    q = default_scope_q(Shipment, user.scope_for("change"))
    return q is not None and Shipment.objects.filter(q, pk=shipment.pk).exists()


def shipment_change_errors(shipment, changed, user=None) -> dict[str, str]:
    """{field: why not} for changes to a recorded track: its waybill and consignor never change; its carrier records
    only the arrival and notes; for an enterprise the plan (route, departure, ETA, departure weight, vehicle, permit)
    is fixed once the shipment has departed or GPS fixes are recorded, so it cannot redraw the corridor around a
    detour or raise the departure weight afterwards. An office may still correct the plan (audited)."""
    if shipment is None or not shipment.pk:
        return {}
    changed, errors = set(changed), {}
    for name, message in (("waybill", _("The waybill of a recorded track does not change.")),
                          ("party", _("The consignor of a recorded track does not change."))):
        if name in changed:
            errors[name] = message
    if user is not None and not consignor_side(shipment, user):
        for name in sorted(changed - set(CARRIER_FIELDS) - set(errors)):
            errors[name] = _("As the carrier you record the arrival (time and weight) and notes only.")
    scope = user.scope_for("change") if user is not None else None
    office = scope is not None and (scope.is_global or bool(scope.area_prefix))
    if changed & set(PLAN_FIELDS) and not office and (
            shipment.fixes.exists() or (shipment.departed_at is not None and shipment.departed_at <= timezone.now())):
        for name in sorted(changed & set(PLAN_FIELDS)):
            errors.setdefault(name, _("The plan is fixed once the shipment has departed or GPS fixes are recorded."))
    return errors


def shipment_errors(shipment, values: dict, changed, user=None) -> dict[str, str]:
    """{field: why not} for saving a track with ``values`` (its fields as they would be saved; ``changed`` names
    those the save changes): what may change on a recorded track (``shipment_change_errors``) or whose waybill a new
    one names (``waybill_owner_errors``), then the values themselves — no ETA or arrival before the departure, no
    negative weight. The page, the sheet and the API all ask this."""
    if shipment is not None and shipment.pk:
        errors = shipment_change_errors(shipment, changed, user)
    else:
        errors = waybill_owner_errors(values.get("waybill") or "", values.get("party"))
    departed = values.get("departed_at")
    for name in ("eta", "arrived_at"):
        if departed and values.get(name) and values[name] < departed:
            errors.setdefault(name, _("Before the departure."))
    for name in ("departure_kg", "arrival_kg"):
        if values.get(name) is not None and values[name] < 0:
            errors.setdefault(name, _("Cannot be negative."))
    return errors


def waybill_owner_errors(waybill: str, party) -> dict[str, str]:
    """A track names a waybill its consignor shipped under: when shipping events already cite the waybill (as
    ``jindu:waybillNo`` or a ``bol``/``waybill`` bizTransaction), one of them must be the consignor's."""
    from .models import Event, EventRetraction
    from .rules_service import waybill_key

    if not waybill or party is None:
        return {}
    key = waybill_key(waybill)
    spellings = {waybill.strip(), key, f"urn:jindu:waybill:{key}"}
    owners = set(Event.objects.filter(biz_step="shipping", declared_error=False, epcs__epc__in=spellings,
                                      epcs__role="b")
                 .exclude(event_id__in=EventRetraction.objects.values("event_id"))
                 .values_list("party_id", flat=True))
    if owners and party.pk not in owners:
        return {"waybill": _("Shipping events cite this waybill for another consignor.")}
    return {}


def add_fixes(shipment, fixes, user) -> tuple[int, int]:
    """Append GPS fixes ``[(time, lon, lat), …]`` to a shipment's track; returns (added, already recorded).

    Idempotent by time: a fix already recorded at the same time and place is skipped, so the vehicle-monitoring
    platform's export can be loaded again. A fix at a recorded time but elsewhere is refused (fixes are evidence
    and append-only), and so is any batch with one unreadable fix: nothing is written. One change-log row per batch
    carries the SM3 of the fixes it added."""
    from core.audit import log_created_digest

    from .algorithms.gps import RouteError, check_point
    from .models import Shipment, ShipmentFix

    rows, errors = {}, []
    for i, fix in enumerate(fixes, start=1):
        try:
            time, lon, lat = fix
            if not isinstance(time, dt.datetime):
                raise TypeError
            if timezone.is_naive(time):
                time = timezone.make_aware(time)
            lon, lat = check_point(lon, lat, i)
        except RouteError as exc:
            errors.append(route_error_text(exc))
            continue
        except (TypeError, ValueError):
            errors.append(_("fix %(n)d: give time, longitude and latitude") % {"n": i})
            continue
        if time in rows and rows[time] != (lon, lat):
            errors.append(_("fix %(n)d: another position for the same time in this batch") % {"n": i})
        rows[time] = (lon, lat)
    if errors:
        raise ValidationError({"fixes": errors})
    with transaction.atomic():
        sh = Shipment.objects.select_for_update().get(pk=shipment.pk)
        ensure_in_scope(sh, user, "change")
        known = {}
        times = list(rows)
        for k in range(0, len(times), 500):
            known.update({t: (x, y) for t, x, y in ShipmentFix.objects.filter(shipment=sh, time__in=times[k:k + 500])
                         .values_list("time", "lon", "lat")})
        clash = sorted(t for t in rows if t in known and known[t] != rows[t])
        if clash:
            raise ValidationError({"fixes": [_("%(time)s: a different position is already recorded for this time")
                                             % {"time": timezone.localtime(t).strftime("%Y-%m-%d %H:%M:%S")}
                                             for t in clash[:20]]})
        new = [ShipmentFix(shipment=sh, time=t, lon=x, lat=y) for t, (x, y) in sorted(rows.items()) if t not in known]
        made = ShipmentFix.objects.bulk_create(new, batch_size=1000)
        if made and not all(f.pk for f in made):
            made = list(ShipmentFix.objects.filter(shipment=sh, time__in=[f.time for f in new]))
        log_created_digest(made, ("shipment_id", "time", "lon", "lat"),
                           message=f"GPS fixes for waybill {sh.waybill}: {len(made)} added")
    return len(made), len(rows) - len(new)
