"""The precursor pillar end to end through its doors: capture-time rules answer in the capture response and raise
blocked alerts, the full rule run (command) fills the inbox, the alert API filters by rule and closes with an
outcome, the trace API follows aggregation + transformation + split shipments, the three reporting doors make the
same event, and the pages render for the roles that use them."""

import datetime as dt
import io
import json

import openpyxl
import pytest
from django.core.management import call_command
from django.test import Client

from conftest import login_client, make_user, token_client
from core.context import acting_as
from precursors import tracing
from precursors.algorithms.transactions import JINDU_NAMESPACE
from precursors.models import Alert, Authorization, Event, Inspection, Party, ProductMapping, Site, SurveyArea

PRODUCER, TRADER, USER = (f"urn:epc:id:pgln:6901234.0000{i}" for i in (1, 2, 3))
S_PROD, S_TRADE, S_USER = (f"urn:epc:id:sgln:6901234.0000{i}.0" for i in (1, 2, 3))
LOT = "urn:epc:class:lgtin:6901234.0302.L1"          # acetone, litres
DRUMS = [f"urn:epc:id:sscc:6901234.000000000{i}" for i in range(1, 5)]
PRODUCT = "urn:epc:class:lgtin:6901234.0999.P1"


@pytest.fixture
def world(orgs):
    tracing.reset()
    with acting_as(username="test"):
        producer = Party(identifier=PRODUCER, name="苏州丙酮厂", area_code="320508001", kinds=["producer"],
                         org=orgs["enterprise"])
        trader = Party(identifier=TRADER, name="姑苏化工贸易", area_code="320508002", kinds=["trader"],
                       org=orgs["enterprise2"])
        user = Party(identifier=USER, name="虎丘涂料厂", area_code="320505001", kinds=["user"])
        for p in (producer, trader, user):
            p.save()
        for party, sgln in ((producer, S_PROD), (trader, S_TRADE), (user, S_USER)):
            Site(party=party, identifier=sgln, name="仓库", area_code=party.area_code).save()
        ProductMapping(prefix="urn:epc:class:lgtin:6901234.0302.", substance_id="C3-02", density_kg_l=0.79).save()
        for number, typ, holder, extra in (
                ("PF-2026-001", "prod_filing", producer, {}),
                ("TF-2026-001", "trade_filing", producer, {}),
                ("TF-2026-002", "trade_filing", trader, {}),
                ("PUR-2026-001", "purchase_filing", trader, {"counterparty": producer}),
        ):
            Authorization(number=number, type=typ, holder=holder, substances={"C3-02": 100000},
                          valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2028, 12, 31), **extra).save()
    city = make_user("pc_city", "city_office", area="320500")
    ent = make_user("pc_ent", "enterprise", org=orgs["enterprise"])
    return {"city": city, "ent": ent, "producer": producer, "trader": trader, "user": user}


def ev(kind, t, **kw):
    base = {"type": "ObjectEvent", "eventTime": f"2026-{t}:00+08:00", "eventTimeZoneOffset": "+08:00"}
    base.update(kind)
    base.update(kw)
    return base


def doc(*events):
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"jindu": JINDU_NAMESPACE}], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-05-01T00:00:00+08:00", "epcisBody": {"eventList": list(events)}}


def owning(src, dst):
    return {"sourceList": [{"type": "owning_party", "source": src}],
            "destinationList": [{"type": "owning_party", "destination": dst}]}


def chain():
    """Produce 1,000 L acetone, fill four drums, ship all four to the trader (waybill W1), who ships two drums to
    the user (W2) and keeps two; the user consumes one drum's acetone in a transformation."""
    drum_l = 250
    return doc(
        ev({"action": "ADD", "bizStep": "commissioning", "disposition": "active",
            "quantityList": [{"epcClass": LOT, "quantity": 1000, "uom": "LTR"}], "bizLocation": {"id": S_PROD}},
           "03-01T08:00", eventID="urn:uuid:10000000-0000-4000-8000-000000000001"),
        {"type": "AggregationEvent", "eventTime": "2026-03-01T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
         "eventID": "urn:uuid:10000000-0000-4000-8000-000000000002", "action": "ADD", "bizStep": "packing",
         "parentID": DRUMS[0], "childQuantityList": [{"epcClass": LOT, "quantity": drum_l, "uom": "LTR"}],
         "bizLocation": {"id": S_PROD}},
        *[{"type": "AggregationEvent", "eventTime": "2026-03-01T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
           "eventID": f"urn:uuid:10000000-0000-4000-8000-00000000001{i}", "action": "ADD", "bizStep": "packing",
           "parentID": DRUMS[i], "childQuantityList": [{"epcClass": LOT, "quantity": drum_l, "uom": "LTR"}],
           "bizLocation": {"id": S_PROD}} for i in (1, 2, 3)],
        ev({"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit", "epcList": DRUMS,
            "bizLocation": {"id": S_PROD}, **owning(PRODUCER, TRADER),
            "bizTransactionList": [{"type": "bol", "bizTransaction": "urn:jindu:waybill:W1"}]},
           "03-02T08:00", eventID="urn:uuid:10000000-0000-4000-8000-000000000003",
           **{"jindu:permitNo": "PUR-2026-001", "jindu:paymentMethod": "transfer"}),
        ev({"action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress", "epcList": DRUMS,
            "bizLocation": {"id": S_TRADE}, **owning(PRODUCER, TRADER),
            "bizTransactionList": [{"type": "bol", "bizTransaction": "urn:jindu:waybill:W1"}]},
           "03-02T16:00", eventID="urn:uuid:10000000-0000-4000-8000-000000000004"),
        ev({"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit", "epcList": DRUMS[:2],
            "bizLocation": {"id": S_TRADE}, **owning(TRADER, USER),
            "bizTransactionList": [{"type": "bol", "bizTransaction": "urn:jindu:waybill:W2"}]},
           "03-05T08:00", eventID="urn:uuid:10000000-0000-4000-8000-000000000005",
           **{"jindu:paymentMethod": "transfer"}),
        ev({"action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress", "epcList": DRUMS[:2],
            "bizLocation": {"id": S_USER}, **owning(TRADER, USER),
            "bizTransactionList": [{"type": "bol", "bizTransaction": "urn:jindu:waybill:W2"}]},
           "03-05T15:00", eventID="urn:uuid:10000000-0000-4000-8000-000000000006"),
        {"type": "TransformationEvent", "eventTime": "2026-03-06T10:00:00+08:00", "eventTimeZoneOffset": "+08:00",
         "eventID": "urn:uuid:10000000-0000-4000-8000-000000000007", "inputEPCList": [DRUMS[0]],
         "outputQuantityList": [{"epcClass": PRODUCT, "quantity": 400, "uom": "KGM"}],
         "bizLocation": {"id": S_USER}},
    )


