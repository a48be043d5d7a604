"""Run the diversion rules R01–R31 now: ``python manage.py precursor_rules [--rule R11 --rule R09]``."""

import time

from django.core.management.base import BaseCommand, CommandError

from core.context import acting_as


class Command(BaseCommand):
    help = "Run the precursor diversion rules (all, or those given with --rule) over the whole event store."

    def add_arguments(self, parser):
        parser.add_argument("--rule", action="append", dest="rules", help="rule id, e.g. R11 (repeatable)")

    def handle(self, *args, rules=None, **options):
        from precursors.algorithms.rules import REGISTRY
        from precursors.rules_service import run_rules

        unknown = [r for r in rules or () if r not in REGISTRY]
        if unknown:
            raise CommandError(f"unknown rule id(s): {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}")
        start = time.perf_counter()
        with acting_as(username="system:precursor_rules", channel="system"):
            result = run_rules(rules or None)
        self.stdout.write(f"{result['transactions']} transactions, {result['hits']} hits: "
                          f"{result['created']} new alerts, {result['refreshed']} refreshed "
                          f"({time.perf_counter() - start:.1f} s)")
