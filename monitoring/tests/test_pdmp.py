"""麻精药品 prescription monitoring: MME arithmetic (CDC worked examples), rules P01–P05 with positive, negative,
boundary and exemption cases, the vectorised P01 against the pure-Python reference, and synthetic data with known
answers. Pure Python + numpy, no database."""

import json
from datetime import date, timedelta

import numpy as np
import pytest

from monitoring.algorithms import pdmp
from monitoring.algorithms.pdmp import (
    DEFAULT_PARAMS, RULE_IDS, VARIANT_PARAMS, Dispensing, DispensingTable, daily_mme, legal_limit,
    load_days_supply_limits, load_mme_factors, mme_factor, mme_per_day, p01_multiple_provider, p01_reference,
    p02_high_daily_mme, p03_opioid_benzodiazepine, p04_days_supply_limit, p05_psychotropic_2_minor, run_all,
    synthetic_dispensing,
)

D0 = date(2025, 3, 1)


def rx(patient="p1", day=0, *, prescriber="d1", pharmacy="y1", drug="morphine", drug_class="opioid",
       control_category="narcotic", dosage_form="other", strength=10.0, quantity=12, days_supply=3, **kw):
    return Dispensing(patient_key=patient, prescriber_id=prescriber, pharmacy_id=pharmacy, drug=drug,
                      drug_class=drug_class, control_category=control_category, dosage_form=dosage_form,
                      strength=strength, quantity=quantity, days_supply=days_supply,
                      dispensed_on=D0 + timedelta(days=day), **kw)


def benzo(patient="p1", day=0, days_supply=7, **kw):
    return rx(patient, day, drug="diazepam", drug_class="benzodiazepine", control_category="psychotropic_2",
              strength=5.0, quantity=14, days_supply=days_supply, **kw)


def patients(alerts):
    return {a.patient_key for a in alerts}


# ---------------------------------------------------------------------------------------------------- MME


def test_cdc_worked_examples():
    hydrocodone = rx(drug="hydrocodone", strength=5, quantity=120, days_supply=30)  # 5 mg four times a day
    oxycodone_er = rx(drug="oxycodone", dosage_form="controlled_release", strength=10, quantity=60, days_supply=30)
    patch = rx(drug="fentanyl_transdermal", dosage_form="controlled_release", strength=75, quantity=10,
               days_supply=30)  # 75 mcg/hr, one patch every 72 h
    assert mme_per_day(hydrocodone) == pytest.approx(20.0)
    assert mme_per_day(oxycodone_er) == pytest.approx(30.0)
    assert mme_per_day(patch) == pytest.approx(180.0)
    # a patch changed every 48 h: 15 patches for 30 days, still one worn at a time
    assert mme_per_day(rx(drug="Fentanyl Transdermal", strength=75, quantity=15, days_supply=30,
                          wear_days=2)) == pytest.approx(180.0)
    assert mme_per_day(rx(drug="芬太尼透皮贴剂", strength=75, quantity=10, days_supply=30)) == pytest.approx(180.0)


def test_mme_table_versions():
    table = load_mme_factors()
    assert table["default"] == "cdc-2022"
    assert mme_factor("hydromorphone").factor == 5.0 and mme_factor("tramadol").factor == 0.2
    assert mme_factor("methadone").factor == 4.7 and mme_factor("codeine").factor == 0.15
    assert mme_factor("羟考酮").factor == 1.5
    old = {d: mme_factor(d, "pre-2022").factor for d in ("hydromorphone", "tramadol", "methadone")}
    assert old == {"hydromorphone": 4.0, "tramadol": 0.1, "methadone": 3.0}
    assert mme_factor("tramadol", on=date(2020, 6, 1)).factor == 0.1
    assert mme_factor("tramadol", on=date(2023, 6, 1)).factor == 0.2
    assert mme_factor("buprenorphine") is None
    tramadol = rx(drug="tramadol", control_category="psychotropic_2", strength=50, quantity=20, days_supply=5)
    assert mme_per_day(tramadol) == pytest.approx(40.0)
    assert mme_per_day(tramadol, "pre-2022") == pytest.approx(20.0)
    assert mme_per_day(benzo()) is None
    doc = json.loads(pdmp.MME_PATH.read_text(encoding="utf-8"))
    for v in doc["versions"]:
        assert v["source"] and date.fromisoformat(v["valid_from"])


