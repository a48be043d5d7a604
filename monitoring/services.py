"""Business actions of the monitoring pillar. Every write goes through here, whichever door it came
in by (web form, Excel import, lab API, demo), and is audited."""

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from core.audit import log_changes_bulk

from . import models
from .choices import SampleType
from .algorithms import wbe
from .parameters import factor_for

# Relative uncertainties used by the Monte Carlo interval when a plant has no better figures
# (research §1.4/§1.6: analytical RSD 6–26 %, flow 5–10 %, population 7–55 %). Parameters, not facts.
DEFAULT_RSD = {"concentration": 0.15, "flow": 0.10, "population": 0.20}
MC_DRAWS = 10_000
LOQ_POLICY = "zero"  # below the limit of quantification counts as 0 (EUDA publishes "not quantified")


# --- recording -----------------------------------------------------------------------------------

@transaction.atomic
def record_lab_result(plant, sample_date, flow_m3_d, residue, concentration_ng_l, loq_ng_l, *, lab=None):
    """Store one residue result of a plant's day, creating or updating the day's sample, and refresh
    its back-calculation."""
    sample = models.Sample.objects.filter(plant=plant, sample_date=sample_date,
                                          sample_type=SampleType.COMPOSITE_24H).first()
    if sample is None:
        sample = models.Sample(plant=plant, sample_date=sample_date, flow_m3_d=flow_m3_d, lab=lab)
        sample.save()
    elif sample.flow_m3_d != flow_m3_d or (lab is not None and sample.lab_id is None):
        sample.flow_m3_d = flow_m3_d
        sample.lab = sample.lab or lab
        sample.save(audit_message="updated by a lab result")
    measurement = models.Measurement.objects.filter(sample=sample, residue=residue).first() or \
        models.Measurement(sample=sample, residue=residue)
    measurement.concentration_ng_l = concentration_ng_l
    measurement.loq_ng_l = loq_ng_l
    measurement.save()
    refresh_estimates(models.Measurement.objects.filter(sample=sample))
    return measurement


@transaction.atomic
def record_flow(plant, sample_date, flow_m3_d):
    """Set a plant's daily flow; the day's back-calculations follow."""
    sample = models.Sample.objects.filter(plant=plant, sample_date=sample_date,
                                          sample_type=SampleType.COMPOSITE_24H).first()
    if sample is None:
        sample = models.Sample(plant=plant, sample_date=sample_date, flow_m3_d=flow_m3_d)
        sample.save()
    elif sample.flow_m3_d != flow_m3_d:
        sample.flow_m3_d = flow_m3_d
        sample.save(audit_message="flow file")
        refresh_estimates(models.Measurement.objects.filter(sample=sample))
    return sample


@transaction.atomic
def record_screening_result(*, reference, area_code, population_group, sample_type, collected_on, tested, drug,
                            positive, lab=None):
    batch = models.ScreeningBatch.objects.filter(reference=reference).first()
    if batch is None:
        batch = models.ScreeningBatch(reference=reference, lab=lab)
    changed = (batch.pk is None or batch.area_code != area_code or batch.population_group != population_group
               or batch.sample_type != sample_type or batch.collected_on != collected_on or batch.tested != tested)
    if changed:
        batch.area_code, batch.population_group, batch.sample_type = area_code, population_group, sample_type
        batch.collected_on, batch.tested = collected_on, tested
        batch.save()
    result = models.ScreeningResult.objects.filter(batch=batch, drug=drug).first() or \
        models.ScreeningResult(batch=batch, drug=drug)
    if result.pk is None or result.positive != positive:
        result.positive = positive
        result.save()
    return result


def bulk_create_audited(objects: list, message: str) -> list:
    """Insert many rows at once and still write one change-log entry per row (demo data, feeds)."""
    if not objects:
        return objects
    model = type(objects[0])
    with transaction.atomic():
        created = model.objects.bulk_create(objects, batch_size=2000)
        log_changes_bulk(created, "create", message=message)
    return created


# --- back-calculation ----------------------------------------------------------------------------

def _population_for(plant, day, cache):
    key = (plant.pk, day)
    if key not in cache:
        estimate = plant.population_on(day) or plant.population_estimates.order_by("valid_from").first()
        cache[key] = estimate
    return cache[key]


