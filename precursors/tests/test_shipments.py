"""R29's data door (issue 3 item 6): shipment tracks (planned route, departure, arrival, weights) and their GPS
fixes through the API, the Excel sheets and the web pages, tied to the shipping event by its waybill, audited,
append-only, scoped — and the nightly rule run judging them."""

import datetime as dt
import io
import itertools
import json

import openpyxl
import pytest
from django.db import DatabaseError, transaction
from django.test import Client

from conftest import login_client, make_user, token_client
from core.models import ChangeLog
from precursors.algorithms.gps import RouteError, parse_route, route_as_text
from precursors.models import Alert, Shipment, ShipmentFix
from precursors.rules_service import run_rules, waybill_key
from precursors.tests import test_pillar
from precursors.tests.test_pillar import PRODUCER, TRADER, chain, post

world = test_pillar.world          # the pillar tests' registry (producer → trader → user), as a fixture here

CST = dt.timezone(dt.timedelta(hours=8))
ROUTE = [[120.62, 31.31], [120.30, 31.57], [119.97, 31.77]]      # 苏州 → 无锡 → 常州
DEPART = dt.datetime(2026, 3, 2, 8, 20, tzinfo=CST)              # the W1 shipping event is at 08:00
AS_OF = dt.datetime(2026, 3, 3, 12, 0, tzinfo=CST)


def along(route, start=DEPART, steps=5):
    """Fixes every five minutes along the route (each leg in ``steps`` moves, several km apart: no stop)."""
    out, t = [], start
    for (x0, y0), (x1, y1) in itertools.pairwise(route):
        for k in range(steps):
            out.append((t, x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps))
            t += dt.timedelta(minutes=5)
    out.append((t, *route[-1]))
    return out


def as_json(fixes):
    return {"fixes": [{"time": t.isoformat(), "lon": x, "lat": y} for t, x, y in fixes]}


def track(client, waybill="W1", party=PRODUCER, **extra):
    body = {"waybill": waybill, "party": party, "planned_route": ROUTE, "departed_at": DEPART.isoformat(),
            "eta": (DEPART + dt.timedelta(hours=3)).isoformat(),
            "arrived_at": (DEPART + dt.timedelta(hours=2)).isoformat(), "departure_kg": 790, "arrival_kg": 790,
            **extra}
    return client.post("/api/precursors/shipments/", body, format="json")


# --- reading routes -----------------------------------------------------------------------------------------------

def test_routes_are_read_from_text_json_and_geojson_and_errors_name_the_point():
    assert parse_route("120.62,31.31; 120.30,31.57") == [(120.62, 31.31), (120.30, 31.57)]
    assert parse_route("120.62，31.31；120.30，31.57") == [(120.62, 31.31), (120.30, 31.57)]   # typed in Chinese
    assert parse_route([[120.62, 31.31], [120.3, 31.57]]) == parse_route(
        '{"type": "LineString", "coordinates": [[120.62, 31.31], [120.3, 31.57]]}')
    assert parse_route(route_as_text(ROUTE)) == [tuple(p) for p in ROUTE]
    with pytest.raises(RouteError) as exc:
        parse_route("120.62,31.31; 31.57,120.30")               # the second point swapped
    assert exc.value.code == "lat_range" and exc.value.point == 2
    for bad, code in (("120.62,31.31", "too_short"), ("120.62,x; 1,2", "not_number"), ("[1,", "json"),
                      ({"type": "Point", "coordinates": [1, 2]}, "geojson"), ("181,1; 1,1", "lon_range"),
                      ([[1, 2], [3]], "pair"), (42, "shape")):
        with pytest.raises(RouteError) as exc:
            parse_route(bad)
        assert exc.value.code == code, bad
    assert waybill_key("urn:jindu:waybill:W1") == waybill_key(" W1 ") == "W1"


# --- the API door and the rule run ---------------------------------------------------------------------------------

