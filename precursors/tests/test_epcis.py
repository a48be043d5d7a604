"""EPCIS 2.0 capture helpers (precursors.algorithms.epcis): schema validation against GS1's vendored JSON Schema,
normalisation of every GS1 example, SimpleEventQuery matching, query documents.
Pure Python: run with ``pytest -p no:django``. ``python -m precursors.tests.test_epcis`` runs a micro-benchmark."""

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from precursors.algorithms import epcis as E
from precursors.algorithms.epcis import Quantity


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


EXAMPLES = E.example_paths()
QUERY_EXAMPLE = E.QUERY_EXAMPLES_DIR / "EPCISQueryDocument.jsonld"
ALL_DOCS = EXAMPLES + [QUERY_EXAMPLE]

#: GS1 examples that do not validate against GS1's own schema, with the reason. Empty: all 46 capture examples and
#: the query example validate (with jsonschema-rs, with the jsonschema fallback, bundled and modular schema alike).
KNOWN_INVALID_EXAMPLES: dict[str, str] = {}


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def tz(hours, minutes=0):
    return timezone(timedelta(hours=hours, minutes=minutes))


# --- vendored data ---------------------------------------------------------------------------------------------

def test_vendored_files_are_in_the_repo():
    assert E.DATA_DIR.parts[-3:] == ("precursors", "data", "epcis")
    assert len(EXAMPLES) == 46 and QUERY_EXAMPLE.exists()
    assert (E.SCHEMA_DIR / E.BUNDLED_SCHEMA).exists() and (E.SCHEMA_DIR / E.MODULAR_SCHEMA).exists()
    assert len(list((E.SCHEMA_DIR / "schemas").glob("*.json"))) == 15
    assert (E.DATA_DIR / "SOURCE.md").read_text(encoding="utf-8").count("Licence") >= 1


# --- every GS1 example -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ALL_DOCS, ids=lambda p: p.name)
@pytest.mark.parametrize("backend", E.available_backends())
def test_every_gs1_example_validates(path, backend):
    issues = E.validate_document(load(path), backend=backend)
    if path.name in KNOWN_INVALID_EXAMPLES:
        assert issues, f"{path.name} is listed as invalid ({KNOWN_INVALID_EXAMPLES[path.name]}) but validates"
    else:
        assert issues == [], [str(i) for i in issues]


@pytest.mark.parametrize("path", ALL_DOCS, ids=lambda p: p.name)
def test_modular_schema_resolves_sibling_refs_offline_and_agrees(path):
    assert E.validate_document(load(path), schema=E.MODULAR_SCHEMA) == []


@pytest.mark.parametrize("path", ALL_DOCS, ids=lambda p: p.name)
def test_every_gs1_example_normalises_one_event_per_event(path):
    doc = load(path)
    raw = (doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"] if doc["type"] == "EPCISQueryDocument"
           else doc["epcisBody"]["eventList"])
    events = E.normalise(doc)
    assert len(events) == len(raw) > 0
    for ev, src in zip(events, raw):
        assert ev.type == src["type"] and ev.raw is src
        assert ev.event_time.tzinfo is not None
        assert ev.event_time == E.parse_time(src["eventTime"])  # same instant…
        assert ev.event_time.utcoffset() == E.parse_offset(src["eventTimeZoneOffset"]).utcoffset(None)  # …local
        assert ev.event_id == src.get("eventID", ev.event_id) and ev.event_id
        assert ev.event_id_is_hash == ("eventID" not in src)
        assert ev.context[: len(doc["@context"])] == doc["@context"]
        for key, value in src.items():
            if key not in E.STANDARD_EVENT_FIELDS:
                assert ev.extensions[key] is value


def test_gs1_examples_reuse_some_event_ids_for_different_events():
    """A finding for the capture layer (idempotent by eventID): GS1's examples are independent documents and three
    eventIDs name different events in different files; two more are true duplicates (identical content)."""
    by_id: dict[str, set] = {}
    for path in EXAMPLES:
        for ev in E.normalise(load(path)):
            body = {k: v for k, v in ev.raw.items() if k != "recordTime"}
            by_id.setdefault(ev.event_id, set()).add(E.canonical_json(body))
    conflicting = sorted(k for k, bodies in by_id.items() if len(bodies) > 1)
    assert conflicting == [
        "ni:///sha-256;5f7c472bc4905de27a19b2efc8e4a9c6dc195139669b80b515f12218ff07cf65?ver=CBV2.0",  # Assoc.-f
        "ni:///sha-256;e1f630b9c84c84020eb9bc73f082324a420f4472dd6c14edb1f1ab98ea279f24?ver=CBV2.0",  # Sensor 13/17
        "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8",  # ErrorDeclarationAndCorrectiveEvent / object all fields
    ]
    assert len(by_id) == 48  # 54 events in the 46 examples


# --- field round trips -----------------------------------------------------------------------------------------

