"""Permit, filing, transport and export rules R01–R08, R19–R21, R31 (precursors.algorithms.rules.permits).

Pure Python: every rule gets a positive, a negative, a boundary and (where the law has one) an exemption case.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from precursors.algorithms.rules import run
from precursors.algorithms.rules.facts import (
    CST,
    DRUG_PROD_LICENCE,
    DRUG_PURCHASE_PROOF,
    DRUG_TRADE_LICENCE,
    EXPORT_LICENCE,
    IMPORT_LICENCE,
    INDIVIDUAL,
    INTL_VERIFICATION,
    MEDICAL,
    NARCOTIC_SEAL_CARD,
    NONPHARMA_TRADE_LICENCE,
    PEN,
    PROD_FILING,
    PURCHASE_FILING,
    PURCHASE_LICENCE,
    REFILING,
    RESEARCH,
    REVOKED,
    SALES_FILING,
    SPECIAL_COUNTRY_EXPORT_LICENCE,
    SUSPENDED,
    TRADE_FILING,
    TRADER,
    TRANSPORT_FILING,
    TRANSPORT_LICENCE,
    USED,
    USER,
    Authorization,
    Facts,
    Filing,
    Party,
    Substance,
    Transaction,
)
from precursors.algorithms.rules.permits import add_working_days


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs the database; these tests need nothing."""
    yield


D = date(2025, 3, 3)                      # a Monday
DAY = timedelta(days=1)
IN_CITY, OTHER_COUNTY, OTHER_CITY = "320508", "320505", "320102"   # 苏州姑苏区, 苏州虎丘区, 南京玄武区

SUBS = {s.code: s for s in (
    Substance("C1-01", "1-苯基-2-丙酮", 1),
    Substance("C1-12a", "麻黄素", 1, is_pharma=True),
    Substance("C1-16", "3-氧-2-苯基丁腈", 1, intl_verification=True),
    Substance("C2-02", "醋酸酐", 2),
    Substance("C3-02", "丙酮", 3),
    Substance("C3-04", "高锰酸钾", 3),
    Substance("C3-06", "盐酸", 3),
    Substance("W-01", "4-哌啶酮", None, watch=True),
)}


def party(pid, *kinds, **kw):
    return Party(pid, f"{pid}公司", frozenset(kinds), area_code=IN_CITY, **kw)


PARTIES = {p.id: p for p in (
    party("S", TRADER), party("B", USER), party("IND", INDIVIDUAL), party("HOSP", MEDICAL),
    party("LAB", RESEARCH), party("CAR", "carrier"), party("F", USER, country="US"),
)}


def at(d, hour=10, minute=0, second=0):
    return datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=CST)


def auth(num, type_, holder, subs=("C3-02",), cap=None, **kw):
    kw.setdefault("valid_from", date(2025, 1, 1))
    kw.setdefault("valid_to", date(2025, 12, 31))
    return Authorization(num, type_, holder, substances={c: cap for c in subs}, **kw)


def tx(tid="T1", sub="C3-02", kg=1000.0, day=D, seller="S", buyer="B", time=None, **kw):
    return Transaction(tid, time or at(day), seller, buyer, sub, kg, event_ids=(f"ev:{tid}",), **kw)


def export(tid="T1", sub="C3-02", country="US", **kw):
    return tx(tid, sub, buyer="F", is_export=True, destination_country=country, **kw)


def filing(fid, kind, party_id, when, tid="T1", status=""):
    return Filing(fid, kind, party_id, when, transaction_id=tid, status=status)


def make(txs, auths=(), parties=(), filings=(), as_of=None, **kw):
    return Facts(as_of=as_of or at(D), substances=SUBS, parties={**PARTIES, **{p.id: p for p in parties}},
                 authorizations={a.id: a for a in auths}, transactions=list(txs), filings=list(filings), **kw)


def fired(facts, rid):
    """(key, severity, block, evidence) of every hit of one rule."""
    return [(h.key, h.severity, h.block, h.evidence) for h in run(facts, [rid])]


def keys(facts, rid):
    return [h.key for h in run(facts, [rid])]


def one(facts, rid):
    hits = run(facts, [rid])
    assert len(hits) == 1, hits
    return hits[0]


# --- R01 purchase without valid authorization -------------------------------------------------------------------
def test_r01_buyer_without_filing_is_blocked():
    h = one(make([tx()]), "R01")
    assert (h.rule_id, h.key, h.severity, h.block, h.party_id, h.evidence) == ("R01", "T1", "H", True, "B", ("ev:T1",))
    assert "购买方 B公司 无有效购买备案证明：丙酮 1,000 kg，2025-03-03" in h.message
    assert h.details["required"] == PURCHASE_FILING and h.details["kg"] == 1000.0


def test_r01_uncited_valid_filing_satisfies():
    assert fired(make([tx()], [auth("PF", PURCHASE_FILING, "B")]), "R01") == []


def test_r01_cited_expired_permit_is_evidence():
    f = make([tx(permits=("PF",))], [auth("PF", PURCHASE_FILING, "B", valid_to=D - DAY)])
    assert fired(f, "R01") == [("T1", "H", True, ("ev:T1", "PF"))]
    assert one(f, "R01").details["held"] == {"PF": "expired"}