def test_api_track_is_tied_to_its_shipping_event_and_judged_by_r29(world):
    post(token_client(world["city"]), chain())           # W1 producer → trader, W2 trader → user
    ent = token_client(world["ent"])                      # the producer's enterprise
    r = track(ent)
    assert r.status_code == 201, r.json()
    shipment = Shipment.objects.get(waybill="W1")
    assert shipment.area_code == world["producer"].area_code and shipment.party == world["producer"]
    # nobody takes another consignor's waybill: W2's shipping event is the trader's
    r = track(ent, "W2", PRODUCER)
    assert r.status_code == 400 and list(r.json()) == ["waybill"] and not Shipment.objects.filter(waybill="W2")
    r = ent.post(f"/api/precursors/shipments/{shipment.pk}/fixes/", as_json(along(ROUTE)), format="json")
    assert r.status_code == 201 and r.json() == {"waybill": "W1", "added": 11, "already_recorded": 0}
    # a clean trip: on the corridor, on time, the same weight
    run_rules(["R29"], as_of=AS_OF)
    assert not Alert.objects.filter(rule_id="R29").exists()
    # the arrival weighed 5 % less: a severe anomaly, raised against the consignor with the shipping event
    r = ent.patch(f"/api/precursors/shipments/{shipment.pk}/", {"arrival_kg": 750.5}, format="json")
    assert r.status_code == 200, r.json()
    run_rules(["R29"], as_of=AS_OF)
    alert = Alert.objects.get(rule_id="R29")
    assert (alert.party_identifier, alert.severity, alert.dedup_key) == (PRODUCER, "H", f"R29:{shipment.rule_key()}")
    assert "urn:uuid:10000000-0000-4000-8000-000000000003" in alert.evidence
    assert "790.000kg" in alert.message and alert.details["drop_kg"] == pytest.approx(39.5)
    # an office records the trader's W2 trip, which leaves the corridor by ~10 km: one anomaly → M
    city = token_client(world["city"])
    assert track(city, "W2", TRADER).status_code == 201
    off = [(t, x, y + (0.09 if 4 <= i <= 6 else 0)) for i, (t, x, y) in enumerate(along(ROUTE))]
    w2 = Shipment.objects.get(waybill="W2")
    assert city.post(f"/api/precursors/shipments/{w2.pk}/fixes/", as_json(off), format="json").status_code == 201
    run_rules(["R29"], as_of=AS_OF)
    alert = Alert.objects.get(dedup_key=f"R29:{w2.rule_key()}")
    assert (alert.party_identifier, alert.severity) == (TRADER, "M")
    assert alert.details["max_deviation_km"] > 5
    # the consignor may not file a track for another party…
    r = track(ent, "W3", TRADER)
    assert r.status_code == 400 and "party" in r.json()


