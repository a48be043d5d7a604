"""Legal clocks of the measures (pure Python).

Sources are tagged as in ``shared/research/casework.md``: [S] official text (戒毒条例 2018 rev., read in full),
[S2] secondary source, [M] from memory of the statute, [G] a design choice where the law is silent.
Date conventions (calendar days, half-open intervals, month/year arithmetic) are in :mod:`.dates`.

Summary of what this module decides:

=====================  ==============================================================================
report deadline        served_on + 15 days; reporting on that day is on time, the day after is a
                       refusal (视为拒绝接受) unless a good reason is accepted [S: 条例 Art.14, 38]
社区戒毒 term           3 years from the report date [S: 条例 Art.14]
社区康复 term           the ordered years, at most 3 (an order for more is capped at 3) [S: 条例 Art.37]
强制隔离戒毒 term        2 years from the decision date [S: 条例 Art.27]; extension ≤ 1 year; early release
                       only after ≥ 1 year [S2: 禁毒法 Art.47]; escape time does not count and bars early
                       release [S: 条例 Art.32]; detention/imprisonment/medical leave do NOT pause it
                       [S: 条例 Art.31, 36]
中止 (suspension)       detention or arrest pauses a community term; the end moves by the paused days
                       [S: 条例 Art.24] (arithmetic [G], see :func:`planned_end`)
transfer (异地执行)      does NOT pause: "社区戒毒时间自报到之日起连续计算" [S: 条例 Art.22]
=====================  ==============================================================================
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable, NamedTuple, Optional

from .dates import ONE_DAY, add_months, add_years, as_period, merge_periods, overlap_days, roll_past_holidays

# --- measure kinds -------------------------------------------------------------------------------------

COMMUNITY_TREATMENT = "community_treatment"
COMMUNITY_REHAB = "community_rehab"
COMPULSORY_ISOLATION = "compulsory_isolation"
VOLUNTARY = "voluntary"
MAINTENANCE = "maintenance"
TEMPORARY_CONTROL = "temporary_control"
AFTERCARE = "aftercare"
MEDICAL_CUSTODY = "medical_custody"

KINDS = {
    COMMUNITY_TREATMENT: "社区戒毒",
    COMMUNITY_REHAB: "社区康复",
    COMPULSORY_ISOLATION: "强制隔离戒毒",
    VOLUNTARY: "自愿戒毒",
    MAINTENANCE: "维持治疗",
    TEMPORARY_CONTROL: "临时管控",
    AFTERCARE: "后续照管",
    MEDICAL_CUSTODY: "病残收治",
}
COMMUNITY_KINDS = (COMMUNITY_TREATMENT, COMMUNITY_REHAB)

# --- numbers fixed by law (not parameters) -------------------------------------------------------------

REPORT_DAYS = 15                      # [S: 条例 Art.14 (社区戒毒), Art.38 (社区康复)]
TRANSFER_REPORT_DAYS = 15             # [S: 条例 Art.22]
COMMUNITY_TREATMENT_YEARS = 3         # [S: 条例 Art.14]
COMMUNITY_REHAB_MAX_YEARS = 3         # [S: 条例 Art.37 "不超过3年"]
COMPULSORY_YEARS = 2                  # [S: 条例 Art.27]
COMPULSORY_MAX_EXTENSION_YEARS = 1    # [S2: 禁毒法 Art.47 "延长期限最长不得超过一年"]
COMPULSORY_EARLY_RELEASE_YEARS = 1    # [S2: 禁毒法 Art.47 "执行一年以后"]
RELEASE_NOTICE_DAYS = 7               # [S: 条例 Art.23, 40 — police notify the township within 7 days]
DECISION_DAYS = 7                     # [S: 条例 Art.31, 33 — decision on a proposal within 7 days]
PRE_RELEASE_NOTICE_DAYS = 3           # [S: 条例 Art.34 — facility notifies ≥ 3 days before release]
POLICE_FACILITY_MONTHS = (3, 6, 12)   # [S: 条例 Art.27 — move to 司法 after 3–6 months; police ≤ 12 months]
ABSTINENCE_YEARS = 3                  # [S: 条例 Art.7 "戒断3年未复吸"]


def _require_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown measure kind {kind!r}; expected one of {', '.join(KINDS)}")


# --- report deadlines ----------------------------------------------------------------------------------

def report_due(served_on: date, days: int = REPORT_DAYS, holidays: Iterable[date] = ()) -> date:
    """Last day on which a person served with a 社区戒毒/社区康复 order may report.

    [S: 条例 Art.14 "自收到责令社区戒毒决定书之日起15日内…报到"; Art.38 the same for 社区康复.]
    The day of service is not counted [M: 民法典 Art.201 — a period counted in days starts the next day],
    so an order served on 1 March is due on 16 March and reporting on 16 March is on time.
    ``holidays``: optional statutory rest days that push the deadline on [M: 民法典 Art.203]; empty by default.
    """
    if served_on is None:
        raise ValueError("the date the order was served is required")
    return roll_past_holidays(served_on + timedelta(days=days), holidays)


def transfer_report_due(changed_on: date, days: int = TRANSFER_REPORT_DAYS, holidays: Iterable[date] = ()) -> date:
    """Deadline to report at the new execution place after a change (异地执行).

    [S: 条例 Art.22 "自社区戒毒执行地变更之日起15日内…报到"]; the term is NOT paused meanwhile.
    """
    return report_due(changed_on, days, holidays)


def is_refusal(served_on: date, reported_on: Optional[date], today: date, *, days: int = REPORT_DAYS,
               good_reason: bool = False, holidays: Iterable[date] = ()) -> bool:
    """True when the person is treated as refusing the community order (视为拒绝接受社区戒毒).

    [S: 条例 Art.14 "无正当理由逾期不报到的，视为拒绝接受社区戒毒"; Art.21 makes the worker report it.]
    * reported on or before :func:`report_due` → False (day 15 is on time);
    * reported later, or not reported and ``today`` is after the due day → True (day 16 is a refusal);
    * not reported and still within the window → False;
    * ``good_reason`` (正当理由, a human decision recorded by the caller) → False.
    """
    if good_reason:
        return False
    due = report_due(served_on, days, holidays)
    if reported_on is not None:
        if reported_on < served_on:
            raise ValueError(f"reported on {reported_on}, before the order was served on {served_on}")
        return reported_on > due
    return today > due


def release_notice_due(ended_on: date, days: int = RELEASE_NOTICE_DAYS) -> date:
    """Police must notify the township/street office of the release within 7 days [S: 条例 Art.23, 40]."""
    return ended_on + timedelta(days=days)


def decision_due(received_on: date, days: int = DECISION_DAYS) -> date:
    """Decision on an early-release/extension/conversion proposal within 7 days [S: 条例 Art.31, 33]."""
    return received_on + timedelta(days=days)


def pre_release_notice_by(release_on: date, days: int = PRE_RELEASE_NOTICE_DAYS) -> date:
    """The 强戒 facility notifies the deciding authority ≥ 3 days before release [S: 条例 Art.34]."""
    return release_on - timedelta(days=days)


def justice_transfer_window(admitted_on: date) -> tuple[date, date, date]:
    """(earliest, latest, hard limit) for moving a 强戒 person from the police to a 司法 facility.

    [S: 条例 Art.27: after 3 to 6 months; where the province lacks capacity, police custody ≤ 12 months.]
    """
    lo, hi, cap = POLICE_FACILITY_MONTHS
    return add_months(admitted_on, lo), add_months(admitted_on, hi), add_months(admitted_on, cap)


# --- terms ------------------------------------------------------------------------------------------------

def _shift_by_pauses(base_end: date, spans: list[tuple[date, date]]) -> date:
    """Move ``base_end`` later by every paused span that begins while the term is still running."""
    end = base_end
    for s, e in spans:                  # sorted, disjoint
        if s < end:                     # the term had not expired when the pause began
            end += e - s
    return end


def planned_end(kind: str, start: date, years: Optional[int] = None, suspensions: Iterable = (),
                extension_days: int = 0, early_release_on: Optional[date] = None, escape_periods: Iterable = (),
                *, credit_days: int = 0, term_days: Optional[int] = None,
                early_release_barred: bool = False) -> Optional[date]:
    """The date the measure ends (is lifted, 解除) — the first day **outside** the term ``[start, end)``.

    ``start`` is the report date for community kinds [S: 条例 Art.14 "自报到之日起计算"] and the decision date
    for 强制隔离戒毒 [S: 条例 Art.27 "自作出强制隔离戒毒决定之日起计算"]. The last day under the measure is
    ``end - 1 day`` (what a document prints as "至…止").

    Terms:
      * ``community_treatment``: 3 years [S: Art.14]; ``years`` may be omitted or 3, anything else is an error.
        ``credit_days``: days of 强戒 already served when a 强戒 is converted to 社区戒毒; they shorten the
        term [S: 条例 Art.31 "已执行的强制隔离戒毒期限折抵社区戒毒期限"].
      * ``community_rehab``: ``years`` as ordered (default 3), capped at 3 [S: Art.37 "不超过3年"].
      * ``compulsory_isolation``: 2 years [S: Art.27]; ``years`` may be omitted or 2.
        ``extension_days``: ≤ 1 calendar year counted from the 2-year end [S2: 禁毒法 Art.47].
        ``early_release_on``: allowed only on/after the 1st anniversary of the decision [S2: 禁毒法 Art.47],
        only before the 2-year end, never after an escape [S: Art.32] or when ``early_release_barred``
        (refused/seriously violated 社区康复 then used again) [S: Art.38 ¶2]; it cannot be combined with an
        extension. ``escape_periods``: time at large does not count [S: Art.32] — the end moves like a pause.
        Detention, imprisonment and medical leave do NOT pause it [S: Art.31, 36]: passing ``suspensions``
        for 强戒 is an error.
      * other kinds (voluntary, maintenance, temporary_control, aftercare, medical_custody): the law sets
        no term; the caller gives ``years`` or ``term_days`` (agreement, approval) or gets ``None``
        (open-ended) [G]. Suspensions pause them like a community term [G].

    Pause arithmetic for ``suspensions`` (中止, detention/arrest) [S: 条例 Art.24; arithmetic G]:
      * calendar days; each suspension is half-open ``[from_on, to_on)`` — the day taken into custody is
        paused, the clock runs again on the release day ``to_on`` ("释放后继续接受社区戒毒");
      * overlapping or touching suspensions are merged first, so no day is counted twice;
      * parts before ``start`` are ignored; a suspension that begins on/after the (already moved) end is
        ignored because the term had expired; one that spans the original end moves the end by its whole
        length (the unserved remainder resumes on release);
      * so ``end = base_end + Σ paused days`` for every pause that begins while the term is running, and
        :func:`days_served` at ``end`` equals the full term;
      * a suspension still open (``to_on=None``) makes the end unknown → returns ``None``; so does an
        escape still open.
    Transfers (异地执行) never pause [S: 条例 Art.22 "连续计算"]: there is no parameter for them.

    Raises ``ValueError`` for impossible input (unknown kind, wrong statutory term, negative or > 1-year
    extension, early release before one year or after the end, escape with early release, a period that
    ends before it starts …).
    """
    _require_kind(kind)
    if start is None:
        raise ValueError(f"{KINDS[kind]} needs a start date (report date or decision date)")
    compulsory = kind == COMPULSORY_ISOLATION
    escape_periods = list(escape_periods)
    suspensions = list(suspensions)

    if not compulsory:
        if extension_days:
            raise ValueError(f"extension only applies to 强制隔离戒毒, not {KINDS[kind]}")
        if early_release_on is not None:
            raise ValueError(f"early release only applies to 强制隔离戒毒, not {KINDS[kind]}")
        if escape_periods:
            raise ValueError(f"escape periods only apply to 强制隔离戒毒 (条例 Art.32), not {KINDS[kind]}")
    if credit_days and kind != COMMUNITY_TREATMENT:
        raise ValueError("credit_days (条例 Art.31) only applies to 社区戒毒 converted from 强戒")
    if credit_days < 0:
        raise ValueError(f"credit_days cannot be negative (got {credit_days})")
    if term_days is not None and kind in (*COMMUNITY_KINDS, COMPULSORY_ISOLATION):
        raise ValueError(f"the term of {KINDS[kind]} is set by law; term_days is only for other measures")

    if kind == COMMUNITY_TREATMENT:
        if years not in (None, COMMUNITY_TREATMENT_YEARS):
            raise ValueError(f"社区戒毒 lasts {COMMUNITY_TREATMENT_YEARS} years by law (条例 Art.14); got years={years}")
        base = add_years(start, COMMUNITY_TREATMENT_YEARS)
        if credit_days:
            base = max(start, base - timedelta(days=credit_days))
    elif kind == COMMUNITY_REHAB:
        y = COMMUNITY_REHAB_MAX_YEARS if years is None else years
        if y <= 0:
            raise ValueError(f"社区康复 needs a positive number of years; got {years}")
        base = add_years(start, min(y, COMMUNITY_REHAB_MAX_YEARS))
    elif compulsory:
        if years not in (None, COMPULSORY_YEARS):
            raise ValueError(f"强制隔离戒毒 lasts {COMPULSORY_YEARS} years by law (条例 Art.27); got years={years}; "
                             "use extension_days / early_release_on")
        if suspensions:
            raise ValueError("强制隔离戒毒 is not suspended by detention, imprisonment or medical leave: "
                             "its term runs continuously (条例 Art.31, 36); record escapes as escape_periods")
        base = add_years(start, COMPULSORY_YEARS)
        if extension_days < 0:
            raise ValueError(f"extension_days cannot be negative (got {extension_days})")
        max_ext = (add_years(base, COMPULSORY_MAX_EXTENSION_YEARS) - base).days
        if extension_days > max_ext:
            raise ValueError(f"an extension of {extension_days} days exceeds the 1-year maximum "
                             f"({max_ext} days after {base}) (禁毒法 Art.47)")
        if extension_days and early_release_on is not None:
            raise ValueError("a 强戒 term cannot be both extended and released early")
        base += timedelta(days=extension_days)
    else:
        if years is not None and term_days is not None:
            raise ValueError("give years or term_days, not both")
        if years is None and term_days is None:
            return None                                    # open-ended: the law sets no term [G]
        if (years is not None and years <= 0) or (term_days is not None and term_days <= 0):
            raise ValueError(f"the term of {KINDS[kind]} must be positive (years={years}, term_days={term_days})")
        base = add_years(start, years) if years is not None else start + timedelta(days=term_days)

    if compulsory:
        if any(as_period(p).end is None for p in escape_periods):
            if early_release_on is not None:
                raise ValueError("an escaped person cannot be released early (条例 Art.32)")
            return None                                    # still at large: end unknown
        pauses = merge_periods(escape_periods, clip_start=start)
        if early_release_on is not None:
            if pauses:
                raise ValueError("a recaptured person cannot be released early (条例 Art.32)")
            if early_release_barred:
                raise ValueError("early release is barred for this person (条例 Art.38 ¶2)")
            earliest = add_years(start, COMPULSORY_EARLY_RELEASE_YEARS)
            if early_release_on < earliest:
                raise ValueError(f"early release on {early_release_on} is before one year has been served "
                                 f"(earliest {earliest}; 禁毒法 Art.47)")
            if early_release_on >= base:
                raise ValueError(f"early release on {early_release_on} is not before the end of the term {base}")
            return early_release_on
        return _shift_by_pauses(base, pauses)

    if any(as_period(p).end is None for p in suspensions):
        return None                                        # suspended now: end unknown until release
    return _shift_by_pauses(base, merge_periods(suspensions, clip_start=start))


def last_day(end: Optional[date]) -> Optional[date]:
    """The last day under the measure for an ``end`` from :func:`planned_end` (what documents print)."""
    return None if end is None else end - ONE_DAY


def days_served(start: date, on: date, suspensions: Iterable = (), escape_periods: Iterable = ()) -> int:
    """Days of the term served before ``on`` (``[start, on)`` minus paused days).

    Paused days are suspensions (中止, [S: 条例 Art.24]) and escapes ([S: 条例 Art.32]); open periods are
    counted up to ``on``. Invariant: ``days_served(start, planned_end(...), same pauses)`` equals the
    length of the unpaused term. Returns 0 for ``on <= start``.
    """
    if on <= start:
        return 0
    spans = merge_periods([*suspensions, *escape_periods], open_end=on, clip_start=start, clip_end=on)
    return (on - start).days - overlap_days(spans, start, on)


# --- 戒断三年未复吸 ---------------------------------------------------------------------------------------

class Abstinence(NamedTuple):
    abstinent_since: date
    eligible: bool
    eligible_on: date


def abstinence(last_confirmed_use: Optional[date], releases: Iterable[date] = (),
               positive_findings: Iterable[date] = (), *, today: date,
               years: int = ABSTINENCE_YEARS) -> Abstinence:
    """Whether a person may be proposed as 戒断三年未复吸 (dynamic control stops) — research §1.9 default rule.

    [S: 条例 Art.7 "对戒断3年未复吸的人员，不再实行动态管控"; the start of the 3 years is not defined in the
    texts found — default rule G:]
      ``abstinent_since = max(last confirmed use, last release from custody / 强戒, last positive finding)``
      ``eligible_on = abstinent_since + 3 calendar years``; ``eligible = today >= eligible_on``
    (so the exact anniversary is eligible). Any positive test, drug case or use finding moves the clock —
    a hair positive is dated by its collection day (its window cannot be dated more precisely) [G].
    ``releases``: the caller passes releases from 强戒, prison and detention; whether the end of a community
    measure also restarts the clock is a local decision (research §6 Q4) — pass it here if so.
    ``eligible`` only means "may be proposed": the status needs a police confirmation event [G].
    """
    dates = [d for d in (last_confirmed_use, *releases, *positive_findings) if d is not None]
    if not dates:
        raise ValueError("abstinence needs at least one dated use, release or finding")
    future = [d for d in dates if d > today]
    if future:
        raise ValueError(f"dates after today ({today}) cannot be used: {sorted(future)}")
    since = max(dates)
    eligible_on = add_years(since, years)
    return Abstinence(since, today >= eligible_on, eligible_on)
