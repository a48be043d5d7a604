"""台账 projection and the R09 mass balance (precursors.algorithms.ledger).
Pure Python: run with ``pytest -p no:django``."""

from datetime import datetime, timedelta

import pytest

from precursors.algorithms.ledger import (
    DEFAULT_REL_TOL_SOLID,
    DEFAULT_REL_TOL_VOLATILE,
    TAIZHANG_COLUMNS,
    Declaration,
    LedgerFlow,
    Tolerance,
    build_ledger,
    flows_from_events,
    flows_from_index,
    ledger_from_events,
    ledger_from_index,
    month_periods,
)
from precursors.algorithms.trace import CST, LineageIndex, TraceEvent


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


def pgln(i):
    return f"urn:epc:id:pgln:6901234.{i:05d}"


def sgln(i):
    return f"urn:epc:id:sgln:6901234.{i:05d}.0"


T, U, V, P = pgln(2), pgln(3), pgln(6), pgln(1)
TS, US, VS, PS = sgln(2), sgln(3), sgln(6), sgln(1)
FOREIGN = "urn:epc:id:pgln:4012345.00009"
K = "urn:epc:class:lgtin:6901234.011111.K1"             # sulfuric acid
PROD = "urn:epc:class:lgtin:6901234.022222.X1"
DRUM = ["urn:epc:id:sscc:6901234.0000000701", "urn:epc:id:sscc:6901234.0000000702"]
JAN, FEB, MAR = month_periods(2025, 1, 3)


def at(month, day, hour=12):
    return datetime(2025, month, day, hour, tzinfo=CST)


def obj(eid, when, step, action="OBSERVE", **kw):
    return TraceEvent(eid, "ObjectEvent", action, when, biz_step=step, **kw)


def ship(eid, when, frm, frm_site, to, wb, qty, **kw):
    return obj(eid, when, "shipping", source={"owning_party": frm, "location": frm_site},
               destination={"owning_party": to}, biz_transactions={"waybill": wb, **kw.pop("btx", {})},
               quantities=[(K, qty, "KGM")], **kw)


def recv(eid, when, frm, to, to_site, wb, qty, **kw):
    return obj(eid, when, "receiving", source={"owning_party": frm, **kw.pop("src_extra", {})},
               destination={"owning_party": to, "location": to_site}, biz_transactions={"waybill": wb},
               quantities=[(K, qty, "KGM")], **kw)


def acid_events():
    return [
        # January
        ship("j1", at(1, 5), T, TS, U, "W1", 1000),
        recv("j2", at(1, 6), T, U, US, "W1", 1000),
        TraceEvent("j3", "TransformationEvent", None, at(1, 10), biz_step="transforming", biz_location=US,
                   input_quantities=[(K, 300, "KGM")], output_quantities=[(PROD, 250, "KGM")]),
        ship("j4", at(1, 20), U, US, V, "W2", 200),
        recv("j5", at(1, 21), U, V, VS, "W2", 200),
        obj("j6", at(1, 31), "cycle_counting", quantities=[(K, 495, "KGM")], biz_location=US),
        # February
        ship("f1", at(2, 3), U, US, V, "W3", 600),                      # more than in stock: negative
        recv("f2", at(2, 4), U, V, VS, "W3", 600),
        ship("f3", at(2, 9), T, TS, U, "W4", 200),
        recv("f4", at(2, 10), T, U, US, "W4", 200),
        obj("f5", at(2, 15), "destroying", "DELETE", disposition="destroyed", quantities=[(K, 10, "KGM")],
            biz_location=US),
        obj("f6", at(2, 16), "storing", disposition="stolen", quantities=[(K, 5, "KGM")], biz_location=US),
        ship("f7", at(2, 20), U, US, FOREIGN, "W5", 30, btx={"cusdec": "CD-9"}),
        recv("f8", at(2, 22), FOREIGN, U, US, "W6", 100, src_extra={"country": "DE"}),
        ship("f9", at(2, 24), V, VS, U, "W7", 20, disposition="returned"),
        recv("f10", at(2, 25), V, U, US, "W7", 20, disposition="returned"),
    ]


def row_of(rows, party, period, substance=K):
    hits = [r for r in rows if r.party == party and r.period_start == period[0] and r.substance == substance]
    assert len(hits) == 1, [(r.party, r.period_start, r.substance) for r in rows]
    return hits[0]


