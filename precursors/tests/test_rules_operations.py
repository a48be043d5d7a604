"""Operational diversion rules R22–R30 and the 现场检查率 KPI (precursors.algorithms.rules.operations).
Pure Python: run with ``pytest -p no:django``."""

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from precursors.algorithms.rules import PARAMS, REGISTRY, run
from precursors.algorithms.rules.facts import (
    ANNUAL_REPORT,
    CST,
    INDIVIDUAL,
    LOSS_REPORT,
    RESEARCH,
    TRADER,
    WAREHOUSE,
    Authorization,
    Equipment,
    Facts,
    Filing,
    Inspection,
    Loss,
    Party,
    Receipt,
    Shipment,
    Site,
    StockCount,
    Substance,
    TagSighting,
    Transaction,
    Transformation,
)
from precursors.algorithms.rules.operations import inspection_coverage, route_deviation_km


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


OPS = ("R22", "R23", "R24", "R25", "R26", "R27", "R28", "R29", "R30")
SUBSTANCES = {
    "C1-01": Substance("C1-01", "1-苯基-2-丙酮", 1),
    "C2-03": Substance("C2-03", "三氯甲烷", 2, volatile=True),
    "C3-01": Substance("C3-01", "硫酸", 3),
    "C3-02": Substance("C3-02", "丙酮", 3, volatile=True),
    "W-01": Substance("W-01", "4-哌啶酮", None, watch=True),
    "W-02": Substance("W-02", "1-叔丁氧羰基-4-哌啶酮", None, watch=True, watch_threshold_kg=2.0),
}


def cst(y, mo, d, h=10, mi=0, s=0):
    return datetime(y, mo, d, h, mi, s, tzinfo=CST)


AS_OF = cst(2025, 6, 2, 12)


def make(as_of=AS_OF, parties=(), **kw):
    return Facts(as_of=as_of, substances=SUBSTANCES, parties={p.id: p for p in parties}, **kw)


def hits(facts, rule_id):
    return run(facts, [rule_id])


def keys(facts, rule_id):
    return [h.key for h in hits(facts, rule_id)]


def party(pid, **kw):
    kw.setdefault("name", f"单位{pid}")
    return Party(pid, **kw)


def tx(tid, t, seller, buyer, substance="C3-02", kg=10.0, **kw):
    return Transaction(tid, t, seller, buyer, substance, kg, event_ids=(f"E-{tid}",), **kw)


def test_registration_and_params():
    for rid in OPS:
        assert rid in REGISTRY and not REGISTRY[rid].capture_time
        assert all(p in PARAMS for p in REGISTRY[rid].params)
    assert {rid: REGISTRY[rid].severity for rid in OPS} == {
        "R22": "H", "R23": "H", "R24": "H", "R25": "M", "R26": "M", "R27": "H", "R28": "H", "R29": "M", "R30": "M"}
    defaults = {n: PARAMS[n].default for n in ("custody_receive_days", "loss_report_hours", "annual_report_month_day",
                                               "inspection_warning_days", "dormant_days", "nmr_benchtop_mhz",
                                               "route_deviation_km", "stop_minutes", "eta_hours", "weight_rel_tol")}
    assert defaults == {"custody_receive_days": 7, "loss_report_hours": 24, "annual_report_month_day": (3, 31),
                        "inspection_warning_days": 30, "dormant_days": 365, "nmr_benchtop_mhz": 100,
                        "route_deviation_km": 5.0, "stop_minutes": 30, "eta_hours": 2, "weight_rel_tol": 0.01}
    assert PARAMS["inspection_frequency_by_grade"].default == {"high": 4, "medium": 2, "low": 1}
    assert PARAMS["loss_report_hours"].tag == "U" and PARAMS["annual_report_month_day"].tag == "V"
    assert run(make(), OPS) == []


# --- R22 stock count ----------------------------------------------------------------------------------------------

def count(counted, book=100.0, substance="C1-01", **kw):
    return StockCount("SC1", cst(2025, 6, 1), "P1", "S1", substance, counted, book, event_ids=("E-count",),
                      inspection_id="INS1", **kw)


def test_r22_quantity_positive_negative_and_boundary():
    (h,) = hits(make(stock_counts=[count(99.4)]), "R22")      # tol = max(0.1, 0.5% × 100) = 0.5
    assert (h.rule_id, h.severity, h.party_id, h.key, h.evidence) == ("R22", "H", "P1", "SC1", ("E-count", "INS1"))
    assert h.details["diff_kg"] == pytest.approx(-0.6) and h.details["tol_kg"] == pytest.approx(0.5)
    assert "差异-0.600kg" in h.message
    assert hits(make(stock_counts=[count(99.8)]), "R22") == []
    assert hits(make(stock_counts=[count(99.5)]), "R22") == []            # exactly at tolerance
    assert hits(make(stock_counts=[count(100.5)]), "R22") == []
    assert keys(make(stock_counts=[count(100.51)]), "R22") == ["SC1"]
    # small book: the absolute tolerance (0.1 kg) governs
    assert hits(make(stock_counts=[count(9.9, book=10.0)]), "R22") == []
    assert keys(make(stock_counts=[count(9.89, book=10.0)]), "R22") == ["SC1"]


