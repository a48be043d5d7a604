"""Precursor-pillar benchmarks (issue 3), each figure beside a baseline measured in the same run.

    .venv/bin/python bench/precursors_bench.py [--events 1000000] [--doc-size 10000] [--seeds 200]
    .venv/bin/python bench/precursors_bench.py --quick        (smoke run: 20,000 events, 5,000 per document)
    .venv/bin/python bench/precursors_bench.py --quick --profile /tmp/prof   (cProfile of capture, index, rules)

Builds a throw-away SQLite database (a temporary JINDU_VAR_DIR, like the other benchmarks, removed at the end
unless --keep-db; the baselines read SQLite's catalogue, so the script is SQLite only) with a registry of 300
parties in Suzhou (sites, product mappings, trade and quarterly purchase filings), then captures a synthetic but
realistic supply network as EPCIS 2.0 documents through the API's path (the request body parsed with orjson, then
``precursors.capture.capture``: schema validation, normalisation, insert, EPC index, audit). Not part of the test suite. Targets:

1. capture ≥ 20,000 events/s in batch documents, schema-validated — vs a raw indexed ``executemany`` of the same
   event rows into an equivalent table; also with the capture-time rules on, and the sustained rate over the load;
2. 10-hop back-trace over 1,000,000 events ≤ 20 ms median (warm index; its one-off build from the database is
   reported apart) — vs a plain ``WITH RECURSIVE`` query over the EPC index on the same seeds;
3. full rule run (R01–R31) over 1,000,000 events ≤ 60 s, with the worker's lineage index up to date (the run
   refreshes it; its one-off build after a restart is section 2's) — vs reading and JSON-decoding the stored events;
4. peak memory (RSS high-water mark, also given per phase) ≤ 1 GiB for the whole run.
"""

import argparse
import datetime as dt
import gc
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CST = dt.timezone(dt.timedelta(hours=8))
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
# (item reference, substance, uom, density kg/L) — acetone is reported in litres, the rest in kilograms
PRODUCTS = [("0302", "C3-02", "LTR", 0.79), ("0301", "C3-01", "KGM", None), ("0303", "C3-03", "KGM", None),
            ("0305", "C3-05", "KGM", None), ("0306", "C3-06", "KGM", None), ("0304", "C3-04", "KGM", None),
            ("0202", "C2-02", "KGM", None)]
PRODUCT_WEIGHTS = [30, 20, 12, 15, 15, 5, 3]


