"""Pattern rules R09–R18 (precursors.algorithms.rules.patterns). Pure Python, no database."""

from datetime import UTC, date, datetime, timedelta

import pytest

from precursors.algorithms.rules import HIGH, MEDIUM, REGISTRY, run
from precursors.algorithms.rules.facts import (
    CST,
    PRODUCER,
    PURCHASE_FILING,
    PURCHASE_LICENCE,
    TRADER,
    USER,
    Authorization,
    Facts,
    LedgerRow,
    Party,
    Receipt,
    Site,
    Substance,
    Transaction,
    Transformation,
)


@pytest.fixture(autouse=True)
def _clean_state():
    yield


PATTERN_RULES = ["R09", "R10", "R11", "R12", "R13", "R14", "R15", "R16", "R17", "R18"]
D0 = date(2025, 1, 1)

SUBSTANCES = {s.code: s for s in [
    Substance("C1-01", "1-苯基-2-丙酮", 1, criminal_threshold_kg=2.0),
    Substance("C1-14", "邻氯苯基环戊酮", 1, criminal_threshold_kg=4.0),
    Substance("C2-01", "苯乙酸", 2, criminal_threshold_kg=20.0),
    Substance("C2-02", "醋酸酐", 2, criminal_threshold_kg=10.0),
    Substance("C2-06", "溴素", 2),
    Substance("C3-01", "甲苯", 3, volatile=True, criminal_threshold_kg=100.0),
    Substance("C3-02", "丙酮", 3, volatile=True, criminal_threshold_kg=100.0),
    Substance("C3-05", "硫酸", 3, criminal_threshold_kg=100.0),
]}


def at(n, hour=10):
    """Day n after 2025-01-01, at ``hour`` CST."""
    return datetime(2025, 1, 1, hour, tzinfo=CST) + timedelta(days=n)


def day(n):
    return str(D0 + timedelta(days=n))


def party(pid, **kw):
    kw.setdefault("kinds", frozenset({USER}))
    kw.setdefault("industry", "dye")
    kw.setdefault("registered_on", date(2010, 1, 1))
    return Party(pid, f"企业{pid}", **kw)


def tx(tid, n, buyer, substance, kg, seller="S1", **kw):
    return Transaction(tid, at(n), seller, buyer, substance, kg, event_ids=(f"ev-{tid}",), **kw)


def make(parties=(), as_of=400, params=None, **kw):
    ps = {p.id: p for p in parties}
    for sid in ("S1", "S2", "S3", "S4"):
        ps.setdefault(sid, party(sid, kinds=frozenset({PRODUCER}), industry="chemical"))
    return Facts(as_of=at(as_of), params=params or {}, substances=SUBSTANCES, parties=ps, **kw)


def hits(facts, rule_id):
    return [(h.rule_id, h.key, h.severity, h.party_id, h.evidence) for h in run(facts, [rule_id])]


# --- registration ------------------------------------------------------------------------------------------------

def test_registration_and_capture_flags():
    assert all(r in REGISTRY for r in PATTERN_RULES)
    assert [r for r in PATTERN_RULES if REGISTRY[r].capture_time] == ["R12"]
    assert REGISTRY["R15"].params == ("split_window_days", "split_thresholds_kg", "split_min_count",
                                      "split_min_filings")


# --- R09 mass balance ----------------------------------------------------------------------------------------------

def row(substance="C3-05", inflow=1000.0, outflow=0.0, declared=1000.0, min_balance=0.0):
    return LedgerRow("P1", "site-1", substance, at(0, 0), at(31, 0), inflow, outflow, inflow - outflow, declared,
                     min_balance, event_ids=("e1", "e2"))


def test_r09_gap_beyond_tolerance_is_medium():
    f = make([party("P1")], ledger_rows=[row(declared=994.0)])        # tol = 0.5% × 1000 = 5 kg
    assert hits(f, "R09") == [("R09", "P1|site-1|C3-05|2025-01-01|gap", MEDIUM, "P1", ("e1", "e2"))]
    h = run(f, ["R09"])[0]
    assert h.details["gap_kg"] == -6.0 and h.details["tolerance_kg"] == 5.0
    assert "账实差异 -6 kg" in h.message


def test_r09_boundary_exactly_at_tolerance_and_surplus():
    assert hits(make(ledger_rows=[row(declared=995.0)]), "R09") == []
    assert hits(make(ledger_rows=[row(declared=1005.0)]), "R09") == []
    assert hits(make(ledger_rows=[row(declared=1005.01)]), "R09") == [
        ("R09", "P1|site-1|C3-05|2025-01-01|gap", MEDIUM, "P1", ("e1", "e2"))]


