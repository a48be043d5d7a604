"""Business actions of the casework pillar. Pages, the API, imports, jobs and the demo all write
through these functions, so every rule and every audit entry applies whichever door was used."""

import contextlib
import contextvars
import datetime as dt
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import log_access
from core.fields import blind_index_for
from core.models import AccessLog
from utilities.identifiers import InvalidIdentifier, parse_id_number

from . import choices as choices_mod
from . import models
from .choices import (
    COMMUNITY_KINDS,
    Guardianship,
    MeasureKind,
    PersonStatus,
    PlannedKind,
    ReferralStatus,
    TransferStatus,
)

BREAK_GLASS_HOURS = getattr(settings, "JINDU_BREAK_GLASS_HOURS", 3)
POLICE_REPORT_SLA_DAYS = 1  # 条例 Art.21 says "promptly"; 24 h is the platform's default (research §1.4, [G])


class DuplicatePerson(ValidationError):
    """The ID number is registered already; ``existing`` is that person (whom the user may not see)."""

    def __init__(self, existing, visible: bool):
        self.existing, self.visible = existing, visible
        super().__init__({"id_number": [_("A person with this ID number is already registered (record %(id)s)%(hint)s.")
                                        % {"id": existing.pk,
                                           "hint": "" if visible else _("; it is outside your area: open it with "
                                                                        "break-glass access")}]},
                         code="duplicate")


def person_index(id_number: str) -> str:
    return blind_index_for("id_number", id_number, normalizer=lambda v: v.strip().upper())


def find_by_id_number(id_number: str):
    return models.Person.objects.filter(id_number_index=person_index(id_number)).first()


@transaction.atomic
def register_person(user, *, name: str, id_number: str, household_area_code: str, residence_area_code: str,
                    phone: str = "", drug_types=(), first_found_on=None, owner_area_code: str = "",
                    status: str = PersonStatus.OTHER_SOCIAL, source: str = "community",
                    grid: str = "") -> models.Person:
    """A person appears once: a second registration of the same ID number is refused with a pointer."""
    existing = find_by_id_number(id_number)
    if existing is not None:
        visible = models.Person.objects.restrict(user, "view").filter(pk=existing.pk).exists()
        raise DuplicatePerson(existing, visible)
    try:
        info = parse_id_number(id_number)
    except InvalidIdentifier as exc:
        raise ValidationError({"id_number": [exc.message]}) from exc
    person = models.Person(name=name.strip(), id_number=info.normalized, gender=info.sex, birth_date=info.birth_date,
                           household_area_code=household_area_code, residence_area_code=residence_area_code,
                           owner_area_code=owner_area_code or residence_area_code, phone=phone,
                           drug_types=list(drug_types), first_found_on=first_found_on, status=status,
                           grid=(grid or "").strip())
    person.full_clean(exclude=["name_index", "id_number_index"])
    person.save(audit_message="registered")
    models.StatusChange(person=person, to_status=status, on=first_found_on or timezone.localdate(), source=source,
                        reason="registration").save()
    return person


def change_status(person, to_status: str, on: dt.date, source: str, document: str = "", reason: str = ""):
    change = models.StatusChange(person=person, from_status=person.status, to_status=to_status, on=on,
                                 source=source, document=document, reason=reason)
    change.save()
    person.status = to_status
    person.in_control = to_status not in (PersonStatus.ABSTINENT_3Y, PersonStatus.DECEASED, PersonStatus.EMIGRATED)
    person.save(audit_message=f"status: {to_status}")
    return change


# --- break-glass ---------------------------------------------------------------------------------------

def break_glass(user, person, reason: str, hours: int | None = None) -> models.BreakGlass:
    """Open a person outside one's scope for a few hours, with a reason; logged and reviewed weekly."""
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationError({"reason": [_("Give the reason for opening this record.")]})
    if not user.has_resource_perm("casework.person", "view") or not user.sees_section("tests"):
        raise PermissionDenied
    hours = hours or BREAK_GLASS_HOURS
    grant = models.BreakGlass.objects.create(user=user, person=person, reason=reason,
                                             expires_at=timezone.now() + dt.timedelta(hours=hours))
    log_access(AccessLog.Event.BREAK_GLASS, person, reason=reason, detail={"hours": hours, "grant": grant.pk})
    return grant


def weekly_break_glass_review(area_prefix: str, days: int = 7):
    since = timezone.now() - dt.timedelta(days=days)
    return models.BreakGlass.objects.filter(granted_at__gte=since, user__area_code__startswith=area_prefix) \
        .select_related("user", "person").order_by("-granted_at")


# --- measures and their clocks -------------------------------------------------------------------------

def _clock():
    from .rules import clock

    return clock