def post(client, body, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post("/api/epcis/capture" + (f"?{query}" if query else ""), data=json.dumps(body),
                       content_type="application/json")


def test_capture_time_rules_answer_and_raise_blocked_alerts(world):
    client = token_client(world["city"])
    r = post(client, chain())
    assert r.status_code == 201, r.json()
    flags = r.json()["flags"]
    # the trader → user sale cites no purchase permit and the user holds none: R01 answers at capture (blocked);
    # the trader holds a trade filing (R03 passes) and the producer → trader sale cites a valid filing
    rules = {(f["rule"], f["party"]) for f in flags}
    assert ("R01", USER) in rules
    assert not any(f["rule"] == "R01" and f["party"] == TRADER for f in flags)
    alert = Alert.objects.get(rule_id="R01", party_identifier=USER)
    assert alert.blocked and alert.severity == "H"
    assert "urn:uuid:10000000-0000-4000-8000-000000000005" in alert.evidence
    # re-capturing the same document adds nothing and raises nothing new
    before = Alert.objects.count()
    again = post(client, chain()).json()
    assert again["new"] == 0 and Alert.objects.count() == before


def test_trace_follows_packing_shipping_split_and_transformation(world):
    client = token_client(world["city"])
    assert post(client, chain()).status_code == 201
    back = client.get("/api/precursors/trace/", {"epc_class": PRODUCT, "direction": "back"})
    assert back.status_code == 200, back.json()
    parties = {n["party"] for n in back.json()["nodes"]}
    assert {PRODUCER, TRADER, USER} <= parties
    forward = client.get("/api/precursors/trace/", {"epc_class": LOT, "direction": "forward"}).json()
    by_party: dict = {}
    for n in forward["nodes"]:
        by_party.setdefault(n["party"], []).append(n)
    assert USER in by_party and TRADER in by_party
    # the trader received four drums (790 kg) and passed two on: 395 kg stays unaccounted at the trader
    trader_unaccounted = sum(n["unaccounted"] or 0 for n in by_party[TRADER])
    assert trader_unaccounted == pytest.approx(395.0, abs=0.5)
    wb = client.get("/api/precursors/trace/", {"waybill": "urn:jindu:waybill:W2", "direction": "back"}).json()
    assert PRODUCER in {n["party"] for n in wb["nodes"]}
    assert client.get("/api/precursors/trace/", {"epc": "urn:epc:id:sscc:0000000.nothing"}).status_code == 404
    assert client.get("/api/precursors/trace/", {"direction": "sideways", "epc": DRUMS[0]}).status_code == 400


def test_full_rule_run_command_and_alert_inbox_api(world):
    client = token_client(world["city"])
    post(client, chain())
    call_command("precursor_rules", "--rule", "R11", "--rule", "R01")
    r = client.get("/api/precursors/alerts/", {"rule": "R01"})
    assert r.status_code == 200
    rows = r.json()["results"]
    assert rows and all(a["rule_id"] == "R01" for a in rows)
    alert = rows[0]
    bad = client.post(f"/api/precursors/alerts/{alert['id']}/act/", {"status": "closed"}, format="json")
    assert bad.status_code == 400 and "outcome" in bad.json()
    ok = client.post(f"/api/precursors/alerts/{alert['id']}/act/",
                     {"status": "closed", "outcome": "rectified", "note": "补办购买备案"}, format="json")
    assert ok.status_code == 200 and ok.json()["outcome"] == "rectified"
    # a re-run keeps the closed alert closed
    call_command("precursor_rules", "--rule", "R01")
    assert Alert.objects.get(pk=alert["id"]).status == "closed"
    with pytest.raises(Exception):
        call_command("precursor_rules", "--rule", "R99")


def test_enterprise_sees_only_its_own_alerts_and_parties(world):
    client = token_client(world["city"])
    post(client, chain())
    ent = token_client(world["ent"])
    assert [p["identifier"] for p in ent.get("/api/precursors/parties/").json()["results"]] == [PRODUCER]
    assert all(a["party"] == PRODUCER for a in ent.get("/api/precursors/alerts/").json()["results"])


def test_three_doors_make_the_same_event(world):
    from precursors.reporting import movement_document

    row = {"party": world["producer"], "kind": "sale", "time": dt.datetime(2026, 4, 1, 9, 30),
           "substance": "C3-02", "quantity_kg": 500.0, "counterparty": TRADER, "permit_no": "PUR-2026-001",
           "waybill_no": "W9", "payment_method": "transfer"}
    api = token_client(world["ent"])
    assert post(api, movement_document([row])).json()["new"] == 1
    # the web form with the same movement adds nothing: it is the same event (same content → same id)
    web = login_client(Client(), world["ent"])
    r = web.post("/precursors/report/", {"party": world["producer"].pk, "kind": "sale", "time": "2026-04-01T09:30",
                                         "substance": "C3-02", "quantity_kg": "500", "counterparty": TRADER,
                                         "permit_no": "PUR-2026-001", "waybill_no": "W9",
                                         "payment_method": "transfer"})
    assert r.status_code == 200
    assert r.context["result"]["duplicates"] == 1, r.context["form"].errors
    assert Event.objects.count() == 1


def test_excel_ledger_import_goes_through_capture(world, client):
    from core.imports import commit, registry, start_import
    from core.models import ImportBatch

    wb = openpyxl.Workbook()
    ws = wb.active
    spec = registry.get("precursors.ledger")
    ws.append([c.header for c in spec.columns])
    ws.append([PRODUCER, "sale", "2026-04-02 10:00", "C3-02", 300, TRADER, "", "PUR-2026-001", "W10", "transfer",
               "", ""])
    ws.append([PRODUCER, "count", "2026-04-30 18:00", "C3-02", 150, "", "", "", "", "", "", ""])
    buf = io.BytesIO()
    wb.save(buf)
    batch = start_import(spec, world["ent"], "台账.xlsx", buf.getvalue())
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READY, batch.errors
    commit(batch, world["ent"])
    assert Event.objects.filter(biz_step="shipping").count() == 1
    assert Event.objects.filter(biz_step="cycle_counting").count() == 1
    bad = openpyxl.Workbook()
    bad.active.append([c.header for c in spec.columns])
    bad.active.append([PRODUCER, "sale", "2026-04-02 10:00", "C9-99", -3, "", "", "", "", "", "", ""])
    buf = io.BytesIO()
    bad.save(buf)
    batch2 = start_import(spec, world["ent"], "bad.xlsx", buf.getvalue())
    batch2.refresh_from_db()
    assert batch2.status == ImportBatch.Status.INVALID
    errors = json.dumps(batch2.errors, ensure_ascii=False)
    assert "品种代码" in errors and "数量(kg)" in errors and "对方单位" in errors


def test_pages_render_for_office_and_enterprise(world, client):
    post(token_client(world["city"]), chain())
    with acting_as(username="test"):
        Inspection(party=world["trader"], planned_on=dt.date(2026, 6, 1)).save()
        area = SurveyArea(name="阳澄湖片区", area_code="320508", year=2026,
                          polygon={"type": "Polygon", "coordinates": [[[120.60, 31.30], [120.61, 31.30],
                                                                       [120.61, 31.305], [120.60, 31.305],
                                                                       [120.60, 31.30]]]})
        area.save()
    office = login_client(client, world["city"])
    for url in ("/precursors/", "/precursors/parties/", f"/precursors/parties/{world['trader'].pk}/",
                "/precursors/alerts/", "/precursors/trace/", f"/precursors/trace/?kind=epc_class&seed={LOT}",
                f"/precursors/ledger/?party={TRADER}&year=2026", "/precursors/report/", "/precursors/inspections/",
                "/precursors/equipment/", "/precursors/substances/", "/precursors/parameters/",
                "/precursors/patrols/", f"/precursors/patrols/{area.pk}/", "/precursors/events/",
                "/precursors/authorizations/"):
        r = office.get(url)
        assert r.status_code == 200, url
    xlsx = office.get(f"/precursors/ledger/?party={TRADER}&year=2026&format=xlsx")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert "期初库存" in [c.value for c in sheet[1]] + [c.value for c in sheet[2]]
    # a drone flight: coverage of the area is computed from altitude and field of view
    r = office.post(f"/precursors/patrols/{area.pk}/flights/add/", {
        "kind": "drone", "flown_on": "2026-05-01", "pilot": "张三", "altitude_m": 120, "hfov_deg": 84,
        "vfov_deg": 62, "track": json.dumps({"type": "LineString", "coordinates": [[120.595, 31.3025],
                                                                                  [120.615, 31.3025]]})})
    assert r.status_code == 302
    area.refresh_from_db()
    assert 0.3 < area.covered_fraction < 0.5      # a 216 m swath over a 556 m tall area
    # inspection recorded from the phone form; a failed item needs a rectification deadline
    insp = Inspection.objects.get(party=world["trader"])
    data = {"inspectors": "王警官, 李警官", "counts": "C3-02, 380, 395", "findings": "台账缺页"}
    data.update({f"check_{k}": "ok" for k in ("licence", "ledger", "storage", "cctv", "responsible", "system",
                                              "labels", "sales_filing")})
    data["check_ledger"] = "bad"
    office.post(f"/precursors/inspections/{insp.pk}/record/", data)
    insp.refresh_from_db()
    assert insp.done_at is None
    data["rectify_by"] = "2026-07-01"
    office.post(f"/precursors/inspections/{insp.pk}/record/", data)
    insp.refresh_from_db()
    assert insp.status == "rectifying" and insp.stock_checks.get().book_kg == 395
    cov = token_client(world["city"]).get("/api/precursors/coverage/", {"year": insp.done_at.year}).json()
    assert cov["numerator"] == 1 and cov["denominator"] == 3
    # an enterprise sees its own file and not another's
    ent = login_client(Client(), world["ent"])
    assert ent.get(f"/precursors/parties/{world['producer'].pk}/").status_code == 200
    assert ent.get(f"/precursors/parties/{world['trader'].pk}/").status_code == 404


def test_equipment_transfer_keeps_history_and_r28_judges_the_new_owner(world, client):
    from precursors.models import Equipment, EquipmentTransfer
    from precursors.rules_service import run_rules

    with acting_as(username="test"):
        uni = Party(identifier="urn:epc:id:pgln:6901234.00077", name="苏州某大学", area_code="320508001",
                    kinds=["research"], industry="university")
        uni.save()
        nmr = Equipment(type="nmr", make="Bruker", serial="B-60-001", field_mhz=60, benchtop=True, owner=uni,
                        area_code="320508001")
        nmr.save()
    run_rules(["R28"])
    assert not Alert.objects.filter(rule_id="R28").exists()
    office = login_client(client, world["city"])
    r = office.post(f"/precursors/equipment/{nmr.pk}/transfer/", {"date": "2026-05-01",
                                                                  "to_party": world["trader"].pk})
    assert r.status_code == 302
    nmr.refresh_from_db()
    assert nmr.owner == world["trader"]
    assert EquipmentTransfer.objects.get(equipment=nmr).from_party == uni
    run_rules(["R28"])
    alert = Alert.objects.get(rule_id="R28")
    assert alert.party == world["trader"]
    assert office.get(f"/precursors/equipment/{nmr.pk}/").status_code == 200
    # a transfer must name the new owner
    office.post(f"/precursors/equipment/{nmr.pk}/transfer/", {"date": "2026-05-02"})
    assert EquipmentTransfer.objects.count() == 1


def test_enterprise_trace_shows_only_its_own_nodes_and_cannot_write_city_settings(world):
    post(token_client(world["city"]), chain())
    ent = token_client(world["ent"])          # the producer's account
    r = ent.get("/api/precursors/trace/", {"epc_class": LOT, "direction": "forward"})
    assert r.status_code == 200
    body = r.json()
    assert body["restricted_to_own_party"] and {n["party"] for n in body["nodes"]} == {PRODUCER}
    # the office sees the whole chain
    full = token_client(world["city"]).get("/api/precursors/trace/", {"epc_class": LOT, "direction": "forward"})
    assert {PRODUCER, TRADER, USER} <= {n["party"] for n in full.json()["nodes"]}
    # an enterprise cannot handle alerts or inspections about itself
    alert = Alert.objects.filter(party__identifier=USER).first() or Alert.objects.first()
    if alert is not None:
        assert ent.post(f"/api/precursors/alerts/{alert.id}/act/", {"status": "closed", "outcome": "rectified"},
                        format="json").status_code in (403, 404)
    assert ent.post("/api/precursors/inspections/", {"party": PRODUCER, "planned_on": "2026-06-01"},
                    format="json").status_code == 403


def test_rule_parameters_are_written_by_the_city_only(world, orgs, client):
    from precursors.models import RuleParameter
    from precursors.registry import params_in_force

    district = make_user("pc_district", "district_office", area="320508", org=orgs["gusu_office"])
    form = {"name": "reconcile_days", "value": "10", "effective_from": "2026-01-01", "source": "市禁毒办 2026-1号"}
    login_client(client, district).post("/precursors/parameters/add/", form)
    assert not RuleParameter.objects.exists()
    login_client(client, world["city"]).post("/precursors/parameters/add/", form)
    assert RuleParameter.objects.get().value == 10
    assert params_in_force(dt.date(2026, 3, 1))["reconcile_days"] == 10
    assert params_in_force(dt.date(2025, 12, 31))["reconcile_days"] != 10
    # the shipped table wins over a rule's code default: no KMnO4 small-quantity exemption until set locally
    assert params_in_force(dt.date(2026, 3, 1))["kmno4_individual_small_qty_kg"] is None
    bad = login_client(client, world["city"]).post("/precursors/parameters/add/", {**form, "name": "no_such"})
    assert bad.status_code == 400 and "no_such" not in str(RuleParameter.objects.values_list("name", flat=True))
    assert "No rule reads a parameter of this name." in bad.content.decode() or "没有" in bad.content.decode()


def test_trace_index_forgets_events_of_a_rolled_back_capture(world):
    from django.db import transaction

    from precursors.capture import capture

    client = token_client(world["city"])
    assert client.get("/api/precursors/trace/", {"epc_class": LOT}).status_code == 404
    with pytest.raises(RuntimeError), transaction.atomic():
        capture(chain(), user=world["city"])
        assert PRODUCER in {n["party"] for n in tracing.trace(LOT)["nodes"]}
        raise RuntimeError("the import failed after the capture")
    assert not Event.objects.exists()
    assert tracing.trace(LOT)["nodes"] == []


def test_patrol_findings_are_recorded_with_coordinates_checked(world, client):
    from precursors.models import PatrolFinding

    office = login_client(client, world["city"])
    bad = office.post("/precursors/patrol-findings/add/", {"area_code": "320508", "kind": "poppy", "source": "tip-off",
                                                           "found_on": "2026-05-02", "lon": "31.3", "lat": "120.6",
                                                           "plants": 12})
    assert bad.status_code == 400 and not PatrolFinding.objects.exists()
    ok = office.post("/precursors/patrol-findings/add/", {"area_code": "320508", "kind": "poppy", "source": "tip-off",
                                                          "found_on": "2026-05-02", "lon": "120.6", "lat": "31.3",
                                                          "plants": 12})
    assert ok.status_code == 302 and PatrolFinding.objects.get().plants == 12
    assert office.get("/precursors/patrol-findings/").status_code == 200


def test_review_fixes_alert_placement_reopening_assignees_and_post_only(world, client, orgs):
    city = token_client(world["city"])
    sale = ev({"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
               "quantityList": [{"epcClass": LOT, "quantity": 100, "uom": "LTR"}], "bizLocation": {"id": S_TRADE},
               **owning(TRADER, "urn:epc:id:pgln:9999999.00042")}, "04-01T08:00",
              eventID="urn:uuid:30000000-0000-4000-8000-000000000001")
    assert post(city, doc(sale)).status_code == 201
    # an alert about an unregistered buyer is placed in the area of the event that revealed it
    r01 = city.get("/api/precursors/alerts/", {"rule": "R01"}).json()["results"]
    assert r01 and r01[0]["area_code"].startswith("320508")
    alert = Alert.objects.get(pk=r01[0]["id"])
    # assignment only to users in scope who handle alerts
    nanjing = make_user("nj_office", "district_office", "320102", org=orgs["nanjing"])
    bad = city.post(f"/api/precursors/alerts/{alert.pk}/act/", {"status": "assigned", "assignee": nanjing.username},
                    format="json")
    assert bad.status_code == 400 and "assignee" in bad.json()
    city.post(f"/api/precursors/alerts/{alert.pk}/act/", {"status": "closed", "outcome": "false_positive"},
              format="json")
    # a new sale to the same unregistered buyer is new evidence for the same rule and party: the alert reopens
    # only if it is the same alert key; a different key is a new alert, and the closed one stays closed
    from precursors.rules_service import run_rules

    run_rules(["R01"])
    alert.refresh_from_db()
    assert alert.status == "closed"
    # action pages answer POST only
    login_client(client, world["city"])
    with acting_as(username="test"):
        insp = Inspection(party=world["trader"], planned_on=dt.date(2026, 6, 1), status="rectifying")
        insp.save()
    assert client.get(f"/precursors/inspections/{insp.pk}/recheck/").status_code == 405
    insp.refresh_from_db()
    assert insp.rechecked_on is None


def test_new_alerts_are_audited_by_one_digest_row_that_shows_tampering(db):
    from core.audit import content_digest
    from core.models import ChangeLog
    from precursors.algorithms.rules.base import Hit
    from precursors.registry import Registry
    from precursors.rules_service import ALERT_DIGEST_FIELDS, _store_hits

    now = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    hits = [Hit("R28", "H", None, f"eq{i}", f"持有NMR {i}", evidence=(f"e{i}",), details={"i": i}) for i in range(5)]
    assert _store_hits(hits, Registry(), now) == (5, 0)
    rows = ChangeLog.objects.filter(object_type="precursors.alert")
    assert rows.count() == 1
    row = rows.get()
    alerts = list(Alert.objects.all())
    assert row.after["count"] == 5 and row.object_id == f"{min(a.pk for a in alerts)}-{max(a.pk for a in alerts)}"
    assert content_digest(alerts, ALERT_DIGEST_FIELDS) == row.after["content_sm3"]
    # numbers as PostgreSQL's jsonb gives them back (an integral float as an integer, -0.0 as 0.0) digest the same
    from types import SimpleNamespace

    assert content_digest([SimpleNamespace(pk=1, details={"kg": 1e16, "gap": -0.0})], ("details",)) == \
        content_digest([SimpleNamespace(pk=1, details={"kg": 10_000_000_000_000_000, "gap": 0.0})], ("details",))
    # an alert changed behind the application's back no longer matches the digest
    Alert.objects.filter(pk=alerts[2].pk).update(message="改过")
    assert content_digest(Alert.objects.all(), ALERT_DIGEST_FIELDS) != row.after["content_sm3"]


def test_new_evidence_reopens_a_closed_alert(db):
    from precursors.algorithms.rules.base import Hit
    from precursors.registry import Registry
    from precursors.rules_service import _store_hits

    reg = Registry()
    now = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    _store_hits([Hit("R28", "H", None, "eq1", "持有NMR", evidence=("e1",))], reg, now)
    alert = Alert.objects.get()
    with acting_as(username="test"):
        alert.status, alert.outcome = "closed", "false_positive"
        alert.save()
    _store_hits([Hit("R28", "H", None, "eq1", "持有NMR", evidence=("e1",))], reg, now)
    alert.refresh_from_db()
    assert alert.status == "closed"                      # nothing new: stays closed
    _store_hits([Hit("R28", "H", None, "eq1", "持有NMR，已转让给个人", evidence=("e1", "e2"))], reg, now)
    alert.refresh_from_db()
    assert (alert.status, alert.outcome) == ("new", "")


def test_enterprises_see_neither_investigators_notes_nor_planned_inspections(world):
    from precursors.algorithms.rules.base import Hit
    from precursors.registry import Registry
    from precursors.rules_service import _store_hits

    _store_hits([Hit("R09", "M", PRODUCER, "k1", "台账差异", evidence=("e1",))], Registry.load(),
                dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc))
    alert = Alert.objects.get()
    with acting_as(username="test"):
        alert.note = "已通报治安大队，拟突击检查"
        alert.save()
        Inspection(party=world["producer"], planned_on=dt.date(2026, 9, 1)).save()
        Inspection(party=world["producer"], done_at=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
                   inspectors="王, 李", status="done").save()
    ent = token_client(world["ent"])
    row = ent.get("/api/precursors/alerts/").json()["results"][0]
    assert "note" not in row and "assignee" not in row
    office_row = token_client(world["city"]).get("/api/precursors/alerts/").json()["results"][0]
    assert office_row["note"] == "已通报治安大队，拟突击检查"
    assert [i["planned_on"] for i in ent.get("/api/precursors/inspections/").json()["results"]] == [None]
    assert token_client(world["city"]).get("/api/precursors/inspections/").json()["count"] == 2


