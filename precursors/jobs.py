"""Background work of the precursor pillar (run by the Huey worker; watchable as Jobs)."""

from django.utils.translation import gettext as _

from core.jobs import enqueue, job, progress

from . import rules_service


@job("precursors.run_rules")
def run_rules_job(record, rule_ids: list | None = None):
    progress(record, 0, 1, _("Running the diversion rules"))
    result = rules_service.run_rules(rule_ids or None)
    progress(record, 1, 1)
    return result


def enqueue_rules(user, rule_ids=None):
    return enqueue("precursors.run_rules", _("Diversion rules R01–R31"), user, rule_ids=rule_ids)
