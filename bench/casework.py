"""Casework benchmarks (issue 4), each beside a baseline from the same run.

    .venv/bin/python bench/casework.py [--persons 50000] [--events 5000000]

Builds a throw-away SQLite database with N persons (encrypted identity, blind indexes), their measures
and about 5,000,000 events (planned events, contacts, tests), inserted in bulk (no per-row audit: this
measures reading and regeneration, not the demo loader). Then:

1. regenerating every schedule and overdue flag (target ≤ 30 s) vs per-measure planning in Python;
2. a social worker's task page and a scoped person search, 95th percentile (target ≤ 200 ms) vs
   the same query for the whole city;
3. the K01–K13 build for all areas (target ≤ 30 s) vs reading the facts alone.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django():
    os.environ.setdefault("JINDU_VAR_DIR", tempfile.mkdtemp(prefix="jindu-bench-cw-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "jindu.settings"
    os.environ["JINDU_JOBS_IMMEDIATE"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def line(name, value, unit, target, baseline_name, baseline):
    verdict = "ok" if value <= target else "OVER TARGET"
    print(f"{name:<52} {value:>9.2f} {unit:<3} ≤ {target:<5g} {verdict:<11} | {baseline_name:<40} {baseline:>9.2f} "
          f"{unit}", flush=True)


def build_world(n_persons, n_events, seed=7):
    """Persons, community measures and events, bulk-inserted."""
    import numpy as np
    from django.db import connection, transaction

    from casework import models
    from casework.rules import clock, schedule
    from core import demo
    from core.fields import blind_index_for, key_ring
    from geo.management.commands.load_divisions import DEFAULT_FILE
    from geo.models import Division
    from utilities import crypto
    from utilities.identifiers import make_id_number

    ctx = demo.DemoContext(scale="small", seed=seed, password="Bench-pass-2026", rng=random.Random(seed))
    demo.build_divisions(ctx, DEFAULT_FILE)
    demo.build_orgs(ctx)
    demo.build_users(ctx)
    rng = random.Random(seed)
    communities = list(Division.objects.filter(level="community").values_list("code", flat=True))
    ring = key_ring()
    started = time.perf_counter()
    persons = []
    today = dt.date(2026, 11, 29)
    for i in range(n_persons):
        area = communities[i % len(communities)]
        id_number = make_id_number(area[:6], dt.date(1960 + i % 45, 1 + i % 12, 1 + i % 28), i % 1000)
        name = f"测{i}"
        persons.append(models.Person(
            name=crypto.encrypt(ring, name, b"casework.person.name"),
            name_index=blind_index_for("person_name", name),
            id_number=crypto.encrypt(ring, id_number, b"casework.person.id_number"),
            id_number_index=blind_index_for("id_number", f"{id_number}#{i}"),  # unique even if the ID repeats
            household_area_code=area, residence_area_code=area, owner_area_code=area,
            status="community_treatment", first_found_on=today - dt.timedelta(days=400 + i % 2000)))
    with transaction.atomic():
        models.Person.objects.bulk_create(persons, batch_size=5000)
    person_ids = list(models.Person.objects.values_list("pk", "owner_area_code"))
    measures = []
    for pk, area in person_ids[: int(n_persons * 0.7)]:
        start = today - dt.timedelta(days=rng.randint(30, 1000))
        measures.append(models.Measure(person_id=pk, kind="community_treatment", state="active",
                                       served_on=start - dt.timedelta(days=5), report_due_on=start + dt.timedelta(10),
                                       reported_on=start, start_on=start,
                                       planned_end_on=clock.planned_end("community_treatment", start),
                                       execution_area_code=area))
    with transaction.atomic():
        models.Measure.objects.bulk_create(measures, batch_size=5000)
    measure_rows = list(models.Measure.objects.values_list("pk", "person_id", "start_on", "planned_end_on"))
    planned_count = regenerate_all(measure_rows, today)
    # a working caseload: most past contacts and tests were done (on the day they were due), 5 % were missed
    with connection.cursor() as cursor:
        cursor.execute("UPDATE casework_plannedevent SET status = 'done', done_on = due_on "
                       "WHERE due_on < %s AND id %% 20 != 0", [(today - dt.timedelta(days=14)).isoformat()])
    # contacts and tests up to the event budget (raw executemany: this is a loader, not the measured part)
    remaining = max(0, n_events - planned_count)
    now = "2026-11-29 00:00:00"
    with transaction.atomic(), connection.cursor() as cursor:
        batch = []
        for j in range(remaining):
            mid, pid, start, _end = measure_rows[j % len(measure_rows)]
            day = start + dt.timedelta(days=(j * 7) % 900)
            if j % 3:
                batch.append((pid, mid, "checkin", day.isoformat(), "met", "", "", now, now))
            else:
                batch.append((pid, mid, "home_visit", day.isoformat(), "met", "", "", now, now))
            if len(batch) >= 50_000:
                cursor.executemany("INSERT INTO casework_contactevent (person_id, measure_id, kind, occurred_on, "
                                   "outcome, location, notes, created, updated) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                                   batch)
                batch = []
        if batch:
            cursor.executemany("INSERT INTO casework_contactevent (person_id, measure_id, kind, occurred_on, "
                               "outcome, location, notes, created, updated) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                               batch)
    del np, schedule
    print(f"built {n_persons:,} persons, {len(measure_rows):,} measures, {planned_count:,} planned events, "
          f"{remaining:,} contacts in {time.perf_counter() - started:.0f} s", flush=True)
    return measure_rows, today


def regenerate_all(measure_rows, today, only_sample=False):
    """Every schedule from the policy (vectorised), replacing the planned events, then the overdue flags
    (the loader, and the baseline of the regeneration figure)."""
    import numpy as np
    from django.db import connection, transaction

    from casework import services
    from casework.rules import schedule

    ids = [m[0] for m in measure_rows]
    persons = [m[1] for m in measure_rows]
    starts = [m[2] for m in measure_rows]
    ends = [m[3] for m in measure_rows]
    arrays = schedule.plan_many("community_treatment", starts, ends, "medium",
                                services.policies_for("community_treatment"))
    kinds = np.array(schedule.EVENT_KINDS)[arrays["kind"]]
    rows = zip((persons[i] for i in arrays["person"]), (ids[i] for i in arrays["person"]), kinds,
               (dt.date.fromordinal(int(d)).isoformat() for d in arrays["due"]), arrays["grace"].tolist())
    with transaction.atomic(), connection.cursor() as cursor:
        if only_sample:
            cursor.execute("DELETE FROM casework_plannedevent WHERE measure_id IN (%s)" % ",".join(
                str(int(i)) for i in ids))
        else:
            cursor.execute("DELETE FROM casework_plannedevent")
        batch = []
        count = 0
        for person_id, measure_id, kind, due, grace in rows:
            batch.append((person_id, measure_id, str(kind), due, int(grace), "scheduled"))
            if len(batch) >= 100_000:
                cursor.executemany("INSERT INTO casework_plannedevent (person_id, measure_id, kind, due_on, "
                                   "grace_days, status) VALUES (%s,%s,%s,%s,%s,%s)", batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany("INSERT INTO casework_plannedevent (person_id, measure_id, kind, due_on, grace_days, "
                               "status) VALUES (%s,%s,%s,%s,%s,%s)", batch)
            count += len(batch)
    services.mark_overdue(today)
    return count


def bench_regeneration(measure_rows, today):
    """The service regenerates every schedule writing only differences; the baseline rewrites the
    planned events of a 10 % sample outright (delete + insert), extrapolated to all measures."""
    from casework import services

    services.regenerate_schedules(today)  # settle: the loader wrote the same plan
    start = time.perf_counter()
    counts = services.regenerate_schedules(today)
    elapsed = time.perf_counter() - start
    sample = measure_rows[: max(1, len(measure_rows) // 10)]
    t0 = time.perf_counter()
    regenerate_all(sample, today, only_sample=True)
    rewrite = (time.perf_counter() - t0) * len(measure_rows) / len(sample)
    line(f"regenerate all schedules ({counts['measures']:,} measures) + overdue", elapsed, "s", 30,
         "delete + insert every planned event (extrap.)", rewrite)


def bench_pages(requests=60):
    from django.test import Client

    from users.models import User

    worker = User.objects.get(username="pingjiang_sw")
    city = User.objects.get(username="city")

    def p95(user, url):
        client = Client()
        client.force_login(user)
        client.get(url)  # warm up
        samples = []
        for _ in range(requests):
            t0 = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        return statistics.quantiles(samples, n=20)[18]

    from casework.models import Person

    some = Person.objects.filter(owner_area_code__startswith="320508001").first()
    line("social worker's task page, p95", p95(worker, "/casework/"), "ms", 200, "", 0)
    scoped = p95(worker, f"/api/casework/persons/?id_number={some.id_number}")
    citywide = p95(city, f"/api/casework/persons/?id_number={some.id_number}")
    line("scoped person search by ID number, p95", scoped, "ms", 200, "same search, city-wide scope", citywide)
    list_scoped = p95(worker, "/casework/persons/?status=community_treatment")
    list_city = p95(city, "/casework/persons/?status=community_treatment")
    line("scoped person list (street), p95", list_scoped, "ms", 200, "same list, city-wide scope", list_city)


def bench_indicators():
    from casework import indicators
    from users.models import User

    city = User.objects.get(username="city")
    period, _label = indicators.parse_period("2026-Q3")
    from casework.models import Person

    t0 = time.perf_counter()
    result = indicators.compute(city, period)
    elapsed = time.perf_counter() - t0
    t0 = time.perf_counter()
    indicators.Facts(Person.objects.restrict(city, "view"))
    read = time.perf_counter() - t0
    assert result["total"]["K01"] is not None
    line("K01–K13 for all areas, one quarter", elapsed, "s", 30, "reading the facts alone", read)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    args = parser.parse_args()
    setup_django()
    print(f"Casework benchmarks — {args.persons:,} persons, {args.events:,} events (SQLite)", flush=True)
    measure_rows, today = build_world(args.persons, args.events)
    bench_regeneration(measure_rows, today)
    bench_pages()
    bench_indicators()


if __name__ == "__main__":
    main()
