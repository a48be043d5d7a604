"""全环节服务管理吸毒人员 (measures 5–10): the person registry, measures with their legal clocks,
schedules and events, violations and police-report tasks, risk tiers, transfers, break-glass,
care and assistance, children, incidents.

Who sees a person: users whose area contains the household (户籍地), residence (居住地) or owning
area; the sending side of a pending transfer (read only); a user holding an unexpired break-glass
grant for that person; and member units (roles without the ``tests`` section) only persons referred
to their organisation. Sections: ``identity`` (person fields), ``tests``, ``risk``, ``police_notes``,
``assistance`` (referrals, children).
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import EncryptedTextField
from core.models import AuditedModel, BaseModel
from geo.validators import validate_division_code
from utilities.masking import mask_id_number, mask_mobile, mask_name
from utilities.validators import validate_id_number

from . import choices

__all__ = ("Person", "StatusChange", "Measure", "Suspension", "WorkTeamMember", "SchedulePolicy", "PlannedEvent",
           "ContactEvent", "DrugTest", "Absence", "PoliceReportTask", "RiskAssessment", "Transfer", "BreakGlass",
           "Referral", "Child", "Incident", "PoliceNote")


def _person_q(scope, user, action, prefix=""):
    """Persons a user may act on (see the module docstring); ``prefix`` is the path to Person."""
    if scope.is_global:
        return Q()
    if not user.sees_section("tests"):  # member units: read the persons referred to them, nothing else
        if not user.org_id or action != "view":
            return None
        return Q(**{f"{prefix}referrals__provider_org_id": user.org_id})
    q = Q()
    if scope.area_prefix:
        q = (Q(**{f"{prefix}household_area_code__startswith": scope.area_prefix})
             | Q(**{f"{prefix}residence_area_code__startswith": scope.area_prefix})
             | Q(**{f"{prefix}owner_area_code__startswith": scope.area_prefix}))
        pending = Transfer.objects.filter(status=choices.TransferStatus.PENDING)
        if action == "view":  # the receiving side reviews the file before it accepts
            q |= Q(**{f"{prefix}{'pk' if not prefix else 'id'}__in":
                      pending.filter(to_area_code__startswith=scope.area_prefix).values("person_id")})
        else:  # while a transfer waits, the managing side only reads (条例 Art.22: the old place hands over)
            q &= ~Q(**{f"{prefix}{'pk' if not prefix else 'id'}__in":
                       pending.filter(from_area_code__startswith=scope.area_prefix).values("person_id")})
    elif scope.org_id:
        return None
    if action in ("view", "change", "add"):
        grants = BreakGlass.objects.filter(user_id=user.pk, expires_at__gt=timezone.now()).values("person_id")
        q |= Q(**{f"{prefix}pk__in": grants}) if not prefix else Q(**{f"{prefix}id__in": grants})
    return q


class PersonScoped:
    """Rows that belong to a person inherit the person's visibility; ``section`` hides the whole
    model from roles without that section (member units never see tests, risk or police notes)."""

    person_path = "person__"
    section = None
    member_units_see = False  # roles without the tests section (member units) see only what says so

    @classmethod
    def scope_q(cls, scope, user, action):
        if cls.section and not user.sees_section(cls.section):
            return None
        if not cls.member_units_see and not user.sees_section("tests"):
            return None
        person_q = _person_q(scope, user, action)
        if person_q is None:
            return None
        if not person_q:
            return Q()
        # a subquery of the persons in scope lets the database use the person index of big event tables
        return Q(**{f"{cls.person_path}id__in": Person.objects.filter(person_q).values("pk")})


class Person(AuditedModel):
    field_sections = {"risk": ("risk_level",)}

    name = EncryptedTextField(_("name"), index_field="name_index", index_purpose="person_name", masker=mask_name)
    name_index = models.CharField(max_length=64, db_index=True, editable=False)
    id_number = EncryptedTextField(_("ID number"), validators=[validate_id_number], index_field="id_number_index",
                                   index_purpose="id_number", normalizer=lambda v: v.strip().upper(),
                                   masker=mask_id_number)
    id_number_index = models.CharField(max_length=64, unique=True, editable=False)
    gender = models.CharField(_("sex"), max_length=1, choices=[("M", _("Male")), ("F", _("Female"))], blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    phone = EncryptedTextField(_("phone"), blank=True, masker=mask_mobile)
    household_area_code = models.CharField(_("household registration area (户籍地)"), max_length=15,
                                           db_index=True, validators=[validate_division_code])
    residence_area_code = models.CharField(_("residence area (居住地)"), max_length=15, db_index=True,
                                           validators=[validate_division_code])
    grid = models.CharField(_("grid (网格)"), max_length=40, blank=True, db_index=True,
                            help_text=_("The community grid the person lives in (网格化管理), as the street numbers it."))
    owner_area_code = models.CharField(_("managing area"), max_length=15, db_index=True, blank=True,
                                       help_text=_("The street or community that manages the person; follows "
                                                   "accepted transfers."))
    drug_types = models.JSONField(_("drug types"), default=list, blank=True)
    first_found_on = models.DateField(_("first found"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=30, choices=choices.PersonStatus.choices,
                              default=choices.PersonStatus.OTHER_SOCIAL, db_index=True)
    risk_level = models.CharField(_("risk level"), max_length=10, choices=choices.RiskLevel.choices, blank=True)
    last_confirmed_use_on = models.DateField(_("last confirmed use"), null=True, blank=True)
    abstinent_since = models.DateField(_("abstinent since"), null=True, blank=True)
    in_control = models.BooleanField(_("under dynamic control"), default=True, db_index=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("registered person")
        verbose_name_plural = _("registered persons")

    def __str__(self):
        return f"{mask_name(self.name)} {mask_id_number(self.id_number)}"

    @classmethod
    def scope_q(cls, scope, user, action):
        return _person_q(scope, user, action)

    @property
    def is_local(self) -> bool:
        return self.household_area_code[:6] == self.residence_area_code[:6]


class StatusChange(PersonScoped, AuditedModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from"), max_length=30, choices=choices.PersonStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=30, choices=choices.PersonStatus.choices)
    on = models.DateField(_("date"))
    source = models.CharField(_("source"), max_length=20, choices=choices.StatusSource.choices)
    document = models.CharField(_("document"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["-on", "-created"]
        verbose_name = _("status change")
        verbose_name_plural = _("status history")


class Measure(PersonScoped, AuditedModel):
    """One measure (programme enrolment, DHIS2-tracker style) with its legal clock and state."""

    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="measures")
    kind = models.CharField(_("measure"), max_length=30, choices=choices.MeasureKind.choices, db_index=True)
    state = models.CharField(_("state"), max_length=20, default="ordered", db_index=True)
    decision_no = models.CharField(_("decision number"), max_length=60, blank=True)
    deciding_org = models.ForeignKey("orgs.Organization", verbose_name=_("deciding authority"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    served_on = models.DateField(_("order served on"), null=True, blank=True)
    report_due_on = models.DateField(_("report due"), null=True, blank=True)
    reported_on = models.DateField(_("reported on"), null=True, blank=True)
    agreement_signed_on = models.DateField(_("agreement signed on"), null=True, blank=True)
    late_report_reason = models.CharField(_("good reason for reporting late (正当理由)"), max_length=200, blank=True)
    start_on = models.DateField(_("start"), null=True, blank=True)
    ordered_years = models.PositiveSmallIntegerField(_("ordered years"), default=3)
    extension_days = models.PositiveIntegerField(_("extension (days)"), default=0)
    early_release_on = models.DateField(_("early release"), null=True, blank=True)
    planned_end_on = models.DateField(_("planned end"), null=True, blank=True, db_index=True)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    execution_area_code = models.CharField(_("execution area"), max_length=15, db_index=True,
                                           validators=[validate_division_code])
    facility = models.ForeignKey("orgs.Organization", verbose_name=_("facility or clinic"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)
    # 病残收治: why the person cannot be held or treated in custody, and how often that is reviewed
    medical_grounds = EncryptedTextField(_("medical grounds"), blank=True)
    review_every_months = models.PositiveSmallIntegerField(_("review every (months)"), null=True, blank=True)

    class Meta:
        ordering = ["-start_on", "-created"]
        verbose_name = _("measure")
        verbose_name_plural = _("measures")

    def __str__(self):
        return f"{self.get_kind_display()} {self.start_on or self.served_on or ''}"

    @property
    def is_open(self) -> bool:
        return self.state not in ("completed", "refused", "converted", "terminated", "released")

    @property
    def state_label(self) -> str:
        from .rules.states import STATE_LABELS

        return STATE_LABELS.get(self.state, self.state)


class FacilityStay(PersonScoped, AuditedModel):
    """Where a 强戒 person is held: a police facility first, a 司法 (justice) facility after 3–6 months
    (条例 Art.27; police custody ≤ 12 months where the province lacks capacity)."""

    person_path = "measure__person__"
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="stays")
    facility = models.ForeignKey("orgs.Organization", verbose_name=_("facility"), on_delete=models.PROTECT,
                                 related_name="+")
    authority = models.CharField(_("run by"), max_length=10, choices=[("police", _("Police (公安)")),
                                                                      ("justice", _("Justice (司法行政)"))])
    from_on = models.DateField(_("from"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["from_on"]
        verbose_name = _("facility stay")
        verbose_name_plural = _("facility stays")


class Escape(PersonScoped, AuditedModel):
    """A 强戒 person at large: the time does not count and early release is barred (条例 Art.32)."""

    person_path = "measure__person__"
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="escapes")
    escaped_on = models.DateField(_("escaped on"))
    returned_on = models.DateField(_("returned on"), null=True, blank=True)

    class Meta:
        ordering = ["escaped_on"]
        verbose_name = _("escape")
        verbose_name_plural = _("escapes")


class Suspension(PersonScoped, AuditedModel):
    """中止: the clock pauses while the person is detained or arrested (条例 Art.24)."""

    person_path = "measure__person__"
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="suspensions")
    from_on = models.DateField(_("from"))
    to_on = models.DateField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=100)

    class Meta:
        ordering = ["from_on"]
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")


class WorkTeamMember(PersonScoped, AuditedModel):
    person_path = "measure__person__"
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    name = models.CharField(_("name"), max_length=60, blank=True)
    role = models.CharField(_("role"), max_length=30, choices=choices.TEAM_ROLES)
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("work-team member")
        verbose_name_plural = _("work team")

    def __str__(self):
        return f"{self.get_role_display()} {self.user or self.name}"


class CaseDocument(PersonScoped, AuditedModel):
    """A signed or issued document kept with the file: the measure's agreement (协议), consent (知情同意书), care
    plan, decision. The file is stored under MEDIA_ROOT with its SM3 hash; every download is logged."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="documents")
    measure = models.ForeignKey(Measure, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=choices.DocumentKind.choices)
    title = models.CharField(_("title"), max_length=200)
    signed_on = models.DateField(_("signed or issued on"))
    file = models.FileField(_("file"), upload_to="casework/%Y/%m/")
    sm3 = models.CharField(_("SM3 of the file"), max_length=64, editable=False)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0, editable=False)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-signed_on"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self):
        return f"{self.get_kind_display()} {self.title}"