def test_fixes_are_idempotent_all_or_nothing_audited_and_append_only(world):
    city = token_client(world["city"])
    assert track(city).status_code == 201
    shipment = Shipment.objects.get(waybill="W1")
    url = f"/api/precursors/shipments/{shipment.pk}/fixes/"
    fixes = along(ROUTE)
    logged = ChangeLog.objects.filter(object_type="precursors.shipmentfix").count()
    assert city.post(url, as_json(fixes[:6]), format="json").json()["added"] == 6
    row = ChangeLog.objects.filter(object_type="precursors.shipmentfix").latest("pk")
    assert row.after["count"] == 6 and ChangeLog.objects.filter(
        object_type="precursors.shipmentfix").count() == logged + 1
    # sent again with the rest: only the new ones are added
    r = city.post(url, as_json(fixes), format="json")
    assert r.status_code == 201 and r.json()["added"] == len(fixes) - 6 and r.json()["already_recorded"] == 6
    assert city.post(url, as_json(fixes), format="json").json() == {"waybill": "W1", "added": 0,
                                                                   "already_recorded": len(fixes)}
    # a known time at another place, or one unreadable fix, refuses the whole batch
    later = fixes[-1][0] + dt.timedelta(minutes=5)
    moved = [(later, 119.9, 31.8), (fixes[0][0], fixes[0][1] + 0.01, fixes[0][2])]
    r = city.post(url, as_json(moved), format="json")          # Chinese unless the caller chose English
    assert r.status_code == 400
    assert r.json()["fixes"] == ["2026-03-02 08:20:00：该时间已记录了不同的位置"]
    swapped = [(later, 119.9, 31.8), (later + dt.timedelta(minutes=5), 31.8, 119.9)]
    r = city.post(url, as_json(swapped), format="json")
    assert r.status_code == 400
    assert r.json()["fixes"] == ["第2个点：纬度 119.9 超出 −90…90（经纬度是否填反？）"]
    assert ShipmentFix.objects.filter(shipment=shipment).count() == len(fixes)
    # the fixes read back in time order
    got = city.get(url).json()["fixes"]
    assert [f["lon"] for f in got] == [x for _t, x, _y in fixes]
    # the table refuses edits and deletes, whatever writes them
    for statement in ("UPDATE precursors_shipmentfix SET lon = 0", "DELETE FROM precursors_shipmentfix"):
        with pytest.raises(DatabaseError), transaction.atomic():
            from django.db import connection

            with connection.cursor() as cursor:
                cursor.execute(statement)


def test_enterprises_see_and_write_only_their_own_tracks(world, orgs):
    city = token_client(world["city"])
    assert track(city).status_code == 201
    shipment = Shipment.objects.get(waybill="W1")
    other_user = make_user("pc_ent2", "enterprise", org=orgs["enterprise2"])
    other = token_client(other_user)
    assert other.get("/api/precursors/shipments/").json()["results"] == []
    assert other.get(f"/api/precursors/shipments/{shipment.pk}/fixes/").status_code == 404
    r = other.post(f"/api/precursors/shipments/{shipment.pk}/fixes/", as_json(along(ROUTE)), format="json")
    assert r.status_code == 404 and not ShipmentFix.objects.exists()
    mine = token_client(world["ent"])
    assert [s["waybill"] for s in mine.get("/api/precursors/shipments/", {"waybill": "W1"}).json()["results"]] \
        == ["W1"]
    # named as the carrier, the other enterprise (the trader's) reads the track and adds its vehicle's fixes…
    assert city.patch(f"/api/precursors/shipments/{shipment.pk}/", {"carrier": TRADER},
                      format="json").status_code == 200
    assert [s["waybill"] for s in other.get("/api/precursors/shipments/").json()["results"]] == ["W1"]
    r = other.post(f"/api/precursors/shipments/{shipment.pk}/fixes/", as_json(along(ROUTE)), format="json")
    assert r.status_code == 201 and r.json()["added"] == 11
    # the carrier may send back the whole track it read, changing only the arrival
    body = {k: v for k, v in other.get(f"/api/precursors/shipments/{shipment.pk}/").json().items()
            if k not in ("id", "url", "area_code", "n_fixes")}
    r = other.patch(f"/api/precursors/shipments/{shipment.pk}/", {**body, "arrival_kg": 791}, format="json")
    assert r.status_code == 200, r.json()
    # the consignor's enterprise cannot redraw the plan of a departed shipment; the office may correct it
    r = mine.patch(f"/api/precursors/shipments/{shipment.pk}/", {"planned_route": ROUTE[:2], "departure_kg": 700},
                   format="json")
    assert r.status_code == 400 and set(r.json()) == {"planned_route", "departure_kg"}
    r = city.patch(f"/api/precursors/shipments/{shipment.pk}/", {"departure_kg": 795}, format="json")
    assert r.status_code == 200 and r.json()["departure_kg"] == 795
    # …but the consignor stays the consignor, and a carrier files no new track for another consignor
    r = other.patch(f"/api/precursors/shipments/{shipment.pk}/", {"party": TRADER}, format="json")
    assert r.status_code == 400 and "party" in r.json()
    assert track(other, "W7", PRODUCER).status_code == 400
    # the carrier records the arrival on the page (the form has no consignor field for a recorded track)
    web = login_client(Client(), other_user)
    page = web.get(f"/precursors/shipments/{shipment.pk}/edit/")
    assert page.status_code == 200 and "party" not in page.context["form"].fields
    as_shown = {"waybill": "W1", "carrier": TRADER, "planned_route": route_as_text(ROUTE),
                "departed_at": "2026-03-02T08:20", "eta": "2026-03-02T11:20", "departure_kg": "795",
                "vehicle_plate": "", "permit_no": "", "note": ""}
    r = web.post(f"/precursors/shipments/{shipment.pk}/edit/", {**as_shown, "arrived_at": "2026-03-02T10:25",
                                                                "arrival_kg": "789"})
    assert r.status_code == 302, r.context["form"].errors
    shipment.refresh_from_db()
    assert (shipment.party, shipment.arrival_kg) == (world["producer"], 789.0)
    # …and nothing of the plan: not the ETA, not the departure weight, not the route
    r = web.post(f"/precursors/shipments/{shipment.pk}/edit/", {**as_shown, "eta": "2026-03-02T15:00",
                                                                "departure_kg": "700"})
    assert r.status_code == 400 and set(r.context["form"].errors) == {"eta", "departure_kg"}
    r = other.patch(f"/api/precursors/shipments/{shipment.pk}/", {"planned_route": ROUTE[:2], "waybill": "W1x"},
                    format="json")
    assert r.status_code == 400 and set(r.json()) == {"planned_route", "waybill"}


