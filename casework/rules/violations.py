"""Rules that oblige the community worker to report to the police (pure Python).

===========  ===================  ==============================================================================
rule_id      Trigger.kind         rule
===========  ===================  ==============================================================================
C20-1        serious_violation    evaded OR refused tests, counted together, ≥ 3 within one term
                                  [S: 条例 Art.20 "逃避或者拒绝接受检测3次以上"; 以上 includes 3, M]
C20-2        serious_violation    unauthorised departures from the execution county ≥ 3 [S: 条例 Art.20]
C20-3        serious_violation    unauthorised absences adding up to MORE than 30 days [S: 条例 Art.20 "累计超过30日"]
C21-P        positive_test        a positive test during the order [S: 条例 Art.21 "在社区戒毒期间又吸食、注射毒品"]
C21-H        needs_police_review  a positive whose detection window starts before the order did — it may show
                                  use before the order, so it is NOT counted as use during it (research §1.7, G)
C14-R        missed_report        no report within 15 days → treated as refusal [S: 条例 Art.14, 21]
L01          lost_contact         ``n`` consecutive planned contacts missed (失控) [G, research §1.3/issue #4]
===========  ===================  ==============================================================================

Each trigger carries ``on`` (the day the threshold was crossed), ``evidence`` (record ids) and
``police_report_due = on + sla_days``. Art.21 only says "及时" (promptly); the SLA is a parameter, default 1 day
(24 hours) [G, research §1.4]. The same thresholds apply to 社区康复 (禁毒法 Art.48 applies the 社区戒毒 rules) [S2].

Absences [S: 条例 Art.19(三) "离开社区戒毒执行地所在县(市、区)3日以上的，须书面报告"]:
  * an absence is **unauthorised** when it lasts ≥ 3 days and the person gave no written notice and it was not
    authorised; shorter trips need no notice and are never counted (neither as departures nor as days);
  * days are counted as elapsed calendar days ``returned_on - left_on`` (the return day is not an absent day);
    ``inclusive_days=True`` counts both the leaving and the return day instead [G: the law does not say];
  * an absence with ``returned_on=None`` is still going on and is counted up to ``today``;
  * overlapping records are not double counted (days are a union); records with the same ``left_on`` are one
    departure;
  * "within one term": only records inside ``[term_start, term_end)`` count; a transfer does not start a new
    term (Art.22 "连续计算"), so the caller passes the whole term's records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Optional, Sequence

from .clock import COMMUNITY_KINDS, is_refusal, report_due
from .dates import add_months

# --- numbers fixed by law -------------------------------------------------------------------------------
REFUSAL_THRESHOLD = 3          # [S: 条例 Art.20 "3次以上"]
DEPARTURE_THRESHOLD = 3        # [S: 条例 Art.20 "3次以上"]
ABSENCE_DAYS_LIMIT = 30        # [S: 条例 Art.20 "累计超过30日" — strictly more than 30]
NOTICE_DAYS = 3                # [S: 条例 Art.19(三) "3日以上的，须书面报告"]

# --- parameters the law does not fix --------------------------------------------------------------------
POLICE_REPORT_SLA_DAYS = 1     # "及时" (Art.21) → 24 hours [G]
LOST_CONTACT_N = 3             # consecutive missed contacts → 失控 [G]
DEFAULT_GRACE_DAYS = 7         # grace after a due date before a contact counts as missed [G]
# Detection windows (how far back a positive can reflect use) [S2: research §1.7]. Hair ≤3 cm: 6 months
# (涉毒人员毛发样本检测规范 Art.10); urine "up to about a week"; saliva 1–72 h; blood [G].
DETECTION_WINDOWS = {"hair": ("months", 6), "urine": ("days", 7), "saliva": ("days", 3), "blood": ("days", 2)}

TEST_RESULTS = frozenset({"negative", "positive", "refused", "evaded", "invalid"})
REFUSAL_RESULTS = frozenset({"refused", "evaded"})

C20_REFUSALS, C20_DEPARTURES, C20_ABSENCE_DAYS = "C20-1", "C20-2", "C20-3"
C21_POSITIVE, C21_HAIR_REVIEW, C14_NO_REPORT, L01_LOST_CONTACT = "C21-P", "C21-H", "C14-R", "L01"

RULE_LABELS = {
    C20_REFUSALS: "逃避或拒绝接受检测3次以上 (条例第20条)",
    C20_DEPARTURES: "擅自离开执行地所在县(市、区)3次以上 (条例第20条)",
    C20_ABSENCE_DAYS: "擅自离开累计超过30日 (条例第20条)",
    C21_POSITIVE: "社区戒毒期间又吸食、注射毒品 (条例第21条)",
    C21_HAIR_REVIEW: "检测窗口早于措施开始的阳性结果，待公安审核",
    C14_NO_REPORT: "逾期未报到，视为拒绝接受 (条例第14条)",
    L01_LOST_CONTACT: "连续未按计划联系，疑似失控",
}


@dataclass(frozen=True, slots=True)
class TestRecord:
    """One drug test. ``result`` ∈ TEST_RESULTS; ``window_start`` overrides the sample's detection window."""

    id: Any
    collected_on: date
    result: str
    sample: str = "urine"
    window_start: Optional[date] = None


