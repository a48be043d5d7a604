"""Background work of the precursor pillar (run by the Huey worker; watchable as Jobs)."""

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.jobs import enqueue, job, progress
from core.models import Job

from . import rules_service


@job("precursors.run_rules")
def run_rules_job(record, rule_ids: list | None = None):
    progress(record, 0, 1, _("Running the diversion rules"))
    result = rules_service.run_rules(rule_ids or None)
    progress(record, 1, 1)
    return result


#: a queued or running rule run older than this is taken to have died with its worker (it no longer blocks a new one)
RUN_STALE_AFTER = dt.timedelta(hours=6)
#: PostgreSQL advisory-lock key serialising "is a run queued? if not, queue one" (SQLite's IMMEDIATE transactions
#: serialise it already: the write lock is taken at BEGIN)
RULE_RUN_LOCK = 0x4A445233


def enqueue_rules(user, rule_ids=None) -> tuple[Job, bool]:
    """(job, queued now). One full run at a time: a run holds the whole event store's facts in memory (about 1 GB
    at 1,000,000 events) and a second one queued behind it would find the same alerts; while one is queued or running,
    that job is returned instead of a new one."""
    with transaction.atomic():
        # two clicks at once must not both find nothing queued and both queue a run
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RULE_RUN_LOCK])
        waiting = (Job.objects.filter(kind="precursors.run_rules",
                                      status__in=(Job.Status.PENDING, Job.Status.RUNNING),
                                      created__gte=timezone.now() - RUN_STALE_AFTER)
                   .order_by("-created").first())
        if waiting is not None:
            return waiting, False
        return enqueue("precursors.run_rules", _("Diversion rules R01–R31"), user, rule_ids=rule_ids), True