@pytest.mark.parametrize("window, hit", [
    ({"valid_from": D}, False), ({"valid_to": D}, False),
    ({"valid_to": D - DAY}, True), ({"valid_from": D + DAY}, True),
])
def test_r01_validity_window_is_inclusive(window, hit):
    f = make([tx()], [auth("PF", PURCHASE_FILING, "B", **window)])
    assert keys(f, "R01") == (["T1"] if hit else [])


@pytest.mark.parametrize("utc_time, hit", [
    (datetime(2025, 3, 3, 15, 59, tzinfo=UTC), False),   # 23:59 CST on the last valid day
    (datetime(2025, 3, 3, 16, 0, tzinfo=UTC), True),     # 00:00 CST the next day
])
def test_r01_judged_on_the_cst_date(utc_time, hit):
    f = make([tx(time=utc_time)], [auth("PF", PURCHASE_FILING, "B", valid_to=D)])
    assert keys(f, "R01") == (["T1"] if hit else [])


@pytest.mark.parametrize("seller, hit", [("S", False), ("OTHER", True)])
def test_r01_permit_restricted_to_a_seller(seller, hit):
    f = make([tx()], [auth("PF", PURCHASE_FILING, "B", counterparty_id=seller)])
    assert keys(f, "R01") == (["T1"] if hit else [])


def test_r01_permit_for_another_substance_does_not_cover():
    f = make([tx(sub="C3-06")], [auth("PF", PURCHASE_FILING, "B", subs=("C3-02",))])
    assert one(f, "R01").details["held"] == {"PF": "品种不符"}


def test_r01_cat1_nonpharma_needs_a_purchase_licence_not_a_filing():
    only_filing = make([tx(sub="C1-01")], [auth("PF", PURCHASE_FILING, "B", subs=("C1-01",))])
    assert one(only_filing, "R01").details["required"] == PURCHASE_LICENCE
    licensed = make([tx(sub="C1-01")], [auth("PL", PURCHASE_LICENCE, "B", subs=("C1-01",))])
    assert fired(licensed, "R01") == []


@pytest.mark.parametrize("buyer, card_to, hit", [
    ("HOSP", date(2025, 12, 31), False),   # 印鉴卡 hospital: exempt
    ("HOSP", None, True),                  # hospital without a card
    ("HOSP", D - DAY, True),               # expired card
    ("B", date(2025, 12, 31), True),       # a card held by a non-medical party does not exempt
])
def test_r01_pharma_seal_card_exemption(buyer, card_to, hit):
    auths = [auth("CARD", NARCOTIC_SEAL_CARD, buyer, subs=(), valid_to=card_to)] if card_to else []
    f = make([tx(sub="C1-12a", kg=0.2, buyer=buyer)], auths)
    assert fired(f, "R01") == ([("T1", "H", True, ("ev:T1",))] if hit else [])
    if hit:
        assert one(f, "R01").details["required"] == DRUG_PURCHASE_PROOF


def test_r01_pharma_purchase_proof_satisfies():
    f = make([tx(sub="C1-12a", kg=0.2)], [auth("DP", DRUG_PURCHASE_PROOF, "B", subs=("C1-12a",))])
    assert fired(f, "R01") == []


@pytest.mark.parametrize("buyer, sub, kg, hit", [
    ("IND", "C3-04", 1.0, False),          # exactly the local small quantity: exempt
    ("IND", "C3-04", 1.001, True),
    ("IND", "C3-02", 0.5, True),           # an individual buying acetone still needs a filing
    ("B", "C3-04", 0.5, True),             # the exemption is for individuals only
])
def test_r01_individual_small_kmno4_exemption(buyer, sub, kg, hit):
    assert keys(make([tx(sub=sub, kg=kg, buyer=buyer)]), "R01") == (["T1"] if hit else [])


def test_r01_kmno4_small_quantity_is_a_parameter():
    f = make([tx(sub="C3-04", kg=2.0, buyer="IND")], params={"kmno4_individual_small_qty_kg": 2.0})
    assert fired(f, "R01") == []


def test_r01_kmno4_exemption_off_when_the_local_quantity_is_not_set():
    assert keys(make([tx(sub="C3-04", kg=0.1, buyer="IND")], params={"kmno4_individual_small_qty_kg": None}), "R01") == ["T1"]


def test_r01_leaves_individuals_buying_cat2_to_r02():
    f = make([tx(sub="C2-02", buyer="IND")])
    assert fired(f, "R01") == [] and keys(f, "R02") == ["T1"]


@pytest.mark.parametrize("revoked_on, hit", [(D, True), (D + DAY, False)])
def test_r01_revoked_on_the_day_is_not_in_force(revoked_on, hit):
    f = make([tx()], [auth("PF", PURCHASE_FILING, "B", status=REVOKED, revoked_on=revoked_on)])
    assert keys(f, "R01") == (["T1"] if hit else [])


def test_r01_buying_from_abroad_needs_an_import_licence():
    f = make([tx(seller="F")], [auth("PF", PURCHASE_FILING, "B")])
    assert one(f, "R01").details["required"] == IMPORT_LICENCE
    assert fired(make([tx(seller="F")], [auth("IL", IMPORT_LICENCE, "B")]), "R01") == []


