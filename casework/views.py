"""Pages of the casework pillar: the person file as a timeline, registration with duplicate pointer
and break-glass, events recorded from a phone, my tasks, transfers and referrals inboxes."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import log_access
from core.models import AccessLog
from core.permissions import ensure_in_scope, model_perm
from core.unmask import can_unmask
from core.views import generic

from . import filtersets, forms, models, services, tables
from .choices import COMMUNITY_KINDS
from .risk_service import level_label


def _require(request, model, action="view"):
    if not model_perm(request.user, model, action):
        raise PermissionDenied


class CaseworkListView(generic.ObjectListView):
    """Lists of drug users' records: every export needs a reason, which the access log keeps
    (个人信息保护法: sensitive personal information)."""

    export_requires_reason = True


class PersonListView(CaseworkListView):
    model = models.Person
    filterset_class = filtersets.PersonFilterSet
    table_class = tables.PersonTable


def _apply_form_errors(form, exc: ValidationError):
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
def register(request):
    _require(request, models.Person, "add")
    form = forms.PersonRegisterForm(request.POST or None)
    duplicate = None
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                person = services.register_person(request.user, **form.cleaned_data)
                ensure_in_scope(person, request.user, "add")
        except services.DuplicatePerson as exc:
            duplicate = exc
            _apply_form_errors(form, exc)
        except ValidationError as exc:
            _apply_form_errors(form, exc)
        except PermissionDenied:
            form.add_error(None, _("You can register persons only in your own area."))
        else:
            messages.success(request, _("Registered."))
            return redirect("casework:person_detail", pk=person.pk)
    return render(request, "casework/register.html", {"form": form, "duplicate": duplicate})


def _timeline(person, user):
    """Everything that happened to a person, newest first, only from the sections the user may see. Each item is
    (date, kind, title, detail, correction URL or "")."""
    items = []
    can_fix = user.has_resource_perm("casework.contactevent", "change")

    def fix(kind, pk):
        return reverse("casework:correct_event", args=[kind, pk]) if can_fix else ""

    for change in person.status_changes.all():
        items.append((change.on, "status", _("Status: %(status)s") % {"status": change.get_to_status_display()},
                      f"{change.get_source_display()} {change.document} {change.reason}".strip(), ""))
    for m in person.measures.all():
        items.append((m.start_on or m.served_on or m.decided_on or m.created.date(), "measure",
                      f"{m.get_kind_display()} · {m.state_label}",
                      _("planned end %(end)s") % {"end": m.planned_end_on or "—"}, ""))
        for a in m.absences.all():
            items.append((a.left_on, "absence", _("Absence until %(on)s") % {"on": a.returned_on or "—"},
                          f"{a.destination} " + (_("authorised") if a.authorised else ""), fix("absence", a.pk)))
    for c in person.contacts.select_related("performed_by"):
        items.append((c.occurred_on, "contact", f"{c.get_kind_display()} · {c.get_outcome_display()}",
                      f"{c.performed_by or ''} {c.location}".strip(), fix("contact", c.pk)))
    if user.sees_section("tests"):
        for t in person.tests.all():
            items.append((t.collected_on, "test", f"{t.get_sample_display()} · {t.get_result_display()}",
                          _("police test") if t.legal_effect else "", fix("test", t.pk)))
    for task in person.police_tasks.all():
        items.append((task.triggered_on, "police", f"{task.rule_id} · {task.trigger_label}",
                      _("reported %(on)s") % {"on": task.reported_on} if task.reported_on
                      else _("report due %(due)s") % {"due": task.due_on}, ""))
    if user.sees_section("risk"):
        for a in person.assessments.all():
            items.append((a.assessed_on, "risk", _("Risk: %(level)s") % {"level": level_label(a.level)},
                          _("next review %(on)s") % {"on": a.next_review_on}, ""))
    for tr in person.transfers.all():
        items.append((tr.requested_on, "transfer", _("Transfer %(from)s → %(to)s") % {
            "from": tr.from_area_code, "to": tr.to_area_code}, tr.get_status_display(), ""))
    if user.sees_section("assistance"):
        for r in person.referrals.select_related("provider_org"):
            items.append((r.referred_on, "referral", f"{r.get_kind_display()} → {r.provider_org}",
                          r.get_status_display(), ""))
    if user.sees_section("police_notes"):
        for note in person.police_notes.all():
            items.append((note.written_on, "note", _("Police note"), note.text, ""))
    for incident in person.incidents.all():
        items.append((incident.occurred_on, "incident", incident.get_kind_display(), incident.get_severity_display(),
                      ""))
    return sorted(items, key=lambda i: i[0] or dt.date.min, reverse=True)


CORRECTION_MODELS = {"test": (models.DrugTest, "tests"), "contact": (models.ContactEvent, None),
                     "absence": (models.Absence, None)}


@login_required
def correct_event(request, kind, pk):
    """Correct a recorded test, contact or absence, with a reason (kept in the audit log)."""
    if kind not in CORRECTION_MODELS:
        raise Http404
    model, section = CORRECTION_MODELS[kind]
    if section and not request.user.sees_section(section):
        raise Http404
    event = get_object_or_404(model.objects.restrict(request.user, "change"), pk=pk)
    person = event.person if kind != "absence" else event.measure.person
    form = forms.correction_form(model, request.POST or None, instance=event)
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in form.correctable if f in form.changed_data}
        try:
            services.correct_event(request.user, model.objects.get(pk=pk), reason=form.cleaned_data["reason"],
                                   **changes)
            messages.success(request, _("Corrected."))
            return redirect("casework:person_detail", pk=person.pk)
        except ValidationError as exc:
            for field, errs in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errs)
    return render(request, "core/object_edit.html", {"form": form, "title": _("Correct a record"),
                                                     "object": event}, status=400 if form.errors else 200)


@login_required
def person_detail(request, pk):
    _require(request, models.Person)
    person = get_object_or_404(models.Person.objects.restrict(request.user, "view"), pk=pk)
    log_access(AccessLog.Event.READ, person)
    measure = services.current_measure(person)
    user = request.user
    return render(request, "casework/person_detail.html", {
        "person": person, "timeline": _timeline(person, user), "measure": measure,
        "may_unmask": can_unmask(user, person),
        "may_change": models.Person.objects.restrict(user, "change").filter(pk=pk).exists(),
        "sees_tests": user.sees_section("tests"), "sees_risk": user.sees_section("risk"),
        "risk_label": level_label(person.risk_level) if user.sees_section("risk") else "",
        "sees_assistance": user.sees_section("assistance"), "sees_police_notes": user.sees_section("police_notes"),
        "children": person.children.all() if user.sees_section("assistance") else [],
        "documents": models.CaseDocument.objects.restrict(user, "view").filter(person=person),
        "care_plan": models.CarePlan.objects.restrict(user, "view").filter(person=person, status="active").first(),
        "team": models.WorkTeamMember.objects.restrict(user, "view").filter(measure=measure).select_related("user")
        if measure else [],
        "planned": measure.planned_events.filter(status__in=["scheduled", "overdue"])[:8] if measure else [],
        "open_tasks": person.police_tasks.filter(reported_on__isnull=True),
        "pending_transfer": person.transfers.filter(status="pending").first(),
        "is_community": measure is not None and measure.kind in COMMUNITY_KINDS,
    })


EVENT_FORMS = {"test": forms.TestForm, "contact": forms.ContactForm, "absence": forms.AbsenceForm,
               "referral": forms.ReferralForm, "transfer": forms.TransferForm, "report": forms.ReportForm,
               "measure": forms.MeasureForm, "assessment": forms.AssessmentForm, "child": forms.ChildForm,
               "status": forms.StatusForm, "police_note": forms.PoliceNoteForm, "end": forms.EndMeasureForm,
               "isolation": forms.IsolationDecisionForm, "document": forms.DocumentForm,
               "care_plan": forms.CarePlanForm, "team": forms.TeamMemberForm, "facility": forms.FacilityForm,
               "escape": forms.EscapeForm, "return": forms.ReturnForm}


@login_required
def add_event(request, pk, kind):
    """One small form per event, usable on a phone; every save goes through the services."""
    if kind not in EVENT_FORMS:
        raise PermissionDenied
    _require(request, models.Person, "change")
    person = get_object_or_404(models.Person.objects.restrict(request.user, "change"), pk=pk)
    if kind == "test" and not request.user.sees_section("tests"):
        raise PermissionDenied
    if kind in ("child", "referral", "care_plan") and not request.user.sees_section("assistance"):
        raise PermissionDenied
    if kind == "police_note" and not request.user.sees_section("police_notes"):
        raise PermissionDenied
    form = EVENT_FORMS[kind](request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        measure = services.current_measure(person)
        try:
            with transaction.atomic():
                if kind == "test":
                    services.record_test(person, sample=data["sample"], collected_on=data["collected_on"],
                                         result=data["result"], random=data["random"],
                                         legal_effect=data["legal_effect"], performed_by=request.user,
                                         substances=data.get("substances") or (), method=data["method"],
                                         hair_segment_cm=data.get("hair_segment_cm"))
                elif kind == "contact":
                    services.record_contact(person, kind=data["kind"], occurred_on=data["occurred_on"],
                                            outcome=data["outcome"], location=data["location"], notes=data["notes"],
                                            performed_by=request.user)
                elif kind == "absence":
                    if measure is None:
                        raise ValidationError({"left_on": [_("There is no open measure to record an absence for.")]})
                    services.record_absence(measure, **data)
                elif kind == "referral":
                    services.refer(person, **data)
                elif kind == "document":
                    services.attach_document(person, measure=measure, **data)
                elif kind == "care_plan":
                    services.draw_care_plan(person, **data)
                elif kind == "team":
                    if measure is None:
                        raise ValidationError({"role": [_("There is no open measure to staff.")]})
                    services.add_team_member(measure, **data)
                elif kind == "child":
                    child = services.record_child(person, **data)
                    if data["guardianship"] == "none":
                        if child.auto_referral is not None:
                            messages.info(request, _("Referred to %(org)s at once (child without a carer).")
                                          % {"org": child.auto_referral.provider_org})
                        else:
                            messages.warning(request, _("No civil-affairs unit covers this area: refer the child "
                                                        "by hand."))
                elif kind == "status":
                    services.change_status(person, data["to_status"], data["on"], data["source"],
                                           data.get("document", ""), data.get("reason", ""))
                elif kind == "police_note":
                    models.PoliceNote(person=person, written_on=data["written_on"], text=data["text"]).save()
                elif kind == "end":
                    if measure is None:
                        raise ValidationError({"outcome": [_("There is no open measure.")]})
                    services.end_measure(measure, outcome=data["outcome"], on=data["on"], reason=data["reason"])
                elif kind == "isolation":
                    if measure is None:
                        raise ValidationError({"extension_days": [_("There is no open measure.")]})
                    services.decide_isolation(measure, extension_days=data["extension_days"] or 0,
                                              early_release_on=data.get("early_release_on"))
                elif kind == "transfer":
                    services.request_transfer(request.user, person, data["to_area_code"], data["reason"])
                elif kind == "report":
                    # a late report with a good reason revives a measure the rules marked refused
                    measure = measure or person.measures.filter(kind__in=COMMUNITY_KINDS, state="refused").order_by(
                        "-served_on").first()
                    if measure is None:
                        raise ValidationError({"reported_on": [_("There is no open measure.")]})
                    services.record_report(measure, data["reported_on"], data.get("agreement_signed_on"),
                                           late_reason=data.get("late_reason", ""))
                elif kind == "measure":
                    services.open_measure(person, data["kind"], execution_area_code=data["execution_area_code"],
                                          decided_on=data.get("decided_on"), served_on=data.get("served_on"),
                                          decision_no=data.get("decision_no", ""),
                                          ordered_years=data.get("ordered_years") or 3,
                                          medical_grounds=data.get("medical_grounds", ""),
                                          review_every_months=data.get("review_every_months"))
                elif kind == "facility":
                    if measure is None:
                        raise ValidationError({"facility": [_("There is no open measure.")]})
                    services.move_facility(measure, **data)
                elif kind == "escape":
                    if measure is None:
                        raise ValidationError({"escaped_on": [_("There is no open measure.")]})
                    services.record_escape(measure, **data)
                elif kind == "return":
                    if measure is None:
                        raise ValidationError({"returned_on": [_("There is no open measure.")]})
                    services.record_return(measure, **data)
                elif kind == "assessment":
                    from .risk_service import assess

                    assess(person, factors=_factors_from(request.POST), manual_level=data.get("manual_level", ""),
                           manual_reason=data.get("manual_reason", ""), user=request.user,
                           flags=data.get("flags", ()))
        except ValidationError as exc:
            _apply_form_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("casework:person_detail", pk=person.pk)
    context = {"form": form, "person": person, "kind": kind}
    if kind == "assessment":
        from .risk_service import factor_choices

        context["factors"] = factor_choices()
    return render(request, "casework/event_form.html", context)


def _factors_from(post):
    return {k[7:]: v for k, v in post.items() if k.startswith("factor_") and v not in ("", None)}


@login_required
def break_glass(request, pk):
    _require(request, models.Person)
    person = get_object_or_404(models.Person, pk=pk)
    form = forms.BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.break_glass(request.user, person, form.cleaned_data["reason"])
        except ValidationError as exc:
            _apply_form_errors(form, exc)
        else:
            return redirect("casework:person_detail", pk=person.pk)
    return render(request, "casework/break_glass.html", {"form": form, "person_id": pk,
                                                         "hours": services.BREAK_GLASS_HOURS})


@login_required
def my_tasks(request):
    """A social worker's day: planned contacts and tests due today or overdue, police reports due."""
    _require(request, models.PlannedEvent)
    today = timezone.localdate()
    # a street's caseload is a few hundred persons: resolve the scope once and let every query below
    # use the person index (a city-wide scope stays a subquery)
    in_scope = list(models.Person.objects.restrict(request.user, "view").values_list("pk", flat=True)[:5001])
    planned = models.PlannedEvent.objects.filter(person_id__in=in_scope) if len(in_scope) <= 5000 else \
        models.PlannedEvent.objects.restrict(request.user, "view")
    planned = planned.select_related("person")
    # overdue = past due and past the grace days (flagged by the nightly run); the rest is still due
    overdue = list(planned.filter(status="overdue").order_by("due_on")[:201])
    overdue_count = len(overdue) if len(overdue) <= 200 else planned.filter(status="overdue").count()
    overdue = overdue[:200]
    due = list(planned.filter(status="scheduled", due_on__lte=today + dt.timedelta(days=7)).order_by("due_on")[:200])
    police = models.PoliceReportTask.objects.restrict(request.user, "view").filter(
        reported_on__isnull=True).select_related("person")
    # transfers into the user's area wait for its decision (the sending side only watches them)
    transfers = models.Transfer.objects.restrict(request.user, "approve").filter(status="pending").select_related(
        "person")
    incoming = request.user.scope_for("approve")
    if not incoming.is_global:
        transfers = transfers.filter(to_area_code__startswith=incoming.area_prefix or "-")
    # referrals are decided, and their outcome recorded, by the organisation they are addressed to
    addressed = models.Referral.objects.restrict(request.user, "view").filter(
        provider_org_id=request.user.org_id).select_related("person", "provider_org") \
        if request.user.org_id else models.Referral.objects.none()
    referrals, in_progress = addressed.filter(status="pending"), addressed.filter(status="accepted")
    # the weekly break-glass review (research §3.5 item 3): offices see how many accesses still wait for it
    break_glass_unreviewed = models.BreakGlass.objects.restrict(request.user, "approve").filter(
        reviewed_at__isnull=True).exclude(user=request.user).count() \
        if request.user.has_resource_perm("casework.breakglass", "approve") else 0
    pending_levels = []
    if request.user.has_resource_perm("casework.riskassessment", "approve"):
        from .risk_service import pending_manual_levels

        pending_levels = pending_manual_levels(request.user)[:50]
    moves_due, aftercare = [], []
    if request.user.has_resource_perm("casework.measure", "approve"):
        visible_measures = models.Measure.objects.restrict(request.user, "view")
        moves_due = services.justice_moves_due(visible_measures, today)[:50]
        aftercare = services.aftercare_due(visible_measures, today)[:50]
    candidates = []
    if request.user.has_resource_perm("casework.person", "confirm"):
        candidates = services.abstinence_candidates(models.Person.objects.restrict(request.user, "change"))[:50]
    return render(request, "casework/my_tasks.html", {"overdue": overdue, "overdue_count": overdue_count, "due": due,
                                                      "moves_due": moves_due, "aftercare": aftercare,
                                                      "today": today,
                                                      "police": police[:100], "transfers": transfers[:50],
                                                      "referrals": referrals[:50],
                                                      "referrals_in_progress": in_progress[:50],
                                                      "break_glass_unreviewed": break_glass_unreviewed,
                                                      "pending_levels": pending_levels,
                                                      "candidates": candidates})


