"""The compact fact records of the rule run (precursors.algorithms.rules.facts). Pure Python."""

from datetime import datetime

import pytest

from precursors.algorithms.rules.facts import CST, RARE_TRANSACTION_FIELDS, Filing, Receipt, Transaction


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


T0 = datetime(2025, 3, 1, 8, tzinfo=CST)


def test_a_transaction_makes_its_id_and_event_ids_from_its_event_unless_given():
    t = Transaction(None, T0, "S", "B", "C3-02", 5.0, event_ids=("urn:uuid:1",))
    assert t.id == "urn:uuid:1#C3-02" and t.event_ids == ("urn:uuid:1",) and t._id is None
    assert Transaction("T1", T0, "S", "B", "C3-02", 5.0, event_ids=("e1", "e2")).id == "T1"
    two = Transaction(None, T0, "S", "B", "C3-02", 5.0, event_ids=("e1", "e2"))
    assert two.id == "e1#C3-02" and two.event_ids == ("e1", "e2")
    t.event_ids = ("urn:uuid:9",)
    assert t.id == "urn:uuid:9#C3-02"
    r = Receipt(None, T0, "B", "S", "C3-02", 5.0, ("urn:uuid:2",), "W1")
    assert r.id == "urn:uuid:2#C3-02" and r.event_ids == ("urn:uuid:2",) and r.waybill == "W1"


def test_rare_transaction_fields_read_and_write_like_the_others_and_are_held_only_when_set():
    plain = Transaction(None, T0, "S", "B", "C3-02", 5.0, event_ids=("e1",))
    assert plain._more is None
    assert {name: getattr(plain, name) for name in RARE_TRANSACTION_FIELDS} == RARE_TRANSACTION_FIELDS
    export = Transaction(None, T0, "S", "F", "C3-02", 5.0, event_ids=("e1",), destination_country="DE",
                         is_export=True, customs_kg=4.9)
    assert (export.destination_country, export.is_export, export.customs_kg) == ("DE", True, 4.9)
    assert export._more == {"destination_country": "DE", "is_export": True, "customs_kg": 4.9}
    plain.consignee_id = "C"
    assert plain.consignee_id == "C" and plain._more == {"consignee_id": "C"}
    assert plain != Transaction(None, T0, "S", "B", "C3-02", 5.0, event_ids=("e1",))
    assert plain == Transaction(None, T0, "S", "B", "C3-02", 5.0, event_ids=("e1",), consignee_id="C")
    assert "consignee_id='C'" in repr(plain)


def test_a_filing_reads_the_id_of_the_transaction_it_is_about():
    t = Transaction(None, T0, "S", "B", "C3-02", 5.0, event_ids=("urn:uuid:1",))
    f = Filing("7", "sales_filing", "S", T0, transaction_id="urn:uuid:1#C3-02")
    f.about(t)
    assert f.transaction_id == "urn:uuid:1#C3-02" and f._about is t
    assert Filing("8", "loss_report", "S", T0).transaction_id is None


def test_setting_a_rare_field_back_to_its_default_forgets_it():
    t = Transaction(None, T0, "S", "B", "C3-02", 5.0, event_ids=("e1",), carrier_id="K")
    t.carrier_id = None
    assert t.carrier_id is None and t._more is None
