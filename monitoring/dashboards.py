"""Dashboard, fused view per area, chart data, report and alert-run triggers."""

import datetime as dt
import json
from collections import defaultdict

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import log_access
from core.jobs import enqueue
from core.models import AccessLog
from core.permissions import model_perm
from geo.codes import prefix_of
from geo.models import Division

from . import models, services
from .choices import AlertSource
from .algorithms.trend import level_against_history, trend_class
from .residues import residue_label

DASHBOARD_RESIDUES = ("methamphetamine", "ketamine", "morphine")
LEVEL_LABELS = {"very_low": gettext_lazy("very low"), "low": gettext_lazy("low"), "moderate": gettext_lazy("moderate"),
                "high": gettext_lazy("high"), "very_high": gettext_lazy("very high"),
                "insufficient_data": gettext_lazy("insufficient data")}
TREND_LABELS = {"sustained_decrease": gettext_lazy("sustained decrease"), "decrease": gettext_lazy("decrease"),
                "plateau": gettext_lazy("plateau"), "increase": gettext_lazy("increase"),
                "sustained_increase": gettext_lazy("sustained increase"),
                "insufficient_data": gettext_lazy("insufficient data")}
LEVEL_COLOURS = {"very_low": "#2e7d32", "low": "#8bc34a", "moderate": "#fbc02d", "high": "#f57c00",
                 "very_high": "#c62828", "insufficient_data": "#9e9e9e"}


def _require(request, model, action="view"):
    if not model_perm(request.user, model, action):
        raise PermissionDenied


def _user_prefix(request) -> str:
    scope = request.user.scope_for("view")
    if scope.is_global:
        return ""
    return scope.area_prefix or "-"


def _weekly_pnl(plant_ids, residue, weeks=104):
    since = dt.date.today() - dt.timedelta(weeks=weeks)
    series = defaultdict(list)
    for plant_id, day, pnl, low, high in models.LoadEstimate.objects.filter(
            plant_id__in=plant_ids, residue=residue, sample_date__gte=since).order_by("sample_date").values_list(
            "plant_id", "sample_date", "pnl_mg_d_1000", "pnl_low", "pnl_high"):
        series[plant_id].append((day, pnl, low, high))
    return series


@login_required
def dashboard(request):
    _require(request, models.LoadEstimate)
    prefix = _user_prefix(request)
    plants = list(models.TreatmentPlant.objects.restrict(request.user, "view").filter(is_active=True))
    residue = request.GET.get("residue", "methamphetamine")
    rows = []
    series = _weekly_pnl([p.pk for p in plants], residue)
    district_levels = defaultdict(list)
    for plant in plants:
        points = series.get(plant.pk, [])
        values = [p[1] for p in points if p[1] is not None]
        if not values:
            rows.append({"plant": plant, "latest": None})
            continue
        percentile, level = level_against_history(values[-1], values[:-1])
        trend = trend_class(values[-5:])
        rows.append({"plant": plant, "latest": points[-1], "level": LEVEL_LABELS.get(level, level),
                     "percentile": percentile, "trend": TREND_LABELS.get(trend, trend),
                     "colour": LEVEL_COLOURS.get(level, "#9e9e9e")})
        district_levels[plant.district_code].append((level, values[-1]))
    order = ["very_low", "low", "moderate", "high", "very_high"]
    districts = []
    for division in Division.objects.filter(level="district", code__startswith=prefix if prefix != "-" else "x"):
        levels = [lv for lv, _v in district_levels.get(division.code, []) if lv in order]
        worst = max(levels, key=order.index) if levels else "insufficient_data"
        districts.append({"code": division.code, "name": division.name, "level": worst,
                          "level_label": str(LEVEL_LABELS[worst]), "colour": LEVEL_COLOURS[worst],
                          "plants": len(district_levels.get(division.code, []))})
    coverage = services.monitoring_coverage(prefix if prefix not in ("", "-") else "3205")
    alerted = models.Alert.objects.restrict(request.user, "view").filter(
        source="wastewater", definition__plant__isnull=False).exclude(status="closed").order_by("-period") \
        .values_list("definition__plant__code", flat=True).first()
    selected = request.GET.get("plant") or alerted or (plants[0].code if plants else "")
    open_alerts = models.Alert.objects.restrict(request.user, "view").exclude(status="closed")
    return render(request, "monitoring/dashboard.html", {
        "rows": rows, "districts": districts, "districts_json": districts, "residue": residue, "residue_label": residue_label(residue),
        "residues": [(code, residue_label(code)) for code in DASHBOARD_RESIDUES], "selected": selected,
        "coverage": coverage, "coverage_rows": [(districts_name(code), value) for code, value in
                                                sorted(coverage.by_area.items())],
        "open_alerts": open_alerts.count(),
        "alerts_by_source": [(source, AlertSource(source).label, n) for source, n in
                             open_alerts.values_list("source").annotate(n=Count("id")).order_by("-n")],
        "boundaries": list(models.AreaBoundary.objects.values_list("area_code", flat=True)),
        "legend": [(LEVEL_LABELS[k], v) for k, v in LEVEL_COLOURS.items()],
        "can_run_alerts": model_perm(request.user, models.Alert, "change"),
    })


