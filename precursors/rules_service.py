"""Running the diversion rules R01–R31 against the database and keeping the alert inbox (issue 3 item 6).

* ``capture_check(events, registry)`` — at capture: the capture-time rules over the transactions those events
  carry; hits are stored as alerts (``blocked`` when the rule stops the transaction) and returned to the caller.
* ``run_rules(rule_ids=None, as_of=None)`` — the full run over the whole history (nightly job and
  ``manage.py precursor_rules``); an alert is keyed by rule + key, so a re-run refreshes it instead of raising a
  second one, and alerts staff have closed stay closed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import threading
from collections.abc import Iterable

import orjson
from django.db import connection, transaction
from django.utils import timezone

from core.audit import log_created_digest
from core.context import acting_as

from .algorithms import epcis, rules
from .algorithms.ledger import ledger_from_index, month_periods
from .algorithms.rules import facts as F
from .algorithms.trace import CST
from .algorithms.transactions import ext_list
from .registry import Registry, params_in_force, product_catalog, substances_on

CAPTURE_FILING_KINDS = (F.PEN, F.INTL_VERIFICATION)   # the only filings a capture-time rule (R21) reads


def registry_facts(as_of: dt.datetime, reg: Registry | None = None, *, for_capture: bool = False,
                   filings: bool = True) -> F.Facts:
    """The registry as facts. ``for_capture``: only what the capture-time rules read (no inspections, stock
    counts, equipment, and only the export filings), since it is rebuilt for every capture. ``filings=False``:
    without the filings (``build_facts`` reads them once the transactions they name are known)."""
    from .models import Authorization, Equipment, Inspection, Party, Site, StockCheck

    on = as_of.astimezone(CST).date()
    facts = F.Facts(as_of=as_of, params=params_in_force(on), substances=substances_on(on))
    parties = {}
    for p in Party.objects.all():
        parties[p.identifier] = F.Party(
            id=p.identifier, name=p.name, kinds=frozenset(p.kinds or ()), area_code=p.area_code[:6],
            industry=p.industry, registered_on=p.registered_on, active=p.is_active, in_registry=True,
            blacklist_until=p.blacklist_until, declared_annual_kg=p.declared_annual_kg or {},
            link_keys=frozenset(p.link_keys or ()), changed_on=p.changed_on, risk_grade=p.risk_grade,
            residential_site=p.residential_site, country=p.country)
    facts.parties = parties
    facts.sites = {s.identifier: F.Site(s.identifier, s.party.identifier, s.area_code[:6], s.kind, s.residential)
                   for s in Site.objects.select_related("party")}
    ident = dict(Party.objects.values_list("pk", "identifier"))
    facts.authorizations = {
        a.number: F.Authorization(
            id=a.number, type=a.type, holder_id=ident[a.holder_id], substances=a.substances or {},
            counterparty_id=ident.get(a.counterparty_id), consignee_id=ident.get(a.consignee_id),
            carrier_id=ident.get(a.carrier_id), origin_area=a.origin_area or None,
            destination_area=a.destination_area or None, destination_country=a.destination_country or None,
            valid_from=a.valid_from, valid_to=a.valid_to, uses_allowed=a.uses_allowed, status=a.status,
            revoked_on=a.revoked_on)
        for a in Authorization.objects.all()}
    if filings:
        facts.filings = list(read_filings(ident, for_capture=for_capture))
    facts.special_country_rules = special_country_rules()
    facts.key_areas = frozenset(facts.params.get("key_areas", ()) or ())
    if for_capture:
        return facts
    facts.inspections = [F.Inspection(str(i.pk), ident[i.party_id], i.done_at, True, i.on_site)
                         for i in Inspection.objects.filter(done_at__isnull=False)]
    facts.stock_counts = [
        F.StockCount(f"SC{c.pk}", c.inspection.done_at, ident[c.inspection.party_id],
                     c.inspection.site.identifier if c.inspection.site_id else None, c.substance_id, c.counted_kg,
                     c.book_kg, frozenset(c.counted_tags or ()), book_tags=None, inspection_id=str(c.inspection_id))
        for c in StockCheck.objects.select_related("inspection", "inspection__site")
        if c.inspection.done_at is not None]
    transfers: dict[int, list] = {}
    from .models import EquipmentTransfer
    for t in EquipmentTransfer.objects.all():
        transfers.setdefault(t.equipment_id, []).append(
            (t.date, ident.get(t.from_party_id), ident.get(t.to_party_id) or (t.to_name or None)))
    facts.equipment = [
        F.Equipment(str(e.pk), e.type, ident.get(e.owner_id), e.site.identifier if e.site_id else None, e.field_mhz,
                    e.benchtop, e.acquired_on, tuple(transfers.get(e.pk, ())))
        for e in Equipment.objects.select_related("site").filter(is_active=True)]
    return facts


def read_filings(ident: dict, *, for_capture: bool = False, transactions: list | None = None) -> Iterable[F.Filing]:
    """The filings as facts (``ident``: party pk → identifier). With ``transactions``, a filing naming one of them by
    its id (``"<event id>#<substance>"``) is linked to it (``Filing.about``) as it is read, so the ids read from the
    database are let go one at a time instead of being held all at once (a filing per sale: 45 MB at 1,000,000
    events)."""
    from .models import Filing

    by_event: dict[str, object] = {}       # the transactions by their first event (the index's shared id strings)
    for t in transactions or ():
        if t._id is None:
            ev = t.event_ids[0]
            cur = by_event.get(ev)
            by_event[ev] = t if cur is None else [*(cur if isinstance(cur, list) else [cur]), t]
    qs = Filing.objects.filter(kind__in=CAPTURE_FILING_KINDS) if for_capture else Filing.objects.all()
    # a filing per sale makes this the registry's longest table: read its columns, not model instances
    intern = sys.intern       # a kind and a status per filing: one string each, not one per row
    for pk, kind, party_id, submitted_at, reference, year, status in qs.values_list(
            "pk", "kind", "party_id", "submitted_at", "reference", "year", "status").iterator(chunk_size=5000):
        f = F.Filing(str(pk), intern(kind), ident[party_id], submitted_at, reference or None, year, intern(status))
        if by_event and reference:
            ev, _hash, substance = reference.rpartition("#")
            found = by_event.get(ev)
            for t in (found if isinstance(found, list) else (found,) if found is not None else ()):
                if t.substance == substance:
                    f.about(t)
                    break
        yield f


def special_country_rules() -> list[tuple]:
    """(substance code, country, effective_from, effective_to): the shipped catalogue rows, then the office's
    ``special_country_substances`` parameter rows ({country: [codes]}), each valid over its own row's dates — an
    export shipped before the office listed a substance is not judged by that listing."""
    from .algorithms.catalogue import load_special_country_rules
    from .models import RuleParameter

    out = [(r.substance_code, r.country, r.effective_from, r.effective_to) for r in load_special_country_rules()]
    for row in RuleParameter.objects.filter(name="special_country_substances").order_by("effective_from"):
        for country, codes in (row.value or {}).items():
            out.extend((code, country.upper(), row.effective_from, row.effective_to) for code in codes)
    return out


class BatchContexts:
    """The @context of capture batches, fetched a thousand batches at a time rather than once per event (a web form
    or an Excel row is a batch of its own, so there can be as many batches as events)."""

    def __init__(self):
        self._cache: dict[int, list] = {}

    def __call__(self, batch_id: int) -> list:
        from .models import CaptureBatch

        ctx = self._cache.get(batch_id)
        if ctx is None:
            self._cache.update(CaptureBatch.objects.filter(pk__gte=batch_id).order_by("pk")
                               .values_list("pk", "context")[:1000])
            ctx = self._cache.setdefault(batch_id, [])
        return ctx or []


@contextlib.contextmanager
def _scan_cache(cursor):
    """SQLite's page cache kept small while a whole table is read once (the rule run, the lineage index's build):
    the pages are not read again, and the connection's cache (``SQLITE_CACHE_MB``, for captures) would otherwise
    fill with them — 64 MB held for nothing. Restored, and emptied, afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    cursor.execute("PRAGMA cache_size")
    size = cursor.fetchone()[0]
    cursor.execute("PRAGMA cache_size=-2048")
    try:
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size={int(size)}")
        cursor.execute("PRAGMA shrink_memory")