def test_r22_volatile_solvent_wider_tolerance_and_params():
    assert hits(make(stock_counts=[count(98.0, substance="C3-02")]), "R22") == []     # 2% of 100
    assert keys(make(stock_counts=[count(97.9, substance="C3-02")]), "R22") == ["SC1"]
    assert keys(make(stock_counts=[count(98.0, substance="C3-01")]), "R22") == ["SC1"]
    assert hits(make(stock_counts=[count(99.0)], params={"count_rel_tol": 0.01}), "R22") == []


def test_r22_tags_missing_and_unexpected():
    sc = count(100.0, counted_tags=frozenset({"T1", "T3"}), book_tags=frozenset({"T1", "T2"}))
    (h,) = hits(make(stock_counts=[sc]), "R22")
    assert h.details["missing_tags"] == ["T2"] and h.details["unexpected_tags"] == ["T3"]
    same = count(100.0, counted_tags=frozenset({"T1"}), book_tags=frozenset({"T1"}))
    assert hits(make(stock_counts=[same]), "R22") == []


# --- R23 chain of custody -----------------------------------------------------------------------------------------

def sight(eid, t, step, epc="EPC1", site=None, owner=None, disp=""):
    return TagSighting(epc, t, eid, biz_step=step, disposition=disp, site_id=site, owner_id=owner)


SHIP = sight("S1", cst(2025, 6, 2), "shipping", site="SA", owner="PA")       # due: received by 2025-06-09 (CST)


def test_r23_no_receipt_positive_and_deadline_boundary():
    (h,) = hits(make(as_of=cst(2025, 6, 10, 0, 0), tag_sightings=[SHIP]), "R23")
    assert (h.severity, h.party_id, h.key, h.evidence) == ("H", "PA", "EPC1|S1", ("S1",))
    assert h.details == {"kind": "no_receipt", "shipped_on": "2025-06-02", "due": "2025-06-09", "received_on": None}
    assert hits(make(as_of=cst(2025, 6, 9, 23, 59), tag_sightings=[SHIP]), "R23") == []   # not yet overdue


def test_r23_receipt_in_time_late_and_urn_steps():
    as_of = cst(2025, 7, 1)
    ok = sight("R1", cst(2025, 6, 9, 23, 59), "urn:epcglobal:cbv:bizstep:receiving", site="SB", owner="PB")
    assert hits(make(as_of=as_of, tag_sightings=[SHIP, ok]), "R23") == []
    late = sight("R1", cst(2025, 6, 10, 0, 1), "https://ref.gs1.org/cbv/BizStep-receiving", site="SB", owner="PB")
    (h,) = hits(make(as_of=as_of, tag_sightings=[late, SHIP]), "R23")
    assert (h.key, h.evidence, h.details["kind"], h.details["received_on"]) == (
        "EPC1|S1", ("S1", "R1"), "late_receipt", "2025-06-10")


def test_r23_receipt_must_precede_the_next_shipment_and_export_exemption():
    second = sight("S2", cst(2025, 6, 3), "shipping", site="SA", owner="PA")
    recv = sight("R2", cst(2025, 6, 4), "receiving", site="SB", owner="PB")
    assert keys(make(as_of=cst(2025, 7, 1), tag_sightings=[SHIP, second, recv]), "R23") == ["EPC1|S1"]
    export = tx("X1", cst(2025, 6, 2), "PA", "F1", is_export=True, destination_country="US")
    export.event_ids = ("S1",)
    assert hits(make(as_of=cst(2025, 7, 1), tag_sightings=[SHIP], transactions=[export]), "R23") == []


def test_r23_seen_after_destruction():
    d = sight("D1", cst(2025, 5, 1), "destroying", disp="destroyed", owner="PA")
    later = sight("X9", cst(2025, 5, 20), "storing")
    (h,) = hits(make(tag_sightings=[later, d]), "R23")
    assert (h.key, h.evidence, h.details["kind"], h.party_id) == ("EPC1|D1|after_destroy", ("D1", "X9"),
                                                                   "after_destroy", "PA")
    assert hits(make(tag_sightings=[d]), "R23") == []


