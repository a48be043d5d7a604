"""EPCIS 2.0 capture (issue 3 item 3): one door for the API, the Excel ledgers and the web forms.

``capture(doc, user=…)`` validates the whole document against GS1's schema (a document that fails is refused
whole, with every error listed), checks that the user may report each event (an enterprise only its own; an office
any party in its scope), stores the new events idempotently by eventID in one transaction, records error
declarations, runs the capture-time rules on the transactions it carries and answers with what happened. The
batch is written to the audit log as one row carrying the SM3 of the document and of the ids it added: events are
append-only (database triggers), so the pair proves what was received.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils.translation import gettext as _

from core.audit import log_change
from core.permissions import has_perm
from utilities.crypto import sm3_hex

from .algorithms import epcis
from .algorithms.transactions import ext_list
from .models import CaptureBatch, Event, EventEPC, EventRetraction, Party
from .registry import Registry

logger = logging.getLogger(__name__)
CHUNK = 900   # SQLite's default limit is 999 host parameters per statement
_HASHERS: dict[int, ThreadPoolExecutor] = {}


def _hasher() -> ThreadPoolExecutor:
    """This process's hashing thread (one per process: a pool inherited across a fork has no thread behind it)."""
    pid = os.getpid()
    if pid not in _HASHERS:
        _HASHERS[pid] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="capture-sm3")
    return _HASHERS[pid]


class CaptureRefused(Exception):
    """The document is refused whole; ``errors`` are ``{"path", "message"}`` dicts."""

    def __init__(self, errors: list[dict], status: int = 400):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors[:5]))
        self.errors = errors
        self.status = status


@dataclass
class CaptureResult:
    batch: CaptureBatch
    event_ids: list[str]
    new_keys: list[tuple[str, bool]] = field(default_factory=list)   # (eventID, is an error declaration)
    duplicate_ids: list[str] = field(default_factory=list)
    conflicting_ids: list[str] = field(default_factory=list)
    retracted_ids: list[str] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)

    @property
    def new_ids(self) -> list[str]:
        return [event_id for event_id, _declared in self.new_keys]

    def as_dict(self) -> dict:
        return {"capture_id": self.batch.pk, "events": len(self.event_ids), "new": len(self.new_ids),
                "duplicates": len(self.duplicate_ids), "conflicting_event_ids": self.conflicting_ids,
                "retracted_event_ids": self.retracted_ids, "flags": self.flags,
                "event_ids": self.event_ids if len(self.event_ids) <= 1000 else None}


def own_party(user) -> Party | None:
    """The party an enterprise user reports for (their organisation's registry entry), else None."""
    scope = user.scope_for("add")
    if scope.org_id and not scope.is_global:
        return Party.objects.filter(org_id=scope.org_id).order_by("pk").first()
    return None


def _serialise(ev: dict) -> tuple[bytes, str]:
    """(the event as stored: JSON with sorted keys, its content SHA-256 without recordTime). One serialisation with
    orjson serves both: this is the capture's hot path."""
    stored = orjson.dumps(ev, option=orjson.OPT_SORT_KEYS)
    hashed = stored if "recordTime" not in ev else orjson.dumps(
        {k: v for k, v in ev.items() if k != "recordTime"}, option=orjson.OPT_SORT_KEYS)
    return stored, hashlib.sha256(hashed).hexdigest()