@pytest.fixture
def rows():
    end_of_feb = Declaration(U, US, K, FEB[1], 160.0, event_id="decl-feb")
    return ledger_from_events(acid_events(), [JAN, FEB, MAR], declarations=[end_of_feb])


# --- opening / flows / closing / gap --------------------------------------------------------------------------------

def test_january_opening_closing_and_gap_within_tolerance(rows):
    jan = row_of(rows, U, JAN)
    assert jan.site == US and jan.opening == 0.0
    assert jan.inflows == {"purchase": 1000.0}
    assert jan.outflows == {"consumption": 300.0, "sale": 200.0}
    assert (jan.total_in, jan.total_out, jan.expected_closing) == (1000.0, 500.0, 500.0)
    assert jan.declared_closing == 495.0 and jan.declared_at == at(1, 31)
    assert jan.gap == -5.0 and jan.tolerance == pytest.approx(DEFAULT_REL_TOL_SOLID * 1500)   # 7.5 kg
    assert jan.gap_alarm is False and jan.negative_stock is False
    assert jan.checks[0]["source"] == "count" and jan.checks[0]["event_ids"] == ["j6"]
    assert jan.event_ids == ["j2", "j3", "j4"] and jan.complete


def test_february_reasons_negative_stock_and_gap_alarm(rows):
    feb = row_of(rows, U, FEB)
    assert feb.opening == 495.0                                  # carried from January's count
    assert feb.inflows == {"purchase": 200.0, "import": 100.0, "return": 20.0}
    assert feb.outflows == {"sale": 600.0, "destruction": 10.0, "loss": 5.0, "export": 30.0}
    assert feb.expected_closing == pytest.approx(495 + 320 - 645)   # 170
    assert feb.negative_stock is True
    assert feb.negative_events[0]["event_id"] == "f1" and feb.negative_events[0]["balance"] == -105.0
    assert feb.min_balance == -105.0 and feb.min_balance_at == at(2, 3)
    assert feb.declared_closing == 160.0 and feb.gap == -10.0
    assert feb.tolerance == pytest.approx(0.005 * 965) and feb.gap_alarm is True


def test_march_carries_the_declared_stock_and_has_no_declaration(rows):
    mar = row_of(rows, U, MAR)
    assert mar.opening == 160.0 and mar.expected_closing == 160.0
    assert mar.declared_closing is None and mar.gap is None and mar.gap_alarm is False
    assert mar.inflows == {} and mar.outflows == {}


def test_carry_expected_instead_of_declared():
    decl = Declaration(U, US, K, FEB[1], 160.0)
    rows = ledger_from_events(acid_events(), [JAN, FEB], declarations=[decl], carry="expected")
    assert row_of(rows, U, FEB).opening == 500.0
    with pytest.raises(ValueError):
        ledger_from_events(acid_events(), [JAN], carry="nonsense")


def test_counterparty_rows_sale_return_and_product(rows):
    v = row_of(rows, V, FEB)
    assert v.inflows == {"purchase": 600.0} and v.outflows == {"return": 20.0}
    assert row_of(rows, V, JAN).inflows == {"purchase": 200.0}
    assert row_of(rows, U, JAN, PROD).inflows == {"production": 250.0}
    t = row_of(rows, T, JAN)
    assert t.outflows == {"sale": 1000.0} and t.expected_closing == -1000.0 and t.negative_stock  # no opening given
    assert not [r for r in rows if r.party == FOREIGN]           # the foreign parties keep no ledger here
    t_feb = row_of(rows, T, FEB)                                  # still negative when February opens
    assert t_feb.opening == -1000.0 and t_feb.negative_stock and t_feb.negative_events[0]["event_id"] is None


def test_openings_replace_earlier_history():
    rows = ledger_from_events(acid_events(), [FEB], openings={(T, TS, K): 2000.0})
    t = row_of(rows, T, FEB)
    assert t.opening == 2000.0 and t.outflows == {"sale": 200.0} and t.expected_closing == 1800.0
    assert not t.negative_stock
    u = row_of(rows, U, FEB)                                      # no opening: January's flows count
    assert u.opening == 495.0


def test_flows_at_period_boundaries():
    flows = [LedgerFlow(U, US, K, JAN[1], "in", "purchase", 10.0, "b1"),          # exactly at the end of January
             LedgerFlow(U, US, K, JAN[1] - timedelta(seconds=1), "in", "purchase", 5.0, "b0")]
    decls = [Declaration(U, US, K, JAN[1], 5.0)]                  # a count at 1 Feb 00:00 closes January
    rows = build_ledger(flows, [JAN, FEB], decls)
    jan, feb = row_of(rows, U, JAN), row_of(rows, U, FEB)
    assert jan.total_in == 5.0 and jan.declared_closing == 5.0 and jan.gap == 0.0
    assert feb.total_in == 10.0 and feb.opening == 5.0 and feb.declared_closing is None