def refresh_estimates(measurements, *, draws: int = MC_DRAWS, seed: int | None = 20231123) -> int:
    """(Re)compute the LoadEstimate of each measurement: every stage, the factor and population used,
    and the Monte Carlo 95 % interval. Vectorised over all measurements given."""
    measurements = list(measurements.select_related("sample__plant") if hasattr(measurements, "select_related")
                        else measurements)
    if not measurements:
        return 0
    population_cache, factor_cache = {}, {}
    rows = []
    for m in measurements:
        plant, day = m.sample.plant, m.sample.sample_date
        pop = _population_for(plant, day, population_cache)
        if pop is None:
            continue  # no population yet: nothing can be normalised
        fkey = (m.residue, day)
        if fkey not in factor_cache:
            factor_cache[fkey] = factor_for(m.residue, day)
        factor = factor_cache[fkey]
        result = wbe.back_calculate(m.concentration_ng_l, m.sample.flow_m3_d, pop.population,
                                    cf=factor.cf if factor else None,
                                    dose_mg=factor.typical_dose_mg if factor else None,
                                    loq_ng_l=m.loq_ng_l, loq_policy=LOQ_POLICY)
        rows.append((m, plant, day, pop, factor, result))
    intervals = _monte_carlo_intervals(rows, draws=draws, seed=seed)
    estimates = []
    for (m, plant, day, pop, factor, result), interval in zip(rows, intervals):
        estimates.append(models.LoadEstimate(
            measurement=m, plant=plant, sample_date=day, residue=m.residue, population=pop.population,
            population_method=pop.method, correction_factor=factor, loq_rule=result.loq_rule,
            load_mg_d=result.load_mg_d, pnl_mg_d_1000=result.pnl_mg_d_1000,
            consumption_mg_d_1000=result.consumption_mg_d_1000, doses_d_1000=result.doses_d_1000, **interval))
    with transaction.atomic():
        models.LoadEstimate.objects.filter(measurement__in=[e.measurement for e in estimates]).delete()
        models.LoadEstimate.objects.bulk_create(estimates, batch_size=2000)
    return len(estimates)


def _monte_carlo_intervals(rows, *, draws, seed):
    import numpy as np

    empty = {"pnl_low": None, "pnl_high": None, "consumption_low": None, "consumption_high": None}
    if not rows:
        return []
    usable = [i for i, r in enumerate(rows) if r[5].pnl_mg_d_1000 not in (None, 0)]
    intervals = [dict(empty) for _ in rows]
    if not usable or not draws:
        return intervals
    conc = np.array([rows[i][5].concentration_used_ng_l for i in usable], dtype=float)
    flow = np.array([rows[i][0].sample.flow_m3_d for i in usable], dtype=float)
    pop = np.array([rows[i][3].population for i in usable], dtype=float)
    cf = np.array([(rows[i][4].cf if rows[i][4] and rows[i][4].cf else np.nan) for i in usable], dtype=float)
    cf_rsd = np.array([(rows[i][4].cf_rsd if rows[i][4] and rows[i][4].cf_rsd else 0.0) for i in usable])
    mc = wbe.monte_carlo(conc, flow, pop, np.nan_to_num(cf, nan=1.0), rsd_concentration=DEFAULT_RSD["concentration"],
                         rsd_flow=DEFAULT_RSD["flow"], rsd_population=DEFAULT_RSD["population"], rsd_cf=cf_rsd,
                         draws=draws, seed=seed)
    for j, i in enumerate(usable):
        has_cf = not np.isnan(cf[j])
        intervals[i] = {
            "pnl_low": float(mc.pnl_p2_5[j]), "pnl_high": float(mc.pnl_p97_5[j]),
            "consumption_low": float(mc.consumption_p2_5[j]) if has_cf else None,
            "consumption_high": float(mc.consumption_p97_5[j]) if has_cf else None,
        }
    return intervals


def estimate(residue: str, concentration_ng_l: float, flow_m3_d: float, population: float, *, cf: float | None = None,
             on: dt.date | None = None, loq_ng_l: float | None = None) -> dict:
    """The stage-by-stage back-calculation the API answers (POST /api/monitoring/wbe/estimate)."""
    factor = factor_for(residue, on)
    factor_source = None
    if cf is None and factor is not None:
        cf, factor_source = factor.cf, {"version": factor.version, "source": factor.source, "status": factor.status,
                                        "excretion_fraction": factor.excretion_fraction,
                                        "valid_from": factor.valid_from.isoformat()}
    elif cf is not None:
        factor_source = {"source": "given by the caller"}
    result = wbe.back_calculate(concentration_ng_l, flow_m3_d, population, cf=cf,
                                dose_mg=factor.typical_dose_mg if factor else None, loq_ng_l=loq_ng_l,
                                loq_policy=LOQ_POLICY)
    return {
        "residue": residue,
        "load_mg_d": result.load_mg_d,
        "pnl_mg_d_1000": result.pnl_mg_d_1000,
        "consumption_mg_d_1000": result.consumption_mg_d_1000,
        "doses_d_1000": result.doses_d_1000,
        "correction_factor": cf,
        "factor": factor_source,
        "typical_dose_mg": factor.typical_dose_mg if factor else None,
        "loq_rule": result.loq_rule,
        "chinese_units": {
            "flow_10k_m3_d": flow_m3_d / 1e4,
            "population_thousand": population / 1e3,
            "pnl_mg_d_1000": wbe.pnl_chinese_units(result.concentration_used_ng_l or 0.0, flow_m3_d / 1e4,
                                                   population / 1e3),
        },
    }


# --- aggregation ---------------------------------------------------------------------------------

