"""Wastewater back-calculation: the test vectors of research/wastewater.md §1–§2, LOQ handling, the
correction-factor table and Monte Carlo. Pure Python, no database."""

import json
import math
from datetime import date

import numpy as np
import pytest

from monitoring.algorithms import wbe
from monitoring.algorithms.wbe import (
    CorrectionFactor, amphetamine_estimable, amphetamine_illicit, annual_mass_kg, back_calculate,
    back_calculate_residue, cotinine_population_thousand, coverage, factor_for, first_order_rsd,
    load_correction_factors, lognormal_interval, monte_carlo, monte_carlo_reference, pnl_chinese_units,
    population_weighted_mean,
)

# §2.1: residue, C ng/L, Q m³/d, P, load mg/d, PNL, CF used, consumption (stated precision)
VECTORS_2_1 = [
    ("METH", 250, 300_000, 1_500_000, 75_000, 50.0, 1 / 0.43, 116.279),
    ("ketamine", 20, 100_000, 400_000, 2_000, 5.0, 1 / 0.20, 25.0),
    ("BE (cocaine)", 500, 200_000, 1_000_000, 100_000, 100.0, 1.0485 / 0.29, 361.552),
    ("MDMA", 5, 80_000, 250_000, 400, 1.6, 1 / 0.225, 7.111),
    ("METH non-detect", 0, 50_000, 200_000, 0, 0, 1 / 0.43, 0),
]


@pytest.mark.parametrize("label,c,q,p,load,pnl,cf,consumption", VECTORS_2_1, ids=[v[0] for v in VECTORS_2_1])
def test_section_2_1_vectors(label, c, q, p, load, pnl, cf, consumption):
    r = back_calculate(c, q, p, cf=cf)
    assert r.load_mg_d == pytest.approx(load, abs=1e-9)
    assert round(r.pnl_mg_d_1000, 1) == pnl
    assert round(r.consumption_mg_d_1000, 3) == consumption
    assert r.loq_rule == "quantified" and not r.censored
    assert r.doses_d_1000 is None  # no dose given


def test_section_2_1_cf_column():
    assert round(1 / 0.43, 4) == 2.3256
    assert round(1.0485 / 0.29, 4) == 3.6155


def test_section_2_1_through_the_table():
    """The same vectors with the factor looked up in correction_factors.json (defaults)."""
    assert round(back_calculate_residue("methamphetamine", 250, 300_000, 1_500_000).consumption_mg_d_1000, 3) == 116.279
    assert back_calculate_residue("ketamine", 20, 100_000, 400_000).consumption_mg_d_1000 == pytest.approx(25.0)
    assert round(back_calculate_residue("mdma", 5, 80_000, 250_000).consumption_mg_d_1000, 3) == 7.111
    # BE: the table keeps the unrounded MW ratio 303.35/289.33 = 1.048457, the §2.1 vector rounded it to 1.0485,
    # so 361.537 instead of 361.552 (0.004 %). Both are correct to the inputs' precision.
    be = back_calculate_residue("benzoylecgonine", 500, 200_000, 1_000_000)
    assert round(be.consumption_mg_d_1000, 3) == 361.537
    assert be.consumption_mg_d_1000 == pytest.approx(361.552, rel=1e-4)
    assert (be.cf_residue, be.cf_version) == ("benzoylecgonine", "2026.1")


def test_doses_stage():
    r = back_calculate(250, 300_000, 1_500_000, cf=1 / 0.43, dose_mg=30)
    assert r.doses_d_1000 == pytest.approx(116.279 / 30, rel=1e-5)
    r = back_calculate_residue("methamphetamine", 250, 300_000, 1_500_000)
    assert r.dose_mg == 30 and r.doses_d_1000 == pytest.approx(3.876, abs=5e-4)
    assert back_calculate(250, 300_000, 1_500_000, dose_mg=30).doses_d_1000 is None  # no cf, no doses


def test_chinese_unit_check():
    """261.9 ng/L, 30 万m³/d, 1500 千人 → 52.38 in both forms."""
    cn = pnl_chinese_units(261.9, 30, 1500)
    si = back_calculate(261.9, 30 * 1e4, 1500 * 1e3).pnl_mg_d_1000
    assert round(cn, 2) == 52.38
    assert cn == pytest.approx(si, rel=1e-12)