def test_the_ledger_weighs_drums_from_the_sellers_packing_events(world):
    from precursors.ledger_service import ledger_rows

    post(token_client(world["city"]), chain())
    rows = [r for r in ledger_rows(TRADER, 2026) if r["in_purchase"]]
    assert rows and rows[0]["substance"] == "C3-02"
    assert sum(r["in_purchase"] for r in rows) == pytest.approx(790.0, abs=0.5)     # four 250 L drums of acetone


def test_a_rule_parameter_of_the_wrong_shape_is_refused(world, client):
    from precursors.models import RuleParameter

    office = login_client(client, world["city"])
    bad = office.post("/precursors/parameters/add/", {"name": "forbidden_payment_methods", "value": "5",
                                                      "effective_from": "2026-01-01"})
    assert bad.status_code == 400 and not RuleParameter.objects.exists()
    ok = office.post("/precursors/parameters/add/", {"name": "forbidden_payment_methods",
                                                     "value": '["cash", "in_kind", "crypto"]',
                                                     "effective_from": "2026-01-01"})
    assert ok.status_code == 302 and RuleParameter.objects.get().value == ["cash", "in_kind", "crypto"]


def test_trace_index_picks_up_an_event_committed_behind_the_watermark(world):
    """PostgreSQL: a capture can commit after a later one, leaving lower ids behind the index's watermark."""
    from precursors.algorithms.trace import trace_event_from
    from precursors.capture import capture
    from precursors.rules_service import stored_events

    capture(chain(), user=world["city"], run_rules=False)          # "A": committed late
    a_pks = set(Event.objects.values_list("pk", flat=True))
    later = doc(ev({"action": "OBSERVE", "bizStep": "cycle_counting", "disposition": "in_progress",
                    "quantityList": [{"epcClass": LOT, "quantity": 1, "uom": "LTR"}], "bizLocation": {"id": S_USER}},
                   "05-01T08:00", eventID="urn:uuid:40000000-0000-4000-8000-000000000001"))
    capture(later, user=world["city"], run_rules=False)            # "B": committed first
    b_pks = set(Event.objects.values_list("pk", flat=True)) - a_pks
    # the index as a process saw it when only B was visible
    tracing.reset()
    index = tracing._new_index()
    index.add(trace_event_from(e) for e in stored_events(Event.objects.filter(pk__in=b_pks)))
    last = Event.objects.filter(pk__in=b_pks).order_by("-pk").values_list("pk", "event_id").first()
    tracing._state.update(index=index, last_pk=last[0], last_id=last[1], recent=set(b_pks), retractions=0,
                          version=tracing.registry_version())
    assert PRODUCER not in {n["party"] for n in tracing.trace(PRODUCT, direction="back")["nodes"]}
    capture(doc(dict(later["epcisBody"]["eventList"][0], eventID="urn:uuid:40000000-0000-4000-8000-000000000002")),
            user=world["city"], run_rules=False)                   # the next capture makes the index refresh
    assert PRODUCER in {n["party"] for n in tracing.trace(PRODUCT, direction="back")["nodes"]}