def test_object_event_with_quantity_list_and_all_fields():
    (ev,) = E.normalise(E.load_example("WithFullCombinationOfFields_object_event_all_possible_fields.jsonld"))
    assert ev.type == "ObjectEvent" and ev.action == "ADD"
    assert ev.event_id == "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8"
    # eventTime 2005-04-05T02:33:31.116Z shown in the event's own zone, -06:00
    assert ev.event_time == datetime(2005, 4, 4, 20, 33, 31, 116000, tzinfo=tz(-6))
    assert ev.event_time.utcoffset() == timedelta(hours=-6) and ev.event_time_zone_offset == "-06:00"
    assert ev.record_time is None
    assert ev.quantity_list == (Quantity("urn:epc:class:lgtin:4012345.012345.998877", 200, "KGM"),)
    assert ev.epc_list == ("urn:epc:id:sgtin:0614141.107346.2018",)
    assert (ev.biz_step, ev.disposition) == ("receiving", "in_progress")
    assert ev.read_point == "urn:epc:id:sgln:0012345.11111.400"
    assert ev.biz_location == "urn:epc:id:sgln:0012345.11111.0"
    assert ev.sources == {"location": ["urn:epc:id:sgln:4012345.00225.0"],
                          "possessing_party": ["urn:epc:id:pgln:4012345.00225"],
                          "owning_party": ["urn:epc:id:pgln:4012345.00225"]}
    assert ev.destinations["owning_party"] == ["urn:epc:id:pgln:0614141.00777"]
    assert ev.biz_transaction_list == (("po", "urn:epc:id:gdti:0614141.00001.1618034"),
                                       ("pedigree", "urn:epc:id:gsrn:0614141.0000010253"))
    assert ev.ilmd["cbvmda:lotNumber"] == "ABC123" and ev.ilmd["ext1:object"]["ext2:string"] == "stringInObject"
    assert ev.sensor_element_list[0]["sensorReport"][0]["value"] == 26  # kept raw
    assert ev.persistent_disposition == {"set": ["completeness_verified"], "unset": ["completeness_inferred"]}
    assert ev.certification_info == "https://accreditation-council.example.org/certificate/ABC12345"
    assert ev.error_declaration.reason == "incorrect_data"
    assert ev.extensions["ext1:int"] == "10" and ev.extensions["ext1:array"][5]["ext1:object"]["ext1:object"]
    assert E.expand_term("ext1:int", ev.context) == "http://example.com/ext1/int"


def test_aggregation_event_parent_and_children():
    (ev,) = E.normalise(E.load_example("Example_9.6.3-AggregationEvent.jsonld"))
    assert ev.type == "AggregationEvent" and ev.action == "OBSERVE"
    assert ev.parent_id == "urn:epc:id:sscc:0614141.1234567890"
    assert ev.child_epcs == ("urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018")
    assert ev.child_quantity_list == (Quantity("urn:epc:idpat:sgtin:4012345.098765.*", 10, None),
                                      Quantity("urn:epc:class:lgtin:4012345.012345.998877", 200.5, "KGM"))
    assert ev.all_epcs()[:1] == ("urn:epc:id:sscc:0614141.1234567890",)
    assert ev.event_time == datetime(2013, 6, 8, 16, 58, 56, 591000, tzinfo=tz(2))


def test_transformation_event_inputs_and_outputs():
    (ev,) = E.normalise(E.load_example("WithFullCombinationOfFields_transformation_event_all_possible_fields.jsonld"))
    assert ev.type == "TransformationEvent" and ev.action is None
    assert ev.input_epc_list == ("urn:epc:id:sgtin:4012345.011122.25", "urn:epc:id:sgtin:4000001.065432.99886655")
    assert ev.input_quantity_list[0] == Quantity("urn:epc:class:lgtin:4012345.011111.4444", 10, "KGM")
    assert ev.input_quantity_list[1].uom is None and ev.input_quantity_list[2].quantity == 220
    assert ev.output_epc_list[-1] == "urn:epc:id:sgtin:4012345.077889.28" and len(ev.output_epc_list) == 4
    assert ev.output_quantity_list[0].epc_class == "urn:epc:class:lgtin:4012345.011111.4444"
    assert ev.transformation_id == "urn:epc:id:gdti:0614141.12345.400"
    assert ev.ilmd["cbvmda:countryOfOrigin"] == "GB"
    assert E.expand_term("cbvmda:lotNumber", ev.context) == "http://example.com/cbvmda/lotNumber"


def test_transaction_events_biz_transactions_untyped_and_extensions():
    first, rail = E.normalise(E.load_example("Example-TransactionEvents-2020_07_03y.jsonld"))
    assert first.type == "TransactionEvent" and first.action == "ADD"
    assert first.biz_transaction_list == ((None, "urn:epc:id:gdti:95252084.0001.0003555480001000"),)
    assert first.biz_step == "http://epcis.example.org/hc/bizstep/summarising_discharge"  # non-CBV: verbatim
    assert first.event_id_is_hash and first.event_id.startswith(E.HASH_ID_PREFIX)
    assert rail.biz_transactions == {"urn:gs1:epcisapp:rail:btt:passage":
                                     ["http://transaction.examplerail.com/passage/xyz12345"]}
    assert rail.extensions["rail:vehicle"][2]["rail:vehicleUniquelyIdentified"] is True
    assert rail.extensions["rail:trainAxleCount"] == "12"
    assert E.expand_term("rail:vehicle", rail.context) == "urn:gs1:epcisapp:rail:vehicle"
    (full,) = E.normalise(E.load_example("WithFullCombinationOfFields_transaction_event_all_possible_fields.jsonld"))
    assert full.biz_transactions == {"po": ["urn:epc:id:gdti:0614141.00001.1618034"],
                                     "pedigree": ["urn:epc:id:gsrn:0614141.0000010253"]}
    assert full.parent_id == "urn:epc:id:sscc:0614141.1234567890" and len(full.epc_list) == 2