def test_population_weighted_mean_section_2_2():
    values = [328.77, 120.71, 74.02, 2.94]  # Prague, Dresden, Zurich, Helsinki METH 2021
    pops = [1_332_000, 702_300, 471_275, 860_000]
    assert sum(pops) == 3_365_575
    assert round(population_weighted_mean(values, pops), 2) == 166.42
    assert round(population_weighted_mean(values, [1] * 4), 2) == 131.61
    # None values are dropped together with their weight
    assert population_weighted_mean([328.77, None, 74.02, float("nan")], pops) == pytest.approx(
        (328.77 * 1_332_000 + 74.02 * 471_275) / (1_332_000 + 471_275))
    assert population_weighted_mean([None, None], [1, 2]) is None
    with pytest.raises(ValueError, match="populations"):
        population_weighted_mean([1.0], [0])
    with pytest.raises(ValueError, match="length"):
        population_weighted_mean([1.0, 2.0], [1])


def test_first_order_example():
    assert round(first_order_rsd(0.10, 0.10, 0.20, 0.26), 3) == 0.357
    assert round(first_order_rsd(10, 10, 20, 26), 1) == 35.7  # percent in, percent out
    assert first_order_rsd([0.10, 0.10, 0.20, 0.26]) == first_order_rsd(0.10, 0.10, 0.20, 0.26)
    with pytest.raises(ValueError, match="rsds"):
        first_order_rsd(0.1, -0.2)


def test_annual_mass_same_order_as_espr_2020():
    """157 mg/day/1000 × 1.4e9 people ≈ 80 t/yr; the paper's own figure is 84 t (95 % CI 44–136): same order."""
    kg = annual_mass_kg(157, 1.4e9)
    assert kg / 1000 == pytest.approx(80.2, abs=0.1)
    assert 44 <= kg / 1000 <= 136
    assert round(math.log10(kg / 1000)) == round(math.log10(84))


# ---------------------------------------------------------------------------------------------------- LOQ


@pytest.mark.parametrize("policy,used", [("zero", 0.0), ("half_loq", 2.5), ("loq", 5.0), ("missing", None)])
def test_loq_policies_below_loq(policy, used):
    r = back_calculate(3.0, 100_000, 100_000, cf=2.0, dose_mg=10, loq_ng_l=5.0, loq_policy=policy)
    assert r.censored and r.loq_rule == policy and r.concentration_ng_l == 3.0
    assert r.concentration_used_ng_l == used
    if used is None:
        assert r.load_mg_d is r.pnl_mg_d_1000 is r.consumption_mg_d_1000 is r.doses_d_1000 is None
    else:
        assert r.load_mg_d == pytest.approx(used * 100)
        assert r.pnl_mg_d_1000 == pytest.approx(used)
        assert r.consumption_mg_d_1000 == pytest.approx(2 * used)


@pytest.mark.parametrize("policy,used", [("zero", 0.0), ("half_loq", 2.5), ("loq", 5.0), ("missing", None)])
def test_loq_policies_non_detect(policy, used):
    r = back_calculate(None, 100_000, 100_000, loq_ng_l=5.0, loq_policy=policy)
    assert r.censored and r.loq_rule == policy and r.concentration_used_ng_l == used


def test_loq_boundary_and_requirements():
    at = back_calculate(5.0, 100_000, 100_000, loq_ng_l=5.0, loq_policy="missing")
    assert not at.censored and at.loq_rule == "quantified" and at.pnl_mg_d_1000 == pytest.approx(5.0)
    assert back_calculate(None, 1, 1).loq_rule == "zero"  # non-detect, default policy, no LOQ needed
    with pytest.raises(ValueError, match="loq_ng_l"):
        back_calculate(None, 1, 1, loq_policy="half_loq")
    with pytest.raises(ValueError, match="loq_policy"):
        back_calculate(1, 1, 1, loq_policy="drop")


@pytest.mark.parametrize("kwargs,name", [
    (dict(population=0), "population"),
    (dict(population=-5), "population"),
    (dict(flow_m3_d=0), "flow_m3_d"),
    (dict(flow_m3_d=-1), "flow_m3_d"),
    (dict(concentration_ng_l=-1), "concentration_ng_l"),
    (dict(concentration_ng_l=float("nan")), "concentration_ng_l"),
    (dict(concentration_ng_l="abc"), "concentration_ng_l"),
    (dict(population=float("inf")), "population"),
    (dict(cf=0), "cf"),
    (dict(dose_mg=-30), "dose_mg"),
    (dict(loq_ng_l=-1), "loq_ng_l"),
])
def test_bad_inputs_name_the_argument(kwargs, name):
    args = dict(concentration_ng_l=10, flow_m3_d=1000, population=1000)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        back_calculate(**args)