def test_r09_volatile_solvent_uses_wider_tolerance():
    assert hits(make(ledger_rows=[row("C3-01", declared=980.0)]), "R09") == []           # 2% × 1000 = 20
    assert hits(make(ledger_rows=[row("C3-01", declared=979.5)]), "R09")[0][2] == MEDIUM


def test_r09_shortage_at_criminal_threshold_is_high():
    assert hits(make(ledger_rows=[row("C2-02", declared=990.0)]), "R09")[0][2] == HIGH    # short 10 kg ≥ 10 kg
    assert hits(make(ledger_rows=[row("C2-02", declared=990.5)]), "R09")[0][2] == MEDIUM  # short 9.5 kg


def test_r09_negative_stock_is_high_with_boundary_and_no_declaration():
    f = make(ledger_rows=[row(declared=None, min_balance=-0.5)])
    assert hits(f, "R09") == [("R09", "P1|site-1|C3-05|2025-01-01|negative", HIGH, "P1", ("e1", "e2"))]
    params = {"balance_abs_tol_kg": 1.0}
    assert hits(make(params=params, ledger_rows=[row(declared=None, min_balance=-1.0)]), "R09") == []
    assert hits(make(params=params, ledger_rows=[row(declared=None, min_balance=-1.001)]), "R09") == [
        ("R09", "P1|site-1|C3-05|2025-01-01|negative", HIGH, "P1", ("e1", "e2"))]
    assert hits(make(ledger_rows=[row(declared=None, min_balance=0.0)]), "R09") == []


# --- R10 yield -----------------------------------------------------------------------------------------------------

def tf(tid, inputs, out, product="PX", pid="P1"):
    return Transformation(tid, at(1), pid, inputs, out, product, event_ids=(f"ev-{tid}",))


@pytest.mark.parametrize("kg,alert", [(100.0, False), (120.0, False), (99.0, True), (121.0, True), (110.0, False)])
def test_r10_declared_band_boundaries(kg, alert):
    f = make([party("P1")], params={"yield_bands": {"PX": (1.0, 1.2)}}, transformations=[tf("t1", {"C2-02": kg}, 100)])
    expected = [("R10", "t1|C2-02", MEDIUM, "P1", ("ev-t1",))] if alert else []
    assert hits(f, "R10") == expected


def test_r10_substance_specific_band_wins():
    bands = {"PX": (1.0, 1.2), "PX|C3-01": (3.0, 4.0)}
    f = make(params={"yield_bands": bands}, transformations=[tf("t1", {"C3-01": 350.0, "C2-02": 110.0}, 100)])
    assert hits(f, "R10") == []


def test_r10_peer_band_median_mad():
    ratios = [1.0, 1.1, 1.2, 1.3, 1.4, 3.0]       # median 1.25, MAD 0.15 → band [0.8, 1.7]
    f = make(transformations=[tf(f"t{i}", {"C2-02": 100.0 * r}, 100) for i, r in enumerate(ratios)])
    assert hits(f, "R10") == [("R10", "t5|C2-02", MEDIUM, "P1", ("ev-t5",))]
    h = run(f, ["R10"])[0]
    assert h.details["band_source"] == "peer" and h.details["k_min"] == pytest.approx(0.8)
    assert h.details["k_max"] == pytest.approx(1.7)


def test_r10_too_few_peers_no_band():
    f = make(transformations=[tf(f"t{i}", {"C2-02": 100.0 * r}, 100) for i, r in enumerate([1.0, 1.1, 1.2, 3.0])])
    assert hits(f, "R10") == []


def test_r10_consumption_without_output_is_high():
    f = make(transformations=[tf("t1", {"C2-02": 50.0, "water": 10.0}, 0), tf("t2", {"water": 5.0}, 0)])
    assert hits(f, "R10") == [("R10", "t1|no_output", HIGH, "P1", ("ev-t1",))]
    assert "醋酸酐 50 kg" in run(f, ["R10"])[0].message


# --- R11 two-way reconciliation ---------------------------------------------------------------------------------------

def rc(rid, n, buyer, substance, kg, seller="S1"):
    return Receipt(rid, at(n), buyer, seller, substance, kg, event_ids=(f"ev-{rid}",))


def test_r11_matched_within_tolerance_and_window():
    f = make([party("B")], as_of=30, transactions=[tx("t1", 0, "B", "C3-05", 100.0)],
             receipts=[rc("r1", 7, "B", "C3-05", 100.5)])              # day d+7, |Δ| = 0.5 = 0.5% × 100
    assert hits(f, "R11") == []


def test_r11_unmatched_outbound_after_n_days():
    def f(as_of):
        return make([party("B")], as_of=as_of, transactions=[tx("t1", 0, "B", "C3-05", 100.0)])
    assert hits(f(7), "R11") == []                                       # receipt still due today (d+7)
    assert hits(f(8), "R11") == [("R11", "out|t1", HIGH, "S1", ("ev-t1",))]
    h = run(f(8), ["R11"])[0]
    assert h.details["buyer_id"] == "B" and h.details["due"] == day(7) and "去向不明" in h.message


