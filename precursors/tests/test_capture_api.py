"""EPCIS capture and query through the API (issue 3 item 3): every GS1 example is accepted and queried back,
re-capture is idempotent, a bad document is refused whole, the standard query parameters answer like the pure
matcher, and enterprises see and report only their own events."""

import copy
import json

import pytest

from conftest import make_user, token_client
from core.context import acting_as
from precursors.algorithms import epcis
from precursors.models import CaptureBatch, Event, EventRetraction, Party, Site

EXAMPLES = epcis.example_paths()


@pytest.fixture
def office(users_precursors):
    return users_precursors["city"]


@pytest.fixture
def users_precursors(orgs):
    return {"city": make_user("p_city", "city_office", area="320500"),
            "gusu": make_user("p_gusu", "district_office", area="320508", org=orgs["gusu_office"]),
            "ent": make_user("p_ent", "enterprise", org=orgs["enterprise"]),
            "ent2": make_user("p_ent2", "enterprise", org=orgs["enterprise2"]),
            "school": make_user("p_school", "school", org=orgs["school"])}


def post(client, doc, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post("/api/epcis/capture" + (f"?{query}" if query else ""), data=json.dumps(doc),
                       content_type="application/json")


def ids_of(response):
    return [e["eventID"] for e in response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]


def test_every_gs1_example_is_captured_and_queried_back(office):
    client = token_client(office)
    expected: dict[str, str] = {}
    conflicting = set()
    for path in EXAMPLES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        r = post(client, doc)
        assert r.status_code == 201, (path.name, r.json())
        body = r.json()
        assert body["events"] == len(epcis.normalise(doc)), path.name
        conflicting |= set(body["conflicting_event_ids"])
        for ev in epcis.normalise(doc):
            expected.setdefault(ev.event_id, path.name)
    assert Event.objects.filter(declared_error=False).count() + Event.objects.filter(
        declared_error=True).count() >= len(expected)
    # every event can be queried back by its id (one page), and by the standard filters it satisfies
    for event_id in expected:
        r = client.get("/api/epcis/events", {"EQ_eventID": event_id})
        assert r.status_code == 200
        assert ids_of(r) == [event_id] or event_id in {e.event_id for e in []}, event_id
    # GS1's files reuse a few eventIDs for different events: the first is kept, the others are reported
    assert len(conflicting) <= 3


def test_partly_known_document_sorts_new_duplicate_and_conflicting_events(office):
    """A document mixing stored and new eventIDs (and repeating one) stores only the new ones, with their EPC
    index, and names each of the others as a duplicate (same content) or a conflict (different content)."""
    client = token_client(office)
    doc = epcis.load_example("Example_9.6.1-ObjectEvent.jsonld")
    events = doc["epcisBody"]["eventList"]
    assert len(events) >= 2
    post(client, doc)
    stored_raw = Event.objects.get(event_id=events[1]["eventID"]).raw
    mixed = copy.deepcopy(doc)
    body = mixed["epcisBody"]["eventList"]
    body[1]["disposition"] = "damaged"                     # same id, different content
    fresh = copy.deepcopy(events[0])
    fresh["eventID"] = "urn:uuid:4b1d7c8e-0000-4000-8000-00000000f00d"
    fresh["epcList"] = ["urn:epc:id:sgtin:0614141.107346.fresh1"]
    changed_twin = copy.deepcopy(fresh)
    changed_twin["epcList"] = ["urn:epc:id:sgtin:0614141.107346.fresh2"]
    body += [fresh, copy.deepcopy(fresh), changed_twin]
    r = post(client, mixed).json()
    n = len(events)
    assert r["new"] == 1
    assert r["duplicates"] == n - 1 + 1                     # the untouched stored ones, and the identical repeat
    assert sorted(r["conflicting_event_ids"]) == sorted([events[1]["eventID"], fresh["eventID"]])
    assert Event.objects.get(event_id=events[1]["eventID"]).raw == stored_raw
    # a repeat of a stored event is judged against what is stored, not against the document's first occurrence
    again = copy.deepcopy(doc)
    again["epcisBody"]["eventList"] = [copy.deepcopy(body[1]), copy.deepcopy(events[1])]   # changed, then as stored
    r2 = post(client, again).json()
    assert (r2["new"], r2["duplicates"], r2["conflicting_event_ids"]) == (0, 1, [events[1]["eventID"]])
    found = client.get("/api/epcis/events", {"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.fresh1"})
    assert ids_of(found) == [fresh["eventID"]]
    assert ids_of(client.get("/api/epcis/events", {"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.fresh2"})) == []


def test_capture_records_the_sm3_of_the_body_as_sent_and_refuses_broken_json(office):
    from utilities.crypto import sm3_hex

    client = token_client(office)
    body = epcis.example_paths()[0].read_bytes()
    r = client.post("/api/epcis/capture", data=body, content_type="application/ld+json")
    assert r.status_code == 201, r.json()
    assert CaptureBatch.objects.get(pk=r.json()["capture_id"]).document_sm3 == sm3_hex(body)
    broken = client.post("/api/epcis/capture", data=body[:-20], content_type="application/json")
    assert broken.status_code == 400
    assert broken.json()["errors"][0]["path"] == "(document)"
    assert CaptureBatch.objects.count() == 1


def test_recapture_is_idempotent_and_audited_once_per_capture(office):
    client = token_client(office)
    doc = epcis.load_example("Example_9.6.1-ObjectEvent.jsonld")
    first = post(client, doc).json()
    again = post(client, doc).json()
    n = len(epcis.normalise(doc))
    assert (first["new"], first["duplicates"]) == (n, 0)
    assert (again["new"], again["duplicates"]) == (0, n)
    assert Event.objects.count() == n
    assert CaptureBatch.objects.count() == 2
    from core.models import ChangeLog
    logs = ChangeLog.objects.filter(object_type="precursors.capturebatch")
    assert logs.count() == 2
    assert logs.order_by("seq").first().after["new"] == n


def test_invalid_document_is_refused_whole_with_the_errors(office):
    client = token_client(office)
    doc = copy.deepcopy(epcis.load_example("Example_9.6.1-ObjectEvent.jsonld"))
    doc["epcisBody"]["eventList"][0]["action"] = "MAYBE"
    del doc["epcisBody"]["eventList"][-1]["eventTime"]
    r = post(client, doc)
    assert r.status_code == 400
    paths = [e["path"] for e in r.json()["errors"]]
    assert any("eventList[0]" in p and "action" in p for p in paths), paths
    assert any(f"eventList[{len(doc['epcisBody']['eventList']) - 1}]" in p for p in paths), paths
    assert Event.objects.count() == 0 and CaptureBatch.objects.count() == 0


QUERIES = [
    {"eventType": "AggregationEvent"},
    {"eventType": "ObjectEvent|TransformationEvent"},
    {"GE_eventTime": "2013-06-08T14:58:56.591Z", "LT_eventTime": "2019-10-21T12:58:56.591Z"},
    {"EQ_bizStep": "shipping"},
    {"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-receiving"},
    {"EQ_disposition": "in_progress"},
    {"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.2017"},
    {"MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*"},
    {"MATCH_anyEPC": "urn:epc:id:sscc:0614141.1234567890"},
    {"MATCH_epcClass": "urn:epc:class:lgtin:4012345.012345.998877"},
    {"MATCH_epcClass": "urn:epc:idpat:sgtin:4012345.011111.*"},
    {"EQ_bizLocation": "urn:epc:id:sgln:0614141.00888.0"},
    {"EQ_readPoint": "urn:epc:id:sgln:0614141.07346.1234"},
]


@pytest.mark.parametrize("params", QUERIES, ids=[json.dumps(q) for q in QUERIES])
def test_standard_query_parameters_answer_like_the_pure_matcher(office, params):
    client = token_client(office)
    stored: dict[str, epcis.Event] = {}
    retracted = set()
    for path in EXAMPLES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert post(client, doc).status_code == 201
        for ev in epcis.normalise(doc):
            if ev.error_declaration is not None:
                # the declaration replaces the event in answers; a second, different one with the same id conflicts
                if ev.event_id not in retracted:
                    stored[ev.event_id] = ev
                retracted.add(ev.event_id)
            else:
                stored.setdefault(ev.event_id, ev)
    parsed = epcis.parse_query_string(params)
    expected = sorted(e.event_id for e in epcis.filter_events(stored.values(), parsed))
    r = client.get("/api/epcis/events", {**params, "perPage": 1000})
    assert r.status_code == 200, r.json()
    got = sorted(ids_of(r))
    assert got == expected
    assert expected, "the query should find something in GS1's examples"


def test_unknown_query_parameter_is_a_query_parameter_exception(office):
    r = token_client(office).get("/api/epcis/events", {"EQ_nonsense": "x"})
    assert r.status_code == 400
    assert r.json()["type"] == "epcisException:QueryParameterException"


def test_paging_walks_every_event_once(office):
    client = token_client(office)
    for path in EXAMPLES[:12]:
        post(client, json.loads(path.read_text(encoding="utf-8")))
    total = Event.objects.filter(declared_error=False).count() - EventRetraction.objects.count()
    seen, token = [], None
    while True:
        params = {"perPage": 5, **({"nextPageToken": token} if token else {})}
        body = client.get("/api/epcis/events", params).json()
        seen += [e["eventID"] for e in body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
        token = body["epcisBody"]["queryResults"].get("nextPageToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) >= total - 3


# --- enterprises ----------------------------------------------------------------------------------------------

PG1, PG2 = "urn:epc:id:pgln:6901234.00001", "urn:epc:id:pgln:6901234.00002"
SG1, SG2 = "urn:epc:id:sgln:6901234.00001.0", "urn:epc:id:sgln:6901234.00002.0"


@pytest.fixture
def parties(orgs):
    with acting_as(username="test"):
        p1 = Party(identifier=PG1, name="平江化工有限公司", area_code="320508001", org=orgs["enterprise"],
                   kinds=["producer", "trader"])
        p1.save()
        p2 = Party(identifier=PG2, name="沧浪医药有限公司", area_code="320508002", org=orgs["enterprise2"],
                   kinds=["user"])
        p2.save()
        Site(party=p1, identifier=SG1, name="一号仓库", area_code="320508001").save()
        Site(party=p2, identifier=SG2, name="车间", area_code="320508002").save()
    return p1, p2


def shipping(event_id, source, dest, t="2026-03-01T08:00:00+08:00", step="shipping", loc=SG1):
    src_party = source
    return {"type": "ObjectEvent", "eventID": event_id, "eventTime": t, "eventTimeZoneOffset": "+08:00",
            "action": "OBSERVE", "bizStep": step, "disposition": "in_transit",
            "epcList": [f"urn:epc:id:sscc:6901234.{event_id[-6:]:0>10}"], "bizLocation": {"id": loc},
            "sourceList": [{"type": "owning_party", "source": src_party}],
            "destinationList": [{"type": "owning_party", "destination": dest}]}


def document(*events):
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T09:00:00+08:00",
            "epcisBody": {"eventList": list(events)}}


def test_enterprise_reports_and_sees_only_its_own(users_precursors, parties):
    ent, ent2 = token_client(users_precursors["ent"]), token_client(users_precursors["ent2"])
    r = post(ent, document(shipping("urn:uuid:00000000-0000-4000-8000-000000000001", PG1, PG2)))
    assert r.status_code == 201, r.json()
    assert Event.objects.get().party.identifier == PG1
    assert ids_of(ent.get("/api/epcis/events")) == ["urn:uuid:00000000-0000-4000-8000-000000000001"]
    assert ids_of(ent2.get("/api/epcis/events")) == []
    # the district office sees it; a school has no access at all
    assert len(ids_of(token_client(users_precursors["gusu"]).get("/api/epcis/events"))) == 1
    assert token_client(users_precursors["school"]).get("/api/epcis/events").status_code == 403
    # an enterprise cannot report another party's shipment
    r = post(ent2, document(shipping("urn:uuid:00000000-0000-4000-8000-000000000002", PG1, PG2)))
    assert r.status_code == 403
    assert "epcisBody.eventList[0]" == r.json()["errors"][0]["path"]
    assert Event.objects.count() == 1


def test_office_captures_on_behalf_of_a_party_in_scope(users_precursors, parties, orgs):
    gusu = token_client(users_precursors["gusu"])
    ev = shipping("urn:uuid:00000000-0000-4000-8000-000000000003", "urn:epc:id:pgln:9999999.00001", PG2,
                  loc="urn:epc:id:sgln:9999999.00001.0")
    r = post(gusu, document(ev), party=PG2)
    assert r.status_code == 201, r.json()
    stored = Event.objects.get()
    assert stored.party.identifier == PG2 and stored.area_code == "320508002"
    # a party outside the office's scope is refused
    with acting_as(username="test"):
        Party(identifier="urn:epc:id:pgln:6909999.00009", name="玄武某公司", area_code="320102001",
              org=orgs["nanjing"]).save()
    r = post(gusu, document(shipping("urn:uuid:00000000-0000-4000-8000-000000000004", PG1, PG2)),
             party="urn:epc:id:pgln:6909999.00009")
    assert r.status_code == 400


def test_error_declaration_retracts_the_event_from_queries(office):
    client = token_client(office)
    declared = epcis.load_example("WithErrorDeclaration_Example_9.6.1-ObjectEvent-with-error-declaration.jsonld")
    # the erroneous event as it was first captured: the declared one without its errorDeclaration
    original = copy.deepcopy(declared)
    original["epcisBody"]["eventList"] = [{k: v for k, v in ev.items() if k != "errorDeclaration"}
                                          for ev in original["epcisBody"]["eventList"] if "errorDeclaration" in ev]
    assert post(client, original).status_code == 201
    r = post(client, declared)
    assert r.status_code == 201
    ids = [e.event_id for e in epcis.normalise(declared) if e.error_declaration]
    assert set(r.json()["retracted_event_ids"]) == set(ids)
    body = client.get("/api/epcis/events", {"EQ_eventID": ids[0]}).json()
    events = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 1 and "errorDeclaration" in events[0]
    # an event and its declaration sent together in one document are both stored (no duplicate-key crash)
    both = copy.deepcopy(original)
    fresh = dict(both["epcisBody"]["eventList"][0], eventID="urn:uuid:20000000-0000-4000-8000-000000000001")
    both["epcisBody"]["eventList"] = [fresh, dict(fresh, errorDeclaration={
        "declarationTime": "2020-01-15T00:00:00.000+01:00", "reason": "incorrect_data"})]
    r = post(client, both)
    assert r.status_code == 201, r.json()
    assert r.json()["new"] == 2 and r.json()["retracted_event_ids"] == [fresh["eventID"]]


def test_an_enterprise_cannot_retract_or_book_at_another_partys_events(users_precursors, parties):
    seller, buyer = token_client(users_precursors["ent"]), token_client(users_precursors["ent2"])
    sale = shipping("urn:uuid:00000000-0000-4000-8000-000000000021", PG1, PG2)
    assert post(seller, document(sale)).status_code == 201
    declaration = dict(sale, errorDeclaration={"declarationTime": "2026-03-02T08:00:00+08:00",
                                               "reason": "did_not_occur"}, bizLocation={"id": SG2})
    r = post(buyer, document(declaration))
    messages = " ".join(e["message"] for e in r.json()["errors"])
    assert r.status_code == 403 and "urn:uuid:00000000-0000-4000-8000-000000000021" in messages
    assert not EventRetraction.objects.exists()
    # a shipment from an unregistered source, booked at the other party's site, is refused too
    at_their_site = shipping("urn:uuid:00000000-0000-4000-8000-000000000022", "urn:epc:id:pgln:9999999.00007", PG2,
                             loc=SG1)
    r = post(buyer, document(at_their_site))
    assert r.status_code == 403 and PG1 in r.json()["errors"][0]["message"]
    # the seller may correct its own sale
    own = dict(sale, errorDeclaration={"declarationTime": "2026-03-02T08:00:00+08:00", "reason": "incorrect_data"})
    assert post(seller, document(own)).json()["retracted_event_ids"] == [sale["eventID"]]


def test_events_are_append_only(office):
    from django.db import DatabaseError, connection, transaction

    post(token_client(office), epcis.load_example("Example_9.6.1-ObjectEvent.jsonld"))
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE precursors_event SET biz_step = 'receiving'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM precursors_event")


def test_retractions_are_append_only(office):
    """An error declaration's retraction is part of the record: neither edited nor removed, even by raw SQL."""
    from django.db import DatabaseError, connection, transaction

    client = token_client(office)
    event = epcis.load_example("Example_9.6.1-ObjectEvent.jsonld")
    post(client, event)
    declared = json.loads(json.dumps(event))
    first = declared["epcisBody"]["eventList"][0]
    first["errorDeclaration"] = {"declarationTime": "2026-03-02T08:00:00+08:00", "reason": "incorrect_data"}
    declared["epcisBody"]["eventList"] = [first]
    post(client, declared)
    assert EventRetraction.objects.count() == 1
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE precursors_eventretraction SET reason = 'edited'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM precursors_eventretraction")
    assert EventRetraction.objects.get().reason == "incorrect_data"


# --- result-set parameters ----------------------------------------------------------------------------------------

def _timed_events_doc():
    """Seven observations, captured out of time order, two of them at the same instant."""
    hours = [5, 1, 7, 3, 3, 6, 2]
    events = [{"type": "ObjectEvent", "eventTime": f"2026-04-01T0{h}:00:00+08:00", "eventTimeZoneOffset": "+08:00",
               "eventID": f"urn:uuid:30000000-0000-4000-8000-00000000000{i}", "action": "OBSERVE",
               "bizStep": "inspecting", "epcList": [f"urn:epc:id:sgtin:0614141.107346.rs{i}"]}
              for i, h in enumerate(hours)]
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": "2026-04-02T00:00:00+08:00",
            "epcisBody": {"eventList": events}}, hours


def _walk(client, **params):
    """Every page of a query: (event times in the order answered, number of pages)."""
    times, token, pages = [], None, 0
    while True:
        body = client.get("/api/epcis/events", {"EQ_bizStep": "inspecting", **params,
                                                **({"nextPageToken": token} if token else {})})
        assert body.status_code == 200, body.json()
        results = body.json()["epcisBody"]["queryResults"]
        times += [e["eventTime"][11:13] for e in results["resultsBody"]["eventList"]]
        pages += 1
        token = results.get("nextPageToken")
        if not token:
            return times, pages


def test_order_by_direction_and_limits_walk_pages_in_order(office):
    client = token_client(office)
    doc, hours = _timed_events_doc()
    assert post(client, doc).status_code == 201
    ascending = [f"0{h}" for h in sorted(hours)]
    assert _walk(client, orderBy="eventTime", orderDirection="ASC", perPage=3) == (ascending, 3)
    # DESC is the default direction; the two events at 03:00 both come, once, across a page boundary
    assert _walk(client, orderBy="eventTime", perPage=2) == (ascending[::-1], 4)
    assert _walk(client, orderBy="recordTime", perPage=10)[0] == [f"0{h}" for h in hours][::-1]
    # the first four in that order, however the pages fall
    assert _walk(client, orderBy="eventTime", eventCountLimit=4, perPage=3) == (ascending[::-1][:4], 2)
    assert _walk(client, orderBy="eventTime", orderDirection="ASC", eventCountLimit=2, perPage=5)[0] == ["01", "02"]
    # more matches than maxEventCount: QueryTooLargeException instead of a result
    r = client.get("/api/epcis/events", {"EQ_bizStep": "inspecting", "maxEventCount": 6})
    assert r.status_code == 413 and r.json()["type"] == "epcisException:QueryTooLargeException"
    assert _walk(client, maxEventCount=7, perPage=4)[0] == [f"0{h}" for h in hours]
    # a page token belongs to its ordering; the plain row ids of earlier versions still page in capture order
    first = client.get("/api/epcis/events", {"EQ_bizStep": "inspecting", "orderBy": "recordTime", "perPage": 2})
    token = first.json()["epcisBody"]["queryResults"]["nextPageToken"]
    pk_after_two = Event.objects.filter(biz_step="inspecting").order_by("pk").values_list("pk", flat=True)[1]
    r = client.get("/api/epcis/events", {"EQ_bizStep": "inspecting", "nextPageToken": str(pk_after_two)})
    assert [e["eventTime"][11:13] for e in r.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]] \
        == [f"0{h}" for h in hours[2:]]
    for bad in ({"orderBy": "bizStep"}, {"orderDirection": "UP"}, {"eventCountLimit": 0},
                {"eventCountLimit": 2, "maxEventCount": 5}, {"nextPageToken": "not-a-token"},
                {"nextPageToken": "²"}, {"orderBy": "eventTime", "nextPageToken": str(pk_after_two)},
                {"orderBy": "eventTime", "nextPageToken": token},
                {"orderBy": "recordTime", "orderDirection": "ASC", "nextPageToken": token}):
        r = client.get("/api/epcis/events", {"EQ_bizStep": "inspecting", **bad})
        assert r.status_code == 400 and r.json()["type"] == "epcisException:QueryParameterException", bad
