"""Pages of the precursor pillar. Views stay thin: reads go through ``restrict``; writes through services."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.permissions import has_perm
from core.views import generic

from . import filtersets, forms, models, services, tables, tracing
from .algorithms.rules import REGISTRY


def _require(request, resource, action="view"):
    if not request.user.is_authenticated:
        raise PermissionDenied
    if not has_perm(request.user, resource, action):
        raise PermissionDenied


def _crud(model, prefix, filterset, table, form=None, *, select_related=(), reason=False, detail=None):
    list_view = type(f"{model.__name__}ListView", (generic.ObjectListView,), {
        "model": model, "filterset_class": filterset, "table_class": table, "select_related": select_related,
        "export_requires_reason": reason})
    detail_view = detail or type(f"{model.__name__}DetailView", (generic.ObjectDetailView,), {"model": model})
    edit_view = type(f"{model.__name__}EditView", (generic.ObjectEditView,), {"model": model, "form_class": form}) \
        if form else None
    delete_view = type(f"{model.__name__}DeleteView", (generic.ObjectDeleteView,), {"model": model}) if form else None
    return generic.crud_urls(model, list_view=list_view, detail_view=detail_view, edit_view=edit_view,
                             delete_view=delete_view, prefix=prefix)


# --- overview -----------------------------------------------------------------------------------------------------

def overview(request):
    _require(request, "precursors.party")
    user = request.user
    year = int(request.GET.get("year") or timezone.localdate().year)
    parties = models.Party.objects.restrict(user, "view")
    alerts = models.Alert.objects.restrict(user, "view").exclude(status="closed")
    by_rule = dict(alerts.values_list("rule_id").annotate(n=Count("id")).order_by("rule_id"))
    coverage = services.inspection_coverage(user, year)
    rules = [{"id": rid, "title": spec.title, "open": by_rule.get(rid, 0), "severity": spec.severity,
              "capture": spec.capture_time} for rid, spec in sorted(REGISTRY.items())]
    chart = {"rules": [r["id"] for r in rules], "open": [r["open"] for r in rules]}
    return render(request, "precursors/overview.html", {
        "year": year, "n_parties": parties.count(), "n_events": models.Event.objects.restrict(user, "view").count(),
        "n_open_alerts": sum(by_rule.values()), "rules": rules, "chart": json.dumps(chart),
        "coverage": coverage.as_dict(), "uninspected": _uninspected(coverage, parties),
        "can_run": has_perm(user, "precursors.alert", "change"),
        "can_plan": has_perm(user, "precursors.inspection", "add")})


def _uninspected(report, parties):
    data = report.as_dict()
    names = dict(parties.values_list("identifier", "name"))
    pks = dict(parties.values_list("identifier", "pk"))
    out = []
    for area in data.get("areas", {}).values():
        for ident in area.get("uninspected", []):
            out.append({"area": area.get("area"), "identifier": ident, "name": names.get(ident, ident),
                        "pk": pks.get(ident)})
    return out


# --- enterprise file (一企一档) ------------------------------------------------------------------------------------

class PartyDetailView(generic.ObjectDetailView):
    model = models.Party
    template_name = "precursors/party_detail.html"

    def get_extra_context(self, obj):
        user = self.request.user
        restricted = lambda m: m.objects.restrict(user, "view")  # noqa: E731
        return {
            "related_tables": [
                (_("Sites"), tables.SiteTable(restricted(models.Site).filter(party=obj), orderable=False)),
                (_("Authorizations"), tables.AuthorizationTable(
                    restricted(models.Authorization).filter(holder=obj), orderable=False)),
                (_("Diversion alerts"), tables.AlertTable(
                    restricted(models.Alert).filter(party=obj).select_related("assignee"), orderable=False)),
                (_("Inspections"), tables.InspectionTable(
                    restricted(models.Inspection).filter(party=obj).select_related("site"), orderable=False)),
                (_("Equipment"), tables.EquipmentTable(restricted(models.Equipment).filter(owner=obj),
                                                       orderable=False)),
                (_("Filings"), tables.FilingTable(restricted(models.Filing).filter(party=obj), orderable=False)),
                (_("Recent shipment tracks"), tables.ShipmentTable(
                    restricted(models.Shipment).filter(Q(party=obj) | Q(carrier=obj))
                    .select_related("party", "carrier").order_by("-departed_at")[:20], orderable=False)),
                (_("Recent events"), tables.EventTable(
                    restricted(models.Event).filter(party=obj).order_by("-event_time")[:20], orderable=False)),
            ],
            "extra_actions": [(_("Ledger (台账)"), f"/precursors/ledger/?party={obj.identifier}")],
        }


class PartyListView(generic.ObjectListView):
    model = models.Party
    filterset_class = filtersets.PartyFilterSet
    table_class = tables.PartyTable

    def get_queryset(self):
        return super().get_queryset().annotate(
            open_alerts=Count("alerts", filter=~Q(alerts__status="closed")))


# --- alerts -------------------------------------------------------------------------------------------------------

class AlertDetailView(generic.ObjectDetailView):
    model = models.Alert
    template_name = "precursors/alert_detail.html"

    def get_extra_context(self, obj):
        spec = REGISTRY.get(obj.rule_id)
        can_handle = has_perm(self.request.user, "precursors.alert", "change")
        events = models.Event.objects.restrict(self.request.user, "view").filter(event_id__in=obj.evidence)
        form = forms.AlertHandleForm(instance=obj) if can_handle else None
        if form is not None:
            form.fields["assignee"].queryset = services.alert_assignees(self.request.user)
        return {"rule": spec, "can_handle": can_handle, "events": tables.EventTable(events, orderable=False),
                "handle_form": form}


@require_POST
def alert_handle(request, pk):
    _require(request, "precursors.alert", "change")
    alert = get_object_or_404(models.Alert.objects.restrict(request.user, "change"), pk=pk)
    form = forms.AlertHandleForm(request.POST, instance=models.Alert.objects.get(pk=pk))
    form.fields["assignee"].queryset = services.alert_assignees(request.user)
    if form.is_valid():
        try:
            services.update_alert(alert, request.user, status=form.cleaned_data["status"],
                                  outcome=form.cleaned_data.get("outcome") or "",
                                  assignee=form.cleaned_data.get("assignee"),
                                  note=form.cleaned_data.get("note_add", ""))
            messages.success(request, _("Alert updated."))
        except ValidationError as exc:
            for field, errs in exc.message_dict.items():
                messages.error(request, f"{field}: {' '.join(errs)}")
    else:
        messages.error(request, form.errors.as_text())
    return redirect("precursors:alert_detail", pk=pk)


@require_POST
def run_rules_now(request):
    """Queue the full rule run as a job (progress on the job page)."""
    _require(request, "precursors.alert", "change")
    from .jobs import enqueue_rules

    job, queued = enqueue_rules(request.user)
    if not queued:
        messages.info(request, _("A run of the rules is already queued or running (since %(time)s); its alerts will "
                                 "appear in the inbox.") % {"time": timezone.localtime(job.created)
                                                            .strftime("%Y-%m-%d %H:%M")})
        return redirect("precursors:overview")
    return redirect(job.get_absolute_url())


# --- trace --------------------------------------------------------------------------------------------------------

def trace_page(request):
    _require(request, "precursors.event")
    seed_kind = request.GET.get("kind", "epc_class")
    seed = request.GET.get("seed", "").strip()
    direction = request.GET.get("direction", "back")
    result, error = None, ""
    if seed:
        if not tracing.seed_visible(request.user, seed):
            error = _("No events you may see name this identifier.")
        else:
            kind = {"waybill": "biz_transaction"}.get(seed_kind, seed_kind)
            result = tracing.visible_to(tracing.trace(seed, direction="forward" if direction == "forward" else "back",
                                                      kind=kind), request.user)
    names = dict(models.Party.objects.restrict(request.user, "view").values_list("identifier", "name"))
    urls = {ident: reverse("precursors:party_detail", args=[pk]) for ident, pk in
            models.Party.objects.restrict(request.user, "view").values_list("identifier", "pk")} if result else {}
    graph = _graph(result, names, urls) if result else None
    rows = [{"hop": n["hop"], "party": names.get(n.get("party") or "", n.get("party") or ""),
             "site": n.get("site") or "", "ident": n.get("lot") or n.get("container") or n.get("id"),
             "quantity_in": n.get("quantity_in"), "quantity_out": n.get("quantity_out"),
             "unaccounted": n.get("unaccounted") or 0.0, "permits": ", ".join(n.get("permits") or ()),
             "gaps": "; ".join(f"{g.get('kind', '')} {g.get('kg') or 0:.1f}" for g in n.get("gaps") or ())}
            for n in (result or {}).get("nodes", ())]
    return render(request, "precursors/trace.html", {
        "seed": seed, "seed_kind": seed_kind, "direction": direction, "result": result, "error": error,
        "graph": json.dumps(graph) if graph else "", "rows": rows})


def _graph(result, names, urls):
    """Nodes and links for the sankey (quantities in kg), labelled with the registry's names where known; a click
    on a node opens the party's file or the events behind it."""
    nodes, links = [], []
    for n in result["nodes"]:
        party = n.get("party") or ""
        label = f"{names.get(party, party)} · {n.get('lot') or n.get('container') or ''}"
        nodes.append({"id": n["id"], "name": label[:80], "party": party, "unaccounted": n.get("unaccounted"),
                      "quantity_in": n.get("quantity_in"), "quantity_out": n.get("quantity_out"), "hop": n["hop"],
                      "party_url": urls.get(party, ""), "events": list(n.get("event_ids") or ())[:10]})
    ids = {n["id"] for n in nodes}
    for e in result["edges"]:
        if e.get("source") in ids and e.get("target") in ids and e.get("source") != e.get("target"):
            links.append({"source": e["source"], "target": e["target"], "value": max(e.get("kg") or 0.0, 0.001),
                          "kind": e.get("kind"), "time": e.get("time")})
    return {"nodes": nodes, "links": links}


