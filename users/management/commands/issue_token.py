from django.core.management.base import BaseCommand, CommandError

from core.audit import log_access
from core.context import acting_as
from core.models import AccessLog
from users.models import ApiToken, User


class Command(BaseCommand):
    help = "Print a new API token for USERNAME (for scripted integrations). The token is shown only once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=None, help="expire after this many days (default: never)")
        parser.add_argument("--name", default="issued from the shell")

    def handle(self, username, days, name, **opts):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive")
        with acting_as(username="command:issue_token", channel="command"):
            token, key = ApiToken.issue(user, name=name, days=days)
            log_access(AccessLog.Event.TOKEN_ISSUED, user, detail={"token": token.prefix, "days": days})
        self.stdout.write(key)