def stored_events(qs=None, *, with_retracted: bool = False, scan: bool = False) -> Iterable[epcis.Event]:
    """Normalised events from the store, in capture order, without retracted ones (and without the declarations
    themselves, which only retract). Without the documents' @context, which neither the facts nor the trace read
    (the query answers with it: ``query.py``). ``scan``: most of the table is read (see ``_scan_cache``)."""
    from .models import Event, EventRetraction

    qs = qs if qs is not None else Event.objects.all()
    retracted = set() if with_retracted else set(EventRetraction.objects.values_list("event_id", flat=True))
    normalise, loads = epcis.normalise_event, orjson.loads
    # the query's SQL on the cursor the ORM's iterator() uses (server-side on PostgreSQL, so rows stream): two text
    # columns need none of the ORM's per-row conversions, which at 1,000,000 rows cost a second
    sql, params = (qs.filter(declared_error=False).order_by("pk").values_list("event_id", "raw")
                   .query.sql_with_params())
    with connection.chunked_cursor() as cursor, (_scan_cache(cursor) if scan else contextlib.nullcontext()):
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(5000):
            for event_id, raw, *_ordering in rows:       # a DISTINCT query also selects what it orders by
                if event_id not in retracted:
                    yield normalise(loads(raw))


def capture_check(events: list, reg: Registry) -> list[dict]:
    """Capture-time rules over the transactions of just-captured events. Returns the flags for the response."""
    if not events:
        return []
    from .tracing import lineage_index

    extracted = reg.extractor(index=lineage_index()).extract(events)
    if not extracted.transactions:
        return []
    now = timezone.now()
    facts = registry_facts(now, reg, for_capture=True)
    facts.transactions = extracted.transactions
    _prior_permit_use(facts, reg, events)
    hits = rules.run(facts, rules.capture_rules())
    _store_hits(hits, reg, now)
    return [{"rule": h.rule_id, "severity": h.severity, "blocked": h.block, "party": h.party_id,
             "message": h.message, "event_ids": [e for e in h.evidence if e.startswith(("urn:", "ni:", "http"))]
             or list(h.evidence[:1])} for h in hits]


