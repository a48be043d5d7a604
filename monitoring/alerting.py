"""Early warning: build the series an alert definition names, run its detection method, and store an
Alert (with its evidence) for every alarm; warn neighbouring districts (ODMAP-style, rule N01); run
the controlled-medicine rules P01–P05 over the dispensing records.

Indicators (``AlertDefinition.indicator``):

``wbe_pnl:<residue>``        weekly population-normalised load; of the definition's plant, or the
                             population-weighted mean of the plants in its area
``screening_positive:<drug>`` monthly screening positives in the area (``*`` for all drugs)
``forensic_nps``             monthly count of new psychoactive substances identified in the area
``pdmp_alerts``              monthly count of controlled-medicine alerts in the area

Parameters of a definition go to the detection method unchanged, except ``transform`` ("log" runs the
method on log values, which suits continuous loads; research §4.6) and ``evaluate_last`` (how many of
the newest points are examined; the older ones are their history; default 26).
"""

import datetime as dt
import logging
import math
from collections import defaultdict

from django.db import transaction
from django.utils.translation import gettext as _

from geo.adjacency import neighbours

from . import models
from .choices import AlertSource

DEFAULT_EVALUATE_LAST = 26
logger = logging.getLogger(__name__)


def _week(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _month_range(start: dt.date, end: dt.date) -> list[dt.date]:
    months, current = [], _month(start)
    while current <= end:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    return months


def build_series(definition: models.AlertDefinition, end: dt.date | None = None) -> tuple[list, list, dict]:
    """(dates, values, evidence-by-date) of a definition's indicator; missing periods are None."""
    end = end or dt.date.today()
    kind, _sep, arg = definition.indicator.partition(":")
    prefix = definition.area_code
    if kind == "wbe_pnl":
        qs = models.LoadEstimate.objects.filter(residue=arg, sample_date__lte=end, pnl_mg_d_1000__isnull=False)
        qs = qs.filter(plant=definition.plant) if definition.plant_id else qs.filter(plant__area_code__startswith=prefix)
        weekly = defaultdict(lambda: ([], [], []))
        for pk, pnl, pop, day in qs.values_list("pk", "pnl_mg_d_1000", "population", "sample_date"):
            values, weights, ids = weekly[_week(day)]
            values.append(pnl)
            weights.append(pop)
            ids.append(pk)
        if not weekly:
            return [], [], {}
        weeks, current = [], min(weekly)
        while current <= max(weekly):
            weeks.append(current)
            current += dt.timedelta(days=7)
        from .algorithms.wbe import population_weighted_mean

        values = [population_weighted_mean(*weekly[w][:2]) if w in weekly else None for w in weeks]
        evidence = {w: {"load_estimates": weekly[w][2]} for w in weeks if w in weekly}
        return weeks, values, evidence
    if kind in ("screening_positive", "forensic_nps", "pdmp_alerts"):
        start = end - dt.timedelta(days=366 * 6)
        counts, evidence = defaultdict(int), defaultdict(list)
        if kind == "screening_positive":
            qs = models.ScreeningResult.objects.filter(batch__area_code__startswith=prefix,
                                                       batch__collected_on__range=(start, end))
            if arg and arg != "*":
                qs = qs.filter(drug=arg)
            rows = qs.values_list("batch_id", "batch__collected_on", "positive")
            for batch_id, day, positive in rows:
                counts[_month(day)] += positive
                evidence[_month(day)].append(batch_id)
            evidence_key = "screening_batches"
        elif kind == "forensic_nps":
            rows = models.ForensicIdentification.objects.filter(area_code__startswith=prefix, is_nps=True,
                                                                identified_on__range=(start, end)) \
                .values_list("pk", "identified_on")
            for pk, day in rows:
                counts[_month(day)] += 1
                evidence[_month(day)].append(pk)
            evidence_key = "forensic_identifications"
        else:
            rows = models.Alert.objects.filter(source=AlertSource.PDMP, area_code__startswith=prefix,
                                               period__range=(start, end)).values_list("pk", "period")
            for pk, day in rows:
                counts[_month(day)] += 1
                evidence[_month(day)].append(pk)
            evidence_key = "alerts"
        if not counts and not evidence:
            return [], [], {}
        months = _month_range(min(evidence), _month(end))
        return months, [float(counts[m]) for m in months], {m: {evidence_key: evidence[m]} for m in evidence}
    raise ValueError(f"unknown indicator {definition.indicator!r}")


def evaluate_definition(definition: models.AlertDefinition, end: dt.date | None = None) -> list[models.Alert]:
    """Run one definition over its series; store new alerts (idempotent: one alert per point)."""
    dates, values, evidence = build_series(definition, end)
    if not values:
        return []
    params = dict(definition.params or {})
    transform = params.pop("transform", None)
    last = int(params.pop("evaluate_last", DEFAULT_EVALUATE_LAST))
    series_values = [None if v is None else (math.log(v) if transform == "log" and v > 0 else
                                             (None if transform == "log" else v)) for v in values]
    split = max(0, len(series_values) - last)
    from .algorithms import signals  # scipy.stats: imported when a definition runs, not with the app

    points = signals.detect(definition.method, series_values[:split], series_values[split:], params)
    created = []
    for offset, point in enumerate(points):
        if not point.alarm:
            continue
        day = dates[split + offset]
        raw = values[split + offset]
        upper = point.upperbound
        if transform == "log" and upper is not None:
            upper = math.exp(upper)
        window = [{"date": d.isoformat(), "value": v} for d, v in zip(dates[max(0, split + offset - 12):
                                                                            split + offset + 1],
                                                                      values[max(0, split + offset - 12):
                                                                             split + offset + 1])]
        alert = _store_alert(
            dedup_key=f"def{definition.pk}:{day.isoformat()}", rule_id=f"S-{definition.method}",
            source=_source_of(definition.indicator), definition=definition, area_code=definition.area_code,
            subject=definition.name, period=day, severity=definition.severity, value=raw, upperbound=upper,
            score=point.score, params={"method": definition.method, **(definition.params or {})},
            evidence={"indicator": definition.indicator, "window": window, **evidence.get(day, {})})
        if alert is not None:
            created.append(alert)
            if definition.notify_neighbours:
                created.extend(warn_neighbours(alert))
    return created


def _source_of(indicator: str) -> str:
    return {"wbe_pnl": AlertSource.WASTEWATER, "screening_positive": AlertSource.SCREENING,
            "forensic_nps": AlertSource.FORENSIC, "pdmp_alerts": AlertSource.PDMP}[indicator.partition(":")[0]]


def _store_alert(*, dedup_key: str, **values) -> models.Alert | None:
    """Create the alert unless the same one exists (re-running a rule adds nothing)."""
    if models.Alert.objects.filter(dedup_key=dedup_key).exists():
        return None
    alert = models.Alert(dedup_key=dedup_key, **values)
    alert.save(audit_message="raised by the early-warning engine")
    return alert


def warn_neighbours(alert: models.Alert) -> list[models.Alert]:
    """N01: an alert in one district warns the districts next to it (ODMAP-style spike sharing)."""
    district = alert.area_code[:6]
    created = []
    for neighbour in neighbours(district):
        warning = _store_alert(
            dedup_key=f"N01:{alert.pk}:{neighbour}", rule_id="N01", source=AlertSource.NEIGHBOUR,
            area_code=neighbour, subject=_("Neighbouring district %(district)s: %(subject)s")
            % {"district": district, "subject": alert.subject}, period=alert.period, severity="low",
            value=alert.value, upperbound=alert.upperbound, score=alert.score, params={},
            evidence={"origin_alert": alert.pk, "origin_area": alert.area_code})
        if warning is not None:
            created.append(warning)
    return created


def evaluate_all(end: dt.date | None = None, area_prefix: str = "") -> list[models.Alert]:
    created = []
    for definition in models.AlertDefinition.objects.filter(is_active=True, area_code__startswith=area_prefix) \
            .select_related("plant"):
        try:
            with transaction.atomic():
                created.extend(evaluate_definition(definition, end))
        except ValueError:  # one broken definition must not stop the others
            logger.exception("alert definition %s could not be evaluated", definition.pk)
    return created


# --- controlled medicines -------------------------------------------------------------------------

def run_pdmp_rules(params: dict | None = None, area_prefix: str = "") -> list[models.Alert]:
    """Run P01–P05 over every dispensing record in the area; one alert per rule, patient and window."""
    fields = ["pk", "patient_key", "patient_age", "prescriber_code", "pharmacy_code", "area_code", "drug",
              "drug_class", "control_category", "dosage_form", "strength", "quantity", "days_supply",
              "dispensed_on", "setting", "indication", "reason_noted"]
    rows = list(models.Dispensing.objects.filter(area_code__startswith=area_prefix).values_list(*fields))
    if not rows:
        return []
    from .algorithms import pdmp

    result = pdmp.run_all(pdmp_columns(rows, fields), params or {})
    area_of = {str(r[0]): r[5] for r in rows}
    created = []
    with transaction.atomic():
        for item in result.alerts:
            record_ids = [int(i) for i in item.evidence]
            start, end = item.window
            alert = _store_alert(
                dedup_key=f"{item.rule_id}:{item.patient_key}:{start.isoformat()}:{min(record_ids, default=0)}",
                rule_id=item.rule_id,
                source=AlertSource.PDMP, area_code=area_of[str(record_ids[0])] if record_ids else area_prefix,
                subject=f"{item.rule_id} {item.patient_key[:10]}…", period=end, severity=item.severity,
                params=_jsonable(item.params),
                evidence={"dispensing": record_ids, "window": [start.isoformat(), end.isoformat()],
                          **_jsonable(item.detail)})
            if alert is not None:
                created.append(alert)
    return created


def pdmp_columns(rows, fields) -> dict:
    """Columnar input for the vectorised rules (monitoring.algorithms.pdmp.DispensingTable)."""
    import numpy as np

    col = {name: [r[i] for r in rows] for i, name in enumerate(fields)}
    indication = col["indication"]
    return {
        "record_id": np.array([str(pk) for pk in col["pk"]], dtype=object),
        "patient_key": np.array(col["patient_key"], dtype=object),
        "prescriber_id": np.array(col["prescriber_code"], dtype=object),
        "pharmacy_id": np.array(col["pharmacy_code"], dtype=object),
        "drug": np.array(col["drug"], dtype=object),
        "drug_class": np.array(col["drug_class"], dtype=object),
        "control_category": np.array(col["control_category"], dtype=object),
        "dosage_form": np.array(col["dosage_form"], dtype=object),
        "strength": np.array(col["strength"], dtype=float),
        "quantity": np.array(col["quantity"], dtype=float),
        "days_supply": np.array(col["days_supply"], dtype=np.int64),
        "dispensed_on": np.array(col["dispensed_on"], dtype="datetime64[D]"),
        "patient_age": np.array([np.nan if a is None else a for a in col["patient_age"]], dtype=float),
        "setting": np.array(col["setting"], dtype=object),
        "cancer_pain": np.array([i == "cancer_pain" for i in indication]),
        "chronic_pain": np.array([i == "chronic_pain" for i in indication]),
        "adhd": np.array([i == "adhd" for i in indication]),
        "reason_noted": np.array(col["reason_noted"], dtype=bool),
    }


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str))