def test_error_declaration_with_corrective_event_ids():
    declared, corrective = E.normalise(E.load_example("WithErrorDeclaration_ErrorDeclarationAndCorrectiveEvent.jsonld"))
    ed = declared.error_declaration
    assert ed.declaration_time == datetime(2020, 1, 15, tzinfo=tz(1))
    assert ed.reason == "incorrect_data"
    assert ed.corrective_event_ids == ("urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8",)
    assert ed.corrective_event_ids[0] == corrective.event_id and corrective.error_declaration is None
    assert ed.extensions == {"example:vendorExtension": "Test1"}
    assert declared.input_quantity_list == (Quantity("urn:epc:class:lgtin:4012345.022222.87545GHGH", 500, "KGM"),)
    (_first, _second) = E.normalise(
        E.load_example("WithErrorDeclaration_Example_9.6.1-ObjectEvent-with-error-declaration.jsonld"))
    assert len(_first.error_declaration.corrective_event_ids) == 2


def test_extension_field_kept_verbatim_with_context():
    doc = E.load_example("Example_9.6.1-ObjectEvent.jsonld")
    first, second = E.normalise(doc)
    assert first.extensions == {}
    assert second.extensions == {"example:myField": "Example of a vendor/user extension"}
    assert second.context == doc["@context"]
    assert second.namespaces() == {"example": "http://ns.example.com/epcis/"}
    assert E.expand_term("example:myField", second.context) == "http://ns.example.com/epcis/myField"
    assert E.expand_term("unknown:x", second.context) is None
    (commented, _) = E.normalise(E.load_example("Example_9.6.1-with-comment.jsonld"))
    assert commented.extensions["rdfs:comment"].startswith("An ObjectEvent may be used")


def test_association_event():
    (ev,) = E.normalise(E.load_example("Example-Type-sourceOrDestination_measurement_bizTransaction.jsonld"))
    assert ev.type == "AssociationEvent" and ev.parent_id == "urn:epc:id:grai:4012345.55555.98765"
    assert ev.child_quantity_list == (Quantity("urn:epc:class:lgtin:4023333.002000.998877", 4, None),)
    assert ev.record_time == datetime(2019, 11, 6, 14, 5, tzinfo=tz(1))
    assert ev.sources == {"possessing_party": ["urn:epc:id:pgln:4000001.00012"]}


def test_query_document_and_single_event_inputs():
    from_query = E.normalise(load(QUERY_EXAMPLE))
    from_capture = E.normalise(E.load_example("Example_9.6.1-ObjectEvent.jsonld"))
    assert [e.event_id for e in from_query] == [e.event_id for e in from_capture]
    single = copy.deepcopy(from_capture[1].raw)
    single["@context"] = [E.EPCIS_CONTEXT_URL, {"example": "http://ns.example.com/epcis/"}]
    assert E.validate_document(single) == []
    (ev,) = E.normalise(single)
    assert ev.event_id == from_capture[1].event_id and ev.context == single["@context"]
    assert len(E.normalise([from_capture[0].raw, from_capture[1].raw])) == 2
    with pytest.raises(ValueError, match="not an EPCIS document"):
        E.normalise({"type": "Something"})


def test_record_time_stamped_by_the_repository():
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    events = E.normalise(E.load_example("Example_9.6.1-ObjectEvent.jsonld"), record_time=now)
    assert {e.record_time for e in events} == {now}


# --- CBV vocabulary forms --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, vocab, word", [
    ("shipping", "bizstep", "shipping"),
    ("urn:epcglobal:cbv:bizstep:shipping", "bizstep", "shipping"),
    ("https://ref.gs1.org/cbv/BizStep-shipping", "bizstep", "shipping"),
    ("in_transit", "disp", "in_transit"),
    ("urn:epcglobal:cbv:disp:in_transit", "disp", "in_transit"),
    ("https://ref.gs1.org/cbv/Disp-in_transit", "disp", "in_transit"),
    ("urn:epcglobal:cbv:btt:po", "btt", "po"),
    ("https://ref.gs1.org/cbv/BTT-inv", "btt", "inv"),
    ("urn:epcglobal:cbv:sdt:owning_party", "sdt", "owning_party"),
    ("https://ref.gs1.org/cbv/SDT-possessing_party", "sdt", "possessing_party"),
    ("https://ref.gs1.org/cbv/ER-did_not_occur", "er", "did_not_occur"),
    ("https://ref.gs1.org/cbv/Disp-in_transit", "bizstep", "https://ref.gs1.org/cbv/Disp-in_transit"),
    ("http://epcis.example.org/hc/bizstep/summarising_discharge", "bizstep",
     "http://epcis.example.org/hc/bizstep/summarising_discharge"),
    (None, "disp", None),
])
def test_cbv_word(value, vocab, word):
    assert E.cbv_word(value, vocab) == word


def test_normalise_accepts_the_three_cbv_forms_that_other_doors_produce():
    base = E.load_example("WithFullCombinationOfFields_object_event_all_possible_fields.jsonld")["epcisBody"][
        "eventList"][0]
    ev = dict(base, bizStep="urn:epcglobal:cbv:bizstep:shipping", disposition="https://ref.gs1.org/cbv/Disp-in_transit",
              sourceList=[{"type": "urn:epcglobal:cbv:sdt:owning_party", "source": "urn:epc:id:pgln:4012345.00225"}],
              bizTransactionList=[{"type": "https://ref.gs1.org/cbv/BTT-po", "bizTransaction": "urn:x:po:1"}],
              errorDeclaration={"declarationTime": "2026-01-01T00:00:00Z",
                                "reason": "urn:epcglobal:cbv:er:incorrect_data"})
    (out,) = E.normalise([ev])
    assert (out.biz_step, out.disposition) == ("shipping", "in_transit")
    assert out.source_list == (("owning_party", "urn:epc:id:pgln:4012345.00225"),)
    assert out.biz_transaction_list == (("po", "urn:x:po:1"),)
    assert out.error_declaration.reason == "incorrect_data"


