"""Risk assessment (分级分类) on the versioned instrument of casework.rules.risk; the tier drives the
schedule intensity. A manual level needs a reason, and takes effect once someone who may approve
(the district office) has approved it."""

import datetime as dt
from types import SimpleNamespace

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import models
from .rules import risk

INCIDENT_OVERRIDES = {"self_harm": "HO-SELF-HARM"}
# hard overrides the worker establishes from what they see (the others come from incidents and rules)
WORKER_FLAGS = ("HO-SELF-HARM", "HO-MENTAL", "HO-ILLNESS")
WORKER_FLAG_CHOICES = [(code, f"{code} {risk.HARD_OVERRIDES[code]}") for code in WORKER_FLAGS]
TRIGGER_KINDS = {"C20-1": "serious_violation", "C20-2": "serious_violation", "C20-3": "serious_violation",
                 "C14-R": "missed_report"}


def instrument_in_use() -> dict:
    """The instrument assessments are scored with now: the office's version marked in use, else the example."""
    row = models.RiskInstrument.objects.filter(in_use=True).order_by("-updated").first()
    if row is None:
        return risk.EXAMPLE_INSTRUMENT
    return {**row.definition, "code": row.code, "version": row.version}


@transaction.atomic
def put_instrument_in_use(row) -> None:
    """One version in use at a time; the others stay for the assessments scored with them."""
    for other in models.RiskInstrument.objects.filter(in_use=True).exclude(pk=row.pk):
        other.in_use = False
        other.save(audit_message="replaced by another version")
    if not row.in_use:
        row.in_use = True
        row.save(audit_message="put in use")


def level_label(level: str) -> str:
    """How a level is shown (issue 4 §6: display labels from configuration): the labels of the instrument in use
    (``"labels": {"high": "红", …}`` in its definition), else the scheme named by JINDU_RISK_LABELS (zh, colour,
    abc, en), else the level's own name."""
    from django.conf import settings

    from .choices import RiskLevel

    if not level:
        return ""
    labels = instrument_in_use().get("labels") or risk.LABEL_SCHEMES.get(getattr(settings, "JINDU_RISK_LABELS", ""))
    if labels and level in labels:
        return labels[level]
    return str(RiskLevel(level).label) if level in RiskLevel.values else level


def factor_choices(instrument=None):
    """(code, label, options) for the assessment form."""
    instrument = instrument or instrument_in_use()
    rows = []
    for factor in instrument["factors"]:
        if factor["type"] == "choice":
            options = [("", "—"), *[(k, k) for k in factor["points"]]]
        elif factor["type"] == "flag":
            options = [("", "—"), ("1", "是"), ("0", "否")]
        else:
            options = [("", "—"), *[(str(lower), f"≥ {lower}") for lower, _points in factor["bands"]]]
        rows.append((factor["code"], factor["label"], options))
    return rows


def _answers(factors: dict, instrument=None) -> dict:
    instrument = instrument or instrument_in_use()
    answers = {}
    kinds = {f["code"]: f["type"] for f in instrument["factors"]}
    for code, value in factors.items():
        if code not in kinds or value in ("", None):
            continue
        if kinds[code] == "flag":
            answers[code] = str(value) in ("1", "true", "True", "yes")
        elif kinds[code] == "bands":
            answers[code] = float(value)
        else:
            answers[code] = value
    return answers


@transaction.atomic
def assess(person, *, factors: dict, manual_level: str = "", manual_reason: str = "", user=None,
           assessed_on: dt.date | None = None, flags=()) -> models.RiskAssessment:
    """``flags``: hard overrides the worker established (WORKER_FLAGS); kept in ``overrides``."""
    assessed_on = assessed_on or timezone.localdate()
    unknown = sorted(set(flags) - set(WORKER_FLAGS))
    if unknown:
        raise ValidationError({"flags": [_("Unknown hard override: %(codes)s") % {"codes": ", ".join(unknown)}]})
    triggers = [SimpleNamespace(kind=TRIGGER_KINDS.get(t.rule_id), on=t.triggered_on)
                for t in person.police_tasks.all() if t.rule_id in TRIGGER_KINDS]
    flags = incident_flags(person, assessed_on) | set(flags)
    if manual_level and not manual_reason.strip():
        raise ValidationError({"manual_reason": [_("A manual level needs a reason.")]})
    instrument = instrument_in_use()
    try:
        result = risk.assess(_answers(factors, instrument), assessed_on=assessed_on, flags=flags, triggers=triggers,
                             instrument=instrument)
    except ValueError as exc:
        raise ValidationError({"factors": [str(exc)]}) from exc
    may_approve = user is not None and user.has_resource_perm("casework.riskassessment", "approve")
    if manual_level and result.overrides and manual_level != "high":
        raise ValidationError({"manual_level": [_("Hard overrides keep this person at high risk: %(codes)s")
                                                % {"codes": "、".join(risk.HARD_OVERRIDES[c] for c in result.overrides)}]})
    assessment = models.RiskAssessment(
        person=person, instrument_version=f"{result.instrument_code} {result.instrument_version}",
        factors=factors, score=result.score, computed_level=result.level, overrides=list(result.overrides),
        manual_level=manual_level, manual_reason=manual_reason.strip(),
        approved_by=user if manual_level and may_approve else None, assessed_on=assessed_on,
        next_review_on=result.next_review_on)
    assessment.save()
    if _latest(person).pk == assessment.pk:  # a back-dated assessment does not replace a newer one
        _apply_level(person, assessment.level)
        plan_review(person, assessment)
    return assessment