def test_r01_skips_exports_and_unlisted_substances():
    assert fired(make([export(), tx("T2", sub="W-01")]), "R01") == []


# --- R02 forbidden buyer ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sub, hit", [("C1-01", True), ("C2-02", True), ("C3-02", False), ("W-01", False)])
def test_r02_individual_may_buy_only_cat3(sub, hit):
    f = make([tx(sub=sub, buyer="IND")])
    assert fired(f, "R02") == ([("T1", "H", True, ("ev:T1",))] if hit else [])


def test_r02_company_buyer_is_not_forbidden():
    assert fired(make([tx(sub="C2-02")]), "R02") == []


@pytest.mark.parametrize("until, hit", [(D - DAY, False), (D, False), (D + DAY, True)])
def test_r02_blacklist_ends_on_blacklist_until(until, hit):
    f = make([tx()], parties=[party("B", USER, blacklist_until=until)])
    assert fired(f, "R02") == ([("T1", "H", True, ("ev:T1",))] if hit else [])


def test_r02_individual_and_blacklisted_is_one_hit_with_both_reasons():
    f = make([tx(sub="C1-01", buyer="IND")], parties=[party("IND", INDIVIDUAL, blacklist_until=D + DAY)])
    h = one(f, "R02")
    assert h.party_id == "IND" and h.details["individual"] is True and h.details["blacklist_until"] == "2025-03-04"
    assert "个人不得购买第1类" in h.message and "黑名单" in h.message


# --- R03 seller not authorized to trade -------------------------------------------------------------------------
def test_r03_seller_without_trade_filing():
    h = one(make([tx()]), "R03")
    assert (h.key, h.severity, h.block, h.party_id, h.evidence) == ("T1", "H", True, "S", ("ev:T1",))
    assert h.details["required"] == TRADE_FILING


def test_r03_seller_with_trade_filing_passes():
    assert fired(make([tx()], [auth("TF", TRADE_FILING, "S")]), "R03") == []


@pytest.mark.parametrize("valid_to, hit", [(D, False), (D - DAY, True)])
def test_r03_trade_filing_validity_boundary(valid_to, hit):
    f = make([tx()], [auth("TF", TRADE_FILING, "S", valid_to=valid_to)])
    assert fired(f, "R03") == ([("T1", "H", True, ("ev:T1", "TF"))] if hit else [])


@pytest.mark.parametrize("sub, held, hit", [
    ("C1-01", TRADE_FILING, True), ("C1-01", NONPHARMA_TRADE_LICENCE, False),
    ("C1-12a", NONPHARMA_TRADE_LICENCE, True), ("C1-12a", DRUG_TRADE_LICENCE, False),
])
def test_r03_cat1_needs_the_right_licence(sub, held, hit):
    f = make([tx(sub=sub)], [auth("L", held, "S", subs=(sub,))])
    assert keys(f, "R03") == (["T1"] if hit else [])


@pytest.mark.parametrize("production_sale, held, hit", [
    (True, PROD_FILING, False),            # producer selling its own output: exempt
    (True, None, True),                    # claims production sale without a production filing
    (False, PROD_FILING, True),            # a production filing alone does not allow trading
])
def test_r03_producer_selling_own_output_exemption(production_sale, held, hit):
    auths = [auth("PR", held, "S")] if held else []
    f = make([tx(is_production_sale=production_sale)], auths)
    assert keys(f, "R03") == (["T1"] if hit else [])


def test_r03_cat1_production_sale_needs_the_cat1_production_licence():
    f = make([tx(sub="C1-12a", is_production_sale=True)], [auth("PR", PROD_FILING, "S", subs=("C1-12a",))])
    assert keys(f, "R03") == ["T1"]
    f = make([tx(sub="C1-12a", is_production_sale=True)], [auth("PR", DRUG_PROD_LICENCE, "S", subs=("C1-12a",))])
    assert keys(f, "R03") == []


# --- R04 quantity over permit / reuse ---------------------------------------------------------------------------
def test_r04_cumulative_quantity_at_the_cap_passes():
    f = make([tx("T1", kg=600, permits=("PF",)), tx("T2", kg=400, day=D + DAY, permits=("PF",))],
             [auth("PF", PURCHASE_FILING, "B", cap=1000)])
    assert fired(f, "R04") == []


def test_r04_the_transaction_crossing_the_cap_is_flagged_in_time_order():
    later, earlier = tx("T1", kg=401, day=D + DAY, permits=("PF",)), tx("T2", kg=600, permits=("PF",))
    f = make([later, earlier], [auth("PF", PURCHASE_FILING, "B", cap=1000)])
    assert fired(f, "R04") == [("T1:PF", "H", True, ("ev:T1", "PF"))]
    h = one(f, "R04")
    assert h.party_id == "B" and h.details["cumulative_kg"] == 1001 and h.details["max_kg"] == 1000