def test_r23_site_not_owned_by_owner_and_exemptions():
    sites = {"SA": Site("SA", "PA"), "SB": Site("SB", "PB"), "SW": Site("SW", "PW")}
    parties = [party("PA"), party("PB"), party("PW", kinds=frozenset({WAREHOUSE}))]
    foreign = [sight("O1", cst(2025, 5, 1), "storing", site="SA", owner="PA"),
               sight("O2", cst(2025, 5, 2), "storing", site="SB"),          # owner carried forward: PA
               sight("O3", cst(2025, 5, 3), "storing", site="SB")]
    (h,) = hits(make(parties=parties, sites=sites, tag_sightings=foreign), "R23")
    assert (h.key, h.party_id, h.evidence, h.details["site_party"]) == ("EPC1|SB|foreign_site", "PA",
                                                                         ("O2", "O3"), "PB")
    # a receipt without an owner passes custody to the receiving site's party
    received = [foreign[0], sight("O2", cst(2025, 5, 2), "receiving", site="SB"), foreign[2]]
    assert hits(make(parties=parties, sites=sites, tag_sightings=received), "R23") == []
    # a third-party warehouse may hold others' goods
    stored = [foreign[0], sight("O2", cst(2025, 5, 2), "storing", site="SW")]
    assert hits(make(parties=parties, sites=sites, tag_sightings=stored), "R23") == []


# --- R24 loss reports ---------------------------------------------------------------------------------------------

LOSS = Loss("L1", cst(2025, 6, 1, 8), "P1", "C1-01", 2.5, event_ids=("E-stolen",))


def report(fid, t, party_id="P1", linked=True):
    return Filing(fid, LOSS_REPORT, party_id, t, transaction_id="L1" if linked else None)


def test_r24_missing_report_and_deadline_boundary():
    (h,) = hits(make(as_of=cst(2025, 6, 2, 8, 0, 1), losses=[LOSS]), "R24")
    assert (h.severity, h.party_id, h.key, h.evidence) == ("H", "P1", "L1", ("E-stolen",))
    assert h.details["reported_after_hours"] is None and "至今未报告" in h.message
    assert hits(make(as_of=cst(2025, 6, 2, 8, 0, 0), losses=[LOSS]), "R24") == []        # window still open


def test_r24_report_in_time_exemption_and_late_report():
    as_of = cst(2025, 6, 5)
    assert hits(make(as_of=as_of, losses=[LOSS], filings=[report("F1", cst(2025, 6, 2, 8))]), "R24") == []
    (h,) = hits(make(as_of=as_of, losses=[LOSS], filings=[report("F1", cst(2025, 6, 2, 8, 0, 1))]), "R24")
    assert h.evidence == ("E-stolen", "F1") and h.details["reported_after_hours"] == pytest.approx(24 + 1 / 3600)
    # an unlinked report by the same party two hours before the loss was booked counts; another party's does not
    assert hits(make(as_of=as_of, losses=[LOSS], filings=[report("F2", cst(2025, 6, 1, 6), linked=False)]),
                "R24") == []
    assert keys(make(as_of=as_of, losses=[LOSS], filings=[report("F2", cst(2025, 6, 1, 9), "P9", False)]),
                "R24") == ["L1"]


# --- R25 annual report --------------------------------------------------------------------------------------------

def r25_facts(as_of):
    parties = [
        party("A"),                                                          # traded in 2024, no report
        party("B"),                                                          # reported
        party("C", registered_on=date(2023, 1, 1)),                          # registered and active, no trade
        party("D", active=False),                                            # inactive, no trade: exempt
        party("E", registered_on=date(2025, 1, 5)),                          # registered this year: exempt
        party("F", kinds=frozenset({INDIVIDUAL}), in_registry=False),        # individual: not obliged
        party("G", active=False, in_registry=False),                         # traded in 2024, left since
        party("H"),                                                          # report without a year, filed in 2025
        party("K"),                                                          # only a report for 2023
    ]
    txs = [tx("T1", cst(2024, 12, 31, 23, 59), "A", "F", "C3-01"), tx("T2", cst(2024, 3, 1), "G", "B"),
           tx("T3", cst(2025, 1, 1, 0, 5), "D", "E")]                        # 2025 trade: not last year
    filings = [Filing("AR-B", ANNUAL_REPORT, "B", cst(2025, 3, 1), year=2024),
               Filing("AR-H", ANNUAL_REPORT, "H", cst(2025, 2, 1)),
               Filing("AR-K", ANNUAL_REPORT, "K", cst(2024, 3, 1), year=2023)]
    return make(as_of=as_of, parties=parties, transactions=txs, filings=filings)


def test_r25_after_deadline_lists_parties_active_last_year():
    result = hits(r25_facts(cst(2025, 4, 1, 0, 0)), "R25")
    assert [(h.key, h.severity, h.party_id) for h in result] == [
        ("A|2024", "M", "A"), ("C|2024", "M", "C"), ("G|2024", "M", "G"), ("K|2024", "M", "K")]
    assert result[0].evidence == ("E-T1",) and result[1].evidence == ()
    assert result[0].details == {"year": 2024, "deadline": "2025-03-31", "activity_events": ["E-T1"]}