@transaction.atomic
def open_measure(person, kind: str, *, execution_area_code: str, decided_on=None, served_on=None, decision_no="",
                 deciding_org=None, ordered_years: int = 3, facility=None, legal_basis: str = "",
                 medical_grounds: str = "", review_every_months: int | None = None) -> models.Measure:
    """Open a measure with its legal clock. 病残收治 (medical_custody) needs the medical grounds and a review
    interval: reviews are planned every N months (research §1.11)."""
    clock = _clock()
    if kind == MeasureKind.MEDICAL_CUSTODY:
        if not (medical_grounds or "").strip():
            raise ValidationError({"medical_grounds": [_("Record why the person cannot be held or treated in "
                                                         "custody.")]})
        if not review_every_months:
            raise ValidationError({"review_every_months": [_("Set how often the grounds are reviewed.")]})
    if kind in COMMUNITY_KINDS and models.Measure.objects.filter(person=person, kind=kind).exclude(
            state__in=["completed", "refused", "converted", "terminated"]).exists():
        raise ValidationError({"kind": [_("This person already has an open measure of this kind.")]})
    measure = models.Measure(person=person, kind=kind, execution_area_code=execution_area_code,
                             decided_on=decided_on, served_on=served_on, decision_no=decision_no,
                             deciding_org=deciding_org, ordered_years=min(ordered_years, 3), facility=facility,
                             legal_basis=legal_basis, medical_grounds=(medical_grounds or "").strip(),
                             review_every_months=review_every_months)
    if kind in COMMUNITY_KINDS:
        measure.state = "ordered"
        if served_on is None:
            raise ValidationError({"served_on": [_("A community order needs the date it was served.")]})
        measure.report_due_on = clock.report_due(served_on)
    elif kind == MeasureKind.COMPULSORY_ISOLATION:
        if decided_on is None:
            raise ValidationError({"decided_on": [_("Compulsory isolation needs the decision date.")]})
        measure.state = "admitted"
        measure.start_on = decided_on
        measure.planned_end_on = clock.planned_end(kind, decided_on)
    else:
        measure.state = "active"
        measure.start_on = decided_on or served_on or timezone.localdate()
        if kind in (MeasureKind.TEMPORARY_CONTROL, MeasureKind.AFTERCARE):
            measure.planned_end_on = clock.planned_end(kind, measure.start_on, years=ordered_years)
    measure.save(audit_message="measure opened")
    status = {MeasureKind.COMMUNITY_TREATMENT: PersonStatus.COMMUNITY_TREATMENT,
              MeasureKind.COMMUNITY_REHAB: PersonStatus.COMMUNITY_REHAB,
              MeasureKind.COMPULSORY_ISOLATION: PersonStatus.COMPULSORY_ISOLATION,
              MeasureKind.VOLUNTARY: PersonStatus.VOLUNTARY,
              MeasureKind.MAINTENANCE: PersonStatus.MAINTENANCE}.get(kind)
    if status:
        change_status(person, status, measure.start_on or served_on, "police", decision_no, "measure opened")
    if kind == MeasureKind.MEDICAL_CUSTODY:
        _plan_medical_reviews(measure)
    return measure


MEDICAL_REVIEW_HORIZON_MONTHS = 36   # an open-ended 病残收治 is reviewed over the next three years, then re-planned


def _plan_medical_reviews(measure):
    from .rules.dates import add_months

    end = measure.planned_end_on or add_months(measure.start_on, MEDICAL_REVIEW_HORIZON_MONTHS)
    step, n = measure.review_every_months, 1
    while (due := add_months(measure.start_on, step * n)) < end:
        models.PlannedEvent.objects.create(person=measure.person, measure=measure, kind=PlannedKind.ASSESSMENT,
                                           due_on=due, grace_days=14)
        n += 1


@transaction.atomic
def record_report(measure, reported_on: dt.date, agreement_signed_on: dt.date | None = None, late_reason: str = ""):
    """The person reports (报到): the 3-year term starts on the report date (条例 Art.14). Reporting after the
    15 days is a refusal unless there was a good reason (正当理由, e.g. in hospital): with the reason recorded
    the late report is accepted (C14-R does not fire, and a measure already marked refused resumes; a police
    task already raised stays for the office to close)."""
    clock = _clock()
    if measure.kind not in COMMUNITY_KINDS:
        raise ValidationError({"kind": [_("Only community measures have a report date.")]})
    late = measure.report_due_on is not None and reported_on > measure.report_due_on
    late_reason = (late_reason or "").strip()
    if late and late_reason:
        measure.late_report_reason = late_reason
    elif measure.state == "refused":
        raise ValidationError({"late_reason": [_("The report deadline has passed (refusal, 条例 Art.14): record "
                                                 "the good reason if there was one.")]})
    moved = measure.transfers.filter(status=TransferStatus.ACCEPTED, reported_on__isnull=True).first()
    if moved is not None and measure.reported_on:
        # reporting at the new place after a transfer: the term runs on (条例 Art.22), nothing restarts
        moved.reported_on = reported_on
        moved.save(audit_message="reported at the new place")
        if agreement_signed_on:
            measure.agreement_signed_on = agreement_signed_on
            measure.save(audit_message="new agreement signed")
        return measure
    measure.reported_on = reported_on
    measure.start_on = reported_on
    measure.agreement_signed_on = agreement_signed_on
    measure.state = "active" if agreement_signed_on else "reported"
    measure.planned_end_on = clock.planned_end(measure.kind, reported_on, years=_years(measure),
                                               suspensions=_suspensions(measure))
    measure.save(audit_message="reported")
    refresh_schedule(measure)
    return measure


def _suspensions(measure):
    return [(s.from_on, s.to_on) for s in measure.suspensions.all()]


@transaction.atomic
def suspend(measure, from_on: dt.date, reason: str, to_on: dt.date | None = None):
    """中止: detention or arrest pauses the clock (条例 Art.24); the end moves by the days suspended."""
    models.Suspension(measure=measure, from_on=from_on, to_on=to_on, reason=reason).save()
    recompute_end(measure)
    if to_on is None:
        measure.state = "suspended"
        measure.save(audit_message="suspended")
    refresh_schedule(measure)
    return measure


@transaction.atomic
def resume(measure, on: dt.date):
    open_suspension = measure.suspensions.filter(to_on__isnull=True).order_by("-from_on").first()
    if open_suspension is None:
        raise ValidationError({"state": [_("The measure is not suspended.")]})
    open_suspension.to_on = on
    open_suspension.save()
    measure.state = "active"
    recompute_end(measure)
    refresh_schedule(measure)
    return measure


def _years(measure):
    """Only 社区康复 (≤ 3), 临时管控 and 后续照管 take an ordered length; the others have theirs by law."""
    return measure.ordered_years if measure.kind in ("community_rehab", "temporary_control", "aftercare") else None


def _escapes(measure):
    return [(e.escaped_on, e.returned_on) for e in measure.escapes.all()]


def recompute_end(measure):
    if measure.start_on:
        isolation = measure.kind == "compulsory_isolation"
        measure.planned_end_on = _clock().planned_end(measure.kind, measure.start_on, years=_years(measure),
                                                      suspensions=() if isolation else _suspensions(measure),
                                                      extension_days=measure.extension_days,
                                                      early_release_on=measure.early_release_on,
                                                      escape_periods=_escapes(measure) if isolation else ())
        measure.save(audit_message="clock recomputed")
    return measure


