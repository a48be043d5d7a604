from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.audit import log_access
from core.context import acting_as
from core.models import AccessLog
from geo.models import Division
from orgs.models import Organization
from users.models import Role, User


class Command(BaseCommand):
    help = "Create or update a user: jindu_user USERNAME --role CODE [--area CODE] [--org ID] --password PW"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help="role code, e.g. district_office")
        parser.add_argument("--area", default=None, help="area code of the user's capture scope")
        parser.add_argument("--search-area", default=None, help="wider area for look-ups")
        parser.add_argument("--org", type=int, default=None, help="organisation id")
        parser.add_argument("--password", default=None)
        parser.add_argument("--name", default=None, help="full name")
        parser.add_argument("--inactive", action="store_true")

    def handle(self, username, **opts):
        role = Role.objects.filter(code=opts["role"]).first()
        if role is None:
            raise CommandError(f"--role: unknown role {opts['role']!r}; known: "
                               + ", ".join(Role.objects.values_list("code", flat=True)))
        for option in ("area", "search_area"):
            if opts[option] and not Division.objects.filter(code=opts[option]).exists():
                raise CommandError(f"--{option.replace('_', '-')}: unknown area code {opts[option]!r}")
        org = None
        if opts["org"] is not None:
            org = Organization.objects.filter(pk=opts["org"]).first()
            if org is None:
                raise CommandError(f"--org: no organisation with id {opts['org']}")
        if role.scope_kind == Role.ScopeKind.ORG and org is None and not User.objects.filter(username=username,
                                                                                            org__isnull=False).exists():
            raise CommandError(f"--org: role {role.code} is scoped by organisation; give --org")
        with acting_as(username="command:jindu_user", channel="command"), transaction.atomic():
            user = User.objects.filter(username=username).first()
            created = user is None
            if created:
                if not opts["password"]:
                    raise CommandError("--password: required for a new user")
                user = User(username=username)
            user.role = role
            if opts["area"] is not None:
                user.area_code = opts["area"]
            elif created and org is not None:
                user.area_code = org.area_code
            if opts["search_area"] is not None:
                user.search_area_code = opts["search_area"]
            if org is not None:
                user.org = org
            if opts["name"]:
                user.full_name = opts["name"]
            user.is_active = not opts["inactive"]
            if opts["password"]:
                try:
                    validate_password(opts["password"], user)
                except ValidationError as exc:
                    raise CommandError("--password: " + " ".join(exc.messages)) from exc
                user.set_password(opts["password"])
            user.save(audit_message="provisioned from the shell")
            log_access(AccessLog.Event.ADMIN, user, detail={"command": "jindu_user", "created": created,
                                                            "role": role.code})
        self.stdout.write(f"{'created' if created else 'updated'} user {username} (role {role.code}, "
                          f"area {user.area_code or '-'}, org {user.org_id or '-'})")
