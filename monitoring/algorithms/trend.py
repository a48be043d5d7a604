"""NWSS-style trend words, percent change and levels against a site's own history (pure numpy/scipy).

See /work/shared/research/wastewater.md §3: CDC NWSS reports a *percent change* from the slope of a log-linear
regression over the last samples, five *trend classes* (sustained decrease / decrease / plateau / increase /
sustained increase; 5-sample "sustained", 3-sample short-term, by slope significance) and *percentiles /
quintiles* of the current value against the site's own history. The exact NWSS decision table is not public
in our sources, so the rules below are this project's definition of those words (documented, tested).
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Sequence

import numpy as np
from scipy import special

__all__ = ["trend_class", "percent_change", "level_against_history", "loglinear_fit", "TREND_CLASSES", "LEVELS"]

TREND_CLASSES = ("sustained_decrease", "decrease", "plateau", "increase", "sustained_increase", "insufficient_data")
LEVELS = ("very_low", "low", "moderate", "high", "very_high")
MIN_HISTORY = 10


def _times_to_float(times, n: int) -> np.ndarray:
    if times is None:
        return np.arange(n, dtype=float)
    times = list(times)
    if len(times) != n:
        raise ValueError("times: must have the same length as values")
    out = []
    for t in times:
        if isinstance(t, _dt.datetime):
            out.append(t.timestamp() / 86400.0)
        elif isinstance(t, _dt.date):
            out.append(float(t.toordinal()))
        else:
            try:
                out.append(float(t))
            except (TypeError, ValueError):
                raise ValueError("times: must be numbers, dates or datetimes") from None
    return np.asarray(out, dtype=float)


def _clean(values, times):
    try:
        v = np.asarray([np.nan if x is None else x for x in values], dtype=float)
    except (TypeError, ValueError):
        raise ValueError("values: must be a sequence of numbers (None for missing)") from None
    if v.ndim != 1:
        raise ValueError("values: must be one-dimensional")
    t = _times_to_float(times, v.size)
    keep = ~np.isnan(v) & ~np.isnan(t)
    v, t = v[keep], t[keep]
    if np.isinf(v).any():
        raise ValueError("values: must be finite")
    if (v < 0).any():
        raise ValueError("values: must be non-negative (concentrations, loads or counts)")
    order = np.argsort(t, kind="stable")
    return v[order], t[order]


def loglinear_fit(values: Sequence[float], times=None) -> tuple[float, float, float]:
    """OLS of log1p(values) on time. Returns (slope per time unit, two-sided p-value of the slope, span).

    p is NaN with fewer than 3 points or no spread in time; a perfect non-flat fit has p = 0.
    """
    v, t = _clean(values, times)
    return _fit(v, t)


def _fit(v: np.ndarray, t: np.ndarray):
    n = v.size
    if n < 2:
        return math.nan, math.nan, 0.0
    y = np.log1p(v)
    tc = t - t.mean()
    sxx = float(tc @ tc)
    span = float(t[-1] - t[0])
    if sxx <= 0:
        return math.nan, math.nan, span
    slope = float(tc @ (y - y.mean())) / sxx
    if n < 3:
        return slope, math.nan, span
    resid = y - y.mean() - slope * tc
    s2 = float(resid @ resid) / (n - 2)
    # relative tolerance: a fit that is perfect up to rounding counts as perfect
    if s2 <= (1e-12 * max(1.0, float(np.abs(y).max()))) ** 2:
        p = 0.0 if abs(slope) * math.sqrt(sxx) > 1e-9 else math.nan
        return slope, p, span
    tstat = slope / math.sqrt(s2 / sxx)
    p = float(2.0 * special.stdtr(n - 2, -abs(tstat)))
    return slope, p, span


def percent_change(values: Sequence[float], times=None) -> float | None:
    """Percent change over the span of ``values`` from the log-linear slope (NWSS style).

    ``100 * (exp(slope * (t_last - t_first)) - 1)`` with the slope of log1p(values) on time (times default to
    0, 1, 2, ...), i.e. the fitted change of (1 + value) from the first to the last sample. None with fewer
    than 2 usable points.
    """
    v, t = _clean(values, times)
    slope, _, span = _fit(v, t)
    if math.isnan(slope):
        return None
    return 100.0 * math.expm1(slope * span)


def trend_class(values: Sequence[float], times=None, short_n: int = 3, sustained_n: int = 5,
                alpha: float = 0.05) -> str:
    """Trend word for the most recent samples.

    Log-linear OLS (log1p(values) on time) with a t-test of the slope:

    * ``sustained_increase`` / ``sustained_decrease``: over the last ``sustained_n`` samples the slope is
      significant (p < alpha) and the slope over the last ``short_n`` samples has the same sign;
    * otherwise ``increase`` / ``decrease``: the slope over the last ``short_n`` samples is significant;
    * otherwise ``plateau``;
    * ``insufficient_data`` with fewer than ``short_n`` usable (non-missing) samples.

    With short_n = 3 the short-term test has 1 degree of freedom, so only a near-monotone log-linear run of
    three samples counts as an increase/decrease; that conservatism is intended (a word on a dashboard should
    not flip on noise).
    """
    if int(short_n) != short_n or short_n < 3:
        raise ValueError("short_n: must be an integer >= 3")
    if int(sustained_n) != sustained_n or sustained_n <= short_n:
        raise ValueError("sustained_n: must be an integer > short_n")
    if not (0 < alpha < 1):
        raise ValueError("alpha: must be strictly between 0 and 1")
    short_n, sustained_n = int(short_n), int(sustained_n)
    v, t = _clean(values, times)
    n = v.size
    if n < short_n:
        return "insufficient_data"
    s_slope, s_p, _ = _fit(v[-short_n:], t[-short_n:])
    if n >= sustained_n:
        l_slope, l_p, _ = _fit(v[-sustained_n:], t[-sustained_n:])
        if l_p < alpha and l_slope != 0 and np.sign(s_slope) == np.sign(l_slope):
            return "sustained_increase" if l_slope > 0 else "sustained_decrease"
    if s_p < alpha and s_slope != 0:
        return "increase" if s_slope > 0 else "decrease"
    return "plateau"


def level_against_history(value: float, history: Sequence[float]) -> tuple[float | None, str]:
    """Percentile of ``value`` in the site's own ``history`` and its level word.

    percentile = 100 * (#{h < value} + 0.5 * #{h == value}) / n  (mid-rank, so ties sit in the middle);
    levels by quintile: [0, 20) very_low, [20, 40) low, [40, 60) moderate, [60, 80) high, [80, 100] very_high.
    Missing values in history are ignored; fewer than 10 usable history points give
    ``(None, "insufficient_data")``.
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError("value: must be a number") from None
    if not math.isfinite(v):
        raise ValueError("value: must be a finite number")
    try:
        h = np.asarray([np.nan if x is None else x for x in history], dtype=float)
    except (TypeError, ValueError):
        raise ValueError("history: must be a sequence of numbers") from None
    h = h[np.isfinite(h)]
    if h.size < MIN_HISTORY:
        return None, "insufficient_data"
    pct = 100.0 * (np.count_nonzero(h < v) + 0.5 * np.count_nonzero(h == v)) / h.size
    level = LEVELS[min(int(pct // 20), 4)]
    return float(pct), level