@contextmanager
def gc_paused():
    """A 10,000-event document makes ~10⁶ short-lived objects that the cyclic collector scans again and again
    (about a tenth of the capture time); reference counting frees them anyway, so pause it for the capture."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def capture(doc, *, user, party: Party | None = None, channel: str = "api", run_rules: bool = True,
            registry: Registry | None = None) -> CaptureResult:
    """A parsed document (the web form, the Excel ledger, the demo); the batch's SM3 is of the document serialised
    with sorted keys."""
    with gc_paused():
        return _capture(doc, user=user, party=party, channel=channel, run_rules=run_rules, registry=registry,
                        document_sm3=lambda: sm3_hex(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)))


def capture_body(body: bytes, *, user, party: Party | None = None, channel: str = "api", run_rules: bool = True,
                 registry: Registry | None = None) -> CaptureResult:
    """A document as received (the API's request body): parsed with orjson and captured, the collector paused for
    both (the parse alone makes ~100 objects per event; with the collector on, a full collection over a large heap
    can land in it and cost more than the capture), with the body's SM3 recorded. Raises CaptureRefused for a body
    that is not JSON."""
    # the body's SM3 is computed on another thread while this one validates and normalises (the hash releases
    # the interpreter lock: ~8 MB for 10,000 events)
    body_sm3 = _hasher().submit(sm3_hex, body)
    with gc_paused():
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise CaptureRefused([{"path": "(document)",
                                   "message": _("not valid JSON: %(error)s") % {"error": exc}}]) from exc
        result = _capture(doc, user=user, party=party, channel=channel, run_rules=run_rules, registry=registry,
                          document_sm3=body_sm3.result)
        # freed while the collector is still paused: otherwise the first allocation after it resumes starts a
        # collection that walks the whole parsed document
        del doc
        return result


def _capture(doc, *, user, party, channel, run_rules, registry, document_sm3: Callable[[], str]) -> CaptureResult:
    if not has_perm(user, "precursors.event", "add"):
        raise PermissionDenied(_("You may not report precursor events."))
    issues = epcis.validate_document(doc)
    if issues:
        raise CaptureRefused([{"path": i.path or "(document)", "message": i.message} for i in issues])
    record_time = datetime.now(UTC)
    try:
        raw_events, doc_ctx = epcis.document_events(doc)
    except (TypeError, ValueError, KeyError) as exc:
        raise CaptureRefused([{"path": "(document)", "message": str(exc)}]) from exc

    reg = registry or Registry.load()
    mine = own_party(user)
    scope = user.scope_for("add")
    if mine is None and scope.org_id and not scope.is_global and not scope.area_prefix:
        raise PermissionDenied(_("Your organisation is not in the precursor registry; ask the office to register "
                                 "it before reporting."))
    if mine is not None:
        party = mine
    allowed = None
    if mine is None:
        allowed = set(Party.objects.restrict(user, "add").values_list("identifier", flat=True))
        if party is not None and party.identifier not in allowed:
            raise PermissionDenied(_("This party is outside your scope."))
    own_ok = {mine.identifier} if mine is not None else allowed
    # an error declaration names the event it retracts by its eventID
    declared_ids = [raw["eventID"] for raw in raw_events if "errorDeclaration" in raw and raw.get("eventID")]
    originals = dict(Event.objects.filter(event_id__in=declared_ids, declared_error=False)
                     .values_list("event_id", "party__identifier")) if declared_ids else {}
    visible_originals = set(Event.objects.restrict(user, "add").filter(event_id__in=list(originals))
                            .values_list("event_id", flat=True)) if originals else set()
    foreign_message = _("This event belongs to %(party)s; an enterprise reports only its own events.") \
        if mine is not None else _("Party %(party)s is outside your scope.")
    default_owner = party.identifier if party else None
    # one pass per event (normalise, check, serialise) while its objects are still in the CPU's cache
    payloads, errors = [], []
    for i, raw in enumerate(raw_events):
        path = f"epcisBody.eventList[{i}]"
        try:
            ev = epcis.normalise_event(raw, doc_ctx, record_time)
        except (TypeError, ValueError, KeyError) as exc:
            raise CaptureRefused([{"path": path, "message": str(exc)}]) from exc
        # every registered party on the reporting side (the site's owner, the shipper or the receiver) must be the
        # reporter (an enterprise) or in the office's scope: nobody books movements at someone else's site
        foreign = sorted(p for p in reg.reporting_side(ev) if p not in own_ok)
        if foreign:
            errors.append({"path": path, "message": foreign_message % {"party": "、".join(foreign)}})
        # an error declaration retracts an event only if the caller could have reported that event
        if ev.error_declaration is not None and ev.event_id in originals and ev.event_id not in visible_originals \
                and (mine is None or originals[ev.event_id] != mine.identifier):
            errors.append({"path": path, "message": _("Only the party that reported event %(id)s (or an office in "
                                                      "scope) may declare it erroneous.") % {"id": ev.event_id}})
        owner = reg.owner_of(ev)
        if owner is not None and owner not in reg.party_pk:
            owner = None                      # not a registered party: attributed to the reporting party
        body = raw
        if raw.get("eventID") != ev.event_id:       # an event without one is stored with its hash id
            body = dict(raw)
            body["eventID"] = ev.event_id
        stored, chash = _serialise(body)
        payloads.append((ev, owner or default_owner, stored, chash))
    if errors:
        raise CaptureRefused(errors, status=403)

    scope_area = scope.area_prefix
    result = _store(payloads, doc_ctx, document_sm3(), user=user, party=party, channel=channel, reg=reg,
                    record_time=record_time, scope_area=scope_area)
    if run_rules and result.new_ids:
        from .rules_service import capture_check

        new = set(result.new_keys)
        try:
            result.flags = capture_check([ev for ev, *_ in payloads if (ev.event_id, False) in new
                                          and ev.error_declaration is None], reg)
        except Exception:      # the events are stored: a rule failure must not turn the capture into an error
            logger.exception("capture-time rules failed for capture %s", result.batch.pk)
            result.flags = [{"rule": "-", "severity": "", "blocked": False, "party": None, "event_ids": [],
                             "message": _("The capture-time rules could not run; the nightly run will check these "
                                          "events.")}]
        if result.flags:
            CaptureBatch.objects.filter(pk=result.batch.pk).update(flags=result.flags)
    return result


def _existing(keys: list[tuple[str, bool]]) -> dict[tuple[str, bool], str]:
    """content hash of stored events by (eventID, is a declaration)."""
    found = {}
    for flag in (False, True):
        ids = [event_id for event_id, declared in keys if declared is flag]
        for i in range(0, len(ids), CHUNK):
            found.update(((event_id, flag), chash) for event_id, chash in Event.objects.filter(
                event_id__in=ids[i:i + CHUNK], declared_error=flag).values_list("event_id", "content_hash"))
    return found


def _reserve_ids(cur, n: int) -> list[int]:
    """Primary keys for ``n`` new events, taken before the insert so that the EPC-index rows can name their event
    without reading the rows back. SQLite: the transaction holds the write lock from its start (IMMEDIATE), so
    nothing else can take ids above the current maximum meanwhile; PostgreSQL: drawn from the table's sequence."""
    table = Event._meta.db_table
    if connection.vendor == "postgresql":
        cur.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [n])
        return [row[0] for row in cur.fetchall()]
    cur.execute(f"SELECT MAX(id) FROM {table}")
    top = cur.fetchone()[0] or 0
    return list(range(top + 1, top + 1 + n))