def test_daily_mme_sums_active_prescriptions():
    recs = [rx(day=0, strength=10, quantity=12, days_supply=3),  # 40 MME on days 0-2
            rx(day=2, drug="oxycodone", strength=10, quantity=8, days_supply=4),  # 30 MME on days 2-5
            benzo(day=1)]
    d = daily_mme(recs)["p1"]
    assert d[D0] == pytest.approx(40) and d[D0 + timedelta(2)] == pytest.approx(70)
    assert d[D0 + timedelta(5)] == pytest.approx(30) and D0 + timedelta(6) not in d
    assert len(d) == 6


# ---------------------------------------------------------------------------------------------------- P01


def shopper(patient="p1", n=4, gap=30, **kw):
    return [rx(patient, day=k * gap, prescriber=f"d{k}", pharmacy=f"y{k}", **kw) for k in range(n)]


def test_p01_positive_negative():
    alerts = p01_multiple_provider(shopper("a", 4, 30) + shopper("b", 3, 30))
    assert patients(alerts) == {"a"}
    a = alerts[0]
    assert a.rule_id == "P01" and a.severity == "high"
    assert a.window == (D0, D0 + timedelta(90))
    assert a.evidence == (0, 1, 2, 3)
    assert a.detail["prescribers"] == 4 and a.detail["pharmacies"] == 4
    assert a.params["window_days"] == 180
    # 4 prescribers but only 3 pharmacies
    recs = [rx("c", day=k, prescriber=f"d{k}", pharmacy=f"y{min(k, 2)}") for k in range(4)]
    assert p01_multiple_provider(recs) == []


def test_p01_boundary_window():
    # 4 dispensings spanning exactly 180 calendar days (day 0 … day 179) are "within 180 days"
    inside = [rx("in", day=d, prescriber=f"d{k}", pharmacy=f"y{k}") for k, d in enumerate((0, 60, 120, 179))]
    outside = [rx("out", day=d, prescriber=f"d{k}", pharmacy=f"y{k}") for k, d in enumerate((0, 60, 120, 180))]
    alerts = p01_multiple_provider(inside + outside)
    assert patients(alerts) == {"in"}
    assert alerts[0].window == (D0, D0 + timedelta(179))
    assert p01_reference(inside + outside) == alerts


def test_p01_exemptions_and_variants():
    base = shopper("p", 4, 20)
    inpatient = [rx("p", day=k, prescriber=f"d{k}", pharmacy=f"y{k}", setting="inpatient") for k in range(4)]
    assert p01_multiple_provider(inpatient) == []
    assert patients(p01_multiple_provider(inpatient, include_inpatient=True)) == {"p"}
    cancer = shopper("p", 3, 20) + [rx("p", day=70, prescriber="d9", pharmacy="y9", cancer_pain=True)]
    assert p01_multiple_provider(cancer) == []
    assert patients(p01_multiple_provider(cancer, exclude_cancer=False)) == {"p"}
    benzos = [benzo("p", day=k * 10, prescriber=f"d{k}", pharmacy=f"y{k}") for k in range(4)]
    assert p01_multiple_provider(benzos) == []
    assert patients(p01_multiple_provider(benzos, drug_classes=None)) == {"p"}
    # Oklahoma PMP: 5 prescribers and 5 pharmacies in 90 days
    ok = VARIANT_PARAMS["P01/oklahoma-pmp"]
    assert p01_multiple_provider(base, **ok) == []
    assert patients(p01_multiple_provider(shopper("p", 5, 22), **ok)) == {"p"}  # days 0…88
    assert p01_multiple_provider(shopper("p", 5, 23), **ok) == []  # days 0…92
    with pytest.raises(ValueError, match="unknown parameters"):
        p01_multiple_provider(base, min_doctors=3)
    with pytest.raises(ValueError, match="window_days"):
        p01_multiple_provider(base, window_days=0)