@login_required
def confirm_abstinence(request, pk):
    """The police confirm 戒断三年未复吸: dynamic control stops, the record stays (条例 Art.7)."""
    _require(request, models.Person, "confirm")  # a police act (条例 Art.7)
    person = get_object_or_404(models.Person.objects.restrict(request.user, "change"), pk=pk)
    if request.method == "POST":
        with transaction.atomic():
            services.change_status(person, "abstinent_3y", timezone.localdate(), "police",
                                   reason=request.POST.get("reason", "戒断三年未复吸"))
            log_access(AccessLog.Event.APPROVE, person, detail={"status": "abstinent_3y"})
        messages.success(request, _("Confirmed: no further dynamic control."))
    return redirect("casework:my_tasks")


@login_required
def decide_transfer(request, pk):
    transfer = get_object_or_404(models.Transfer.objects.restrict(request.user, "approve"), pk=pk)
    if request.method == "POST":
        try:
            services.decide_transfer(request.user, transfer, request.POST.get("accept") == "1")
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Transfer decided."))
    return redirect("casework:my_tasks")


@login_required
def decide_referral(request, pk):
    referral = get_object_or_404(models.Referral.objects.restrict(request.user, "change"), pk=pk)
    if request.method == "POST":
        try:
            if "outcome" in request.POST:
                services.complete_referral(request.user, referral, request.POST["outcome"])
            else:
                services.decide_referral(request.user, referral, request.POST.get("accept") == "1")
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Saved."))
    return redirect(request.POST.get("next") or reverse("casework:my_tasks"))