def test_r25_deadline_boundary_in_cst():
    assert hits(r25_facts(cst(2025, 3, 31, 23, 59, 59)), "R25") == []
    midnight_cst = datetime(2025, 3, 31, 16, 0, tzinfo=UTC)                     # = 1 April 00:00 CST
    assert len(hits(r25_facts(midnight_cst), "R25")) == 4
    assert hits(make(as_of=cst(2025, 4, 1), params={"annual_report_month_day": [4, 30]},
                     parties=[party("A")]), "R25") == []


# --- R26 inspection coverage --------------------------------------------------------------------------------------

def coverage_world():
    """District 320508: A1–A5; district 320505: B1–B3. Inspections exist for A1–A4 and B1–B3, but A4's was not on
    site and B3's falls on 1 January 2026 (CST) — so 3/5 and 2/3 are really covered, 5/8 for the city."""
    parties = [party(f"A{i}", area_code="320508") for i in range(1, 6)]
    parties += [party(f"B{i}", area_code="320505") for i in range(1, 4)]
    parties += [party("Z1", area_code="320505", active=False),                   # not active: not counted
                party("Z2", area_code="320505", in_registry=False),
                party("Z3", area_code="320505", registered_on=date(2026, 2, 1))]
    insp = [Inspection("I-A1", "A1", cst(2025, 3, 1)), Inspection("I-A2", "A2", cst(2025, 12, 31, 23, 0)),
            Inspection("I-A3", "A3", cst(2025, 5, 1)), Inspection("I-A4", "A4", cst(2025, 5, 1), on_site=False),
            Inspection("I-A5", "A5", cst(2025, 5, 1), completed=False),
            Inspection("I-B1", "B1", cst(2025, 1, 1, 0, 10)), Inspection("I-B2", "B2", cst(2025, 8, 1)),
            Inspection("I-B3", "B3", cst(2026, 1, 1, 0, 30)), Inspection("I-Z1", "Z1", cst(2025, 8, 1))]
    return parties, insp


def test_inspection_coverage_hand_computed():
    parties, insp = coverage_world()
    rep = inspection_coverage(parties, insp, date(2025, 1, 1), date(2025, 12, 31))
    a, b = rep.areas["320508"], rep.areas["320505"]
    assert (a.numerator, a.denominator, a.ratio, a.uninspected) == (3, 5, 0.6, ["A4", "A5"])
    assert (b.numerator, b.denominator, b.uninspected) == (2, 3, ["B3"]) and b.ratio == pytest.approx(2 / 3)
    assert (rep.numerator, rep.denominator, rep.ratio) == (5, 8, 0.625)
    d = rep.as_dict()
    assert d["start"] == "2025-01-01" and d["ratio"] == 0.625 and list(d["areas"]) == ["320505", "320508"]
    assert d["areas"]["320508"] == {"area": "320508", "numerator": 3, "denominator": 5, "ratio": 0.6,
                                    "uninspected": ["A4", "A5"]}
    # a mapping works too, and a custom area function
    rep2 = inspection_coverage({p.id: p for p in parties}, insp, date(2025, 1, 1), date(2025, 12, 31),
                               area_of=lambda p: p.area_code[:4])
    assert list(rep2.areas) == ["3205"] and rep2.areas["3205"].uninspected == ["A4", "A5", "B3"]


def test_inspection_coverage_empty():
    rep = inspection_coverage([], [], date(2025, 1, 1), date(2025, 12, 31))
    assert (rep.numerator, rep.denominator, rep.ratio, rep.areas) == (0, 0, None, {})


def test_r26_warning_window_boundary_and_hits():
    parties, insp = coverage_world()
    assert hits(make(as_of=cst(2025, 11, 30, 23, 59), parties=parties, inspections=insp), "R26") == []
    # on 1 December A2's inspection (31 December) has not happened yet
    result = hits(make(as_of=cst(2025, 12, 1, 0, 0), parties=parties, inspections=insp), "R26")
    assert [(h.key, h.severity, h.party_id) for h in result] == [
        ("A2|2025", "M", "A2"), ("A4|2025", "M", "A4"), ("A5|2025", "M", "A5"), ("B3|2025", "M", "B3")]
    assert result[0].details["area_ratio"] == 0.4 and result[0].details["city_ratio"] == 0.5
    result = hits(make(as_of=cst(2025, 12, 31, 23, 30), parties=parties, inspections=insp), "R26")
    assert [h.key for h in result] == ["A4|2025", "A5|2025", "B3|2025"]
    assert result[2].details["area_ratio"] == pytest.approx(2 / 3) and result[2].details["city_ratio"] == 0.625
    assert (result[2].details["city_numerator"], result[2].details["city_denominator"]) == (5, 8)
    assert "62.5%（5/8）" in result[0].message and result[0].evidence == ()