def test_r11_receipt_outside_window_or_tolerance_gives_both_alerts():
    late = make([party("B")], as_of=30, transactions=[tx("t1", 0, "B", "C3-05", 100.0)],
                receipts=[rc("r1", 8, "B", "C3-05", 100.0)])
    assert hits(late, "R11") == [("R11", "in|r1", HIGH, "B", ("ev-r1",)), ("R11", "out|t1", HIGH, "S1", ("ev-t1",))]
    short = make([party("B")], as_of=30, transactions=[tx("t1", 0, "B", "C3-05", 100.0)],
                 receipts=[rc("r1", 2, "B", "C3-05", 99.4)])
    assert [k for _, k, *_ in hits(short, "R11")] == ["in|r1", "out|t1"]
    early = make([party("B")], as_of=30, transactions=[tx("t1", 1, "B", "C3-05", 100.0)],
                 receipts=[rc("r1", 0, "B", "C3-05", 100.0)])             # received before it was shipped
    assert [k for _, k, *_ in hits(early, "R11")] == ["in|r1", "out|t1"]


def test_r11_one_to_one_greedy_in_time_order():
    f = make([party("B")], as_of=30, transactions=[tx("t1", 0, "B", "C3-05", 100.0), tx("t2", 1, "B", "C3-05", 100.0)],
             receipts=[rc("r1", 2, "B", "C3-05", 100.0)])
    assert hits(f, "R11") == [("R11", "out|t2", HIGH, "S1", ("ev-t2",))]


def test_r11_unmatched_inbound_is_source_unknown():
    f = make([party("B")], as_of=30, receipts=[rc("r1", 2, "B", "C2-02", 40.0, seller="GHOST")])
    assert hits(f, "R11") == [("R11", "in|r1", HIGH, "B", ("ev-r1",))]
    assert "来源不明" in run(f, ["R11"])[0].message


def test_r11_exemptions_export_unregistered_buyer_import():
    f = make([party("B"), party("X", in_registry=False), party("US1", country="US")], as_of=60,
             transactions=[tx("t1", 0, "FOREIGN", "C3-05", 100.0, is_export=True),
                           tx("t2", 0, "X", "C3-05", 100.0), tx("t3", 0, "NOBODY", "C3-05", 100.0)],
             receipts=[rc("r1", 0, "B", "C3-05", 100.0, seller="US1")])
    assert hits(f, "R11") == []


# --- R12 end user ---------------------------------------------------------------------------------------------------

def test_r12_clean_transaction_no_hit():
    f = make([party("B")], transactions=[tx("t1", 0, "B", "C2-02", 60.0, delivery_address_kind="registered_site")])
    assert hits(f, "R12") == []


def test_r12_unregistered_or_inactive_is_high_and_never_blocks():
    f = make([party("B"), party("C", in_registry=False), party("D", active=False)],
             transactions=[tx("t1", 0, "B", "C3-05", 10.0, consignee_id="C", consignee_reason="分公司收货"),
                           tx("t2", 0, "D", "C3-05", 10.0), tx("t3", 0, "Z", "C3-05", 10.0)])
    assert hits(f, "R12") == [("R12", "t1", HIGH, "B", ("ev-t1",)), ("R12", "t2", HIGH, "D", ("ev-t2",)),
                              ("R12", "t3", HIGH, "Z", ("ev-t3",))]
    assert not any(h.block for h in run(f, ["R12"]))


@pytest.mark.parametrize("kind,substance,severity", [
    ("residential", "C3-05", MEDIUM), ("virtual", "C3-05", MEDIUM), ("logistics_hub", "C3-05", MEDIUM),
    ("unmatched", "C2-02", HIGH), ("residential", "C1-01", HIGH), ("registered_site", "C1-01", None)])
def test_r12_delivery_address_kinds(kind, substance, severity):
    f = make([party("B")], transactions=[tx("t1", 0, "B", substance, 10.0, delivery_address_kind=kind)])
    assert hits(f, "R12") == ([("R12", "t1", severity, "B", ("ev-t1",))] if severity else [])


def test_r12_residential_site_or_registered_address():
    f = make([party("B"), party("R", residential_site=True)], sites={"s1": Site("s1", "B", residential=True)},
             transactions=[tx("t1", 0, "B", "C3-05", 10.0, destination_site="s1"),
                           tx("t2", 0, "R", "C3-05", 10.0, delivery_address_kind="registered_site")])
    assert [(k, s) for _, k, s, *_ in hits(f, "R12")] == [("t1", MEDIUM), ("t2", MEDIUM)]