def test_time_parsing():
    assert E.parse_time("2005-07-11T11:30:47.0Z") == datetime(2005, 7, 11, 11, 30, 47, tzinfo=UTC)
    assert E.parse_time("2005-07-11t11:30:47z") == datetime(2005, 7, 11, 11, 30, 47, tzinfo=UTC)
    assert E.parse_time("2026-03-01T10:00:00", tz(8)).utcoffset() == timedelta(hours=8)
    assert E.parse_offset("-03:30").utcoffset(None) == -timedelta(hours=3, minutes=30)
    with pytest.raises(ValueError, match="no UTC offset"):
        E.parse_time("2026-03-01T10:00:00")
    with pytest.raises(ValueError, match="offset"):
        E.parse_offset("8")
    assert E.format_time(datetime(2026, 3, 1, 2, tzinfo=UTC)) == "2026-03-01T02:00:00.000Z"


# --- invalid documents -----------------------------------------------------------------------------------------

def broken(mutate):
    doc = E.load_example("Example_9.6.1-ObjectEvent.jsonld")
    mutate(doc["epcisBody"]["eventList"])
    return doc


@pytest.mark.parametrize("backend", E.available_backends())
@pytest.mark.parametrize("mutate, path, words", [
    (lambda evs: evs[1].pop("eventTime"), "epcisBody.eventList[1].eventTime", "required"),
    (lambda evs: evs[1].update(action="MOVE"), "epcisBody.eventList[1].action", "OBSERVE"),
    (lambda evs: evs[0].update(eventTime="yesterday"), "epcisBody.eventList[0].eventTime", "date-time"),
    (lambda evs: evs[0].update(eventTimeZoneOffset="8h"), "epcisBody.eventList[0].eventTimeZoneOffset", "match"),
    (lambda evs: evs[1].update(bizStep="not a step"), "epcisBody.eventList[1].bizStep", ""),
    # GS1's 2.0 schema refuses the EPCIS 1.x URN form of CBV values (normalise() would accept it)
    (lambda evs: evs[1].update(bizStep="urn:epcglobal:cbv:bizstep:shipping"), "epcisBody.eventList[1].bizStep", ""),
    (lambda evs: evs[0].update(permitNo="X1"), "epcisBody.eventList[0].permitNo", "namespace prefix"),
    (lambda evs: evs[0].update(quantityList=[{"epcClass": "urn:epc:class:lgtin:1.2.3", "quantity": "5"}]),
     "epcisBody.eventList[0].quantityList[0].quantity", "number"),
])
def test_invalid_document_issues_name_the_path(backend, mutate, path, words):
    issues = E.validate_document(broken(mutate), backend=backend)
    assert issues, "should be refused"
    hits = [i for i in issues if i.path == path]
    assert hits, [str(i) for i in issues]
    assert words in " ".join(i.message for i in hits)


def test_invalid_document_is_refused_whole():
    doc = broken(lambda evs: evs[1].update(action="MOVE"))
    with pytest.raises(E.EPCISDocumentError) as caught:
        E.parse_document(doc)
    assert {i.path for i in caught.value.issues} >= {"epcisBody.eventList[1].action"}
    assert "eventList[1].action" in str(caught.value)
    assert len(E.parse_document(E.load_example("Example_9.6.1-ObjectEvent.jsonld"))) == 2


def test_document_level_issues_and_truncation():
    doc = E.load_example("Example_9.6.1-ObjectEvent.jsonld")
    del doc["@context"]
    assert [str(i) for i in E.validate_document(doc)] == ["@context: required property '@context' is missing"]
    many = E.load_example("Example_9.6.1-ObjectEvent.jsonld")
    many["epcisBody"]["eventList"] = [dict(many["epcisBody"]["eventList"][0], action="MOVE", eventID=f"urn:x:{i}")
                                      for i in range(30)]
    issues = E.validate_document(many, max_issues=10)
    assert len(issues) == 11 and issues[-1].keyword == "truncated" and "more issue" in issues[-1].message


def test_json_path():
    assert E.json_path(["epcisBody", "eventList", 3, "bizStep"]) == "epcisBody.eventList[3].bizStep"
    assert E.json_path(["a", "ext:permitNo"]) == "a.ext:permitNo"
    assert E.json_path(["a", "odd key.x"]) == 'a["odd key.x"]'
    assert E.json_path([]) == ""


def test_validator_is_offline():
    with pytest.raises(LookupError, match="offline"):
        E._refuse_network("https://gs1.github.io/EPCIS/elsewhere.json")


# --- a small precursor supply chain for the query tests ----------------------------------------------------------

EXT = "https://jindu.example.org/epcis/"
SSCC = "urn:epc:id:sscc:6901234.0000000001"
LOT = "urn:epc:class:lgtin:6901234.012345.L2026A"
PRODUCT_LOT = "urn:epc:class:lgtin:6905555.054321.P1"
SELLER, BUYER = "urn:epc:id:pgln:6901234.00001", "urn:epc:id:pgln:6909999.00001"
SITE = "urn:epc:id:sgln:6901234.00001.0"
DOCK = "urn:epc:id:sgln:6901234.00001.1"