# --- 强戒: facilities and escapes ------------------------------------------------------------------------------

def _isolation_only(measure, field):
    if measure.kind != "compulsory_isolation":
        raise ValidationError({field: [_("Only compulsory isolation has facilities and escapes.")]})


@transaction.atomic
def move_facility(measure, *, facility, authority: str, on: dt.date, reason: str = ""):
    """Admission to, or a move between, 强戒 facilities. The move from the police to a 司法 facility comes
    3–6 months after the decision (条例 Art.27): earlier is refused; later needs a reason (e.g. no capacity,
    police custody is allowed up to 12 months)."""
    _isolation_only(measure, "facility")
    if measure.start_on and on < measure.start_on:
        raise ValidationError({"on": [_("Before the decision.")]})
    if authority == "justice" and measure.start_on:
        earliest, latest, limit = _clock().justice_transfer_window(measure.start_on)
        if on < earliest:
            raise ValidationError({"on": [_("The move to a justice facility comes after three months (from "
                                            "%(date)s).") % {"date": earliest}]})
        if on > latest and not reason.strip():
            raise ValidationError({"reason": [_("Later than six months: say why (e.g. no capacity; police custody "
                                                "ends by %(date)s).") % {"date": limit}]})
    stay = models.FacilityStay(measure=measure, facility=facility, authority=authority, from_on=on,
                               reason=reason.strip())
    stay.save(audit_message="facility stay")
    measure.facility = facility
    measure.save(audit_message="facility changed")
    return stay


def aftercare_due(measures, today: dt.date | None = None) -> list[dict]:
    """Persons released from 强戒 in the last K10 window with no aftercare (后续照管) or 社区康复 opened since: the
    office hands them over (K10 counts those taken into aftercare within the window)."""
    from .rules.kpi import AFTERCARE_WITHIN_DAYS

    today = today or timezone.localdate()
    since = today - dt.timedelta(days=AFTERCARE_WITHIN_DAYS)
    out = []
    for m in measures.filter(kind="compulsory_isolation", state="released", ended_on__gte=since,
                             ended_on__lte=today).select_related("person"):
        followed = m.person.measures.filter(kind__in=["aftercare", "community_rehab"], start_on__gte=m.ended_on)
        if not followed.exists():
            out.append({"measure": m, "person": m.person, "released_on": m.ended_on,
                        "by": m.ended_on + dt.timedelta(days=AFTERCARE_WITHIN_DAYS)})
    return out


def justice_moves_due(measures, today: dt.date | None = None) -> list[dict]:
    """Open 强戒 measures still in a police facility whose move to a 司法 facility is due (≥ 3 months) or late
    (> 6 months), for the office's task list."""
    today = today or timezone.localdate()
    out = []
    for m in measures.filter(kind="compulsory_isolation", start_on__isnull=False).exclude(
            state__in=["completed", "refused", "converted", "terminated", "released"]).prefetch_related("stays"):
        if any(s.authority == "justice" for s in m.stays.all()):
            continue
        earliest, latest, limit = _clock().justice_transfer_window(m.start_on)
        if today >= earliest:
            out.append({"measure": m, "person": m.person, "earliest": earliest, "latest": latest, "limit": limit,
                        "late": today > latest})
    return out


@transaction.atomic
def record_escape(measure, *, escaped_on: dt.date):
    """逃跑: the time at large does not count and early release is barred (条例 Art.32); the person is 失控
    until returned. The planned end is unknown while the escape is open."""
    _isolation_only(measure, "escaped_on")
    if measure.escapes.filter(returned_on__isnull=True).exists():
        raise ValidationError({"escaped_on": [_("An escape is already open.")]})
    if measure.start_on and escaped_on < measure.start_on:
        raise ValidationError({"escaped_on": [_("Before the decision.")]})
    escape = models.Escape(measure=measure, escaped_on=escaped_on)
    escape.save(audit_message="escape")
    if measure.early_release_on:
        measure.early_release_on = None     # barred after an escape
    recompute_end(measure)
    change_status(measure.person, PersonStatus.LOST_CONTACT, escaped_on, "justice", reason=_("escaped from 强戒"))
    return escape


@transaction.atomic
def record_return(measure, *, returned_on: dt.date):
    escape = measure.escapes.filter(returned_on__isnull=True).first()
    if escape is None:
        raise ValidationError({"returned_on": [_("No open escape.")]})
    if returned_on < escape.escaped_on:
        raise ValidationError({"returned_on": [_("Before the escape.")]})
    escape.returned_on = returned_on
    escape.save(audit_message="returned")
    recompute_end(measure)
    change_status(measure.person, PersonStatus.COMPULSORY_ISOLATION, returned_on, "justice",
                  reason=_("returned to 强戒"))
    return escape


# --- events and the rules they trigger ---------------------------------------------------------------

# Entering a backlog of past events one by one would evaluate the time-driven rules (L01) "as of today"
# on a half-entered history; a caller entering history defers them and evaluates once at the end.
_rules_deferred = contextvars.ContextVar("casework_rules_deferred", default=False)


@contextlib.contextmanager
def rules_deferred():
    """Record events without evaluating the rules after each one; call ``evaluate_rules`` afterwards."""
    token = _rules_deferred.set(True)
    try:
        yield
    finally:
        _rules_deferred.reset(token)


#: which planned slot a contact of each kind fulfils
CONTACT_SLOT = {"checkin": "checkin", "talk": "checkin", "home_visit": "home_visit"}


def _after_event(measure):
    if measure is not None and not _rules_deferred.get():
        evaluate_rules(measure)