def test_r12_consignee_differs_without_reason():
    def f(substance, reason):
        return make([party("B"), party("C")], transactions=[
            tx("t1", 0, "B", substance, 10.0, consignee_id="C", consignee_reason=reason)])
    assert hits(f("C3-05", ""), "R12") == [("R12", "t1", MEDIUM, "B", ("ev-t1",))]
    assert hits(f("C2-02", " "), "R12")[0][2] == HIGH
    assert hits(f("C2-02", "委托仓储公司代收，合同 2025-01"), "R12") == []


def test_r12_export_is_not_judged():
    f = make([party("B")], transactions=[tx("t1", 0, "FOREIGN", "C2-02", 10.0, is_export=True,
                                            delivery_address_kind="unmatched")])
    assert hits(f, "R12") == []


# --- R13 unusual size -----------------------------------------------------------------------------------------------

def series(buyer, substance, pairs, prefix="t", **kw):
    return [tx(f"{prefix}{i}", n, buyer, substance, kg, **kw) for i, (n, kg) in enumerate(pairs)]


def test_r13_above_mean_plus_three_sigma_boundary():
    base = [(0, 10.0), (10, 10.0), (20, 10.0)]
    assert hits(make([party("B")], transactions=series("B", "C3-05", base + [(30, 10.0)])), "R13") == []
    f = make([party("B")], transactions=series("B", "C3-05", base + [(30, 10.001)]))
    assert hits(f, "R13") == [("R13", "size|t3", MEDIUM, "B", ("ev-t3",))]
    spread = [(0, 8.0), (10, 10.0), (20, 12.0)]                      # μ 10, σ 2 → limit 16
    assert hits(make([party("B")], transactions=series("B", "C3-05", spread + [(30, 16.0)])), "R13") == []
    assert hits(make([party("B")], transactions=series("B", "C3-05", spread + [(30, 16.01)])), "R13") == [
        ("R13", "size|t3", MEDIUM, "B", ("ev-t3",))]


def test_r13_criminal_threshold_raises_severity():
    base = [(0, 1.0), (10, 1.0), (20, 1.0)]
    assert hits(make([party("B")], transactions=series("B", "C2-02", base + [(30, 10.0)])), "R13")[0][2] == HIGH
    assert hits(make([party("B")], transactions=series("B", "C2-02", base + [(30, 9.5)])), "R13")[0][2] == MEDIUM


def test_r13_insufficient_history_no_size_alert():
    f = make([party("B")], transactions=series("B", "C3-05", [(0, 10.0), (10, 10.0), (20, 5000.0)]))
    assert hits(f, "R13") == []


def test_r13_history_window_edge():
    later = [(36, 10.0), (37, 10.0), (38, 10.0), (400, 50.0)]       # day 36 = 400 − 364: inside
    assert hits(make([party("B")], transactions=series("B", "C3-05", later)), "R13") == [
        ("R13", "size|t3", MEDIUM, "B", ("ev-t3",))]
    earlier = [(35, 10.0), (37, 10.0), (38, 10.0), (400, 50.0)]     # day 35: outside → 2 orders of history
    assert hits(make([party("B")], transactions=series("B", "C3-05", earlier)), "R13") == []


def test_r13_peer_percentile_raises_the_limit():
    peers = [party(f"Q{i}") for i in range(5)]
    peer_tx = [tx(f"q{i}", 5, f"Q{i}", "C3-05", 100.0) for i in range(5)]
    own = series("B", "C3-05", [(0, 10.0), (10, 10.0), (20, 10.0), (30, 50.0)])
    f = make([party("B"), *peers], params={"peer_min_count": 5}, transactions=own + peer_tx)
    assert hits(f, "R13") == []                                      # 50 < P95 of peers (100)
    big = series("B", "C3-05", [(0, 10.0), (10, 10.0), (20, 10.0), (30, 150.0)])
    f = make([party("B"), *peers], params={"peer_min_count": 5}, transactions=big + peer_tx)
    assert hits(f, "R13") == [("R13", "size|t3", HIGH, "B", ("ev-t3",))]       # 150 ≥ 100 kg criminal threshold
    assert run(f, ["R13"])[0].details["limit_kg"] == pytest.approx(130.0)  # P95 of [10,10,10,100×5,150]


