"""Controlled-medicine (麻精药品) prescription monitoring: PDMP-style alert rules.

Pure Python + numpy; no Django. Thresholds and legal limits come from ``/work/shared/research/intel.md`` §4;
the parameter tables ship as data in ``monitoring/data/mme_factors.json`` (CDC MME factors, versioned) and
``monitoring/data/days_supply_limits.json`` (《处方管理办法》 / 《麻醉药品和精神药品管理条例》 limits).

Rules (each an ID-carrying, parameterised function returning :class:`Alert` objects):

======  ==============================================================  ===========================================
P01     multiple-provider episode: ≥ N prescribers AND ≥ M pharmacies     PQA OMP 4/4/180 (default);
        within a window of T days                                       Oklahoma PMP 5/5/90 (``VARIANT_PARAMS``)
P02     high daily MME: ≥ threshold for ≥ D consecutive days            90 MME, D=1 (default); PQA OHD D=90
P03     opioid + benzodiazepine overlap ≥ K cumulative days, with        PQA COB: 30 days, ≥2 benzo claims
        ≥ 2 benzodiazepine dispensings on different dates
P04     days' supply above the Chinese legal limit                      days_supply_limits.json
P05     第二类精神药品 dispensed to a minor (age < 18)                    《麻醉药品和精神药品管理条例》
======  ==============================================================  ===========================================

Exemptions (all parameters): P01–P03 ignore inpatient dispensings and patients with a cancer-pain dispensing
(PQA excludes cancer and hospice), P04 applies the longer cancer/chronic-pain, ADHD and reason-noted limits,
P05 ignores inpatient dispensings (the law forbids *retail* sale to minors).

Speed: the rules work on a :class:`DispensingTable` — columns as numpy arrays, sorted by (patient, date) — with
group boundaries, vectorised interval sweeps and ``searchsorted`` sliding windows; no per-record Python except
when building the (few) alert objects. :func:`p01_reference` is a deliberately simple pure-Python version of
P01 for cross-checking and as a benchmark baseline.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

__all__ = [
    "DRUG_CLASSES", "CONTROL_CATEGORIES", "DOSAGE_FORMS", "SETTINGS", "RULE_IDS", "DEFAULT_PARAMS",
    "VARIANT_PARAMS", "Dispensing", "Alert", "PdmpResult", "DispensingTable", "as_table", "MmeFactor",
    "load_mme_factors", "mme_factor", "mme_per_day", "daily_mme", "LimitRule", "load_days_supply_limits",
    "legal_limit", "p01_multiple_provider", "p02_high_daily_mme", "p03_opioid_benzodiazepine",
    "p04_days_supply_limit", "p05_psychotropic_2_minor", "p01_reference", "RULES", "run_all",
    "SyntheticDispensing", "synthetic_dispensing", "normalise_drug",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MME_PATH = DATA_DIR / "mme_factors.json"
LIMITS_PATH = DATA_DIR / "days_supply_limits.json"

DRUG_CLASSES = ("opioid", "benzodiazepine", "stimulant", "other")
CONTROL_CATEGORIES = ("narcotic", "psychotropic_1", "psychotropic_2")
DOSAGE_FORMS = ("injection", "controlled_release", "other")
SETTINGS = ("outpatient", "inpatient")
RULE_IDS = ("P01", "P02", "P03", "P04", "P05")

_EPOCH_ORD = date(1970, 1, 1).toordinal()

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    # PQA OMP: ≥4 prescribers AND ≥4 pharmacies within ≤180 days (opioid claims; excludes cancer/hospice).
    "P01": {"min_prescribers": 4, "min_pharmacies": 4, "window_days": 180, "drug_classes": ("opioid",),
            "include_inpatient": False, "exclude_cancer": True},
    # daily MME ≥ 90 on ≥ 1 day; PQA OHD asks for ≥ 90 consecutive days (VARIANT_PARAMS["P02/pqa-ohd"]).
    "P02": {"threshold_mme": 90.0, "min_consecutive_days": 1, "inclusive": True, "include_inpatient": False,
            "exclude_cancer": True, "mme_version": None},
    # PQA COB: concurrent opioid + benzodiazepine ≥30 cumulative days, ≥2 benzodiazepine claims on different dates.
    "P03": {"min_overlap_days": 30, "min_benzo_dispensings": 2, "include_inpatient": False, "exclude_cancer": True},
    "P04": {"limits_path": None},
    "P05": {"adult_age": 18, "control_categories": ("psychotropic_2",), "settings": ("outpatient",)},
}

#: documented alternative parameter sets (merge into ``params[rule]``).
VARIANT_PARAMS: dict[str, dict[str, Any]] = {
    "P01/pqa-omp": {"min_prescribers": 4, "min_pharmacies": 4, "window_days": 180},
    "P01/oklahoma-pmp": {"min_prescribers": 5, "min_pharmacies": 5, "window_days": 90},  # "in the last 90 days"
    "P02/pqa-ohd": {"threshold_mme": 90.0, "min_consecutive_days": 90},
    "P02/oklahoma-pmp": {"threshold_mme": 100.0, "inclusive": False},  # "daily MME > 100"
    "P02/cdc-2016-reassess": {"threshold_mme": 50.0},
}

_SEVERITY = {"P01": "high", "P03": "high", "P05": "high"}


def normalise_drug(name: Any) -> str:
    """Lower-case, trimmed, spaces and hyphens → underscores ("Fentanyl Transdermal" → "fentanyl_transdermal")."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


# --------------------------------------------------------------------------------------------------------------
# records and alerts