@login_required
def approve_manual_level(request, pk):
    """The district office approves a manual risk level entered by a social worker."""
    from .risk_service import approve_manual_level as approve

    assessment = get_object_or_404(models.RiskAssessment.objects.restrict(request.user, "approve"), pk=pk)
    if request.method == "POST":
        try:
            approve(request.user, assessment)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("Manual level approved."))
    return redirect("casework:my_tasks")


@login_required
def police_reported(request, pk):
    task = get_object_or_404(models.PoliceReportTask.objects.restrict(request.user, "change"), pk=pk)
    if request.method == "POST":
        services.report_to_police(task, request.user)
        messages.success(request, _("Marked as reported to the police."))
    return redirect(request.POST.get("next") or reverse("casework:my_tasks"))


class PoliceReportTaskListView(CaseworkListView):
    model = models.PoliceReportTask
    filterset_class = filtersets.PoliceReportTaskFilterSet
    table_class = tables.PoliceReportTaskTable
    select_related = ("person",)


class MeasureListView(CaseworkListView):
    model = models.Measure
    filterset_class = filtersets.MeasureFilterSet
    table_class = tables.MeasureTable
    select_related = ("person",)


class MeasureDetailView(generic.ObjectDetailView):
    model = models.Measure


class ReferralListView(CaseworkListView):
    model = models.Referral
    filterset_class = filtersets.ReferralFilterSet
    table_class = tables.ReferralTable
    select_related = ("person", "provider_org")