def chain_doc():
    return {
        "@context": [E.EPCIS_CONTEXT_URL, {"ext": EXT}],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-06T00:00:00+08:00",
        "epcisBody": {"eventList": [
            {"type": "AggregationEvent", "eventID": "urn:uuid:10000000-0000-4000-8000-000000000001",
             "eventTime": "2026-02-28T09:00:00+08:00", "eventTimeZoneOffset": "+08:00", "action": "ADD",
             "bizStep": "packing", "disposition": "in_progress", "parentID": SSCC,
             "childEPCs": ["urn:epc:id:sgtin:6901234.012345.1001", "urn:epc:id:sgtin:6901234.012345.1002"],
             "childQuantityList": [{"epcClass": LOT, "quantity": 50, "uom": "KGM"}],
             "readPoint": {"id": "urn:epc:id:sgln:6901234.00001.2"}, "bizLocation": {"id": SITE}},
            {"type": "ObjectEvent", "eventID": "urn:uuid:10000000-0000-4000-8000-000000000002",
             "eventTime": "2026-03-01T10:00:00+08:00", "eventTimeZoneOffset": "+08:00",
             "recordTime": "2026-03-01T10:05:00+08:00", "action": "OBSERVE",
             "bizStep": "shipping", "disposition": "in_transit", "epcList": [SSCC],
             "quantityList": [{"epcClass": LOT, "quantity": 200, "uom": "KGM"}],
             "readPoint": {"id": DOCK}, "bizLocation": {"id": SITE},
             "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epc:id:gdti:6909999.00001.PO1"},
                                    {"type": "desadv", "bizTransaction": "urn:epc:id:gdti:6901234.00001.D7"}],
             "sourceList": [{"type": "owning_party", "source": SELLER}],
             "destinationList": [{"type": "owning_party", "destination": BUYER}],
             "persistentDisposition": {"set": ["completeness_verified"]},  # GS1's schema: Object/Transformation only
             "ext:permitNo": "苏(2026)购第001号", "ext:waybillNo": "WB-1"},
            {"type": "TransformationEvent",
             "eventTime": "2026-03-05T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
             "inputEPCList": ["urn:epc:id:sgtin:6901234.012345.1001"],
             "inputQuantityList": [{"epcClass": LOT, "quantity": 100, "uom": "KGM"}],
             "outputEPCList": ["urn:epc:id:sgtin:6905555.054321.9"],
             "outputQuantityList": [{"epcClass": PRODUCT_LOT, "quantity": 80, "uom": "KGM"}],
             "transformationID": "urn:epc:id:gdti:6909999.00001.T1", "bizStep": "commissioning",
             "readPoint": {"id": "urn:epc:id:sgln:6909999.00001.3"}},
            {"type": "TransactionEvent", "eventID": "urn:uuid:10000000-0000-4000-8000-000000000004",
             "eventTime": "2026-03-01T09:00:00+08:00", "eventTimeZoneOffset": "+08:00", "action": "ADD",
             "bizStep": "https://ref.gs1.org/cbv/BizStep-shipping", "epcList": [SSCC],
             "bizTransactionList": [{"type": "inv", "bizTransaction": "urn:epc:id:gdti:6901234.00001.INV9"}],
             "readPoint": {"id": DOCK},
             "errorDeclaration": {"declarationTime": "2026-03-02T09:00:00+08:00", "reason": "incorrect_data",
                                  "correctiveEventIDs": ["urn:uuid:10000000-0000-4000-8000-000000000099"]}},
        ]},
    }


@pytest.fixture(scope="module")
def chain():
    doc = chain_doc()
    assert E.validate_document(doc) == []
    pack, ship, transform, txn = E.normalise(doc)
    return {"pack": pack, "ship": ship, "transform": transform, "txn": txn}