@pytest.mark.parametrize("kg, hit", [(500, False), (501, True)])
def test_r04_prior_usage_counts(kg, hit):
    a = auth("PF", PURCHASE_FILING, "B", cap=1000, prior_used_kg={"C3-02": 500.0})
    assert keys(make([tx(kg=kg, permits=("PF",))], [a]), "R04") == (["T1:PF"] if hit else [])


def test_r04_float_noise_is_not_an_excess():
    f = make([tx(f"T{i}", kg=0.1, permits=("PF",)) for i in range(10)], [auth("PF", PURCHASE_FILING, "B", cap=1.0)])
    assert fired(f, "R04") == []


def test_r04_single_use_permit_reused():
    f = make([tx("T1", permits=("PL",)), tx("T2", day=D + DAY, permits=("PL",))],
             [auth("PL", PURCHASE_LICENCE, "B", uses_allowed=1)])
    assert fired(f, "R04") == [("T2:PL", "H", True, ("ev:T2", "PL"))]
    assert one(f, "R04").details["uses"] == 2


def test_r04_prior_use_makes_the_first_capture_a_reuse():
    f = make([tx(permits=("PL",))], [auth("PL", PURCHASE_LICENCE, "B", uses_allowed=1, prior_uses=1)])
    assert keys(f, "R04") == ["T1:PL"]


def test_r04_uncapped_multi_use_permit_and_transport_permits_are_not_counted():
    f = make([tx("T1", permits=("PF", "TR")), tx("T2", permits=("PF", "TR"))],
             [auth("PF", PURCHASE_FILING, "B"), auth("TR", TRANSPORT_FILING, "S", cap=1000, uses_allowed=1)])
    assert fired(f, "R04") == []
    f.params = {"quantity_capped_permit_types": (TRANSPORT_FILING,)}
    assert keys(f, "R04") == ["T2:TR"]


# --- R05 invalid cited permit -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, reason", [
    ({"valid_to": D}, None), ({"valid_from": D}, None),
    ({"valid_to": D - DAY}, "expired"), ({"valid_from": D + DAY}, "not_yet_valid"),
    ({"status": REVOKED, "revoked_on": D}, "revoked"), ({"status": REVOKED, "revoked_on": D + DAY}, None),
    ({"status": REVOKED}, "revoked"), ({"status": SUSPENDED}, "suspended"),
    ({"status": USED}, None),              # uses are R04's business; the dates decide validity
])
def test_r05_cited_permit_validity(kw, reason):
    f = make([tx(permits=("PF", "PF"))], [auth("PF", PURCHASE_FILING, "B", **kw)])
    if reason is None:
        assert fired(f, "R05") == []
    else:
        assert fired(f, "R05") == [("T1:PF", "H", True, ("ev:T1", "PF"))]
        h = one(f, "R05")
        assert h.party_id == "B" and h.details["reason"] == reason


def test_r05_unknown_permit_number_is_reported_against_the_seller():
    h = one(make([tx(permits=("FAKE-1",))]), "R05")
    assert (h.key, h.party_id, h.details["reason"]) == ("T1:FAKE-1", "S", "unknown")


# --- R06 sales filing -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sub, filed_after, hit", [
    ("C1-01", 5, False), ("C1-01", 6, True), ("C3-02", 30, False), ("C3-02", 31, True),
])
def test_r06_filing_deadline_is_inclusive(sub, filed_after, hit):
    sf = filing("SF", SALES_FILING, "S", at(D + filed_after * DAY))
    f = make([tx(sub=sub)], filings=[sf], as_of=at(D + 60 * DAY))
    assert fired(f, "R06") == ([("T1", "M", False, ("ev:T1", "SF"))] if hit else [])
    if hit:
        assert one(f, "R06").details["days_late"] == 1


@pytest.mark.parametrize("as_of_days, hit", [(5, False), (6, True)])
def test_r06_missing_filing_only_after_the_deadline(as_of_days, hit):
    f = make([tx(sub="C1-01")], as_of=at(D + as_of_days * DAY))
    assert fired(f, "R06") == ([("T1", "M", False, ("ev:T1",))] if hit else [])


def test_r06_a_filing_by_another_party_does_not_count():
    f = make([tx(sub="C1-01")], filings=[filing("SF", SALES_FILING, "B", at(D))], as_of=at(D + 10 * DAY))
    assert fired(f, "R06") == [("T1", "M", False, ("ev:T1",))]


@pytest.mark.parametrize("third_after, third_severity", [(364, "H"), (365, "M")])
def test_r06_escalates_on_the_third_violation_within_365_days(third_after, third_severity):
    sales = [tx("T1", sub="C1-01"), tx("T2", sub="C1-01", day=D + 100 * DAY),
             tx("T3", sub="C1-01", day=D + third_after * DAY)]
    f = make(sales, as_of=at(D + 400 * DAY))
    assert [(h.key, h.severity) for h in run(f, ["R06"])] == [("T1", "M"), ("T2", "M"), ("T3", third_severity)]


def test_r06_exports_are_not_sales_filings():
    assert fired(make([export(sub="C1-01")], as_of=at(D + 10 * DAY)), "R06") == []