def test_r26_full_coverage_raises_nothing():
    parties = [party("A1", area_code="320508")]
    assert hits(make(as_of=cst(2025, 12, 20), parties=parties,
                     inspections=[Inspection("I1", "A1", cst(2025, 2, 1))]), "R26") == []


def test_r26_grade_frequency_per_period():
    parties = [party("H1", area_code="320508", risk_grade="high"), party("M1", area_code="320508", risk_grade="medium"),
               party("L1", area_code="320508", risk_grade="low")]
    insp = [Inspection("I-q1", "H1", cst(2025, 2, 1)), Inspection("I-q3", "H1", cst(2025, 7, 1)),
            Inspection("I-m", "M1", cst(2025, 8, 1))]
    # Q2 (Apr–Jun) is judged from 31 May (30 days before its end); the first half (Jan–Jun) likewise
    assert hits(make(as_of=cst(2025, 5, 30, 23), parties=parties, inspections=insp), "R26") == []
    result = hits(make(as_of=cst(2025, 5, 31, 0), parties=parties, inspections=insp), "R26")
    assert [(h.key, h.severity) for h in result] == [("H1|2025|2/4", "M"), ("M1|2025|1/2", "M")]
    assert result[0].evidence == ("I-q1",) and result[0].details["period_end"] == "2025-06-30"
    later = hits(make(as_of=cst(2025, 9, 15), parties=parties, inspections=insp), "R26")
    assert [h.key for h in later] == ["H1|2025|2/4", "M1|2025|1/2"]      # Q3 and the 2nd half are covered / not due
    assert later[0].evidence == ("I-q1", "I-q3") and later[0].details["inspections_this_year"] == 2


# --- R27 dormant or shell licence ---------------------------------------------------------------------------------

LICENCE = Authorization("LIC-1", "trade_filing", "P", {"C3-02": None}, valid_from=date(2024, 1, 1),
                        valid_to=date(2026, 12, 31))


def r27_facts(*own, licence=LICENCE, parties=None):
    parties = parties or [party("P")]
    others = [tx("T1", cst(2025, 3, 1), "S", "P")]                          # a seller ships to P
    return make(parties=parties, authorizations={licence.id: licence}, transactions=others + list(own))


def test_r27_shell_positive_negative():
    (h,) = hits(r27_facts(), "R27")
    assert (h.severity, h.party_id, h.key, h.evidence) == ("H", "P", "P|dormant", ("E-T1", "LIC-1"))
    assert h.details["since"] == "2024-06-02" and h.details["counterparty_events"] == 1
    assert hits(r27_facts(tx("T2", cst(2025, 1, 1), "P", "Q")), "R27") == []          # P records its own sale
    transform = Transformation("X1", cst(2024, 12, 1), "P", {"C3-02": 1.0}, 1.0)
    assert hits(make(parties=[party("P")], authorizations={"LIC-1": LICENCE},
                     transactions=[tx("T1", cst(2025, 3, 1), "S", "P")], transformations=[transform]), "R27") == []


def test_r27_window_boundary():
    def with_receipt(t):
        f = r27_facts()
        f.receipts = [Receipt("R1", t, "P", "S", "C3-02", 1.0)]
        return f
    assert hits(with_receipt(cst(2024, 6, 2, 0, 0)), "R27") == []             # exactly dormant_days ago
    assert keys(with_receipt(cst(2024, 6, 1, 23, 59)), "R27") == ["P|dormant"]


def test_r27_expired_licence_exempt_and_geo_check():
    expired = Authorization("LIC-1", "trade_filing", "P", valid_to=date(2025, 6, 1))
    assert hits(r27_facts(licence=expired), "R27") == []
    revoked = Authorization("LIC-1", "trade_filing", "P", status="revoked")
    assert hits(r27_facts(licence=revoked), "R27") == []
    geo = hits(r27_facts(tx("T2", cst(2025, 1, 1), "P", "Q"), parties=(party("P", residential_site=True),)), "R27")
    assert [(h.key, h.severity, h.evidence) for h in geo] == [("P|geo", "M", ("LIC-1",))]


# --- R28 equipment ------------------------------------------------------------------------------------------------

def r28_facts(*equipment, parties=(), transactions=(), sites=None):
    base = [party("UNI", industry="university"), party("LAB", kinds=frozenset({RESEARCH})),
            party("TRD", industry="chemical_trading", kinds=frozenset({TRADER})),
            party("DIS", industry="instrument_distributor"), party("PHM", industry="pharma_manufacturer"),
            party("IND", kinds=frozenset({INDIVIDUAL}), in_registry=False)]
    return make(parties=base + list(parties), equipment=list(equipment), transactions=list(transactions),
                sites=sites or {})