def districts_name(code):
    division = Division.objects.filter(code=code).first()
    return division.name if division else code


@login_required
def plant_chart(request, code, residue):
    """ECharts data for one plant and residue: PNL with its 95 % band, and the alerts raised."""
    _require(request, models.LoadEstimate)
    plant = get_object_or_404(models.TreatmentPlant.objects.restrict(request.user, "view"), code=code)
    points = _weekly_pnl([plant.pk], residue).get(plant.pk, [])
    alerts = models.Alert.objects.restrict(request.user, "view").filter(
        definition__plant=plant, definition__indicator=f"wbe_pnl:{residue}")
    return JsonResponse({
        "plant": str(plant), "residue": residue_label(residue),
        "dates": [p[0].isoformat() for p in points],
        "pnl": [p[1] for p in points], "low": [p[2] for p in points], "high": [p[3] for p in points],
        "alerts": [{"date": a.period.isoformat(), "value": a.value, "url": a.get_absolute_url()} for a in alerts],
    })


@login_required
def fused(request):
    """Wastewater, screening, forensic, controlled-medicine and other alerts of one area, month by month."""
    _require(request, models.Alert)
    user_prefix = _user_prefix(request)
    area = request.GET.get("area") or (user_prefix if user_prefix not in ("", "-") else "320500")
    division = Division.objects.filter(code=area).first() or Division.objects.filter(code__startswith=area).first()
    prefix = prefix_of(division.code) if division else area
    if user_prefix not in ("",) and not prefix.startswith(user_prefix):
        raise PermissionDenied
    end = dt.date.today().replace(day=1)
    months = []
    current = (end - dt.timedelta(days=365)).replace(day=1)
    while current <= end:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    start = months[0]
    pnl = defaultdict(lambda: defaultdict(lambda: ([], [])))
    for residue, value, pop, day in models.LoadEstimate.objects.filter(
            plant__area_code__startswith=prefix, sample_date__gte=start, residue__in=DASHBOARD_RESIDUES[:2],
            pnl_mg_d_1000__isnull=False).values_list("residue", "pnl_mg_d_1000", "population", "sample_date"):
        pnl[residue][day.replace(day=1)][0].append(value)
        pnl[residue][day.replace(day=1)][1].append(pop)
    from .algorithms.wbe import population_weighted_mean

    screening = {row["month"]: row for row in services.screening_positivity(prefix, start, dt.date.today())}
    forensic = defaultdict(int)
    for day in models.ForensicIdentification.objects.filter(area_code__startswith=prefix, is_nps=True,
                                                            identified_on__gte=start).values_list("identified_on",
                                                                                                  flat=True):
        forensic[day.replace(day=1)] += 1
    alerts = defaultdict(lambda: defaultdict(int))
    for source, day in models.Alert.objects.filter(area_code__startswith=prefix, period__gte=start).values_list(
            "source", "period"):
        alerts[day.replace(day=1)][source] += 1
    table = []
    for month in months:
        meth = pnl["methamphetamine"].get(month)
        ket = pnl["ketamine"].get(month)
        row = screening.get(month, {})
        table.append({
            "month": month,
            "meth": population_weighted_mean(*meth) if meth else None,
            "ket": population_weighted_mean(*ket) if ket else None,
            "tested": row.get("tested"), "positive": row.get("positive"), "rate": row.get("rate"),
            "nps": forensic.get(month, 0), "alerts": dict(alerts.get(month, {})),
            "alert_badges": [(source, AlertSource(source).label, n) for source, n in sorted(alerts.get(month,
                                                                                                     {}).items())],
            "rate_pct": round(row["rate"] * 100, 1) if row.get("rate") is not None else None,
        })
    log_access(AccessLog.Event.SEARCH, object_type="monitoring.fused", detail={"area": area})
    choices = Division.objects.filter(level="district", code__startswith=user_prefix if user_prefix != "-" else "x")
    return render(request, "monitoring/fused.html", {
        "area": division, "table": table, "districts": choices,
        "chart": json.dumps({"months": [m.strftime("%Y-%m") for m in months],
                             "meth": [r["meth"] for r in table], "ket": [r["ket"] for r in table],
                             "rate": [round(r["rate"] * 100, 2) if r["rate"] is not None else None for r in table],
                             "nps": [r["nps"] for r in table],
                             "alerts": [sum(r["alerts"].values()) for r in table]}),
        "not_available": [_("Seizures (enforcement pillar not built yet)"),
                          _("Precursor-chemical alerts (precursors pillar not built yet)")],
    })


