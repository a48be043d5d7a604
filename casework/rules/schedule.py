"""Schedule policies, planned events and overdue detection (pure Python + numpy).

The law fixes no frequencies: tests happen "根据公安机关的要求，定期" [S: 条例 Art.19(二)] and the national
《社区戒毒社区康复工作规范》 was not found (research §1.5). Everything here is therefore a parameter, seeded with
the research's local example A [S2: 66zhonglv] for check-ins and example B (Xianyou) [S2: 52fuqing] for tests:

===================  =====================  =============  ================================
phase (months)       check-ins (例 A)         tests (例 B)    count over the phase
===================  =====================  =============  ================================
0–6   (year 1, H1)   every half-month         monthly        12 check-ins, 6 tests
6–12  (year 1, H2)   monthly                  monthly        6 check-ins, 6 tests
12–24 (year 2)       every 2 months           every 2 months 6 check-ins, 6 tests
24–36 (year 3)       every 3 months           every 3 months 4 check-ins, 4 tests
0–36                 random test once a year  —              3 random tests ("≥3 随机检测", 例 A)
0–36                 home visit every 3 months [G]           12 home visits
===================  =====================  =============  ================================

= 28 check-ins (例 A "不少于28次"), 22 tests, 3 random tests, 12 home visits over 3 years at the default
("medium") risk. Risk multipliers [G, assumption]: **high ×2** on every count (e.g. 56 check-ins); **medium ×1**;
**low ×1** — example A is stated as a minimum ("不少于"), so low risk is not allowed to go below it. A city that
wants a lighter low tier edits the rows. Rows for the same (kind, risk, phase) add up.

How a row becomes dates: the phase is cut into periods of ``period_months`` calendar months counted from the
start (the last period may be shorter; it still gets the full count — conservative [G]); a period with ``n``
events of a kind is cut into ``n`` equal slots; each event is due on the **last day of its slot** and may be done
any day in the slot or within ``grace_days`` after (then it is overdue).

Suspensions (中止) [S: 条例 Art.24]: the schedule runs on *served time*. Suspended days are skipped, so no event
falls inside a suspension and phases (year 1, year 2 …) advance with the term, exactly as the end date moves in
:func:`.clock.planned_end`. ``end`` must therefore be the moved end (``planned_end`` with the same suspensions);
nothing is planned on or after ``end``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np

from .clock import COMMUNITY_KINDS
from .dates import add_months, merge_periods

CHECKIN, TEST, RANDOM_TEST, HOME_VISIT = "checkin", "test", "random_test", "home_visit"
EVENT_KINDS = (CHECKIN, TEST, RANDOM_TEST, HOME_VISIT)
EVENT_LABELS = {CHECKIN: "报到", TEST: "检测", RANDOM_TEST: "随机检测", HOME_VISIT: "走访"}
RISK_LEVELS = ("high", "medium", "low")
DEFAULT_RISK = "medium"
DEFAULT_GRACE_DAYS = 7                                   # [G]
RISK_FACTORS = {"high": 2, "medium": 1, "low": 1}        # [G] see module docstring


@dataclass(frozen=True, slots=True)
class Policy:
    """One editable ``schedule_policy`` row: minimum events per period within a phase of the term."""

    measure_kind: str
    phase_from_month: int
    phase_to_month: int
    risk_level: str
    checkins: int = 0
    tests: int = 0
    random_tests: int = 0
    home_visits: int = 0
    period_months: int = 1
    grace_days: int = DEFAULT_GRACE_DAYS
    source: str = ""

    def __post_init__(self):
        if not 0 <= self.phase_from_month < self.phase_to_month:
            raise ValueError(f"phase {self.phase_from_month}–{self.phase_to_month} months is empty or negative")
        if self.period_months < 1:
            raise ValueError("period_months must be at least 1")
        if self.risk_level not in RISK_LEVELS:
            raise ValueError(f"risk level {self.risk_level!r} is not one of {RISK_LEVELS}")
        if min(self.checkins, self.tests, self.random_tests, self.home_visits, self.grace_days) < 0:
            raise ValueError("counts and grace days cannot be negative")


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    kind: str              # checkin | test | random_test | home_visit
    due_on: date           # last day of the slot
    from_on: date          # first day of the slot (done before it does not count)
    grace_days: int = DEFAULT_GRACE_DAYS

    @property
    def overdue_from(self) -> date:
        return self.due_on + timedelta(days=self.grace_days + 1)


@dataclass(frozen=True, slots=True)
class DoneEvent:
    kind: str
    on: date
    id: Any = None


# --- seed data -------------------------------------------------------------------------------------------

_EXAMPLE_A = (  # (from, to, period_months, checkins, tests, random, visits, source)
    (0, 6, 1, 2, 1, 0, 0, "例A 第一年上半年每半月报到; 例B 第一年每月尿检"),
    (6, 12, 1, 1, 1, 0, 0, "例A 第一年下半年每月报到; 例B 第一年每月尿检"),
    (12, 24, 2, 1, 1, 0, 0, "例A/例B 第二年每两个月"),
    (24, 36, 3, 1, 1, 0, 0, "例A/例B 第三年每三个月"),
    (0, 36, 12, 0, 0, 1, 0, "例A 随机检测不少于3次 → 每年1次 [G]"),
    (0, 36, 3, 0, 0, 0, 1, "走访每季度1次 [G]"),
)


def seed_policies(kinds: Sequence[str] = COMMUNITY_KINDS, risk_factors: Optional[dict] = None,
                  grace_days: int = DEFAULT_GRACE_DAYS) -> tuple[Policy, ...]:
    """The seed rows: local example A (check-ins) + example B (tests) for every risk level, counts multiplied by
    ``risk_factors`` (default high ×2, medium ×1, low ×1) [S2 + G]. Seeded for 社区戒毒 and 社区康复 only; the
    other measures get rows from the city."""
    factors = RISK_FACTORS if risk_factors is None else risk_factors
    rows = []
    for kind in kinds:
        for risk in RISK_LEVELS:
            f = factors[risk]
            for lo, hi, per, ci, te, ra, hv, src in _EXAMPLE_A:
                rows.append(Policy(kind, lo, hi, risk, ci * f, te * f, ra * f, hv * f, per, grace_days,
                                   src + ("" if f == 1 else f" ×{f} ({risk})")))
    return tuple(rows)


SEED_POLICIES = seed_policies()


def default_policies(kind: str) -> list[Policy]:
    """Seed rows of one measure kind (empty for kinds without a seed)."""
    return [p for p in SEED_POLICIES if p.measure_kind == kind]


# --- templates (what a policy set means, independent of the start date) ------------------------------------

_KIND_INDEX = {k: i for i, k in enumerate(EVENT_KINDS)}


_TEMPLATES: dict[int, tuple] = {}


def _template(rows: tuple, kind: str, risk: Optional[str]) -> tuple:
    """Flatten rows into (month_from, month_to, k, n, kind_index, grace, risk) slot specs, one per event.

    Cached per rows object (the cache keeps a reference, so an ``id`` is never reused while cached)."""
    entry = _TEMPLATES.get(id(rows))
    if entry is None or entry[0] is not rows:
        if len(_TEMPLATES) > 256:
            _TEMPLATES.clear()
        entry = _TEMPLATES[id(rows)] = (rows, {})
    cache = entry[1]
    key = (kind, risk)
    spec = cache.get(key)
    if spec is not None:
        return spec
    out = []
    for r in rows:
        if r.measure_kind != kind or (risk is not None and r.risk_level != risk):
            continue
        m = r.phase_from_month
        while m < r.phase_to_month:
            m2 = min(m + r.period_months, r.phase_to_month)
            for ek, n in ((CHECKIN, r.checkins), (TEST, r.tests), (RANDOM_TEST, r.random_tests),
                          (HOME_VISIT, r.home_visits)):
                for k in range(n):
                    out.append((m, m2, k, n, _KIND_INDEX[ek], r.grace_days, r.risk_level))
            m = m2
    out.sort()
    spec = cache[key] = tuple(out)
    return spec


_INTERNED: dict[tuple, tuple] = {}


def _as_rows(policies) -> tuple:
    """Rows as a tuple; equal lists map to one canonical tuple so the identity-keyed caches keep working when a
    caller builds a fresh list of the same rows for every measure."""
    if policies is None:
        return SEED_POLICIES
    if isinstance(policies, tuple):
        return policies
    rows = tuple(policies)
    canon = _INTERNED.get(rows)
    if canon is None:
        if len(_INTERNED) > 256:
            _INTERNED.clear()
        canon = _INTERNED[rows] = rows
    return canon


class _ServedTime:
    """Maps a date on the served-time line (no suspensions) to the calendar, skipping suspended days."""

    def __init__(self, start: date, end: date, suspensions: Iterable):
        spans = merge_periods(suspensions, open_end=end, clip_start=start, clip_end=end)
        self.vstarts, self.cum, total = [], [0], 0
        for s, e in spans:
            self.vstarts.append(s.toordinal() - total)
            total += (e - s).days
            self.cum.append(total)
        self.total = total

    def __call__(self, vord: int) -> int:
        return vord + self.cum[bisect.bisect_right(self.vstarts, vord)]


_PLAN_CACHE: dict = {}
_PLAN_CACHE_MAX = 20000


def _build(rows, kind, risk, start, end, mapper: Optional[_ServedTime], risk_at: Optional[Callable]):
    spec = _template(rows, kind, None if risk_at is not None else risk)
    if not spec:
        return []
    vend = end.toordinal() - (mapper.total if mapper else 0)
    months = max(s[1] for s in spec)
    bounds = [add_months(start, m).toordinal() for m in range(months + 1)]
    fromord = date.fromordinal
    tmp, risk_cache = [], {}
    for mf, mt, k, n, ki, grace, rrisk in spec:
        ps = bounds[mf]
        if ps >= vend:
            continue
        if risk_at is not None:
            r = risk_cache.get(mf)
            if r is None:
                r = risk_cache[mf] = risk_at(fromord(mapper(ps) if mapper else ps))
            if r != rrisk:
                continue
        length = bounds[mt] - ps
        frm = ps + (k * length) // n
        due = ps + ((k + 1) * length) // n - 1
        if due < frm:
            due = frm
        if due >= vend:
            continue
        tmp.append((due, ki, frm, grace))
    tmp.sort()
    if mapper is None:
        return [PlannedEvent(EVENT_KINDS[ki], fromord(due), fromord(frm), grace) for due, ki, frm, grace in tmp]
    return [PlannedEvent(EVENT_KINDS[ki], fromord(mapper(due)), fromord(mapper(frm)), grace)
            for due, ki, frm, grace in tmp]


def plan(kind: str, start: date, end: date, risk: Union[str, Callable[[date], str]] = DEFAULT_RISK,
         policies: Optional[Iterable[Policy]] = None, suspensions: Iterable = ()) -> list[PlannedEvent]:
    """Planned events of one measure from ``start`` (inclusive) to ``end`` (exclusive), sorted by due date.

    ``risk``: a level, or ``risk_at(date) -> level`` evaluated at the (calendar) start of each period, so a
    re-assessment changes the intensity from the next period on. ``policies``: rows (default the seed).
    ``suspensions``: (from_on, to_on) pairs / Periods; days inside are skipped (see module docstring).
    Without suspensions and with a fixed risk the result is cached per (policies, kind, risk, start, end).
    """
    if end is None or start is None:
        raise ValueError("a plan needs a start and an end date")
    if end < start:
        raise ValueError(f"the term ends ({end}) before it starts ({start})")
    if not callable(risk) and risk not in RISK_LEVELS:
        raise ValueError(f"risk level {risk!r} is not one of {RISK_LEVELS}")
    rows = _as_rows(policies)
    suspensions = list(suspensions)
    if not suspensions and not callable(risk):
        key = (id(rows), kind, risk, start, end)
        hit = _PLAN_CACHE.get(key)
        if hit is None or hit[0] is not rows:
            if len(_PLAN_CACHE) >= _PLAN_CACHE_MAX:
                _PLAN_CACHE.clear()
            hit = _PLAN_CACHE[key] = (rows, tuple(_build(rows, kind, risk, start, end, None, None)))
        return list(hit[1])
    mapper = _ServedTime(start, end, suspensions) if suspensions else None
    return _build(rows, kind, None if callable(risk) else risk, start, end, mapper,
                  risk if callable(risk) else None)


def plan_many(kind: str, starts: Sequence[date], ends: Sequence[date], risks: Union[str, Sequence[str]] = DEFAULT_RISK,
              policies: Optional[Iterable[Policy]] = None) -> dict[str, np.ndarray]:
    """Vectorised :func:`plan` for many measures without suspensions (bulk regeneration).

    Returns numpy arrays of equal length: ``person`` (index into ``starts``), ``kind`` (index into
    ``EVENT_KINDS``), ``due`` and ``from`` (proleptic ordinals, ``date.fromordinal``), ``grace``. Measures with
    suspensions or a time-varying risk go through :func:`plan` instead.
    """
    rows = _as_rows(policies)
    starts_o = np.fromiter((d.toordinal() for d in starts), dtype=np.int64, count=len(starts))
    ends_o = np.fromiter((d.toordinal() for d in ends), dtype=np.int64, count=len(ends))
    risks_arr = np.full(len(starts), risks, dtype=object) if isinstance(risks, str) else np.asarray(risks, dtype=object)
    # calendar month arithmetic on datetime64: start + m months, day clamped to the month's length
    epoch = date(1970, 1, 1).toordinal()
    d64 = (starts_o - epoch).astype("datetime64[D]")
    month0 = d64.astype("datetime64[M]")
    dom = (d64 - month0.astype("datetime64[D]")).astype(np.int64)            # day of month - 1
    cache: dict[int, np.ndarray] = {}

    def bound(m: int) -> np.ndarray:
        if m not in cache:
            ms = month0 + np.timedelta64(m, "M")
            first = ms.astype("datetime64[D]")
            length = ((ms + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
            cache[m] = first.astype(np.int64) + np.minimum(dom, length - 1) + epoch
        return cache[m]

    parts = {"person": [], "kind": [], "due": [], "from": [], "grace": []}
    idx_all = np.arange(len(starts), dtype=np.int64)
    for risk in RISK_LEVELS:
        sel = idx_all[risks_arr == risk]
        if not len(sel):
            continue
        for mf, mt, k, n, ki, grace, _r in _template(rows, kind, risk):
            ps, pe = bound(mf)[sel], bound(mt)[sel]
            length = pe - ps
            frm = ps + (k * length) // n
            due = np.maximum(frm, ps + ((k + 1) * length) // n - 1)
            ok = due < ends_o[sel]
            cnt = int(ok.sum())
            if not cnt:
                continue
            parts["person"].append(sel[ok])
            parts["kind"].append(np.full(cnt, ki, dtype=np.int8))
            parts["due"].append(due[ok])
            parts["from"].append(frm[ok])
            parts["grace"].append(np.full(cnt, grace, dtype=np.int16))
    empty = {"person": np.int64, "kind": np.int8, "due": np.int64, "from": np.int64, "grace": np.int16}
    return {k: (np.concatenate(v) if v else np.zeros(0, dtype=empty[k])) for k, v in parts.items()}


# --- overdue -------------------------------------------------------------------------------------------------

def _done_pairs(done_events) -> dict[str, list[date]]:
    by_kind: dict[str, list[date]] = {}
    for d in done_events:
        kind, on = (d.kind, d.on) if hasattr(d, "kind") else (d[0], d[1])
        by_kind.setdefault(kind, []).append(on)
    for v in by_kind.values():
        v.sort()
    return by_kind


def fulfilment(planned: Sequence[PlannedEvent], done_events: Iterable, grace_days: Optional[int] = None
               ) -> list[Optional[date]]:
    """For each planned event, the date of the done event that fulfils it, or None.

    A done event fulfils a planned one of the same kind when it falls in ``[from_on, due_on + grace]``; each done
    event fulfils at most one planned event. Matching is earliest-deadline-first with the earliest usable done
    event, which fulfils as many planned events as possible. ``grace_days`` overrides the events' own grace.
    ``done_events``: ``DoneEvent``/objects with ``kind`` and ``on``, or ``(kind, date)`` pairs.
    """
    done = _done_pairs(done_events)
    result: list[Optional[date]] = [None] * len(planned)
    by_kind: dict[str, list[int]] = {}
    for i, p in enumerate(planned):
        by_kind.setdefault(p.kind, []).append(i)
    for kind, idxs in by_kind.items():
        points = done.get(kind)
        if not points:
            continue
        parent = list(range(len(points) + 1))

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def hi_of(i):
            g = planned[i].grace_days if grace_days is None else grace_days
            return planned[i].due_on + timedelta(days=g)

        for i in sorted(idxs, key=lambda i: (hi_of(i), planned[i].from_on)):
            j = find(bisect.bisect_left(points, planned[i].from_on))
            if j < len(points) and points[j] <= hi_of(i):
                result[i] = points[j]
                parent[j] = j + 1
    return result


def overdue(planned: Sequence[PlannedEvent], done_events: Iterable, today: date,
            grace_days: Optional[int] = None) -> list[PlannedEvent]:
    """Planned events not fulfilled (see :func:`fulfilment`) whose ``due_on + grace`` is before ``today``.

    An event due today, or still within its grace days, is not overdue; the day after the last grace day it is.
    """
    matched = fulfilment(planned, done_events, grace_days)
    out = []
    for p, m in zip(planned, matched):
        g = p.grace_days if grace_days is None else grace_days
        if m is None and p.due_on + timedelta(days=g) < today:
            out.append(p)
    return out