# --- ledger -------------------------------------------------------------------------------------------------------

def ledger_page(request):
    """台账: per party × site × substance × month, from the events; exportable in the enterprise format."""
    from .ledger_service import ledger_rows, ledger_workbook

    _require(request, "precursors.event")
    user = request.user
    parties = models.Party.objects.restrict(user, "view").order_by("name")
    ident = request.GET.get("party") or (parties.first().identifier if parties.exists() else "")
    if ident and not parties.filter(identifier=ident).exists():
        raise Http404
    year = int(request.GET.get("year") or timezone.localdate().year)
    rows = ledger_rows(ident, year) if ident else []
    if request.GET.get("format") == "xlsx":
        _require(request, "precursors.event", "export")
        return ledger_workbook(rows, ident, year, user)
    return render(request, "precursors/ledger.html", {"parties": parties[:500], "party": ident, "year": year,
                                                      "rows": rows})


# --- web report (one movement) ------------------------------------------------------------------------------------

def report_page(request):
    """Report one movement through a form; it becomes the same EPCIS event the API and the Excel ledger make."""
    from .capture import CaptureRefused, capture
    from .reporting import MovementForm, movement_document

    _require(request, "precursors.event", "add")
    form = MovementForm(request.POST or None, user=request.user)
    result = None
    if request.method == "POST" and form.is_valid():
        doc = movement_document([form.cleaned_data])
        try:
            result = capture(doc, user=request.user, party=form.cleaned_data["party"], channel="web").as_dict()
            messages.success(request, _("Reported: %(n)d new event(s).") % {"n": result["new"]})
        except CaptureRefused as exc:
            for err in exc.errors:
                form.add_error(None, f"{err['path']}: {err['message']}")
    return render(request, "precursors/report.html", {"form": form, "result": result})