@dataclass(frozen=True, slots=True)
class AbsenceRecord:
    """A stay outside the execution county. ``returned_on=None``: still away."""

    id: Any
    left_on: date
    returned_on: Optional[date] = None
    written_notice: bool = False
    authorised: bool = False


@dataclass(frozen=True, slots=True)
class PlannedContact:
    """A planned contact (check-in, visit) with the day it was actually made, if it was."""

    id: Any
    due_on: date
    done_on: Optional[date] = None
    grace_days: Optional[int] = None


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: str                 # serious_violation | positive_test | needs_police_review | missed_report | lost_contact
    rule_id: str
    on: date                  # the day the threshold was crossed
    evidence: tuple           # ids of the records behind it
    police_report_due: date   # on + SLA
    note: str = ""


def _due(on: date, sla_days: int) -> date:
    return on + timedelta(days=sla_days)


def _limit(term_end: Optional[date], today: date) -> date:
    """First day after the counting window: records dated after today (or after the term) do not count."""
    stop = today + timedelta(days=1)
    return stop if term_end is None else min(stop, term_end)


# --- C20-1 -------------------------------------------------------------------------------------------------

def refusal_trigger(tests: Iterable[Any], *, term_start: date, today: date, term_end: Optional[date] = None,
                    sla_days: int = POLICE_REPORT_SLA_DAYS) -> Optional[Trigger]:
    """C20-1: the 3rd evaded-or-refused test within the term [S: 条例 Art.20]. Two is not enough; the two
    results are counted together ("逃避或者拒绝"). ``on`` = the date of the 3rd; evidence = those 3 tests."""
    stop = _limit(term_end, today)
    hits = sorted((t for t in tests if t.result in REFUSAL_RESULTS and term_start <= t.collected_on < stop),
                  key=lambda t: (t.collected_on, str(t.id)))
    if len(hits) < REFUSAL_THRESHOLD:
        return None
    crossing = hits[REFUSAL_THRESHOLD - 1]
    return Trigger("serious_violation", C20_REFUSALS, crossing.collected_on,
                   tuple(t.id for t in hits[:REFUSAL_THRESHOLD]), _due(crossing.collected_on, sla_days),
                   f"{len(hits)} evaded/refused tests in the term")


# --- C20-2 / C20-3 ------------------------------------------------------------------------------------------

def absence_days(absence: Any, today: date, *, inclusive_days: bool = False) -> int:
    """Days away (whole absence, unclipped): ``returned_on - left_on``, or ``today - left_on`` while still away;
    +1 with ``inclusive_days``."""
    end = absence.returned_on if absence.returned_on is not None else today
    if end < absence.left_on:
        raise ValueError(f"absence {absence.id}: returned on {end} before leaving on {absence.left_on}")
    return (end - absence.left_on).days + (1 if inclusive_days else 0)