QUERY_CASES = [
    # (params, events that match, events that do not)
    ({"eventType": "ObjectEvent"}, ["ship"], ["pack", "transform"]),
    ({"eventType": ["AggregationEvent", "TransformationEvent"]}, ["pack", "transform"], ["ship", "txn"]),
    ({"GE_eventTime": "2026-03-01T10:00:00+08:00"}, ["ship", "transform"], ["pack", "txn"]),  # inclusive
    ({"GE_eventTime": "2026-03-01T02:00:00Z"}, ["ship"], ["txn"]),  # any zone
    ({"LT_eventTime": "2026-03-01T10:00:00+08:00"}, ["pack", "txn"], ["ship"]),  # exclusive
    ({"GE_recordTime": "2026-03-01T10:05:00+08:00"}, ["ship"], ["pack"]),  # no recordTime: no match
    ({"LT_recordTime": "2026-03-01T10:06:00+08:00"}, ["ship"], ["pack"]),
    ({"LT_recordTime": "2026-03-01T10:05:00+08:00"}, [], ["ship"]),
    ({"EQ_action": "ADD"}, ["pack", "txn"], ["ship", "transform"]),
    ({"EQ_action": ["OBSERVE", "DELETE"]}, ["ship"], ["pack"]),
    ({"EQ_bizStep": "shipping"}, ["ship", "txn"], ["pack"]),  # txn wrote the Web-URI form
    ({"EQ_bizStep": "urn:epcglobal:cbv:bizstep:shipping"}, ["ship", "txn"], ["transform"]),
    ({"EQ_bizStep": ["packing", "commissioning"]}, ["pack", "transform"], ["ship"]),
    ({"EQ_disposition": "in_transit"}, ["ship"], ["pack", "transform"]),
    ({"EQ_readPoint": DOCK}, ["ship", "txn"], ["pack"]),
    ({"EQ_bizLocation": SITE}, ["pack", "ship"], ["transform", "txn"]),
    ({"MATCH_epc": SSCC}, ["ship", "txn"], ["pack"]),  # pack names it as parentID only
    ({"MATCH_epc": "urn:epc:idpat:sgtin:6901234.012345.*"}, ["pack"], ["transform"]),  # input lists don't count
    ({"MATCH_epc": "urn:epc:idpat:sgtin:6901234.012345.[1000-1001]"}, ["pack"], ["ship"]),
    ({"MATCH_parentID": SSCC}, ["pack"], ["ship"]),
    ({"MATCH_parentID": "urn:epc:idpat:sscc:6901234.*"}, ["pack"], ["txn"]),
    ({"MATCH_inputEPC": "urn:epc:id:sgtin:6901234.012345.1001"}, ["transform"], ["pack"]),
    ({"MATCH_outputEPC": "urn:epc:idpat:sgtin:6905555.*.*"}, ["transform"], ["ship", "pack"]),
    ({"MATCH_anyEPC": SSCC}, ["pack", "ship", "txn"], ["transform"]),
    ({"MATCH_anyEPC": "urn:epc:id:sgtin:6905555.054321.9"}, ["transform"], ["pack"]),
    ({"MATCH_epcClass": LOT}, ["pack", "ship"], ["transform"]),  # quantityList and childQuantityList only
    ({"MATCH_epcClass": "urn:epc:idpat:sgtin:6901234.012345.*"}, ["ship", "pack"], ["transform", "txn"]),
    ({"MATCH_epcClass": "urn:epc:idpat:sgtin:6901234.012345.L2026A"}, [], ["ship"]),  # a serial is not a lot
    ({"MATCH_inputEPCClass": LOT}, ["transform"], ["ship"]),
    ({"MATCH_outputEPCClass": PRODUCT_LOT}, ["transform"], ["pack"]),
    ({"MATCH_anyEPCClass": PRODUCT_LOT}, ["transform"], ["ship"]),
    ({"MATCH_anyEPCClass": LOT}, ["pack", "ship", "transform"], ["txn"]),
    ({"EQ_bizTransaction_po": "urn:epc:id:gdti:6909999.00001.PO1"}, ["ship"], ["txn"]),
    ({"EQ_bizTransaction_inv": ["urn:x", "urn:epc:id:gdti:6901234.00001.INV9"]}, ["txn"], ["ship"]),
    ({"EQ_bizTransaction_desadv": "urn:epc:id:gdti:6909999.00001.PO1"}, [], ["ship"]),  # right id, wrong type
    ({"EQ_source_owning_party": SELLER}, ["ship"], ["pack"]),
    ({"EQ_source_owning_party": BUYER}, [], ["ship"]),
    ({"EQ_destination_owning_party": BUYER}, ["ship"], ["txn"]),
    ({"EQ_destination_possessing_party": BUYER}, [], ["ship"]),
    ({"EQ_transformationID": "urn:epc:id:gdti:6909999.00001.T1"}, ["transform"], ["ship"]),
    ({"EQ_eventID": "urn:uuid:10000000-0000-4000-8000-000000000002"}, ["ship"], ["pack"]),
    ({"EXISTS_errorDeclaration": "true"}, ["txn"], ["ship"]),
    ({"EXISTS_errorDeclaration": False}, ["ship"], ["txn"]),
    ({"EQ_errorReason": "https://ref.gs1.org/cbv/ER-incorrect_data"}, ["txn"], ["ship"]),
    ({"EQ_correctiveEventID": "urn:uuid:10000000-0000-4000-8000-000000000099"}, ["txn"], ["pack"]),
    ({"GE_errorDeclarationTime": "2026-03-02T00:00:00+08:00"}, ["txn"], ["ship"]),
    ({"LT_errorDeclarationTime": "2026-03-02T00:00:00+08:00"}, [], ["txn"]),
    ({"EQ_persistentDisposition_set": "completeness_verified"}, ["ship"], ["pack"]),
    ({"EQ_ext:permitNo": "苏(2026)购第001号"}, ["ship"], ["pack"]),
    ({f"EQ_{EXT}waybillNo": "WB-1"}, ["ship"], ["txn"]),  # by full IRI, resolved through @context
    ({"EXISTS_ext:waybillNo": "true"}, ["ship"], ["transform"]),
    # AND across parameters
    ({"eventType": "ObjectEvent", "EQ_bizStep": "shipping", "MATCH_epcClass": LOT}, ["ship"], ["txn", "pack"]),
    ({"eventType": "ObjectEvent", "EQ_bizStep": "packing"}, [], ["ship", "pack"]),
    ({"orderBy": "eventTime", "eventCountLimit": "5"}, ["pack", "ship", "transform", "txn"], []),  # result-set
]


@pytest.mark.parametrize("params, yes, no", QUERY_CASES, ids=lambda v: json.dumps(v, ensure_ascii=False)[:70]
                         if isinstance(v, dict) else None)