def test_api_related_fields_only_accept_parties_in_scope(world, orgs):
    with acting_as(username="test"):
        Party(identifier="urn:epc:id:pgln:6909999.00077", name="南京某公司", area_code="320102001",
              org=orgs["nanjing"]).save()
    district = make_user("pc_district", "district_office", "320508", org=orgs["gusu_office"])
    api = token_client(district)
    body = {"number": "TF-X-1", "type": "trade_filing", "substances": {"C3-02": 100}, "valid_from": "2026-01-01"}
    unknown = api.post("/api/precursors/authorizations/", {**body, "holder": "urn:epc:id:pgln:0000000.00000"},
                       format="json")
    outside = api.post("/api/precursors/authorizations/", {**body, "holder": "urn:epc:id:pgln:6909999.00077"},
                       format="json")
    assert unknown.status_code == outside.status_code == 400
    # the same answer for both (the message only echoes the identifier sent): no way to tell the two apart
    assert unknown.json()["holder"][0].replace("0000000.00000", "X") == \
        outside.json()["holder"][0].replace("6909999.00077", "X")
    inside = api.post("/api/precursors/authorizations/", {**body, "holder": TRADER}, format="json")
    assert inside.status_code == 201, inside.json()


def test_capture_counts_earlier_uses_of_a_capped_permit(world):
    with acting_as(username="test"):
        Authorization(number="PUR-CAP-1", type="purchase_filing", holder=world["trader"],
                      counterparty=world["producer"], substances={"C3-02": 500}, valid_from=dt.date(2026, 1, 1),
                      valid_to=dt.date(2026, 12, 31)).save()
    client = token_client(world["city"])

    def sale(n, hour):
        return doc(ev({"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
                       "quantityList": [{"epcClass": LOT, "quantity": 300 / 0.79, "uom": "LTR"}],
                       "bizLocation": {"id": S_PROD}, **owning(PRODUCER, TRADER)}, f"04-0{n}T{hour}:00",
                      eventID=f"urn:uuid:50000000-0000-4000-8000-00000000000{n}",
                      **{"jindu:permitNo": "PUR-CAP-1", "jindu:paymentMethod": "transfer"}))

    first = post(client, sale(1, "08")).json()
    assert not [f for f in first["flags"] if f["rule"] == "R04"]
    second = post(client, sale(2, "09")).json()                       # 600 kg drawn on a 500 kg filing
    assert [f["rule"] for f in second["flags"] if f["rule"] == "R04"] == ["R04"]
    # the draws are kept, one row per sale, so a later capture sums them with one query
    from precursors.models import PermitDraw

    assert sorted(PermitDraw.objects.filter(permit="PUR-CAP-1").values_list("event_id", "kg")) == [
        ("urn:uuid:50000000-0000-4000-8000-000000000001", pytest.approx(300.0)),
        ("urn:uuid:50000000-0000-4000-8000-000000000002", pytest.approx(300.0))]