def test_r13_alr_declared_annual_requirement():
    def f(pairs):
        return make([party("B", declared_annual_kg={"C3-01": 100.0})], transactions=series("B", "C3-01", pairs))
    assert hits(f([(0, 60.0), (100, 60.0)]), "R13") == []                          # 120 = 100 × 1.2
    assert hits(f([(0, 60.0), (100, 60.5)]), "R13") == [
        ("R13", "alr|B|C3-01|2025-01-01", MEDIUM, "B", ("ev-t0", "ev-t1"))]
    assert hits(f([(0, 70.0), (364, 60.0)]), "R13") == [                            # day 0 still in the 365 days
        ("R13", "alr|B|C3-01|2025-01-01", MEDIUM, "B", ("ev-t0", "ev-t1"))]
    assert hits(f([(0, 70.0), (365, 60.0)]), "R13") == []
    assert hits(make([party("B")], transactions=series("B", "C3-01", [(0, 60.0), (1, 60.0)])), "R13") == []


def test_r13_alr_episode_is_one_alert_with_all_evidence():
    f = make([party("B", declared_annual_kg={"C3-01": 100.0})],
             transactions=series("B", "C3-01", [(0, 60.0), (10, 61.0), (20, 5.0)]))
    assert hits(f, "R13") == [("R13", "alr|B|C3-01|2025-01-01", MEDIUM, "B", ("ev-t0", "ev-t1", "ev-t2"))]


# --- R14 unusual frequency ------------------------------------------------------------------------------------------

def orders(days, buyer="B", substance="C3-05", kg=10.0):
    return [tx(f"t{n}", n, buyer, substance, kg) for n in days]


def test_r14_count_above_twice_the_median():
    monthly = list(range(0, 181, 30))                                 # one order per 30-day block
    f = make([party("B")], transactions=orders(monthly + [210, 212, 214]))
    assert hits(f, "R14") == [("R14", "B|C3-05|" + day(210), MEDIUM, "B", ("ev-t210", "ev-t212", "ev-t214"))]
    assert run(f, ["R14"])[0].details["median_monthly"] == 1
    assert hits(make([party("B")], transactions=orders(monthly + [210, 240, 270])), "R14") == []


def test_r14_count_boundary_equal_to_factor_times_median():
    params = {"freq_gap_shrink": 1.0}                                 # isolate the count test
    twice = list(range(0, 181, 15))                                   # two orders per block → median 2
    burst = [220, 222, 224, 226]
    assert hits(make([party("B")], params=params, transactions=orders(twice + burst)), "R14") == []   # 4 = 2 × 2
    f = make([party("B")], params=params, transactions=orders(twice + burst + [228]))
    assert hits(f, "R14") == [("R14", "B|C3-05|" + day(220), MEDIUM, "B", tuple(f"ev-t{n}" for n in burst + [228]))]
    assert run(f, ["R14"])[0].details == {"test": "count", "count": 5, "median_monthly": 2, "substance": "C3-05",
                                          "window_start": day(220), "transactions": [f"t{n}" for n in burst + [228]]}


def test_r14_minimum_history_edge():
    enough = orders(list(range(0, 151, 30)) + [205, 207, 209])       # window start 180: 6 complete blocks since day 0
    assert hits(make([party("B")], transactions=enough), "R14") == [
        ("R14", "B|C3-05|" + day(205), MEDIUM, "B", ("ev-t205", "ev-t207", "ev-t209"))]
    short = orders(list(range(1, 152, 30)) + [205, 207, 209])        # first order day 1: only 5 complete blocks
    assert hits(make([party("B")], transactions=short), "R14") == []


def test_r14_median_gap_shrinks_by_more_than_half():
    regular = list(range(0, 201, 10))                                 # gap 10 days, 3 orders a block
    f = make([party("B")], transactions=orders(regular + [240, 244, 248]))
    assert hits(f, "R14") == [("R14", "B|C3-05|" + day(240), MEDIUM, "B", ("ev-t240", "ev-t244", "ev-t248"))]
    assert run(f, ["R14"])[0].details["test"] == "gap"
    assert hits(make([party("B")], transactions=orders(regular + [240, 245, 250])), "R14") == []   # exactly 50%


# --- R15 split orders -----------------------------------------------------------------------------------------------

PHONE = frozenset({"phone:13800000000"})
LINKED = [party("P1", link_keys=PHONE), party("P2", link_keys=PHONE), party("P3")]


def test_r15_linked_entities_split_below_threshold():
    f = make(LINKED, transactions=[tx("a", 0, "P1", "C2-02", 30.0), tx("b", 10, "P2", "C2-02", 30.0)])
    assert hits(f, "R15") == [("R15", "P1|C2-02|2025-01-01", HIGH, "P1", ("ev-a", "ev-b"))]
    h = run(f, ["R15"])[0]
    assert h.message == "买方 企业P1 30 天内经 2 个关联主体购买醋酸酐合计 60 kg（2 笔），单笔均低于 50 kg"
    assert h.details["buyers"] == ["P1", "P2"]