# --- tolerance boundaries --------------------------------------------------------------------------------------------

def _one_period(declared, substance=K, tolerances=None, volatile=(), **kw):
    flows = [LedgerFlow(U, US, substance, at(1, 2), "in", "purchase", 1000.0, "t1")]
    decls = [Declaration(U, US, substance, JAN[1], declared)]
    return build_ledger(flows, [JAN], decls, tolerances=tolerances, volatile=volatile, **kw)[0]


def test_exactly_at_tolerance_is_not_an_alarm():
    r = _one_period(995.0)                                        # 0.5% of 1000 kg = 5 kg
    assert r.tolerance == 5.0 and r.gap == -5.0 and r.gap_alarm is False
    assert _one_period(1005.0).gap_alarm is False
    assert _one_period(994.99).gap_alarm is True
    assert _one_period(1005.01).gap_alarm is True


def test_volatile_solvent_tolerance():
    acetone = "urn:epc:class:lgtin:6901234.054321.A1"
    r = _one_period(980.0, substance=acetone, volatile={acetone})
    assert r.tolerance == pytest.approx(DEFAULT_REL_TOL_VOLATILE * 1000) and r.gap_alarm is False
    assert _one_period(979.9, substance=acetone, volatile={acetone}).gap_alarm is True


def test_absolute_tolerance_parameter_and_negative_stock_boundary():
    tol = {K: Tolerance(abs_tol=10.0, rel_tol=0.001)}
    assert _one_period(990.0, tolerances=tol).gap_alarm is False   # max(10, 1) = 10 kg
    assert _one_period(989.0, tolerances=tol).gap_alarm is True
    assert Tolerance().verified is False                          # defaults are unverified [U]
    flows = [LedgerFlow(U, US, K, at(1, 2), "out", "sale", 1.0, "n1")]
    assert build_ledger(flows, [JAN], tolerances={K: Tolerance(abs_tol=1.0)})[0].negative_stock is False
    flows = [LedgerFlow(U, US, K, at(1, 2), "out", "sale", 1.01, "n1")]
    assert build_ledger(flows, [JAN], tolerances={K: Tolerance(abs_tol=1.0)})[0].negative_stock is True


def test_same_instant_inflow_before_outflow():
    flows = [LedgerFlow(U, US, K, at(1, 2), "out", "sale", 100.0, "o"),
             LedgerFlow(U, US, K, at(1, 2), "in", "purchase", 100.0, "i")]
    r = build_ledger(flows, [JAN])[0]
    assert r.negative_stock is False and r.expected_closing == 0.0


# --- base units and substances ---------------------------------------------------------------------------------------

def test_salt_to_base_and_substance_grouping():
    eph_hcl = "urn:epc:class:lgtin:6901234.033333.EH"
    eph = "urn:epc:class:lgtin:6901234.033334.EB"
    flows = [LedgerFlow(U, US, eph_hcl, at(1, 2), "in", "purchase", 100.0, "a"),
             LedgerFlow(U, US, eph, at(1, 3), "in", "purchase", 50.0, "b"),
             LedgerFlow(U, US, eph_hcl, at(1, 4), "out", "consumption", 10.0, "c")]
    decls = [Declaration(U, US, eph_hcl, JAN[1], 90.0), Declaration(U, US, eph, JAN[1], 50.0)]
    rows = build_ledger(flows, [JAN], decls, substance_of={eph_hcl: "ephedrine", eph: "ephedrine"},
                        salt_to_base={eph_hcl: 0.8187})
    assert len(rows) == 1
    r = rows[0]
    assert r.substance == "ephedrine" and r.unit == "kg_base"
    assert r.total_in == pytest.approx(81.87 + 50.0) and r.total_out == pytest.approx(8.187)
    assert r.declared_closing == pytest.approx(90 * 0.8187 + 50)  # two lots counted at the same instant
    assert r.gap == pytest.approx(0.0, abs=1e-6) and not r.gap_alarm