class CarePlan(PersonScoped, AuditedModel):
    """帮扶计划: the needs found with the person, the goals and the actions agreed, reviewed on a date; referrals
    carry the actions out."""

    section = "assistance"
    member_units_see = True

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="care_plans")
    drawn_on = models.DateField(_("drawn up on"))
    needs = models.JSONField(_("needs"), default=list)
    goals = models.TextField(_("goals"))
    actions = models.TextField(_("actions"), blank=True)
    review_on = models.DateField(_("review on"))
    status = models.CharField(_("status"), max_length=10, choices=choices.CarePlanStatus.choices,
                              default=choices.CarePlanStatus.ACTIVE)

    class Meta:
        ordering = ["-drawn_on"]
        verbose_name = _("care plan")
        verbose_name_plural = _("care plans")

    def __str__(self):
        return f"{self.drawn_on} {self.goals[:30]}"


class RiskInstrument(AuditedModel):
    """The office's risk instrument (factors, weights, thresholds), versioned: one version is in use; assessments
    keep the code and version they were scored with. Until the office enters its own, the example instrument in
    code is used (research §6 Q3: the official one was not found). City-wide: written only at city level."""

    code = models.CharField(_("code"), max_length=40)
    version = models.CharField(_("version"), max_length=20)
    definition = models.JSONField(_("definition"), help_text=_("factors, thresholds and labels as JSON (see the "
                                                               "example instrument in casework/rules/risk.py)"))
    in_use = models.BooleanField(_("in use"), default=False)
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        ordering = ["-in_use", "code", "-version"]
        verbose_name = _("risk instrument")
        verbose_name_plural = _("risk instruments")
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="casework_riskinstrument_version")]

    def __str__(self):
        return f"{self.code} {self.version}"

    @classmethod
    def scope_q(cls, scope, user, action):
        from core.permissions import city_wide_setting_q

        return city_wide_setting_q(scope, user, action)

    def clean(self):
        from django.core.exceptions import ValidationError

        from .rules import risk

        definition = {**(self.definition or {}), "code": self.code, "version": self.version}
        try:
            risk.validate_instrument(definition)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError({"definition": str(exc)}) from exc


