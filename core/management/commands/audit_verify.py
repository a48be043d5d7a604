import sys

from django.core.management.base import BaseCommand

from core.audit import verify_all
from core.models import AccessLog, ChangeLog


class Command(BaseCommand):
    help = "Verify the SM3 hash chains of the change log and the access log. Exit 1 naming the first bad row."

    def handle(self, **options):
        problems = verify_all()
        if problems:
            for problem in problems:
                self.stderr.write(f"TAMPERED: {problem}")
            sys.exit(1)
        self.stdout.write(f"audit chains intact: {ChangeLog.objects.count()} change rows, "
                          f"{AccessLog.objects.count()} access rows")