def is_unauthorised(absence: Any, today: date, *, inclusive_days: bool = False) -> bool:
    """Unauthorised (擅自离开) = ≥ 3 days away without written notice and not authorised [S: 条例 Art.19(三)];
    trips shorter than 3 days need no notice, so they are never unauthorised."""
    if absence.authorised or absence.written_notice:
        return False
    return absence_days(absence, today, inclusive_days=inclusive_days) >= NOTICE_DAYS


def _unauthorised_spans(absences, stop, today, inclusive_days):
    """(becomes_unauthorised_on, left_on, end_exclusive, id) for unauthorised absences inside the term."""
    shift = 1 if inclusive_days else 0
    out = []
    for a in absences:
        if a.left_on >= stop or not is_unauthorised(a, today, inclusive_days=inclusive_days):
            continue
        end = (a.returned_on if a.returned_on is not None else today) + timedelta(days=shift)
        becomes = a.left_on + timedelta(days=NOTICE_DAYS - shift)     # the day it reaches 3 days away
        out.append((becomes, a.left_on, end, a.id))
    out.sort(key=lambda r: (r[0], r[1], str(r[3])))
    return out


def _days_known_on(spans, t, term_start, stop, shift):
    """Union of unauthorised absent days (inside the term) known by the end of day ``t``."""
    cut = min(t + timedelta(days=shift), stop)
    pieces = []
    for becomes, left, end, _ in spans:
        if becomes > t:
            continue
        lo, hi = max(left, term_start), min(end, cut, stop)
        if lo < hi:
            pieces.append((lo, hi))
    pieces.sort()
    total, cur_lo, cur_hi = 0, None, None
    for lo, hi in pieces:
        if cur_hi is None or lo > cur_hi:
            if cur_hi is not None:
                total += (cur_hi - cur_lo).days
            cur_lo, cur_hi = lo, hi
        elif hi > cur_hi:
            cur_hi = hi
    if cur_hi is not None:
        total += (cur_hi - cur_lo).days
    return total