def _capped_permit_sale(n, hour):
    return doc(ev({"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
                   "quantityList": [{"epcClass": LOT, "quantity": 300 / 0.79, "uom": "LTR"}],
                   "bizLocation": {"id": S_PROD}, **owning(PRODUCER, TRADER)}, f"04-0{n}T{hour}:00",
                  eventID=f"urn:uuid:50000000-0000-4000-8000-00000000000{n}",
                  **{"jindu:permitNo": "PUR-CAP-2", "jindu:paymentMethod": "transfer"}))


@pytest.mark.parametrize("retract_first", [False, True])
def test_earlier_sales_captured_without_rules_still_count_unless_retracted(world, retract_first):
    """A sale loaded without the capture-time rules (a bulk load) has no draw row yet: the next capture citing the
    permit reads it once and records it; a retracted sale draws nothing."""
    from precursors.capture import capture
    from precursors.models import PermitDraw

    with acting_as(username="test"):
        Authorization(number="PUR-CAP-2", type="purchase_filing", holder=world["trader"],
                      counterparty=world["producer"], substances={"C3-02": 500}, valid_from=dt.date(2026, 1, 1),
                      valid_to=dt.date(2026, 12, 31)).save()
    capture(_capped_permit_sale(1, "08"), user=world["city"], run_rules=False)
    if retract_first:
        declared = _capped_permit_sale(1, "08")
        declared["epcisBody"]["eventList"][0]["errorDeclaration"] = {
            "declarationTime": "2026-04-01T12:00:00+08:00", "reason": "incorrect_data"}
        capture(declared, user=world["city"], run_rules=False)
    assert not PermitDraw.objects.exists()
    second = post(token_client(world["city"]), _capped_permit_sale(2, "09")).json()
    r04 = [f["rule"] for f in second["flags"] if f["rule"] == "R04"]
    assert r04 == ([] if retract_first else ["R04"])
    assert PermitDraw.objects.filter(permit="PUR-CAP-2").count() == 2


