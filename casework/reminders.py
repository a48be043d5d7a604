"""Morning e-mail reminders for casework users: how much waits on "my tasks" today.

A reminder carries counts and a link, never names or ID numbers: e-mail leaves the platform's access control and
audit, so personal information stays inside (PIPL; research §3.5). Sent to active users with an e-mail address
and a casework role, only when something waits. SMS needs the city's gateway and is not built.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.audit import log_access_as
from core.models import AccessLog


def digest(user, today: dt.date) -> dict:
    """The counts shown on the user's task page, in the user's scope."""
    from . import models

    planned = models.PlannedEvent.objects.restrict(user, "view")
    police = models.PoliceReportTask.objects.restrict(user, "view").filter(reported_on__isnull=True)
    scope = user.scope_for("approve")
    transfers = models.Transfer.objects.restrict(user, "approve").filter(status="pending")
    if not scope.is_global:
        transfers = transfers.filter(to_area_code__startswith=scope.area_prefix or "-")
    referrals = models.Referral.objects.restrict(user, "view").filter(status="pending", provider_org_id=user.org_id) \
        if user.org_id else models.Referral.objects.none()
    return {
        "overdue": planned.filter(status="overdue").count(),
        "due_today": planned.filter(status="scheduled", due_on=today).count(),
        "police_overdue": police.filter(due_on__lt=today).count(),
        "police_open": police.count(),
        "transfers": transfers.count() if user.has_resource_perm("casework.transfer", "approve") else 0,
        "referrals": referrals.count(),
    }


def render(counts: dict) -> str:
    lines = [_("Waiting for you in Jindu today:")]
    labels = [("overdue", _("overdue planned contacts and tests")), ("due_today", _("contacts and tests due today")),
              ("police_open", _("reports to the police still open")),
              ("police_overdue", _("of them past their deadline")),
              ("transfers", _("transfers waiting for your decision")),
              ("referrals", _("referrals addressed to your unit"))]
    lines += [f"  · {counts[key]} {label}" for key, label in labels if counts[key]]
    lines += ["", settings.JINDU_BASE_URL.rstrip("/") + reverse("casework:my_tasks"),
              "", _("This message carries no personal information; open the platform to see who.")]
    return "\n".join(lines)


def send_reminders(today: dt.date | None = None) -> dict:
    from users.models import User

    today = today or timezone.localdate()
    sent = skipped = 0
    for user in User.objects.filter(is_active=True).exclude(email="").select_related("role"):
        if not user.has_resource_perm("casework.plannedevent", "view"):
            continue
        counts = digest(user, today)
        if not any(counts.values()):
            skipped += 1
            continue
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("[Jindu] %(n)d overdue, %(m)d due today") % {"n": counts["overdue"], "m": counts["due_today"]}
            send_mail(subject, render(counts), settings.DEFAULT_FROM_EMAIL, [user.email])
        log_access_as("system:reminders", AccessLog.Event.EXPORT, object_type="casework.reminder",
                      detail={"to": user.username, **counts})
        sent += 1
    return {"sent": sent, "nothing_waiting": skipped}
