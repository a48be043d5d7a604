"""Statistical early-warning signals (aberration detection) for monitoring time series.

Pure numpy/scipy; no Django. The app layer wraps :func:`detect`.

Every method is a transcription of the R package **surveillance** 1.26.0 (``R/earsC.R``, ``R/algo_cusum.R``,
``R/algo_cdc.R``, ``R/algo_farrington.R``, ``R/farringtonFlexible.R``); see
``/work/shared/research/wastewater.md`` §4 for the definitions and §4.7 for the verified test vectors, which
``monitoring/tests/test_signals.py`` asserts.

Entry point::

    detect(method, history, series, params=None) -> list[Point]

One :class:`Point` per element of ``series``. The point for ``series[j]`` is computed with ``history`` plus
``series[:j]`` as its past, exactly as R's ``control$range`` over the test part with the training part in front
(R computes nothing "in place": every point only looks backwards, except CUSUM whose reference mean ``m`` is
estimated once from ``history``). ``history`` and ``series`` are numbers; ``None``/NaN marks a missing value.

A point that cannot be computed (history too short, a missing value in the window it needs, a zero reference
mean for CUSUM, a GLM that does not converge) comes back as ``Point(value, None, None, False)``; short history
never raises. An unknown method or a bad parameter raises :class:`ParameterError` (a ``ValueError`` carrying
the offending ``field``).

Methods, their parameters (R defaults unless stated) and what ``upperbound`` / ``score`` mean:

``ears_c1`` / ``ears_c2`` / ``ears_c3``
    ``alpha`` (0.001 for C1/C2, 0.025 for C3), ``baseline`` (7, >= 3), ``min_sigma`` (0),
    C3 only: ``c3_variant`` ("r" default, "r_intent", "fricker") and ``c3_threshold`` (default
    z = Phi^-1(1-alpha) for "r"/"r_intent" and 2 for "fricker").
    C1 window y[t-b..t-1], C2 window y[t-b-2..t-3]. ``upperbound = mean + z*max(sd, min_sigma)``;
    ``score = (y - mean)/max(sd, min_sigma)`` (the EARS z-statistic; alarm iff score > z for C1/C2).
    C3 ``score`` is the C3 statistic of the variant (see :func:`_ears`); "r": ``upperbound`` is R's bound and
    alarm iff y > upperbound; "r_intent"/"fricker": alarm iff score > threshold and ``upperbound`` is the
    smallest value that alarms (clipped at 0).
``cusum``
    ``k`` 1.04, ``h`` 2.26, ``m`` (mean of ``history``; a number; or "glm" = Poisson GLM with one harmonic
    fitted on ``history``), ``trans`` ("standard", "rossi", "anscombe", "pearson_nb"), ``alpha_nb`` 0.1
    (for "pearson_nb"), ``reset`` False, ``freq`` 52 (for m="glm").
    ``score`` = S_t, the CUSUM; alarm iff S_t >= h; ``upperbound`` = R's back-transformed bound (the smallest
    y that alarms; for "standard" ``ceil(sqrt(m)*(h+k-S_{t-1}) + m)``).
``cdc``
    ``b`` 5, ``m`` 1, ``alpha`` 0.025, ``freq`` 52 (weekly data). Works on 4-week totals:
    ``upperbound`` bounds the 4-week total y0 = y_t+..+y_{t-3} (not y_t itself!),
    ``score = (y0 - mean)/(upperbound - mean)``; alarm iff y0 > upperbound.
``farrington``
    ``b`` 5, ``w`` 3, ``alpha`` 0.05 (two-sided, as algo.farrington), ``reweight`` True, ``trend`` True,
    ``limit54`` (5, 4), ``powertrans`` "2/3", ``freq`` 52.
    ``upperbound`` = R's UB; ``score = (y - mu0)/(UB - mu0)``; alarm iff score > 1 and the limit54 rule holds.
``farrington_flexible``
    ``b`` 3, ``w`` 3, ``alpha`` 0.05 (one-sided), ``reweight`` True, ``weights_threshold`` 2.58, ``trend`` True,
    ``p_threshold_trend`` 0.05, ``limit54`` (5, 4), ``powertrans`` "2/3", ``no_periods`` 1,
    ``past_weeks_not_included`` (default = w, as R), ``threshold_method`` "delta" | "nbPlugin" | "muan",
    ``freq`` 52.
    ``score`` = R's score: ``(y - mu0)/(UB - mu0)`` for "delta"; for "nbPlugin"/"muan" R uses the linear
    predictor eta0 = log(mu0) in place of mu0 (kept for fidelity). Alarm iff score > 1, y != 0 and limit54.

Deviations from R (deliberate, documented):

* R reports upperbound 0 (algo.farrington) or NA (farringtonFlexible) when the limit54 rule suppresses a
  point. Here the computed bound and score are reported and only ``alarm`` is forced to False: the analyst
  still sees the margin.
* Missing values: R propagates NA; here a missing observed value gets no verdict (upperbound/score None,
  alarm False), a missing value inside a point's window makes that point "not computable" (EARS, CDC) or is
  dropped from the GLM (Farrington, as R's ``na.omit``), and CUSUM carries S_t over a missing week.
* algo.cdc truncates the 4-week totals with ``as.integer``; here they are kept as floats (identical for
  counts, sensible for continuous loads).
* Non-finite scores (zero spread) are reported as ``None``.

Other notes:

* Farrington reference weeks are index-based (t - freq*i, as R with ``epochAsDate = FALSE``). R with
  ``epochAsDate = TRUE`` maps "t minus i years" to the nearest same weekday, which is sometimes 157 instead of
  156 weeks back; on the Salmonella vectors both give the same alarms.
* farringtonFlexible passes ``dispersion`` inside ``newdata`` to ``predict.glm``, so R's prediction standard
  error uses the *unfloored* Pearson dispersion while the threshold uses the floored phi; reproduced here.
* Of the §4.7 vectors, every one is reproduced except farringtonFlexible's 2011-08-29 alarm (y = 6): from
  the definitions the trend is rejected (p = 0.152), mu0 = 2.667 and UB = 7.342 (6.029 even with the trend),
  so no alarm; the other 9 R alarms are reproduced (see the test module).
* :func:`farrington_details` exposes mu0, phi, the trend decision and the limit54 flag per point.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import special, stats

from .trend import level_against_history, percent_change, trend_class  # noqa: F401  (re-exported)

__all__ = [
    "METHODS",
    "ParameterError",
    "Point",
    "detect",
    "ears_c1_reference",
    "farrington_details",
    "farrington_threshold",
    "noufaily_threshold",
    "level_against_history",
    "percent_change",
    "trend_class",
]


# ----------------------------------------------------------------------------------------------------------
# Result type and errors
# ----------------------------------------------------------------------------------------------------------


class ParameterError(ValueError):
    """A bad method name or parameter. ``field`` names the offending input (for a 400 response)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _json_float(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


@dataclass(frozen=True, slots=True)
class Point:
    """One monitored time point.

    value       the observed value (NaN if it was missing)
    upperbound  the alarm threshold (method-specific, see the module docstring); None if not computable
    score       the method's statistic (see the module docstring); None if not computable or not finite
    alarm       True when the method signals
    """

    value: float
    upperbound: float | None
    score: float | None
    alarm: bool

    def to_dict(self) -> dict:
        return {
            "value": _json_float(self.value),
            "upperbound": _json_float(self.upperbound),
            "score": _json_float(self.score),
            "alarm": bool(self.alarm),
        }


def _points(values: np.ndarray, ub: np.ndarray, score: np.ndarray, alarm: np.ndarray) -> list[Point]:
    """Build Points; NaN upperbound / non-finite score become None; a missing value gets no verdict."""
    missing = np.isnan(values)
    ub = np.where(missing, np.nan, ub)
    sc = np.where(np.isfinite(score) & ~missing, score, np.nan)
    alarm = np.asarray(alarm, bool) & ~missing
    ub_l = [None if u != u else u for u in ub.tolist()]
    sc_l = [None if s != s else s for s in sc.tolist()]
    return list(map(Point, values.tolist(), ub_l, sc_l, alarm.tolist()))


# ----------------------------------------------------------------------------------------------------------
# Parameter handling
# ----------------------------------------------------------------------------------------------------------


def _p_prob(name, v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ParameterError(name, "must be a number") from None
    if not (0.0 < v < 1.0):
        raise ParameterError(name, "must be strictly between 0 and 1")
    return v


def _p_nonneg(name, v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ParameterError(name, "must be a number") from None
    if not math.isfinite(v) or v < 0:
        raise ParameterError(name, "must be a finite number >= 0")
    return v


def _p_pos(name, v):
    v = _p_nonneg(name, v)
    if v <= 0:
        raise ParameterError(name, "must be > 0")
    return v


def _p_int(lo):
    def check(name, v):
        if isinstance(v, bool):
            raise ParameterError(name, "must be an integer")
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise ParameterError(name, "must be an integer") from None
        if not fv.is_integer():
            raise ParameterError(name, "must be an integer")
        iv = int(fv)
        if iv < lo:
            raise ParameterError(name, f"must be >= {lo}")
        return iv

    return check


def _p_bool(name, v):
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, np.integer)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.lower() in ("true", "false", "1", "0"):
        return v.lower() in ("true", "1")
    raise ParameterError(name, "must be a boolean")


def _p_choice(*choices):
    def check(name, v):
        if v not in choices:
            raise ParameterError(name, f"must be one of {', '.join(map(repr, choices))}")
        return v

    return check


def _p_limit54(name, v):
    try:
        cases, period = v
        cases_f, period_i = float(cases), int(period)
    except (TypeError, ValueError):
        raise ParameterError(name, "must be a pair (cases, period)") from None
    if not (cases_f >= 0 and period_i > 0 and period_i == float(period)):
        raise ParameterError(name, "cases must be >= 0 and period an integer > 0")
    return (cases_f, period_i)


def _p_cusum_m(name, v):
    if v is None or v == "glm":
        return v
    return _p_pos(name, v)


def _p_optional_num(name, v):
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ParameterError(name, "must be a number") from None
    if not math.isfinite(v):
        raise ParameterError(name, "must be finite")
    return v


def _p_optional_int0(name, v):
    if v is None:
        return None
    return _p_int(0)(name, v)


_EARS_SPEC = {
    "alpha": (None, _p_prob),
    "baseline": (7, _p_int(3)),
    "min_sigma": (0.0, _p_nonneg),
}
_C3_SPEC = dict(
    _EARS_SPEC,
    c3_variant=("r", _p_choice("r", "r_intent", "fricker")),
    c3_threshold=(None, _p_optional_num),
)
_CUSUM_SPEC = {
    "k": (1.04, _p_nonneg),
    "h": (2.26, _p_pos),
    "m": (None, _p_cusum_m),
    "trans": ("standard", _p_choice("standard", "rossi", "anscombe", "pearson_nb")),
    "alpha_nb": (0.1, _p_nonneg),
    "reset": (False, _p_bool),
    "freq": (52, _p_int(2)),
}
_CDC_SPEC = {
    "b": (5, _p_int(1)),
    "m": (1, _p_int(0)),
    "alpha": (0.025, _p_prob),
    "freq": (52, _p_int(1)),
}
_FARRINGTON_SPEC = {
    "b": (5, _p_int(1)),
    "w": (3, _p_int(0)),
    "alpha": (0.05, _p_prob),
    "reweight": (True, _p_bool),
    "trend": (True, _p_bool),
    "limit54": ((5.0, 4), _p_limit54),
    "powertrans": ("2/3", _p_choice("2/3", "1/2", "none")),
    "freq": (52, _p_int(2)),
}
_FLEX_SPEC = dict(
    _FARRINGTON_SPEC,
    b=(3, _p_int(1)),
    weights_threshold=(2.58, _p_nonneg),
    p_threshold_trend=(0.05, _p_nonneg),
    no_periods=(1, _p_int(1)),
    past_weeks_not_included=(None, _p_optional_int0),
    threshold_method=("delta", _p_choice("delta", "nbPlugin", "muan")),
)


def _resolve(spec: dict, params: dict | None) -> dict:
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ParameterError(unknown[0], f"unknown parameter (allowed: {', '.join(sorted(spec))})")
    out = {}
    for name, (default, check) in spec.items():
        out[name] = check(name, params[name]) if name in params and params[name] is not None else default
    return out


def _as_values(name: str, values) -> np.ndarray:
    if values is None:
        return np.zeros(0)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(name, "must be a sequence of numbers (None for missing)") from None
    if arr.ndim != 1:
        raise ParameterError(name, "must be a one-dimensional sequence")
    if np.isinf(arr).any():
        raise ParameterError(name, "must not contain infinite values")
    return arr


def _nonneg_counts(history: np.ndarray, series: np.ndarray, method: str):
    for name, arr in (("history", history), ("series", series)):
        if (arr < 0).any():  # NaN compares False
            raise ParameterError(name, f"{method} needs non-negative values (counts or loads)")


# ----------------------------------------------------------------------------------------------------------
# EARS C1 / C2 / C3  (R/earsC.R)
# ----------------------------------------------------------------------------------------------------------


def _window_stats(x: np.ndarray, ks: np.ndarray, b: int, lag: int):
    """mean and sd (n-1) of x[k-lag-b+1 .. k-lag] for each k in ks; NaN where the window does not exist."""
    P = ks.size
    mean = np.full(P, np.nan)
    sd = np.full(P, np.nan)
    starts = ks - lag - b + 1
    ok = starts >= 0
    if not ok.any() or x.size < b:
        return mean, sd
    lo = int(starts[ok].min())
    hi = int(starts[ok].max())
    win = sliding_window_view(x[lo : hi + b], b)[starts[ok] - lo]
    mean[ok] = win.mean(axis=1)
    sd[ok] = win.std(axis=1, ddof=1)
    return mean, sd


def _ears(method: str, history: np.ndarray, series: np.ndarray, p: dict) -> list[Point]:
    """EARS C1/C2/C3 exactly as surveillance::earsC.

    C3 (R): S_s = (y_s - mean2_s)/max(sd2_s, min_sigma) with the C2 window of s;
    R's UB_t = max(0, y_t + max(sd2_t, min_sigma)*(z - [max(0,S_{t-2}-1) + max(0,S_{t-1}-1)])), alarm y_t > UB_t,
    which reduces to "lagged part > z" (the current S_t is not used). score = that lagged part.
    Alarm iff y_t > UB_t (R; a zero count never alarms).
    "r_intent": score = S_t + lagged part, alarm iff score > z; UB = max(0, mean2_t + sd*(z - part)), the
    smallest value that alarms.
    "fricker" (Fricker et al. 2008): score = sum_{i=0..2} max(0, S_{t-i}-1), alarm iff score > 2;
    UB = max(0, mean2_t + sd*(1 + 2 - part)), 0 when the lagged part alone exceeds the threshold.
    For these two published forms the alarm is the statistic's, so when the lagged part alone (or a negative
    raw bound) already crosses the threshold, even a value <= UB (e.g. 0) alarms.
    """
    b = p["baseline"]
    alpha = p["alpha"] if p["alpha"] is not None else (0.025 if method == "ears_c3" else 0.001)
    z = float(special.ndtri(1.0 - alpha))
    min_sigma = p["min_sigma"]
    x = np.concatenate([history, series])
    nh = history.size
    ks = np.arange(nh, x.size)
    y = series
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("ears_c1", "ears_c2"):
            mean, sd = _window_stats(x, ks, b, 1 if method == "ears_c1" else 3)
            sde = np.maximum(sd, min_sigma)
            ub = mean + z * sde
            score = (y - mean) / sde
            alarm = y > ub
            return _points(y, ub, score, alarm)

        # C3: C2 statistics at t-2, t-1, t
        ks3 = np.arange(nh - 2, x.size)
        valid = ks3 >= 0
        mean3 = np.full(ks3.size, np.nan)
        sd3 = np.full(ks3.size, np.nan)
        m_, s_ = _window_stats(x, ks3[valid], b, 3)
        mean3[valid], sd3[valid] = m_, s_
        sde3 = np.maximum(sd3, min_sigma)
        xv = np.full(ks3.size, np.nan)
        xv[valid] = x[ks3[valid]]
        S = (xv - mean3) / sde3
        S2, S1, S0 = S[:-2], S[1:-1], S[2:]
        part = np.maximum(0.0, S2 - 1.0) + np.maximum(0.0, S1 - 1.0)
        mean_t, sde_t = mean3[2:], sde3[2:]
        variant = p["c3_variant"]
        thr = p["c3_threshold"]
        if variant == "r":
            thr = z if thr is None else thr
            ub = np.maximum(0.0, y + sde_t * (thr - part))
            score = part
            alarm = y > ub
        elif variant == "r_intent":
            thr = z if thr is None else thr
            ub = np.maximum(0.0, mean_t + sde_t * (thr - part))
            score = S0 + part
            alarm = score > thr
        else:  # fricker
            thr = 2.0 if thr is None else thr
            raw = np.where(part > thr, 0.0, mean_t + sde_t * (1.0 + thr - part))
            ub = np.maximum(0.0, raw)
            ub[np.isnan(raw)] = np.nan
            score = np.maximum(0.0, S0 - 1.0) + part
            alarm = score > thr
        alarm &= ~np.isnan(ub) & ~np.isnan(y)
        return _points(y, ub, score, alarm)


def ears_c1_reference(history: Sequence[float], series: Sequence[float], alpha: float = 0.001,
                      baseline: int = 7, min_sigma: float = 0.0) -> list[Point]:
    """Plain-Python loop implementation of EARS C1 (a readable baseline for benchmarks and tests).

    Same semantics as ``detect("ears_c1", ...)``: UB = mean + z*max(sd, min_sigma) over the previous
    ``baseline`` values, score = (y - mean)/max(sd, min_sigma), alarm iff y > UB.
    """
    z = statistics.NormalDist().inv_cdf(1.0 - alpha)
    x = [float("nan") if v is None else float(v) for v in list(history) + list(series)]
    nh = len(x) - len(series)
    out = []
    for k in range(nh, len(x)):
        y = x[k]
        if k < baseline or y != y:
            out.append(Point(y, None, None, False))
            continue
        win = x[k - baseline : k]
        if any(v != v for v in win):
            out.append(Point(y, None, None, False))
            continue
        mean = sum(win) / baseline
        sd = math.sqrt(sum((v - mean) ** 2 for v in win) / (baseline - 1))
        sde = max(sd, min_sigma)
        ub = mean + z * sde
        if sde > 0:
            score = (y - mean) / sde
        else:
            score = None
        out.append(Point(y, ub, score, bool(y > ub)))
    return out


# ----------------------------------------------------------------------------------------------------------
# CUSUM  (R/algo_cusum.R)
# ----------------------------------------------------------------------------------------------------------


def _cusum(history: np.ndarray, series: np.ndarray, p: dict) -> list[Point]:
    """algo.cusum. m = mean(history) unless given (or "glm": Poisson GLM with one harmonic on history).

    z_t by ``trans``; S_0 = 0, S_t = max(0, S_{t-1} + z_t - k); alarm S_t >= h; with ``reset`` S_t := 0
    after an alarm (operational mode; not in algo.cusum). A missing y_t leaves S unchanged and the point
    is reported as not computable. score = S_t.
    """
    k, h, trans, a_nb = p["k"], p["h"], p["trans"], p["alpha_nb"]
    y = series
    n = y.size
    nanout = _points(y, np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool))
    if p["m"] is None:
        hv = history[~np.isnan(history)]
        if hv.size == 0:
            return nanout
        m = np.full(n, hv.mean())
    elif p["m"] == "glm":
        m = _cusum_glm_m(history, n, p["freq"])
        if m is None:
            return nanout
    else:
        m = np.full(n, float(p["m"]))
    if not (np.all(np.isfinite(m)) and np.all(m > 0)):
        return nanout  # zero reference mean: the standardisation is undefined
    with np.errstate(invalid="ignore", divide="ignore"):
        if trans == "standard":
            zt = (y - m) / np.sqrt(m)
        elif trans == "rossi":
            zt = (y - 3 * m + 2 * np.sqrt(y * m)) / (2 * np.sqrt(m))
        elif trans == "anscombe":
            zt = 1.5 * (np.power(y, 2 / 3) - np.power(m, 2 / 3)) / np.power(m, 1 / 6)
        else:  # pearson_nb
            zt = (y - m) / np.sqrt(m + a_nb * m * m)
    missing = np.isnan(zt)
    inc = np.where(missing, 0.0, zt - k)
    if not p["reset"]:
        # Lindley recursion in closed form: S_t = C_t - min(0, min_{s<=t} C_s)
        C = np.cumsum(inc)
        S = np.maximum(C - np.minimum(np.minimum.accumulate(C), 0.0), 0.0)
        alarm = (S >= h) & ~missing
        Stm1 = np.concatenate([[0.0], S[:-1]])
    else:
        S = np.empty(n)
        alarm = np.zeros(n, bool)
        Stm1 = np.empty(n)
        s = 0.0
        incl = inc.tolist()
        miss = missing.tolist()
        for t in range(n):
            Stm1[t] = s
            s = max(0.0, s + incl[t])
            S[t] = s
            if s >= h and not miss[t]:
                alarm[t] = True
                s = 0.0  # reset after the alarm (reported S_t keeps the value that alarmed)
    with np.errstate(invalid="ignore"):
        if trans == "standard":
            ub = np.ceil(np.sqrt(m) * (h + k - Stm1) + m)
        elif trans == "rossi":
            sm = np.sqrt(m)
            m32 = m ** 1.5
            ub = (2 * h * sm + 2 * k * sm - 2 * Stm1 * sm + 5 * m
                  - 2 * np.sqrt(4 * m * m + 2 * m32 * h + 2 * m32 * k - 2 * m32 * Stm1))
        elif trans == "anscombe":
            base = (2 / 3) * m ** (1 / 6) * (h + k - Stm1) + m ** (2 / 3)
            ub = np.where(base < 0, 0.0, np.abs(base) ** 1.5)
        else:
            ub = np.sqrt(m + a_nb * m * m) * (h + k - Stm1) + m
    ub = np.where(np.isnan(ub), 0.0, np.maximum(ub, 0.0))
    ub[missing] = np.nan
    score = S.copy()
    score[missing] = np.nan
    return _points(y, ub, score, alarm)


def _cusum_glm_m(history: np.ndarray, n: int, freq: int):
    ok = ~np.isnan(history)
    if ok.sum() < 4 or history[ok].sum() <= 0:
        return None
    t = np.arange(history.size, dtype=float)
    om = 2 * np.pi / freq

    def design(tt):
        return np.stack([np.ones_like(tt), np.cos(om * tt), np.sin(om * tt)], axis=-1)

    X = design(t)
    Y = np.where(ok, history, 0.0)[None]
    fit = _glm_general(Y, X, ok[None].astype(float))
    if not fit["converged"][0]:
        return None
    tn = np.arange(history.size, history.size + n, dtype=float)
    return np.exp(design(tn) @ fit["beta"][0])


# ----------------------------------------------------------------------------------------------------------
# CDC historical limits  (R/algo_cdc.R)
# ----------------------------------------------------------------------------------------------------------


def _cdc(history: np.ndarray, series: np.ndarray, p: dict) -> list[Point]:
    """algo.cdc: 4-week totals against the same/neighbouring 4-week periods of the previous b years.

    y0 = y_t + y_{t-1} + y_{t-2} + y_{t-3}; baseline = sums of 4 consecutive weeks over the offsets
    -freq*j + (-4m-3 .. 4m), j = 1..b ((2m+1)*b values); UB = mean + Phi^-1(1-alpha/2)*sd*sqrt(1+1/n);
    alarm iff y0 > UB; score = (y0 - mean)/(UB - mean). upperbound refers to the 4-week total.
    """
    b, mm, alpha, freq = p["b"], p["m"], p["alpha"], p["freq"]
    if 4 * mm + 4 > freq:
        raise ParameterError("m", f"the 4*(2m+1)-week baseline must fit in one period (freq={freq})")
    x = np.concatenate([history, series])
    nh = history.size
    ks = np.arange(nh, x.size)
    y = series
    P = ks.size
    midx = np.arange(-4 * mm - 3, 4 * mm + 1)
    yidx = np.arange(-b, 0) * freq
    baseidx = np.sort((yidx[:, None] + midx[None, :]).ravel())
    ok = (ks + baseidx[0] >= 0) & (ks - 3 >= 0)
    ub = np.full(P, np.nan)
    score = np.full(P, np.nan)
    alarm = np.zeros(P, bool)
    if ok.any():
        kk = ks[ok]
        base = x[kk[:, None] + baseidx[None, :]].reshape(kk.size, -1, 4).sum(axis=2)
        nb = base.shape[1]
        mean = base.mean(axis=1)
        sd = base.std(axis=1, ddof=1)
        u = mean + special.ndtri(1 - alpha / 2) * sd * math.sqrt(1 + 1 / nb)
        y0 = x[kk[:, None] - np.arange(4)[None, :]].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            sc = (y0 - mean) / (u - mean)
        ub[ok] = u
        score[ok] = sc
        alarm[ok] = y0 > u
    return _points(y, ub, score, alarm)


# ----------------------------------------------------------------------------------------------------------
# Batched quasi-Poisson GLM (log link) by IRLS, many small problems at once
# ----------------------------------------------------------------------------------------------------------

_MAXIT = 25  # glm.control() defaults
_EPS = 1e-8


def _pois_dev(Y, ylogy, eta, mu, W):
    # 2 * sum w * (y log(y/mu) - (y - mu)), with y log y = 0 at y = 0
    return 2.0 * np.sum(W * (ylogy - Y * eta - Y + mu), axis=1)


def _glm_line(Y: np.ndarray, T: np.ndarray, W: np.ndarray) -> dict:
    """Poisson/quasi-Poisson GLM  log mu = a + beta*T  for P problems of n observations at once.

    Y, W: (P, n); T: (n,) times shared by all problems (offsets to the predicted week); W are prior weights
    (0 = observation excluded). IRLS as R's glm.fit (start mu = y + 0.1, convergence
    |dev - dev_old|/(|dev| + 0.1) < 1e-8, at most 25 iterations). Returns the prediction at T = 0 on the link
    scale (eta0) with its unscaled variance x0'(X'WX)^-1 x0, the slope and its unscaled variance, fitted mu,
    hat values, the Pearson dispersion (unfloored), residual df and convergence.
    """
    c = float(T.mean())
    t = T - c  # centred for conditioning; the prediction point T = 0 is t = -c
    Tm = np.stack([np.ones_like(t), t, t * t], axis=1)  # (n, 3)
    ylogy = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1.0)), 0.0)
    mu = Y + 0.1
    eta = np.log(mu)
    dev_old = _pois_dev(Y, ylogy, eta, mu, W)
    P = Y.shape[0]
    conv = np.zeros(P, bool)
    a = beta = np.zeros(P)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(_MAXIT):
            w = W * mu
            wz = w * eta + W * (Y - mu)  # w * working response z = eta + (y - mu)/mu
            S = w @ Tm
            Z = wz @ Tm[:, :2]
            det = S[:, 0] * S[:, 2] - S[:, 1] * S[:, 1]
            a = (S[:, 2] * Z[:, 0] - S[:, 1] * Z[:, 1]) / det
            beta = (S[:, 0] * Z[:, 1] - S[:, 1] * Z[:, 0]) / det
            eta = a[:, None] + beta[:, None] * t[None, :]
            mu = np.exp(eta)
            dev = _pois_dev(Y, ylogy, eta, mu, W)
            conv = np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < _EPS
            if conv.all():
                break
            dev_old = dev
        w = W * mu
        S = w @ Tm
        S0, S1, S2 = S[:, 0], S[:, 1], S[:, 2]
        det = S0 * S2 - S1 * S1
        hat = w * (S2[:, None] - 2.0 * S1[:, None] * t[None, :] + S0[:, None] * (t * t)[None, :]) / det[:, None]
        neff = (W > 0).sum(axis=1)
        disp = (W * (Y - mu) ** 2 / mu).sum(axis=1) / (neff - 2)
        eta0 = a - beta * c
        var0 = (S2 + 2.0 * c * S1 + c * c * S0) / det
        var_beta = S0 / det
    good = conv & np.isfinite(eta0) & np.isfinite(var0) & np.isfinite(beta) & (det > 0)
    return {"eta0": eta0, "var0": var0, "beta": beta, "var_beta": var_beta, "mu": mu, "hat": hat,
            "disp": disp, "df": neff - 2, "converged": good}