def test_r28_university_exempt_and_disallowed_owner():
    assert hits(r28_facts(Equipment("EQ1", "nmr", "UNI", field_mhz=400)), "R28") == []
    assert hits(r28_facts(Equipment("EQ1", "NMR", "LAB", field_mhz=60, benchtop=True)), "R28") == []
    (h,) = hits(r28_facts(Equipment("EQ1", "nmr", "TRD", field_mhz=60, benchtop=True)), "R28")
    assert (h.severity, h.party_id, h.key, h.evidence) == ("H", "TRD", "EQ1", ("EQ1",))
    assert h.details["benchtop"] and h.details["weight"] == 2.0 and "台式核磁" in h.message
    (h,) = hits(r28_facts(Equipment("EQ1", "nmr", "TRD", field_mhz=400)), "R28")
    assert not h.details["benchtop"] and h.details["weight"] == 1.0
    assert keys(r28_facts(Equipment("EQ1", "nmr", None)), "R28") == ["EQ1"]            # no registered owner


def test_r28_benchtop_boundary():
    at_limit = hits(r28_facts(Equipment("EQ1", "nmr", "TRD", field_mhz=100)), "R28")[0]
    above = hits(r28_facts(Equipment("EQ1", "nmr", "TRD", field_mhz=100.1)), "R28")[0]
    assert (at_limit.details["weight"], above.details["weight"]) == (2.0, 1.0)


def test_r28_owner_buys_cat1_or_cat2():
    buys = [tx("T1", cst(2025, 5, 1), "S", "UNI", "C1-01", 1.0), tx("T2", cst(2025, 5, 2), "S", "UNI", "C3-02")]
    (h,) = hits(r28_facts(Equipment("EQ1", "nmr", "UNI"), transactions=buys), "R28")
    assert h.evidence == ("E-T1", "EQ1") and h.details["cobuy_transactions"] == ["T1"]
    assert hits(r28_facts(Equipment("EQ1", "nmr", "UNI"), transactions=buys[1:]), "R28") == []   # Cat 3 only
    narrowed = r28_facts(Equipment("EQ1", "nmr", "UNI"), transactions=[tx("T3", cst(2025, 5, 1), "S", "UNI", "C2-03")])
    assert keys(narrowed, "R28") == ["EQ1"]
    narrowed.params = {"equipment_cobuy_categories": [1]}
    assert hits(narrowed, "R28") == []


def test_r28_transfer_site_and_distributor():
    to_person = Equipment("EQ1", "nmr", "UNI", transfers=((date(2025, 1, 1), "UNI", "IND"),))
    assert hits(r28_facts(to_person), "R28")[0].details["bad_transfers"] == [("2025-01-01", "IND")]
    to_unknown = Equipment("EQ1", "nmr", "UNI", transfers=((date(2025, 1, 1), "UNI", "NOBODY"),))
    assert keys(r28_facts(to_unknown), "R28") == ["EQ1"]
    sites = {"HOME": Site("HOME", "UNI", residential=True), "WH": Site("WH", "PHM", kind="warehouse")}
    assert "存放于住宅" in hits(r28_facts(Equipment("EQ1", "nmr", "UNI", site_id="HOME"), sites=sites), "R28")[0].message
    assert keys(r28_facts(Equipment("EQ1", "nmr", "UNI", site_id="WH"), sites=sites), "R28") == ["EQ1"]
    # a distributor is allowed only with resale records
    assert keys(r28_facts(Equipment("EQ1", "nmr", "DIS")), "R28") == ["EQ1"]
    resold = Equipment("EQ2", "nmr", "UNI", transfers=((date(2024, 1, 1), "DIS", "UNI"),))
    assert hits(r28_facts(Equipment("EQ1", "nmr", "DIS"), resold), "R28") == []


def test_r28_presses_policed_other_equipment_not():
    assert hits(r28_facts(Equipment("TP1", "tablet_press", "PHM")), "R28") == []
    (h,) = hits(r28_facts(Equipment("TP1", "tablet_press", "TRD")), "R28")
    assert h.key == "TP1" and "压片机" in h.message and h.details["weight"] == 1.0
    assert keys(r28_facts(Equipment("EN1", "encapsulator", "TRD")), "R28") == ["EN1"]
    assert hits(r28_facts(Equipment("R1", "reactor", "TRD")), "R28") == []


# --- R29 route and GPS --------------------------------------------------------------------------------------------

A, F2 = 6378137.0, 0.00669437999014                     # WGS-84 semi-major axis, first eccentricity squared
ROUTE = ((120.0, 31.0), (120.0, 31.5))                  # due north along the 120°E meridian, ~55 km


def east_of_meridian_km(dlon_deg, lat_deg):
    """Hand formula: distance from the meridian of a point dlon east of it = N(φ)·cosφ·Δλ (prime-vertical radius)."""
    phi = math.radians(lat_deg)
    n = A / math.sqrt(1 - F2 * math.sin(phi) ** 2)
    return n * math.cos(phi) * math.radians(dlon_deg) / 1000