def test_bad_inputs_other_functions():
    with pytest.raises(ValueError, match="population_thousand"):
        pnl_chinese_units(1, 1, 0)
    with pytest.raises(ValueError, match="flow_10k_m3_d"):
        pnl_chinese_units(1, -1, 1)
    with pytest.raises(ValueError, match="population"):
        annual_mass_kg(1, 0)
    with pytest.raises(ValueError, match="domestic_fraction"):
        cotinine_population_thousand(100, 1, 1.5, 2)
    with pytest.raises(ValueError, match="population"):
        monte_carlo(1, 1, 0, rsd_concentration=0.1, rsd_flow=0.1, rsd_population=0.1)
    with pytest.raises(ValueError, match="rsd_flow"):
        monte_carlo(1, 1, 1, rsd_concentration=0.1, rsd_flow=-0.1, rsd_population=0.1)
    with pytest.raises(ValueError, match="same length"):
        monte_carlo([1, 2], [1, 2, 3], 1, rsd_concentration=0.1, rsd_flow=0.1, rsd_population=0.1)


# ------------------------------------------------------------------------------------------ small helpers


def test_coverage_caps_at_one():
    cov = coverage({"A": 900_000, "B": 600_000}, {"A": 1_000_000, "B": 500_000, "C": 500_000})
    assert cov.by_area == {"A": 0.9, "B": 1.0, "C": 0.0}
    assert cov.capped == ("B",)
    assert cov.overall == pytest.approx((900_000 + 500_000) / 2_000_000)
    assert coverage({}, {"Z": 0}).by_area == {"Z": None}
    with pytest.raises(ValueError, match="missing from total"):
        coverage({"X": 1}, {"A": 1})


def test_cotinine_population():
    # 1.5 cigarettes/capita/day → 210 mg/千人·天; 1000 ng/L × 10 万m³/d × 10 × 1.0 = 100 000 mg/d
    assert cotinine_population_thousand(1000, 10, 1.0, 1.5) == pytest.approx(100_000 / 210)
    assert cotinine_population_thousand(1000, 10, 0.8, 1.5) == pytest.approx(0.8 * 100_000 / 210)
    # round trip: a known population produces a concentration that gives it back
    pop_k, cigs, q = 750.0, 2.0, 25.0
    conc = pop_k * cigs * 0.14 * 1000 / (q * 10)
    assert cotinine_population_thousand(conc, q, 1.0, cigs) == pytest.approx(pop_k)


def test_amphetamine_from_methamphetamine():
    assert amphetamine_illicit(100, 500) == pytest.approx(55.0)
    assert amphetamine_illicit(10, 500) == 0.0  # all AMP explained by METH metabolism
    assert amphetamine_illicit(100, 500, ratio=0.1) == pytest.approx(50.0)
    np.testing.assert_allclose(amphetamine_illicit(np.array([100.0, 10.0]), np.array([500.0, 500.0])), [55.0, 0.0])
    assert not amphetamine_estimable(50, 500)  # ratio 0.10 is in the 0.04–0.19 band
    assert amphetamine_estimable(200, 500) and amphetamine_estimable(10, 500) and amphetamine_estimable(5, 0)


# ---------------------------------------------------------------------------------------------- Monte Carlo

MC = dict(rsd_concentration=0.10, rsd_flow=0.10, rsd_population=0.20, rsd_cf=0.26)


def test_monte_carlo_median_and_interval():
    det = back_calculate(250, 300_000, 1_500_000, cf=1 / 0.43)
    r = monte_carlo(250, 300_000, 1_500_000, 1 / 0.43, draws=10_000, seed=20260101, **MC)
    assert isinstance(r.pnl_p50, float)
    assert r.pnl_p50 == pytest.approx(det.pnl_mg_d_1000, rel=0.02)
    assert r.consumption_p50 == pytest.approx(det.consumption_mg_d_1000, rel=0.02)
    assert r.pnl_p2_5 < det.pnl_mg_d_1000 < r.pnl_p97_5
    assert r.consumption_p2_5 < det.consumption_mg_d_1000 < r.consumption_p97_5
    # agrees with the closed form of the same model
    lo, mid, hi = lognormal_interval(det.consumption_mg_d_1000, 0.10, 0.10, 0.20, 0.26)
    assert r.consumption_p2_5 == pytest.approx(lo, rel=0.03)
    assert r.consumption_p97_5 == pytest.approx(hi, rel=0.03)
    # the interval widens when an RSD grows; PNL does not depend on the CF's RSD
    wider = monte_carlo(250, 300_000, 1_500_000, 1 / 0.43, draws=10_000, seed=20260101,
                        **{**MC, "rsd_cf": 0.50})
    assert wider.consumption_p97_5 - wider.consumption_p2_5 > r.consumption_p97_5 - r.consumption_p2_5
    assert wider.pnl_p2_5 == r.pnl_p2_5 and wider.pnl_p97_5 == r.pnl_p97_5
    wider_p = monte_carlo(250, 300_000, 1_500_000, 1 / 0.43, draws=10_000, seed=20260101,
                          **{**MC, "rsd_population": 0.55})
    assert wider_p.pnl_p97_5 - wider_p.pnl_p2_5 > r.pnl_p97_5 - r.pnl_p2_5


