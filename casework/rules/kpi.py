"""Casework indicators K01–K13 (research §5) as pure functions.

Conventions [G, research §5]:
  * every function works on plain records **already filtered to one area** (the caller selects the persons whose
    owner or execution org unit is in the subtree) and one :class:`.dates.Period` ``[start, end)``;
  * "period end" is the period's last day (``period.last``); a status "at period end" is the status in force on
    that day; "at the start of P" is the status on ``period.start``;
  * each ``kNN`` returns ``(numerator, denominator)`` — never a rate; the caller divides, and rolls up the org tree
    by summing numerators and denominators. ``kNN_ids`` returns the two id sets behind them (drill-down); the
    numerator set is always a subset of the denominator set;
  * 在册 (registered) = registered on or before the day and not deceased or emigrated (出境).
Status codes are those of ``casework.choices.PersonStatus``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Iterable, Mapping, Optional

from .clock import COMMUNITY_KINDS, report_due, transfer_report_due
from .dates import Period, add_months

# --- person statuses -------------------------------------------------------------------------------------
DETAINED, IMPRISONED, COMPULSORY = "detained", "imprisoned", "compulsory_isolation"
ABSTINENT_3Y, LOST_CONTACT, DECEASED, EMIGRATED = "abstinent_3y", "lost_contact", "deceased", "emigrated"
NOT_REGISTERED = frozenset({DECEASED, EMIGRATED})                  # out of 在册
IN_CUSTODY = frozenset({DETAINED, IMPRISONED, COMPULSORY})         # 羁押 / 服刑 / 强戒

POLICE_TRIGGER_KINDS = frozenset({"serious_violation", "positive_test", "missed_report"})   # 条例 Art.21 duties
AFTERCARE_WITHIN_DAYS = 15      # K10 N [G: mirrors the 15-day report of 条例 Art.38]
FOLLOW_UP_WINDOW_MONTHS = 12    # K08 window [G]


# --- input records -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Order:
    """A community order (社区戒毒/社区康复). ``lawfully_terminated_on``: ended for a lawful reason (收监, 强制性教育,
    death …) — excluded from K02 when that happened by the report deadline."""

    id: Any
    person_id: Any
    kind: str
    ordered_on: date
    served_on: Optional[date] = None
    reported_on: Optional[date] = None
    agreement_signed_on: Optional[date] = None
    lawfully_terminated_on: Optional[date] = None


@dataclass(frozen=True, slots=True)
class Person:
    """A registered person with a dated status history ``((from_on, status), …)``."""

    id: Any
    registered_on: date
    statuses: tuple = ()
    first_found_on: Optional[date] = None
    use_findings: tuple = ()          # dates of positive tests / cases / findings of use

    def __post_init__(self):
        object.__setattr__(self, "statuses", tuple(sorted(self.statuses, key=lambda h: h[0])))

    def status_on(self, d: date) -> Optional[str]:
        """Status in force on ``d`` (None before registration or before the first status)."""
        if d < self.registered_on:
            return None
        found = None
        for from_on, status in self.statuses:
            if from_on > d:
                break
            found = status
        return found


@dataclass(frozen=True, slots=True)
class Verification:
    person_id: Any
    on: date
    face_to_face: bool = True


@dataclass(frozen=True, slots=True)
class AssessmentRec:
    person_id: Any
    assessed_on: date
    next_review_on: date


@dataclass(frozen=True, slots=True)
class PlannedRec:
    id: Any
    person_id: Any
    kind: str                         # test | random_test | checkin | home_visit
    due_on: date
    done_on: Optional[date] = None    # fulfilled (schedule.fulfilment) on this day, or None


@dataclass(frozen=True, slots=True)
class FollowUp:
    id: Any
    person_id: Any
    start_on: date
    relapse_dates: tuple = ()


@dataclass(frozen=True, slots=True)
class Release:
    """A release from 强制隔离戒毒, with the day the person was taken into aftercare (后续照管), if any."""

    id: Any
    person_id: Any
    released_on: date
    aftercare_on: Optional[date] = None


@dataclass(frozen=True, slots=True)
class TriggerRec:
    id: Any
    kind: str
    on: date
    police_report_due: date
    reported_on: Optional[date] = None


@dataclass(frozen=True, slots=True)
class TransferRec:
    id: Any
    person_id: Any
    initiated_on: date                # the day the execution place changed (条例 Art.22 counts from it)
    accepted_on: Optional[date] = None
    reported_on: Optional[date] = None
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class Need:
    person_id: Any
    identified_on: date
    closed_on: Optional[date] = None


@dataclass(frozen=True, slots=True)
class Assistance:
    person_id: Any
    status: str                       # pending | accepted | rejected | done
    done_on: Optional[date] = None


def _social_under_control(p: Person, d: date) -> bool:
    """在册, under dynamic control and in society on ``d``: not 羁押/服刑/强戒, not 戒断三年."""
    s = p.status_on(d)
    return s is not None and s not in NOT_REGISTERED and s not in IN_CUSTODY and s != ABSTINENT_3Y


def _counts(fn: Callable) -> Callable:
    def counts(*args, **kwargs) -> tuple[int, int]:
        num, den = fn(*args, **kwargs)
        return len(num), len(den)
    counts.__name__ = fn.__name__.removesuffix("_ids")
    counts.__doc__ = f"(numerator, denominator) of :func:`{fn.__name__}`."
    return counts


# --- K01–K13 ----------------------------------------------------------------------------------------------

def k01_ids(orders: Iterable[Order], period: Period) -> tuple[frozenset, frozenset]:
    """K01 报到率: community orders whose 15-day report deadline falls in P; numerator: reported by the deadline
    [S: 条例 Art.14, 38; formula G]. Orders not yet served are not counted."""
    den, num = set(), set()
    for o in orders:
        if o.kind not in COMMUNITY_KINDS or o.served_on is None:
            continue
        due = report_due(o.served_on)
        if period.contains(due):
            den.add(o.id)
            if o.reported_on is not None and o.reported_on <= due:
                num.add(o.id)
    return frozenset(num), frozenset(den)


def k02_ids(orders: Iterable[Order], period: Period, as_of: Optional[date] = None) -> tuple[frozenset, frozenset]:
    """K02 执行率: community orders made (ordered_on) in P, minus those lawfully terminated on or before their report
    deadline; numerator: agreement signed (reached ACTIVE), on or before ``as_of`` if given [S2 term; formula G]."""
    den, num = set(), set()
    for o in orders:
        if o.kind not in COMMUNITY_KINDS or not period.contains(o.ordered_on):
            continue
        deadline = report_due(o.served_on or o.ordered_on)
        if o.lawfully_terminated_on is not None and o.lawfully_terminated_on <= deadline:
            continue
        den.add(o.id)
        if o.agreement_signed_on is not None and (as_of is None or o.agreement_signed_on <= as_of):
            num.add(o.id)
    return frozenset(num), frozenset(den)


def k03_ids(persons: Iterable[Person], period: Period) -> tuple[frozenset, frozenset]:
    """K03 在控率: at period end, in control ÷ (in control + 失控) [S2: Yinchuan 失控率 = 失控 ÷ (在控 + 失控)].
    Denominator: 在册 persons under dynamic control (戒断三年 excluded, custody counts as in control [G])."""
    d = period.last
    den, num = set(), set()
    for p in persons:
        s = p.status_on(d)
        if s is None or s in NOT_REGISTERED or s == ABSTINENT_3Y:
            continue
        den.add(p.id)
        if s != LOST_CONTACT:
            num.add(p.id)
    return frozenset(num), frozenset(den)


def k04_ids(persons: Iterable[Person], verifications: Iterable[Verification], period: Period
            ) -> tuple[frozenset, frozenset]:
    """K04 核查率: 在册 persons needing verification at period end — excluding 羁押/服刑/强戒/戒断三年 (research §5) —
    with ≥ 1 face-to-face verification in P [G]. 失控 persons stay in the denominator."""
    den = {p.id for p in persons if _social_under_control(p, period.last)}
    seen = {v.person_id for v in verifications if v.face_to_face and period.contains(v.on)}
    return frozenset(den & seen), frozenset(den)


def k05_ids(persons: Iterable[Person], assessments: Iterable[AssessmentRec], period: Period
            ) -> tuple[frozenset, frozenset]:
    """K05 评估率: persons needing assessment (same population as K04: 社会面, under control [G, the 2016 rule is
    about 社会面吸毒人员]) whose latest assessment made by period end is still valid on the last day
    (``next_review_on >= period.last``)."""
    last = period.last
    den = {p.id for p in persons if _social_under_control(p, last)}
    latest: dict = {}
    for a in assessments:
        if a.assessed_on <= last and (a.person_id not in latest or a.assessed_on > latest[a.person_id].assessed_on):
            latest[a.person_id] = a
    num = {pid for pid in den if pid in latest and latest[pid].next_review_on >= last}
    return frozenset(num), frozenset(den)


def k06_ids(planned: Iterable[PlannedRec], period: Period, random: bool = False) -> tuple[frozenset, frozenset]:
    """K06 检测完成率: planned tests due in P that were done ÷ planned tests due in P. Random tests are a separate
    figure (``random=True``) [G]. Counts planned-event ids, not persons."""
    kind = "random_test" if random else "test"
    den = {e.id for e in planned if e.kind == kind and period.contains(e.due_on)}
    num = {e.id for e in planned if e.id in den and e.done_on is not None}
    return frozenset(num), frozenset(den)


def k07_ids(persons: Iterable[Person], period: Period, exclude_deceased: bool = False
            ) -> tuple[frozenset, frozenset]:
    """K07 戒断三年未复吸率: persons with status 戒断三年未复吸 at period end ÷ cumulative registered (累计登记) by period
    end [S2: national ratio 79万/213.5万]; ``exclude_deceased`` is the variant without the dead."""
    last = period.last
    den, num = set(), set()
    for p in persons:
        if p.registered_on > last:
            continue
        s = p.status_on(last)
        if exclude_deceased and s == DECEASED:
            continue
        den.add(p.id)
        if s == ABSTINENT_3Y:
            num.add(p.id)
    return frozenset(num), frozenset(den)


def k08_ids(follow_ups: Iterable[FollowUp], period: Period, window_months: int = FOLLOW_UP_WINDOW_MONTHS
            ) -> tuple[frozenset, frozenset]:
    """K08 操守保持率: follow-ups whose window ``[start, start + window_months)`` ends in P (its last day in P);
    numerator: no relapse inside the window [S2: Jiangsu 操守保持率; window G]. Counts follow-up ids."""
    den, num = set(), set()
    for f in follow_ups:
        end = add_months(f.start_on, window_months)
        if not period.contains(end - timedelta(days=1)):
            continue
        den.add(f.id)
        if not any(f.start_on <= d < end for d in f.relapse_dates):
            num.add(f.id)
    return frozenset(num), frozenset(den)


def k09_ids(persons: Iterable[Person], period: Period) -> tuple[frozenset, frozenset]:
    """K09 复吸率: persons at risk at the start of P — found (first_found_on / registered) before P, 在册, not in
    custody (羁押/服刑/强戒) on ``period.start`` — with a use finding in P [G]. 戒断三年 persons stay at risk."""
    den, num = set(), set()
    for p in persons:
        first = p.first_found_on or p.registered_on
        if first >= period.start:
            continue
        s = p.status_on(period.start)
        if s is None or s in NOT_REGISTERED or s in IN_CUSTODY:
            continue
        den.add(p.id)
        if any(period.contains(d) for d in p.use_findings):
            num.add(p.id)
    return frozenset(num), frozenset(den)


def k10_ids(releases: Iterable[Release], period: Period, within_days: int = AFTERCARE_WITHIN_DAYS
            ) -> tuple[frozenset, frozenset]:
    """K10 后续照管率: releases from 强戒 in P; numerator: taken into aftercare no later than ``within_days`` after
    release (a handover before release counts) [S2: Jiangsu 96.1%; N G]. Counts release ids."""
    den, num = set(), set()
    for r in releases:
        if not period.contains(r.released_on):
            continue
        den.add(r.id)
        if r.aftercare_on is not None and r.aftercare_on <= r.released_on + timedelta(days=within_days):
            num.add(r.id)
    return frozenset(num), frozenset(den)


def k11_ids(triggers: Iterable[TriggerRec], period: Period, kinds: frozenset = POLICE_TRIGGER_KINDS
            ) -> tuple[frozenset, frozenset]:
    """K11 严重违反处置率: triggers of ``kinds`` (serious violation, positive test, missed report — the 条例 Art.21
    duties) dated in P; numerator: reported to the police by ``police_report_due`` [S: Art.21, 44; SLA G]."""
    den, num = set(), set()
    for t in triggers:
        if t.kind not in kinds or not period.contains(t.on):
            continue
        den.add(t.id)
        if t.reported_on is not None and t.reported_on <= t.police_report_due:
            num.add(t.id)
    return frozenset(num), frozenset(den)


def k12_ids(transfers: Iterable[TransferRec], period: Period) -> tuple[frozenset, frozenset]:
    """K12 异地执行按期接收率: transfers initiated in P (cancelled ones excluded [G]); numerator: accepted AND the person
    reported at the new place within 15 days of the change [S: 条例 Art.22]."""
    den, num = set(), set()
    for t in transfers:
        if t.cancelled or not period.contains(t.initiated_on):
            continue
        den.add(t.id)
        due = transfer_report_due(t.initiated_on)
        if t.accepted_on is not None and t.reported_on is not None and t.accepted_on <= due and t.reported_on <= due:
            num.add(t.id)
    return frozenset(num), frozenset(den)


def k13_ids(needs: Iterable[Need], assistance: Iterable[Assistance], period: Period) -> tuple[frozenset, frozenset]:
    """K13 关怀救助覆盖率: persons with a need identified by period end and still open at some point in P;
    numerator: ≥ 1 assistance DONE in P [G]."""
    den = {n.person_id for n in needs
           if n.identified_on <= period.last and (n.closed_on is None or n.closed_on >= period.start)}
    done = {a.person_id for a in assistance if a.status == "done" and period.contains(a.done_on)}
    return frozenset(den & done), frozenset(den)


k01, k02, k03, k04, k05, k06, k07 = map(_counts, (k01_ids, k02_ids, k03_ids, k04_ids, k05_ids, k06_ids, k07_ids))
k08, k09, k10, k11, k12, k13 = map(_counts, (k08_ids, k09_ids, k10_ids, k11_ids, k12_ids, k13_ids))

KPIS: Mapping[str, tuple[str, Callable, Callable, str]] = {
    "K01": ("报到率", k01, k01_ids, "order"),
    "K02": ("执行率", k02, k02_ids, "order"),
    "K03": ("在控率", k03, k03_ids, "person"),
    "K04": ("核查率", k04, k04_ids, "person"),
    "K05": ("评估率", k05, k05_ids, "person"),
    "K06": ("检测完成率", k06, k06_ids, "planned_event"),
    "K07": ("戒断三年未复吸率", k07, k07_ids, "person"),
    "K08": ("操守保持率", k08, k08_ids, "follow_up"),
    "K09": ("复吸率", k09, k09_ids, "person"),
    "K10": ("后续照管率", k10, k10_ids, "release"),
    "K11": ("严重违反处置率", k11, k11_ids, "trigger"),
    "K12": ("异地执行按期接收率", k12, k12_ids, "transfer"),
    "K13": ("关怀救助覆盖率", k13, k13_ids, "person"),
}