def district_weighted_pnl(residue: str, start: dt.date, end: dt.date, area_prefix: str = "") -> dict:
    """Population-weighted mean PNL per district and for the whole area, per ISO week.

    Returns {week_start: {district_code: value, "all": value}}.
    """
    qs = models.LoadEstimate.objects.filter(residue=residue, sample_date__gte=start, sample_date__lte=end,
                                            pnl_mg_d_1000__isnull=False)
    if area_prefix:
        qs = qs.filter(plant__area_code__startswith=area_prefix)
    by_week = defaultdict(lambda: defaultdict(lambda: ([], [])))
    for pnl, pop, day, area in qs.values_list("pnl_mg_d_1000", "population", "sample_date", "plant__area_code"):
        week = day - dt.timedelta(days=day.weekday())
        for key in (area[:6], "all"):
            values, weights = by_week[week][key]
            values.append(pnl)
            weights.append(pop)
    return {week: {key: wbe.population_weighted_mean(v, w) for key, (v, w) in groups.items()}
            for week, groups in sorted(by_week.items())}


def monitoring_coverage(city_prefix: str = "3205") -> dict:
    """Population served by active monitored plants over the resident population, per district
    (the "污水毒情监测覆盖面 100%" target). Served population: the plants' default estimates; total:
    the districts' resident population. Both come from data, so the figure is only as good as they are."""
    from geo.models import Division

    totals = {d.code: d.population for d in Division.objects.filter(level="district", code__startswith=city_prefix)}
    served = defaultdict(int)
    today = dt.date.today()
    monitored = models.TreatmentPlant.objects.filter(is_active=True, area_code__startswith=city_prefix,
                                                     samples__sample_date__gte=today - dt.timedelta(days=92)).distinct()
    for plant in monitored:
        estimate = plant.population_on(today)
        if estimate is None:
            continue
        # a catchment may cross district lines: share the served population by the districts' populations
        districts = sorted({code[:6] for code in (plant.served_area_codes or [])} & set(totals)) or \
            [plant.district_code]
        weights = [totals.get(d) or 0 for d in districts]
        if not any(weights):
            weights = [1] * len(districts)
        for district, weight in zip(districts, weights):
            served[district] += estimate.population * weight / sum(weights)
    return wbe.coverage(dict(served), {k: v for k, v in totals.items() if v})


def screening_positivity(area_prefix: str, start: dt.date, end: dt.date, drug: str | None = None) -> list[dict]:
    """Monthly tested / positive counts and rate for an area (optionally one drug)."""
    batches = models.ScreeningBatch.objects.filter(area_code__startswith=area_prefix, collected_on__gte=start,
                                                   collected_on__lte=end)
    tested = defaultdict(int)
    for month, count in ((b.collected_on.replace(day=1), b.tested) for b in batches):
        tested[month] += count
    results = models.ScreeningResult.objects.filter(batch__in=batches)
    if drug:
        results = results.filter(drug=drug)
    positive = defaultdict(int)
    for day, count in results.values_list("batch__collected_on", "positive"):
        positive[day.replace(day=1)] += count
    return [{"month": m, "tested": tested[m], "positive": positive[m],
             "rate": positive[m] / tested[m] if tested[m] else None} for m in sorted(tested)]


EVIDENCE_LABELS = {
    "indicator": _("indicator"), "window": _("series before the alert"), "load_estimates": _("load estimates"),
    "screening_batches": _("screening batches"), "forensic_identifications": _("forensic identifications"),
    "alerts": _("alerts"), "dispensing": _("dispensing records"), "origin_alert": _("alert in the neighbouring area"),
    "origin_area": _("neighbouring area"),
}


def alert_evidence_rows(alert, user) -> list[tuple[str, str]]:
    """The evidence of an alert with readable labels; record ids become links to the records."""
    from django.urls import reverse
    from django.utils.html import format_html, format_html_join

    links = {"load_estimates": "monitoring:loadestimate_detail", "screening_batches": "monitoring:screeningbatch_detail",
             "forensic_identifications": "monitoring:forensicidentification_detail",
             "alerts": "monitoring:alert_detail", "dispensing": "monitoring:dispensing_detail"}
    rows = []
    for key, value in (alert.evidence or {}).items():
        label = EVIDENCE_LABELS.get(key, key)
        if key in links and isinstance(value, list):
            value = format_html_join(" ", '<a href="{}">#{}</a>', ((reverse(links[key], args=[pk]), pk)
                                                                     for pk in value[:200]))
        elif key == "origin_alert":
            value = format_html('<a href="{}">#{}</a>', reverse("monitoring:alert_detail", args=[value]), value)
        elif key == "window" and isinstance(value, list):
            value = "、".join(f"{p['date']} {p['value']:.1f}" if p.get("value") is not None else f"{p['date']} —"
                             for p in value)
        elif isinstance(value, (list, dict)):
            value = str(value)[:500]
        rows.append((label, value))
    return rows


def total_positive(area_prefix: str) -> int:
    return models.ScreeningResult.objects.filter(batch__area_code__startswith=area_prefix).aggregate(
        n=Sum("positive"))["n"] or 0