@transaction.atomic
def record_test(person, *, measure=None, sample: str, collected_on: dt.date, result: str, performed_by=None,
                legal_effect=False, random=False, substances=(), hair_segment_cm=None, method="onsite",
                lab_reference=""):
    window_start = _hair_window_start(collected_on) if sample == "hair" else None
    test = models.DrugTest(person=person, measure=measure or current_measure(person), sample=sample,
                           collected_on=collected_on, result=result, performed_by=performed_by,
                           legal_effect=legal_effect, random=random, substances=list(substances),
                           hair_segment_cm=hair_segment_cm, window_start=window_start, method=method,
                           lab_reference=lab_reference)
    test.save()
    if result == "positive":
        person.last_confirmed_use_on = max(filter(None, [person.last_confirmed_use_on, collected_on]))
        person.save(audit_message="positive test")
    mark_done(test.measure, "random_test" if random else "test", collected_on)
    _after_event(test.measure)
    return test


@transaction.atomic
def record_contact(person, *, kind: str, occurred_on: dt.date, outcome="met", performed_by=None, location="",
                   notes="", measure=None):
    contact = models.ContactEvent(person=person, measure=measure or current_measure(person), kind=kind,
                                  occurred_on=occurred_on, outcome=outcome, performed_by=performed_by,
                                  location=location, notes=notes)
    contact.save()
    if outcome == "met" and contact.measure and person.status == PersonStatus.LOST_CONTACT \
            and contact.measure.kind in COMMUNITY_KINDS:
        lost_on = person.status_changes.filter(to_status=PersonStatus.LOST_CONTACT).order_by("-on") \
            .values_list("on", flat=True).first()
        change_status(person, contact.measure.kind, max(filter(None, [occurred_on, lost_on])), "community",
                      reason="contact re-established")
    if outcome == "met" and contact.measure:
        mark_done(contact.measure, CONTACT_SLOT.get(kind, "checkin"), occurred_on)
    _after_event(contact.measure)
    return contact


@transaction.atomic
def record_absence(measure, *, left_on, returned_on=None, written_notice=False, authorised=False, destination=""):
    absence = models.Absence(measure=measure, left_on=left_on, returned_on=returned_on, written_notice=written_notice,
                             authorised=authorised, destination=destination)
    absence.save()
    _after_event(measure)
    return absence


def _hair_window_start(collected_on):
    from .rules.violations import window_start

    return window_start(SimpleNamespace(collected_on=collected_on, sample="hair", window_start=None))


def current_measure(person):
    return person.measures.exclude(state__in=["completed", "refused", "converted", "terminated", "released"]) \
        .order_by("-start_on", "-created").first()


def lost_contact_misses(measure, today: dt.date) -> int:
    """L01's N for a measure today: the schedule-policy row of its kind, the person's risk level and the month of
    the term it is in (the office edits it on the schedule-policy page); the rule's default without a row."""
    from .rules import violations

    if measure.start_on is None:
        return violations.LOST_CONTACT_N
    month = (today.year - measure.start_on.year) * 12 + today.month - measure.start_on.month + 1
    row = (models.SchedulePolicy.objects.filter(measure_kind=measure.kind,
                                                risk_level=measure.person.risk_level or "medium",
                                                phase_from_month__lte=month, phase_to_month__gte=month)
           .order_by("phase_from_month").first())
    return row.lost_contact_misses if row else violations.LOST_CONTACT_N


def evaluate_rules(measure, today: dt.date | None = None) -> list:
    """Run 条例 Art.14/20/21 over a measure's events; create the police-report tasks (idempotent)."""
    from .rules import violations

    today = today or timezone.localdate()
    tests = [violations.TestRecord(id=t.pk, collected_on=t.collected_on, result=t.result, sample=t.sample,
                                   window_start=t.window_start) for t in measure.tests.all()]
    absences = [violations.AbsenceRecord(id=a.pk, left_on=a.left_on, returned_on=a.returned_on,
                                         written_notice=a.written_notice, authorised=a.authorised)
                for a in measure.absences.all()]
    contacts = [violations.PlannedContact(id=p.pk, due_on=p.due_on, done_on=p.done_on, grace_days=p.grace_days)
                for p in measure.planned_events.filter(kind__in=["checkin", "home_visit"], due_on__lte=today)]
    triggers = violations.evaluate(kind=measure.kind, start_on=measure.start_on, served_on=measure.served_on,
                                   reported_on=measure.reported_on, tests=tests, absences=absences,
                                   contacts=contacts, today=today, lost_contact_n=lost_contact_misses(measure, today),
                                   good_reason=bool(measure.late_report_reason),
                                   end_on=measure.planned_end_on, sla_days=POLICE_REPORT_SLA_DAYS,
                                   order_id=measure.pk)
    created = []
    open_rules = set(measure.police_tasks.filter(reported_on__isnull=True).values_list("rule_id", flat=True))
    for trigger in triggers:
        if trigger.rule_id == "L01" and "L01" in open_rules:
            continue  # one open lost-contact task at a time per measure
        task, new = models.PoliceReportTask.objects.get_or_create(
            measure=measure, rule_id=trigger.rule_id, triggered_on=trigger.on,
            defaults={"person": measure.person, "trigger": trigger.kind, "due_on": trigger.police_report_due,
                      "evidence": {"ids": list(trigger.evidence)}})
        if new:
            from core.audit import log_change

            log_change(task, "create", message="raised by the casework rules")
            created.append(task)
            if trigger.rule_id == "C14-R" and measure.state == "ordered":
                measure.state = "refused"
                measure.save(audit_message="no report within 15 days")
            if trigger.rule_id == "L01" and measure.person.status == measure.kind:
                # 失控: the person counts as lost (K03) until the next contact is made
                change_status(measure.person, PersonStatus.LOST_CONTACT, trigger.on, "community",
                              reason="L01 " + violations.RULE_LABELS.get("L01", ""))
    return created


@transaction.atomic
def report_to_police(task, user, on: dt.date | None = None):
    task.reported_on = on or timezone.localdate()
    task.reported_by = user
    task.save(audit_message="reported to the police")
    return task


