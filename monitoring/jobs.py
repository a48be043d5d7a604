"""Background work of the monitoring pillar (run by the Huey worker; watchable as Jobs)."""

import datetime as dt

from django.utils.translation import gettext as _

from core.jobs import job, progress

from . import alerting, models, services


@job("monitoring.refresh_estimates")
def refresh_estimates_job(record, plant_ids: list | None = None):
    qs = models.Measurement.objects.all()
    if plant_ids:
        qs = qs.filter(sample__plant_id__in=plant_ids)
    ids = list(qs.values_list("pk", flat=True))
    total = len(ids)
    done = 0
    progress(record, 0, total, _("Back-calculating"))
    for start in range(0, total, 1000):
        done += services.refresh_estimates(models.Measurement.objects.filter(pk__in=ids[start:start + 1000]))
        progress(record, min(start + 1000, total), total)
    return {"estimates": done}


@job("monitoring.run_alerts")
def run_alerts_job(record, area_prefix: str = "", end: str | None = None):
    end_day = dt.date.fromisoformat(end) if end else None
    progress(record, 0, 2, _("Controlled-medicine rules"))
    pdmp_alerts = alerting.run_pdmp_rules(area_prefix=area_prefix)
    progress(record, 1, 2, _("Signal detection"))
    signal_alerts = alerting.evaluate_all(end_day, area_prefix)
    progress(record, 2, 2)
    return {"pdmp_alerts": len(pdmp_alerts), "signal_alerts": len(signal_alerts)}


@job("monitoring.monthly_report")
def monthly_report_job(record, report_id: int):
    from .report import build_monthly_report

    report = models.MonthlyReport.objects.get(pk=report_id)
    progress(record, 0, 1, _("Writing the report"))
    path = build_monthly_report(report)
    models.MonthlyReport.objects.filter(pk=report.pk).update(file_path=str(path))
    progress(record, 1, 1)
    return {"file": str(path)}