class ReferralDetailView(generic.ObjectDetailView):
    model = models.Referral


class TransferListView(CaseworkListView):
    model = models.Transfer
    filterset_class = filtersets.TransferFilterSet
    table_class = tables.TransferTable
    select_related = ("person",)


class IncidentListView(CaseworkListView):
    model = models.Incident
    filterset_class = filtersets.IncidentFilterSet
    table_class = tables.IncidentTable


class IncidentDetailView(generic.ObjectDetailView):
    model = models.Incident


class IncidentEditView(generic.ObjectEditView):
    model = models.Incident
    form_class = forms.IncidentForm


class BreakGlassListView(CaseworkListView):
    """The weekly review list of break-glass accesses in one's area."""

    model = models.BreakGlass
    filterset_class = filtersets.BreakGlassFilterSet
    table_class = tables.BreakGlassTable
    select_related = ("user", "person", "reviewed_by")


@login_required
def indicators(request):
    """K01–K13 for a period, by district of the user's scope, summed up (never averaged)."""
    from . import indicators as ind
    from .rules import kpi

    _require(request, models.Person)
    period, label = ind.parse_period(request.GET.get("period", ""))
    level = "street" if request.GET.get("level") == "street" else "district"
    area = request.GET.get("area", "").strip()
    result = ind.compute(request.user, period, level=level, area_prefix=area if area.isdigit() else "")
    codes = [*kpi.KPIS, *ind.EXTRA]
    from geo.models import Division

    names = dict(Division.objects.filter(code__in=[r["district"] for r in result["rows"]]).values_list("code",
                                                                                                     "name"))
    drill = reverse("casework:indicator_drill")

    def cells(figures, district=""):
        out = []
        for code in codes:
            figure = figures.get(code)
            if figure is None or not figure.denominator:
                out.append(None)
                continue
            base = f"{drill}?kpi={code}&period={label}&district={district}&level={level}&area={area}"
            out.append({"num": len(figure.numerator), "den": len(figure.denominator),
                        "rate": round(100 * figure.rate, 1), "num_url": base + "&part=numerator",
                        "den_url": base + "&part=denominator"})
        return out

    rows = [{"name": names.get(r["district"], r["district"] or "—"), "cells": cells(r["figures"], r["district"])}
            for r in result["rows"]]
    return render(request, "casework/indicators.html", {
        "period_label": label, "level": level, "area": area, "codes": [(c, kpi.KPIS[c][0] if c in kpi.KPIS else ind.EXTRA[c]) for c in codes],
        "rows": rows,
        "total": cells(result["total"])})