REVIEW_GRACE_DAYS = 7


def plan_review(person, assessment) -> None:
    """The next risk review becomes a planned event on the worker's task list (due on ``next_review_on``); the
    assessment just made fulfils any review still open."""
    from .choices import PlannedKind
    from .services import current_measure

    open_reviews = models.PlannedEvent.objects.filter(person=person, kind=PlannedKind.ASSESSMENT,
                                                      status__in=["scheduled", "overdue"])
    open_reviews.filter(due_on__lte=assessment.assessed_on + dt.timedelta(days=31)).update(
        status="done", done_on=assessment.assessed_on)
    open_reviews.filter(due_on__gt=assessment.assessed_on + dt.timedelta(days=31)).delete()
    measure = current_measure(person)
    if measure is not None and assessment.next_review_on:
        models.PlannedEvent.objects.create(person=person, measure=measure, kind=PlannedKind.ASSESSMENT,
                                           due_on=assessment.next_review_on, grace_days=REVIEW_GRACE_DAYS)


INCIDENT_WINDOW_DAYS = 365   # a 肇事肇祸 incident keeps the person high for a year [G: local policy]


def incident_flags(person, on: dt.date) -> set[str]:
    """Hard overrides from the incident register: self-harm ever (HO-SELF-HARM), and any incident marked as a
    high-risk trigger within the last year (HO-INCIDENT)."""
    flags = set()
    for incident in person.incidents.all():
        if incident.kind in INCIDENT_OVERRIDES:
            flags.add(INCIDENT_OVERRIDES[incident.kind])
        if incident.high_risk_trigger and 0 <= (on - incident.occurred_on).days <= INCIDENT_WINDOW_DAYS:
            flags.add("HO-INCIDENT")
    return flags


def incident_recorded(incident) -> None:
    """An incident marked as a high-risk trigger puts its persons at high risk at once (the schedule intensifies);
    their next assessment keeps them high through HO-INCIDENT for a year."""
    if not incident.high_risk_trigger:
        return
    for person in incident.persons.all():
        _apply_level(person, "high")


def _latest(person):
    return person.assessments.order_by("-assessed_on", "-created").first()


def _apply_level(person, level: str) -> None:
    """The person's tier follows the assessment; the schedule intensity follows the tier."""
    if person.risk_level != level:
        person.risk_level = level
        person.save(audit_message="risk level")
        from .services import current_measure, refresh_schedule

        measure = current_measure(person)
        if measure is not None:
            refresh_schedule(measure)


def pending_manual_levels(user):
    """Manual levels entered by someone who may not approve them, on each person's latest assessment."""
    from django.db.models import OuterRef, Subquery

    latest = models.RiskAssessment.objects.filter(person=OuterRef("person")).order_by("-assessed_on", "-created")
    return models.RiskAssessment.objects.restrict(user, "approve").exclude(manual_level="") \
        .filter(approved_by__isnull=True, pk=Subquery(latest.values("pk")[:1])).select_related("person")


@transaction.atomic
def approve_manual_level(user, assessment) -> models.RiskAssessment:
    """The district office approves a social worker's manual level later; it then takes effect."""
    if not user.has_resource_perm("casework.riskassessment", "approve"):
        raise PermissionDenied
    if not assessment.manual_level or assessment.approved_by_id:
        raise ValidationError({"manual_level": [_("There is no manual level waiting for approval.")]})
    if _latest(assessment.person).pk != assessment.pk:
        raise ValidationError({"manual_level": [_("A newer assessment replaces this one.")]})
    assessment.approved_by = user
    assessment.save(audit_message="manual level approved")
    _apply_level(assessment.person, assessment.level)
    return assessment