def test_a_sale_retracted_in_the_same_document_is_not_taken_off_the_earlier_draws(world):
    """400 kg already drawn on a 500 kg filing; one document brings a 50 kg sale, its error declaration and a 150 kg
    sale: 550 kg are drawn, so R04 flags the 150 kg sale."""
    from precursors.capture import capture

    with acting_as(username="test"):
        Authorization(number="PUR-CAP-3", type="purchase_filing", holder=world["trader"],
                      counterparty=world["producer"], substances={"C3-02": 500}, valid_from=dt.date(2026, 1, 1),
                      valid_to=dt.date(2026, 12, 31)).save()

    def sale(n, kg):
        return ev({"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
                   "quantityList": [{"epcClass": LOT, "quantity": kg / 0.79, "uom": "LTR"}],
                   "bizLocation": {"id": S_PROD}, **owning(PRODUCER, TRADER)}, f"04-0{n}T08:00",
                  eventID=f"urn:uuid:60000000-0000-4000-8000-00000000000{n}",
                  **{"jindu:permitNo": "PUR-CAP-3", "jindu:paymentMethod": "transfer"})

    capture(doc(sale(1, 400)), user=world["city"])
    retracted = sale(2, 50)
    declaration = {**retracted, "errorDeclaration": {"declarationTime": "2026-04-02T12:00:00+08:00",
                                                     "reason": "incorrect_data"}}
    result = capture(doc(retracted, declaration, sale(3, 150)), user=world["city"])
    assert result.retracted_ids == [retracted["eventID"]]
    assert [f["event_ids"] for f in result.flags if f["rule"] == "R04"] == [[sale(3, 150)["eventID"]]]