def _glm_const(Y: np.ndarray, W: np.ndarray) -> dict:
    """Intercept-only quasi-Poisson GLM: closed form mu = sum(W y)/sum(W) (the IRLS fixed point)."""
    SW = W.sum(axis=1)
    mu0 = (W * Y).sum(axis=1) / SW
    neff = (W > 0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        disp = np.where(mu0 > 0, (W * (Y - mu0[:, None]) ** 2).sum(axis=1) / mu0 / (neff - 1), 0.0)
        var0 = 1.0 / (mu0 * SW)
        eta0 = np.log(mu0)
    hat = W / SW[:, None]
    mu = np.broadcast_to(mu0[:, None], Y.shape)
    return {"eta0": eta0, "var0": var0, "mu": mu, "hat": hat, "disp": disp, "df": neff - 1,
            "converged": np.isfinite(mu0) & (SW > 0)}


def _glm_general(Y: np.ndarray, X: np.ndarray, W: np.ndarray, time_col: int | None = None) -> dict:
    """General batched IRLS for a design X (n, d) shared by all P problems; prediction point x0 = e_0.

    X'WX for every problem is one matrix product: (P, n) @ (n, d*d) with the outer products x_n x_n'.
    """
    n, d = X.shape
    P = Y.shape[0]
    XX = (X[:, :, None] * X[:, None, :]).reshape(n, d * d)
    ylogy = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1.0)), 0.0)
    mu = Y + 0.1
    eta = np.log(mu)
    dev_old = _pois_dev(Y, ylogy, eta, mu, W)
    conv = np.zeros(P, bool)
    beta = np.zeros((P, d))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(_MAXIT):
            w = W * mu
            wz = w * eta + W * (Y - mu)  # w * working response
            A = _mm(w, XX).reshape(P, d, d)
            r = _mm(wz, X)
            beta = _solve(A, r)
            eta = _mm(beta, X.T)
            mu = np.exp(eta)
            dev = _pois_dev(Y, ylogy, eta, mu, W)
            conv = np.abs(dev - dev_old) / (np.abs(dev) + 0.1) < _EPS
            if conv.all():
                break
            dev_old = dev
        w = W * mu
        A = _mm(w, XX).reshape(P, d, d)
        Ainv = _batched_inv(A)
        hat = w * _mm(Ainv.reshape(P, d * d), XX.T)
        neff = (W > 0).sum(axis=1)
        disp = (W * (Y - mu) ** 2 / mu).sum(axis=1) / (neff - d)
    out = {"beta": beta, "eta0": beta[:, 0], "var0": Ainv[:, 0, 0], "mu": mu, "hat": hat, "disp": disp,
           "df": neff - d, "converged": conv & np.isfinite(beta).all(axis=1)}
    if time_col is not None:
        out["var_beta"] = Ainv[:, time_col, time_col]
        out["beta_t"] = beta[:, time_col]
    return out