def test_monte_carlo_with_table_entry():
    entry = factor_for("ketamine")
    r = monte_carlo(20, 100_000, 400_000, entry, rsd_concentration=0.1, rsd_flow=0.1, rsd_population=0.2,
                    draws=10_000, seed=2)
    assert r.consumption_p50 == pytest.approx(25.0, rel=0.02)
    lo, _, hi = lognormal_interval(25.0, 0.1, 0.1, 0.2, entry.cf_rsd)
    assert r.consumption_p2_5 == pytest.approx(lo, rel=0.03) and r.consumption_p97_5 == pytest.approx(hi, rel=0.03)
    with pytest.raises(ValueError, match="rsd_cf"):
        monte_carlo(20, 100_000, 400_000, 5.0, rsd_concentration=0.1, rsd_flow=0.1, rsd_population=0.2)
    with pytest.raises(ValueError, match="cf"):
        monte_carlo(20, 100_000, 400_000, factor_for("norketamine"), rsd_concentration=0.1, rsd_flow=0.1,
                    rsd_population=0.2)


def test_monte_carlo_reference_agrees():
    ref = monte_carlo_reference(250, 300_000, 1_500_000, 1 / 0.43, draws=10_000, seed=5, **MC)
    vec = monte_carlo(250, 300_000, 1_500_000, 1 / 0.43, draws=10_000, seed=5, **MC)
    for name in ("pnl_p2_5", "pnl_p50", "pnl_p97_5", "consumption_p2_5", "consumption_p50", "consumption_p97_5"):
        assert getattr(ref, name) == pytest.approx(getattr(vec, name), rel=0.03), name


def test_monte_carlo_vectorised_samples():
    c = np.array([250.0, 20.0, 0.0, np.nan, 5.0])
    q = np.array([300_000, 100_000, 50_000, 1_000, 80_000])
    p = np.array([1_500_000, 400_000, 200_000, 1_000, 250_000])
    cf = np.array([1 / 0.43, 5.0, 2.3, 1.0, 1 / 0.225])
    r = monte_carlo(c, q, p, cf, draws=10_000, seed=1, **MC)
    assert r.pnl_p50.shape == (5,)
    np.testing.assert_allclose(r.pnl_p50[[0, 1, 4]], [50.0, 5.0, 1.6], rtol=0.02)
    np.testing.assert_allclose(r.consumption_p50[[0, 1, 4]], [116.279, 25.0, 7.111], rtol=0.02)
    assert r.pnl_p2_5[2] == r.pnl_p97_5[2] == r.consumption_p50[2] == 0.0  # zero stays zero
    assert np.isnan(r.pnl_p50[3])
    assert np.all(r.pnl_p2_5[[0, 1, 4]] > 0)
    # reproducible with a seed and independent of the chunk size
    again = monte_carlo(c, q, p, cf, draws=10_000, seed=1, max_cells=10_000, **MC)
    np.testing.assert_array_equal(again.consumption_p97_5, r.consumption_p97_5)
    # per-sample RSDs
    r2 = monte_carlo([250, 250], 300_000, 1_500_000, None, rsd_concentration=[0.0, 0.3], rsd_flow=0.0,
                     rsd_population=0.0, draws=2_000, seed=3)
    assert r2.consumption_p50 is None
    assert r2.pnl_p2_5[0] == pytest.approx(50.0) and r2.pnl_p97_5[0] == pytest.approx(50.0)
    assert r2.pnl_p2_5[1] < 50 < r2.pnl_p97_5[1]


# ------------------------------------------------------------------------------------ correction factors