def test_r15_unlinked_buyers_and_single_large_order_do_not_count():
    f = make(LINKED, transactions=[tx("a", 0, "P1", "C2-02", 30.0), tx("b", 10, "P3", "C2-02", 30.0)])
    assert hits(f, "R15") == []
    f = make(LINKED, transactions=[tx("a", 0, "P1", "C2-02", 50.0), tx("b", 10, "P2", "C2-02", 10.0)])
    assert hits(f, "R15") == []


@pytest.mark.parametrize("second_kg,second_day,alert", [(25.0, 5, True), (24.9, 5, False), (30.0, 29, True),
                                                         (30.0, 30, False)])
def test_r15_sum_and_window_boundaries(second_kg, second_day, alert):
    f = make(LINKED, transactions=[tx("a", 0, "P1", "C2-02", 25.0), tx("b", second_day, "P2", "C2-02", second_kg)])
    assert hits(f, "R15") == ([("R15", "P1|C2-02|2025-01-01", HIGH, "P1", ("ev-a", "ev-b"))] if alert else [])


def test_r15_window_uses_cst_dates():
    utc = UTC
    a = Transaction("a", datetime(2025, 1, 1, 2, tzinfo=utc), "S1", "P1", "C2-02", 30.0, event_ids=("ev-a",))
    b = Transaction("b", datetime(2025, 1, 30, 15, 59, tzinfo=utc), "S1", "P2", "C2-02", 30.0, event_ids=("ev-b",))
    assert hits(make(LINKED, transactions=[a, b]), "R15") == [                 # 01-30 23:59 CST: day 29
        ("R15", "P1|C2-02|2025-01-01", HIGH, "P1", ("ev-a", "ev-b"))]
    b.time = datetime(2025, 1, 30, 16, 0, tzinfo=utc)                          # 01-31 00:00 CST: day 30
    assert hits(make(LINKED, transactions=[a, b]), "R15") == []


def test_r15_same_delivery_site_links_buyers():
    f = make(LINKED, transactions=[tx("a", 0, "P1", "C2-02", 30.0, destination_site="site-x"),
                                   tx("b", 3, "P3", "C2-02", 30.0, destination_site="site-x")])
    assert hits(f, "R15") == [("R15", "P1|C2-02|2025-01-01", HIGH, "P1", ("ev-a", "ev-b"))]


def test_r15_cat1_falls_back_to_the_cited_purchase_licence():
    lic = {"L1": Authorization("L1", PURCHASE_LICENCE, "P1", {"C1-01": 10.0})}
    f = make(LINKED, authorizations=lic, transactions=[tx("a", 0, "P1", "C1-01", 6.0, permits=("L1",)),
                                                      tx("b", 2, "P1", "C1-01", 6.0, permits=("L1",))])
    assert hits(f, "R15") == [("R15", "P1|C1-01|2025-01-01", HIGH, "P1", ("ev-a", "ev-b"))]
    f = make(LINKED, transactions=[tx("a", 0, "P1", "C1-01", 6.0), tx("b", 2, "P1", "C1-01", 6.0)])
    assert hits(f, "R15") == []


def test_r15_purchase_filings_by_linked_entities():
    def filing(fid, holder, n):
        return Authorization(fid, PURCHASE_FILING, holder, {"C2-02": 40.0}, counterparty_id="S1",
                             valid_from=D0 + timedelta(days=n))
    f = make(LINKED, authorizations={"F1": filing("F1", "P1", 0), "F2": filing("F2", "P2", 29)})
    assert hits(f, "R15") == [("R15", "filings|P1|S1|C2-02|2025-01-01", HIGH, "P1", ("F1", "F2"))]
    assert hits(make(LINKED, authorizations={"F1": filing("F1", "P1", 0), "F2": filing("F2", "P2", 30)}), "R15") == []
    assert hits(make(LINKED, authorizations={"F1": filing("F1", "P1", 0), "F2": filing("F2", "P1", 5)}), "R15") == []


# --- R16 multi-sourcing ---------------------------------------------------------------------------------------------

def sourced(days_kg_sellers):
    return [tx(f"t{i}", n, "B", "C3-01", kg, seller=s) for i, (n, kg, s) in enumerate(days_kg_sellers)]


NEEDY = party("B", declared_annual_kg={"C3-01": 365.0})                 # 90-day share: 90 kg


def test_r16_three_sellers_above_declared_need():
    f = make([NEEDY], transactions=sourced([(0, 40.0, "S1"), (45, 40.0, "S2"), (89, 40.0, "S3")]))
    assert hits(f, "R16") == [("R16", "B|C3-01|2025-01-01", MEDIUM, "B", ("ev-t0", "ev-t1", "ev-t2"))]
    assert run(f, ["R16"])[0].details["need_kg"] == pytest.approx(90.0)