def _prior_permit_use(facts: F.Facts, reg: Registry, events: list) -> None:
    """R04/R08 at capture see only the new transactions: tell them how much each cited permit had already drawn
    (kg per substance and number of uses) in earlier events. The draws are kept in ``PermitDraw`` (this capture's
    are written first), so the sum is one query whatever the history's length; events citing a permit that have no
    draw yet (captured without the rules) are read once, the old way, and their draws written."""
    from django.db.models import Count, Sum

    from .models import EventRetraction, PermitDraw

    capped = set(rules.param(facts, "quantity_capped_permit_types"))
    cited = {p for t in facts.transactions for p in t.permits
             if p in facts.authorizations and (facts.authorizations[p].type in capped
                                               or facts.authorizations[p].uses_allowed
                                               or facts.authorizations[p].type == F.TRANSPORT_LICENCE)}
    if not cited:
        return
    _record_draws(facts.transactions, events, cited)
    _fill_missing_draws(cited, reg)
    draws = PermitDraw.objects.filter(permit__in=cited).exclude(substance="").exclude(
        event_id__in=EventRetraction.objects.values("event_id"))
    starts = [facts.authorizations[p].valid_from for p in cited]
    window_start = None
    if all(starts):        # a permit is drawn on only while valid: count no further back than the earliest start
        first = min(starts)
        window_start = dt.datetime(first.year, first.month, first.day, tzinfo=CST)
        draws = draws.filter(event_time__gte=window_start)
    totals = {(p, s): [kg, n] for p, s, kg, n in draws.values_list("permit", "substance").annotate(
        kg=Sum("kg"), n=Count("event_id")).order_by()}
    own_ids = list({t.event_ids[0] for t in facts.transactions})
    retracted_now = {e for i in range(0, len(own_ids), 900) for e in EventRetraction.objects.filter(
        event_id__in=own_ids[i:i + 900]).values_list("event_id", flat=True)}
    for t in facts.transactions:          # this capture's own draws are not "earlier"
        if (window_start is not None and t.time < window_start) or t.event_ids[0] in retracted_now:
            continue                      # (not in the sums either: outside the window, or retracted meanwhile)
        for number in set(t.permits) & cited:
            if (number, t.substance) in totals:
                totals[(number, t.substance)][0] -= t.kg
                totals[(number, t.substance)][1] -= 1
    for (number, substance), (kg, n) in totals.items():
        a = facts.authorizations[number]
        if n > 0:
            a.prior_used_kg = {**a.prior_used_kg, substance: a.prior_used_kg.get(substance, 0.0) + kg}
            a.prior_uses += n