# --- R07 transport without permit -------------------------------------------------------------------------------
def ship(tid="T1", sub="C3-02", dest=OTHER_CITY, carrier_id="CAR", **kw):
    return tx(tid, sub, origin_area=IN_CITY, destination_area=dest, carrier_id=carrier_id, **kw)


def test_r07_cross_city_without_filing_is_blocked():
    h = one(make([ship()]), "R07")
    assert (h.key, h.severity, h.block, h.party_id, h.evidence) == ("T1", "H", True, "S", ("ev:T1",))
    assert h.details["crossing"] == "city" and h.details["required"] == TRANSPORT_FILING


def test_r07_consignor_with_transport_filing_passes():
    assert fired(make([ship()], [auth("TR", TRANSPORT_FILING, "S")]), "R07") == []


def test_r07_permit_held_by_the_buyer_does_not_count():
    assert keys(make([ship()], [auth("TR", TRANSPORT_FILING, "B")]), "R07") == ["T1"]


@pytest.mark.parametrize("dest, key_areas, hit", [
    (IN_CITY, frozenset(), False),                    # same county
    (OTHER_COUNTY, frozenset(), False),               # same city, not a key area
    (OTHER_COUNTY, frozenset({OTHER_COUNTY}), True),  # county boundary inside a key area
    ("", frozenset(), False),                         # unknown destination: cannot judge
])
def test_r07_which_movements_need_a_permit(dest, key_areas, hit):
    f = make([ship(dest=dest)], key_areas=key_areas)
    assert keys(f, "R07") == (["T1"] if hit else [])


def test_r07_cat2_needs_a_licence_not_a_filing():
    f = make([ship(sub="C2-02")], [auth("TR", TRANSPORT_FILING, "S", subs=("C2-02",))])
    assert one(f, "R07").details["required"] == TRANSPORT_LICENCE
    f = make([ship(sub="C2-02")], [auth("TR", TRANSPORT_LICENCE, "S", subs=("C2-02",))])
    assert fired(f, "R07") == []


@pytest.mark.parametrize("valid_to, hit", [(D, False), (D - DAY, True)])
def test_r07_permit_valid_at_departure(valid_to, hit):
    f = make([ship()], [auth("TR", TRANSPORT_FILING, "S", valid_to=valid_to)])
    assert keys(f, "R07") == (["T1"] if hit else [])


def test_r07_uncited_permit_for_another_destination_does_not_count_but_a_cited_one_does():
    a = auth("TR", TRANSPORT_FILING, "S", destination_area="330100")
    assert keys(make([ship()], [a]), "R07") == ["T1"]
    f = make([ship(permits=("TR",))], [a])
    assert fired(f, "R07") == [] and keys(f, "R08") == ["T1:TR"]


@pytest.mark.parametrize("buyer, kg, card, hit", [
    ("LAB", 0.1, False, False),            # research sample ≤100 g: art. 23 exemption
    ("LAB", 0.1001, False, True),
    ("HOSP", 0.45, True, False),           # hospital with 印鉴卡, small quantity
    ("HOSP", 0.45, False, True),           # hospital without a card or purchase proof
    ("HOSP", 0.46, True, True),
])
def test_r07_ephedrine_art23_exemptions(buyer, kg, card, hit):
    auths = [auth("CARD", NARCOTIC_SEAL_CARD, "HOSP", subs=())] if card else []
    f = make([ship(sub="C1-12a", kg=kg, buyer=buyer)], auths)
    assert keys(f, "R07") == (["T1"] if hit else [])


# --- R08 transport mismatch -------------------------------------------------------------------------------------
def transport_permit(num="TR", type_=TRANSPORT_FILING, sub="C3-02", **kw):
    kw = {"origin_area": IN_CITY, "destination_area": OTHER_CITY, "consignee_id": "B", "carrier_id": "CAR", **kw}
    return auth(num, type_, "S", subs=(sub,), cap=1000, **kw)


def test_r08_matching_shipment_passes():
    assert fired(make([ship(permits=("TR",))], [transport_permit()]), "R08") == []


@pytest.mark.parametrize("kg, hit", [(1000, False), (1000.5, True)])
def test_r08_quantity_boundary(kg, hit):
    f = make([ship(kg=kg, permits=("TR",))], [transport_permit()])
    assert fired(f, "R08") == ([("T1:TR", "H", True, ("ev:T1", "TR"))] if hit else [])
    if hit:
        assert one(f, "R08").details["mismatches"] == {"quantity": {"permit": 1000, "shipment": 1000.5}}


def test_r08_every_mismatch_in_one_hit():
    f = make([ship(dest="330100", consignee_id="X", carrier_id="CAR2", permits=("TR",))], [transport_permit()])
    h = one(f, "R08")
    assert (h.key, h.party_id) == ("T1:TR", "S")
    assert set(h.details["mismatches"]) == {"destination", "consignee", "carrier"}
    assert "目的地" in h.message and "收货方" in h.message and "承运方" in h.message


def test_r08_substance_and_consignor_mismatch():
    f = make([ship(sub="C3-06", permits=("TR",))], [transport_permit()])
    assert set(one(f, "R08").details["mismatches"]) == {"substance"}
    other_holder = Authorization("TR", TRANSPORT_FILING, "B", {"C3-02": None}, valid_from=D, valid_to=D)
    assert set(one(make([ship(permits=("TR",))], [other_holder]), "R08").details["mismatches"]) == {"consignor"}