def random_records(seed, n_patients=300):
    rng = np.random.default_rng(seed)
    out = []
    for p in range(n_patients):
        for _ in range(int(rng.integers(1, 40))):
            cls = rng.choice(["opioid", "opioid", "opioid", "benzodiazepine"])
            out.append(rx(f"p{p:03d}", day=int(rng.integers(0, 400)), prescriber=f"d{rng.integers(0, 8)}",
                          pharmacy=f"y{rng.integers(0, 8)}", drug_class=str(cls),
                          setting="inpatient" if rng.random() < 0.1 else "outpatient",
                          cancer_pain=bool(rng.random() < 0.005), record_id=f"r{len(out)}"))
    return out


@pytest.mark.parametrize("params", [
    {}, {"min_prescribers": 3, "min_pharmacies": 3, "window_days": 60}, VARIANT_PARAMS["P01/oklahoma-pmp"],
    {"min_prescribers": 6, "min_pharmacies": 5, "window_days": 30, "include_inpatient": True},
    {"drug_classes": None, "exclude_cancer": False, "window_days": 1, "min_prescribers": 2, "min_pharmacies": 2},
])
def test_p01_vectorised_matches_reference(params):
    recs = random_records(seed=20260101)
    vec = p01_multiple_provider(recs, **params)
    ref = p01_reference(recs, **params)
    assert 3 <= len(ref) < 300  # both outcomes occur
    assert vec == ref
    # and with the records shuffled (evidence keeps input order within a date, so compare like with like)
    order = np.random.default_rng(1).permutation(len(recs))
    shuffled = [recs[i] for i in order]
    assert p01_multiple_provider(shuffled, **params) == p01_reference(shuffled, **params)
    assert patients(p01_multiple_provider(shuffled, **params)) == patients(ref)


# ---------------------------------------------------------------------------------------------------- P02


def oxy(patient, day, mg, days=14, **kw):
    """CR oxycodone mg BID for `days` days: 3 × mg MME/day."""
    return rx(patient, day, drug="oxycodone", dosage_form="controlled_release", strength=mg, quantity=2 * days,
              days_supply=days, chronic_pain=True, **kw)


def test_p02_positive_negative_boundary():
    recs = [oxy("high", 0, 40), oxy("low", 0, 20), oxy("edge", 0, 30)]  # 120, 60, exactly 90 MME
    alerts = p02_high_daily_mme(recs)
    assert patients(alerts) == {"high", "edge"}
    high = next(a for a in alerts if a.patient_key == "high")
    assert high.window == (D0, D0 + timedelta(13)) and high.detail["max_daily_mme"] == 120.0
    assert high.detail["days"] == 14 and high.evidence == (0,) and high.severity == "medium"
    # Oklahoma: "> 100"; exactly 100 is not above it
    ok = VARIANT_PARAMS["P02/oklahoma-pmp"]
    hundred = [rx("h", 0, strength=25, quantity=4, days_supply=1)]  # 100 MME
    assert p02_high_daily_mme(hundred, **ok) == [] and patients(p02_high_daily_mme(hundred, threshold_mme=100)) == {"h"}


def test_p02_sums_overlapping_prescriptions():
    recs = [oxy("p", 0, 15, days=10), oxy("p", 6, 15, days=10, prescriber="d2")]  # 45 + 45 on days 6-9
    alerts = p02_high_daily_mme(recs)
    assert len(alerts) == 1
    assert alerts[0].window == (D0 + timedelta(6), D0 + timedelta(9))
    assert alerts[0].detail == {"max_daily_mme": 90.0, "days": 4, "qualifying_runs": 1}
    assert set(alerts[0].evidence) == {0, 1}
    assert p02_high_daily_mme(recs, min_consecutive_days=5) == []


def test_p02_consecutive_days_pqa_ohd():
    ohd = VARIANT_PARAMS["P02/pqa-ohd"]
    ninety = [oxy("p90", 14 * k, 40) for k in range(6)] + [oxy("p90", 84, 40, days=6)]  # 90 days
    eightynine = [oxy("p89", 14 * k, 40) for k in range(6)] + [oxy("p89", 84, 40, days=5)]  # 89 days
    gap = [oxy("gap", 0, 40, days=45), oxy("gap", 46, 40, days=45)]  # 91 days of use, broken by one day
    alerts = p02_high_daily_mme(ninety + eightynine + gap, **ohd)
    assert patients(alerts) == {"p90"}
    assert alerts[0].detail["days"] == 90