class ReportForm(forms.Form):
    month = forms.DateField(label=gettext_lazy("month"), widget=forms.DateInput(attrs={"type": "month"}),
                            input_formats=["%Y-%m", "%Y-%m-%d"])
    area_code = forms.CharField(label=gettext_lazy("area code"), max_length=15)


@login_required
def new_report(request):
    _require(request, models.MonthlyReport, "add")
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    default_area = request.user.area_code[:6] if request.user.area_code else "320500"
    form = ReportForm(request.POST or None, initial={"month": last_month.strftime("%Y-%m"), "area_code": default_area})
    if request.method == "POST" and form.is_valid():
        report = models.MonthlyReport(month=form.cleaned_data["month"].replace(day=1),
                                      area_code=form.cleaned_data["area_code"])
        report.save()
        if not models.MonthlyReport.objects.restrict(request.user, "add").filter(pk=report.pk).exists():
            report.delete()
            raise PermissionDenied
        job = enqueue("monitoring.monthly_report", _("Monthly report %(month)s") % {
            "month": report.month.strftime("%Y-%m")}, request.user, report_id=report.pk)
        models.MonthlyReport.objects.filter(pk=report.pk).update(job=job)
        target = reverse("monitoring:monthlyreport_detail", args=[report.pk])
        return redirect(f"{reverse('core:job_detail', args=[job.pk])}?next={target}")
    return render(request, "core/object_edit.html", {"form": form, "verbose_name": _("monthly report")})


@login_required
def download_report(request, pk):
    report = get_object_or_404(models.MonthlyReport.objects.restrict(request.user, "view"), pk=pk)
    if not report.file_path:
        raise Http404
    log_access(AccessLog.Event.EXPORT, report, detail={"kind": "monthly report"})
    return FileResponse(open(report.file_path, "rb"), as_attachment=True,
                        filename=f"毒情月报-{report.area_code}-{report.month:%Y-%m}.docx")


@login_required
def run_alerts(request):
    _require(request, models.Alert, "change")
    if request.method != "POST":
        return redirect("monitoring:alert_list")
    prefix = _user_prefix(request)
    job = enqueue("monitoring.run_alerts", _("Early-warning run"), request.user,
                  area_prefix="" if prefix == "" else prefix)
    return redirect(f"{reverse('core:job_detail', args=[job.pk])}?next={reverse('monitoring:alert_list')}")


class BoundaryUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("GeoJSON file (FeatureCollection; properties.adcode = area code)"))
    source = forms.CharField(label=gettext_lazy("source"), max_length=300, required=False)


@login_required
def upload_boundaries(request):
    _require(request, models.AreaBoundary, "add")
    form = BoundaryUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = json.loads(form.cleaned_data["file"].read().decode("utf-8"))
            features = data["features"]
            rows = [(str(f["properties"]["adcode"]), f["geometry"]) for f in features]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            form.add_error("file", _("Not a GeoJSON FeatureCollection with properties.adcode: %(error)s")
                           % {"error": exc})
        else:
            for code, geometry in rows:
                boundary = models.AreaBoundary.objects.filter(area_code=code).first() or models.AreaBoundary(
                    area_code=code)
                boundary.geojson, boundary.source = geometry, form.cleaned_data["source"]
                boundary.save()
            messages.success(request, _("%(n)d boundaries loaded.") % {"n": len(rows)})
            return redirect("monitoring:dashboard")
    return render(request, "core/object_edit.html", {"form": form, "verbose_name": _("area boundaries")})


@login_required
def boundaries_geojson(request):
    _require(request, models.LoadEstimate)
    features = [{"type": "Feature", "properties": {"adcode": code, "name": districts_name(code)}, "geometry": geo}
                for code, geo in models.AreaBoundary.objects.values_list("area_code", "geojson")]
    return JsonResponse({"type": "FeatureCollection", "features": features})



@login_required
def series(request):
    """Monthly series per area and drug: forensic identifications (incl. NPS) or screening positivity,
    each month linking to the records behind it."""
    kind = request.GET.get("kind", "forensic")
    model = models.ForensicIdentification if kind == "forensic" else models.ScreeningResult
    _require(request, model)
    user_prefix = _user_prefix(request)
    area = request.GET.get("area", "")
    prefix = prefix_of(area) if area else (user_prefix if user_prefix != "-" else "x")
    if user_prefix not in ("",) and not prefix.startswith(user_prefix):
        raise PermissionDenied
    since = (dt.date.today() - dt.timedelta(days=730)).replace(day=1)
    counts = defaultdict(lambda: defaultdict(int))
    tested = defaultdict(int)
    if kind == "forensic":
        rows = models.ForensicIdentification.objects.restrict(request.user, "view").filter(
            area_code__startswith=prefix, identified_on__gte=since).values_list("substance", "identified_on")
        for substance, day in rows:
            counts[substance][day.replace(day=1)] += 1
    else:
        batches = models.ScreeningBatch.objects.restrict(request.user, "view").filter(area_code__startswith=prefix,
                                                                                       collected_on__gte=since)
        for day, n in batches.values_list("collected_on", "tested"):
            tested[day.replace(day=1)] += n
        for drug, day, positive in models.ScreeningResult.objects.filter(batch__in=batches).values_list(
                "drug", "batch__collected_on", "positive"):
            counts[drug][day.replace(day=1)] += positive
    months = []
    current = since
    while current <= dt.date.today():
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    drugs = sorted(counts, key=lambda d: -sum(counts[d].values()))[:12]
    table = [{"month": m, "values": [counts[d].get(m, 0) for d in drugs], "tested": tested.get(m)} for m in months]
    chart = {"months": [m.strftime("%Y-%m") for m in months],
             "series": [{"name": d, "data": [counts[d].get(m, 0) for m in months]} for d in drugs]}
    return render(request, "monitoring/series.html", {
        "kind": kind, "area": area, "drugs": drugs, "table": table, "chart": chart,
        "districts": Division.objects.filter(level="district", code__startswith=user_prefix if user_prefix != "-"
                                             else "x"),
        "list_url": reverse("monitoring:forensicidentification_list" if kind == "forensic"
                            else "monitoring:screeningbatch_list"),
    })