def test_factor_table_loads_with_one_default_per_residue():
    entries = load_correction_factors()
    residues = {e.residue for e in entries}
    for needed in ("methamphetamine", "amphetamine", "mdma", "benzoylecgonine", "morphine", "6-mam", "thc-cooh",
                   "ketamine", "norketamine", "codeine", "methadone", "eddp", "tramadol", "norfentanyl", "cotinine"):
        assert needed in residues
    for residue in residues:
        assert sum(e.default for e in entries if e.residue == residue) == 1, residue
    for e in entries:
        assert e.status in ("verified", "verified-abstract", "recalled-unverified")
        assert e.name_zh and e.source and e.version.startswith("2026.1")
        if e.cf is None:
            assert e.note and e.cf_rsd is None
        else:
            assert e.cf == pytest.approx(e.mw_parent / e.mw_residue / e.excretion_fraction, rel=1e-5)
            assert 0 < e.cf_rsd < 1
    names = {e.residue: e.name_zh for e in entries}
    assert names["methamphetamine"] == "甲基苯丙胺" and names["ketamine"] == "氯胺酮"
    assert names["benzoylecgonine"] == "苯甲酰爱康宁" and names["thc-cooh"] == "四氢大麻酸"


def test_factor_table_statuses_follow_the_research_tags():
    assert factor_for("ketamine").status == "verified-abstract"
    assert factor_for("codeine").status == "verified-abstract"
    assert factor_for("methamphetamine").status == "recalled-unverified"
    nk = factor_for("norketamine")
    assert nk.cf is None and "do not use" in nk.note.lower()
    assert factor_for("norfentanyl").cf is None


def test_factor_for_versions_and_dates():
    assert factor_for("ketamine").cf == 5.0  # Du 2020, current default
    assert factor_for("ketamine", on=date(2021, 3, 1)).version == "2026.1"
    old = factor_for("ketamine", on="2019-06-30")  # before Du 2020 was in force
    assert old.excretion_fraction == 0.023 and round(old.cf, 1) == 43.5
    assert factor_for("METHAMPHETAMINE ").excretion_fraction == 0.43
    alt = factor_for("methamphetamine", version="2026.1-gracia-lor-2016")
    assert alt.excretion_fraction == 0.39 and round(alt.cf, 2) == 2.56
    with pytest.raises(KeyError):
        factor_for("methamphetamine", on="2015-12-31", version="2026.1-gracia-lor-2016")
    with pytest.raises(KeyError):
        factor_for("methamphetamine", on="1999-12-31")
    with pytest.raises(KeyError):
        factor_for("unobtainium")


def test_factor_for_default_not_yet_in_force_picks_latest():
    def cf(version, valid_from, default, f):
        return CorrectionFactor(residue="x", drug="x", name_zh="x", version=version,
                                valid_from=date.fromisoformat(valid_from), default=default,
                                status="recalled-unverified", source="t", cf=1 / f, excretion_fraction=f,
                                mw_parent=1, mw_residue=1)

    table = [cf("a", "2001-01-01", False, 0.5), cf("b", "2010-01-01", False, 0.4), cf("c", "2020-01-01", True, 0.2)]
    assert factor_for("x", on="2015-01-01", factors=table).version == "b"
    assert factor_for("x", on="2025-01-01", factors=table).version == "c"
    assert factor_for("x", on="2005-01-01", factors=table).version == "a"


def test_no_factor_gives_loads_only():
    r = back_calculate_residue("norketamine", 10, 100_000, 100_000)
    assert r.pnl_mg_d_1000 == pytest.approx(10.0) and r.consumption_mg_d_1000 is None and r.cf_residue == "norketamine"
    with pytest.raises(ValueError, match="cf"):
        back_calculate(10, 100_000, 100_000, cf=factor_for("norketamine"))
    r = back_calculate(10, 100_000, 100_000, cf=factor_for("ketamine"))
    assert r.consumption_mg_d_1000 == pytest.approx(50.0) and r.cf_version == "2026.1"


def test_loader_rejects_bad_tables(tmp_path):
    good = json.loads(wbe.DEFAULT_FACTORS_PATH.read_text(encoding="utf-8"))
    two_defaults = dict(good, entries=[dict(e, default=True) for e in good["entries"]])
    path = tmp_path / "two.json"
    path.write_text(json.dumps(two_defaults), encoding="utf-8")
    with pytest.raises(ValueError, match="exactly one default"):
        load_correction_factors(path)
    wrong_cf = dict(good, entries=[dict(good["entries"][0], cf=9.99)])
    path = tmp_path / "cf.json"
    path.write_text(json.dumps(wrong_cf), encoding="utf-8")
    with pytest.raises(ValueError, match="cf"):
        load_correction_factors(path)
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(good["entries"][:1]), encoding="utf-8")
    assert load_correction_factors(bare)[0].residue == "methamphetamine"