def test_unit_conversion_and_unknown_quantities_from_events():
    acetone = "urn:epc:class:lgtin:6901234.054321.A1"
    ev = [obj("v1", at(1, 2), "commissioning", "ADD", quantities=[(acetone, 2, "MTQ")], biz_location=PS),
          obj("v2", at(1, 3), "commissioning", "ADD", quantities=[(K, 3, "TNE")], biz_location=PS),
          obj("v3", at(1, 4), "commissioning", "ADD", quantities=[(K, 50, "LTR")], biz_location=PS)]
    rows = ledger_from_events(ev, [JAN], densities={acetone: 0.79}, site_party={PS: P})
    a = row_of(rows, P, JAN, acetone)
    assert a.inflows == {"production": pytest.approx(1580.0)} and a.complete
    k = row_of(rows, P, JAN, K)
    assert k.inflows == {"production": 3000.0}
    assert k.complete is False and k.flags == ["v3: quantity unknown (production)"]


def test_containers_are_valued_by_their_contents():
    ev = [obj("c1", at(1, 2), "commissioning", "ADD", epc_list=DRUM, quantities=[(K, 400, "KGM")],
              biz_location=PS),
          TraceEvent("c2", "ObjectEvent", "OBSERVE", at(1, 3), biz_step="shipping",
                     source={"owning_party": P, "location": PS}, destination={"owning_party": U},
                     biz_transactions={"waybill": "WD"}, epc_list=[DRUM[0]]),
          TraceEvent("c3", "ObjectEvent", "OBSERVE", at(1, 4), biz_step="receiving",
                     source={"owning_party": P}, destination={"owning_party": U, "location": US},
                     biz_transactions={"waybill": "WD"}, epc_list=[DRUM[0]]),
          obj("c4", at(1, 20), "cycle_counting", epc_list=[DRUM[0]], biz_location=US)]
    index = LineageIndex(ev)
    rows = ledger_from_index(index, [JAN])
    p, u = row_of(rows, P, JAN), row_of(rows, U, JAN)
    assert p.inflows == {"production": 400.0} and p.outflows == {"sale": 200.0} and p.expected_closing == 200.0
    assert u.inflows == {"purchase": 200.0} and u.declared_closing == 200.0 and u.gap == 0.0
    flows, counts = flows_from_events(ev)
    assert {(f.party, f.direction, f.reason, f.kg) for f in flows} >= {(P, "out", "sale", 200.0),
                                                                      (U, "in", "purchase", 200.0)}
    assert [(c.party, c.kg) for c in counts] == [(U, 200.0)]


def test_transfer_between_sites_of_one_party():
    ev = [ship("x1", at(1, 2), U, US, U, "WT", 40), recv("x2", at(1, 3), U, U, sgln(33), "WT", 40)]
    rows = ledger_from_events(ev, [JAN])
    assert row_of([r for r in rows if r.site == US], U, JAN).outflows == {"transfer": 40.0}
    assert row_of([r for r in rows if r.site == sgln(33)], U, JAN).inflows == {"transfer": 40.0}


def test_taizhang_export_row(rows):
    d = row_of(rows, U, FEB).as_taizhang()
    assert list(d) == list(TAIZHANG_COLUMNS)
    assert d["opening"] == 495.0 and d["in_import"] == 100.0 and d["out_loss"] == 5.0 and d["gap"] == -10.0
    assert TAIZHANG_COLUMNS["out_loss"] == "丢失被盗"


def test_the_index_projection_without_ledgerflows_gives_the_same_rows_and_one_partys_alone():
    """``ledger_from_index`` reads the index's movements one at a time instead of as LedgerFlows: the same rows as
    ``build_ledger`` over ``flows_from_index`` (times of the lowest balance and of negative stock included, which it
    makes from the index's timestamps); ``party`` gives that party's rows alone (the 台账 page)."""
    index = LineageIndex(acid_events())
    decl = Declaration(U, US, K, FEB[1], 160.0, event_id="decl-feb")
    flows, counts = flows_from_index(index)
    expected = build_ledger(flows, [JAN, FEB, MAR], counts + [decl])
    got = ledger_from_index(index, [JAN, FEB, MAR], declarations=[decl])
    assert [r.as_dict() for r in got] == [r.as_dict() for r in expected]
    feb = row_of(got, U, FEB)
    assert feb.negative_stock and feb.min_balance_at == at(2, 3) and feb.min_balance_at.tzinfo is not None
    own = ledger_from_index(index, [JAN, FEB, MAR], declarations=[decl], party=U)
    assert own and {r.party for r in own} == {U}
    assert [r.as_dict() for r in own] == [r.as_dict() for r in expected if r.party == U]