def forget_permit_draws(**_signal) -> None:
    """Drop the kept permit draws (derived data: the next captures citing a permit record them again)."""
    from .models import PermitDraw

    PermitDraw.objects.all().delete()


def _record_draws(transactions, events, permits: set[str]) -> None:
    """Write the draws of these events on ``permits``: one row per (permit, event, substance), and a row with no
    substance for an event that cites one of them without drawing on it (so that every citing event has a row)."""
    from .models import PermitDraw

    rows = {(p, t.event_ids[0], t.substance): PermitDraw(permit=p, event_id=t.event_ids[0], substance=t.substance,
                                                         event_time=t.time, kg=t.kg)
            for t in transactions for p in t.permits if p in permits}
    drawn = {(p, e) for p, e, _s in rows}
    for ev in events:
        for p in ext_list(ev.extensions, "permit"):
            if p in permits and (p, ev.event_id) not in drawn:
                rows[(p, ev.event_id, "")] = PermitDraw(permit=p, event_id=ev.event_id, substance="",
                                                        event_time=ev.event_time, kg=0.0)
    PermitDraw.objects.bulk_create(rows.values(), batch_size=500, ignore_conflicts=True)


def _fill_missing_draws(permits: set[str], reg: Registry) -> None:
    """Read and record the draws of stored events that cite ``permits`` but have no ``PermitDraw`` row yet."""
    from django.db.models import Count

    from .models import Event, EventEPC, PermitDraw
    from .tracing import lineage_index

    citing = dict(EventEPC.objects.filter(role="a", epc__in=permits, event__declared_error=False)
                  .values_list("epc").annotate(n=Count("event_id")).order_by())
    drawn = dict(PermitDraw.objects.filter(permit__in=permits).values_list("permit")
                 .annotate(n=Count("event_id", distinct=True)).order_by())
    lacking = sorted(p for p, n in citing.items() if drawn.get(p, 0) < n)
    if not lacking:
        return
    extractor = reg.extractor(index=lineage_index(refresh=False))
    for p in lacking:
        missing = Event.objects.filter(epcs__role="a", epcs__epc=p).exclude(
            event_id__in=PermitDraw.objects.filter(permit=p).values("event_id"))
        events = list(stored_events(missing, with_retracted=True))
        _record_draws(extractor.extract(events).transactions, events, {p})