# --- schedules ------------------------------------------------------------------------------------------

def mark_done(measure, kind: str, on: dt.date):
    """The event fulfils the open planned slot of its kind with the earliest deadline it still meets
    (due + grace ≥ the date; at most a month early), as ``rules.schedule.fulfilment`` matches. A slot
    whose deadline has passed stays missed: a late contact does not fill it (that would push every
    later slot out of its window and make L01 fire on a kept schedule)."""
    if measure is None:
        return
    candidates = measure.planned_events.filter(
        kind=kind, status__in=["scheduled", "overdue"], due_on__lte=on + dt.timedelta(days=31),
        due_on__gte=on - dt.timedelta(days=366)).order_by("due_on")  # bound only; grace decides below
    planned = next((p for p in candidates if on <= p.due_on + dt.timedelta(days=p.grace_days)), None)
    if planned:
        models.PlannedEvent.objects.filter(pk=planned.pk).update(status="done", done_on=on)


def refresh_schedule(measure, today: dt.date | None = None) -> int:
    """(Re)generate the planned events of a measure from the schedule policy and the risk level."""
    from .rules import schedule

    today = today or timezone.localdate()
    if not measure.start_on or not measure.planned_end_on:
        return 0
    risk = measure.person.risk_level or "medium"
    policies = policies_for(measure.kind)
    planned = schedule.plan(measure.kind, measure.start_on, measure.planned_end_on, risk, policies,
                            suspensions=_suspensions(measure))
    # risk reviews are planned by the assessments themselves (risk_service), not by the schedule policy
    existing = {(p.kind, p.due_on): p for p in measure.planned_events.exclude(kind=PlannedKind.ASSESSMENT)}
    first_plan = not existing  # the first plan includes past slots; a re-plan never creates overdue work
    fresh = []
    for event in planned:
        if (event.kind, event.due_on) not in existing and (first_plan or event.due_on >= today):
            fresh.append(models.PlannedEvent(person=measure.person, measure=measure, kind=event.kind,
                                             due_on=event.due_on, grace_days=getattr(event, "grace_days", 7)))
    models.PlannedEvent.objects.bulk_create(fresh, batch_size=2000)
    # future events the plan no longer wants (the end moved, the risk changed) are dropped
    wanted = {(e.kind, e.due_on) for e in planned}
    stale = [p.pk for key, p in existing.items() if key not in wanted and p.status in ("scheduled", "overdue")
             and (p.due_on >= today or _suspended_on(measure, p.due_on))]
    models.PlannedEvent.objects.filter(pk__in=stale).delete()
    return len(fresh)


def _suspended_on(measure, day) -> bool:
    return any(s.from_on <= day and (s.to_on is None or day < s.to_on) for s in measure.suspensions.all())


def policies_for(kind: str):
    from .rules import schedule

    rows = list(models.SchedulePolicy.objects.filter(measure_kind=kind))
    if not rows:
        return schedule.default_policies(kind)
    return [schedule.Policy(measure_kind=r.measure_kind, risk_level=r.risk_level, phase_from_month=r.phase_from_month,
                            phase_to_month=r.phase_to_month, checkins=r.checkins, tests=r.tests,
                            random_tests=r.random_tests, home_visits=r.home_visits, period_months=r.period_months,
                            grace_days=r.grace_days, source=r.source) for r in rows]


def seed_schedule_policies(**kwargs) -> None:
    """After migrate: the research's example policies, unless the city has its own rows."""
    from core.context import acting_as

    from .rules import schedule

    if models.SchedulePolicy.objects.exists():
        return
    with acting_as(username="system:seed_schedule", channel="system"):
        for p in schedule.SEED_POLICIES:
            models.SchedulePolicy(measure_kind=p.measure_kind, risk_level=p.risk_level,
                                  phase_from_month=p.phase_from_month, phase_to_month=p.phase_to_month,
                                  period_months=p.period_months, checkins=p.checkins, tests=p.tests,
                                  random_tests=p.random_tests, home_visits=p.home_visits, grace_days=p.grace_days,
                                  source=p.source[:300]).save(audit_message="seed policy")


def mark_overdue(today: dt.date | None = None) -> int:
    """Planned events past their due date plus grace become overdue: one UPDATE per distinct grace."""
    today = today or timezone.localdate()
    rows = models.PlannedEvent.objects.filter(status="scheduled", due_on__lt=today)
    count = 0
    for grace in set(rows.values_list("grace_days", flat=True)):
        count += rows.filter(grace_days=grace, due_on__lt=today - dt.timedelta(days=grace)).update(status="overdue")
    return count


# --- corrections ---------------------------------------------------------------------------------------------

#: what a worker may correct on a recorded event (the person and the measure stay)
CORRECTABLE_FIELDS = {
    "drugtest": ("sample", "collected_on", "result", "random", "legal_effect", "lab_reference"),
    "contactevent": ("kind", "occurred_on", "outcome", "location", "notes"),
    "absence": ("left_on", "returned_on", "written_notice", "authorised", "destination"),
}


@transaction.atomic
def correct_event(user, event, *, reason: str, **changes):
    """Correct a recorded test, contact or absence (a typing error, a wrong date). The reason is required and
    kept with the before/after values in the audit log; the measure's planned slots are re-matched from all its
    events and the rules run again. Police-report tasks already raised stay for the office to close (they were
    raised on what was known then)."""
    from core.permissions import ensure_in_scope

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the record is corrected.")]})
    allowed = CORRECTABLE_FIELDS[event._meta.model_name]
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError({unknown[0]: [_("This field cannot be corrected here.")]})
    for name, value in changes.items():
        setattr(event, name, value)
    if isinstance(event, models.DrugTest):
        event.window_start = _hair_window_start(event.collected_on) if event.sample == "hair" else None
    if isinstance(event, models.Absence) and event.returned_on and event.returned_on < event.left_on:
        raise ValidationError({"returned_on": [_("Return before departure.")]})
    event.save(audit_message=f"corrected: {reason}"[:300])
    ensure_in_scope(event, user, "change")
    measure = event.measure
    if measure is not None:
        rematch_planned(measure)
        evaluate_rules(measure)
    return event


