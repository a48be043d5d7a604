"""Periodic work run by the Huey consumer (`manage.py run_huey`)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import jobs  # noqa: F401  (the consumer must know the job task)
from .audit import log_access, verify_all
from .context import acting_as
from .models import AccessLog


@db_periodic_task(crontab(hour="2", minute="30"))
def verify_audit_chains_nightly():
    """等保 8.1.4.3: check every night that nobody altered or removed audit rows; the result itself is
    recorded in the access log, where the audit administrator sees it."""
    problems = verify_all()
    with acting_as(username="system:audit_verify", channel="job"):
        log_access(AccessLog.Event.ADMIN, object_type="core.audit",
                   result=AccessLog.Result.FAILURE if problems else AccessLog.Result.SUCCESS,
                   detail={"check": "audit_verify", "problems": [str(p) for p in problems]})
    return [str(p) for p in problems]