# --- inspections --------------------------------------------------------------------------------------------------

class InspectionDetailView(generic.ObjectDetailView):
    model = models.Inspection
    template_name = "precursors/inspection_detail.html"

    def get_extra_context(self, obj):
        can = has_perm(self.request.user, "precursors.inspection", "change")
        return {"record_form": forms.InspectionRecordForm(checklist=services.CHECKLIST) if can and not obj.done_at
                else None, "can_recheck": can and obj.status == "rectifying",
                "checks": [(label, obj.checklist.get(key, "")) for key, label in services.CHECKLIST],
                "counts": obj.stock_checks.all()}


@require_POST
def inspection_record(request, pk):
    _require(request, "precursors.inspection", "change")
    insp = get_object_or_404(models.Inspection.objects.restrict(request.user, "change"), pk=pk)
    form = forms.InspectionRecordForm(request.POST, checklist=services.CHECKLIST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.record_inspection(insp, request.user, inspectors=d["inspectors"], findings=d["findings"],
                                       checklist={k: d[f"check_{k}"] for k, _ in services.CHECKLIST},
                                       counts=d["counts"], rectify_by=d.get("rectify_by"))
            messages.success(request, _("Inspection recorded."))
        except ValidationError as exc:
            for field, errs in exc.message_dict.items():
                messages.error(request, f"{field}: {' '.join(errs)}")
    else:
        messages.error(request, form.errors.as_text())
    return redirect("precursors:inspection_detail", pk=pk)


@require_POST
def inspection_recheck(request, pk):
    _require(request, "precursors.inspection", "change")
    insp = get_object_or_404(models.Inspection.objects.restrict(request.user, "change"), pk=pk)
    try:
        services.recheck_inspection(insp, request.user, passed=request.POST.get("passed") == "1",
                                    note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(sum(exc.message_dict.values(), [])))
    return redirect("precursors:inspection_detail", pk=pk)


def inspection_plan(request):
    _require(request, "precursors.inspection", "add")
    form = forms.InspectionPlanForm(request.POST or None, initial={"year": timezone.localdate().year})
    if request.method == "POST" and form.is_valid():
        n = services.plan_inspections(form.cleaned_data["year"], request.user,
                                      area_prefix=form.cleaned_data.get("area") or "")
        messages.success(request, _("%(n)d inspection(s) planned.") % {"n": n})
        return redirect("precursors:inspection_list")
    return render(request, "core/object_edit.html", {"form": form, "title": _("Plan the year's inspections")})


# --- cultivation patrols ------------------------------------------------------------------------------------------

class SurveyAreaDetailView(generic.ObjectDetailView):
    model = models.SurveyArea
    template_name = "precursors/surveyarea_detail.html"

    def get_extra_context(self, obj):
        flights = obj.flights.all()
        can = has_perm(self.request.user, "precursors.surveyflight", "add")
        return {"related_tables": [(_("Flights"), tables.SurveyFlightTable(flights, orderable=False)),
                                   (_("Findings"), tables.PatrolFindingTable(obj.findings.all(), orderable=False))],
                "map": json.dumps({"area": obj.polygon, "footprints": [f.footprint for f in flights if f.footprint],
                                   "findings": [[f.lon, f.lat, f.kind] for f in obj.findings.all()]}),
                "flight_form": forms.SurveyFlightForm() if can else None}


@require_POST
def flight_add(request, pk):
    _require(request, "precursors.surveyflight", "add")
    area = get_object_or_404(models.SurveyArea.objects.restrict(request.user, "view"), pk=pk)
    form = forms.SurveyFlightForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        services.add_flight(area, request.user, kind=d["kind"], flown_on=d["flown_on"], pilot=d["pilot"],
                            altitude_m=d["altitude_m"], hfov_deg=d["hfov_deg"], vfov_deg=d.get("vfov_deg"),
                            track=d["track"])
        messages.success(request, _("Flight recorded; coverage recomputed."))
    else:
        messages.error(request, form.errors.as_text())
    return redirect("precursors:surveyarea_detail", pk=pk)





# --- shipment tracks (R29) ------------------------------------------------------------------------------------------

class ShipmentDetailView(generic.ObjectDetailView):
    model = models.Shipment
    template_name = "precursors/shipment_detail.html"

    #: a long track is drawn from every n-th fix and its table shows the latest fixes (all are in the JSON link)
    MAP_POINTS, TABLE_ROWS = 2000, 300

    def get_extra_context(self, obj):
        fixes = list(obj.fixes.order_by("time").values_list("time", "lon", "lat"))
        alerts = models.Alert.objects.restrict(self.request.user, "view").filter(dedup_key=f"R29:{obj.rule_key()}")
        local = timezone.localtime
        drawn = fixes[::-(-len(fixes) // self.MAP_POINTS)] if fixes else []
        if fixes and drawn[-1] is not fixes[-1]:
            drawn.append(fixes[-1])
        latest = obj.fixes.order_by("-time")[:self.TABLE_ROWS]
        title = _("GPS fixes") if len(fixes) <= self.TABLE_ROWS else \
            _("GPS fixes (the latest %(n)d of %(total)d)") % {"n": self.TABLE_ROWS, "total": len(fixes)}
        return {"map": json.dumps({"route": obj.planned_route,
                                   "fixes": [[x, y, local(t).strftime("%m-%d %H:%M")] for t, x, y in drawn]}),
                "n_fixes": len(fixes), "alerts": alerts,
                "first_fix": local(fixes[0][0]) if fixes else None, "last_fix": local(fixes[-1][0]) if fixes else None,
                "can_import": has_perm(self.request.user, "precursors.shipmentfix", "import"),
                "related_tables": [(title, tables.ShipmentFixTable(latest, orderable=False))]}


# --- equipment ----------------------------------------------------------------------------------------------------

class EquipmentDetailView(generic.ObjectDetailView):
    model = models.Equipment
    template_name = "precursors/equipment_detail.html"

    def get_extra_context(self, obj):
        can = has_perm(self.request.user, "precursors.equipment", "change")
        form = forms.EquipmentTransferForm() if can else None
        if form is not None:
            form.fields["to_party"].queryset = models.Party.objects.restrict(self.request.user, "view")
        alerts = models.Alert.objects.restrict(self.request.user, "view").filter(dedup_key=f"R28:{obj.pk}")
        return {"related_tables": [(_("Transfers"), tables.EquipmentTransferTable(obj.transfers.all(),
                                                                                  orderable=False))],
                "transfer_form": form, "alerts": alerts}


@require_POST
def equipment_transfer(request, pk):
    _require(request, "precursors.equipment", "change")
    eq = get_object_or_404(models.Equipment.objects.restrict(request.user, "change"), pk=pk)
    form = forms.EquipmentTransferForm(request.POST)
    form.fields["to_party"].queryset = models.Party.objects.restrict(request.user, "view")
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.transfer_equipment(eq, request.user, date=d["date"], to_party=d.get("to_party"),
                                        to_name=d.get("to_name", ""), note=d.get("note", ""))
            messages.success(request, _("Transfer recorded."))
        except ValidationError as exc:
            messages.error(request, " ".join(sum(exc.message_dict.values(), [])))
    else:
        messages.error(request, form.errors.as_text())
    return redirect("precursors:equipment_detail", pk=pk)