def rematch_planned(measure, today: dt.date | None = None) -> None:
    """Re-derive which planned slots are done from every recorded contact and test of the measure, in date order,
    with the same matching as when they were recorded (``mark_done``)."""
    today = today or timezone.localdate()
    slots = measure.planned_events.exclude(kind=PlannedKind.ASSESSMENT).filter(status__in=["done", "overdue",
                                                                                           "scheduled"])
    slots.update(status="scheduled", done_on=None)
    happened = [(t.collected_on, "random_test" if t.random else "test") for t in measure.tests.all()]
    happened += [(c.occurred_on, CONTACT_SLOT.get(c.kind, "checkin")) for c in measure.contacts.all()
                 if c.outcome == "met"]
    for on, kind in sorted(happened):
        mark_done(measure, kind, on)
    for slot in measure.planned_events.filter(status="scheduled", due_on__lt=today):
        if slot.due_on + dt.timedelta(days=slot.grace_days) < today:
            models.PlannedEvent.objects.filter(pk=slot.pk).update(status="overdue")


# --- transfers -------------------------------------------------------------------------------------------

@transaction.atomic
def request_transfer(user, person, to_area_code: str, reason: str, on: dt.date | None = None):
    if person.transfers.filter(status=TransferStatus.PENDING).exists():
        raise ValidationError({"to_area_code": [_("A transfer of this person is already waiting for acceptance.")]})
    transfer = models.Transfer(person=person, measure=current_measure(person), from_area_code=person.owner_area_code,
                               to_area_code=to_area_code, reason=reason, requested_on=on or timezone.localdate(),
                               requested_by=user)
    transfer.full_clean()
    transfer.save()
    log_access(AccessLog.Event.TRANSFER, person, reason=reason, detail={"to": to_area_code, "transfer": transfer.pk})
    return transfer


@transaction.atomic
def decide_transfer(user, transfer, accept: bool, on: dt.date | None = None):
    """The receiving area accepts (ownership and access move; 15 days to report; the clock runs on)."""
    on = on or timezone.localdate()
    scope = user.scope_for("change")
    if not scope.is_global and not transfer.to_area_code.startswith(scope.area_prefix or "-"):
        raise PermissionDenied
    if transfer.status != TransferStatus.PENDING:
        raise ValidationError({"status": [_("This transfer has already been decided.")]})
    transfer.status = TransferStatus.ACCEPTED if accept else TransferStatus.REJECTED
    transfer.decided_on, transfer.decided_by = on, user
    if accept:
        transfer.report_due_on = _clock().report_due(on)
        person = transfer.person
        person.owner_area_code = transfer.to_area_code
        person.residence_area_code = transfer.to_area_code
        person.save(audit_message="transfer accepted")
        if transfer.measure:
            transfer.measure.execution_area_code = transfer.to_area_code
            transfer.measure.save(audit_message="execution moved (term continues)")
    transfer.save()
    log_access(AccessLog.Event.APPROVE, transfer.person, detail={"transfer": transfer.pk, "accepted": accept})
    return transfer


# --- referrals ---------------------------------------------------------------------------------------------

@transaction.atomic
def refer(person, *, kind: str, need: str, provider_org, consent: bool, on: dt.date | None = None):
    if not consent:
        raise ValidationError({"consent": [_("A referral to another body needs the person's consent.")]})
    referral = models.Referral(person=person, kind=kind, need=need, provider_org=provider_org, consent=consent,
                               referred_on=on or timezone.localdate())
    referral.save()
    return referral


@transaction.atomic
def decide_referral(user, referral, accept: bool, on: dt.date | None = None):
    if user.org_id != referral.provider_org_id and not user.scope_for("change").is_global:
        raise PermissionDenied
    if referral.status != ReferralStatus.PENDING:
        raise ValidationError({"status": [_("This referral has already been decided.")]})
    referral.status = ReferralStatus.ACCEPTED if accept else ReferralStatus.REJECTED
    referral.decided_on = on or timezone.localdate()
    referral.save()
    log_access(AccessLog.Event.APPROVE, referral, detail={"accepted": accept})
    return referral


@transaction.atomic
def complete_referral(user, referral, outcome: str, on: dt.date | None = None):
    """The member unit records what help was given (K13 counts completed referrals)."""
    if user.org_id != referral.provider_org_id and not user.scope_for("change").is_global:
        raise PermissionDenied
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationError({"outcome": [_("Say what help was given.")]})
    if referral.status != ReferralStatus.ACCEPTED:
        raise ValidationError({"status": [_("Only an accepted referral can be completed.")]})
    referral.status, referral.outcome = ReferralStatus.DONE, outcome
    referral.done_on = on or timezone.localdate()
    referral.save()
    return referral


@transaction.atomic
def record_child(person, *, name: str, birth_date: dt.date, guardianship: str, needs: str = ""):
    """A minor child of a registered person (PIPL: a child's data is sensitive); a child without a
    carer (事实无人抚养) is referred to civil affairs by the worker."""
    today = timezone.localdate()
    if birth_date > today or (today - birth_date).days > 18 * 366:
        raise ValidationError({"birth_date": [_("Only minor children are recorded here.")]})
    child = models.Child(person=person, name=(name or "").strip(), birth_date=birth_date,
                         guardianship=guardianship, needs=needs)
    child.full_clean(exclude=["person", "school"])
    child.save()
    child.auto_referral = None
    if guardianship == Guardianship.NONE:
        child.auto_referral = refer_child_without_carer(child, today)
    return child