def meridian_arc_km(dlat_deg, lat_deg):
    """Hand formula: a short meridian arc = M(φ)·Δφ (meridional radius of curvature)."""
    phi = math.radians(lat_deg)
    m = A * (1 - F2) / (1 - F2 * math.sin(phi) ** 2) ** 1.5
    return m * math.radians(dlat_deg) / 1000


def test_route_deviation_against_hand_computed_distances():
    d = route_deviation_km(ROUTE, [(120.05, 31.25), (120.0, 31.55), (120.0, 31.3), (119.9, 31.0)])
    assert d[0] == pytest.approx(east_of_meridian_km(0.05, 31.25), rel=1e-3)        # ≈ 4.76 km
    assert d[1] == pytest.approx(meridian_arc_km(0.05, 31.525), rel=1e-3)           # past the end: ≈ 5.54 km
    assert d[2] == pytest.approx(0.0, abs=1e-6)
    assert d[3] == pytest.approx(east_of_meridian_km(0.1, 31.0), rel=1e-3)          # ≈ 9.54 km
    assert 4.7 < d[0] < 4.8 and 5.5 < d[1] < 5.6


GPS_START = cst(2025, 6, 1, 8)


def gps(*points, start=GPS_START, step_min=5):
    return tuple((start + timedelta(minutes=step_min * i), lon, lat) for i, (lon, lat) in enumerate(points))


def ship(fixes, **kw):
    kw.setdefault("departed_at", cst(2025, 6, 1, 8))
    return Shipment("SH1", "T1", ROUTE, fixes, event_ids=("E-ship",), **kw)


def r29(*shipments, params=None):
    t = tx("T1", cst(2025, 6, 1, 7), "SELLER", "BUYER", "C2-03", carrier_id="CAR")
    return make(shipments=list(shipments), transactions=[t], params=params or {})


ON_ROUTE = [(120.0, 31.0 + 0.05 * i) for i in range(11)]


def test_r29_deviation_positive_negative_and_exact_threshold():
    off = ON_ROUTE[:5] + [(120.055, 31.25)] + ON_ROUTE[6:]                         # ≈ 5.24 km east
    (h,) = hits(r29(ship(gps(*off))), "R29")
    assert (h.severity, h.party_id, h.key, h.evidence) == ("M", "SELLER", "SH1", ("E-ship", "E-T1"))
    assert h.details["max_deviation_km"] == pytest.approx(east_of_meridian_km(0.055, 31.25), rel=1e-3)
    assert h.details["carrier_id"] == "CAR"
    near = ON_ROUTE[:5] + [(120.05, 31.25)] + ON_ROUTE[6:]                          # ≈ 4.76 km
    assert hits(r29(ship(gps(*near))), "R29") == []
    dev = route_deviation_km(ROUTE, [(120.055, 31.25)])[0]
    assert hits(r29(ship(gps(*off)), params={"route_deviation_km": dev}), "R29") == []
    assert keys(r29(ship(gps(*off)), params={"route_deviation_km": dev - 1e-6}), "R29") == ["SH1"]