def test_r16_negatives_and_boundaries():
    assert hits(make([NEEDY], transactions=sourced([(0, 40.0, "S1"), (45, 40.0, "S2"), (89, 40.0, "S1")])),
                "R16") == []                                              # two sellers
    assert hits(make([NEEDY], transactions=sourced([(0, 30.0, "S1"), (45, 30.0, "S2"), (89, 30.0, "S3")])),
                "R16") == []                                              # 90 = need
    assert hits(make([NEEDY], transactions=sourced([(0, 40.0, "S1"), (45, 40.0, "S2"), (90, 40.0, "S3")])),
                "R16") == []                                              # day 0 out of the window


def test_r16_no_declared_need_and_linked_group():
    f = make([party("B")], transactions=sourced([(0, 1.0, "S1"), (1, 1.0, "S2"), (2, 1.0, "S3")]))
    assert hits(f, "R16") == [("R16", "B|C3-01|2025-01-01", MEDIUM, "B", ("ev-t0", "ev-t1", "ev-t2"))]
    grp = [party("B", link_keys=frozenset({"rep:1"})), party("C", link_keys=frozenset({"rep:1"}))]
    f = make(grp, transactions=[tx("a", 0, "B", "C3-01", 5.0, seller="S1"), tx("b", 1, "C", "C3-01", 5.0, seller="S2"),
                                tx("c", 2, "C", "C3-01", 5.0, seller="S3")])
    assert hits(f, "R16") == [("R16", "B|C3-01|2025-01-01", MEDIUM, "B", ("ev-a", "ev-b", "ev-c"))]


# --- R17 route kits -------------------------------------------------------------------------------------------------

def test_r17_p2p_and_acetic_anhydride():
    f = make([party("B")], transactions=[tx("a", 0, "B", "C1-01", 1.0), tx("b", 20, "B", "C2-02", 60.0)])
    assert hits(f, "R17") == [("R17", "B|kit0|2025-01-01", HIGH, "B", ("ev-a", "ev-b"))]


def test_r17_linked_group_and_same_slot():
    f = make(LINKED, transactions=[tx("a", 0, "P1", "C2-01", 1.0), tx("b", 3, "P2", "C2-02", 60.0)])
    assert hits(f, "R17") == [("R17", "P1|kit0|2025-01-01", HIGH, "P1", ("ev-a", "ev-b"))]
    assert run(f, ["R17"])[0].message == "买方 企业P1 及关联主体 企业P2 30 天内购买了同一合成路线的配套物品：苯乙酸、醋酸酐"
    f = make([party("B")], transactions=[tx("a", 0, "B", "C1-01", 1.0), tx("b", 3, "B", "C2-01", 60.0)])
    assert hits(f, "R17") == []                                       # two alternatives of one slot


@pytest.mark.parametrize("second_day,alert", [(29, True), (30, False)])
def test_r17_window_boundary_ketamine_kit(second_day, alert):
    f = make([party("B")], transactions=[tx("a", 0, "B", "C1-14", 1.0), tx("b", second_day, "B", "C2-06", 5.0)])
    assert hits(f, "R17") == ([("R17", "B|kit3|2025-01-01", HIGH, "B", ("ev-a", "ev-b"))] if alert else [])


def test_r17_custom_kit_needs_every_slot():
    params = {"route_kits": [[["C3-01"], ["C3-05"], ["C3-02"]]], "route_kit_min_slots": 3}
    two = [tx("a", 0, "B", "C3-01", 1.0), tx("b", 1, "B", "C3-05", 1.0)]
    assert hits(make([party("B")], params=params, transactions=two), "R17") == []
    three = two + [tx("c", 2, "B", "C3-02", 1.0)]
    assert hits(make([party("B")], params=params, transactions=three), "R17") == [
        ("R17", "B|kit0|2025-01-01", HIGH, "B", ("ev-a", "ev-b", "ev-c"))]


# --- R18 profile ----------------------------------------------------------------------------------------------------

def test_r18_industry_mapping():
    f = make([party("B", industry="coatings")], transactions=[tx("a", 0, "B", "C2-02", 60.0),
                                                               tx("b", 5, "B", "C3-01", 60.0)])
    assert hits(f, "R18") == [("R18", "industry|B|C2-02", MEDIUM, "B", ("ev-a",))]
    for industry in ("trading", "unknown-industry", ""):
        f = make([party("B", industry=industry)], transactions=[tx("a", 0, "B", "C2-02", 60.0)])
        assert hits(f, "R18") == []


@pytest.mark.parametrize("age,substance,alert", [(179, "C2-02", True), (180, "C2-02", False), (0, "C3-05", False)])
def test_r18_newly_incorporated(age, substance, alert):
    f = make([party("B", registered_on=D0 - timedelta(days=age))], transactions=[tx("a", 0, "B", substance, 60.0)])
    assert hits(f, "R18") == ([("R18", f"new|B|{substance}", MEDIUM, "B", ("ev-a",))] if alert else [])