def civil_affairs_for(area_code: str):
    """The most local civil-affairs (民政) member unit whose area contains ``area_code``."""
    from orgs.models import Organization

    candidates = Organization.objects.filter(sector="civil_affairs", is_active=True)
    best = None
    for org in candidates:
        code = org.area_code.rstrip("0") or org.area_code
        if area_code.startswith(code) and (best is None or len(org.area_code.rstrip("0")) >
                                           len(best.area_code.rstrip("0"))):
            best = org
    return best


def refer_child_without_carer(child, on: dt.date):
    """A child without a carer (事实无人抚养) is referred to civil affairs at once. This is mandatory reporting
    (《未成年人保护法》 Art. 11), so it does not wait for the parent's consent; the referral says so. Returns the
    referral, or None when no civil-affairs unit covers the area (the worker must refer by hand; the page says so)."""
    person = child.person
    org = civil_affairs_for(person.residence_area_code or person.household_area_code or "")
    if org is None:
        return None
    if person.referrals.filter(kind="child_care", provider_org=org, status__in=["pending", "accepted"]).exists():
        return None
    referral = models.Referral(person=person, kind="child_care", provider_org=org, consent=False, referred_on=on,
                               need=_("Child without a carer (事实无人抚养), born %(year)s: mandatory report to civil "
                                      "affairs (未成年人保护法 Art. 11)") % {"year": child.birth_date.year})
    referral.save(audit_message="automatic referral of a child without a carer")
    return referral


def abstinence_candidates(persons_qs, today: dt.date | None = None):
    """Persons the rules find eligible for 戒断三年未复吸 (条例 Art.7): three years since the last use,
    release or positive finding. Only a police confirmation changes their status."""
    from .rules import clock

    today = today or timezone.localdate()
    out = []
    for person in persons_qs.exclude(status__in=["abstinent_3y", "deceased", "emigrated", "detained", "imprisoned",
                                                 "compulsory_isolation"]).prefetch_related("measures", "tests"):
        if any(m.is_open for m in person.measures.all()):
            continue
        releases = [m.ended_on for m in person.measures.all() if m.ended_on]
        positives = [t.collected_on for t in person.tests.all() if t.result == "positive"]
        last_use = person.last_confirmed_use_on or person.first_found_on
        if last_use is None:
            continue
        result = clock.abstinence(last_use, releases, positives, today=today)
        if result[1]:
            out.append((person, result[0]))
    return out


def regenerate_schedules(today: dt.date | None = None, measures=None) -> dict:
    """Regenerate every planned event from the policy and refresh the overdue flags, writing only what
    changed: the plan is computed for all measures at once (numpy) and compared with the stored rows
    by a packed key (measure, kind, due date). Measures with suspensions or a non-default risk go
    through the per-measure path."""
    import numpy as np
    from django.db import connection

    from .rules import schedule

    today = today or timezone.localdate()
    measures = measures if measures is not None else models.Measure.objects.exclude(
        state__in=["completed", "refused", "converted", "terminated", "released"]).filter(
        start_on__isnull=False, planned_end_on__isnull=False)
    rows = list(measures.values_list("pk", "person_id", "kind", "start_on", "planned_end_on", "person__risk_level"))
    suspended = set(models.Suspension.objects.filter(measure_id__in=[r[0] for r in rows]).values_list(
        "measure_id", flat=True))
    inserted = deleted = 0
    special = []
    kinds = {k: i for i, k in enumerate(schedule.EVENT_KINDS)}

    def key(measure_ids, kind_idx, due_ord):
        return (np.asarray(measure_ids, dtype=np.int64) << 24) | (np.asarray(kind_idx, dtype=np.int64) << 21) | \
            (np.asarray(due_ord, dtype=np.int64) - 700_000)

    by_group = {}
    for row in rows:
        if row[0] in suspended:
            special.append(row)
        else:
            by_group.setdefault((row[2], row[5] or "medium"), []).append(row)
    with transaction.atomic():
        for (kind, risk), group in by_group.items():
            plan = schedule.plan_many(kind, [r[3] for r in group], [r[4] for r in group], risk, policies_for(kind))
            if not len(plan["due"]):
                continue
            measure_ids = np.array([r[0] for r in group], dtype=np.int64)[plan["person"]]
            person_ids = np.array([r[1] for r in group], dtype=np.int64)[plan["person"]]
            wanted = key(measure_ids, plan["kind"], plan["due"])
            stored = list(models.PlannedEvent.objects.filter(measure_id__in=[r[0] for r in group]).exclude(
                kind=PlannedKind.ASSESSMENT).values_list("pk", "measure_id", "kind", "due_on", "status"))
            stored_keys = key([s[1] for s in stored], [kinds.get(s[2], 0) for s in stored],
                              [s[3].toordinal() for s in stored]) if stored else np.array([], dtype=np.int64)
            missing = ~np.isin(wanted, stored_keys)
            extra = ~np.isin(stored_keys, wanted) if stored else np.array([], dtype=bool)
            stale = [stored[i][0] for i in np.flatnonzero(extra) if stored[i][4] == "scheduled"
                     and stored[i][3] > today]
            for start in range(0, len(stale), 5000):
                models.PlannedEvent.objects.filter(pk__in=stale[start:start + 5000]).delete()
            deleted += len(stale)
            idx = np.flatnonzero(missing)
            if len(idx):
                names = np.array(schedule.EVENT_KINDS)[plan["kind"][idx]]
                values = [(int(person_ids[i]), int(measure_ids[i]), str(names[j]),
                           dt.date.fromordinal(int(plan["due"][i])).isoformat(), int(plan["grace"][i]), "scheduled")
                          for j, i in enumerate(idx)]
                with connection.cursor() as cursor:
                    cursor.executemany("INSERT INTO casework_plannedevent (person_id, measure_id, kind, due_on, "
                                       "grace_days, status) VALUES (%s, %s, %s, %s, %s, %s)", values)
                inserted += len(values)
        for row in special:
            measure = models.Measure.objects.get(pk=row[0])
            inserted += refresh_schedule(measure, today)
    overdue = mark_overdue(today)
    return {"measures": len(rows), "inserted": inserted, "deleted": deleted, "overdue": overdue}


