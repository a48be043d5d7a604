"""Nightly diversion-rule run (Huey periodic task; the worker started by ``make run`` executes it)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from core.context import acting_as


@db_periodic_task(crontab(hour="2", minute="30"))
def nightly_precursor_rules():
    from .rules_service import run_rules

    with acting_as(username="system:nightly", channel="system"):
        return run_rules()