def test_the_lineage_index_is_rebuilt_when_the_catalogue_or_sites_change(world):
    index = tracing.lineage_index()
    assert tracing.lineage_index() is index
    with acting_as(username="test"):
        ProductMapping(prefix="urn:epc:class:lgtin:6901234.0777", substance_id="C3-02", density_kg_l=0.8).save()
    assert tracing.lineage_index() is not index


def test_the_rule_run_facts_share_one_copy_of_each_id(world):
    """A second copy of every event id and of every filed transaction's id would cost ~130 MB at 1,000,000 events:
    the facts take the lineage index's event ids, make their own ids from them when asked, and a sales filing
    refers to the transaction it names instead of keeping its id."""
    from precursors.capture import capture
    from precursors.models import Filing
    from precursors.rules_service import build_facts

    capture(chain(), user=world["city"], run_rules=False)
    shipping = "urn:uuid:10000000-0000-4000-8000-000000000003"
    with acting_as(username="test"):
        Filing(kind="sales_filing", party=world["producer"], reference=f"{shipping}#C3-02",
               submitted_at=dt.datetime(2026, 3, 3, 9, tzinfo=dt.timezone.utc)).save()
    facts = build_facts()
    sale = next(t for t in facts.transactions if t.event_ids == (shipping,))
    assert sale.event_ids[0] is tracing.lineage_index().known_id(shipping)
    assert sale.id == f"{shipping}#C3-02" and sale._id is None         # made from the event id when read
    filing = next(f for f in facts.filings if f.transaction_id == sale.id)
    assert filing._about is sale
    receipt = next(r for r in facts.receipts if r.event_ids == ("urn:uuid:10000000-0000-4000-8000-000000000004",))
    assert receipt.event_ids[0] is tracing.lineage_index().known_id(receipt.event_ids[0])