def test_p02_exemptions_and_unknown_drugs():
    cancer = [oxy("c", 0, 40, cancer_pain=True)]
    inpatient = [rx("i", 0, dosage_form="injection", strength=10, quantity=12, days_supply=1, setting="inpatient")]
    assert p02_high_daily_mme(cancer + inpatient) == []
    assert patients(p02_high_daily_mme(cancer + inpatient, exclude_cancer=False, include_inpatient=True)) == {"c", "i"}
    bup = [rx("b", 0, drug="buprenorphine", strength=8, quantity=30, days_supply=3)]
    result = run_all(bup)
    assert len(result) == 0 and result.stats["unknown_mme_drugs"] == {"buprenorphine": 1}


# ---------------------------------------------------------------------------------------------------- P03


def test_p03_positive_negative_boundary():
    opioid = lambda p: [oxy(p, 0, 10, days=14), oxy(p, 14, 10, days=14), oxy(p, 28, 10, days=14)]  # days 0-41
    pos = opioid("pos") + [benzo("pos", 0, 15), benzo("pos", 15, 15)]  # overlap 30 days exactly
    short = opioid("short") + [benzo("short", 0, 15), benzo("short", 15, 14)]  # 29 days
    one = opioid("one") + [benzo("one", 0, 30)]  # one benzodiazepine claim
    same_day = opioid("same") + [benzo("same", 0, 15), benzo("same", 0, 15, pharmacy="y2")]  # two claims, one date
    alerts = p03_opioid_benzodiazepine(pos + short + one + same_day)
    assert patients(alerts) == {"pos"}
    a = alerts[0]
    assert a.detail == {"overlap_days": 30, "benzodiazepine_dates": 2}
    assert a.window == (D0, D0 + timedelta(29))
    assert set(a.evidence) == {0, 1, 2, 3, 4}
    assert patients(p03_opioid_benzodiazepine(short, min_overlap_days=29)) == {"short"}


def test_p03_overlap_is_interval_intersection():
    # overlapping opioid prescriptions count each day once
    recs = [oxy("p", 0, 10, days=20), oxy("p", 5, 10, days=20), benzo("p", 10, 10), benzo("p", 20, 10)]
    (a,) = p03_opioid_benzodiazepine(recs, min_overlap_days=15)
    assert a.detail["overlap_days"] == 15  # benzo days 10-29 ∩ opioid days 0-24
    assert p03_opioid_benzodiazepine(recs, min_overlap_days=16) == []


def test_p03_exemptions():
    recs = [oxy("c", 0, 10, days=40, cancer_pain=True), benzo("c", 0, 20), benzo("c", 20, 20)]
    assert p03_opioid_benzodiazepine(recs) == []
    assert patients(p03_opioid_benzodiazepine(recs, exclude_cancer=False)) == {"c"}
    inpatient = [oxy("i", 0, 10, days=40), benzo("i", 0, 20, setting="inpatient"),
                 benzo("i", 20, 20, setting="inpatient")]
    assert p03_opioid_benzodiazepine(inpatient) == []


# ---------------------------------------------------------------------------------------------------- P04


@pytest.mark.parametrize("kwargs,limit_key,limit", [
    (dict(), "outpatient_other", 3),
    (dict(dosage_form="controlled_release"), "outpatient_controlled_release", 7),
    (dict(dosage_form="injection"), "outpatient_injection_one_dose", 1),
    (dict(dosage_form="injection", cancer_pain=True), "pain_injection", 3),
    (dict(dosage_form="controlled_release", cancer_pain=True), "pain_controlled_release", 15),
    (dict(chronic_pain=True), "pain_other", 7),
    (dict(control_category="psychotropic_1", drug="methylphenidate", drug_class="stimulant",
          dosage_form="controlled_release", adhd=True, patient_age=9), "methylphenidate_adhd", 15),
    (dict(control_category="psychotropic_1", drug="哌甲酯", drug_class="stimulant", adhd=True),
     "methylphenidate_adhd", 15),
    (dict(control_category="psychotropic_1", drug="methylphenidate", drug_class="stimulant",
          dosage_form="controlled_release"), "outpatient_controlled_release", 7),  # no ADHD indication
    (dict(setting="inpatient", dosage_form="injection"), "inpatient_one_day", 1),
    (dict(setting="inpatient", cancer_pain=True), "inpatient_one_day", 1),
    (dict(control_category="psychotropic_2", drug="diazepam", drug_class="benzodiazepine"),
     "psychotropic_2_general", 7),
    (dict(control_category="psychotropic_2", drug="diazepam", drug_class="benzodiazepine", setting="inpatient"),
     "psychotropic_2_general", 7),
])
def test_p04_limits_boundary(kwargs, limit_key, limit):
    at = rx("at", 0, days_supply=limit, **kwargs)
    over = rx("over", 0, days_supply=limit + 1, **kwargs)
    assert legal_limit(at).key == limit_key and legal_limit(at).max_days == limit
    alerts = p04_days_supply_limit([at, over])
    assert patients(alerts) == {"over"}
    assert alerts[0].detail["limit_key"] == limit_key and alerts[0].detail["excess_days"] == 1
    assert alerts[0].evidence == (1,) and alerts[0].window == (D0, D0 + timedelta(limit))