def test_r29_unscheduled_stop_boundary_and_endpoints():
    def with_stop(minutes, where=(120.0, 31.25)):
        jitter = [(where[0] + 0.0005 * (i % 2), where[1]) for i in range(minutes // 5 + 1)]   # ≈ 50 m apart
        return ON_ROUTE[:5] + jitter + ON_ROUTE[6:]
    assert hits(r29(ship(gps(*with_stop(30)))), "R29") == []                     # exactly 30 min: not over
    (h,) = hits(r29(ship(gps(*with_stop(35)))), "R29")
    assert h.severity == "M" and h.details["longest_stop_min"] == 35.0 and "非计划停留1次" in h.message
    # a long stop at the loading bay is scheduled
    at_origin = [(120.0, 31.0)] * 12 + ON_ROUTE[1:]
    assert hits(r29(ship(gps(*at_origin), departed_at=None)), "R29") == []


def test_r29_eta_boundary_and_overdue():
    eta = cst(2025, 6, 1, 12)
    assert hits(r29(ship(gps(*ON_ROUTE), eta=eta, arrived_at=eta + timedelta(hours=2))), "R29") == []
    (h,) = hits(r29(ship(gps(*ON_ROUTE), eta=eta, arrived_at=eta + timedelta(hours=2, seconds=1))), "R29")
    assert h.severity == "M" and h.details["late_hours"] == pytest.approx(2 + 1 / 3600)
    (h,) = hits(r29(ship(gps(*ON_ROUTE), eta=eta)), "R29")                       # as_of is a day later: overdue
    assert "仍未到达" in h.message


def test_r29_weight_drop_is_high_and_two_kinds_escalate():
    assert hits(r29(ship(gps(*ON_ROUTE), departure_kg=1000.0, arrival_kg=990.0)), "R29") == []     # exactly 1%
    (h,) = hits(r29(ship(gps(*ON_ROUTE), departure_kg=1000.0, arrival_kg=989.9)), "R29")
    assert h.severity == "H" and h.details["drop_kg"] == pytest.approx(10.1)
    eta = cst(2025, 6, 1, 12)
    off = ON_ROUTE[:5] + [(120.1, 31.25)] + ON_ROUTE[6:]
    (h,) = hits(r29(ship(gps(*off), eta=eta, arrived_at=eta + timedelta(hours=3))), "R29")
    assert h.severity == "H" and len(h.details["anomalies"]) == 2


# --- R30 watch list -----------------------------------------------------------------------------------------------

def r30_facts(*buys):
    history = tx("T0", cst(2025, 1, 1), "S", "OLD", "C3-02")
    return make(parties=[party("OLD"), party("NEW"), party("S")], transactions=[history, *buys])


def test_r30_threshold_boundary_and_history_exemption():
    assert hits(r30_facts(tx("T1", cst(2025, 5, 1), "S", "OLD", "W-01", 5.0)), "R30") == []    # at threshold
    (h,) = hits(r30_facts(tx("T1", cst(2025, 5, 1), "S", "OLD", "W-01", 5.01)), "R30")
    assert (h.severity, h.party_id, h.key, h.evidence) == ("M", "OLD", "T1", ("E-T1",))
    assert h.details["over"] and not h.details["first_purchase"] and h.details["threshold_kg"] == 5.0
    # the substance's own threshold wins over the default
    assert keys(r30_facts(tx("T1", cst(2025, 5, 1), "S", "OLD", "W-02", 2.5)), "R30") == ["T1"]
    assert hits(r30_facts(tx("T1", cst(2025, 5, 1), "S", "OLD", "W-02", 2.0)), "R30") == []


def test_r30_buyer_without_history_and_unlisted_substances():
    (h,) = hits(r30_facts(tx("T1", cst(2025, 5, 1), "S", "NEW", "W-01", 0.5)), "R30")
    assert h.key == "T1" and h.details["first_purchase"] and "此前无任何购买记录" in h.message
    # the second purchase has history (the first one)
    both = r30_facts(tx("T1", cst(2025, 5, 1), "S", "NEW", "W-01", 0.5),
                     tx("T2", cst(2025, 5, 2), "S", "NEW", "W-01", 0.5))
    assert keys(both, "R30") == ["T1"]
    assert hits(r30_facts(tx("T1", cst(2025, 5, 1), "S", "NEW", "C3-02", 500.0)), "R30") == []


def test_r26_grade_periods_before_registration_are_not_required():
    """A medium-risk party (2 inspections a year) registered in July owes nothing for January–June."""
    from precursors.algorithms.rules.facts import CST as _CST

    as_of = datetime(2026, 12, 20, 12, tzinfo=_CST)
    party = Party(id="P-NEW", name="新设公司", kinds=frozenset({"trader"}), area_code="320508", risk_grade="medium",
                  registered_on=date(2026, 7, 20))
    inspected = Inspection("I1", "P-NEW", datetime(2026, 9, 1, 10, tzinfo=_CST))
    facts = Facts(as_of=as_of, parties={"P-NEW": party}, inspections=[inspected])
    hits = [h for h in run(facts, ["R26"]) if "P-NEW" in h.key]
    assert hits == []
    old = Party(id="P-OLD", name="老公司", kinds=frozenset({"trader"}), area_code="320508", risk_grade="medium",
                registered_on=date(2020, 1, 1))
    facts = Facts(as_of=as_of, parties={"P-OLD": old}, inspections=[Inspection("I2", "P-OLD",
                                                                                datetime(2026, 9, 1, 10,
                                                                                         tzinfo=_CST))])
    assert [h.key for h in run(facts, ["R26"])] == ["P-OLD|2026|1/2"]


def test_r22_without_a_tag_book_compares_quantities_only():
    from precursors.algorithms.rules.facts import CST as _CST
    from precursors.algorithms.rules.facts import StockCount as _SC

    def count(counted):
        return _SC("SC1", datetime(2026, 5, 1, 10, tzinfo=_CST), "P1", None, "C3-02", counted, 100.0,
                   counted_tags=frozenset({"urn:epc:id:sscc:1.1"}), book_tags=None)

    assert run(Facts(as_of=datetime(2026, 6, 1, tzinfo=_CST), stock_counts=[count(100.0)]), ["R22"]) == []
    assert [h.rule_id for h in run(Facts(as_of=datetime(2026, 6, 1, tzinfo=_CST), stock_counts=[count(90.0)]),
                                   ["R22"])] == ["R22"]