def test_r08_cat1_licence_is_single_use_but_cat3_filing_is_not():
    cat1 = transport_permit(type_=TRANSPORT_LICENCE, sub="C1-01")
    f = make([ship("T1", sub="C1-01", permits=("TR",)), ship("T2", sub="C1-01", day=D + DAY, permits=("TR",))], [cat1])
    assert fired(f, "R08") == [("T2:TR", "H", True, ("ev:T2", "TR"))]
    assert one(f, "R08").details["mismatches"] == {"reuse": {"permit": 1, "shipment": 2}}
    f = make([ship("T1", permits=("TR",)), ship("T2", day=D + DAY, permits=("TR",))], [transport_permit()])
    assert fired(f, "R08") == []


def test_r08_prior_shipment_counts_for_single_use():
    used_once = transport_permit(type_=TRANSPORT_LICENCE, sub="C1-01", prior_uses=1)
    f = make([ship(sub="C1-01", permits=("TR",))], [used_once])
    assert keys(f, "R08") == ["T1:TR"]


# --- R19 cash or barter -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, hit", [("cash", True), ("in_kind", True), ("transfer", False), ("", False)])
def test_r19_cash_or_barter_between_companies(method, hit):
    f = make([tx(payment_method=method)])
    assert fired(f, "R19") == ([("T1", "H", True, ("ev:T1",))] if hit else [])


@pytest.mark.parametrize("sub, hit", [("C3-02", False), ("C1-12a", False), ("C2-02", True)])
def test_r19_individual_buying_cat3_or_a_drug_preparation_may_pay_cash(sub, hit):
    assert keys(make([tx(sub=sub, buyer="IND", payment_method="cash")]), "R19") == (["T1"] if hit else [])


def test_r19_methods_are_a_parameter():
    f = make([tx(payment_method="crypto")], params={"forbidden_payment_methods": ("cash", "in_kind", "crypto")})
    assert keys(f, "R19") == ["T1"]


# --- R20 export licences ----------------------------------------------------------------------------------------
def test_r20_export_without_licence_is_blocked():
    h = one(make([export()]), "R20")
    assert (h.key, h.severity, h.block, h.party_id, h.evidence) == ("T1:export_licence", "H", True, "S", ("ev:T1",))


@pytest.mark.parametrize("country, hit", [(None, False), ("US", False), ("MX", True)])
def test_r20_export_licence_destination(country, hit):
    f = make([export()], [auth("EL", EXPORT_LICENCE, "S", destination_country=country)])
    assert keys(f, "R20") == (["T1:export_licence"] if hit else [])


@pytest.mark.parametrize("start, end, hit", [
    (D, None, True), (D + DAY, None, False), (D - 10 * DAY, D, True), (D - 10 * DAY, D - DAY, False),
])
def test_r20_special_country_rule_effective_on_ship_date(start, end, hit):
    f = make([export(country="MM")], [auth("EL", EXPORT_LICENCE, "S")],
             special_country_rules=[("C3-02", "MM", start, end)])
    assert fired(f, "R20") == ([("T1:special_country", "H", True, ("ev:T1",))] if hit else [])


@pytest.mark.parametrize("country, hit", [("MM", False), (None, False), ("LA", True)])
def test_r20_special_country_licence_exempts(country, hit):
    f = make([export(country="MM")], [auth("EL", EXPORT_LICENCE, "S"),
                                      auth("SC", SPECIAL_COUNTRY_EXPORT_LICENCE, "S", destination_country=country)],
             special_country_rules=[("C3-02", "MM", D, None)])
    assert keys(f, "R20") == (["T1:special_country"] if hit else [])


def test_r20_unlisted_chemical_on_the_special_catalogue_needs_only_the_special_licence():
    f = make([export(sub="W-01", country="MM")], special_country_rules=[("W-01", "MM", D, None)])
    assert keys(f, "R20") == ["T1:special_country"]


@pytest.mark.parametrize("customs_kg, hit", [(1010.0, False), (990.0, False), (1010.5, True), (989.5, True)])
def test_r20_customs_quantity_tolerance(customs_kg, hit):
    f = make([export(customs_kg=customs_kg)], [auth("EL", EXPORT_LICENCE, "S")])
    assert fired(f, "R20") == ([("T1:customs_qty", "H", False, ("ev:T1",))] if hit else [])


@pytest.mark.parametrize("sub, share, hit", [
    ("C3-02", 0.40, False), ("C3-02", 0.41, True), ("C3-06", 0.10, False), ("C3-06", 0.11, True),
    ("C1-01", 0.01, True),                 # any share of a substance not in the threshold table
])
def test_r20_mixture_share_thresholds(sub, share, hit):
    assert keys(make([export(sub=sub, mixture_share=share)]), "R20") == (["T1:export_licence"] if hit else [])


def test_r20_domestic_sale_is_not_an_export():
    assert fired(make([tx()]), "R20") == []