class SchedulePolicy(AuditedModel):
    """How often people under a measure are seen and tested, by phase and risk level (editable).

    Each row: within months ``phase_from_month``–``phase_to_month`` of the term, every
    ``period_months`` the person owes ``checkins`` check-ins, ``tests`` tests, ``random_tests`` random
    tests and ``home_visits`` home visits; a planned event becomes overdue after ``grace_days``.
    Seeded from the research's local example (casework.rules.schedule.SEED_POLICIES). City-wide: read by all who
    hold the permission, written only at city level.
    """

    @classmethod
    def scope_q(cls, scope, user, action):
        from core.permissions import city_wide_setting_q

        return city_wide_setting_q(scope, user, action)

    measure_kind = models.CharField(_("measure"), max_length=30, choices=choices.MeasureKind.choices)
    risk_level = models.CharField(_("risk level"), max_length=10, choices=choices.RiskLevel.choices)
    phase_from_month = models.PositiveSmallIntegerField(_("from month"))
    phase_to_month = models.PositiveSmallIntegerField(_("to month"))
    period_months = models.PositiveSmallIntegerField(_("period (months)"), default=1)
    checkins = models.PositiveSmallIntegerField(_("check-ins per period"), default=0)
    tests = models.PositiveSmallIntegerField(_("tests per period"), default=0)
    random_tests = models.PositiveSmallIntegerField(_("random tests per period"), default=0)
    home_visits = models.PositiveSmallIntegerField(_("home visits per period"), default=0)
    grace_days = models.PositiveSmallIntegerField(_("grace days"), default=7)
    lost_contact_misses = models.PositiveSmallIntegerField(
        _("missed contacts before 失控 (L01)"), default=3,
        help_text=_("Consecutive planned check-ins or home visits missed (past their grace days) that make the "
                    "person 失控 and raise the L01 police-report task."))
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        ordering = ["measure_kind", "risk_level", "phase_from_month"]
        verbose_name = _("schedule policy")
        verbose_name_plural = _("schedule policies")

    def __str__(self):
        return f"{self.get_measure_kind_display()} {self.get_risk_level_display()} {self.phase_from_month}–" \
               f"{self.phase_to_month}"