def test_query_parameters(chain, params, yes, no):
    for key in yes:
        assert E.matches(chain[key], params), f"{key} should match {params}"
    for key in no:
        assert not E.matches(chain[key], params), f"{key} should not match {params}"


def test_every_required_parameter_has_a_positive_and_a_negative_case():
    required = ["eventType", "GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime", "EQ_action",
                "EQ_bizStep", "EQ_disposition", "EQ_readPoint", "EQ_bizLocation", "MATCH_epc", "MATCH_parentID",
                "MATCH_inputEPC", "MATCH_outputEPC", "MATCH_anyEPC", "MATCH_epcClass", "MATCH_anyEPCClass",
                "EQ_bizTransaction_", "EQ_source_", "EQ_destination_"]
    for name in required:
        cases = [(p, y, n) for p, y, n in QUERY_CASES if any(k == name or k.startswith(name) for k in p)]
        assert any(y for _, y, _ in cases) and any(n for _, _, n in cases), name


def test_query_filters_gs1_examples():
    events = [e for p in EXAMPLES for e in E.normalise(load(p))]
    shipped = E.filter_events(events, {"EQ_bizStep": "shipping", "MATCH_anyEPC": "urn:epc:idpat:sgtin:0614141.*.*"})
    assert shipped and all(e.biz_step == "shipping" for e in shipped)
    dl = E.filter_events(events, {"MATCH_epc": "https://id.gs1.org/01/70614141123451/21/*"})  # prefix convenience
    assert {e.type for e in dl} >= {"AggregationEvent"}
    lots = E.filter_events(events, {"MATCH_epcClass": "urn:epc:idpat:sgtin:4012345.012345.*"})
    assert {e.event_id for e in lots} >= {"urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8"}


@pytest.mark.parametrize("pattern, value, is_class, expected", [
    ("urn:epc:idpat:sgtin:4012345.098765.*", "urn:epc:id:sgtin:4012345.098765.12", False, True),
    ("urn:epc:idpat:sgtin:4012345.098765.*", "urn:epc:id:sgtin:4012345.098766.12", False, False),
    ("urn:epc:idpat:sgtin:4012345.*.*", "urn:epc:id:sgtin:4012345.098765.A.B", False, True),  # dot in serial
    ("urn:epc:idpat:sgtin:4012345.098765.*", "urn:epc:id:sscc:4012345.098765", False, False),
    ("urn:epc:idpat:sgtin:4012345.098765.[10-20]", "urn:epc:id:sgtin:4012345.098765.15", False, True),
    ("urn:epc:idpat:sgtin:4012345.098765.[10-20]", "urn:epc:id:sgtin:4012345.098765.21", False, False),
    ("urn:epc:idpat:sgtin:4012345.098765.*", "urn:epc:class:lgtin:4012345.098765.LOT", False, False),
    ("urn:epc:idpat:sgtin:4012345.098765.*", "urn:epc:class:lgtin:4012345.098765.LOT", True, True),
    ("urn:epc:idpat:sgtin:4012345.098765.*", "urn:epc:idpat:sgtin:4012345.098765.*", True, True),
    ("urn:epc:idpat:sgtin:4012345.098765.7", "urn:epc:idpat:sgtin:4012345.098765.*", True, False),
    ("urn:epc:idpat:sgtin:4012345.*.*", "urn:epc:idpat:sgtin:4012345.098765.*", True, True),
    ("urn:epc:class:lgtin:4012345.098765.*", "urn:epc:class:lgtin:4012345.098765.LOT", True, True),  # prefix
    ("https://id.gs1.org/01/04012345123456/10/*", "https://id.gs1.org/01/04012345123456/10/998877", True, True),
    ("urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2017", False, True),
    ("urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.20170", False, False),
    ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/70614141073467/21/2017", False, False),
])
def test_epc_patterns(pattern, value, is_class, expected):
    assert E.epc_matches(pattern, value, epc_class=is_class) is expected


def test_bad_and_unsupported_parameters(chain):
    for params in ({"WD_readPoint": DOCK}, {"EQ_ATTR_urn:x": "y"}, {"EQ_quantity": "5"}, {"MATCH_whatever": "x"},
                   {"GE_eventTime": "not a time"}, {"GE_eventTime": "2026-03-01T10:00:00"}, {"EQ_bizStep": []},
                   {"EQ_bizStep": 5}, {"EXISTS_errorDeclaration": "maybe"}, {"EQ_source_": "x"}):
        with pytest.raises(E.QueryParameterError):
            E.compile_query(params)


def test_parse_query_string():
    params = E.parse_query_string([("EQ_bizStep", "shipping|receiving"), ("EQ_bizStep", "packing"),
                                   ("GE_eventTime", "2026-03-01T00:00:00+08:00"), ("MATCH_epc", SSCC)])
    assert params == {"EQ_bizStep": ["shipping", "receiving", "packing"],
                      "GE_eventTime": "2026-03-01T00:00:00+08:00", "MATCH_epc": [SSCC]}


# --- identity --------------------------------------------------------------------------------------------------

def test_hash_id_for_events_without_event_id(chain):
    transform = chain["transform"]
    assert transform.event_id_is_hash and chain["ship"].event_id_is_hash is False
    raw = transform.raw
    body = {k: v for k, v in raw.items() if k != "recordTime"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode("utf-8")).hexdigest()
    assert transform.event_id == "urn:jindu:event:sha-256:" + expected
    # deterministic: again, keys reordered, recordTime added or changed: same id
    again = E.normalise(chain_doc())[2]
    reordered = dict(reversed(list(raw.items())))
    stamped = dict(raw, recordTime="2030-01-01T00:00:00Z")
    assert again.event_id == transform.event_id
    assert E.normalise([reordered])[0].event_id == transform.event_id
    assert E.normalise([stamped])[0].event_id == transform.event_id
    # any change of content gives another id
    changed = copy.deepcopy(raw)
    changed["inputQuantityList"][0]["quantity"] = 101
    assert E.normalise([changed])[0].event_id != transform.event_id