def absence_triggers(absences: Iterable[Any], *, term_start: date, today: date, term_end: Optional[date] = None,
                     sla_days: int = POLICE_REPORT_SLA_DAYS, inclusive_days: bool = False) -> list[Trigger]:
    """C20-2 (≥ 3 unauthorised departures) and C20-3 (unauthorised days add up to > 30) [S: 条例 Art.19–20].

    C20-2 ``on`` = the day the 3rd unauthorised departure reached 3 days away (it only becomes "擅自" then).
    C20-3 ``on`` = the first day on which the count of unauthorised absent days is 31 or more (30 is not
    enough), found by bisection over the days — the count only grows with time.
    """
    absences = list(absences)
    stop = _limit(term_end, today)
    spans = _unauthorised_spans(absences, stop, today, inclusive_days)
    triggers = []

    departures, seen = [], set()
    for becomes, left, _end, aid in spans:
        if left >= term_start and left not in seen:
            seen.add(left)
            departures.append((becomes, aid))
    if len(departures) >= DEPARTURE_THRESHOLD:
        on = departures[DEPARTURE_THRESHOLD - 1][0]
        triggers.append(Trigger("serious_violation", C20_DEPARTURES, on,
                                tuple(a for _, a in departures[:DEPARTURE_THRESHOLD]), _due(on, sla_days),
                                f"{len(departures)} unauthorised departures in the term"))

    shift = 1 if inclusive_days else 0
    last = today if term_end is None else min(today, term_end)     # judge on today, or when the term ended
    if spans and _days_known_on(spans, last, term_start, stop, shift) > ABSENCE_DAYS_LIMIT:
        lo, hi = min(s[0] for s in spans), last          # the count exceeds 30 at hi, maybe not at lo
        while lo < hi:
            mid = lo + timedelta(days=(hi - lo).days // 2)
            if _days_known_on(spans, mid, term_start, stop, shift) > ABSENCE_DAYS_LIMIT:
                hi = mid
            else:
                lo = mid + timedelta(days=1)
        evidence = tuple(aid for becomes, left, _e, aid in spans if becomes <= lo)
        total = _days_known_on(spans, last, term_start, stop, shift)
        triggers.append(Trigger("serious_violation", C20_ABSENCE_DAYS, lo, evidence, _due(lo, sla_days),
                                f"{total} unauthorised days away in the term"))
    return triggers


def serious_violations(tests: Iterable[Any] = (), absences: Iterable[Any] = (), *, term_start: date, today: date,
                       term_end: Optional[date] = None, sla_days: int = POLICE_REPORT_SLA_DAYS,
                       inclusive_days: bool = False) -> list[Trigger]:
    """All three limbs of 条例 Art.20 ("严重违反社区戒毒协议") — each limb fires at most once per term."""
    out = []
    t = refusal_trigger(tests, term_start=term_start, today=today, term_end=term_end, sla_days=sla_days)
    if t:
        out.append(t)
    out += absence_triggers(absences, term_start=term_start, today=today, term_end=term_end, sla_days=sla_days,
                            inclusive_days=inclusive_days)
    return sorted(out, key=lambda x: (x.on, x.rule_id))


# --- C21 -----------------------------------------------------------------------------------------------------

def window_start(test: Any, windows: dict = DETECTION_WINDOWS) -> date:
    """Earliest day of use a positive result can reflect: the test's own ``window_start`` if recorded, else
    ``collected_on`` minus the sample's window (hair: 6 calendar months) [S2: research §1.7]."""
    ws = getattr(test, "window_start", None)
    if ws is not None:
        return ws
    unit, n = windows.get(getattr(test, "sample", "urine") or "urine", ("days", 0))
    return add_months(test.collected_on, -n) if unit == "months" else test.collected_on - timedelta(days=n)


def positive_triggers(tests: Iterable[Any], *, term_start: date, today: date, term_end: Optional[date] = None,
                      sla_days: int = POLICE_REPORT_SLA_DAYS, windows: dict = DETECTION_WINDOWS) -> list[Trigger]:
    """One trigger per positive test collected during the order [S: 条例 Art.21].

    A positive whose detection window begins before ``term_start`` (e.g. hair collected 2 months into the
    order: its 6-month window reaches back before the order) is NOT treated as use during the order; it is
    returned as ``needs_police_review`` (C21-H) [G, research §1.7]. One hair result is never split into
    several relapse events.
    """
    stop = _limit(term_end, today)
    out = []
    for t in sorted(tests, key=lambda x: (x.collected_on, str(x.id))):
        if t.result != "positive" or not (term_start <= t.collected_on < stop):
            continue
        ws = window_start(t, windows)
        if ws < term_start:
            out.append(Trigger("needs_police_review", C21_HAIR_REVIEW, t.collected_on, (t.id,),
                               _due(t.collected_on, sla_days),
                               f"{getattr(t, 'sample', '')} window from {ws} starts before the order ({term_start})"))
        else:
            out.append(Trigger("positive_test", C21_POSITIVE, t.collected_on, (t.id,),
                               _due(t.collected_on, sla_days)))
    return out


# --- C14 -----------------------------------------------------------------------------------------------------

def missed_report_trigger(served_on: date, reported_on: Optional[date], *, today: date,
                          sla_days: int = POLICE_REPORT_SLA_DAYS, good_reason: bool = False,
                          evidence: Sequence = ()) -> Optional[Trigger]:
    """C14-R: not reported by day 15 → refusal on day 16 [S: 条例 Art.14, 21]. A late report does not undo it
    unless a good reason (正当理由) is accepted (``good_reason``)."""
    if not is_refusal(served_on, reported_on, today, good_reason=good_reason):
        return None
    on = report_due(served_on) + timedelta(days=1)
    return Trigger("missed_report", C14_NO_REPORT, on, tuple(evidence), _due(on, sla_days),
                   "reported late on %s" % reported_on if reported_on else "not reported")


# --- L01 -----------------------------------------------------------------------------------------------------

def lost_contact_triggers(contacts: Iterable[Any], *, today: date, n: int = LOST_CONTACT_N,
                          grace_days: int = DEFAULT_GRACE_DAYS,
                          sla_days: int = POLICE_REPORT_SLA_DAYS) -> list[Trigger]:
    """L01 失控: ``n`` consecutive planned contacts missed [G].

    A contact is overdue from ``due_on + grace + 1``. A run of ``n`` consecutive contacts (in due order)
    fires on the day the n-th becomes overdue, provided none of the n was made before that day (a late
    contact still shows the person was reachable and breaks the run). After a run fires, the next one can
    only start after a contact that was made. ``grace_days`` applies where a contact has none of its own.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    cs = sorted(contacts, key=lambda c: (c.due_on, str(c.id)))

    def overdue_from(c):
        g = c.grace_days if getattr(c, "grace_days", None) is not None else grace_days
        return c.due_on + timedelta(days=g + 1)

    out, i = [], 0
    while i + n <= len(cs):
        window = cs[i:i + n]
        fire = max(overdue_from(c) for c in window)
        if fire <= today and all(c.done_on is None or c.done_on >= fire for c in window):
            out.append(Trigger("lost_contact", L01_LOST_CONTACT, fire, tuple(c.id for c in window),
                               _due(fire, sla_days), f"{n} consecutive planned contacts missed"))
            j = i + n
            while j < len(cs) and cs[j].done_on is None:
                j += 1
            i = j + 1
        else:
            i += 1
    return out


# --- everything for one measure --------------------------------------------------------------------------------

def evaluate(*, kind: Optional[str] = None, start_on: Optional[date], served_on: Optional[date] = None,
             reported_on: Optional[date] = None, tests: Iterable[Any] = (), absences: Iterable[Any] = (),
             contacts: Iterable[Any] = (), today: date, end_on: Optional[date] = None,
             sla_days: int = POLICE_REPORT_SLA_DAYS, good_reason: bool = False, order_id: Any = None,
             lost_contact_n: int = LOST_CONTACT_N, grace_days: int = DEFAULT_GRACE_DAYS,
             inclusive_days: bool = False, windows: dict = DETECTION_WINDOWS) -> list[Trigger]:
    """Every trigger of one measure, sorted by date.

    Art.14/20/21 apply to the community kinds (社区戒毒, and 社区康复 through 禁毒法 Art.48 [S2]); ``kind=None`` is
    treated as community. Lost contact (L01) applies to any kind with planned ``contacts``. ``start_on`` is the
    report date (None while the person has not reported: only C14-R can fire); ``end_on`` the term's end.
    """
    tests, absences = list(tests), list(absences)
    out: list[Trigger] = []
    community = kind is None or kind in COMMUNITY_KINDS
    if community and served_on is not None:
        t = missed_report_trigger(served_on, reported_on, today=today, sla_days=sla_days, good_reason=good_reason,
                                  evidence=() if order_id is None else (order_id,))
        if t:
            out.append(t)
    if community and start_on is not None:
        out += serious_violations(tests, absences, term_start=start_on, today=today, term_end=end_on,
                                  sla_days=sla_days, inclusive_days=inclusive_days)
        out += positive_triggers(tests, term_start=start_on, today=today, term_end=end_on, sla_days=sla_days,
                                 windows=windows)
    contacts = list(contacts)
    if contacts:
        out += lost_contact_triggers(contacts, today=today, n=lost_contact_n, grace_days=grace_days,
                                     sla_days=sla_days)
    return sorted(out, key=lambda x: (x.on, x.rule_id))