_MM_BLOCK = 200_000  # rows*inner*cols per product: below OpenBLAS's threading threshold (65536*4)


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b computed in row blocks small enough that BLAS stays single-threaded.

    A multi-threaded GEMM on a busy 2-core host (gunicorn workers, a concurrent test run) can be 10-50x
    slower than a single-threaded one because of thread oversubscription; these products are tiny anyway.
    """
    per_row = a.shape[1] * b.shape[1]
    rows = max(1, _MM_BLOCK // max(per_row, 1))
    if a.shape[0] <= rows:
        return a @ b
    return np.concatenate([a[i : i + rows] @ b for i in range(0, a.shape[0], rows)], axis=0)


def _solve(A: np.ndarray, r: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(A, r[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # a singular problem (e.g. an empty season block): least squares for all
        return np.einsum("pij,pj->pi", np.linalg.pinv(np.nan_to_num(A)), r)


def _batched_inv(A: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(np.nan_to_num(A))


def _anscombe_weights(Y, fit, phi, W, threshold):
    """algo.farrington.assign.weights on standardised Anscombe residuals (masked observations get 0)."""
    mu = fit["mu"]
    with np.errstate(divide="ignore", invalid="ignore"):
        # 1.5 * (y^(2/3) * mu^(-1/6) - mu^(1/2)) / sqrt(phi * (1 - h)); cbrt/sqrt are much faster than power
        cy = np.cbrt(Y)
        s = 1.5 * (cy * cy / np.sqrt(np.cbrt(mu)) - np.sqrt(mu)) / np.sqrt(phi[:, None] * (1 - fit["hat"]))
        s = np.where(W > 0, s, 0.0)
        big = s > threshold
        inv2 = np.where(big, 1.0 / np.where(big, s * s, 1.0), 1.0)
    valid = W > 0
    gamma = valid.sum(axis=1) / np.where(valid, inv2, 0.0).sum(axis=1)
    omega = np.where(valid, gamma[:, None] * inv2, 0.0)
    return omega


def _fit_farrington_model(Y, W, T, X, trend, reweight, threshold):
    """algo.farrington.fitGLM(.fast/.flexible): fit, phi = max(dispersion, 1), optional reweighting + refit."""
    def fit(weights):
        if X is None:
            return _glm_line(Y, T, weights) if trend else _glm_const(Y, weights)
        Xd = X if trend else np.delete(X, 1, axis=1)
        f = _glm_general(Y, Xd, weights, time_col=1 if trend else None)
        if trend:
            f["beta"], f["var_beta"] = f["beta_t"], f["var_beta"]
        return f

    f = fit(W)
    phi = np.maximum(np.nan_to_num(f["disp"], nan=0.0), 1.0)
    if reweight:
        omega = _anscombe_weights(Y, f, phi, W, threshold)
        conv0 = f["converged"]
        f = fit(omega)
        f["converged"] = f["converged"] & conv0
        phi = np.maximum(np.nan_to_num(f["disp"], nan=0.0), 1.0)
    f["phi"] = phi
    return f


def _farrington_core(Y, W, T, X, *, b, trend, reweight, threshold, p_trend):
    """Model choice of algo.farrington / farringtonFlexible for P reference sets at once.

    Returns eta0, var0 (unscaled), disp (unfloored Pearson dispersion), phi (floored) and ok per problem.
    The trend is kept iff p(wtime) < p_trend (t-test, residual df, unfloored dispersion), b >= 3 and the
    predicted mean does not exceed max(reference values); otherwise the intercept-only model is refitted.
    """
    P = Y.shape[0]
    allzero = ~((Y * (W > 0)) > 0).any(axis=1) & (W > 0).any(axis=1)
    res_c = _fit_farrington_model(Y, W, T, X, False, reweight, threshold)
    eta0, var0, disp, phi, ok = (res_c["eta0"].copy(), res_c["var0"].copy(), res_c["disp"].copy(),
                                 res_c["phi"].copy(), res_c["converged"].copy())
    # all-zero reference values: R's fit degenerates to mu ~ 0; use mu0 = 0 (UB = 0) explicitly
    ok |= allzero
    kept = np.zeros(P, bool)
    if trend and b >= 3:
        sel = ~allzero
        if sel.any():
            Ys, Ws, Ts = Y[sel], W[sel], T
            rt = _fit_farrington_model(Ys, Ws, Ts, X, True, reweight, threshold)
            with np.errstate(divide="ignore", invalid="ignore"):
                tstat = rt["beta"] / np.sqrt(rt["disp"] * rt["var_beta"])
                pval = 2.0 * special.stdtr(rt["df"], -np.abs(tstat))
                mu0_t = np.exp(rt["eta0"])
            ymax = np.where(Ws > 0, Ys, -np.inf).max(axis=1)
            keep = rt["converged"] & (pval < p_trend) & (mu0_t <= ymax)
            idx = np.flatnonzero(sel)[keep]
            eta0[idx] = rt["eta0"][keep]
            var0[idx] = rt["var0"][keep]
            disp[idx] = rt["disp"][keep]
            phi[idx] = rt["phi"][keep]
            ok[idx] = True
            kept[idx] = True
    return eta0, var0, disp, phi, ok, allzero, kept


# ----------------------------------------------------------------------------------------------------------
# Threshold functions (R: algo.farrington.threshold.farrington / .noufaily)
# ----------------------------------------------------------------------------------------------------------

_EXPONENT = {"none": 1.0, "1/2": 0.5, "2/3": 2.0 / 3.0}


def _delta_threshold(mu0, se_fit, phi, transform, alpha, y):
    """Vectorised R algo.farrington.threshold.farrington (one-sided alpha). Returns lower, upper, p, score."""
    mu0 = np.asarray(mu0, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = phi + se_fit ** 2 / mu0
        tau = np.where(mu0 > 0, tau, phi)
        if transform == "none":
            se = np.sqrt(mu0 * tau)
        elif transform == "1/2":
            se = np.sqrt(0.25 * tau)
        elif transform == "2/3":
            se = np.sqrt(4.0 / 9.0 * np.power(mu0, 1.0 / 3.0) * tau)
        else:
            raise ParameterError("powertrans", "must be one of 'none', '1/2', '2/3'")
        e = _EXPONENT[transform]
        zq = special.ndtri(1.0 - alpha)
        c = np.power(mu0, e)
        lo_base = c - zq * se
        up_base = c + zq * se
        lower = np.where(lo_base >= 0, np.power(np.abs(lo_base), 1.0 / e), np.nan) if e != 1.0 else lo_base
        upper = np.where(up_base >= 0, np.power(np.abs(up_base), 1.0 / e), np.nan) if e != 1.0 else up_base
        # R: lu <- sort(..., na.last = FALSE); lu[1] <- max(0, lu[1], na.rm = TRUE)
        lower = np.where(np.isnan(lower), 0.0, np.maximum(lower, 0.0))
        prob = special.ndtr(-(np.power(y, e) - c) / se)
        score = (y - mu0) / (upper - mu0)
    return lower, upper, prob, score


def farrington_threshold(pred_fit: float, pred_se_fit: float, phi: float, skewness_transform: str = "2/3",
                         alpha: float = 0.05, y: float = 0.0):
    """R ``algo.farrington.threshold.farrington`` (farringtonFlexible, thresholdMethod "delta").

    pred_fit = mu0 (response scale), pred_se_fit = its standard error, phi = dispersion, alpha one-sided.
    Returns ``(lower, upper, p, score)`` with p = P(Y^e >= y^e) under the normal approximation on the
    power-transformed scale and score = (y - mu0)/(upper - mu0). (algo.farrington's two-sided version is this
    function with alpha/2.) Accepts scalars or arrays.
    """
    if skewness_transform not in _EXPONENT:
        raise ParameterError("powertrans", "must be one of 'none', '1/2', '2/3'")
    out = _delta_threshold(np.asarray(pred_fit, float), np.asarray(pred_se_fit, float), np.asarray(phi, float),
                           skewness_transform, alpha, np.asarray(y, float))
    return tuple(float(v) if np.ndim(v) == 0 else v for v in out)


def _noufaily_threshold(eta0, se_eta, phi, alpha, y, method):
    eta0 = np.asarray(eta0, float)
    se_eta = np.asarray(se_eta, float)
    phi = np.broadcast_to(np.asarray(phi, float), eta0.shape)
    y = np.broadcast_to(np.asarray(y, float), eta0.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        if method == "nbPlugin":
            mu_q = np.exp(eta0)
        else:
            mu_q = np.exp(eta0 + special.ndtri(1.0 - alpha) * se_eta)
    lower = np.full(eta0.shape, np.nan)
    upper = np.full(eta0.shape, np.nan)
    prob = np.full(eta0.shape, np.nan)
    fin = np.isfinite(mu_q)
    nb = fin & (phi > 1)
    po = fin & ~(phi > 1)
    if nb.any():
        size = mu_q[nb] / (phi[nb] - 1.0)
        pr = 1.0 / phi[nb]
        lower[nb] = stats.nbinom.ppf(alpha, size, pr)
        upper[nb] = stats.nbinom.ppf(1.0 - alpha, size, pr)
        prob[nb] = stats.nbinom.sf(y[nb] - 1.0, size, pr)
    if po.any():
        lam = mu_q[po]
        lower[po] = stats.poisson.ppf(alpha, lam)
        upper[po] = stats.poisson.ppf(1.0 - alpha, lam)
        prob[po] = stats.poisson.sf(y[po] - 1.0, lam)
    lower = np.where(np.isnan(lower), lower, np.maximum(lower, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        score = (y - eta0) / (upper - eta0)  # R quirk: eta0 is on the log scale
    return lower, upper, prob, score


def noufaily_threshold(pred_fit: float, pred_se_fit: float, phi: float, alpha: float = 0.05, y: float = 0.0,
                       method: str = "muan"):
    """R ``algo.farrington.threshold.noufaily`` (farringtonFlexible thresholdMethod "nbPlugin" / "muan").

    pred_fit = eta0 = log(mu0) (link scale), pred_se_fit = se(eta0), phi = dispersion (>= 1), alpha one-sided.
    mu* = exp(eta0) ("nbPlugin") or exp(qnorm(1-alpha, eta0, se)) ("muan"); the bounds are the alpha and
    1-alpha quantiles of NB(size = mu*/(phi-1), prob = 1/phi) (Poisson(mu*) when phi == 1);
    p = P(Y >= y); score = (y - eta0)/(upper - eta0) -- R computes it with eta0 on the log scale.
    Returns ``(lower, upper, p, score)``. Accepts scalars or arrays.
    """
    if method not in ("nbPlugin", "muan"):
        raise ParameterError("threshold_method", "must be 'nbPlugin' or 'muan'")
    out = _noufaily_threshold(eta0=pred_fit, se_eta=pred_se_fit, phi=phi, alpha=alpha, y=y, method=method)
    return tuple(float(v) if np.ndim(v) == 0 else v for v in out)


# ----------------------------------------------------------------------------------------------------------
# Farrington (algo.farrington) and Farrington flexible / Noufaily (farringtonFlexible)
# ----------------------------------------------------------------------------------------------------------


def _farrington_design(p: dict, flexible: bool):
    """Relative offsets of the reference values (and factor levels for noPeriods > 1), index-based as R
    with epochAsDate = FALSE: windows k - freq*i - w .. k - freq*i + w, i = 1..b."""
    b, w, freq = p["b"], p["w"], p["freq"]
    if 2 * w + 1 > freq:
        raise ParameterError("w", f"the window 2*w+1 must fit in one period (freq={freq})")
    if not flexible:
        offs = np.concatenate([np.arange(-freq * i - w, -freq * i + w + 1) for i in range(b, 0, -1)])
        return offs, None
    pp = p["no_periods"]
    pwni = p["past_weeks_not_included"]
    if pwni is None:
        pwni = w
    lo = -freq * b - w
    levels = np.full(-lo + 1, np.nan)  # index r <-> offset lo + r
    levels[(-w - lo):] = pp  # current window (now - w .. now)
    refs = [0] + [-freq * i for i in range(1, b + 1)]
    for i in range(1, b + 1):
        rw = refs[i]
        levels[rw - w - lo : rw + w + 1 - lo] = pp
        if pp != 1:
            period = refs[i - 1] - 2 * w - 1 - rw
            if period < pp - 1:
                raise ParameterError("no_periods", f"too many periods for freq={freq} and w={w}")
            lb, rest = divmod(period, pp - 1)
            lens = [lb + (1 if j < rest else 0) for j in range(pp - 1)]
            start = rw + w + 1
            for j, ln in enumerate(lens):
                levels[start - lo : start + ln - lo] = j + 1
                start += ln
    offsets_all = np.arange(lo, 1)
    levels[offsets_all >= -pwni] = np.nan
    keep = ~np.isnan(levels)
    return offsets_all[keep], levels[keep].astype(int)


def _farrington_arrays(history: np.ndarray, series: np.ndarray, p: dict, flexible: bool) -> dict:
    """algo.farrington (flexible=False) / farringtonFlexible (flexible=True), index-based reference weeks.

    For each point: reference values at the offsets from :func:`_farrington_design`; quasi-Poisson GLM
    log mu = a (+ beta*wtime) (+ season blocks), phi = max(Pearson X^2/df, 1); Anscombe-residual reweighting
    (threshold 1 for the original, ``weights_threshold`` for flexible); trend kept only if significant,
    b >= 3 and no extrapolation beyond max(reference values); prediction mu0 at the current week.
    Original: UB = (mu0^e + Phi^-1(1-alpha/2)*se_e)^(1/e) with se from the floored phi. Flexible: one-sided
    alpha, and (R's behaviour) the prediction's standard error uses the unfloored dispersion because
    farringtonFlexible passes ``dispersion`` inside ``newdata``.
    Returns arrays over the series: value, mu0, phi, trend, enough_cases, computable, upperbound, score, alarm.
    """
    _nonneg_counts(history, series, "farrington" if not flexible else "farrington_flexible")
    x = np.concatenate([history, series])
    nh = history.size
    ks = np.arange(nh, x.size)
    y = series
    P = ks.size
    offs, levels = _farrington_design(p, flexible)
    ok = ks + offs.min() >= 0
    out = {name: np.full(P, np.nan) for name in ("mu0", "phi", "upperbound", "score")}
    out.update(value=y, alarm=np.zeros(P, bool), trend=np.zeros(P, bool), enough_cases=np.zeros(P, bool),
               computable=np.zeros(P, bool))
    kk = ks[ok]
    if not kk.size:
        return out
    idx = kk[:, None] + offs[None, :]
    Y = x[idx]
    W = (~np.isnan(Y)).astype(float)
    Y = np.where(W > 0, Y, 0.0)
    T = offs.astype(float)
    X = None
    if flexible and p["no_periods"] > 1:
        pp = p["no_periods"]
        # dummies for levels 1..pp-1 (level pp -- the current-week level -- is the baseline, so x0 = e_0)
        D = (levels[:, None] == np.arange(1, pp)[None, :]).astype(float)
        Xrow = np.concatenate([np.ones((offs.size, 1)), offs[:, None].astype(float), D], axis=1)
        X = Xrow
    if flexible:
        thr_w, p_trend = p["weights_threshold"], p["p_threshold_trend"]
    else:
        thr_w, p_trend = 1.0, 0.05
    min_rows = (X.shape[1] - 1 if X is not None else 1) + (1 if p["trend"] else 0)
    enough_rows = W.sum(axis=1) > min_rows
    eta0, var0, disp, phi, fok, allzero, kept = _farrington_core(
        Y, W, T, X, b=p["b"], trend=p["trend"], reweight=p["reweight"], threshold=thr_w, p_trend=p_trend)
    yk = y[ok]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        mu0 = np.where(allzero, 0.0, np.exp(eta0))
        L_cases, L_period = p["limit54"]
        csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(x))])
        lastL = csum[kk + 1] - csum[np.maximum(kk + 1 - L_period, 0)]
        enough = lastL >= L_cases
        if not flexible:
            se_fit = np.where(allzero, 0.0, mu0 * np.sqrt(phi * var0))
            _, u, _, sc = _delta_threshold(mu0, se_fit, phi, p["powertrans"], p["alpha"] / 2.0, yk)
        elif p["threshold_method"] == "delta":
            disp_pred = np.nan_to_num(disp, nan=0.0)
            se_fit = np.where(allzero, 0.0, mu0 * np.sqrt(disp_pred * var0))
            _, u, _, sc = _delta_threshold(mu0, se_fit, phi, p["powertrans"], p["alpha"], yk)
        else:
            disp_pred = np.nan_to_num(disp, nan=0.0)
            se_eta = np.where(allzero, 0.0, np.sqrt(disp_pred * var0))
            e0 = np.where(allzero, 0.0, eta0)  # finite placeholder; all-zero rows are overwritten below
            _, u, _, sc = _noufaily_threshold(e0, se_eta, phi, p["alpha"], yk, p["threshold_method"])
            u = np.where(allzero, 0.0, u)
        if allzero.any():
            # all reference values zero: mu0 = 0 and UB = 0, any positive value exceeds it
            sc = np.where(allzero, np.where(yk > 0, np.inf, np.nan), sc)
        al = enough & (sc > 1)
        if flexible:
            al &= yk != 0
    good = fok & enough_rows & ~np.isnan(yk)
    u = np.where(good, u, np.nan)
    sc = np.where(good, sc, np.nan)
    out["mu0"][ok] = np.where(good, mu0, np.nan)
    out["phi"][ok] = np.where(good, phi, np.nan)
    out["upperbound"][ok] = u
    out["score"][ok] = sc
    out["alarm"][ok] = al & good
    out["trend"][ok] = kept & good
    out["enough_cases"][ok] = enough
    out["computable"][ok] = good
    return out


def _farrington(history: np.ndarray, series: np.ndarray, p: dict, flexible: bool) -> list[Point]:
    a = _farrington_arrays(history, series, p, flexible)
    return _points(a["value"], a["upperbound"], a["score"], a["alarm"])


def farrington_details(method: str, history: Sequence[float], series: Sequence[float],
                       params: dict | None = None) -> list[dict]:
    """Per-point internals of "farrington" / "farrington_flexible" (for audit logs and tests).

    One dict per element of ``series``: value, mu0 (predicted mean), phi (floored dispersion), trend (time
    trend kept), enough_cases (limit54 rule met), upperbound, score, alarm; None where not computable.
    """
    if method == "farrington":
        p, flexible = _resolve(_FARRINGTON_SPEC, params), False
    elif method == "farrington_flexible":
        p, flexible = _resolve(_FLEX_SPEC, params), True
    else:
        raise ParameterError("method", "must be 'farrington' or 'farrington_flexible'")
    a = _farrington_arrays(_as_values("history", history), _as_values("series", series), p, flexible)
    rows = []
    for i in range(a["value"].size):
        comp = bool(a["computable"][i])
        rows.append({
            "value": _json_float(a["value"][i]),
            "mu0": _json_float(a["mu0"][i]) if comp else None,
            "phi": _json_float(a["phi"][i]) if comp else None,
            "trend": bool(a["trend"][i]) if comp else None,
            "enough_cases": bool(a["enough_cases"][i]) if comp else None,
            "upperbound": _json_float(a["upperbound"][i]) if comp else None,
            "score": _json_float(a["score"][i]) if comp else None,
            "alarm": bool(a["alarm"][i]),
        })
    return rows


# ----------------------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------------------


def _run_ears(name):
    def run(h, s, params):
        spec = _C3_SPEC if name == "ears_c3" else _EARS_SPEC
        return _ears(name, h, s, _resolve(spec, params))

    return run


METHODS: dict[str, Callable[[np.ndarray, np.ndarray, Any], list[Point]]] = {
    "ears_c1": _run_ears("ears_c1"),
    "ears_c2": _run_ears("ears_c2"),
    "ears_c3": _run_ears("ears_c3"),
    "cusum": lambda h, s, params: _cusum(h, s, _resolve(_CUSUM_SPEC, params)),
    "cdc": lambda h, s, params: _cdc(h, s, _resolve(_CDC_SPEC, params)),
    "farrington": lambda h, s, params: _farrington(h, s, _resolve(_FARRINGTON_SPEC, params), False),
    "farrington_flexible": lambda h, s, params: _farrington(h, s, _resolve(_FLEX_SPEC, params), True),
}


def detect(method: str, history: Sequence[float], series: Sequence[float], params: dict | None = None
           ) -> list[Point]:
    """Run one early-warning method; one :class:`Point` per element of ``series``.

    ``history`` is the past before ``series`` (R's training part); each point of ``series`` also sees the
    earlier points of ``series``. See the module docstring for the methods, parameters, and the meaning of
    ``upperbound`` and ``score``. Raises :class:`ParameterError` (a ValueError) for an unknown method or a
    bad parameter; never raises because the history is short.
    """
    run = METHODS.get(method)
    if run is None:
        raise ParameterError("method", f"unknown method {method!r} (allowed: {', '.join(METHODS)})")
    if params is not None and not isinstance(params, dict):
        raise ParameterError("params", "must be a mapping")
    h = _as_values("history", history)
    s = _as_values("series", series)
    if s.size == 0:
        return []
    return run(h, s, params)