def build_facts(as_of: dt.datetime | None = None, *, ledger_months: int = 12) -> F.Facts:
    """Everything: registry facts plus the facts of every stored event and the 台账 mass balance.

    The lineage index is the process's own (``tracing.lineage_index``, brought up to date first): in the worker
    that runs the nightly job it stays between runs and takes only the day's new events, so a run re-reads the
    events for their facts but does not rebuild the flow graph (which weighs containers and gives R09 the 台账
    mass balance)."""
    from .tracing import lineage_index

    as_of = as_of or timezone.now()
    reg = Registry.load()
    facts = registry_facts(as_of, reg, filings=False)
    catalog = product_catalog()
    index = lineage_index()
    # the 台账 first: its projection holds a million stock movements for a moment, and the facts built next reuse
    # that memory instead of adding to it
    local = as_of.astimezone(CST)
    start_month = local.month - ledger_months + 1
    year = local.year + (start_month - 1) // 12
    month = (start_month - 1) % 12 + 1
    periods = month_periods(year, month, ledger_months)
    substance_by_class: dict = {}

    def substance_of(cls):
        try:
            return substance_by_class[cls]
        except KeyError:
            product = catalog.product(cls) if cls else None
            found = substance_by_class[cls] = product.substance if product else None
            return found

    rows = ledger_from_index(index, periods, substance_of=substance_of)
    facts.ledger_rows = [
        F.LedgerRow(r.party, r.site, r.substance, r.period_start, r.period_end, r.total_in, r.total_out,
                    r.expected_at_declaration if r.declared_closing is not None else r.expected_closing,
                    r.declared_closing, r.min_balance, tuple(r.event_ids)) for r in rows if r.substance]
    del rows
    index.clear_caches()      # the containers' contents the ledger read
    # one event at a time: each is decoded, normalised, read for its facts and freed before the next (while its
    # objects are still in the CPU's cache), so memory holds the facts, not the events
    extracted = reg.extractor(catalog, index=index).extract(stored_events(scan=True))
    index.clear_caches()      # and those read for the transactions (~170 MB at 1,000,000 events)
    for name in ("transactions", "receipts", "transformations", "tag_sightings", "losses"):
        setattr(facts, name, getattr(extracted, name))
    # the filings last: a sales filing refers to the transaction it names instead of keeping its id
    ident = {pk: ident for ident, pk in reg.party_pk.items()}
    facts.filings = list(read_filings(ident, transactions=facts.transactions))
    facts.shipments = read_shipments(ident, facts.transactions)
    return facts


def waybill_key(waybill: str) -> str:
    """A waybill as both sides write it: ``WB2026…`` in a track, ``urn:jindu:waybill:WB2026…`` in a bizTransaction."""
    return waybill.strip().rpartition(":")[2]


def read_shipments(ident: dict, transactions: list) -> list[F.Shipment]:
    """The shipment tracks as R29's facts, each tied to the transaction its consignor's shipping event reported under
    the same waybill (the first, when one event carries several substances). A track is never tied to another
    party's sale: its anomalies are then the filer's, not the seller's."""
    from .models import Shipment, ShipmentFix

    tracks = list(Shipment.objects.all())
    if not tracks:
        return []
    wanted = {waybill_key(s.waybill) for s in tracks}
    tx_of: dict[tuple[str, str], F.Transaction] = {}          # (waybill, seller) → transaction
    for t in transactions:
        if t.waybill:
            key = waybill_key(t.waybill)
            if key in wanted:
                tx_of.setdefault((key, t.seller_id), t)
    fixes: dict[int, list] = {}
    for shipment_id, time, lon, lat in ShipmentFix.objects.order_by("shipment_id", "time").values_list(
            "shipment_id", "time", "lon", "lat").iterator(chunk_size=5000):
        fixes.setdefault(shipment_id, []).append((time, lon, lat))
    out = []
    for s in tracks:
        t = tx_of.get((waybill_key(s.waybill), ident.get(s.party_id)))
        out.append(F.Shipment(
            id=s.rule_key(), waybill=s.waybill, transaction_id=t.id if t else None,
            planned_route=tuple((float(p[0]), float(p[1])) for p in s.planned_route or ()),
            fixes=tuple(fixes.get(s.pk, ())), departed_at=s.departed_at, eta=s.eta, arrived_at=s.arrived_at,
            departure_kg=s.departure_kg, arrival_kg=s.arrival_kg, party_id=ident.get(s.party_id)))
    return out


_one_run_at_a_time = threading.Lock()