def _db_datetime():
    """The adapter of datetimes to the database: SQLite stores naive UTC text (what Django's adapter makes, without
    its per-call settings lookups, which show at 10,000 events); other backends take the datetime."""
    if connection.vendor == "sqlite":
        return lambda t: t.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return connection.ops.adapt_datetimefield_value


def _epc_rows(pk: int, ev) -> list[tuple]:
    """The EPC-index rows of one event (see ``EventEPC`` for the roles). Plain loops: this runs for every event."""
    rows = []
    add = rows.append
    for role, values in (("e", ev.epc_list), ("c", ev.child_epcs), ("i", ev.input_epc_list),
                         ("o", ev.output_epc_list)):
        for v in values:
            add((pk, v, role))
    if ev.parent_id:
        add((pk, ev.parent_id, "p"))
    for _kind, v in ev.biz_transaction_list:
        add((pk, v, "b"))
    if ev.extensions:
        for v in ext_list(ev.extensions, "waybill"):
            add((pk, v, "b"))
        for v in ext_list(ev.extensions, "permit"):
            add((pk, v, "a"))
    for role, quantities in (("q", ev.quantity_list), ("cq", ev.child_quantity_list),
                             ("iq", ev.input_quantity_list), ("oq", ev.output_quantity_list)):
        for q in quantities:
            add((pk, q.epc_class, role))
    return rows            # a row repeated within an event is skipped at the insert: (epc, event, role) is the key


EVENT_COLUMNS = ("id", "event_id", "declared_error", "content_hash", "event_type", "action", "event_time",
                 "record_time", "biz_step", "disposition", "read_point", "biz_location", "party_id", "area_code",
                 "batch_id", "raw")