def test_reading_the_whole_event_table_keeps_sqlite_page_cache_small_then_restores_it(world):
    from django.db import connection

    from precursors.capture import capture
    from precursors.rules_service import stored_events

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's page cache")
    capture(chain(), user=world["city"], run_rules=False)

    def cache_size():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    configured = cache_size()
    events = stored_events(scan=True)
    first = next(events)
    assert cache_size() == -2048                   # while the table is read once
    assert len([first, *events]) == Event.objects.filter(declared_error=False).count()
    assert cache_size() == configured != -2048
    list(stored_events())                          # a read that is not a scan leaves the cache alone
    assert cache_size() == configured


def test_a_rule_run_is_not_queued_twice(world, client):
    """A full run holds the event store's facts in memory: while one is queued or running, asking again points to
    it instead of queueing a second (a run left 'running' by a dead worker stops blocking after some hours)."""
    from core.models import Job
    from precursors.jobs import RUN_STALE_AFTER

    web = login_client(client, world["city"])
    running = Job.objects.create(kind="precursors.run_rules", label="R01–R31", user=world["city"],
                                 status=Job.Status.RUNNING)
    r = web.post("/precursors/rules/run/")
    assert r.status_code == 302 and r.url.endswith("/precursors/")
    assert Job.objects.filter(kind="precursors.run_rules").count() == 1
    Job.objects.filter(pk=running.pk).update(created=running.created - RUN_STALE_AFTER)
    r = web.post("/precursors/rules/run/")
    assert Job.objects.filter(kind="precursors.run_rules").count() == 2
    assert r.url == Job.objects.exclude(pk=running.pk).get().get_absolute_url()


def test_special_country_substances_rows_apply_from_their_own_dates(world, client):
    """The office's special-country table (R20) is entered on the parameter page, checked for its shape, and judges
    only exports shipped while its row is in force — an export shipped before the office listed the substance is not
    judged by that listing."""
    from precursors.models import RuleParameter
    from precursors.rules_service import run_rules

    office = login_client(client, world["city"])
    for bad in ('{"MMR": ["C3-02"]}', '{"MM": "C3-02"}', '{"MM": ["C9-99"]}'):
        r = office.post("/precursors/parameters/add/", {"name": "special_country_substances", "value": bad,
                                                        "effective_from": "2026-04-01"})
        assert r.status_code == 400, bad
    assert not RuleParameter.objects.exists()
    r = office.post("/precursors/parameters/add/", {"name": "special_country_substances", "value": '{"mm": ["C3-02"]}',
                                                    "effective_from": "2026-04-01", "source": "市禁毒办"})
    assert r.status_code == 302
    buyer = Party.objects.create(identifier="urn:epc:id:pgln:8837001.00001", name="Yangon Trading", area_code="",
                                 country="MM", kinds=["importer"])

    def export(n, day):
        return ev({"action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
                   "quantityList": [{"epcClass": LOT, "quantity": 100, "uom": "LTR"}], "bizLocation": {"id": S_PROD},
                   **owning(PRODUCER, buyer.identifier)}, f"{day}T10:00",
                  eventID=f"urn:uuid:20000000-0000-4000-8000-00000000000{n}", **{"jindu:destCountry": "MM"})

    post(token_client(world["city"]), doc(export(1, "03-20"), export(2, "04-20")))
    run_rules(["R20"], as_of=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    special = sorted(Alert.objects.filter(rule_id="R20", dedup_key__endswith=":special_country")
                     .values_list("evidence", flat=True))
    assert special == [["urn:uuid:20000000-0000-4000-8000-000000000002"]]
