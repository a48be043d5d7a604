from django.conf import settings
from django.core.management.base import BaseCommand

from core import demo
from core.context import acting_as
from geo.management.commands.load_divisions import DEFAULT_FILE


class Command(BaseCommand):
    help = "Create (or complete) the demo city. Idempotent and reproducible."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(demo.SCALES), default="small")
        parser.add_argument("--seed", type=int, default=2023)
        parser.add_argument("--password", default=None, help="password of every demo user")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, scale, seed, password, quiet, **options):
        password = password or settings.JINDU_DEMO_PASSWORD
        with acting_as(username="command:jindu_demo", channel="command"):
            ctx = demo.run(scale, seed, password, DEFAULT_FILE, stdout=None if quiet else self.stdout)
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password: {password})")
        for username, role, shows in ctx.users:
            self.stdout.write(f"  {username:<15} {role:<16} {shows}")
