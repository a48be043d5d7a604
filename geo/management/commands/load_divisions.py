from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.context import acting_as
from geo.loader import DivisionFileError, load_divisions, parse_division_csv

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "data" / "320500.csv"


class Command(BaseCommand):
    help = "Load administrative divisions from a CSV file (code,name,parent_code,source,population). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(DEFAULT_FILE))

    def handle(self, path, **options):
        try:
            rows = parse_division_csv(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, DivisionFileError) as exc:
            raise CommandError(str(exc)) from exc
        with acting_as(username="command:load_divisions", channel="command"):
            result = load_divisions(rows)
        self.stdout.write(f"divisions: {result.created} created, {result.updated} updated, "
                          f"{result.unchanged} unchanged")