def test_p04_exemption_reason_noted_and_severity():
    long = dict(control_category="psychotropic_2", drug="diazepam", drug_class="benzodiazepine", days_supply=30)
    assert p04_days_supply_limit([rx("noted", 0, reason_noted=True, **long)]) == []
    assert legal_limit(rx("noted", 0, reason_noted=True, **long)).max_days is None
    (a,) = p04_days_supply_limit([rx("plain", 0, **long)])
    assert a.severity == "high" and a.detail["source_text"].startswith("第二类精神药品")
    (b,) = p04_days_supply_limit([rx("x", 0, days_supply=5)])
    assert b.severity == "medium"


def test_limits_table_is_complete():
    rules = load_days_supply_limits()
    keys = [r.key for r in rules]
    assert len(keys) == len(set(keys))
    for needed in ("inpatient_one_day", "outpatient_injection_one_dose", "outpatient_controlled_release",
                   "outpatient_other", "methylphenidate_adhd", "psychotropic_2_general", "pain_injection",
                   "pain_controlled_release", "pain_other"):
        assert needed in keys
    for r in rules:
        assert r.source and r.source_text and r.label_zh
    assert [r.priority for r in rules] == sorted(r.priority for r in rules)


# ---------------------------------------------------------------------------------------------------- P05


def test_p05_minors():
    kw = dict(drug="alprazolam", drug_class="benzodiazepine", control_category="psychotropic_2", strength=0.4,
              quantity=14, days_supply=7)
    recs = [rx("17", 0, patient_age=17, **kw), rx("18", 0, patient_age=18, **kw), rx("unknown", 0, **kw),
            rx("inpatient", 0, patient_age=12, setting="inpatient", **kw),
            rx("psy1", 0, patient_age=10, drug="methylphenidate", drug_class="stimulant",
               control_category="psychotropic_1", adhd=True, days_supply=15)]
    alerts = p05_psychotropic_2_minor(recs)
    assert patients(alerts) == {"17"}
    assert alerts[0].detail["age"] == 17 and alerts[0].severity == "high" and alerts[0].evidence == (0,)
    assert patients(p05_psychotropic_2_minor(recs, settings=("outpatient", "inpatient"))) == {"17", "inpatient"}
    assert patients(p05_psychotropic_2_minor(recs, adult_age=19)) == {"17", "18"}


# ---------------------------------------------------------------------------------------------------- run_all


def test_run_all_list_and_columns_agree():
    data = synthetic_dispensing(600, seed=11)
    records = data.to_records()
    from_cols = run_all(data.columns)
    from_list = run_all(records)
    assert from_cols.alerts == from_list.alerts
    assert from_cols.stats["records"] == len(records) and from_cols.stats["patients"] == 600
    assert set(from_cols.stats["seconds"]) == {"prepare", *RULE_IDS}
    # ids: record_id when present, positions otherwise
    cols = {k: v for k, v in data.columns.items() if k != "record_id"}
    first = run_all(cols, rules=["P04"]).alerts[0]
    assert isinstance(first.evidence[0], int)
    assert data.columns["record_id"][first.evidence[0]] in {a.evidence[0] for a in from_cols.by_rule()["P04"]}
    with pytest.raises(ValueError, match="unknown rules"):
        run_all(records, rules=["P09"])
    with pytest.raises(ValueError, match="unknown parameters"):
        run_all(records, params={"P02": {"threshold": 50}})