def code_version():
    """The commit under test, with '+dirty' when precursors/ differs from it (read-only git calls)."""
    import subprocess

    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=False,
                              capture_output=True, text=True, env=env, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "precursors"],
                               check=False, capture_output=True, text=True, env=env, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def setup_django():
    if "JINDU_VAR_DIR" not in os.environ:
        os.environ["JINDU_VAR_DIR"] = tempfile.mkdtemp(prefix="jindu-bench-pc-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "jindu.settings"
    os.environ["JINDU_JOBS_IMMEDIATE"] = "1"
    import django

    django.setup()
    import io

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_divisions", verbosity=0, stdout=io.StringIO())


# --- reporting ------------------------------------------------------------------------------------------------------

ROWS = []


def line(name, value, unit, target, baseline_name, baseline, *, higher_is_better=False):
    """One row: figure, target, verdict | baseline, ratio (figure ÷ baseline)."""
    if target is None:
        verdict, target_text = "", ""
    elif higher_is_better:
        verdict, target_text = ("ok" if value >= target else "MISSED"), f"≥ {target:,g}"
    else:
        verdict, target_text = ("ok" if value <= target else "MISSED"), f"≤ {target:,g}"
    ratio = f"{value / baseline:,.2f}×" if baseline else ""
    text = (f"{name:<50} {value:>11,.1f} {unit:<9} {target_text:<9} {verdict:<6} | {baseline_name:<44} "
            f"{baseline:>11,.1f} {unit:<9} {ratio:>8}") if baseline_name else \
        f"{name:<50} {value:>11,.1f} {unit:<9} {target_text:<9} {verdict:<6} |"
    ROWS.append(text)
    print(text, flush=True)


def note(text):
    print(f"  {text}", flush=True)


def rss_mb():
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    return float("nan")


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PHASE_PEAKS = {}


def end_phase(name):
    """Record the peak RSS since the previous phase ended (VmHWM), then reset it (Linux /proc/self/clear_refs)."""
    try:
        with open("/proc/self/status") as f:
            hwm = next(int(row.split()[1]) / 1024 for row in f if row.startswith("VmHWM:"))
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except (OSError, StopIteration):
        hwm = peak_mb()
    PHASE_PEAKS[name] = hwm


_GC = {"total": 0.0, "start": 0.0}


def _gc_callback(phase, _info):
    if phase == "start":
        _GC["start"] = time.perf_counter()
    else:
        _GC["total"] += time.perf_counter() - _GC["start"]


def gc_seconds():
    """Seconds spent in the cyclic garbage collector so far (its pauses land in whatever code allocates)."""
    return _GC["total"]


# --- the registry ---------------------------------------------------------------------------------------------------

class World:
    def __init__(self, n_parties, n_producers, start, end):
        self.n, self.n_prod = n_parties, n_producers
        self.start, self.end = start, end
        self.pgln = [sys.intern(f"urn:epc:id:pgln:69{i:05d}.00001") for i in range(n_parties)]
        self.sgln = [sys.intern(f"urn:epc:id:sgln:69{i:05d}.00001.0") for i in range(n_parties)]
        self.dock = [sys.intern(f"urn:epc:id:sgln:69{i:05d}.00001.1") for i in range(n_parties)]
        self.no_filing = set()            # (buyer, substance) pairs without a purchase filing (R01 will answer)

    def quarter(self, t):
        return f"{t.year}Q{(t.month - 1) // 3 + 1}"

    def permit(self, buyer, t):
        return f"PUR-{buyer:04d}-{self.quarter(t)}"


def quarters(start, end):
    y, q = start.year, (start.month - 1) // 3
    while (y, q) <= (end.year, (end.month - 1) // 3):
        first = dt.date(y, 3 * q + 1, 1)
        last = (dt.date(y + (q == 3), (3 * q + 3) % 12 + 1, 1) - dt.timedelta(days=1))
        yield f"{y}Q{q + 1}", first, last
        y, q = (y + 1, 0) if q == 3 else (y, q + 1)


def build_registry(n_parties=300, n_producers=10, seed=3):
    """Parties spread over Suzhou's streets, one site each, product mappings per producer, trade / production
    filings and quarterly purchase filings (a few buyer × substance pairs have none), and a city-office user."""
    from core.context import acting_as
    from geo.models import Division
    from precursors.models import Authorization, Party, ProductMapping, Site
    from users.models import Role, User

    rng = random.Random(seed)
    today = dt.datetime.now(CST).date()
    start = today - dt.timedelta(days=345)
    world = World(n_parties, n_producers, start, today)
    streets = list(Division.objects.filter(code__startswith="3205", level="street").values_list("code", flat=True))
    if not streets:
        streets = list(Division.objects.filter(code__startswith="3205").values_list("code", flat=True))
    assert streets, "no Suzhou divisions loaded"
    with acting_as(username="bench"):
        parties = []
        need = {sub: 1_000_000.0 for _i, sub, _u, _d in PRODUCTS}     # declared annual requirement (R13, R16)
        for i in range(n_parties):
            kinds = ["producer", "trader"] if i < n_producers else (["trader"] if i % 3 == 0 else ["trader", "user"])
            parties.append(Party(identifier=world.pgln[i], name=f"基准化工{i:03d}有限公司",
                                 area_code=rng.choice(streets), kinds=kinds, industry="",
                                 registered_on=dt.date(2010, 1, 1) + dt.timedelta(i), country="CN",
                                 declared_annual_kg=need))
        Party.objects.bulk_create(parties, batch_size=500)
        pk = dict(Party.objects.values_list("identifier", "pk"))
        area = dict(Party.objects.values_list("identifier", "area_code"))
        Site.objects.bulk_create([Site(party_id=pk[world.pgln[i]], identifier=world.sgln[i], name="仓库",
                                       area_code=area[world.pgln[i]], kind="warehouse") for i in range(n_parties)])
        ProductMapping.objects.bulk_create([
            ProductMapping(prefix=f"urn:epc:class:lgtin:69{p:05d}.{item}.", substance_id=sub, density_kg_l=density)
            for p in range(n_producers) for item, sub, _uom, density in PRODUCTS])
        subs = {sub: None for _i, sub, _u, _d in PRODUCTS}
        auths = []
        far = today + dt.timedelta(days=3 * 365)
        for i in range(n_parties):
            holder = pk[world.pgln[i]]
            auths.append(Authorization(number=f"TF-{i:04d}", type="trade_filing", holder_id=holder, substances=subs,
                                       valid_from=dt.date(2020, 1, 1), valid_to=far))
            if i < n_producers:
                auths.append(Authorization(number=f"PF-{i:04d}", type="prod_filing", holder_id=holder,
                                           substances=subs, valid_from=dt.date(2020, 1, 1), valid_to=far))
                continue
            cover = {sub: 2_000_000.0 for _i, sub, _u, _d in PRODUCTS}
            for _i, sub, _u, _d in PRODUCTS:
                if rng.random() < 0.02:                        # 2 % of buyer × substance pairs hold no filing
                    cover.pop(sub)
                    world.no_filing.add((i, sub))
            for label, first, last in quarters(start, today + dt.timedelta(days=90)):
                auths.append(Authorization(number=f"PUR-{i:04d}-{label}", type="purchase_filing", holder_id=holder,
                                           substances=cover, valid_from=first, valid_to=last))
        Authorization.objects.bulk_create(auths, batch_size=500)
        user = User(username="bench_city", role=Role.objects.get(code="city_office"), area_code="320500")
        user.set_password("Bench-pass-2026")
        user.save()
    world.user = user
    world.party_pk = pk
    return world


# --- the events -----------------------------------------------------------------------------------------------------

def _iso(t):
    return t.isoformat(timespec="seconds")


def _q(cls, qty, uom):
    return [{"epcClass": cls, "quantity": qty, "uom": uom}]


def network_events(world, n_events, seed=0, chains_out=None, sequential_ids=False):
    """EPCIS 2.0 event dicts of a supply network (adapted from ``precursors.algorithms.trace.synthetic_events``):
    chains of 14 transfers (shipping + receiving, waybill as a bizTransaction, the buyer's quarterly purchase filing
    cited), a lot commissioned by a producer, split shipments to side buyers (25 % of transfers, 3 % never
    received), a transformation into a new lot half-way, 20 % of chains in SSCC drums (packed, shipped by EPC and
    decanted at the second buyer), cycle counts, 1 % of sales citing no permit and 0.5 % paid in cash. Yields
    ``(event, sale)`` where ``sale`` is ``(seller, transaction_id, event_time)`` for a shipping event, else None.
    Event ids are random version-4 UUIDs (seeded), as reporting systems send them (``sequential_ids``: a counter).
    Appends ``(first_waybill, last_waybill, first_lot, last_lot)`` per complete chain to ``chains_out``."""
    rng = random.Random(seed)
    id_bits = random.Random(seed + 1_000_003).getrandbits
    n_prod, n = world.n_prod, world.n
    pg, sg, dock = world.pgln, world.sgln, world.dock
    t0 = dt.datetime.combine(world.start, dt.time(8), CST)
    span = (world.end - world.start).days - 60
    emitted = 0
    c = 0
    mid = 7

    def ev(body, t):
        nonlocal emitted
        emitted += 1
        body["eventTime"] = _iso(t)
        body["eventTimeZoneOffset"] = "+08:00"
        body["eventID"] = (f"urn:uuid:6a1c{seed:04x}-0000-4000-8000-{emitted:012x}" if sequential_ids
                           else f"urn:uuid:{uuid.UUID(int=id_bits(128), version=4)}")
        return body

    def parties(src, dst):
        return {"sourceList": [{"type": "owning_party", "source": pg[src]}, {"type": "location", "source": sg[src]}],
                "destinationList": [{"type": "owning_party", "destination": pg[dst]},
                                    {"type": "location", "destination": sg[dst]}]}

    while True:
        c += 1
        # chains start in time order (with a day of jitter) so that a document carries the last weeks' movements,
        # as a live feed does; each chain then runs for about five weeks
        t = t0 + dt.timedelta(minutes=span * 24 * 60 * min(1.0, emitted / n_events) + rng.randrange(0, 24 * 60))
        h = rng.randrange(n_prod)
        k = rng.choices(range(len(PRODUCTS)), PRODUCT_WEIGHTS)[0]
        item, sub, uom, _density = PRODUCTS[k]
        prefix = f"urn:epc:class:lgtin:69{h:05d}.{item}."
        lot = f"{prefix}A{c:07d}"
        q = float(rng.choice((500, 1000, 2000)))
        yield ev({"type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning", "disposition": "active",
                  "quantityList": _q(lot, q, uom), "readPoint": {"id": dock[h]}, "bizLocation": {"id": sg[h]}},
                 t), None
        drums = ()
        if rng.random() < 0.2:
            drums = (f"urn:epc:id:sscc:6900000.{c:09d}1", f"urn:epc:id:sscc:6900000.{c:09d}2")
            for d in drums:
                t += dt.timedelta(minutes=5)
                yield ev({"type": "AggregationEvent", "action": "ADD", "bizStep": "packing",
                          "disposition": "in_progress", "parentID": d, "childQuantityList": _q(lot, q / 2, uom),
                          "readPoint": {"id": dock[h]}, "bizLocation": {"id": sg[h]}}, t), None
        first_wb = last_wb = None
        first_lot = lot
        for step in range(14):
            nxt = rng.randrange(n_prod, n)
            if nxt == h:
                nxt = (nxt + 1 - n_prod) % (n - n_prod) + n_prod
            wb = f"urn:jindu:waybill:WB{seed:02d}{c:07d}{step:02d}"
            if drums:
                items = {"epcList": list(drums)}
            else:
                qs = round(q * rng.uniform(0.5, 0.9), 3)
                items = {"quantityList": _q(lot, qs, uom)}
            t += dt.timedelta(hours=rng.randrange(1, 48))
            btx = [{"type": "bol", "bizTransaction": wb},
                   {"type": "po", "bizTransaction": f"urn:jindu:po:{nxt:04d}-{c:07d}{step:02d}"}]
            extra = {}
            if rng.random() >= 0.01:
                extra["jindu:permitNo"] = world.permit(nxt, t)
            extra["jindu:paymentMethod"] = "cash" if rng.random() < 0.005 else "transfer"
            ship = ev({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
                       **items, "readPoint": {"id": dock[h]}, **parties(h, nxt), "bizTransactionList": btx,
                       **extra}, t)
            yield ship, (h, f"{ship['eventID']}#{sub}", t)
            t += dt.timedelta(hours=rng.randrange(1, 72))
            yield ev({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
                      **items, "readPoint": {"id": dock[nxt]}, "bizLocation": {"id": sg[nxt]}, **parties(h, nxt),
                      "bizTransactionList": btx}, t), None
            first_wb = first_wb or wb
            last_wb = wb
            if not drums:
                q = qs
                if rng.random() < 0.25:                       # split: part of the rest to a side buyer
                    side = rng.randrange(n_prod, n)
                    if side == h:
                        side = (side + 1 - n_prod) % (n - n_prod) + n_prod
                    sq = round(q * 0.1, 3)
                    swb = f"urn:jindu:waybill:WS{seed:02d}{c:07d}{step:02d}"
                    t2 = t + dt.timedelta(hours=rng.randrange(1, 24))
                    sbtx = [{"type": "bol", "bizTransaction": swb}]
                    side_ship = ev({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping",
                                    "disposition": "in_transit", "quantityList": _q(lot, sq, uom),
                                    "readPoint": {"id": dock[h]}, **parties(h, side), "bizTransactionList": sbtx,
                                    "jindu:permitNo": world.permit(side, t2), "jindu:paymentMethod": "transfer"}, t2)
                    yield side_ship, (h, f"{side_ship['eventID']}#{sub}", t2)
                    if rng.random() > 0.03:
                        yield ev({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving",
                                  "disposition": "in_progress", "quantityList": _q(lot, sq, uom),
                                  "readPoint": {"id": dock[side]}, "bizLocation": {"id": sg[side]},
                                  **parties(h, side), "bizTransactionList": sbtx}, t2 + dt.timedelta(hours=20)), None
            h = nxt
            if drums and step == 1:                           # decant the drums at the second buyer
                for d in drums:
                    t += dt.timedelta(minutes=5)
                    yield ev({"type": "AggregationEvent", "action": "DELETE", "bizStep": "unpacking",
                              "disposition": "in_progress", "parentID": d, "readPoint": {"id": dock[h]},
                              "bizLocation": {"id": sg[h]}}, t), None
                drums = ()
            if step == mid:                                   # purified / re-lotted at this buyer, 80 % yield
                new_lot = f"{prefix}B{c:07d}"
                t += dt.timedelta(hours=2)
                yield ev({"type": "TransformationEvent", "bizStep": "creating_class_instance", "disposition": "active",
                          "inputQuantityList": _q(lot, q, uom),
                          "outputQuantityList": _q(new_lot, round(q * .8, 3), uom),
                          "readPoint": {"id": dock[h]}, "bizLocation": {"id": sg[h]}}, t), None
                lot, q = new_lot, round(q * 0.8, 3)
            if rng.random() < 0.05:
                yield ev({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "cycle_counting",
                          "disposition": "active", "quantityList": _q(lot, q, uom), "readPoint": {"id": dock[h]},
                          "bizLocation": {"id": sg[h]}}, t + dt.timedelta(hours=1)), None
        if chains_out is not None:
            chains_out.append((first_wb, last_wb, first_lot, lot))


def document(events):
    from precursors.algorithms.transactions import JINDU_NAMESPACE

    return {"@context": [EPCIS_CONTEXT, {"jindu": JINDU_NAMESPACE}], "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": _iso(dt.datetime.now(CST)), "epcisBody": {"eventList": events}}


def documents(world, n_events, doc_size, chains_out):
    """(document, sales) pairs of ``doc_size`` events each, ``n_events`` in all."""
    gen = network_events(world, n_events, chains_out=chains_out)
    left = n_events
    while left > 0:
        size = min(doc_size, left)
        events, sales = [], []
        for _ in range(size):
            body, sale = next(gen)
            events.append(body)
            if sale is not None:
                sales.append(sale)
        left -= size
        yield document(events), sales


def file_sales(world, sales, rng):
    """The sales filings (销售备案) the sellers submitted for 97 % of their sales, 1–20 days later: a loader step,
    not measured (without them R06 would flag every sale)."""
    from precursors.models import Filing

    now = dt.datetime.now(CST)
    rows = []
    for seller, txid, t in sales:
        if rng.random() < 0.97:
            rows.append(Filing(kind="sales_filing", party_id=world.party_pk[world.pgln[seller]],
                               submitted_at=min(now, t + dt.timedelta(days=rng.randint(1, 20))), reference=txid))
    Filing.objects.bulk_create(rows, batch_size=2000)


# --- 1. capture -----------------------------------------------------------------------------------------------------

def capture_doc(world, doc, run_rules):
    """One document through the API's path, timed from the request body (``capture_body``: parsed with orjson,
    captured, the body's SM3 recorded). The body is serialised beforehand, not timed: it is what the sender sends."""
    import orjson

    from core.context import acting_as
    from precursors.capture import capture_body

    body = orjson.dumps(doc)
    n_events = len(doc["epcisBody"]["eventList"])
    with acting_as(world.user, channel="api"):
        g0 = gc_seconds()
        t0 = time.perf_counter()
        result = capture_body(body, user=world.user, channel="api", run_rules=run_rules)
        elapsed = time.perf_counter() - t0
        result.gc_seconds = gc_seconds() - g0
    assert len(result.new_ids) == n_events, result.as_dict()
    return elapsed, result


def copy_table_ddl(cursor, table, copy):
    """CREATE TABLE / INDEX statements of ``table`` renamed to ``copy`` (same columns, constraints, indexes)."""
    cursor.execute("SELECT type, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL "
                   "AND type IN ('table', 'index')", [table])
    out = []
    for kind, sql in cursor.fetchall():
        sql = sql.replace(f'"{table}"', f'"{copy}"')
        if kind == "index":
            name = sql.split('"')[1]
            sql = sql.replace(f'"{name}"', f'"{copy}_{name}"', 1)
        out.append(sql)
    return out


def stored_rows(batch_id):
    """(the event columns a capture writes, without id; one batch's rows with the id first; their EPC-index rows)."""
    from django.db import connection

    from precursors.capture import EVENT_COLUMNS
    from precursors.models import Event, EventEPC

    cols = EVENT_COLUMNS[1:]
    with connection.cursor() as cur:
        cur.execute(f"SELECT id, {', '.join(cols)} FROM {Event._meta.db_table} WHERE batch_id = %s ORDER BY id",
                    [batch_id])
        rows = cur.fetchall()
        cur.execute(f"SELECT event_id, epc, role FROM {EventEPC._meta.db_table} WHERE event_id BETWEEN %s AND %s",
                    [rows[0][0], rows[-1][0]])
        return cols, rows, cur.fetchall()


def raw_insert_baseline(batch_id, repeat=3):
    """events/s of a plain ``executemany`` of the rows a capture stored (read back from the table) into an empty
    table with the same columns, constraints and indexes, in one transaction; and the same plus its EPC-index rows."""
    from django.db import connection, transaction

    from precursors.models import Event, EventEPC

    cols, rows, epc_rows = stored_rows(batch_id)
    with connection.cursor() as cur:
        event_ddl = copy_table_ddl(cur, Event._meta.db_table, "bench_event_copy")
        epc_ddl = copy_table_ddl(cur, EventEPC._meta.db_table, "bench_eventepc_copy")
    rows = [r[1:] for r in rows]
    insert = f"INSERT INTO bench_event_copy ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
    insert_epc = "INSERT INTO bench_eventepc_copy (event_id, epc, role) VALUES (%s, %s, %s)"

    def once(with_epc):
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_event_copy")
            cur.execute("DROP TABLE IF EXISTS bench_eventepc_copy")
            for sql in event_ddl + (epc_ddl if with_epc else []):
                cur.execute(sql)
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.executemany(insert, rows)
            if with_epc:
                cur.executemany(insert_epc, epc_rows)
        return time.perf_counter() - t0

    plain = statistics.median(once(False) for _ in range(repeat))
    with_epc = statistics.median(once(True) for _ in range(repeat))
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_event_copy")
        cur.execute("DROP TABLE IF EXISTS bench_eventepc_copy")
    return len(rows) / plain, len(rows) / with_epc, len(epc_rows) / len(rows)


def raw_insert_at_scale(batch_id):
    """events/s of a plain ``executemany`` of one document's rows (event ids suffixed) and their EPC-index rows
    into the live tables at full size, rolled back (so without the commit): what the database alone costs there."""
    from django.db import connection, transaction

    from precursors.models import Event, EventEPC

    et, xt = Event._meta.db_table, EventEPC._meta.db_table
    cols, rows, epc_rows = stored_rows(batch_id)
    with connection.cursor() as cur:
        cur.execute("SELECT MAX(id) FROM " + et)
        top = cur.fetchone()[0]
    shift = top + 1 - rows[0][0]
    rows = [(r[0] + shift, r[1] + "~bench", *r[2:]) for r in rows]
    epc_rows = [(e + shift, epc, role) for e, epc, role in epc_rows]
    insert = f"INSERT INTO {et} (id, {', '.join(cols)}) VALUES ({', '.join(['%s'] * (len(cols) + 1))})"
    with transaction.atomic(), connection.cursor() as cur:
        t0 = time.perf_counter()
        cur.executemany(insert, rows)
        cur.executemany(f"INSERT INTO {xt} (event_id, epc, role) VALUES (%s, %s, %s)", epc_rows)
        elapsed = time.perf_counter() - t0
        transaction.set_rollback(True)
    return len(rows) / elapsed


def capture_breakdown(doc):
    """Seconds of the pure steps of one capture, collector paused: schema validation, normalisation, and the
    serialisation of every event (the stored body and its content hash)."""
    import hashlib

    from precursors import capture as capture_module
    from precursors.algorithms import epcis

    serialise = getattr(capture_module, "_serialise", None)

    gc.disable()
    try:
        t0 = time.perf_counter()
        assert epcis.validate_document(doc) == []
        t1 = time.perf_counter()
        raw, ctx = epcis.document_events(doc)
        rec = dt.datetime.now(dt.UTC)
        [epcis.normalise_event(e, ctx, rec) for e in raw]
        t2 = time.perf_counter()
        for ev in raw:
            if serialise is not None:
                serialise(ev)
            else:                                     # before orjson: two stdlib encodings
                hashlib.sha256(epcis.canonical_json({k: v for k, v in ev.items() if k != "recordTime"})).hexdigest()
                json.dumps(ev, ensure_ascii=False, separators=(",", ":"))
        t3 = time.perf_counter()
    finally:
        gc.enable()
    return t1 - t0, t2 - t1, t3 - t2


# --- 2. trace -------------------------------------------------------------------------------------------------------

RECURSIVE_BACK = """
WITH RECURSIVE r(pk, t, hop) AS (
    SELECT e.id, e.event_time, 0 FROM precursors_eventepc x JOIN precursors_event e ON e.id = x.event_id
    WHERE x.epc = %s
    UNION
    SELECT e2.id, e2.event_time, r.hop + 1
    FROM r JOIN precursors_eventepc a ON a.event_id = r.pk AND a.role != 'a'
           JOIN precursors_eventepc b ON b.epc = a.epc AND b.event_id != r.pk AND b.role != 'a'
           JOIN precursors_event e2 ON e2.id = b.event_id
    WHERE r.hop < %s AND e2.event_time <= r.t AND e2.declared_error = 0
)
SELECT COUNT(DISTINCT pk) FROM r
"""


def bench_trace(chains, n_seeds, hops, rng, world, docs_for_rules, sales_rng):
    from django.db import connection

    from precursors import tracing
    from precursors.models import Event

    tracing.reset()
    gc.collect()
    before = rss_mb()
    n_events = Event.objects.count()
    t0 = time.perf_counter()
    index = tracing.lineage_index()
    build = time.perf_counter() - t0
    note(f"lineage index built from the database: {index.n_events:,} events -> {index.n_nodes:,} nodes, "
         f"{index.n_edges:,} edges in {build:.1f} s ({index.n_events / build:,.0f} events/s), "
         f"+{rss_mb() - before:,.0f} MB RSS (one-off per process; then incremental)")
    rules_rate = None
    # the last two documents, captured at scale with the rules on: the first after the bulk load (which ran without
    # them) also records, once, the earlier draws of the permits it cites; the second shows the steady state
    for j, (doc, sales) in enumerate(docs_for_rules):
        n_doc = len(doc["epcisBody"]["eventList"])
        elapsed, result = capture_doc(world, doc, run_rules=True)
        file_sales(world, sales, sales_rng)
        rules_rate = n_doc / elapsed
        what = "first after the bulk load, recording the cited permits' earlier draws once" if j == 0 else \
            "the next document"
        note(f"capture with rules at {n_events + j * n_doc:,} events (warm index), {what}: {n_doc:,} events in "
             f"{elapsed:.2f} s, {len(result.flags):,} flags")
    picks = [rng.choice(chains) for _ in range(n_seeds)]
    res = {}
    for label, back in (("back", True), ("forward", False)):
        times, sizes, depth = [], [], []
        for first_wb, last_wb, _first_lot, _last_lot in picks:
            index.clear_caches()
            seed = last_wb if back else first_wb
            t0 = time.perf_counter()
            r = tracing.trace(seed, direction=label, max_hops=hops)
            times.append((time.perf_counter() - t0) * 1000)
            assert r["found"], seed
            sizes.append(len(r["nodes"]))
            depth.append(max(x["hop"] for x in r["nodes"]))
        times.sort()
        res[label] = (statistics.median(times), times[int(0.95 * (len(times) - 1))], statistics.mean(sizes),
                      sum(d >= hops for d in depth) / len(depth))
    # baseline: identity-level recursive SQL over the EPC index (needs an index on its event column, which the
    # schema does not have: built here, outside the timings)
    with connection.cursor() as cur:
        t0 = time.perf_counter()
        cur.execute("CREATE INDEX IF NOT EXISTS bench_eventepc_event ON precursors_eventepc (event_id)")
        helper = time.perf_counter() - t0
        sql_times, reached = [], []
        for _first_wb, last_wb, _a, _b in picks[: max(20, n_seeds // 4)]:
            t0 = time.perf_counter()
            cur.execute(RECURSIVE_BACK, [last_wb, hops])
            reached.append(cur.fetchone()[0])
            sql_times.append((time.perf_counter() - t0) * 1000)
        cur.execute("DROP INDEX bench_eventepc_event")
    res["sql"] = (statistics.median(sql_times), len(sql_times), statistics.mean(reached), helper)
    res["build"] = build
    res["rules_rate"] = rules_rate
    res["index_events"] = index.n_events
    return res


# --- 3. rules -------------------------------------------------------------------------------------------------------

def bench_rules():
    from core.context import acting_as
    from precursors import rules_service
    from precursors.algorithms import rules as rules_mod
    from precursors.models import Event

    # the nightly run is a job of the worker, which keeps its lineage index between runs (brought up to date at
    # the start of each run): the index built for the traces above is that index; its one-off build (after a restart)
    # is reported in section 2
    gc.collect()
    parts = {}
    originals = {"build_facts": rules_service.build_facts, "_store_hits": rules_service._store_hits}
    run_original = rules_mod.run

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - t0
        return wrapper

    rules_service.build_facts = timed("build_facts", originals["build_facts"])
    rules_service._store_hits = timed("_store_hits", originals["_store_hits"])
    rules_mod.run = timed("rules", run_original)
    try:
        rss0 = rss_mb()
        g0 = gc_seconds()
        with acting_as(username="system:precursor_rules", channel="system"):
            t0 = time.perf_counter()
            result = rules_service.run_rules()
            total = time.perf_counter() - t0
        parts["gc"] = gc_seconds() - g0
        rss1 = rss_mb()
    finally:
        rules_service.build_facts = originals["build_facts"]
        rules_service._store_hits = originals["_store_hits"]
        rules_mod.run = run_original
    gc.collect()
    t0 = time.perf_counter()
    n = 0
    for raw in Event.objects.values_list("raw", flat=True).iterator(chunk_size=5000):
        json.loads(raw)
        n += 1
    read = time.perf_counter() - t0
    return total, parts, result, read, n, rss0, rss1


def fresh_process(code):
    """(wall seconds, peak RSS in MB) of a new Python process on this database running ``code`` after Django's
    setup: what a web or worker process of its own would hold (none of this benchmark's own data). The child reports
    its own high-water mark (VmHWM, which starts afresh at exec): the parent's rusage of a child started from this
    large process counts the parent's pages the child shared before it exec'd."""
    import subprocess

    script = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'jindu.settings'); django.setup()\n"
              + code + "\nprint(next(r.split()[1] for r in open('/proc/self/status') if r.startswith('VmHWM:')))\n")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", script], cwd=str(ROOT), capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise RuntimeError(f"fresh process failed: {code}\n{out.stderr[-2000:]}")
    return time.perf_counter() - t0, int(out.stdout.split()[-1]) / 1024


def hits_by_rule():
    from django.db.models import Count

    from precursors.models import Alert

    return dict(Alert.objects.values_list("rule_id").annotate(n=Count("id")).order_by("rule_id"))


# --- profiling (optional) -------------------------------------------------------------------------------------------

def profiled(directory, name, fn):
    if not directory:
        return fn()
    import cProfile
    import pstats

    Path(directory).mkdir(parents=True, exist_ok=True)
    prof = cProfile.Profile()
    result = prof.runcall(fn)
    path = Path(directory) / f"{name}.pstats"
    prof.dump_stats(path)
    print(f"--- profile {name} ({path}) ---")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return result


# --- main -----------------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events loaded in all (default 1,000,000)")
    parser.add_argument("--doc-size", type=int, default=10_000, help="events per EPCIS document (default 10,000)")
    parser.add_argument("--seeds", type=int, default=200, help="trace seeds (default 200)")
    parser.add_argument("--hops", type=int, default=10)
    parser.add_argument("--parties", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 events in 5,000-event documents")
    parser.add_argument("--profile", metavar="DIR", help="write cProfile stats of capture, index and rule run")
    parser.add_argument("--keep-db", action="store_true", help="keep the temporary database (it is ~2 GB at 1M)")
    args = parser.parse_args()
    own_dir = "JINDU_VAR_DIR" not in os.environ
    try:
        run(args)
    finally:
        var_dir = os.environ.get("JINDU_VAR_DIR", "")
        if own_dir and not args.keep_db and Path(var_dir).name.startswith("jindu-bench-pc-"):
            import shutil

            shutil.rmtree(var_dir, ignore_errors=True)
        elif own_dir:
            print(f"database kept in {var_dir}")


def run(args):
    gc.callbacks.append(_gc_callback)
    if args.quick:
        args.events, args.doc_size, args.seeds = 20_000, 5_000, min(args.seeds, 50)
    started = time.perf_counter()
    setup_django()
    from django.db import connection

    from precursors.models import Event, EventEPC

    if connection.vendor != "sqlite":
        sys.exit("bench/precursors_bench.py measures SQLite (unset DATABASE_URL)")
    # import every module under test now, so that the whole run measures one version of the code
    import precursors.capture
    import precursors.rules_service
    import precursors.tracing  # noqa: F401

    version = code_version()
    world = build_registry(args.parties)
    print(f"Precursor benchmarks — {connection.vendor}, {args.events:,} events in documents of {args.doc_size:,}, "
          f"{args.parties} parties, {args.seeds} trace seeds; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; code {version}", flush=True)
    chains: list = []
    rng = random.Random(11)
    n_docs = -(-args.events // args.doc_size)
    k_first = min(5, max(1, n_docs - 2))          # documents timed for the figure on a young database
    k_rules = 2 if n_docs >= 4 else 1             # then captured with the capture-time rules on
    docs = documents(world, args.events, args.doc_size, chains)
    first, rules_on, load, last_docs = [], [], [], []
    t_gen = 0.0
    capture_total, captured = 0.0, 0
    breakdown = None
    baseline_batch = None
    for i in range(n_docs):
        g0 = time.perf_counter()
        doc, sales = next(docs)
        t_gen += time.perf_counter() - g0
        size = len(doc["epcisBody"]["eventList"])
        if i >= n_docs - 2 and n_docs > k_first + k_rules + 2:
            last_docs.append((doc, sales))          # captured at scale with the rules on (see bench_trace)
            continue
        if i == 1:
            breakdown = capture_breakdown(doc)
        with_rules = k_first <= i < k_first + k_rules
        from precursors import tracing

        if i == k_first + k_rules:
            tracing.reset()                         # a capture-only worker holds no trace index
        if with_rules and i == k_first:
            t0 = time.perf_counter()
            tracing.lineage_index()                 # the web process holds a warm index; build it first
            note(f"trace index warmed over {captured:,} events in {time.perf_counter() - t0:.2f} s (not counted)")
        if args.profile and i == 1:
            elapsed, result = profiled(args.profile, "capture", lambda doc=doc: capture_doc(world, doc, False))
        else:
            elapsed, result = capture_doc(world, doc, with_rules)
        if i == 1:
            baseline_batch = result.batch.pk
        last_batch = result.batch.pk
        file_sales(world, sales, rng)
        (rules_on if with_rules else first if i < k_first else load).append((size, elapsed, len(result.flags),
                                                                             result.gc_seconds))
        if not with_rules:
            capture_total += elapsed
        captured += size
        if (i + 1) % 10 == 0 or i == n_docs - 1:
            note(f"loaded {captured:,} events; last document {size / elapsed:,.0f} events/s; "
                 f"RSS {rss_mb():,.0f} MB; elapsed {time.perf_counter() - started:,.0f} s")
    n_epc = EventEPC.objects.count()
    end_phase("load (capture)")
    print("--- 1. capture", flush=True)
    raw_rate, raw_epc_rate, epc_per_event = raw_insert_baseline(baseline_batch)
    rate_first = statistics.median(s / e for s, e, *_ in first)
    line(f"capture, schema-validated, docs of {args.doc_size:,} (median)", rate_first, "events/s", 20_000,
         "raw indexed executemany, same event rows", raw_rate, higher_is_better=True)
    if rules_on:
        rate_rules = statistics.median(s / e for s, e, *_ in rules_on)
        line("capture with the capture-time rules on", rate_rules, "events/s", 20_000,
             "raw indexed executemany, same event rows", raw_rate, higher_is_better=True)
        note(f"{sum(r[2] for r in rules_on):,} flags raised by the {len(rules_on)} document(s) with rules on")
    if breakdown:
        v, nrm, enc = breakdown
        whole = statistics.median(e for _, e, *_ in first)
        gc_share = sum(r[3] for r in first) / sum(r[1] for r in first)
        note(f"one {args.doc_size:,}-event document takes {whole:.2f} s (median): schema validation {v:.2f} s, "
             f"normalisation {nrm:.2f} s, serialising the events (stored body + content hash) {enc:.2f} s, garbage "
             f"collector pauses {100 * gc_share:.0f}% of capture time; {epc_per_event:.1f} EPC-index rows per event")
    note(f"baseline including the EPC-index rows: {raw_epc_rate:,.0f} events/s; documents generated in "
         f"{t_gen:.1f} s (not counted)")
    sustained_n = sum(r[0] for r in first + load)
    line(f"capture sustained over the load ({sustained_n:,} events)", sustained_n / capture_total, "events/s", 20_000,
         "raw indexed executemany, same event rows", raw_rate, higher_is_better=True)
    if load:
        note(f"garbage collector pauses: {100 * sum(r[3] for r in first + load) / capture_total:.0f}% of the "
             f"capture time over the load")
    if len(load) >= 5:
        tail = load[-5:]
        note(f"last 5 documents: {sum(r[0] for r in tail) / sum(r[1] for r in tail):,.0f} events/s "
             f"(database at {captured:,} events, {n_epc:,} EPC-index rows); raw executemany of one document's "
             f"event + EPC-index rows into the live tables at that size, rolled back: "
             f"{raw_insert_at_scale(last_batch):,.0f} events/s")

    print("--- 2. trace", flush=True)
    tr = profiled(args.profile, "trace_index_and_traces",
                  lambda: bench_trace(chains, args.seeds, args.hops, random.Random(5), world, last_docs, rng))
    if last_docs:
        line("capture with rules on, at full size (warm index)", tr["rules_rate"], "events/s", 20_000,
             "raw indexed executemany, same event rows", raw_rate, higher_is_better=True)
    n_events = Event.objects.count()
    med, p95, nodes, share = tr["back"]
    sql_med, sql_n, sql_reached, helper = tr["sql"]
    line(f"{args.hops}-hop back-trace over {n_events:,} events, median", med, "ms", 20,
         f"WITH RECURSIVE over the EPC index (n={sql_n})", sql_med)
    line(f"{args.hops}-hop back-trace, p95", p95, "ms", None, "", 0)
    note(f"back: {nodes:.1f} nodes per answer, {100 * share:.0f}% reach hop {args.hops}; forward from the first "
         f"waybill: median {tr['forward'][0]:.2f} ms, p95 {tr['forward'][1]:.2f} ms, {tr['forward'][2]:.1f} nodes")
    note(f"SQL baseline: identity level (events sharing an EPC, class or waybill, earlier in time; no quantities, "
         f"no custody segments), {sql_reached:.0f} events reached on average; helper index on EventEPC.event_id "
         f"built for it in {helper:.1f} s and dropped")
    line("trace index one-off build from the database", tr["build"], "s", None,
         "", 0)

    end_phase("trace (index build + traces)")
    print("--- 3. full rule run", flush=True)
    total, parts, result, read, n_read, rss0, rss1 = profiled(args.profile, "rules", bench_rules)
    line(f"full rule run R01–R31 over {n_read:,} events", total, "s", 60,
         "read + JSON-decode every stored event", read)
    note(f"build_facts {parts.get('build_facts', 0):.1f} s, rules {parts.get('rules', 0):.1f} s, storing alerts "
         f"{parts.get('_store_hits', 0):.1f} s (garbage collector pauses within these: {parts['gc']:.1f} s); "
         f"{result['transactions']:,} transactions, {result['hits']:,} hits "
         f"({result['created']:,} new alerts); RSS {rss0:,.0f} -> {rss1:,.0f} MB")
    note("alerts by rule: " + ", ".join(f"{k} {v:,}" for k, v in hits_by_rule().items()))

    print("--- 4. memory", flush=True)
    end_phase("full rule run")
    # each as its own process would hold it: a web process answering traces holds the lineage index; the worker
    # running the nightly job holds the index and the run's facts (an operator's `manage.py precursor_rules` is that
    # job in a process of its own, so it also builds the index first)
    seed = chains[-1][3] if chains else ""        # a last lot, traced back
    web_s, web_mb = fresh_process(f"from precursors import tracing; tracing.trace({seed!r}, max_hops={args.hops})")
    job_s, job_mb = fresh_process("from django.core.management import call_command; "
                                  "call_command('precursor_rules', stdout=open(os.devnull, 'w'))")
    line("peak memory, nightly rule run (worker process)", job_mb, "MB", 1024, "", 0)
    line("peak memory, web process with the trace index", web_mb, "MB", 1024, "", 0)
    note(f"fresh processes on the same database: the rule run incl. building its lineage index took {job_s:.0f} s; "
         f"the web process built the index and answered one {args.hops}-hop trace in {web_s:.0f} s")
    line("peak memory of this benchmark's own process", max(peak_mb(), *PHASE_PEAKS.values()), "MB", None, "", 0)
    note("peak RSS by phase: " + ", ".join(f"{k} {v:,.0f} MB" for k, v in PHASE_PEAKS.items()) + " (it also holds "
         "the generated network and documents, and both the index and the facts)")
    print(f"total wall time {time.perf_counter() - started:,.0f} s; load average now {os.getloadavg()[0]:.2f} "
          f"(1 min; other processes on the machine inflate wall times)", flush=True)
    if code_version() != version:
        print(f"WARNING: the checkout changed during the run ({version} -> {code_version()}); modules were "
              f"imported at the start, so the figures are for {version}")


if __name__ == "__main__":
    main()
