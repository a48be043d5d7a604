"""Calendar arithmetic shared by the casework rules (pure Python, no Django).

Conventions used by every module in ``casework.rules`` — read these once:

* **Dates are calendar days.** The 戒毒条例 counts periods in 日/月/年 and never says "working days", so
  nothing here skips weekends [G: research §1.2 "dates are calendar days … confirm locally"]. Where a
  deadline falls on a statutory holiday the caller may pass ``holidays`` to :func:`roll_past_holidays`
  [M: 民法典 Art.203 — a period whose last day is a statutory holiday ends on the day after the holiday].
* **Intervals are half-open** ``[start, end)``: ``start`` is the first day inside, ``end`` the first day
  outside. A term that starts on 2024-01-10 and "runs 3 years" is ``[2024-01-10, 2027-01-10)``: the person
  is under the measure up to and including 2027-01-09 and the measure is lifted (解除) on 2027-01-10.
  A decision document that prints "至2027年1月9日止" prints ``end - 1 day``.
  A suspension (中止) entered as ``from_on=2024-03-01, to_on=2024-03-11`` pauses the days 03-01 … 03-10 and
  the clock runs again on the release day 03-11 [S: 条例 Art.24 "释放后继续接受社区戒毒"]. To enter a
  detention printed as "3月1日至3月10日" use :meth:`Period.inclusive`.
* **Months and years** are added by calendar: the same day-of-month in the target month, or the month's
  last day where that day does not exist (31 Jan + 1 month = 28/29 Feb; 29 Feb + 1 year = 28 Feb)
  [M: 民法典 Art.202 — "到期月的对应日为期间的最后一日；没有对应日的，月末日为期间的最后一日"].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Optional

ONE_DAY = timedelta(days=1)

_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def month_length(year: int, month: int) -> int:
    """Number of days in ``month`` of ``year``."""
    if month == 2 and _is_leap(year):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months, clamped to the month's last day [M: 民法典 Art.202]."""
    m0 = d.month - 1 + months
    year = d.year + m0 // 12
    month = m0 % 12 + 1
    day = d.day
    if day > 28:
        day = min(day, month_length(year, month))
    return date(year, month, day)


def add_years(d: date, years: int) -> date:
    """``d`` plus ``years`` calendar years (29 Feb → 28 Feb in a common year) [M: 民法典 Art.202]."""
    return add_months(d, 12 * years)


def roll_past_holidays(d: date, holidays: Iterable[date] = ()) -> date:
    """Move a deadline that falls on a holiday to the first following day that is not one.

    [M: 民法典 Art.203; 行政诉讼法 Art.85 has the same rule.] ``holidays`` is the set of statutory
    rest days the office wants honoured (empty by default: the law does not make the city do this).
    """
    hs = holidays if isinstance(holidays, (set, frozenset)) else set(holidays)
    while d in hs:
        d += ONE_DAY
    return d


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open date interval ``[start, end)``; ``end=None`` means "still open" (e.g. still detained)."""

    start: date
    end: Optional[date] = None

    def __post_init__(self):
        if self.end is not None and self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def inclusive(cls, first_day: date, last_day: Optional[date]) -> "Period":
        """Build from a first and last day both inside (as printed on documents: "自…起至…止")."""
        return cls(first_day, None if last_day is None else last_day + ONE_DAY)

    # KPI periods -------------------------------------------------------------------------------------
    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        start = date(year, month, 1)
        return cls(start, add_months(start, 1))

    @classmethod
    def quarter(cls, year: int, quarter: int) -> "Period":
        start = date(year, 3 * (quarter - 1) + 1, 1)
        return cls(start, add_months(start, 3))

    @classmethod
    def year(cls, year: int) -> "Period":
        return cls(date(year, 1, 1), date(year + 1, 1, 1))

    @property
    def last(self) -> date:
        """The last day inside the period ("period end" in the KPI formulas)."""
        if self.end is None:
            raise ValueError("an open period has no last day")
        return self.end - ONE_DAY

    def contains(self, d: Optional[date]) -> bool:
        return d is not None and self.start <= d and (self.end is None or d < self.end)

    def days(self, today: Optional[date] = None) -> int:
        """Length in days; an open period is counted up to (not including) ``today``."""
        end = self.end if self.end is not None else today
        if end is None:
            raise ValueError("an open period needs `today` to be measured")
        return max(0, (end - self.start).days)


def as_period(value: Any) -> Period:
    """Accept a :class:`Period`, a ``(start, end)`` pair, or an object with ``from_on``/``to_on``
    (the Django ``Suspension`` row) or ``start``/``end`` attributes."""
    if isinstance(value, Period):
        return value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return Period(value[0], value[1])
    for a, b in (("from_on", "to_on"), ("start", "end"), ("start_on", "end_on")):
        if hasattr(value, a):
            return Period(getattr(value, a), getattr(value, b, None))
    raise TypeError(f"cannot read a period from {value!r}")


def merge_periods(periods: Iterable[Any], *, open_end: Optional[date] = None,
                  clip_start: Optional[date] = None, clip_end: Optional[date] = None) -> list[tuple[date, date]]:
    """Union of half-open periods as sorted, disjoint ``(start, end)`` pairs.

    Overlapping **and touching** periods are merged, so a day is never counted twice. An open period
    (``end=None``) is closed at ``open_end`` (it must then be given). Results are clipped to
    ``[clip_start, clip_end)`` when those are given; empty pieces are dropped.
    """
    spans = []
    for raw in periods:
        p = as_period(raw)
        end = p.end
        if end is None:
            if open_end is None:
                raise ValueError(f"period from {p.start} is still open; an end date is needed here")
            end = max(open_end, p.start)
        start = p.start
        if clip_start is not None and start < clip_start:
            start = clip_start
        if clip_end is not None and end > clip_end:
            end = clip_end
        if start < end:
            spans.append((start, end))
    spans.sort()
    merged: list[tuple[date, date]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def overlap_days(spans: Iterable[tuple[date, date]], start: date, end: date) -> int:
    """Days of the disjoint ``spans`` that fall inside ``[start, end)``."""
    total = 0
    for s, e in spans:
        lo, hi = max(s, start), min(e, end)
        if lo < hi:
            total += (hi - lo).days
    return total
