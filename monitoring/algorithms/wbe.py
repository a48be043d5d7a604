"""Wastewater-based epidemiology (污水毒情监测): back-calculation from influent concentrations.

Pure Python + numpy; no Django. The method and every test vector come from
``/work/shared/research/wastewater.md`` §0–§2.

The chain (SCORE/EUDA and Chinese practice), each stage kept separately::

    load   [mg/d]                 = C [ng/L] × Q [m³/d] × 1e-3
    PNL    [mg/day/1000 inh]      = load / (P / 1000)              (= C × Q / P)
    consumption [mg/day/1000 inh] = PNL × CF,  CF = (MW_parent / MW_residue) / f_excretion
    doses  [doses/day/1000 inh]   = consumption / typical_dose_mg
    annual mass [kg/yr]           = consumption × (P / 1000) × 365 / 1e6

EUDA publishes PNL (loads), not consumption. The correction factors live in
``monitoring/data/correction_factors.json`` as a versioned, effective-dated table; always store the
factor's residue and version next to every published consumption figure (``BackCalculation.cf_version``).

Units in the Chinese report sheets are 万m³/d and 千人: ``PNL = C × Q' × 10 / P'`` (``pnl_chinese_units``).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from statistics import NormalDist
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "LOQ_POLICIES", "BackCalculation", "back_calculate", "back_calculate_residue", "pnl_chinese_units",
    "annual_mass_kg", "population_weighted_mean", "Coverage", "coverage", "cotinine_population_thousand",
    "COTININE_MG_PER_CIGARETTE", "amphetamine_illicit", "amphetamine_estimable", "AMP_METH_RATIO",
    "MonteCarloResult", "monte_carlo", "monte_carlo_reference", "lognormal_interval", "first_order_rsd",
    "CorrectionFactor", "load_correction_factors", "factor_for", "DEFAULT_FACTORS_PATH",
]

DEFAULT_FACTORS_PATH = Path(__file__).resolve().parent.parent / "data" / "correction_factors.json"

LOQ_POLICIES = ("zero", "half_loq", "loq", "missing")

#: mg of cotinine excreted per cigarette smoked (Chinese drug-testing platform report rules, research §1.1 [V]).
COTININE_MG_PER_CIGARETTE = 0.14

#: median AMP/METH ratio attributable to METH metabolism (Australian data, >6000 samples, research §1.1 [V-abs]).
AMP_METH_RATIO = 0.09
#: observed AMP/METH ratios in this band cannot separate illicit amphetamine from METH metabolism [V-abs].
AMP_METH_UNRELIABLE_BAND = (0.04, 0.19)

# --------------------------------------------------------------------------------------------------------------
# validation helpers


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def _positive(name: str, value: Any) -> float:
    x = _number(name, value)
    if x <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return x


def _non_negative(name: str, value: Any) -> float:
    x = _number(name, value)
    if x < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return x


# --------------------------------------------------------------------------------------------------------------
# deterministic back-calculation


@dataclass(frozen=True)
class BackCalculation:
    """Every stage of one back-calculation, plus the inputs and the LOQ rule that produced them.

    ``loq_rule`` is ``"quantified"`` when the measured concentration was used as is, otherwise the name of the
    LOQ policy applied to a value below the LOQ or a non-detect (``None``). Under the ``"missing"`` policy a
    censored value yields ``None`` for every stage.
    """

    concentration_ng_l: float | None  # as reported (None = not detected / "<LOQ" without a number)
    concentration_used_ng_l: float | None
    flow_m3_d: float
    population: float
    cf: float | None
    dose_mg: float | None
    loq_ng_l: float | None
    loq_policy: str
    loq_rule: str
    censored: bool
    load_mg_d: float | None
    pnl_mg_d_1000: float | None
    consumption_mg_d_1000: float | None
    doses_d_1000: float | None
    cf_residue: str | None = None
    cf_version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _censor(concentration: float | None, loq: float | None, policy: str) -> tuple[float | None, str, bool]:
    """Apply the LOQ policy. Returns (concentration to use, rule applied, censored?)."""
    censored = concentration is None or (loq is not None and concentration < loq)
    if not censored:
        return concentration, "quantified", False
    if policy == "zero":
        return 0.0, "zero", True
    if policy == "missing":
        return None, "missing", True
    if loq is None:
        raise ValueError(f"loq_ng_l is required for loq_policy={policy!r} when the concentration is not quantified")
    return (loq / 2.0 if policy == "half_loq" else loq), policy, True


def back_calculate(concentration_ng_l: float | None, flow_m3_d: float, population: float, cf: float | None = None,
                   dose_mg: float | None = None, loq_ng_l: float | None = None,
                   loq_policy: str = "zero") -> BackCalculation:
    """Back-calculate one 24-h composite sample.

    ``concentration_ng_l`` may be ``None`` (not detected). A value strictly below ``loq_ng_l`` is censored; a
    value equal to the LOQ is quantified. Censored values follow ``loq_policy``:

    - ``"zero"`` (default): substitute 0 — what the §2.1 non-detect vector and the EUDA data do;
    - ``"half_loq"``: substitute LOQ/2;
    - ``"loq"``: substitute the LOQ (an upper bound);
    - ``"missing"``: every stage is ``None``.

    ``cf`` (a number, or a :class:`CorrectionFactor`) is optional: without it consumption is ``None``, which is
    what EUDA publishes. ``dose_mg`` is optional likewise for doses/day/1000.
    """
    if loq_policy not in LOQ_POLICIES:
        raise ValueError(f"loq_policy must be one of {LOQ_POLICIES}, got {loq_policy!r}")
    conc = None if concentration_ng_l is None else _non_negative("concentration_ng_l", concentration_ng_l)
    flow = _positive("flow_m3_d", flow_m3_d)
    pop = _positive("population", population)
    cf_residue = cf_version = None
    if isinstance(cf, CorrectionFactor):
        cf_residue, cf_version = cf.residue, cf.version
        if cf.cf is None:
            raise ValueError(f"cf: residue {cf.residue!r} has no usable correction factor ({cf.note or 'cf is null'})")
        cf = cf.cf
    cf_value = None if cf is None else _positive("cf", cf)
    dose = None if dose_mg is None else _positive("dose_mg", dose_mg)
    loq = None if loq_ng_l is None else _non_negative("loq_ng_l", loq_ng_l)

    used, rule, censored = _censor(conc, loq, loq_policy)
    if used is None:
        load = pnl = consumption = doses = None
    else:
        load = used * flow * 1e-3
        pnl = load / (pop / 1000.0)
        consumption = None if cf_value is None else pnl * cf_value
        doses = None if (consumption is None or dose is None) else consumption / dose
    return BackCalculation(
        concentration_ng_l=conc, concentration_used_ng_l=used, flow_m3_d=flow, population=pop, cf=cf_value,
        dose_mg=dose, loq_ng_l=loq, loq_policy=loq_policy, loq_rule=rule, censored=censored, load_mg_d=load,
        pnl_mg_d_1000=pnl, consumption_mg_d_1000=consumption, doses_d_1000=doses, cf_residue=cf_residue,
        cf_version=cf_version)


def back_calculate_residue(residue: str, concentration_ng_l: float | None, flow_m3_d: float, population: float, *,
                           on: date | str | None = None, version: str | None = None, use_typical_dose: bool = True,
                           loq_ng_l: float | None = None, loq_policy: str = "zero",
                           factors: Sequence["CorrectionFactor"] | None = None) -> BackCalculation:
    """:func:`back_calculate` with the factor (and typical dose) looked up in the correction-factor table.

    Residues without a usable factor (norketamine, fentanyl, cotinine…) give loads and PNL only.
    The result records ``cf_residue`` and ``cf_version`` so the factor used is stored beside the figure.
    """
    entry = factor_for(residue, on=on, version=version, factors=factors)
    dose = entry.typical_dose_mg if use_typical_dose else None
    result = back_calculate(concentration_ng_l, flow_m3_d, population, cf=entry.cf,
                            dose_mg=dose if entry.cf is not None else None, loq_ng_l=loq_ng_l, loq_policy=loq_policy)
    return replace(result, cf_residue=entry.residue, cf_version=entry.version)


def pnl_chinese_units(concentration_ng_l: float, flow_10k_m3_d: float, population_thousand: float) -> float:
    """PNL (mg/千人·天) in the units of Chinese report sheets: ``C(ng/L) × Q(万m³/天) × 10 / P(千人)``.

    Identical to the SI form: C × (Q'·1e4 m³) × 1e-3 = C × Q' × 10 mg/d.
    """
    c = _non_negative("concentration_ng_l", concentration_ng_l)
    q = _positive("flow_10k_m3_d", flow_10k_m3_d)
    p = _positive("population_thousand", population_thousand)
    return c * q * 10.0 / p


def annual_mass_kg(consumption_mg_d_1000: float, population: float, days: float = 365.0) -> float:
    """Annual mass consumed (kg/yr) = consumption × (P/1000) × days / 1e6."""
    c = _non_negative("consumption_mg_d_1000", consumption_mg_d_1000)
    p = _positive("population", population)
    d = _positive("days", days)
    return c * (p / 1000.0) * d / 1e6


def population_weighted_mean(values: Iterable[float | None], populations: Iterable[float]) -> float | None:
    """Σ(v_i × P_i) / Σ P_i over the sites with a value; ``None`` (or NaN) values are dropped with their weight.

    Returns ``None`` when no site has a value. Populations must be positive.
    """
    values, populations = list(values), list(populations)
    if len(values) != len(populations):
        raise ValueError(f"values and populations differ in length ({len(values)} != {len(populations)})")
    num = den = 0.0
    for v, p in zip(values, populations):
        p = _positive("populations", p)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        num += _number("values", v) * p
        den += p
    return None if den == 0 else num / den


@dataclass(frozen=True)
class Coverage:
    """Share of each area's population served by monitored WWTPs, and overall.

    ``capped`` lists the areas whose served population exceeded the total (fraction reported as 1.0).
    """

    by_area: dict[str, float | None]
    overall: float | None
    capped: tuple[str, ...] = ()


def coverage(served_population_by_area: Mapping[str, float],
             total_population_by_area: Mapping[str, float]) -> Coverage:
    """Monitoring coverage per area and overall, each capped at 1.0.

    Why the cap: WWTP-reported (design) populations run on average 18 % above census populations (research §1.5),
    and catchments cross area boundaries, so served > total happens with correct data; a coverage above 100 % is
    meaningless. The overall figure is Σ min(served, total) / Σ total, so an over-reported area cannot hide a
    gap elsewhere. Areas in ``total`` but not in ``served`` count as 0 % covered; an area whose total is 0 has
    coverage ``None`` and is left out of the overall figure. Served areas missing from ``total`` raise ValueError.
    """
    unknown = sorted(set(served_population_by_area) - set(total_population_by_area))
    if unknown:
        raise ValueError(f"served_population_by_area has areas missing from total_population_by_area: {unknown}")
    by_area: dict[str, float | None] = {}
    capped = []
    num = den = 0.0
    for area, total in total_population_by_area.items():
        total = _non_negative("total_population_by_area", total)
        served = _non_negative("served_population_by_area", served_population_by_area.get(area, 0.0))
        if total == 0:
            by_area[area] = None
            continue
        if served > total:
            capped.append(area)
        covered = min(served, total)
        by_area[area] = covered / total
        num += covered
        den += total
    return Coverage(by_area=by_area, overall=None if den == 0 else num / den, capped=tuple(capped))


def cotinine_population_thousand(cotinine_ng_l: float, flow_10k_m3_d: float, domestic_fraction: float,
                                 cigarettes_per_capita_day: float,
                                 mg_per_cigarette: float = COTININE_MG_PER_CIGARETTE) -> float:
    """Population (千人) estimated from cotinine, as in the Chinese platform's report rules (research §1.1)::

        可替宁排泄量(mg/千人·天) = 人均日吸烟(支) × 0.14 × 1000
        测算人口(千人) = 可替宁(ng/L) × 流量(万m³/天) × 10 × 生活污水占比 / 可替宁排泄量
    """
    c = _positive("cotinine_ng_l", cotinine_ng_l)
    q = _positive("flow_10k_m3_d", flow_10k_m3_d)
    frac = _positive("domestic_fraction", domestic_fraction)
    if frac > 1:
        raise ValueError(f"domestic_fraction must be in (0, 1], got {domestic_fraction!r}")
    cigs = _positive("cigarettes_per_capita_day", cigarettes_per_capita_day)
    per_cig = _positive("mg_per_cigarette", mg_per_cigarette)
    excretion_mg_per_1000_day = cigs * per_cig * 1000.0
    return c * q * 10.0 * frac / excretion_mg_per_1000_day


def amphetamine_illicit(amp_total, meth, ratio: float = AMP_METH_RATIO):
    """Amphetamine not explained by methamphetamine metabolism: ``max(0, AMP_total − ratio × METH)``.

    Works on any consistent quantity (ng/L, loads, PNL) and on numpy arrays. Negative differences (all AMP
    explained by METH) are clipped to 0. Check :func:`amphetamine_estimable` before reporting the figure.
    """
    r = _non_negative("ratio", ratio)
    if np.ndim(amp_total) == 0 and np.ndim(meth) == 0:
        a = _non_negative("amp_total", amp_total)
        m = _non_negative("meth", meth)
        return max(0.0, a - r * m)
    a, m = np.asarray(amp_total, dtype=float), np.asarray(meth, dtype=float)
    if np.any(a < 0):
        raise ValueError("amp_total must be >= 0")
    if np.any(m < 0):
        raise ValueError("meth must be >= 0")
    return np.maximum(0.0, a - r * m)


def amphetamine_estimable(amp_total: float, meth: float, band: tuple[float, float] = AMP_METH_UNRELIABLE_BAND) -> bool:
    """False when the observed AMP/METH ratio lies in the band (0.04–0.19) where amphetamine consumption cannot be
    estimated reliably (research §1.1 [V-abs]). True when there is no METH (ratio undefined)."""
    a = _non_negative("amp_total", amp_total)
    m = _non_negative("meth", meth)
    if m == 0:
        return True
    return not (band[0] <= a / m <= band[1])


# --------------------------------------------------------------------------------------------------------------
# uncertainty


def first_order_rsd(*rsds: float | Iterable[float]) -> float:
    """First-order propagation for a product/quotient of independent factors: sqrt(Σ u_i²).

    Scale-agnostic: fractions in, fraction out (0.10, 0.10, 0.20, 0.26 → 0.357), or percent in, percent out.
    Accepts the values as arguments or as one iterable.
    """
    if len(rsds) == 1 and not np.isscalar(rsds[0]):
        rsds = tuple(rsds[0])
    total = 0.0
    for r in rsds:
        r = _non_negative("rsds", r)
        total += r * r
    return math.sqrt(total)


def _sigma(rsd):
    """Log-space SD of a lognormal whose coefficient of variation is ``rsd``: sqrt(ln(1 + rsd²))."""
    return np.sqrt(np.log1p(np.square(rsd)))


def lognormal_interval(value: float, *rsds: float, level: float = 0.95) -> tuple[float, float, float]:
    """Closed form of what :func:`monte_carlo` estimates: (lower, median, upper) of ``value`` × Π lognormal
    factors with median 1 and the given RSDs. Useful as a cross-check and for instant display."""
    v = _non_negative("value", value)
    s = math.sqrt(sum(float(_sigma(_non_negative("rsds", r))) ** 2 for r in rsds))
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return v * math.exp(-z * s), v, v * math.exp(z * s)


@dataclass(frozen=True)
class MonteCarloResult:
    """Median and 2.5/97.5 percentiles of PNL and consumption (mg/day/1000 inh) per sample.

    Arrays of shape (N,) when any input was an array, Python floats when all were scalars. The consumption
    fields are ``None`` when no correction factor was given.
    """

    pnl_p2_5: Any
    pnl_p50: Any
    pnl_p97_5: Any
    consumption_p2_5: Any
    consumption_p50: Any
    consumption_p97_5: Any
    draws: int
    seed: int | None
    distribution: str = "lognormal, median-anchored (median = input, CV = rsd)"


def _as_column(name: str, value, *, allow_nan: bool = False, allow_zero: bool = False) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array")
    bad = np.isinf(arr) | (np.isnan(arr) if not allow_nan else False)
    if np.any(bad):
        raise ValueError(f"{name} must be finite")
    with np.errstate(invalid="ignore"):
        neg = (arr < 0) if allow_zero else (arr <= 0)
    if np.any(neg):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}")
    return arr


def monte_carlo(concentration, flow, population, cf=None, *, rsd_concentration, rsd_flow, rsd_population,
                rsd_cf=None, draws: int = 10_000, seed: int | None = None,
                max_cells: int = 1_000_000) -> MonteCarloResult:
    """Monte Carlo uncertainty of PNL and consumption for one sample or N samples at once.

    Each input (concentration ng/L, flow m³/d, population, cf) and each RSD may be a scalar or an array of N
    values (broadcast together). ``cf`` may also be a :class:`CorrectionFactor`, whose ``cf_rsd`` is then the
    default ``rsd_cf``; with a numeric ``cf``, ``rsd_cf`` is required. Every input is multiplied by an
    independent lognormal error factor with **median 1** and coefficient of variation equal to its RSD
    (σ = sqrt(ln(1 + rsd²))).

    Why lognormal: all four quantities are strictly positive and enter as a product/quotient, so multiplicative
    errors are the natural model; draws can never be ≤ 0 (no truncation needed, unlike a normal, whose truncation
    at 0 biases the mean and needs rejection sampling), and 1/P of a lognormal P is again lognormal. Why
    median-anchored: the median of a product of median-1 factors is exactly the deterministic estimate, so P50
    reproduces :func:`back_calculate` and only the interval carries the uncertainty. The price is that the
    *mean* lies exp(σ²/2) above the point value (≈ +6 % at a combined 35 % RSD) — report medians.

    Computation: float64 throughout, an N × draws matrix processed in row chunks of at most ``max_cells`` cells
    (8 MB per matrix at the default); the random stream is drawn row by row, so the result for a given seed
    does not depend on the chunking. Percentiles are taken on the log values and exponentiated (order statistics
    commute with exp; numpy's linear interpolation between the two neighbouring draws then happens in log space,
    a relative difference below 1e-4 at 10,000 draws). A concentration of 0 (non-detect set to zero) gives 0
    for every percentile; NaN concentrations give NaN.
    """
    draws = int(draws)
    if draws < 2:
        raise ValueError("draws must be >= 2")
    if isinstance(cf, CorrectionFactor):
        if cf.cf is None:
            raise ValueError(f"cf: residue {cf.residue!r} has no usable correction factor")
        rsd_cf = cf.cf_rsd if rsd_cf is None else rsd_cf
        cf = cf.cf
    if cf is not None and rsd_cf is None:
        raise ValueError("rsd_cf is required with a numeric cf")
    c = _as_column("concentration", concentration, allow_nan=True, allow_zero=True)
    q = _as_column("flow", flow)
    p = _as_column("population", population)
    rsd = [_as_column(name, v, allow_zero=True) for name, v in
           (("rsd_concentration", rsd_concentration), ("rsd_flow", rsd_flow), ("rsd_population", rsd_population))]
    has_cf = cf is not None
    f = _as_column("cf", cf if has_cf else 1.0)
    r_cf = _as_column("rsd_cf", rsd_cf if has_cf else 0.0, allow_zero=True)
    scalar = all(np.ndim(x) == 0 for x in (c, q, p, f, *rsd, r_cf))
    try:
        c, q, p, f, s_c, s_q, s_p, s_f = np.broadcast_arrays(
            np.atleast_1d(c), np.atleast_1d(q), np.atleast_1d(p), np.atleast_1d(f),
            *(np.atleast_1d(_sigma(r)) for r in (*rsd, r_cf)))
    except ValueError:
        raise ValueError("concentration, flow, population, cf and the rsd_* arguments must have the same length "
                         "(or be scalars)") from None
    n = c.shape[0]
    k = 4 if has_cf else 3
    qs = np.array([0.025, 0.5, 0.975])
    out_pnl = np.full((n, 3), np.nan)
    out_cons = np.full((n, 3), np.nan)
    zero = c == 0
    out_pnl[zero] = 0.0
    out_cons[zero] = 0.0
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(c > 0)  # NaN rows are skipped and stay NaN
    chunk = max(1, max_cells // draws)
    with np.errstate(divide="ignore"):
        log_pnl0 = np.log(c) + np.log(q) - np.log(p)  # PNL = C × Q × 1e-3 / (P / 1000) = C × Q / P
        log_f = np.log(f)
    for start in range(0, rows.size, chunk):
        idx = rows[start:start + chunk]
        z = rng.standard_normal((idx.size, k, draws))
        lp = z[:, 0, :] * s_c[idx, None]
        lp += z[:, 1, :] * s_q[idx, None]
        lp -= z[:, 2, :] * s_p[idx, None]
        lp += log_pnl0[idx, None]
        out_pnl[idx] = np.exp(np.quantile(lp, qs, axis=1).T)
        if has_cf:
            lp += z[:, 3, :] * s_f[idx, None]
            lp += log_f[idx, None]
            out_cons[idx] = np.exp(np.quantile(lp, qs, axis=1).T)

    def pick(arr, j):
        col = arr[:, j].copy()
        return float(col[0]) if scalar else col

    return MonteCarloResult(
        pnl_p2_5=pick(out_pnl, 0), pnl_p50=pick(out_pnl, 1), pnl_p97_5=pick(out_pnl, 2),
        consumption_p2_5=pick(out_cons, 0) if has_cf else None,
        consumption_p50=pick(out_cons, 1) if has_cf else None,
        consumption_p97_5=pick(out_cons, 2) if has_cf else None,
        draws=draws, seed=seed)


def _percentile_linear(sorted_values: list[float], q: float) -> float:
    """numpy's default ('linear') percentile on an already sorted list."""
    h = (len(sorted_values) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (h - lo) * (sorted_values[hi] - sorted_values[lo])


def monte_carlo_reference(concentration: float, flow: float, population: float, cf: float | None = None, *,
                          rsd_concentration: float, rsd_flow: float, rsd_population: float, rsd_cf: float = 0.0,
                          draws: int = 10_000, seed: int | None = None) -> MonteCarloResult:
    """Plain-Python loop version of :func:`monte_carlo` for ONE sample (baseline for the benchmark and a
    cross-check in tests). Same model, different random stream (``random.Random``), percentiles on the values."""
    c = _non_negative("concentration", concentration)
    q = _positive("flow", flow)
    p = _positive("population", population)
    sig = [math.sqrt(math.log1p(_non_negative(n, r) ** 2)) for n, r in
           (("rsd_concentration", rsd_concentration), ("rsd_flow", rsd_flow), ("rsd_population", rsd_population),
            ("rsd_cf", rsd_cf if cf is not None else 0.0))]
    f = None if cf is None else _positive("cf", cf)
    rng = random.Random(seed)
    pnl, cons = [], []
    for _ in range(int(draws)):
        cc = c * math.exp(sig[0] * rng.gauss(0.0, 1.0))
        qq = q * math.exp(sig[1] * rng.gauss(0.0, 1.0))
        pp = p * math.exp(sig[2] * rng.gauss(0.0, 1.0))
        load = cc * qq * 1e-3
        v = load / (pp / 1000.0)
        pnl.append(v)
        if f is not None:
            cons.append(v * f * math.exp(sig[3] * rng.gauss(0.0, 1.0)))
    pnl.sort()
    cons.sort()
    pp_ = [_percentile_linear(pnl, x) for x in (0.025, 0.5, 0.975)]
    cc_ = [_percentile_linear(cons, x) for x in (0.025, 0.5, 0.975)] if f is not None else [None] * 3
    return MonteCarloResult(pnl_p2_5=pp_[0], pnl_p50=pp_[1], pnl_p97_5=pp_[2], consumption_p2_5=cc_[0],
                            consumption_p50=cc_[1], consumption_p97_5=cc_[2], draws=int(draws), seed=seed)


# --------------------------------------------------------------------------------------------------------------
# correction-factor table

_STATUSES = ("verified", "verified-abstract", "recalled-unverified")


@dataclass(frozen=True)
class CorrectionFactor:
    """One row of ``correction_factors.json`` (see the file's ``conventions`` block for field meanings)."""

    residue: str
    drug: str
    name_zh: str
    version: str
    valid_from: date
    default: bool
    status: str
    source: str
    cf: float | None
    cf_rsd: float | None = None
    excretion_fraction: float | None = None
    mw_parent: float | None = None
    mw_residue: float | None = None
    mw_ratio: float | None = None
    typical_dose_mg: float | None = None
    drug_zh: str | None = None
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["valid_from"] = self.valid_from.isoformat()
        extra = d.pop("extra")
        d.update(extra)
        return d


_KNOWN_KEYS = {f.name for f in CorrectionFactor.__dataclass_fields__.values()} - {"extra"}


def _parse_entry(raw: Mapping[str, Any], where: str) -> CorrectionFactor:
    missing = [k for k in ("residue", "drug", "name_zh", "version", "valid_from", "default", "status", "source", "cf")
               if k not in raw]
    if missing:
        raise ValueError(f"{where}: missing keys {missing}")
    residue = raw["residue"]
    if not isinstance(residue, str) or residue != residue.strip().lower():
        raise ValueError(f"{where}: residue must be a lower-case name, got {residue!r}")
    if raw["status"] not in _STATUSES:
        raise ValueError(f"{where}: status must be one of {_STATUSES}, got {raw['status']!r}")
    try:
        valid_from = date.fromisoformat(raw["valid_from"])
    except (TypeError, ValueError):
        raise ValueError(f"{where}: valid_from must be an ISO date, got {raw['valid_from']!r}") from None
    cf = raw["cf"]
    if cf is None:
        if not raw.get("note"):
            raise ValueError(f"{where}: an entry without a factor must say why in 'note'")
    else:
        cf = _positive(f"{where}: cf", cf)
        mw_p, mw_r, fe = raw.get("mw_parent"), raw.get("mw_residue"), raw.get("excretion_fraction")
        if not (mw_p and mw_r and fe):
            raise ValueError(f"{where}: cf needs mw_parent, mw_residue and excretion_fraction")
        expected = (mw_p / mw_r) / fe
        if abs(cf - expected) > 1e-5 * expected:
            raise ValueError(f"{where}: cf {cf} != (mw_parent/mw_residue)/excretion_fraction = {expected:.6g}")
        if raw.get("cf_rsd") is not None:
            _non_negative(f"{where}: cf_rsd", raw["cf_rsd"])
    kwargs = {k: raw[k] for k in _KNOWN_KEYS if k in raw}
    kwargs.update(residue=residue, valid_from=valid_from, cf=cf, default=bool(raw["default"]))
    extra = {k: v for k, v in raw.items() if k not in _KNOWN_KEYS}
    return CorrectionFactor(**kwargs, extra=extra)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> tuple[CorrectionFactor, ...]:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    raw_entries = doc["entries"] if isinstance(doc, dict) else doc
    entries = tuple(_parse_entry(raw, f"{path} entry {i}") for i, raw in enumerate(raw_entries))
    seen: set[tuple[str, str]] = set()
    defaults: dict[str, int] = {}
    for e in entries:
        if (e.residue, e.version) in seen:
            raise ValueError(f"{path}: duplicate residue/version {e.residue}/{e.version}")
        seen.add((e.residue, e.version))
        defaults[e.residue] = defaults.get(e.residue, 0) + int(e.default)
    wrong = {r: n for r, n in defaults.items() if n != 1}
    if wrong:
        raise ValueError(f"{path}: every residue needs exactly one default entry; counts {wrong}")
    return entries


def load_correction_factors(path: str | Path | None = None) -> tuple[CorrectionFactor, ...]:
    """Read and validate the correction-factor table (cached per path; ``load_correction_factors.cache_clear()``
    after editing the file). The file is either ``{"entries": [...], ...}`` or a bare list of entries."""
    return _load_cached(str(Path(path) if path is not None else DEFAULT_FACTORS_PATH))


load_correction_factors.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]


def factor_for(residue: str, on: date | datetime | str | None = None, version: str | None = None, *,
               factors: Sequence[CorrectionFactor] | None = None) -> CorrectionFactor:
    """The correction-factor entry for ``residue`` in force on ``on`` (default: today).

    ``on`` is an as-of date: entries with ``valid_from`` after it are ignored (use it to reproduce a report
    issued then; for a consistent trend series use the same factor for every sample, i.e. ``on=None``).
    Among the entries in force, the ``default`` one wins; if the default is not yet in force, the entry with the
    latest ``valid_from`` wins. ``version`` selects one version explicitly (still subject to ``on``).
    Raises ``KeyError`` for an unknown residue or when nothing is in force.
    """
    key = residue.strip().lower()
    if isinstance(on, str):
        on = date.fromisoformat(on)
    elif isinstance(on, datetime):
        on = on.date()
    as_of = on or date.today()
    table = factors if factors is not None else load_correction_factors()
    rows = [e for e in table if e.residue == key]
    if not rows:
        raise KeyError(f"unknown residue {residue!r}")
    if version is not None:
        rows = [e for e in rows if e.version == version]
        if not rows:
            raise KeyError(f"residue {residue!r} has no version {version!r}")
    live = [e for e in rows if e.valid_from <= as_of]
    if not live:
        raise KeyError(f"no correction factor for {residue!r} in force on {as_of.isoformat()}")
    for e in live:
        if e.default:
            return e
    return max(live, key=lambda e: e.valid_from)


# --------------------------------------------------------------------------------------------------------------
# benchmark (used by bench/run.py; not part of the API)


def benchmark(n_samples: int = 1_000, draws: int = 10_000, seed: int = 0, repeat: int = 3) -> dict[str, float]:
    """Time :func:`monte_carlo` on ``n_samples`` × ``draws`` and the plain-Python reference on one sample.

    Returns seconds (median of ``repeat`` runs) for the vectorised run, the reference on one sample, and the
    reference extrapolated linearly to ``n_samples``.
    """
    import statistics
    import time

    rng = np.random.default_rng(seed)
    c = rng.uniform(10, 500, n_samples)
    q = rng.uniform(5e4, 5e5, n_samples)
    p = rng.uniform(1e5, 2e6, n_samples)
    kw = dict(rsd_concentration=0.10, rsd_flow=0.10, rsd_population=0.20, rsd_cf=0.26, draws=draws, seed=seed)
    runs, refs = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        monte_carlo(c, q, p, 1 / 0.43, **kw)
        runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        monte_carlo_reference(float(c[0]), float(q[0]), float(p[0]), 1 / 0.43, **kw)
        refs.append(time.perf_counter() - t0)
    vec, ref = statistics.median(runs), statistics.median(refs)
    return {"samples": n_samples, "draws": draws, "vectorised_s": vec, "reference_one_sample_s": ref,
            "reference_extrapolated_s": ref * n_samples}


if __name__ == "__main__":  # python -m monitoring.algorithms.wbe
    for k, v in benchmark().items():
        print(f"{k:<28} {v:,.3f}" if isinstance(v, float) else f"{k:<28} {v:,}")