def run_rules(rule_ids: list[str] | None = None, as_of: dt.datetime | None = None) -> dict:
    """The full run. Returns counts: hits, alerts created, alerts refreshed. The cyclic garbage collector is paused
    for the run: it builds millions of small acyclic objects that the collector would scan again and again (a third
    of the run time at 1,000,000 events); reference counting frees them."""
    from .capture import gc_paused

    # one run at a time in a process (the worker's threads, the nightly task beside a queued run): each holds the
    # facts of the whole event store
    with _one_run_at_a_time, gc_paused():
        facts = build_facts(as_of)
        hits = rules.run(facts, rule_ids)
        as_of, n_transactions = facts.as_of, len(facts.transactions)
        # the facts are freed before the alerts are stored, which then reuse their memory rather than add to it; and
        # while the collector is still paused: otherwise the first allocation after it resumes starts a collection
        # that walks the millions of facts only to find them alive (two seconds at 1,000,000 events)
        del facts
        created, refreshed = _store_hits(hits, Registry.load(), as_of)
        summary = {"hits": len(hits), "created": created, "refreshed": refreshed,
                   "transactions": n_transactions, "events_rules": sorted({h.rule_id for h in hits})}
        del hits
    return summary


# what ``json.dumps(details, default=str)`` made (a datetime or a dataclass as its str), at orjson's speed
_DETAILS_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


#: what the audit row of a run's new alerts binds (core.audit.content_digest recomputes it from the table)
ALERT_DIGEST_FIELDS = ("rule_id", "severity", "party_identifier", "area_code", "message", "evidence", "details",
                       "blocked", "dedup_key")


def _store_hits(hits: list, reg: Registry, now: dt.datetime) -> tuple[int, int]:
    from .models import Alert, Event

    if not hits:
        return 0, 0
    by_key = {h.dedup_key: h for h in hits}
    existing = {}
    keys = list(by_key)
    for i in range(0, len(keys), 500):
        existing.update({a.dedup_key: a for a in Alert.objects.filter(dedup_key__in=keys[i:i + 500])})
    # an alert about a party outside the registry (an unregistered buyer, an individual) belongs to the area of
    # the event that revealed it, so the office in charge sees it
    unplaced = {e for h in hits if h.party_id not in reg.party_area for e in h.evidence[:1]}
    event_area = dict(Event.objects.filter(event_id__in=list(unplaced)).values_list("event_id", "area_code")) \
        if unplaced else {}
    new, changed = [], []
    for key, h in by_key.items():
        a = existing.get(key)
        evidence = list(h.evidence)
        details = orjson.loads(orjson.dumps(h.details, default=str, option=_DETAILS_OPTIONS))
        if a is None:
            new.append(Alert(rule_id=h.rule_id, severity=h.severity, party_id=reg.party_pk.get(h.party_id or ""),
                             party_identifier=h.party_id or "",
                             area_code=reg.party_area.get(h.party_id or "") or
                             next((event_area[e] for e in h.evidence[:1] if e in event_area), ""),
                             message=h.message, evidence=evidence, details=details, blocked=h.block,
                             last_seen=now, dedup_key=key))
        elif a.message != h.message or a.evidence != evidence or a.severity != h.severity:
            # new evidence reopens a closed alert: a false positive last month says nothing about this event
            if a.status == "closed" and set(evidence) - set(a.evidence):
                a.status, a.outcome = "new", ""
            a.message, a.evidence, a.details, a.severity, a.last_seen = h.message, evidence, details, h.severity, now
            changed.append(a)
    with acting_as(username="system:precursor_rules", channel="system"), transaction.atomic():
        Alert.objects.bulk_create(new, batch_size=500)
        # SQLite (3.35+) and PostgreSQL hand the new keys back to bulk_create: read back only where they do not
        made = new if all(a.pk for a in new) else list(Alert.objects.filter(dedup_key__in=[a.dedup_key for a in new]))
        log_created_digest(made, ALERT_DIGEST_FIELDS, message=f"diversion rule hits: {len(made)} new alerts")
        for a in changed:
            a.save(audit_message="diversion rule re-confirmed with new evidence")
    return len(new), len(changed)
