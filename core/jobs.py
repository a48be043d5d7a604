"""Background jobs: a ``Job`` row the user watches, run by Huey (SQLite storage by default).

Register work with ``@job("kind")``; start it with ``enqueue("kind", label, user, **params)``. The
function receives the Job and reports progress with ``progress(job, done, total, message)``.
"""

import logging
import traceback

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from huey.contrib.djhuey import db_task

from .context import acting_as
from .models import Job

logger = logging.getLogger(__name__)
JOB_FUNCTIONS = {}


def job(kind: str):
    def register(func):
        JOB_FUNCTIONS[kind] = func
        return func

    return register


def enqueue(kind: str, label: str, user=None, **params) -> Job:
    if kind not in JOB_FUNCTIONS:
        raise KeyError(f"unknown job kind {kind!r}")
    record = Job.objects.create(kind=kind, label=str(label)[:200], user=user, params=params)
    if settings.HUEY.get("immediate"):
        run_job_task(str(record.pk))
        record.refresh_from_db()
    else:  # the worker must not look for the row before this transaction commits
        transaction.on_commit(lambda: run_job_task(str(record.pk)))
    return record


def progress(record: Job, done: int, total: int | None = None, message: str = "") -> None:
    values = {"progress": done}
    if total is not None:
        values["total"] = total
    if message:
        values["message"] = message[:500]
    Job.objects.filter(pk=record.pk).update(**values)
    for k, v in values.items():
        setattr(record, k, v)


def run_job(job_id: str) -> None:
    record = Job.objects.select_related("user").get(pk=job_id)
    Job.objects.filter(pk=record.pk).update(status=Job.Status.RUNNING, started=timezone.now())
    try:
        with acting_as(record.user, channel="job", username=f"job:{record.kind}"):
            result = JOB_FUNCTIONS[record.kind](record, **record.params)
    except Exception as exc:  # a job reports its failure to its owner instead of dying silently
        logger.exception("job %s failed", job_id)
        Job.objects.filter(pk=record.pk).update(status=Job.Status.FAILED, finished=timezone.now(),
                                                error="".join(traceback.format_exception_only(exc)).strip()[:4000],
                                                message=str(exc)[:500])
        return
    Job.objects.filter(pk=record.pk).update(status=Job.Status.SUCCEEDED, finished=timezone.now(), message="",
                                            result=result if isinstance(result, (dict, list)) else None)


@db_task()
def run_job_task(job_id: str) -> None:
    run_job(job_id)