# --- the Excel door ------------------------------------------------------------------------------------------------

def _workbook(spec, rows) -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append([c.header for c in spec.columns])
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_excel_sheets_load_shipments_then_fixes_with_row_errors_and_idempotent_reloads(world, orgs):
    from core.imports import commit, registry, start_import
    from core.models import ImportBatch

    ent = world["ent"]
    shipments = registry.get("precursors.shipments")
    row = ["W1", PRODUCER, TRADER, "苏E·A1234", "TRANS-1", "120.62,31.31; 120.30,31.57; 119.97,31.77",
           "2026-03-02 08:20", "2026-03-02 11:20", "2026-03-02 10:20", 790, 790, ""]
    batch = start_import(shipments, ent, "运输.xlsx", _workbook(shipments, [row]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READY, batch.errors
    commit(batch, ent)
    shipment = Shipment.objects.get(waybill="W1")
    assert shipment.planned_route == ROUTE and shipment.carrier == world["trader"]
    assert shipment.departed_at == DEPART
    # a row with the route's latitude and longitude swapped and an arrival before departure: named by column
    bad = ["W9", PRODUCER, "", "", "", "31.31,120.62; 31.57,120.30", "2026-03-02 08:20", "", "2026-03-02 07:00",
           "", "", ""]
    batch = start_import(shipments, ent, "bad.xlsx", _workbook(shipments, [bad]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.INVALID
    errors = {(e["row"], e["column"]) for e in batch.errors}
    assert {(2, "规划路线(经度,纬度;…)"), (2, "到达时间")} <= errors
    assert not Shipment.objects.filter(waybill="W9").exists()
    # the sheet names the row whose consignor is not the clerk's
    batch = start_import(shipments, ent, "他人.xlsx", _workbook(shipments, [["W8", TRADER] + row[2:]]))
    batch.refresh_from_db()
    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, "托运单位标识或统一社会信用代码")]

    gps = registry.get("precursors.gps_fixes")
    rows = [["W1", t.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S"), x, y] for t, x, y in along(ROUTE)]
    batch = start_import(gps, ent, "轨迹.xlsx", _workbook(gps, rows))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READY, batch.errors
    commit(batch, ent)
    batch.refresh_from_db()
    assert batch.rows_created == len(rows) == ShipmentFix.objects.filter(shipment=shipment).count()
    # the platform's next export repeats the last hour: known fixes are "unchanged", a moved one is refused
    again = rows[-3:] + [["W1", "2026-03-02 12:00:00", 119.96, 31.78]]
    batch = start_import(gps, ent, "轨迹2.xlsx", _workbook(gps, again))
    batch.refresh_from_db()
    assert (batch.status, batch.rows_created, batch.rows_unchanged) == (ImportBatch.Status.READY, 1, 3), batch.errors
    commit(batch, ent)
    moved = [rows[0][:2] + [120.0, 31.0], ["W404", "2026-03-02 12:05:00", 119.9, 31.8],
             ["W1", "2026-03-02 12:10:00", 119.9, 95]]
    batch = start_import(gps, ent, "轨迹3.xlsx", _workbook(gps, moved))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.INVALID
    assert {(e["row"], e["column"]) for e in batch.errors} == {(2, "经度"), (3, "运单号"), (4, "纬度")}
    assert ShipmentFix.objects.filter(shipment=shipment).count() == len(rows) + 1
    # two consignors' tracks under one waybill: the producer's clerk sees only its own, so its rows need no
    # consignor; the office sees both, so its rows must name one — and two consignors' fixes at one time are two rows
    assert track(token_client(world["city"]), "W1", TRADER).status_code == 201
    later = [["W1", "2026-03-02 12:30:00", 119.9, 31.8]]
    batch = start_import(gps, ent, "轨迹5.xlsx", _workbook(gps, later))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READY, batch.errors
    commit(batch, ent)
    assert ShipmentFix.objects.filter(shipment=shipment).count() == len(rows) + 2
    city = world["city"]
    batch = start_import(gps, city, "轨迹6.xlsx", _workbook(gps, [["W1", "2026-03-02 12:40:00", 119.9, 31.8]]))
    batch.refresh_from_db()
    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, "运单号")]
    both = [["W1", "2026-03-02 12:40:00", 119.9, 31.8, PRODUCER], ["W1", "2026-03-02 12:40:00", 119.9, 31.8, TRADER],
            ["W1", "2026-03-02 12:40:00", 119.9, 31.8, PRODUCER]]
    batch = start_import(gps, city, "轨迹7.xlsx", _workbook(gps, both))
    batch.refresh_from_db()
    assert [(e["row"], e["column"]) for e in batch.errors] == [(4, "运单号")]          # row 4 repeats row 2
    batch = start_import(gps, city, "轨迹8.xlsx", _workbook(gps, both[:2]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READY, batch.errors
    commit(batch, city)
    assert ShipmentFix.objects.filter(time=dt.datetime(2026, 3, 2, 12, 40, tzinfo=CST)).count() == 2  # one a track
    # another enterprise's clerk loading this track's fixes is told so at the preview, row by row
    stranger = make_user("pc_ent3", "enterprise", org=orgs["nanjing"])      # neither consignor nor carrier
    batch = start_import(gps, stranger, "轨迹4.xlsx", _workbook(gps, [["W1", "2026-03-02 12:20:00", 119.9, 31.8,
                                                                    PRODUCER]]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.INVALID
    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, "运单号")]
    # …and a 台账 row for a party that is not the clerk's own, likewise
    ledger = registry.get("precursors.ledger")
    row = [TRADER, "count", "2026-04-30 18:00", "C3-02", 150, "", "", "", "", "", "", ""]
    batch = start_import(ledger, ent, "台账.xlsx", _workbook(ledger, [row]))
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.INVALID
    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, "单位标识或统一社会信用代码")]


# --- pages -----------------------------------------------------------------------------------------------------------

def test_track_pages_draw_the_route_and_the_fixes(world, monkeypatch):
    city = token_client(world["city"])
    track(city)
    shipment = Shipment.objects.get(waybill="W1")
    city.post(f"/api/precursors/shipments/{shipment.pk}/fixes/", as_json(along(ROUTE)), format="json")
    for user in (world["city"], world["ent"]):
        web = login_client(Client(), user)
        r = web.get("/precursors/shipments/")
        assert r.status_code == 200 and "W1" in r.content.decode()
        r = web.get(f"/precursors/shipments/{shipment.pk}/")
        assert r.status_code == 200
        data = json.loads(r.context["map"])
        assert data["route"] == ROUTE and len(data["fixes"]) == 11 and r.context["n_fixes"] == 11
        r = web.get(f"/precursors/parties/{world['producer'].pk}/")          # the enterprise's file lists it
        assert f'/precursors/shipments/{shipment.pk}/' in r.content.decode()
    # a long track: every n-th fix drawn (and the last), the latest fixes in the table
    from precursors.views import ShipmentDetailView

    monkeypatch.setattr(ShipmentDetailView, "MAP_POINTS", 4)
    monkeypatch.setattr(ShipmentDetailView, "TABLE_ROWS", 5)
    r = login_client(Client(), world["city"]).get(f"/precursors/shipments/{shipment.pk}/")
    drawn = json.loads(r.context["map"])["fixes"]
    assert [p[0] for p in drawn] == [x for i, (_t, x, _y) in enumerate(along(ROUTE)) if i % 3 == 0 or i == 10]
    (title, table), = r.context["related_tables"]
    assert len(table.rows) == 5 and "11" in str(title)
    # the consignor records the arrival on the page of a track with fixes, its departure stored to the second: the
    # page shows minutes, and re-saving it neither trips the frozen plan nor rounds the stored departure
    Shipment.objects.filter(pk=shipment.pk).update(departed_at=DEPART + dt.timedelta(seconds=37, microseconds=5))
    shipment.refresh_from_db()
    web = login_client(Client(), world["ent"])
    page = web.get(f"/precursors/shipments/{shipment.pk}/edit/")
    form = page.context["form"]
    posted = {name: form[name].value() for name in form.fields}
    posted = {k: ("" if v is None else v.strftime("%Y-%m-%dT%H:%M") if isinstance(v, dt.datetime) else v)
              for k, v in posted.items()}
    r = web.post(f"/precursors/shipments/{shipment.pk}/edit/", {**posted, "arrived_at": "2026-03-02T10:30",
                                                                "arrival_kg": "788"})
    assert r.status_code == 302, r.context["form"].errors
    shipment.refresh_from_db()
    assert shipment.arrival_kg == 788 and shipment.departed_at == DEPART + dt.timedelta(seconds=37, microseconds=5)
    # the web form reads the route as typed
    web = login_client(Client(), world["city"])
    r = web.post("/precursors/shipments/add/", {"waybill": "W5", "party": world["producer"].pk,
                                                "planned_route": "120.62,31.31；120.30,31.57",
                                                "departed_at": "2026-03-02T08:20"})
    assert r.status_code == 302, r.context["form"].errors
    assert Shipment.objects.get(waybill="W5").planned_route == [[120.62, 31.31], [120.3, 31.57]]


def test_a_track_is_never_tied_to_another_partys_sale(world):
    """Even a track that reached the table around the doors (or before the sale was captured) under another
    consignor's waybill is judged as the filer's: the alert names the filer, not the seller."""
    from core.context import acting_as

    post(token_client(world["city"]), chain())
    with acting_as(username="test"):
        bad = Shipment(waybill="W2", party=world["producer"], planned_route=ROUTE, departed_at=DEPART,
                       departure_kg=500, arrival_kg=400)
        bad.save()
    run_rules(["R29"], as_of=AS_OF)
    alert = Alert.objects.get(rule_id="R29")
    assert alert.party_identifier == PRODUCER
    assert "urn:uuid:10000000-0000-4000-8000-000000000005" not in alert.evidence      # W2's shipping event