# --- R21 international verification / PEN -----------------------------------------------------------------------
def test_r21_verification_missing():
    h = one(make([export(sub="C1-16")]), "R21")
    assert (h.key, h.severity, h.block, h.party_id, h.evidence) == ("T1:verification", "H", True, "S", ("ev:T1",))


@pytest.mark.parametrize("when, status, hit", [
    (at(D, 9, 59, 59), "passed", False), (at(D, 10), "passed", True),   # must be complete before dispatch
    (at(D - DAY), "failed", True),
])
def test_r21_verification_must_pass_before_dispatch(when, status, hit):
    f = make([export(sub="C1-16")], filings=[filing("V1", INTL_VERIFICATION, "S", when, status=status)])
    assert fired(f, "R21") == ([("T1:verification", "H", True, ("ev:T1", "V1"))] if hit else [])


def test_r21_substance_not_on_verification_list_and_no_pen_country():
    assert fired(make([export(sub="C3-02")]), "R21") == []


PEN_US = {"pen_required_countries": ("us",)}


@pytest.mark.parametrize("statuses, expected", [
    ((), ["T1:pen"]), (("acknowledged",), []), (("no_objection",), []), (("sent",), ["T1:pen"]),
    (("objected",), ["T1:pen_objected"]), (("acknowledged", "objected"), ["T1:pen_objected"]),
])
def test_r21_pen_for_listed_countries(statuses, expected):
    pens = [filing(f"P{i}", PEN, "S", at(D - DAY), status=s) for i, s in enumerate(statuses)]
    f = make([export()], filings=pens, params=PEN_US)
    assert keys(f, "R21") == expected
    if expected == ["T1:pen_objected"]:
        assert one(f, "R21").evidence == ("ev:T1", f"P{statuses.index('objected')}")


@pytest.mark.parametrize("when, hit", [(at(D, 9), False), (at(D, 10), True)])
def test_r21_pen_acknowledged_before_dispatch(when, hit):
    f = make([export()], filings=[filing("P", PEN, "S", when, status="acknowledged")], params=PEN_US)
    assert fired(f, "R21") == ([("T1:pen", "H", True, ("ev:T1", "P"))] if hit else [])


def test_r21_pen_country_not_listed_but_substance_requires_pen():
    assert fired(make([export(country="DE")], params=PEN_US), "R21") == []
    subs = {**SUBS, "C3-02": Substance("C3-02", "丙酮", 3, pen_required=True)}
    f = make([export(country="DE")])
    f.substances = subs
    assert keys(f, "R21") == ["T1:pen"]


# --- R31 permit lifecycle ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("type_, valid_to, kw, hit", [
    (TRADE_FILING, D + 90 * DAY, {}, True), (TRADE_FILING, D + 91 * DAY, {}, False),
    (TRADE_FILING, D, {}, True), (TRADE_FILING, D - DAY, {}, False),
    (PURCHASE_FILING, D + 30 * DAY, {}, False),              # short-lived permits get no reminder
    (TRADE_FILING, D + 30 * DAY, {"status": SUSPENDED}, False),
])
def test_r31_expiry_reminder(type_, valid_to, kw, hit):
    f = make([], [auth("TF", type_, "S", valid_to=valid_to, **kw)])
    assert fired(f, "R31") == ([("expiry:TF", "L", False, ("TF",))] if hit else [])
    if hit:
        assert one(f, "R31").details["days_left"] == (valid_to - D).days


def test_add_working_days_counts_monday_to_friday():
    assert add_working_days(D, 5) == D + 7 * DAY
    assert add_working_days(date(2025, 3, 7), 1) == date(2025, 3, 10)          # Friday → Monday
    assert add_working_days(D, 30) == date(2025, 4, 14)


CHANGED = party("B", USER, changed_on=D)


@pytest.mark.parametrize("day, hit", [(date(2025, 4, 14), False), (date(2025, 4, 15), True)])
def test_r31_trading_after_the_refiling_deadline(day, hit):
    f = make([tx(day=day)], parties=[CHANGED], as_of=at(date(2025, 5, 1)))
    assert fired(f, "R31") == ([("refiling:B:2025-03-03", "M", False, ("ev:T1",))] if hit else [])


def test_r31_refiling_in_time_clears_and_a_late_one_clears_only_later_trades():
    in_time = [filing("RF", REFILING, "B", at(D + 7 * DAY), tid=None)]
    assert fired(make([tx(day=date(2025, 5, 1))], parties=[CHANGED], filings=in_time), "R31") == []
    late = [filing("RF", REFILING, "B", at(date(2025, 4, 20)), tid=None)]
    f = make([tx("T1", day=date(2025, 4, 16)), tx("T2", day=date(2025, 4, 21), seller="B", buyer="S")],
             parties=[CHANGED], filings=late)
    h = one(f, "R31")
    assert (h.party_id, h.evidence, h.details["transactions"]) == ("B", ("ev:T1",), ["T1"])
    assert h.details["refiled_on"] == "2025-04-20"


def test_r31_refiling_before_the_change_does_not_count():
    old = [filing("RF", REFILING, "B", at(D - DAY), tid=None)]
    assert keys(make([tx(day=date(2025, 5, 1))], parties=[CHANGED], filings=old), "R31") == ["refiling:B:2025-03-03"]


