"""Nightly casework work run by the Huey consumer: schedules and overdue flags, and the time-driven
rules (no report within 15 days, lost contact) that no recorded event would otherwise trigger."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from core.context import acting_as
from core.jobs import job, progress


def nightly(record=None) -> dict:
    from . import models, services

    counts = services.regenerate_schedules()
    open_measures = models.Measure.objects.exclude(state__in=["completed", "refused", "converted", "terminated",
                                                              "released"]).filter(kind__in=["community_treatment",
                                                                                            "community_rehab"])
    total = open_measures.count()
    raised = 0
    for done, measure in enumerate(open_measures.iterator(chunk_size=500), start=1):
        raised += len(services.evaluate_rules(measure))
        if record is not None and done % 500 == 0:
            progress(record, done, total)
    return {**counts, "rules_evaluated": total, "tasks_raised": raised}


@job("casework.nightly")
def nightly_job(record):
    return nightly(record)


@db_periodic_task(crontab(hour="1", minute="15"))
def casework_nightly():
    with acting_as(username="system:casework_nightly", channel="job"):
        return nightly()


@db_periodic_task(crontab(hour="7", minute="30"))
def casework_reminders():
    """Morning e-mail to each casework user with something waiting (counts only, no personal data)."""
    from .reminders import send_reminders

    with acting_as(username="system:reminders", channel="job"):
        return send_reminders()