# --- query documents -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_query_document_of_each_example_validates_and_round_trips(path):
    events = E.normalise(load(path))
    qd = E.to_query_document(events, subscription_id="sub-1", document_id="urn:uuid:6f0f6c44-0000-4000-8000-1")
    assert qd["type"] == "EPCISQueryDocument" and qd["epcisBody"]["queryResults"]["queryName"] == "SimpleEventQuery"
    assert E.validate_document(qd) == [], [str(i) for i in E.validate_document(qd)]
    back = E.normalise(qd)
    assert [e.event_id for e in back] == [e.event_id for e in events]
    assert [e.extensions for e in back] == [e.extensions for e in events]
    assert [e.event_time for e in back] == [e.event_time for e in events]


def test_query_document_shape_matches_gs1_example():
    gs1 = load(QUERY_EXAMPLE)
    ours = E.to_query_document(E.normalise(gs1), subscription_id=gs1["epcisBody"]["queryResults"]["subscriptionID"],
                               document_id=gs1["id"], creation_date=E.parse_time(gs1["creationDate"]))
    assert set(ours) == set(gs1)
    assert set(ours["epcisBody"]["queryResults"]) == set(gs1["epcisBody"]["queryResults"])
    assert ours["@context"] == gs1["@context"]
    assert ours["epcisBody"]["queryResults"]["resultsBody"] == gs1["epcisBody"]["queryResults"]["resultsBody"]


def test_query_document_fills_ids_record_times_and_keeps_clashing_prefixes_apart(chain):
    rec = datetime(2026, 3, 6, tzinfo=UTC)
    events = E.normalise(chain_doc(), record_time=rec)
    other = copy.deepcopy(chain_doc())
    other["@context"][1] = {"ext": "https://another.example.org/"}
    clash = E.normalise(other)[1]
    qd = E.to_query_document(events + [clash])
    assert E.validate_document(qd) == []
    out = qd["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert out[2]["eventID"] == chain["transform"].event_id and out[0]["recordTime"] == "2026-03-06T00:00:00.000Z"
    assert qd["@context"] == [E.EPCIS_CONTEXT_URL, {"ext": EXT}]
    assert out[-1]["@context"][1] == {"ext": "https://another.example.org/"} and "@context" not in out[1]
    back = E.normalise(qd)
    assert E.expand_term("ext:permitNo", back[-1].context) == "https://another.example.org/permitNo"
    assert E.expand_term("ext:permitNo", back[1].context) == EXT + "permitNo"


# --- micro-benchmark (not a test) --------------------------------------------------------------------------------

def benchmark_document(n: int = 20_000) -> dict:
    t0 = datetime(2026, 1, 1, tzinfo=tz(8))
    events = [{
        "type": "ObjectEvent", "eventID": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
        "eventTime": (t0 + timedelta(seconds=i)).isoformat(), "eventTimeZoneOffset": "+08:00",
        "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
        "epcList": [f"urn:epc:id:sscc:6901234.{i:010d}"],
        "quantityList": [{"epcClass": LOT, "quantity": 200.5, "uom": "KGM"}],
        "readPoint": {"id": DOCK}, "bizLocation": {"id": SITE},
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epc:id:gdti:6909999.00001.PO1"}],
        "sourceList": [{"type": "owning_party", "source": SELLER}],
        "destinationList": [{"type": "owning_party", "destination": BUYER}],
        "ext:permitNo": f"P-{i}",
    } for i in range(n)]
    return {"@context": [E.EPCIS_CONTEXT_URL, {"ext": EXT}], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00+08:00", "epcisBody": {"eventList": events}}


if __name__ == "__main__":
    import time

    n = 20_000
    doc = benchmark_document(n)
    E.validate_document(doc)  # build the validator
    for label, kwargs in (("bundled schema", {}), ("modular schema", {"schema": E.MODULAR_SCHEMA})):
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            assert E.validate_document(doc, **kwargs) == []
            middle = time.perf_counter()
            events = E.normalise(doc)
            end = time.perf_counter()
            runs.append((middle - start, end - middle))
        v, m = sorted(runs, key=sum)[len(runs) // 2]  # median run
        print(f"{E.default_backend()} {label}: {n} ObjectEvents — validate {n / v:,.0f} ev/s, "
              f"normalise {n / m:,.0f} ev/s, validate+normalise {n / (v + m):,.0f} ev/s")
    for ev in doc["epcisBody"]["eventList"]:
        del ev["eventID"]
    start = time.perf_counter()
    E.normalise(doc)
    print(f"normalise without eventIDs (hash ids): {n / (time.perf_counter() - start):,.0f} ev/s")
    if "jsonschema" in E.available_backends():
        small = benchmark_document(2_000)
        E.validate_document(small, backend="jsonschema")
        start = time.perf_counter()
        E.validate_document(small, backend="jsonschema")
        print(f"fallback jsonschema validate: {2_000 / (time.perf_counter() - start):,.0f} ev/s (2,000 events)")