class PlannedEvent(PersonScoped, BaseModel):
    """Derived from the schedule policy; regenerated by a job. Done when a matching event happens."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="planned_events")
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="planned_events")
    kind = models.CharField(_("kind"), max_length=20, choices=choices.PlannedKind.choices)
    due_on = models.DateField(_("due"), db_index=True)
    grace_days = models.PositiveSmallIntegerField(default=7)
    status = models.CharField(_("status"), max_length=10, choices=choices.PlannedStatus.choices,
                              default=choices.PlannedStatus.SCHEDULED, db_index=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)

    class Meta:
        ordering = ["due_on"]
        verbose_name = _("planned event")
        verbose_name_plural = _("planned events")
        indexes = [models.Index(fields=["status", "due_on"]), models.Index(fields=["measure", "kind", "due_on"]),
                   models.Index(fields=["person", "status", "due_on"])]


class ContactEvent(PersonScoped, AuditedModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contacts")
    measure = models.ForeignKey(Measure, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts")
    kind = models.CharField(_("kind"), max_length=20, choices=choices.ContactKind.choices)
    occurred_on = models.DateField(_("date"), db_index=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=choices.ContactOutcome.choices,
                               default=choices.ContactOutcome.MET)
    performed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    location = models.CharField(_("place"), max_length=200, blank=True)
    notes = EncryptedTextField(_("notes"), blank=True)

    class Meta:
        ordering = ["-occurred_on"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")


class DrugTest(PersonScoped, AuditedModel):
    section = "tests"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tests")
    measure = models.ForeignKey(Measure, null=True, blank=True, on_delete=models.SET_NULL, related_name="tests")
    sample = models.CharField(_("sample"), max_length=10, choices=choices.TestSample.choices)
    method = models.CharField(_("method"), max_length=10, choices=[("onsite", _("On site")), ("lab", _("Laboratory")),
                                                                  ("retest", _("Retest"))], default="onsite")
    random = models.BooleanField(_("random test"), default=False)
    collected_on = models.DateField(_("collected on"), db_index=True)
    hair_segment_cm = models.FloatField(_("hair segment (cm)"), null=True, blank=True)
    window_start = models.DateField(_("detection window from"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=choices.TestResult.choices)
    substances = models.JSONField(_("substances"), default=list, blank=True)
    performed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    legal_effect = models.BooleanField(_("legally effective (police test)"), default=False)
    lab_reference = models.CharField(_("laboratory reference"), max_length=60, blank=True)

    class Meta:
        ordering = ["-collected_on"]
        verbose_name = _("drug test")
        verbose_name_plural = _("drug tests")


class Absence(PersonScoped, AuditedModel):
    """Leaving the execution county (written notice needed for ≥ 3 days, 条例 Art.19)."""

    person_path = "measure__person__"
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="absences")
    left_on = models.DateField(_("left on"))
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    written_notice = models.BooleanField(_("written notice given"), default=False)
    authorised = models.BooleanField(_("authorised"), default=False)
    destination = models.CharField(_("destination"), max_length=200, blank=True)

    class Meta:
        ordering = ["-left_on"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")


class PoliceReportTask(PersonScoped, AuditedModel):
    """A duty to report to the police (条例 Art.21): refusal, use during a measure, serious violation."""

    @property
    def trigger_label(self) -> str:
        return str(self.TRIGGER_LABELS.get(self.trigger, self.trigger))

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="police_tasks")
    measure = models.ForeignKey(Measure, null=True, blank=True, on_delete=models.CASCADE, related_name="police_tasks")
    rule_id = models.CharField(_("rule"), max_length=10, db_index=True)
    trigger = models.CharField(_("trigger"), max_length=30)
    triggered_on = models.DateField(_("triggered on"))
    due_on = models.DateField(_("report due"), db_index=True)
    reported_on = models.DateField(_("reported on"), null=True, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)

    TRIGGER_LABELS = {"serious_violation": _("serious violation of the agreement"),
                      "positive_test": _("positive test during the measure"),
                      "missed_report": _("no report within 15 days"), "lost_contact": _("lost contact"),
                      "needs_police_review": _("for police review")}

    class Meta:
        ordering = ["reported_on", "due_on"]
        verbose_name = _("police report task")
        verbose_name_plural = _("police report tasks")
        constraints = [models.UniqueConstraint(fields=["measure", "rule_id", "triggered_on"],
                                               name="casework_policetask_unique")]


class RiskAssessment(PersonScoped, AuditedModel):
    section = "risk"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="assessments")
    instrument_version = models.CharField(_("instrument"), max_length=30)
    factors = models.JSONField(_("factors"), default=dict, blank=True)
    score = models.FloatField(_("score"), null=True, blank=True)
    computed_level = models.CharField(_("computed level"), max_length=10, choices=choices.RiskLevel.choices)
    overrides = models.JSONField(_("hard overrides"), default=list, blank=True)
    manual_level = models.CharField(_("manual level"), max_length=10, choices=choices.RiskLevel.choices, blank=True)
    manual_reason = models.CharField(_("reason for the manual level"), max_length=300, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    assessed_on = models.DateField(_("assessed on"))
    next_review_on = models.DateField(_("next review"), db_index=True)

    class Meta:
        ordering = ["-assessed_on", "-created"]
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")

    @property
    def level(self) -> str:
        if self.manual_level and self.approved_by_id:
            return self.manual_level
        return self.computed_level


class Transfer(PersonScoped, AuditedModel):
    """异地执行: ownership moves when the receiving area accepts; the clock runs on (条例 Art.22)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="transfers")
    measure = models.ForeignKey(Measure, null=True, blank=True, on_delete=models.SET_NULL, related_name="transfers")
    from_area_code = models.CharField(_("from area"), max_length=15)
    to_area_code = models.CharField(_("to area"), max_length=15, validators=[validate_division_code])
    reason = models.CharField(_("reason"), max_length=300)
    requested_on = models.DateField(_("requested on"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=choices.TransferStatus.choices,
                              default=choices.TransferStatus.PENDING, db_index=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    report_due_on = models.DateField(_("report due at the new place"), null=True, blank=True)
    reported_on = models.DateField(_("reported at the new place"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_on"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")

    @classmethod
    def scope_q(cls, scope, user, action):
        if not user.sees_section("tests"):
            return None
        person_q = _person_q(scope, user, "view", "person__")
        if person_q is None:
            return None
        if scope.area_prefix:  # both ends of a transfer: who sends it and who receives it
            person_q |= Q(to_area_code__startswith=scope.area_prefix) | Q(from_area_code__startswith=scope.area_prefix)
        return person_q


class BreakGlass(BaseModel):
    """A time-limited, reasoned look at a person outside one's scope (DHIS2 "protected program")."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="break_glass")
    reason = models.CharField(_("reason"), max_length=500)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        verbose_name = _("break-glass access")
        verbose_name_plural = _("break-glass accesses")

    @classmethod
    def scope_q(cls, scope, user, action):
        # reviewers (district/city offices) see grants of their area's users; everyone sees their own
        if scope.is_global:
            return Q()
        if not user.sees_section("tests"):
            return None
        q = Q(user_id=user.pk)
        if scope.area_prefix:
            q |= Q(user__area_code__startswith=scope.area_prefix)
        return q


class Referral(PersonScoped, AuditedModel):
    """A need for help referred to a member unit (人社, 民政, 卫健, 教育, 司法…), which accepts it."""

    section = "assistance"
    member_units_see = True

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="referrals")
    kind = models.CharField(_("kind"), max_length=20, choices=choices.AssistanceKind.choices)
    need = models.CharField(_("need"), max_length=300)
    provider_org = models.ForeignKey("orgs.Organization", verbose_name=_("referred to"), on_delete=models.PROTECT,
                                     related_name="referrals")
    status = models.CharField(_("status"), max_length=10, choices=choices.ReferralStatus.choices,
                              default=choices.ReferralStatus.PENDING, db_index=True)
    consent = models.BooleanField(_("the person consented"), default=False)
    referred_on = models.DateField(_("referred on"))
    decided_on = models.DateField(_("accepted or rejected on"), null=True, blank=True)
    done_on = models.DateField(_("done on"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)

    class Meta:
        ordering = ["-referred_on"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")

    @classmethod
    def scope_q(cls, scope, user, action):
        if not user.sees_section("assistance"):
            return None
        if not user.sees_section("tests"):  # a member unit: the referrals addressed to it
            return Q(provider_org_id=user.org_id) if user.org_id else None
        return _person_q(scope, user, action, "person__")


class Child(PersonScoped, AuditedModel):
    """A registered person's minor child (sensitive personal information under PIPL)."""

    section = "assistance"
    member_units_see = True

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="children")
    name = EncryptedTextField(_("name"), masker=mask_name)
    birth_date = models.DateField(_("date of birth"))
    guardianship = models.CharField(_("guardianship"), max_length=20, choices=choices.Guardianship.choices)
    school = models.ForeignKey("orgs.Organization", verbose_name=_("school"), null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    needs = models.CharField(_("needs"), max_length=300, blank=True)

    class Meta:
        ordering = ["birth_date"]
        verbose_name = _("child")
        verbose_name_plural = _("children")

    @property
    def age(self) -> int:
        today = dt.date.today()
        return today.year - self.birth_date.year - ((today.month, today.day) < (self.birth_date.month,
                                                                                self.birth_date.day))


class Incident(AuditedModel):
    """肇事肇祸: an incident caused by a drug user; linked persons; counted by K15 ("never happens")."""

    scope_area_field = "area_code"

    occurred_on = models.DateField(_("occurred on"), db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=choices.IncidentKind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=choices.Severity.choices)
    area_code = models.CharField(_("area code"), max_length=15, db_index=True, validators=[validate_division_code])
    persons = models.ManyToManyField(Person, verbose_name=_("persons"), related_name="incidents", blank=True)
    description = EncryptedTextField(_("description"), blank=True)
    high_risk_trigger = models.BooleanField(_("marks the persons high risk"), default=True)

    class Meta:
        ordering = ["-occurred_on"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    @classmethod
    def scope_q(cls, scope, user, action):
        if not user.sees_section("tests"):
            return None
        from core.permissions import default_scope_q

        return default_scope_q(cls, scope)


class PoliceNote(PersonScoped, AuditedModel):
    section = "police_notes"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="police_notes")
    written_on = models.DateField(_("date"))
    text = EncryptedTextField(_("note"))

    class Meta:
        ordering = ["-written_on"]
        verbose_name = _("police note")
        verbose_name_plural = _("police notes")