@dataclass(frozen=True)
class Dispensing:
    """One dispensing (发药/销售) of a controlled medicine.

    ``strength`` is mg per unit, or mcg/hr for a transdermal fentanyl patch (drug ``"fentanyl_transdermal"``);
    ``quantity`` is units dispensed (tablets, ampoules, patches) and ``days_supply`` the days they cover, all as
    written on the prescription. A 75 mcg/hr patch changed every 72 h for 30 days is
    ``strength=75, quantity=10, days_supply=30``. ``wear_days`` overrides the table's 3-day wear time for patches.
    ``patient_key`` is an opaque string (e.g. a blind index), never a name or ID number.
    """

    patient_key: str
    prescriber_id: str
    pharmacy_id: str
    drug: str
    drug_class: str
    control_category: str
    dosage_form: str
    strength: float
    quantity: float
    days_supply: int
    dispensed_on: date
    patient_age: int | None = None
    setting: str = "outpatient"
    cancer_pain: bool = False
    chronic_pain: bool = False
    adhd: bool = False
    reason_noted: bool = False  # 第二类精神药品 longer than 7 days with the reason noted on the prescription
    wear_days: float | None = None
    record_id: str | None = None

    def __post_init__(self):
        for name, allowed in (("drug_class", DRUG_CLASSES), ("control_category", CONTROL_CATEGORIES),
                              ("dosage_form", DOSAGE_FORMS), ("setting", SETTINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not self.patient_key:
            raise ValueError("patient_key must be a non-empty string")
        if not (self.strength > 0):
            raise ValueError(f"strength must be > 0, got {self.strength!r}")
        if not (self.quantity > 0):
            raise ValueError(f"quantity must be > 0, got {self.quantity!r}")
        if int(self.days_supply) != self.days_supply or self.days_supply < 1:
            raise ValueError(f"days_supply must be a whole number >= 1, got {self.days_supply!r}")
        if not isinstance(self.dispensed_on, date):
            raise ValueError(f"dispensed_on must be a date, got {self.dispensed_on!r}")
        if self.patient_age is not None and not (0 <= self.patient_age < 150):
            raise ValueError(f"patient_age must be in [0, 150), got {self.patient_age!r}")
        if self.wear_days is not None and not (self.wear_days > 0):
            raise ValueError(f"wear_days must be > 0, got {self.wear_days!r}")


@dataclass(frozen=True)
class Alert:
    """One rule hit. ``window`` is an inclusive (first day, last day) pair; ``evidence`` the ``record_id``s (or,
    without them, the input positions) of the dispensings that triggered it; ``params`` the effective parameters."""

    rule_id: str
    patient_key: str
    window: tuple[date, date]
    params: dict[str, Any]
    evidence: tuple
    severity: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["window"] = [self.window[0].isoformat(), self.window[1].isoformat()]
        d["evidence"] = list(self.evidence)
        d["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}
        return d


@dataclass
class PdmpResult:
    """Alerts of :func:`run_all` (iterable) plus run statistics (record and patient counts, alerts per rule,
    seconds per stage, opioid drugs without an MME factor)."""

    alerts: list[Alert]
    stats: dict[str, Any]

    def __iter__(self) -> Iterator[Alert]:
        return iter(self.alerts)

    def __len__(self) -> int:
        return len(self.alerts)

    def by_rule(self) -> dict[str, list[Alert]]:
        out: dict[str, list[Alert]] = {}
        for a in self.alerts:
            out.setdefault(a.rule_id, []).append(a)
        return out

    def flagged(self) -> dict[str, set[str]]:
        """rule_id → set of flagged patient keys."""
        out: dict[str, set[str]] = {}
        for a in self.alerts:
            out.setdefault(a.rule_id, set()).add(a.patient_key)
        return out


# --------------------------------------------------------------------------------------------------------------
# parameter tables


@dataclass(frozen=True)
class MmeFactor:
    drug: str
    factor: float
    unit: str  # "mg" or "mcg/hr"
    version: str
    source: str
    name_zh: str | None = None
    wear_days: float | None = None  # patches: days one patch is worn


@lru_cache(maxsize=4)
def _load_mme(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    versions = {}
    defaults = [v["version"] for v in doc["versions"] if v.get("default")]
    if len(defaults) != 1:
        raise ValueError(f"{path}: exactly one default MME version needed, got {defaults}")
    for v in doc["versions"]:
        factors = {}
        for f in v["factors"]:
            if not f["factor"] > 0:
                raise ValueError(f"{path}: factor for {f['drug']} must be > 0")
            factors[normalise_drug(f["drug"])] = MmeFactor(
                drug=normalise_drug(f["drug"]), factor=float(f["factor"]), unit=f["unit"], version=v["version"],
                source=v["source"], name_zh=f.get("name_zh"), wear_days=f.get("wear_days"))
        versions[v["version"]] = {"valid_from": date.fromisoformat(v["valid_from"]), "factors": factors,
                                  "source": v["source"]}
    aliases = {normalise_drug(k): normalise_drug(v) for k, v in doc.get("aliases", {}).items()}
    return {"versions": versions, "default": defaults[0], "aliases": aliases}


def load_mme_factors(path: str | Path | None = None) -> dict[str, Any]:
    """The MME table: ``{"versions": {version: {"valid_from", "factors": {drug: MmeFactor}, "source"}},
    "default": version, "aliases": {...}}`` (cached)."""
    return _load_mme(str(path or MME_PATH))


def _mme_version(version: str | None, on: date | None, path=None) -> dict[str, Any]:
    table = load_mme_factors(path)
    if version is not None:
        if version not in table["versions"]:
            raise KeyError(f"unknown MME table version {version!r}")
        return table["versions"][version]
    if on is None:
        return table["versions"][table["default"]]
    live = [v for v in table["versions"].values() if v["valid_from"] <= on]
    if not live:
        raise KeyError(f"no MME table in force on {on.isoformat()}")
    return max(live, key=lambda v: v["valid_from"])


def mme_factor(drug: str, version: str | None = None, *, on: date | None = None,
               path: str | Path | None = None) -> MmeFactor | None:
    """The conversion factor for ``drug`` (English name, alias or Chinese name); ``None`` if not in the table."""
    table = load_mme_factors(path)
    key = normalise_drug(drug)
    key = table["aliases"].get(key, key)
    return _mme_version(version, on, path)["factors"].get(key)


def mme_per_day(record: Dispensing, version: str | None = None) -> float | None:
    """MME/day of one dispensing while it is active: strength × (quantity / days_supply) × factor.

    For a transdermal patch (factor unit mcg/hr) the units in use per day are the patches worn at once,
    quantity × wear_days / days_supply, so 75 mcg/hr × 1 patch × 2.4 = 180 MME/day. ``None`` for non-opioids
    and for opioids missing from the table.
    """
    if record.drug_class != "opioid":
        return None
    f = mme_factor(record.drug, version)
    if f is None:
        return None
    units_per_day = record.quantity / record.days_supply
    if f.unit == "mcg/hr":
        units_per_day *= record.wear_days or f.wear_days or 3.0
    return record.strength * units_per_day * f.factor


def daily_mme(records: Iterable[Dispensing], version: str | None = None) -> dict[str, dict[date, float]]:
    """Day-by-day MME per patient: Σ over active opioid dispensings (dispensed_on ≤ d < dispensed_on + days_supply).
    Only days with a positive MME appear. Simple reference helper; the rules use a vectorised sweep."""
    out: dict[str, dict[date, float]] = {}
    for r in records:
        m = mme_per_day(r, version)
        if not m:
            continue
        days = out.setdefault(r.patient_key, {})
        for k in range(int(r.days_supply)):
            d = r.dispensed_on + timedelta(days=k)
            days[d] = days.get(d, 0.0) + m
    return out


@dataclass(frozen=True)
class LimitRule:
    key: str
    priority: int
    match: dict[str, Any]
    max_days: int | None
    unit: str
    source: str
    source_text: str
    label_zh: str | None = None
    note: str | None = None


@lru_cache(maxsize=4)
def _load_limits(path: str) -> tuple[tuple[LimitRule, ...], dict[str, str]]:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    rules = []
    keys = set()
    for raw in doc["rules"]:
        if raw["key"] in keys:
            raise ValueError(f"{path}: duplicate rule key {raw['key']}")
        keys.add(raw["key"])
        m = raw["match"]
        for name, allowed in (("control_category", CONTROL_CATEGORIES), ("setting", SETTINGS),
                              ("dosage_form", DOSAGE_FORMS)):
            bad = set(m.get(name, ())) - set(allowed)
            if bad:
                raise ValueError(f"{path}: rule {raw['key']}: unknown {name} {sorted(bad)}")
        if m.get("indication") not in (None, "cancer_or_chronic_pain", "adhd", "reason_noted"):
            raise ValueError(f"{path}: rule {raw['key']}: unknown indication {m.get('indication')!r}")
        rules.append(LimitRule(key=raw["key"], priority=int(raw["priority"]), match=m, max_days=raw["max_days"],
                               unit=raw["unit"], source=raw["source"], source_text=raw["source_text"],
                               label_zh=raw.get("label_zh"), note=raw.get("note")))
    aliases = {normalise_drug(k): normalise_drug(v) for k, v in doc.get("drug_aliases", {}).items()}
    return tuple(sorted(rules, key=lambda r: r.priority)), aliases


def load_days_supply_limits(path: str | Path | None = None) -> tuple[LimitRule, ...]:
    """The legal-limit rules, in the order they are tried (ascending priority)."""
    return _load_limits(str(path or LIMITS_PATH))[0]


def legal_limit(record: Dispensing, path: str | Path | None = None) -> LimitRule | None:
    """The legal-limit rule that applies to one dispensing (``None`` if none applies)."""
    t = DispensingTable.from_records([record])
    idx = _limit_rule_index(t, path)[0]
    return None if idx < 0 else load_days_supply_limits(path)[idx]


# --------------------------------------------------------------------------------------------------------------
# columnar table


def _factorize(name: str, col: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(codes 0..k-1 in order of first appearance, labels)."""
    arr = np.asarray(col)
    if arr.shape != (n,):
        raise ValueError(f"column {name} has shape {arr.shape}, expected ({n},)")
    mapping: dict[Any, int] = {}
    values = arr.tolist()
    codes = np.fromiter((mapping.setdefault(v, len(mapping)) for v in values), dtype=np.int64, count=n)
    if None in mapping:
        raise ValueError(f"column {name} contains None")
    labels = np.empty(len(mapping), dtype=object)
    labels[:] = list(mapping)
    return codes, labels


def _enum(name: str, col: Any, allowed: tuple[str, ...], n: int) -> np.ndarray:
    arr = np.asarray(col)
    if arr.shape != (n,):
        raise ValueError(f"column {name} has shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind in "iu":
        if n and (arr.min() < 0 or arr.max() >= len(allowed)):
            raise ValueError(f"column {name}: integer codes must index {allowed}")
        return arr.astype(np.int8)
    codes = np.full(n, -1, dtype=np.int8)
    for i, v in enumerate(allowed):
        codes[arr == v] = i
    if np.any(codes < 0):
        first_bad = arr[np.flatnonzero(codes < 0)[0]]
        raise ValueError(f"column {name}: unknown value {first_bad!r}; expected one of {allowed}")
    return codes


def _float(name: str, col: Any, n: int, default: float | None = None) -> np.ndarray:
    if col is None:
        return np.full(n, np.nan if default is None else default)
    arr = np.asarray(col)
    if arr.dtype == object:
        arr = np.array([np.nan if v is None else v for v in arr.tolist()], dtype=np.float64)
    arr = arr.astype(np.float64)
    if arr.shape != (n,):
        raise ValueError(f"column {name} has shape {arr.shape}, expected ({n},)")
    return arr


def _bool(name: str, col: Any, n: int) -> np.ndarray:
    if col is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(col).astype(bool)
    if arr.shape != (n,):
        raise ValueError(f"column {name} has shape {arr.shape}, expected ({n},)")
    return arr


def _days(col: Any, n: int) -> np.ndarray:
    arr = np.asarray(col)
    if arr.shape != (n,):
        raise ValueError(f"column dispensed_on has shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[D]").astype(np.int64)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    return np.array(arr.tolist(), dtype="datetime64[D]").astype(np.int64)


def _to_date(day: int) -> date:
    return date.fromordinal(_EPOCH_ORD + int(day))


class DispensingTable:
    """Dispensings as numpy columns, sorted by (patient, date, input order).

    Build with :meth:`from_columns` (dict of arrays — the fast path) or :meth:`from_records`. Columns: the
    :class:`Dispensing` field names. Strings may be numpy ``U``/object arrays or lists; enumerations may also be
    integer codes indexing ``DRUG_CLASSES`` etc.; ``dispensed_on`` may be ``datetime64``, date objects, ISO strings
    or integer days since 1970-01-01; ``patient_age`` uses NaN (or None) for unknown. Optional columns default to
    outpatient / False / unknown. Evidence ids are ``record_id`` if given, else the input positions.
    """

    REQUIRED = ("patient_key", "prescriber_id", "pharmacy_id", "drug", "drug_class", "control_category",
                "dosage_form", "strength", "quantity", "days_supply", "dispensed_on")

    def __init__(self) -> None:  # use the constructors
        self.n = 0

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> "DispensingTable":
        missing = [c for c in cls.REQUIRED if c not in columns]
        if missing:
            raise ValueError(f"missing columns: {missing}")
        unknown = set(columns) - set(Dispensing.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown columns: {sorted(unknown)}")
        n = len(columns["patient_key"])
        patient, patient_labels = _factorize("patient_key", columns["patient_key"], n)
        prescriber, _ = _factorize("prescriber_id", columns["prescriber_id"], n)
        pharmacy, _ = _factorize("pharmacy_id", columns["pharmacy_id"], n)
        drug, drug_labels = _factorize("drug", columns["drug"], n)
        day = _days(columns["dispensed_on"], n)
        days = np.asarray(columns["days_supply"])
        if days.shape != (n,):
            raise ValueError(f"column days_supply has shape {days.shape}, expected ({n},)")
        days_i = days.astype(np.int64)
        if n and (np.any(days_i < 1) or np.any(days_i != days)):
            raise ValueError("days_supply must be whole numbers >= 1")
        strength = _float("strength", columns["strength"], n)
        quantity = _float("quantity", columns["quantity"], n)
        if n and not (np.all(strength > 0) and np.all(quantity > 0)):
            raise ValueError("strength and quantity must be > 0")
        setting = columns.get("setting")
        inpatient = (np.zeros(n, dtype=bool) if setting is None
                     else _enum("setting", setting, SETTINGS, n) == SETTINGS.index("inpatient"))
        record_id = columns.get("record_id")

        t = cls()
        t.n = n
        if n:
            span = int(day.max() - day.min()) + 1
            order = np.argsort(patient * span + (day - day.min()), kind="stable")
        else:
            order = np.zeros(0, dtype=np.int64)
        # renumber patients so codes follow the sort order (0..P-1, ascending in the sorted table)
        p_sorted = patient[order]
        first = np.r_[True, p_sorted[1:] != p_sorted[:-1]] if n else np.zeros(0, dtype=bool)
        t.patient = np.cumsum(first) - 1
        t.patient_labels = patient_labels[p_sorted[first]] if n else np.zeros(0, dtype=object)
        t.n_patients = int(t.patient_labels.size)
        t.pstart = np.r_[np.flatnonzero(first), n].astype(np.int64)
        t.order = order
        t.prescriber = prescriber[order]
        t.pharmacy = pharmacy[order]
        t.drug = drug[order]
        t.drug_labels = drug_labels
        t.cls = _enum("drug_class", columns["drug_class"], DRUG_CLASSES, n)[order]
        t.cat = _enum("control_category", columns["control_category"], CONTROL_CATEGORIES, n)[order]
        t.form = _enum("dosage_form", columns["dosage_form"], DOSAGE_FORMS, n)[order]
        t.inpatient = inpatient[order]
        t.cancer = _bool("cancer_pain", columns.get("cancer_pain"), n)[order]
        t.chronic = _bool("chronic_pain", columns.get("chronic_pain"), n)[order]
        t.adhd = _bool("adhd", columns.get("adhd"), n)[order]
        t.reason_noted = _bool("reason_noted", columns.get("reason_noted"), n)[order]
        t.strength = strength[order]
        t.quantity = quantity[order]
        t.days = days_i[order]
        t.day = day[order]
        t.age = _float("patient_age", columns.get("patient_age"), n)[order]
        t.wear_days = _float("wear_days", columns.get("wear_days"), n)[order]
        if record_id is not None:
            rid = np.asarray(record_id, dtype=object)
            if rid.shape != (n,):
                raise ValueError(f"column record_id has shape {rid.shape}, expected ({n},)")
            t.ids = rid[order]
        else:
            t.ids = order
        return t

    @classmethod
    def from_records(cls, records: Sequence[Dispensing]) -> "DispensingTable":
        records = list(records)
        cols: dict[str, Any] = {}
        for name in Dispensing.__dataclass_fields__:
            values = [getattr(r, name) for r in records]
            if name == "record_id" and all(v is None for v in values):
                continue
            if name == "dispensed_on":
                values = np.array(values, dtype="datetime64[D]") if values else np.zeros(0, "datetime64[D]")
            elif name in ("patient_age", "wear_days"):
                values = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            elif name == "record_id":
                values = np.array(values, dtype=object)
            cols[name] = np.array(values) if not isinstance(values, np.ndarray) else values
        if not records:
            for name in ("patient_key", "prescriber_id", "pharmacy_id", "drug", "drug_class", "control_category",
                         "dosage_form", "setting"):
                cols[name] = np.zeros(0, dtype="U1")
        return cls.from_columns(cols)

    # helpers ------------------------------------------------------------------------------------------------
    def cancer_patient(self) -> np.ndarray:
        """Per record: does this patient have any cancer-pain dispensing in the table?"""
        flag = np.zeros(self.n_patients, dtype=bool)
        flag[self.patient[self.cancer]] = True
        return flag[self.patient]

    def drug_names(self) -> list[str]:
        return [normalise_drug(x) for x in self.drug_labels.tolist()]

    def evidence(self, rows: np.ndarray) -> tuple:
        return tuple(v.item() if isinstance(v, np.generic) else v for v in self.ids[rows])


def as_table(data: DispensingTable | Mapping[str, Any] | Sequence[Dispensing]) -> DispensingTable:
    if isinstance(data, DispensingTable):
        return data
    if isinstance(data, Mapping):
        return DispensingTable.from_columns(data)
    return DispensingTable.from_records(data)


def _params(rule: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(overrides) - set(DEFAULT_PARAMS[rule])
    if unknown:
        raise ValueError(f"{rule}: unknown parameters {sorted(unknown)}; known {sorted(DEFAULT_PARAMS[rule])}")
    p = {**DEFAULT_PARAMS[rule], **overrides}
    for k, v in p.items():
        if isinstance(v, list):
            p[k] = tuple(v)
    return p


def _positive_int(rule: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{rule}: {name} must be a whole number >= 1, got {value!r}")
    return int(value)


def _base_mask(t: DispensingTable, p: Mapping[str, Any]) -> np.ndarray:
    m = np.ones(t.n, dtype=bool)
    if not p.get("include_inpatient", True):
        m &= ~t.inpatient
    if p.get("exclude_cancer", False):
        m &= ~t.cancer_patient()
    return m


def _class_mask(t: DispensingTable, classes: Iterable[str] | None) -> np.ndarray:
    if classes is None:
        return np.ones(t.n, dtype=bool)
    bad = set(classes) - set(DRUG_CLASSES)
    if bad:
        raise ValueError(f"unknown drug classes {sorted(bad)}")
    return np.isin(t.cls, [DRUG_CLASSES.index(c) for c in classes])


# --------------------------------------------------------------------------------------------------------------
# vectorised building blocks


def _distinct_in_windows(pat: np.ndarray, val: np.ndarray, end: np.ndarray) -> np.ndarray:
    """For rows sorted by (patient, date) and windows [i, end[i]) (end non-decreasing), the number of distinct
    ``val`` in each window.

    distinct = (rows in window) − (rows whose previous occurrence of the same (patient, val) is also in the
    window). A "link" prev[j] → j lies inside window i iff i ≤ prev[j] and j < end[i], i.e. for i in
    [f(j), prev[j]] with f(j) = first i with end[i] > j — a contiguous range, added with a difference array.
    O(n log n), no Python loop.
    """
    n = pat.size
    pos = np.arange(n)
    vmax = int(val.max()) + 1 if n else 1
    order = np.argsort(pat * vmax + val, kind="stable")  # stable: same pair stays in date order
    po, vo = pat[order], val[order]
    same = (po[1:] == po[:-1]) & (vo[1:] == vo[:-1])
    prev = np.full(n, -1, dtype=np.int64)
    prev[order[1:][same]] = order[:-1][same]
    j = np.flatnonzero(prev >= 0)
    a = prev[j]
    f = np.searchsorted(end, j, side="right")
    ok = f <= a
    diff = np.bincount(f[ok], minlength=n + 1) - np.bincount(a[ok] + 1, minlength=n + 1)
    inside = np.cumsum(diff)[:n]
    return (end - pos) - inside


def _sweep(pat: np.ndarray, start: np.ndarray, end: np.ndarray, weights: np.ndarray):
    """Piecewise-constant sums of interval weights per patient.

    Intervals [start, end) with integer weights (n × k). Returns (patient, seg_start, seg_end, level[m × k]) for
    the consecutive segments between event days of each patient (levels may be 0). Integer arithmetic, so the
    global cumulative sum is exact and returns to 0 at every patient boundary.
    """
    if pat.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, np.zeros((0, weights.shape[1]), dtype=np.int64)
    lo = int(start.min())
    span = int(end.max()) - lo + 1
    keys = np.concatenate([pat * span + (start - lo), pat * span + (end - lo)])
    w = np.concatenate([weights, -weights])
    order = np.argsort(keys, kind="stable")
    keys, w = keys[order], w[order]
    brk = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ukeys = keys[brk]
    level = np.cumsum(np.add.reduceat(w, brk, axis=0), axis=0)
    upat, uday = ukeys // span, ukeys % span + lo
    seg = np.flatnonzero(upat[:-1] == upat[1:])
    return upat[seg], uday[seg], uday[seg + 1], level[seg]


def _runs(flags: np.ndarray, pat: np.ndarray, s: np.ndarray, e: np.ndarray):
    """Maximal runs of contiguous flagged segments per patient → (patient, start, end_exclusive, first, last)."""
    qi = np.flatnonzero(flags)
    if qi.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z, z
    new = np.r_[True, (qi[1:] != qi[:-1] + 1) | (pat[qi[1:]] != pat[qi[:-1]]) | (s[qi[1:]] != e[qi[:-1]])]
    first = np.flatnonzero(new)
    last = np.r_[first[1:] - 1, qi.size - 1]
    return pat[qi[first]], s[qi[first]], e[qi[last]], qi[first], qi[last]


def _first_per_patient(pat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows already ordered by patient: unique patients, index of their first row, row counts."""
    uniq, first, counts = np.unique(pat, return_index=True, return_counts=True)
    return uniq, first, counts


def _rows_of(t: DispensingTable, patient: int, mask: np.ndarray) -> np.ndarray:
    lo, hi = t.pstart[patient], t.pstart[patient + 1]
    return lo + np.flatnonzero(mask[lo:hi])


def _sorted(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (a.patient_key, a.window[0], str(a.evidence)))


def _mme_milli(t: DispensingTable, version: str | None) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Per record MME/day × 1000 rounded to an integer (exact sums), a known-factor mask, and unknown opioid drugs."""
    names = t.drug_names()
    table = load_mme_factors()
    factors = _mme_version(version, None)["factors"]
    base = np.full(len(names), np.nan)
    patch_wear = np.full(len(names), np.nan)
    for i, name in enumerate(names):
        f = factors.get(table["aliases"].get(name, name))
        if f is not None:
            base[i] = f.factor
            if f.unit == "mcg/hr":
                patch_wear[i] = f.wear_days or 3.0
    fac = base[t.drug]
    wear = patch_wear[t.drug]
    wear = np.where(np.isnan(t.wear_days), wear, np.where(np.isnan(wear), np.nan, t.wear_days))
    units = t.quantity / t.days * np.where(np.isnan(wear), 1.0, wear)
    known = ~np.isnan(fac)
    milli = np.zeros(t.n, dtype=np.int64)
    milli[known] = np.rint(t.strength[known] * units[known] * fac[known] * 1000.0).astype(np.int64)
    opioid = t.cls == DRUG_CLASSES.index("opioid")
    unknown: dict[str, int] = {}
    bad = opioid & ~known
    if bad.any():
        codes, counts = np.unique(t.drug[bad], return_counts=True)
        unknown = {str(t.drug_labels[c]): int(k) for c, k in zip(codes, counts)}
    return milli, known, unknown


# --------------------------------------------------------------------------------------------------------------
# rules


def p01_multiple_provider(data, **params) -> list[Alert]:
    """P01 multiple-provider episode (doctor/pharmacy shopping).

    Alert when, within one window of ``window_days`` calendar days (dispensing dates d with
    start ≤ d ≤ start + window_days − 1), the patient's dispensings come from ≥ ``min_prescribers`` distinct
    prescribers AND ≥ ``min_pharmacies`` distinct pharmacies. Defaults 4/4/180 = PQA OMP; Oklahoma PMP uses
    5/5/90 (``VARIANT_PARAMS["P01/oklahoma-pmp"]``). Only ``drug_classes`` count (default opioids); inpatient
    dispensings and cancer-pain patients are excluded by default. (PQA's denominator — ≥2 opioid claims on
    different dates with ≥15 days' supply — is not applied; it is implied by 4 prescribers in practice.)

    One alert per patient: the earliest qualifying window, with the dispensings in it as evidence and the
    first/last dispensing dates as ``window``. Prescriber and pharmacy ids must already be resolved to one id
    per entity (the same doctor under two spellings counts twice).
    """
    p = _params("P01", params)
    n_presc = _positive_int("P01", "min_prescribers", p["min_prescribers"])
    n_pharm = _positive_int("P01", "min_pharmacies", p["min_pharmacies"])
    width = _positive_int("P01", "window_days", p["window_days"])
    t = as_table(data)
    idx = np.flatnonzero(_base_mask(t, p) & _class_mask(t, p["drug_classes"]))
    if idx.size == 0:
        return []
    pat, day = t.patient[idx], t.day[idx]
    lo = int(day.min())
    span = int(day.max()) - lo + width + 1
    key = pat * span + (day - lo)
    end = np.searchsorted(key, key + width, side="left")  # window [key, key + width)
    first_of_day = np.r_[True, key[1:] != key[:-1]]
    dp = _distinct_in_windows(pat, t.prescriber[idx], end)
    dh = _distinct_in_windows(pat, t.pharmacy[idx], end)
    hit = np.flatnonzero(first_of_day & (dp >= n_presc) & (dh >= n_pharm))
    alerts = []
    if hit.size == 0:
        return alerts
    uniq, first, counts = _first_per_patient(pat[hit])
    for u, f, c in zip(uniq.tolist(), first.tolist(), counts.tolist()):
        i = int(hit[f])
        rows = idx[i:end[i]]
        alerts.append(Alert(
            rule_id="P01", patient_key=str(t.patient_labels[u]), window=(_to_date(day[i]), _to_date(day[end[i] - 1])),
            params=dict(p), evidence=t.evidence(rows), severity=_SEVERITY["P01"],
            detail={"prescribers": int(dp[i]), "pharmacies": int(dh[i]), "dispensings": int(end[i] - i),
                    "qualifying_windows": int(c)}))
    return _sorted(alerts)


p01_multiple_provider.rule_id = "P01"  # type: ignore[attr-defined]


def p01_reference(records: Sequence[Dispensing], **params) -> list[Alert]:
    """P01 the obvious way, in plain Python (for tests and as the benchmark baseline). Same semantics and output
    as :func:`p01_multiple_provider`; O(Σ records² per patient)."""
    p = _params("P01", params)
    width = p["window_days"]
    classes = p["drug_classes"]
    by_patient: dict[str, list[tuple[date, int, Dispensing]]] = {}
    cancer = {r.patient_key for r in records if r.cancer_pain} if p["exclude_cancer"] else set()
    for pos, r in enumerate(records):
        if classes is not None and r.drug_class not in classes:
            continue
        if r.setting == "inpatient" and not p["include_inpatient"]:
            continue
        if r.patient_key in cancer:
            continue
        by_patient.setdefault(r.patient_key, []).append((r.dispensed_on, pos, r))
    alerts = []
    for key in sorted(by_patient):
        rows = sorted(by_patient[key], key=lambda x: (x[0], x[1]))
        hits = []
        for start in sorted({d for d, _, _ in rows}):
            last = start + timedelta(days=width - 1)
            window = [x for x in rows if start <= x[0] <= last]
            prescribers = {x[2].prescriber_id for x in window}
            pharmacies = {x[2].pharmacy_id for x in window}
            if len(prescribers) >= p["min_prescribers"] and len(pharmacies) >= p["min_pharmacies"]:
                hits.append((start, window, len(prescribers), len(pharmacies)))
        if hits:
            start, window, n_p, n_h = hits[0]
            alerts.append(Alert(
                rule_id="P01", patient_key=key, window=(start, window[-1][0]), params=dict(p),
                evidence=tuple(x[2].record_id if x[2].record_id is not None else x[1] for x in window),
                severity=_SEVERITY["P01"],
                detail={"prescribers": n_p, "pharmacies": n_h, "dispensings": len(window),
                        "qualifying_windows": len(hits)}))
    return alerts


def p02_high_daily_mme(data, **params) -> list[Alert]:
    """P02 high daily MME.

    Daily MME = Σ over active opioid dispensings of strength × quantity / days_supply × factor, a dispensing
    being active on dispensed_on ≤ d < dispensed_on + days_supply. Alert when daily MME ≥ ``threshold_mme``
    (> with ``inclusive=False``) on ≥ ``min_consecutive_days`` consecutive days. One alert per patient: the
    earliest qualifying run (``window``), its longest level as ``max_daily_mme``, the dispensings active during
    it as evidence. Opioids without an MME factor are skipped (listed by :func:`run_all`). MME is computed in
    integer milli-MME so that threshold comparisons are exact.
    """
    p = _params("P02", params)
    thr = float(p["threshold_mme"])
    if not thr > 0:
        raise ValueError(f"P02: threshold_mme must be > 0, got {thr!r}")
    min_days = _positive_int("P02", "min_consecutive_days", p["min_consecutive_days"])
    t = as_table(data)
    milli, known, _ = _mme_milli(t, p["mme_version"])
    mask = _base_mask(t, p) & (t.cls == DRUG_CLASSES.index("opioid")) & known
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    s_pat, s_start, s_end, level = _sweep(t.patient[idx], t.day[idx], t.day[idx] + t.days[idx], milli[idx, None])
    level = level[:, 0]
    thr_milli = int(round(thr * 1000))
    flags = level >= thr_milli if p["inclusive"] else level > thr_milli
    r_pat, r_start, r_end, r_first, r_last = _runs(flags, s_pat, s_start, s_end)
    good = (r_end - r_start) >= min_days
    if not good.any():
        return []
    r_pat, r_start, r_end, r_first, r_last = (x[good] for x in (r_pat, r_start, r_end, r_first, r_last))
    alerts = []
    uniq, first, counts = _first_per_patient(r_pat)
    for u, f, c in zip(uniq.tolist(), first.tolist(), counts.tolist()):
        a, b = int(r_start[f]), int(r_end[f])
        peak = int(level[r_first[f]:r_last[f] + 1].max())
        rows = _rows_of(t, u, mask)
        rows = rows[(t.day[rows] < b) & (t.day[rows] + t.days[rows] > a)]
        alerts.append(Alert(
            rule_id="P02", patient_key=str(t.patient_labels[u]), window=(_to_date(a), _to_date(b - 1)),
            params=dict(p), evidence=t.evidence(rows), severity="high" if peak >= 2 * thr_milli else "medium",
            detail={"max_daily_mme": peak / 1000.0, "days": b - a, "qualifying_runs": int(c)}))
    return _sorted(alerts)


p02_high_daily_mme.rule_id = "P02"  # type: ignore[attr-defined]


def p03_opioid_benzodiazepine(data, **params) -> list[Alert]:
    """P03 concurrent opioid and benzodiazepine use (PQA COB).

    Overlap days = days on which at least one opioid AND at least one benzodiazepine dispensing are active
    (interval intersection of the two unions). Alert when the cumulative overlap ≥ ``min_overlap_days`` and the
    patient has ≥ ``min_benzo_dispensings`` benzodiazepine dispensings on different dates. The window runs from
    the first to the last overlap day of the input (pass one measurement period at a time); evidence is every
    dispensing that is active on an overlap day.
    """
    p = _params("P03", params)
    k_days = _positive_int("P03", "min_overlap_days", p["min_overlap_days"])
    k_benzo = _positive_int("P03", "min_benzo_dispensings", p["min_benzo_dispensings"])
    t = as_table(data)
    base = _base_mask(t, p)
    is_o = base & (t.cls == DRUG_CLASSES.index("opioid"))
    is_b = base & (t.cls == DRUG_CLASSES.index("benzodiazepine"))
    mask = is_o | is_b
    idx = np.flatnonzero(mask)
    if idx.size == 0 or not is_o.any() or not is_b.any():
        return []
    w = np.stack([is_o[idx], is_b[idx]], axis=1).astype(np.int64)
    s_pat, s_start, s_end, level = _sweep(t.patient[idx], t.day[idx], t.day[idx] + t.days[idx], w)
    both = (level[:, 0] > 0) & (level[:, 1] > 0)
    overlap = np.bincount(s_pat[both], weights=(s_end - s_start)[both], minlength=t.n_patients)
    bi = np.flatnonzero(is_b)
    bkey = t.patient[bi] * (int(t.day.max()) + 1) + t.day[bi]
    bdates = np.bincount(t.patient[bi][np.r_[True, bkey[1:] != bkey[:-1]]], minlength=t.n_patients)
    flagged = np.flatnonzero((overlap >= k_days) & (bdates >= k_benzo))
    alerts = []
    seg_both = np.flatnonzero(both)
    seg_pat = s_pat[seg_both]
    for u in flagged.tolist():
        lo, hi = np.searchsorted(seg_pat, [u, u + 1])
        segs = seg_both[lo:hi]
        a, b = s_start[segs], s_end[segs]
        rows = _rows_of(t, u, mask)
        rs, re_ = t.day[rows], t.day[rows] + t.days[rows]
        active = ((rs[:, None] < b[None, :]) & (re_[:, None] > a[None, :])).any(axis=1)
        alerts.append(Alert(
            rule_id="P03", patient_key=str(t.patient_labels[u]), window=(_to_date(a.min()), _to_date(b.max() - 1)),
            params=dict(p), evidence=t.evidence(rows[active]), severity=_SEVERITY["P03"],
            detail={"overlap_days": int(overlap[u]), "benzodiazepine_dates": int(bdates[u])}))
    return _sorted(alerts)


p03_opioid_benzodiazepine.rule_id = "P03"  # type: ignore[attr-defined]


def _limit_rule_index(t: DispensingTable, path=None) -> np.ndarray:
    """Index (into load_days_supply_limits()) of the first matching legal-limit rule per record, −1 for none."""
    rules, aliases = _load_limits(str(path or LIMITS_PATH))
    names = [aliases.get(x, x) for x in t.drug_names()]
    out = np.full(t.n, -1, dtype=np.int64)
    for i, rule in enumerate(rules):
        m = out < 0
        match = rule.match
        if "control_category" in match:
            m &= np.isin(t.cat, [CONTROL_CATEGORIES.index(c) for c in match["control_category"]])
        if "dosage_form" in match:
            m &= np.isin(t.form, [DOSAGE_FORMS.index(c) for c in match["dosage_form"]])
        if "setting" in match:
            allowed = set(match["setting"])
            if allowed == {"inpatient"}:
                m &= t.inpatient
            elif allowed == {"outpatient"}:
                m &= ~t.inpatient
        if "drug" in match:
            wanted = {normalise_drug(d) for d in match["drug"]}
            m &= np.isin(t.drug, [c for c, name in enumerate(names) if name in wanted])
        ind = match.get("indication")
        if ind == "cancer_or_chronic_pain":
            m &= t.cancer | t.chronic
        elif ind == "adhd":
            m &= t.adhd
        elif ind == "reason_noted":
            m &= t.reason_noted
        out[m] = i
    return out


def p04_days_supply_limit(data, **params) -> list[Alert]:
    """P04 days' supply above the legal limit (days_supply_limits.json; first matching rule by priority).

    One alert per offending dispensing; ``detail`` names the limit rule, its source text and the excess.
    Exactly at the limit is allowed. Severity high when the supply is more than twice the limit.
    """
    p = _params("P04", params)
    t = as_table(data)
    rules = load_days_supply_limits(p["limits_path"])
    ridx = _limit_rule_index(t, p["limits_path"])
    max_days = np.array([-1 if r.max_days is None else r.max_days for r in rules] + [-1], dtype=np.int64)[ridx]
    bad = np.flatnonzero((ridx >= 0) & (max_days >= 1) & (t.days > max_days))
    alerts = []
    for i in bad.tolist():
        rule = rules[ridx[i]]
        alerts.append(Alert(
            rule_id="P04", patient_key=str(t.patient_labels[t.patient[i]]),
            window=(_to_date(t.day[i]), _to_date(t.day[i] + t.days[i] - 1)), params=dict(p),
            evidence=t.evidence(np.array([i])), severity="high" if t.days[i] > 2 * rule.max_days else "medium",
            detail={"limit_key": rule.key, "max_days": rule.max_days, "unit": rule.unit,
                    "days_supply": int(t.days[i]), "excess_days": int(t.days[i] - rule.max_days),
                    "source_text": rule.source_text, "label_zh": rule.label_zh}))
    return _sorted(alerts)


p04_days_supply_limit.rule_id = "P04"  # type: ignore[attr-defined]


def p05_psychotropic_2_minor(data, **params) -> list[Alert]:
    """P05 第二类精神药品 dispensed to a minor (age < ``adult_age``, default 18) in ``settings`` (default
    outpatient: the law forbids retail sale to minors). Unknown ages are not flagged. One alert per dispensing."""
    p = _params("P05", params)
    adult = float(p["adult_age"])
    t = as_table(data)
    bad_cats = set(p["control_categories"]) - set(CONTROL_CATEGORIES)
    bad_settings = set(p["settings"]) - set(SETTINGS)
    if bad_cats or bad_settings:
        raise ValueError(f"P05: unknown categories/settings {sorted(bad_cats | bad_settings)}")
    m = np.isin(t.cat, [CONTROL_CATEGORIES.index(c) for c in p["control_categories"]]) & (t.age < adult)
    if "inpatient" not in p["settings"]:
        m &= ~t.inpatient
    if "outpatient" not in p["settings"]:
        m &= t.inpatient
    alerts = []
    for i in np.flatnonzero(m).tolist():
        alerts.append(Alert(
            rule_id="P05", patient_key=str(t.patient_labels[t.patient[i]]),
            window=(_to_date(t.day[i]), _to_date(t.day[i])), params=dict(p), evidence=t.evidence(np.array([i])),
            severity=_SEVERITY["P05"],
            detail={"age": int(t.age[i]), "drug": str(t.drug_labels[t.drug[i]]),
                    "control_category": CONTROL_CATEGORIES[t.cat[i]]}))
    return _sorted(alerts)


p05_psychotropic_2_minor.rule_id = "P05"  # type: ignore[attr-defined]

RULES = {
    "P01": p01_multiple_provider,
    "P02": p02_high_daily_mme,
    "P03": p03_opioid_benzodiazepine,
    "P04": p04_days_supply_limit,
    "P05": p05_psychotropic_2_minor,
}


def run_all(records_or_arrays, params: Mapping[str, Mapping[str, Any]] | None = None,
            rules: Sequence[str] = RULE_IDS) -> PdmpResult:
    """Run the rules over a list of :class:`Dispensing`, a dict of numpy columns (fast path) or a prepared
    :class:`DispensingTable`. ``params`` maps a rule id to parameter overrides, e.g.
    ``{"P01": VARIANT_PARAMS["P01/oklahoma-pmp"]}``. Alerts are sorted by rule, patient key and window."""
    params = dict(params or {})
    unknown = (set(params) | set(rules)) - set(RULES)
    if unknown:
        raise ValueError(f"unknown rules {sorted(unknown)}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    t = as_table(records_or_arrays)
    timings["prepare"] = time.perf_counter() - t0
    alerts: list[Alert] = []
    for rule in rules:
        t0 = time.perf_counter()
        alerts.extend(RULES[rule](t, **params.get(rule, {})))
        timings[rule] = time.perf_counter() - t0
    alerts.sort(key=lambda a: (a.rule_id, a.patient_key, a.window[0], str(a.evidence)))
    counts = {r: 0 for r in rules}
    for a in alerts:
        counts[a.rule_id] += 1
    _, _, unknown_mme = _mme_milli(t, params.get("P02", {}).get("mme_version")) if t.n else (None, None, {})
    stats = {"records": t.n, "patients": t.n_patients, "alerts": counts, "seconds": timings,
             "unknown_mme_drugs": unknown_mme}
    return PdmpResult(alerts=alerts, stats=stats)


# --------------------------------------------------------------------------------------------------------------
# synthetic data with known answers

# (name, class, category, form, strength, default quantity, default days)
_SYN_DRUGS = [
    ("morphine", "opioid", "narcotic", "other", 10.0, 12, 3),                   # 0 oral IR, 40 MME
    ("codeine", "opioid", "narcotic", "other", 30.0, 12, 3),                    # 1 18 MME
    ("tramadol", "opioid", "psychotropic_2", "other", 50.0, 20, 5),             # 2 40 MME
    ("oxycodone", "opioid", "narcotic", "controlled_release", 10.0, 28, 14),    # 3 30 MME
    ("oxycodone", "opioid", "narcotic", "controlled_release", 40.0, 28, 14),    # 4 120 MME
    ("morphine", "opioid", "narcotic", "controlled_release", 60.0, 30, 15),     # 5 120 MME
    ("fentanyl_transdermal", "opioid", "narcotic", "controlled_release", 25.0, 5, 15),  # 6 60 MME
    ("morphine", "opioid", "narcotic", "injection", 10.0, 12, 1),               # 7 inpatient, 120 MME
    ("diazepam", "benzodiazepine", "psychotropic_2", "other", 5.0, 14, 7),      # 8
    ("alprazolam", "benzodiazepine", "psychotropic_2", "other", 0.4, 14, 7),    # 9
    ("methylphenidate", "stimulant", "psychotropic_1", "controlled_release", 18.0, 15, 15),  # 10
]

# background patient types and their shares
_SYN_TYPES = (("acute", 0.40), ("chronic", 0.25), ("benzo", 0.15), ("adhd", 0.05), ("cancer", 0.05),
              ("inpatient", 0.10))


@dataclass
class SyntheticDispensing:
    """Synthetic dispensings (``columns``: dict of numpy arrays for :func:`run_all`) and, per rule, the patient
    keys that the default parameters must flag — no more, no fewer."""

    columns: dict[str, np.ndarray]
    flagged: dict[str, frozenset[str]]
    n_records: int
    n_patients: int

    def to_records(self) -> list[Dispensing]:
        c = {k: v.tolist() for k, v in self.columns.items()}  # datetime64[D].tolist() gives date objects
        c["patient_age"] = [None if a != a else int(a) for a in c["patient_age"]]
        names = list(c)
        return [Dispensing(**dict(zip(names, row))) for row in zip(*(c[k] for k in names))]


def synthetic_dispensing(n_patients: int, seed: int = 0, flagged: Mapping[str, int] | None = None, *,
                         start: date = date(2025, 1, 1)) -> SyntheticDispensing:
    """Realistic-looking dispensing data (≈ 8 dispensings per patient) with KNOWN rule hits.

    Background patients (acute short courses, chronic-pain CR opioids at ≤ 60 MME, benzodiazepine-only,
    ADHD children on methylphenidate 15 days, cancer patients at 120+ MME with benzodiazepines — exempt —, and
    inpatients on daily morphine injections — exempt —) trigger nothing under the default parameters.
    ``flagged`` gives, per rule id, how many patients are built to trigger exactly that rule (default
    n_patients // 200, at least 1, each). P01 and P02 cases also satisfy the Oklahoma 5/5/90 and PQA OHD
    90-day variants. Vectorised: 1,000,000 records take a few seconds.
    """
    if n_patients < 1:
        raise ValueError("n_patients must be >= 1")
    rng = np.random.default_rng(seed)
    want = {r: max(1, n_patients // 200) for r in RULE_IDS} if flagged is None else dict(flagged)
    bad = set(want) - set(RULE_IDS)
    if bad or any(int(v) < 0 for v in want.values()):
        raise ValueError(f"flagged must map rule ids {RULE_IDS} to counts >= 0, got {dict(flagged or {})}")
    n_flag = sum(int(v) for v in want.values())
    if n_flag > n_patients:
        raise ValueError(f"flagged asks for {n_flag} patients but n_patients is {n_patients}")

    type_names = [f"flag_{r}" for r in RULE_IDS] + [name for name, _ in _SYN_TYPES]
    kinds = np.concatenate([np.full(int(want.get(r, 0)), i) for i, r in enumerate(RULE_IDS)]
                           + [len(RULE_IDS) + rng.choice(len(_SYN_TYPES), n_patients - n_flag,
                                                         p=[w for _, w in _SYN_TYPES])]).astype(np.int64)
    rng.shuffle(kinds)
    # opaque, blind-index-like patient keys
    digest = hashlib.sha256(f"jindu-synthetic-{seed}".encode()).digest()
    salt = int.from_bytes(digest[:8], "big")
    keys = np.array([f"{(salt ^ (i * 0x9E3779B97F4A7C15)) & 0xFFFFFFFFFFFFFFFF:016x}" for i in range(n_patients)])
    n_doc = max(50, n_patients // 20)
    n_pha = max(20, n_patients // 50)
    pool_doc = rng.integers(0, n_doc, (n_patients, 5))
    pool_pha = rng.integers(0, n_pha, (n_patients, 5))
    pool_size = rng.integers(1, 4, n_patients)  # background: 1–3 prescribers / pharmacies
    first_day = rng.integers(0, 180, n_patients)
    adult_age = rng.integers(18, 90, n_patients).astype(float)

    parts: list[dict[str, np.ndarray]] = []

    def series(kind: str, counts, gap_lo, gap_hi, drug, *, offset=0, qty=None, days=None, setting=0,
               cancer=False, chronic=False, adhd=False, age=None, distinct_pools=False, single_pharmacy=False):
        pids = np.flatnonzero(kinds == type_names.index(kind))
        if pids.size == 0:
            return
        counts = np.broadcast_to(np.asarray(counts), pids.shape) if np.ndim(counts) == 0 else counts
        p = np.repeat(pids, counts)
        if p.size == 0:
            return
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        k = np.arange(p.size) - starts
        gaps = rng.integers(gap_lo, gap_hi + 1, p.size)
        gaps[k == 0] = 0
        cs = np.cumsum(gaps)
        day = first_day[p] + offset + cs - cs[starts]
        drug_codes = np.broadcast_to(np.asarray(drug), p.shape) if np.ndim(drug) == 0 else np.asarray(drug)[p]
        if distinct_pools:  # 5 distinct consecutive ids per patient
            doc = (pool_doc[p, 0] + k) % n_doc
            pha = (pool_pha[p, 0] + k) % n_pha
        else:
            slot = (rng.random(p.size) * pool_size[p]).astype(np.int64)
            doc = pool_doc[p, slot]
            pha = pool_pha[p, 0] if single_pharmacy else pool_pha[p, slot]
        parts.append({
            "patient": p, "day": day, "drug": drug_codes.astype(np.int64),
            "qty": np.full(p.size, -1) if qty is None else np.broadcast_to(qty, p.shape),
            "days": np.full(p.size, -1) if days is None else np.broadcast_to(days, p.shape),
            "doc": doc, "pha": pha, "setting": np.full(p.size, setting),
            "cancer": np.full(p.size, cancer), "chronic": np.full(p.size, chronic), "adhd": np.full(p.size, adhd),
            "age": adult_age[p] if age is None else age[p]})

    def per_patient(kind, lo, hi):
        return rng.integers(lo, hi + 1, int((kinds == type_names.index(kind)).sum()))

    minor_age = rng.integers(6, 18, n_patients).astype(float)
    teen_age = rng.integers(12, 18, n_patients).astype(float)
    acute_drug = rng.choice([0, 1, 2], n_patients)
    benzo_drug = rng.choice([8, 9], n_patients)
    cancer_drug = rng.choice([5, 6], n_patients)
    # background
    series("acute", per_patient("acute", 1, 3), 30, 90, acute_drug)
    series("chronic", per_patient("chronic", 8, 26), 12, 16, 3, chronic=True)
    series("benzo", per_patient("benzo", 2, 12), 7, 45, benzo_drug)
    series("adhd", per_patient("adhd", 4, 12), 28, 35, 10, adhd=True, age=minor_age)
    series("cancer", per_patient("cancer", 4, 20), 13, 15, cancer_drug, cancer=True)
    cancer_benzo = per_patient("cancer", 0, 4)
    series("cancer", cancer_benzo, 20, 40, 8, offset=3, cancer=True)
    series("inpatient", per_patient("inpatient", 3, 10), 1, 1, 7, setting=1, single_pharmacy=True)
    # built to trigger exactly one rule each
    series("flag_P01", 5, 10, 20, 0, distinct_pools=True)           # 5 prescribers, 5 pharmacies in ≤ 80 days
    series("flag_P02", per_patient("flag_P02", 7, 10), 14, 14, 4, chronic=True)  # 120 MME for ≥ 98 days
    series("flag_P03", 6, 14, 14, 3, chronic=True)                   # opioid 84 days at 30 MME …
    series("flag_P03", 6, 7, 7, 8, offset=7)                         # … + diazepam 6 × 7 days inside it
    series("flag_P04", 1, 0, 0, 0, qty=40, days=10)                  # oral morphine 10 days > 3
    series("flag_P05", per_patient("flag_P05", 1, 3), 30, 60, 9, age=teen_age)  # alprazolam to a 12–17-year-old

    cat = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    n = cat["patient"].size
    perm = rng.permutation(n)
    cat = {k: v[perm] for k, v in cat.items()}
    drug_tab = _SYN_DRUGS
    dq = np.array([d[5] for d in drug_tab])
    dd = np.array([d[6] for d in drug_tab])
    qty = np.where(cat["qty"] < 0, dq[cat["drug"]], cat["qty"])
    days = np.where(cat["days"] < 0, dd[cat["drug"]], cat["days"])
    epoch_day = (start - date(1970, 1, 1)).days
    doc_labels = np.array([f"D{i:05d}" for i in range(n_doc)])
    pha_labels = np.array([f"Y{i:04d}" for i in range(n_pha)])
    columns = {
        "patient_key": keys[cat["patient"]],
        "prescriber_id": doc_labels[cat["doc"]],
        "pharmacy_id": pha_labels[cat["pha"]],
        "drug": np.array([d[0] for d in drug_tab])[cat["drug"]],
        "drug_class": np.array([d[1] for d in drug_tab])[cat["drug"]],
        "control_category": np.array([d[2] for d in drug_tab])[cat["drug"]],
        "dosage_form": np.array([d[3] for d in drug_tab])[cat["drug"]],
        "strength": np.array([d[4] for d in drug_tab])[cat["drug"]],
        "quantity": qty.astype(np.float64),
        "days_supply": days.astype(np.int64),
        "dispensed_on": (epoch_day + cat["day"]).astype("datetime64[D]"),
        "patient_age": cat["age"].astype(np.float64),
        "setting": np.array(SETTINGS)[cat["setting"]],
        "cancer_pain": cat["cancer"].astype(bool),
        "chronic_pain": cat["chronic"].astype(bool),
        "adhd": cat["adhd"].astype(bool),
        "record_id": np.array([f"rx{i:08d}" for i in range(n)]),
    }
    truth = {r: frozenset(keys[kinds == type_names.index(f"flag_{r}")].tolist()) for r in RULE_IDS}
    return SyntheticDispensing(columns=columns, flagged=truth, n_records=n, n_patients=n_patients)


# --------------------------------------------------------------------------------------------------------------
# benchmark (used by bench/run.py; not part of the API)


def benchmark(n_records: int = 1_000_000, seed: int = 0, reference_records: int = 20_000) -> dict[str, Any]:
    """Time :func:`run_all` on about ``n_records`` synthetic dispensings (columnar input) and the pure-Python
    :func:`p01_reference` on about ``reference_records`` of the same kind, extrapolated linearly per record (the
    reference is quadratic per patient, so the extrapolation flatters it when histories are long)."""
    per_patient = 7.8  # measured mean dispensings per synthetic patient
    t0 = time.perf_counter()
    data = synthetic_dispensing(max(1, int(n_records / per_patient)), seed=seed)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = run_all(data.columns)
    t_all = time.perf_counter() - t0
    exact = all(result.flagged().get(r, set()) == set(data.flagged[r]) for r in RULE_IDS)
    small = synthetic_dispensing(max(1, int(reference_records / per_patient)), seed=seed).to_records()
    t0 = time.perf_counter()
    ref = p01_reference(small)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    vec = p01_multiple_provider(small)
    t_vec_small = time.perf_counter() - t0
    return {"records": data.n_records, "patients": data.n_patients, "generate_s": t_gen, "run_all_s": t_all,
            "per_stage_s": result.stats["seconds"], "known_flags_exact": exact,
            "reference_records": len(small), "reference_p01_s": t_ref,
            "reference_p01_extrapolated_s": t_ref * data.n_records / max(1, len(small)),
            "vectorised_p01_same_input_s": t_vec_small, "reference_agrees": ref == vec}


if __name__ == "__main__":  # python -m monitoring.algorithms.pdmp
    for k, v in benchmark().items():
        print(f"{k:<30} {v:,.3f}" if isinstance(v, float) else f"{k:<30} {v}")