@login_required
def indicator_drill(request):
    """The persons behind one figure (numerator or denominator), within the user's scope."""
    from . import indicators as ind
    from .rules import kpi

    _require(request, models.Person)
    code = request.GET.get("kpi", "K03")
    if code not in kpi.KPIS and code not in ind.EXTRA:
        raise PermissionDenied
    period, label = ind.parse_period(request.GET.get("period", ""))
    part = "numerator" if request.GET.get("part") == "numerator" else "denominator"
    level = "street" if request.GET.get("level") == "street" else "district"
    area = request.GET.get("area", "").strip()
    result = ind.compute(request.user, period, level=level, area_prefix=area if area.isdigit() else "")
    ids = ind.drill_persons(result, code, part, request.GET.get("district", ""))
    persons = models.Person.objects.restrict(request.user, "view").filter(pk__in=ids)
    log_access(AccessLog.Event.SEARCH, object_type="casework.indicator",
               detail={"kpi": code, "period": label, "part": part, "rows": len(ids)})
    table = tables.PersonTable(persons, request=request)
    from django_tables2 import RequestConfig

    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    name = kpi.KPIS[code][0] if code in kpi.KPIS else ind.EXTRA[code]
    return render(request, "casework/indicator_drill.html", {"table": table, "code": code, "name": name,
                                                             "period_label": label, "part": part,
                                                             "district": request.GET.get("district", "")})