# --- scale: a clean world raises nothing --------------------------------------------------------------------------
RULES = ["R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R19", "R20", "R21", "R31"]


def test_fifty_thousand_clean_transactions_raise_no_hits():
    start, end = date(2025, 1, 1), date(2027, 12, 31)
    parties = [party(f"S{i}", TRADER) for i in range(10)] + [party(f"B{i}", USER) for i in range(100)]
    auths = []
    for i in range(10):
        auths += [auth(f"TF{i}", TRADE_FILING, f"S{i}", subs=("C2-02", "C3-02", "C3-06"), valid_from=start,
                       valid_to=end),
                  auth(f"NL{i}", NONPHARMA_TRADE_LICENCE, f"S{i}", subs=("C1-01",), valid_from=start, valid_to=end),
                  auth(f"TR{i}", TRANSPORT_FILING, f"S{i}", subs=("C3-02",), valid_from=start, valid_to=end),
                  auth(f"EL{i}", EXPORT_LICENCE, f"S{i}", subs=("C3-02",), valid_from=start, valid_to=end)]
    for i in range(100):
        auths += [auth(f"PF{i}", PURCHASE_FILING, f"B{i}", subs=("C2-02", "C3-02", "C3-06"), valid_from=start,
                       valid_to=end),
                  auth(f"PL{i}", PURCHASE_LICENCE, f"B{i}", subs=("C1-01",), cap=1e9, valid_from=start, valid_to=end)]
    subs = ("C1-01", "C2-02", "C3-02", "C3-06")
    txs, filings = [], []
    for n in range(50_000):
        s, b, sub = f"S{n % 10}", f"B{n % 100}", subs[n % 4]
        day = date(2025, 1, 1) + timedelta(days=n % 360)
        tid = f"T{n}"
        if n % 50 == 0:        # an export of acetone with its licence and matching customs quantity
            txs.append(Transaction(tid, at(day), s, "F", "C3-02", 500.0, (f"ev:{tid}",), (f"EL{n % 10}",),
                                   "transfer", is_export=True, destination_country="US", customs_kg=500.0))
            continue
        cross = sub == "C3-02"  # acetone travels to another city under the consignor's transport filing
        permits = (f"PL{n % 100}",) if sub == "C1-01" else (f"PF{n % 100}", f"TR{n % 10}") if cross else ()
        txs.append(Transaction(tid, at(day), s, b, sub, 100.0 + n % 7, (f"ev:{tid}",), permits, "transfer",
                               origin_area=IN_CITY, destination_area=OTHER_CITY if cross else IN_CITY))
        filings.append(Filing(f"SF{n}", SALES_FILING, s, at(day + DAY), transaction_id=tid))
    f = Facts(as_of=at(date(2025, 12, 31)), substances=SUBS, parties={**PARTIES, **{p.id: p for p in parties}},
              authorizations={a.id: a for a in auths}, transactions=txs, filings=filings)
    assert run(f, RULES) == []


def test_r06_filing_may_cite_the_event_id_or_the_waybill():
    from precursors.algorithms.rules.facts import SALES_FILING as _SF

    sale = tx(sub="C3-02")
    sale.event_ids, sale.waybill = ("urn:uuid:sale-1",), "WB-77"
    for ref in ("urn:uuid:sale-1", "WB-77"):
        filing = Filing("F1", _SF, sale.seller_id, sale.time + timedelta(days=1), transaction_id=ref)
        facts = make([sale], filings=[filing], as_of=sale.time + timedelta(days=60))
        assert keys(facts, "R06") == [], ref


def test_r07_key_area_uses_the_county_of_street_level_site_codes():
    from precursors.algorithms.rules.permits import _crossing

    t = tx(sub="C3-02")
    t.origin_area, t.destination_area = "320508001", "320505002"
    assert _crossing(t, frozenset({"320508"})) == "key_area"
    assert _crossing(t, frozenset()) is None


@pytest.mark.parametrize("linked_first", [True, False])
def test_r06_a_filing_linked_to_its_sale_counts_like_one_naming_its_id(linked_first):
    """The fact builder links a filing to the transaction it names (Filing.about); R06 then finds it through the
    link, the earliest of linked and unlinked filings of the seller still deciding."""
    sale = tx(sub="C1-01")                                  # Cat 1: due in 5 days
    on_time = filing("SF1", SALES_FILING, "S", at(D + 2 * DAY))
    late = filing("SF2", SALES_FILING, "S", at(D + 9 * DAY))
    by_buyer = filing("SF3", SALES_FILING, "B", at(D + 1 * DAY))
    (on_time if linked_first else late).about(sale)
    by_buyer.about(sale)                                    # another party's filing still does not count
    assert fired(make([sale], filings=[late, on_time, by_buyer], as_of=at(D + 60 * DAY)), "R06") == []
    alone = filing("SF4", SALES_FILING, "S", at(D + 9 * DAY))
    alone.about(sale)
    assert fired(make([sale], filings=[alone, by_buyer], as_of=at(D + 60 * DAY)), "R06") == \
        [("T1", "M", False, ("ev:T1", "SF4"))]