def _store(payloads, doc_ctx, doc_sm3, *, user, party, channel, reg, record_time, scope_area) -> CaptureResult:
    with transaction.atomic():
        batch = CaptureBatch.objects.create(
            channel=channel, user=user, party=party, area_code=(party.area_code if party else scope_area)[:15],
            document_sm3=doc_sm3, context=doc_ctx, n_events=len(payloads))
        result = CaptureResult(batch=batch, event_ids=[p[0].event_id for p in payloads])
        default_area = party.area_code if party else scope_area
        db_time = _db_datetime()
        rec = db_time(record_time)
        table = Event._meta.db_table
        party_area, party_pk = reg.party_area, reg.party_pk
        with connection.cursor() as cur:
            # ids for every event; an eventID repeated within the document leaves its id unused (the first
            # occurrence is the one stored), as does one already stored
            free_ids = iter(_reserve_ids(cur, len(payloads)) if payloads else ())
            first: dict[tuple[str, bool], str] = {}
            candidates, repeats, rows, epc_rows = [], [], [], []
            for ev, owner, body, chash in payloads:
                key = (ev.event_id, ev.error_declaration is not None)
                if key in first:
                    repeats.append((key, chash))
                    continue
                first[key] = chash
                pk = next(free_ids)
                candidates.append((pk, key, chash))
                area = party_area.get(owner or "", "") or default_area
                rows.append((pk, ev.event_id, key[1], chash, ev.type, ev.action or "", db_time(ev.event_time), rec,
                             ev.biz_step or "", ev.disposition or "", ev.read_point or "", ev.biz_location or "",
                             party_pk.get(owner or ""), area[:15], batch.pk, body.decode()))
                # a declaration is indexed too: queries answer with the declared form of a corrected event
                epc_rows += _epc_rows(pk, ev)
            # an eventID already stored is skipped by the unique constraint rather than looked up beforehand: a
            # re-sent document is the exception, and then the skipped rows are sorted into duplicates and conflicts
            inserted = 0
            if rows:
                cur.executemany(f"INSERT INTO {table} ({', '.join(EVENT_COLUMNS)}) VALUES "
                                f"({', '.join(['%s'] * len(EVENT_COLUMNS))}) "
                                f"ON CONFLICT (event_id, declared_error) DO NOTHING", rows)
                inserted = cur.rowcount
            stored_before = {}
            if inserted != len(rows):
                pks = [pk for pk, _key, _chash in candidates]
                cur.execute(f"SELECT id FROM {table} WHERE id BETWEEN %s AND %s AND batch_id = %s",
                            [min(pks), max(pks), batch.pk])
                landed = {row[0] for row in cur.fetchall()}
                stored_before = _existing([key for pk, key, _chash in candidates if pk not in landed])
                epc_rows = [row for row in epc_rows if row[0] in landed]
            else:
                landed = None                                   # all of them
            for pk, key, chash in candidates:
                if landed is None or pk in landed:
                    result.new_keys.append(key)
                    continue
                if key not in stored_before:      # skipped, yet no stored event holds the key: cannot happen
                    raise RuntimeError(f"event {key[0]} was neither stored nor found stored")
                (result.duplicate_ids if stored_before[key] == chash else result.conflicting_ids).append(key[0])
            for key, chash in repeats:
                # a repeat is judged against what is stored under its key: the document's first occurrence if that
                # was stored now, else the event stored before
                reference = stored_before.get(key, first[key])
                (result.duplicate_ids if reference == chash else result.conflicting_ids).append(key[0])
            if epc_rows:
                cur.executemany(f"INSERT INTO {EventEPC._meta.db_table} (event_id, epc, role) VALUES (%s, %s, %s) "
                                "ON CONFLICT DO NOTHING", epc_rows)
        new = set(result.new_keys)
        for ev, *_ in payloads:
            ed = ev.error_declaration
            if ed is None or (ev.event_id, True) not in new:
                continue
            if not Event.objects.filter(event_id=ev.event_id, declared_error=False).exists():
                continue          # nothing captured to retract (yet): the declaration is kept as received
            declaration = Event.objects.get(event_id=ev.event_id, declared_error=True)
            _, made = EventRetraction.objects.get_or_create(
                event_id=ev.event_id, defaults={
                    "declared_by": declaration, "declaration_time": ed.declaration_time, "reason": ed.reason or "",
                    "corrective_event_ids": list(ed.corrective_event_ids)})
            if made:
                result.retracted_ids.append(ev.event_id)
        batch.n_new, batch.n_duplicate = len(result.new_ids), len(result.duplicate_ids)
        batch.save(update_fields=["n_new", "n_duplicate"])
        ids_digest = sm3_hex("\n".join(result.new_ids).encode())
        log_change(batch, "create", after={
            "channel": channel, "document_sm3": batch.document_sm3, "events": len(payloads),
            "new": len(result.new_ids), "duplicates": len(result.duplicate_ids),
            "conflicting": result.conflicting_ids[:50], "new_ids_sm3": ids_digest,
            "party": party.identifier if party else None},
            message=f"EPCIS capture: {len(result.new_ids)} new of {len(payloads)}")
    return result