class SchedulePolicyListView(generic.ObjectListView):
    model = models.SchedulePolicy
    filterset_class = filtersets.SchedulePolicyFilterSet
    table_class = tables.SchedulePolicyTable


class SchedulePolicyEditView(generic.ObjectEditView):
    """The city edits how often people are seen and tested; the nightly run re-plans from it."""

    model = models.SchedulePolicy
    form_class = forms.SchedulePolicyForm


@login_required
def review_break_glass(request, pk):
    """Weekly review: an office marks a break-glass access as reviewed (logged)."""
    grant = get_object_or_404(models.BreakGlass.objects.restrict(request.user, "approve"), pk=pk)
    if request.method == "POST" and grant.reviewed_at is None:
        models.BreakGlass.objects.filter(pk=grant.pk).update(reviewed_by=request.user, reviewed_at=timezone.now())
        log_access(AccessLog.Event.APPROVE, grant.person, detail={"break_glass_reviewed": grant.pk})
        messages.success(request, _("Marked as reviewed."))
    return redirect("casework:breakglass_list")


@login_required
def download_document(request, pk):
    """A kept document, to those who see the person's file; each download is logged."""
    from django.http import FileResponse

    doc = get_object_or_404(models.CaseDocument.objects.restrict(request.user, "view"), pk=pk)
    log_access(AccessLog.Event.EXPORT, doc.person, reason="document", detail={"document": doc.pk,
                                                                             "kind": doc.kind})
    return FileResponse(doc.file.open("rb"), as_attachment=True,
                        filename=f"{doc.get_kind_display()}-{doc.signed_on}{doc.file.name[-4:]}")


@login_required
def remove_team_member(request, pk):
    member = get_object_or_404(models.WorkTeamMember.objects.restrict(request.user, "change"), pk=pk)
    person_pk = member.measure.person_id
    if request.method == "POST":
        member.delete(audit_message="work-team member removed")
        messages.success(request, _("Removed from the work team."))
    return redirect("casework:person_detail", pk=person_pk)


class RiskInstrumentListView(generic.ObjectListView):
    model = models.RiskInstrument
    filterset_class = filtersets.RiskInstrumentFilterSet
    table_class = tables.RiskInstrumentTable


class RiskInstrumentEditView(generic.ObjectEditView):
    """The city enters its risk instrument as a new version; marking one in use retires the one before."""

    model = models.RiskInstrument
    form_class = forms.RiskInstrumentForm

    def save_object(self, form):
        from .risk_service import put_instrument_in_use

        obj = super().save_object(form)
        if obj.in_use:
            put_instrument_in_use(obj)
        return obj