# --- 强戒 decisions and the end of a measure --------------------------------------------------------------

@transaction.atomic
def decide_isolation(measure, *, extension_days: int = 0, early_release_on: dt.date | None = None):
    """强制隔离戒毒: an extension (≤ 1 year) or an early release (not before one year), as decided by the
    authority on the facility's proposal (条例 Art.33; 禁毒法 Art.47). The clock library refuses the
    impossible; the error names the field."""
    if measure.kind != "compulsory_isolation":
        raise ValidationError({"kind": [_("Only compulsory isolation is extended or released early.")]})
    try:
        end = _clock().planned_end(measure.kind, measure.start_on, extension_days=extension_days,
                                   early_release_on=early_release_on, escape_periods=_escapes(measure))
    except ValueError as exc:
        field = "early_release_on" if early_release_on else "extension_days"
        raise ValidationError({field: [str(exc)]}) from exc
    measure.extension_days, measure.early_release_on, measure.planned_end_on = extension_days, early_release_on, end
    measure.save(audit_message="isolation decision")
    return measure


END_STATES = {"completed": ("completed", "other_social"), "released": ("released", "other_social"),
              "terminated": ("terminated", "imprisoned"), "converted": ("converted", "compulsory_isolation")}


@transaction.atomic
def end_measure(measure, *, outcome: str, on: dt.date, reason: str = "", source: str = "police"):
    """The end of a measure: 期满解除 (completed / released), 终止 (terminated: prison or a compulsory
    education measure, 条例 Art.24) or conversion to 强戒 after a violation (converted). The person's
    status follows; releases from 强戒 open the way to 社区康复 and aftercare."""
    if outcome not in END_STATES:
        raise ValidationError({"outcome": [_("Unknown outcome.")]})
    if not measure.is_open:
        raise ValidationError({"outcome": [_("This measure has already ended.")]})
    if measure.start_on and on < measure.start_on:
        raise ValidationError({"on": [_("A measure cannot end before it starts.")]})
    state, status = END_STATES[outcome]
    measure.state, measure.ended_on = state, on
    measure.save(audit_message=f"ended: {outcome}")
    models.PlannedEvent.objects.filter(measure=measure, status__in=["scheduled", "overdue"], due_on__gte=on) \
        .update(status="skipped")
    change_status(measure.person, status, on, source, reason=reason or outcome)
    return measure


# --- documents, care plans, the work team ----------------------------------------------------------------------

DOCUMENT_TYPES = {b"%PDF": ".pdf", b"\x89PNG": ".png", b"\xff\xd8\xff": ".jpg"}
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


@transaction.atomic
def attach_document(person, *, kind: str, title: str, signed_on: dt.date, file, measure=None, note: str = ""):
    """Keep a signed document with the file (PDF, PNG or JPEG, ≤ 10 MB), with its SM3 hash. A signed agreement
    also records the measure's agreement date when it has none."""
    from django.core.files.base import ContentFile

    from utilities.crypto import sm3_hex

    content = file.read()
    if not content:
        raise ValidationError({"file": [_("The file is empty.")]})
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ValidationError({"file": [_("The file is larger than 10 MB.")]})
    suffix = next((ext for magic, ext in DOCUMENT_TYPES.items() if content.startswith(magic)), None)
    if suffix is None:
        raise ValidationError({"file": [_("Only PDF, PNG or JPEG scans are kept.")]})
    if measure is not None and measure.person_id != person.pk:
        raise ValidationError({"measure": [_("This measure belongs to someone else.")]})
    digest = sm3_hex(content)
    doc = models.CaseDocument(person=person, measure=measure, kind=kind, title=title.strip(), signed_on=signed_on,
                              sm3=digest, size=len(content), note=note)
    doc.file.save(f"{digest[:16]}{suffix}", ContentFile(content), save=False)
    doc.full_clean(exclude=["person", "measure", "file"])
    doc.save(audit_message="document attached")
    if kind == "agreement" and measure is not None and measure.agreement_signed_on is None:
        measure.agreement_signed_on = signed_on
        measure.save(audit_message="agreement signed (document attached)")
    return doc


@transaction.atomic
def draw_care_plan(person, *, needs, goals: str, actions: str = "", review_on: dt.date,
                   drawn_on: dt.date | None = None):
    """帮扶计划: needs (assistance kinds), goals and actions; an earlier active plan is closed by the new one."""
    drawn_on = drawn_on or timezone.localdate()
    unknown = sorted(set(needs) - set(choices_mod.AssistanceKind.values))
    if unknown:
        raise ValidationError({"needs": [_("Unknown need: %(codes)s") % {"codes": ", ".join(unknown)}]})
    if not (goals or "").strip():
        raise ValidationError({"goals": [_("Write the goals of the plan.")]})
    if review_on <= drawn_on:
        raise ValidationError({"review_on": [_("The review comes after the plan is drawn up.")]})
    for old in person.care_plans.filter(status="active"):
        old.status = "closed"
        old.save(audit_message="replaced by a new plan")
    plan = models.CarePlan(person=person, drawn_on=drawn_on, needs=list(needs), goals=goals.strip(),
                           actions=(actions or "").strip(), review_on=review_on)
    plan.save(audit_message="care plan drawn up")
    return plan


@transaction.atomic
def add_team_member(measure, *, role: str, user=None, name: str = "", phone: str = ""):
    """工作小组: a member of the measure's work team (a platform user, or a family member / volunteer by name)."""
    if user is None and not (name or "").strip():
        raise ValidationError({"name": [_("Name the member or choose a user.")]})
    if measure.team.filter(role=role, user=user, name=(name or "").strip()).exists():
        raise ValidationError({"name": [_("Already in the work team.")]})
    member = models.WorkTeamMember(measure=measure, role=role, user=user, name=(name or "").strip(), phone=phone)
    member.full_clean(exclude=["measure", "user"])
    member.save(audit_message="work-team member added")
    return member