def test_run_all_params_and_empty_input():
    recs = [oxy("p", 0, 20)]  # 60 MME
    assert len(run_all(recs)) == 0
    assert run_all(recs, params={"P02": VARIANT_PARAMS["P02/cdc-2016-reassess"]}).flagged() == {"P02": {"p"}}
    empty = run_all([])
    assert len(empty) == 0 and empty.stats["records"] == 0


def test_input_validation():
    with pytest.raises(ValueError, match="drug_class"):
        rx(drug_class="opiate")
    with pytest.raises(ValueError, match="days_supply"):
        rx(days_supply=0)
    with pytest.raises(ValueError, match="setting"):
        rx(setting="ward")
    cols = synthetic_dispensing(5, seed=0, flagged={}).columns
    bad = dict(cols, dosage_form=np.array(["patch"] * len(cols["dosage_form"])))
    with pytest.raises(ValueError, match="dosage_form"):
        run_all(bad)
    with pytest.raises(ValueError, match="missing columns"):
        DispensingTable.from_columns({k: v for k, v in cols.items() if k != "drug"})


def test_columnar_input_accepts_plain_types():
    cols = {
        "patient_key": ["a"] * 4, "prescriber_id": [1, 2, 3, 4], "pharmacy_id": [7, 8, 9, 10],
        "drug": ["morphine"] * 4, "drug_class": [0] * 4, "control_category": ["narcotic"] * 4,
        "dosage_form": ["other"] * 4, "strength": [10] * 4, "quantity": [12] * 4, "days_supply": [3] * 4,
        "dispensed_on": ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"], "patient_age": [40, None, 40, 40],
    }
    (a,) = run_all(cols).alerts
    assert a.rule_id == "P01" and a.window == (date(2025, 1, 1), date(2025, 4, 1)) and a.evidence == (0, 1, 2, 3)


# ---------------------------------------------------------------------------------------------- synthetic


def test_synthetic_data_flags_exactly_the_known_patients():
    data = synthetic_dispensing(3_000, seed=7)
    assert data.n_records > 7 * 3_000
    assert all(len(data.flagged[r]) == 15 for r in RULE_IDS)
    result = run_all(data.columns)
    flagged = result.flagged()
    for rule in RULE_IDS:
        assert flagged.get(rule, set()) == set(data.flagged[rule]), rule
    # the built cases also satisfy the stricter published variants
    strict = run_all(data.columns, params={"P01": VARIANT_PARAMS["P01/oklahoma-pmp"],
                                           "P02": VARIANT_PARAMS["P02/pqa-ohd"]}, rules=["P01", "P02"])
    assert strict.flagged() == {"P01": set(data.flagged["P01"]), "P02": set(data.flagged["P02"])}


def test_synthetic_data_is_reproducible_and_configurable():
    a = synthetic_dispensing(500, seed=3, flagged={"P01": 4, "P05": 2})
    b = synthetic_dispensing(500, seed=3, flagged={"P01": 4, "P05": 2})
    assert all(np.array_equal(a.columns[k], b.columns[k]) for k in a.columns)
    assert {r: len(v) for r, v in a.flagged.items()} == {"P01": 4, "P02": 0, "P03": 0, "P04": 0, "P05": 2}
    assert run_all(a.columns).flagged() == {"P01": set(a.flagged["P01"]), "P05": set(a.flagged["P05"])}
    with pytest.raises(ValueError, match="flagged"):
        synthetic_dispensing(10, flagged={"P01": 11})
    with pytest.raises(ValueError, match="flagged"):
        synthetic_dispensing(10, flagged={"P07": 1})


def test_default_params_documented():
    assert DEFAULT_PARAMS["P01"]["min_prescribers"] == 4 and DEFAULT_PARAMS["P01"]["window_days"] == 180
    assert DEFAULT_PARAMS["P02"]["threshold_mme"] == 90 and DEFAULT_PARAMS["P03"]["min_overlap_days"] == 30
    assert VARIANT_PARAMS["P01/oklahoma-pmp"] == {"min_prescribers": 5, "min_pharmacies": 5, "window_days": 90}
    for fn in pdmp.RULES.values():
        assert fn.rule_id in RULE_IDS