TRADER_P = party("T", kinds=frozenset({TRADER}), industry="trading")


@pytest.mark.parametrize("sale_day,alert", [(91, True), (90, False)])
def test_r18_idle_trader_boundary(sale_day, alert):
    f = make([TRADER_P, party("B")], transactions=[tx("a", 0, "T", "C3-01", 60.0), tx("b", 10, "T", "C3-01", 40.0),
                                                   tx("s", sale_day, "B", "C3-01", 50.0, seller="T")])
    assert hits(f, "R18") == ([("R18", "idle|T|C3-01|2025-01-01", MEDIUM, "T", ("ev-a", "ev-b"))] if alert else [])


def test_r18_idle_trader_without_any_sale_until_as_of_and_exemption():
    def f(as_of, kinds=frozenset({TRADER})):
        return make([party("T", kinds=kinds, industry="trading")], as_of=as_of,
                    transactions=[tx("a", 0, "T", "C3-01", 60.0)])
    assert hits(f(90), "R18") == []
    assert hits(f(91), "R18") == [("R18", "idle|T|C3-01|2025-01-01", MEDIUM, "T", ("ev-a",))]
    assert hits(f(400, frozenset({TRADER, USER})), "R18") == []


# --- a clean city: no pattern alert at scale ----------------------------------------------------------------------

def clean_city(n_tx=50_000):
    sellers = [party(f"S{i}", kinds=frozenset({PRODUCER}), industry="chemical") for i in range(1, 11)]
    plans = {"dye": [("C2-02", 60.0), ("C3-05", 200.0)], "coatings": [("C3-01", 150.0), ("C3-02", 80.0)]}
    buyers, pairs = [], []
    for i in range(130):
        industry = "dye" if i % 2 else "coatings"
        subs = plans[industry]
        need = {s: (kg + i) * 60 for s, kg in subs}                   # ~52 weekly orders a year
        buyers.append(party(f"B{i:03d}", industry=industry, declared_annual_kg=need))
        pairs += [(f"B{i:03d}", s, kg + i, i % 7) for s, kg in subs]
    txs, rcs = [], []
    per_pair = n_tx // len(pairs)
    for k, (b, s, kg, offset) in enumerate(pairs):
        for w in range(per_pair):
            n, tid = offset + 7 * w, f"t{k}-{w}"
            seller = f"S{1 + (k + w % 2) % 10}"                       # two alternating sellers per pair
            txs.append(Transaction(tid, at(n), seller, b, s, kg, event_ids=(f"ev-{tid}",),
                                   destination_site=f"site-{b}", delivery_address_kind="registered_site"))
            rcs.append(Receipt(f"r{k}-{w}", at(n + 1), b, seller, s, kg, event_ids=(f"ev-r{k}-{w}",)))
    tfs = [Transformation(f"tf{i}", at(i % 300), f"B{2 * (i % 65) + 1:03d}", {"C2-02": 100.0 * (1 + (i % 5) / 100)},
                          100.0, "dye-X", event_ids=(f"ev-tf{i}",)) for i in range(2000)]
    rows = [LedgerRow(b.id, f"site-{b.id}", s, at(30 * m, 0), at(30 * m + 30, 0), 1000.0, 990.0, 10.0 + m,
                      10.0 + m + 0.5, 5.0) for b in buyers for s, _ in plans[b.industry] for m in range(12)]
    last = max(t.time for t in txs)
    return Facts(as_of=last + timedelta(days=2), substances=SUBSTANCES,
                 parties={p.id: p for p in sellers + buyers}, transactions=txs, receipts=rcs, transformations=tfs,
                 ledger_rows=rows)


def test_clean_city_of_50000_transactions_has_no_pattern_alerts():
    f = clean_city()
    assert len(f.transactions) >= 49_000
    assert run(f, PATTERN_RULES) == []


def test_sorting_by_key_then_id_without_making_every_id():
    """R11 and the purchases index sort by time with ties by id; the ids (made on request) are made only for ties,
    and the order is the same whatever order the facts came in."""
    import random

    from precursors.algorithms.rules.patterns import _instant, _sorted_ties_by_id

    t0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
    rcs = [Receipt(None, t0 + timedelta(hours=h), "B", "S", "C3-02", 1.0, event_ids=(f"ev-{i:03d}",))
           for i, h in enumerate([3, 1, 1, 2, 1, 3, 0])]
    expected = sorted(rcs, key=lambda r: (_instant(r.time), r.id))
    for seed in range(5):
        shuffled = rcs[:]
        random.Random(seed).shuffle(shuffled)
        assert [r.id for r in _sorted_ties_by_id(shuffled, key=lambda r: _instant(r.time))] == \
            [r.id for r in expected]
