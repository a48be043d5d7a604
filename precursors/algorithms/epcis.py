"""GS1 EPCIS 2.0 (JSON / JSON-LD) for the precursor-chemicals pillar: schema validation, normalisation into flat
``Event`` records, the simple-event-query filter, and query-result documents.

Pure Python, no Django: the capture API (``POST /api/epcis/capture``) and the query API (``GET /api/epcis/events``)
wrap these functions.

* ``validate_document(doc)`` checks a document (or a single event) against GS1's EPCIS 2.0 JSON Schema, vendored in
  ``precursors/data/epcis/schema/``. Every ``$ref`` is resolved from the vendored files; nothing is fetched over the
  network (a retriever that refuses is installed). The fast validator ``jsonschema-rs`` is used when importable,
  otherwise ``jsonschema``. The result is a list of ``ValidationIssue`` (JSON path + message); a capture endpoint
  refuses the whole document when the list is not empty (EPCIS 2.0 REST binding: "the server either accepts or
  rejects all events").
* ``normalise(doc)`` flattens an ``EPCISDocument`` (or an ``EPCISQueryDocument``, a single event, or a list of
  events) into ``Event`` dataclasses. It does not validate; call ``parse_document`` to do both.
* ``matches(event, params)`` / ``compile_query(params)`` implement the EPCIS 2.0 SimpleEventQuery parameters listed in
  ``SUPPORTED_PARAMETERS``; ``parse_query_string`` turns REST query-string values ("a|b") into lists.
* ``to_query_document(events)`` builds the ``EPCISQueryDocument`` answered by a query.

Event identity: an event's ``eventID`` is used when present. Otherwise ``event_id`` is
``urn:jindu:event:sha-256:<hex>``, the SHA-256 of the canonical JSON of the event as received (keys sorted, no
whitespace, UTF-8, ``recordTime`` removed). This is deterministic, so re-capturing the same event is idempotent, but
it is NOT the normative CBV 2.0 event hash (``ni:///sha-256;...?ver=CBV2.0``, CBV §8.9), which canonicalises field
values (identifier forms, time zones, ordering of list members) before hashing. Consequences: the same event written
with keys in another order hashes the same, but ``500`` and ``500.0``, or the same instant written in two time zones,
hash differently; the document's ``@context`` (prefix meanings) is not part of the hash.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

try:  # Rust validator: ~10-100x faster than the pure-Python one. Pin: jsonschema-rs==0.61.2
    import jsonschema_rs
except ImportError:  # pragma: no cover - exercised only where jsonschema-rs is not installed
    jsonschema_rs = None

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "epcis"
SCHEMA_DIR = DATA_DIR / "schema"
EXAMPLES_DIR = DATA_DIR / "examples"
QUERY_EXAMPLES_DIR = DATA_DIR / "query-examples"

#: GS1's self-contained (bundled) schema: every $ref is internal. Default, and what stack.md §6 measured.
BUNDLED_SCHEMA = "EPCIS-JSON-Schema.json"
#: GS1's modular root: $refs point to the sibling files (EPCIS-Document-JSON-Schema.json, schemas/*.json).
MODULAR_SCHEMA = "EPCIS-JSON-Schema-root.json"

EPCIS_CONTEXT_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
HASH_ID_PREFIX = "urn:jindu:event:sha-256:"

EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")

#: Every field the EPCIS 2.0 JSON binding defines on an event, whatever its type; anything else is an extension.
STANDARD_EVENT_FIELDS = frozenset({
    "@context", "type", "eventID", "eventTime", "eventTimeZoneOffset", "recordTime", "certificationInfo",
    "errorDeclaration", "action", "epcList", "quantityList", "parentID", "childEPCs", "childQuantityList",
    "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList", "transformationID", "bizStep",
    "disposition", "persistentDisposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList",
    "destinationList", "sensorElementList", "ilmd",
})
_ERROR_DECLARATION_FIELDS = frozenset({"declarationTime", "reason", "correctiveEventIDs"})


# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One schema violation. ``path`` is a JSON path such as ``epcisBody.eventList[3].bizStep`` ("" = the document
    itself); for a missing required property it names the missing property. ``keyword`` is the JSON Schema keyword
    that failed (required, enum, format, anyOf, propertyNames…), ``schema_path`` where in GS1's schema."""

    path: str
    message: str
    keyword: str = ""
    schema_path: str = ""

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class EPCISDocumentError(ValueError):
    """The document failed the EPCIS 2.0 schema and is refused whole; ``issues`` lists why."""

    def __init__(self, issues: list[ValidationIssue]):
        self.issues = issues
        shown = "; ".join(str(i) for i in issues[:5])
        more = f" (and {len(issues) - 5} more)" if len(issues) > 5 else ""
        super().__init__(f"EPCIS document refused, {len(issues)} schema issue(s): {shown}{more}")


_SIMPLE_KEY = re.compile(r"^[^.\[\]\"'\s]+$")


def json_path(parts: Iterable[str | int]) -> str:
    """``['epcisBody', 'eventList', 3, 'bizStep']`` → ``epcisBody.eventList[3].bizStep``."""
    out = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _SIMPLE_KEY.match(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)


def _load_schema_files() -> dict[str, dict]:
    """Every vendored schema file, keyed by its ``$id`` (GS1's test/ fixtures are not loaded: they reuse an $id)."""
    files = [SCHEMA_DIR / name for name in (BUNDLED_SCHEMA, MODULAR_SCHEMA, "EPCIS-Document-JSON-Schema.json",
                                            "EPCIS-Event-JSON-Schema.json", "EPCIS-Query-JSON-Schema-root.json")]
    files += sorted((SCHEMA_DIR / "schemas").glob("*.json"))
    resources = {}
    for path in files:
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources[schema["$id"]] = schema
    return resources


def _refuse_network(uri: str):
    raise LookupError(f"offline validator: {uri!r} is not among the vendored EPCIS schema files")


def available_backends() -> list[str]:
    return (["jsonschema-rs"] if jsonschema_rs is not None else []) + ["jsonschema"]


@cache
def _validator(backend: str, schema_file: str):
    resources = _load_schema_files()
    root = json.loads((SCHEMA_DIR / schema_file).read_text(encoding="utf-8"))
    if backend == "jsonschema-rs":
        if jsonschema_rs is None:
            raise RuntimeError("jsonschema-rs is not installed")
        registry = jsonschema_rs.Registry(list(resources.items()), retriever=_refuse_network)
        return jsonschema_rs.validator_for(root, registry=registry, retriever=_refuse_network, validate_formats=True)
    if backend == "jsonschema":
        import jsonschema
        from referencing import Registry, Resource

        def retrieve(uri: str):
            _refuse_network(uri)

        registry = Registry(retrieve=retrieve).with_resources(
            (uri, Resource.from_contents(schema)) for uri, schema in resources.items())
        return jsonschema.Draft7Validator(root, registry=registry, format_checker=_python_format_checker())
    raise ValueError(f"unknown validator backend {backend!r}; available: {available_backends()}")


def _python_format_checker():
    """jsonschema checks ``uri`` / ``date-time`` only when optional packages are installed; these two stand-ins keep
    the fallback close to jsonschema-rs (an absolute URI with a scheme; RFC 3339 date-time with an offset)."""
    import jsonschema

    checker = jsonschema.FormatChecker()
    uri = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*$")
    date_time = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)

    @checker.checks("uri")
    def _is_uri(value):
        return not isinstance(value, str) or bool(uri.match(value))

    @checker.checks("date-time")
    def _is_date_time(value):
        if not isinstance(value, str):
            return True
        if not date_time.match(value):
            return False
        try:
            _parse_iso(value)
        except ValueError:
            return False
        return True

    return checker


def default_backend() -> str:
    return "jsonschema-rs" if jsonschema_rs is not None else "jsonschema"


def validate_document(doc: Any, *, backend: str | None = None, schema: str = BUNDLED_SCHEMA,
                      max_issues: int = 200) -> list[ValidationIssue]:
    """Check ``doc`` (an EPCISDocument, EPCISQueryDocument or single event, parsed JSON) against GS1's EPCIS 2.0
    JSON Schema. Returns [] when valid. At most ``max_issues`` issues are listed; a last issue says how many were
    left out. ``schema`` is BUNDLED_SCHEMA (default) or MODULAR_SCHEMA (same rules, split over the sibling files)."""
    backend = backend or default_backend()
    validator = _validator(backend, schema)
    if validator.is_valid(doc):  # fast path; errors are only collected for a document that fails
        return []
    issues: list[ValidationIssue] = []
    seen = set()
    total = 0
    errors = validator.iter_errors(doc)
    for error in errors:
        issue = _issue_rs(error) if backend == "jsonschema-rs" else _issue_py(error)
        key = (issue.path, issue.message)
        if key in seen:
            continue
        seen.add(key)
        total += 1
        if len(issues) < max_issues:
            issues.append(issue)
    if total > len(issues):
        issues.append(ValidationIssue("", f"… and {total - len(issues)} more issue(s) not listed", "truncated"))
    return issues


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _alternatives(branches: list[list[str]]) -> str:
    parts = ["; ".join(_short(m, 120) for m in branch[:2]) for branch in branches if branch]
    return _short(" | ".join(parts), 400)


def _issue_rs(error) -> ValidationIssue:
    kind = error.kind
    name = kind.name
    path = list(error.instance_path)
    schema_path = "/".join(str(p) for p in error.schema_path)
    message = error.message
    if name == "required":
        path.append(kind.property)
        message = f"required property {kind.property!r} is missing"
    elif name == "propertyNames":
        bad = _property_name_from(message)
        if bad is not None:
            path.append(bad)
            message = (f"property {bad!r} is not an EPCIS field here; extension fields need a namespace prefix "
                       f"declared in @context (e.g. 'ext:{bad}')")
    elif name in ("anyOf", "oneOfNotValid") and isinstance(error.instance, (dict, list)):
        branches = [[sub.message for sub in branch] for branch in getattr(kind, "context", [])]
        message = f"satisfies none of the alternatives at {schema_path}: {_alternatives(branches)}"
    return ValidationIssue(json_path(path), _short(message), name, schema_path)


_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"')


def _property_name_from(message: str) -> str | None:
    m = _QUOTED.match(message)
    if not m:
        return None
    try:
        return json.loads(f'"{m.group(1)}"')
    except ValueError:
        return m.group(1)


def _issue_py(error) -> ValidationIssue:
    name = error.validator
    path = list(error.absolute_path)
    schema_path = "/".join(str(p) for p in error.absolute_schema_path)
    message = error.message
    if name == "required":
        missing = next((p for p in error.validator_value
                        if isinstance(error.instance, dict) and p not in error.instance and repr(p) in message), None)
        if missing:
            path.append(missing)
            message = f"required property {missing!r} is missing"
    elif (name == "propertyNames" or "propertyNames" in error.absolute_schema_path) and isinstance(error.instance, str):
        name = "propertyNames"
        bad = error.instance
        path.append(bad)
        message = (f"property {bad!r} is not an EPCIS field here; extension fields need a namespace prefix "
                   f"declared in @context (e.g. 'ext:{bad}')")
    elif name in ("anyOf", "oneOf") and isinstance(error.instance, (dict, list)):
        branches: dict[Any, list[str]] = {}
        for sub in error.context or []:
            branches.setdefault(sub.schema_path[0] if sub.schema_path else None, []).append(sub.message)
        message = f"satisfies none of the alternatives at {schema_path}: {_alternatives(list(branches.values()))}"
    return ValidationIssue(json_path(path), _short(message), str(name), schema_path)


# ---------------------------------------------------------------------------------------------------------------
# Normalised events
# ---------------------------------------------------------------------------------------------------------------

class Quantity(NamedTuple):
    """One quantityElement. ``quantity`` is the JSON number as given (int or float; None when omitted, which
    EPCIS allows); ``uom`` is a UN/ECE Rec. 20 code such as KGM or LTR, None for a count of instances."""

    epc_class: str
    quantity: int | float | None = None
    uom: str | None = None


@dataclass(slots=True)
class ErrorDeclaration:
    declaration_time: datetime
    reason: str | None = None  # CBV error reason, bare word (incorrect_data, did_not_occur) or another URI
    corrective_event_ids: tuple[str, ...] = ()
    extensions: dict = field(default_factory=dict)  # namespaced keys inside errorDeclaration, verbatim


@dataclass(slots=True)
class Event:
    """One EPCIS event, flattened. Identifier and quantity lists are tuples, never None (``()`` when absent).

    CBV values (bizStep, disposition, source/destination and bizTransaction types, error reason,
    persistentDisposition) are canonical bare words when they are CBV standard values written in any of the three
    forms; other URIs are kept verbatim.

    ``source_list``, ``destination_list`` and ``biz_transaction_list`` are ``(type, id)`` pairs in document order,
    not dicts: EPCIS allows several entries of one type (two purchase orders) and bizTransactions without a type
    (type None). ``sources`` / ``destinations`` / ``biz_transactions`` give the type → [ids] view.

    ``extensions`` holds every top-level key that is not an EPCIS field (``ext:permitNo``, ``rdfs:comment``…) with
    its value verbatim; ``context`` is the document's ``@context`` (plus the event's own, if any) as a list, so
    prefixes can be resolved with ``expand_term``. ``raw`` is the event dict as received (shared, not copied):
    extension keys nested in readPoint, bizLocation, quantity or sensor elements are there.
    """

    event_id: str
    type: str
    event_time: datetime  # aware, expressed in eventTimeZoneOffset
    event_time_zone_offset: str | None
    record_time: datetime | None
    event_id_is_hash: bool = False
    action: str | None = None
    biz_step: str | None = None
    disposition: str | None = None
    persistent_disposition: dict[str, list[str]] | None = None
    read_point: str | None = None
    biz_location: str | None = None
    epc_list: tuple[str, ...] = ()
    quantity_list: tuple[Quantity, ...] = ()
    parent_id: str | None = None
    child_epcs: tuple[str, ...] = ()
    child_quantity_list: tuple[Quantity, ...] = ()
    input_epc_list: tuple[str, ...] = ()
    input_quantity_list: tuple[Quantity, ...] = ()
    output_epc_list: tuple[str, ...] = ()
    output_quantity_list: tuple[Quantity, ...] = ()
    transformation_id: str | None = None
    source_list: tuple[tuple[str, str], ...] = ()
    destination_list: tuple[tuple[str, str], ...] = ()
    biz_transaction_list: tuple[tuple[str | None, str], ...] = ()
    ilmd: dict | None = None
    sensor_element_list: Sequence[dict] = ()  # the sensorElementList as received (raw dicts)
    error_declaration: ErrorDeclaration | None = None
    certification_info: Any = None
    extensions: dict[str, Any] = field(default_factory=dict)
    context: list = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def sources(self) -> dict[str, list[str]]:
        return _group(self.source_list)

    @property
    def destinations(self) -> dict[str, list[str]]:
        return _group(self.destination_list)

    @property
    def biz_transactions(self) -> dict[str | None, list[str]]:
        return _group(self.biz_transaction_list)

    def all_epcs(self) -> tuple[str, ...]:
        """Every instance-level identifier: epcList, parentID, childEPCs, inputEPCList, outputEPCList."""
        parent = (self.parent_id,) if self.parent_id else ()
        return self.epc_list + parent + self.child_epcs + self.input_epc_list + self.output_epc_list

    def all_quantities(self) -> tuple[Quantity, ...]:
        return self.quantity_list + self.child_quantity_list + self.input_quantity_list + self.output_quantity_list

    def namespaces(self) -> dict[str, str]:
        return namespaces(self.context)

    def to_epcis(self) -> dict:
        """The event as EPCIS 2.0 JSON: the received dict, with ``eventID`` (the hash id when it had none) and
        ``recordTime`` filled in."""
        out = dict(self.raw)
        out["eventID"] = self.event_id
        if self.record_time is not None:
            out["recordTime"] = format_time(self.record_time)
        return out


def _group(pairs):
    out: dict = {}
    for kind, value in pairs:
        out.setdefault(kind, []).append(value)
    return out


# --- CBV vocabulary forms --------------------------------------------------------------------------------------

# EPCIS 2.0 JSON writes CBV values as bare words ("shipping"); the Web-URI form is https://ref.gs1.org/cbv/BizStep-
# shipping; EPCIS 1.x / XML used urn:epcglobal:cbv:bizstep:shipping. GS1's 2.0 schema refuses the URN form, but the
# other doors (Excel ledgers, forms, data converted from 1.2) may still carry it, so normalise() accepts all three.
_CBV_URN = {"bizstep": "urn:epcglobal:cbv:bizstep:", "disp": "urn:epcglobal:cbv:disp:",
            "btt": "urn:epcglobal:cbv:btt:", "sdt": "urn:epcglobal:cbv:sdt:", "er": "urn:epcglobal:cbv:er:"}
_CBV_WEB = {"bizstep": "BizStep-", "disp": "Disp-", "btt": "BTT-", "sdt": "SDT-", "er": "ER-"}
_CBV_WEB_HOSTS = ("https://ref.gs1.org/cbv/", "http://ref.gs1.org/cbv/", "https://gs1.org/voc/", "http://gs1.org/voc/")


def cbv_word(value: str | None, vocabulary: str) -> str | None:
    """Canonical bare CBV word for ``value`` in ``vocabulary`` (bizstep, disp, btt, sdt, er); other values as given.

    >>> cbv_word("urn:epcglobal:cbv:bizstep:shipping", "bizstep")
    'shipping'
    >>> cbv_word("https://ref.gs1.org/cbv/Disp-in_transit", "disp")
    'in_transit'
    """
    if not value or ":" not in value:
        return value
    urn = _CBV_URN[vocabulary]
    if value.startswith(urn):
        return value[len(urn):]
    web = _CBV_WEB[vocabulary]
    for host in _CBV_WEB_HOSTS:
        if value.startswith(host) and value.startswith(web, len(host)):
            return value[len(host) + len(web):]
    return value


# --- time ------------------------------------------------------------------------------------------------------

_TZ_CACHE: dict[str, timezone] = {"Z": UTC, "+00:00": UTC, "-00:00": UTC}
_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")


def parse_offset(offset: str) -> timezone:
    """``"+08:00"`` → a fixed-offset timezone."""
    tz = _TZ_CACHE.get(offset)
    if tz is None:
        m = _OFFSET.match(offset)
        if not m:
            raise ValueError(f"bad time zone offset {offset!r} (expected ±hh:mm)")
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        tz = timezone(-delta if m.group(1) == "-" else delta)
        _TZ_CACHE[offset] = tz
    return tz


def _parse_iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return datetime.fromisoformat(value.upper())  # RFC 3339 allows a lower-case 't' and 'z'


def parse_time(value: str | datetime, default_tz: timezone | None = None) -> datetime:
    """An aware datetime from an RFC 3339 string (or a datetime). A value without an offset takes ``default_tz``;
    without one either, it is an error: EPCIS times are instants."""
    dt = value if isinstance(value, datetime) else _parse_iso(value)
    if dt.tzinfo is None:
        if default_tz is None:
            raise ValueError(f"time {value!r} has no UTC offset")
        dt = dt.replace(tzinfo=default_tz)
    return dt


def format_time(dt: datetime) -> str:
    text = dt.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- contexts --------------------------------------------------------------------------------------------------

def _as_context_list(ctx) -> list:
    if ctx is None:
        return []
    return list(ctx) if isinstance(ctx, list) else [ctx]


def namespaces(context: Iterable) -> dict[str, str]:
    """Prefix → IRI for the inline term definitions of a JSON-LD ``@context`` list. Remote contexts (URLs such as
    GS1's epcis-context.jsonld) are not fetched."""
    out: dict[str, str] = {}
    for entry in context:
        if isinstance(entry, dict):
            for term, definition in entry.items():
                if term.startswith("@"):
                    continue
                if isinstance(definition, str):
                    out[term] = definition
                elif isinstance(definition, dict) and isinstance(definition.get("@id"), str):
                    out[term] = definition["@id"]
    return out


def expand_term(term: str, context: Iterable) -> str | None:
    """``"ext:permitNo"`` → ``"https://…/permitNo"`` when the prefix ``ext`` is declared inline in ``context``."""
    ns = namespaces(context)
    if term in ns:
        return ns[term]
    prefix, sep, local = term.partition(":")
    if sep and prefix in ns and not local.startswith("//"):
        return ns[prefix] + local
    return None


# --- normalise -------------------------------------------------------------------------------------------------

def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def event_hash_id(event: Mapping) -> str:
    """The deterministic id of an event without eventID (see the module docstring: not the CBV normative hash)."""
    body = {k: v for k, v in event.items() if k not in ("recordTime", "eventID")}
    return HASH_ID_PREFIX + hashlib.sha256(canonical_json(body)).hexdigest()


def document_events(doc: Any) -> tuple[list[dict], list]:
    """(event dicts, document @context as a list) for an EPCISDocument, EPCISQueryDocument, single event or list."""
    if isinstance(doc, list):
        return doc, []
    if not isinstance(doc, Mapping):
        raise TypeError(f"expected a JSON object, got {type(doc).__name__}")
    kind = doc.get("type")
    ctx = _as_context_list(doc.get("@context"))
    if kind == "EPCISDocument":
        return doc["epcisBody"]["eventList"], ctx
    if kind == "EPCISQueryDocument":
        return doc["epcisBody"]["queryResults"]["resultsBody"].get("eventList", []), ctx
    if "eventTime" in doc and isinstance(kind, str):
        return [doc], []  # a single event: its own @context is picked up per event
    raise ValueError(f"not an EPCIS document or event (type={kind!r})")


def _quantities(items) -> tuple[Quantity, ...]:
    return tuple([Quantity(q["epcClass"], q.get("quantity"), q.get("uom")) for q in items]) if items else ()


def _pairs(items, key: str, vocab: str) -> tuple[tuple, ...]:
    if not items:
        return ()
    return tuple([(cbv_word(item.get("type"), vocab), item[key]) for item in items])


def normalise(doc: Any, *, record_time: datetime | None = None) -> list[Event]:
    """Flatten every event of ``doc`` into ``Event`` records, in document order.

    ``record_time``, when given, is stamped on every event (EPCIS: the repository sets recordTime at capture);
    otherwise an event's own recordTime is parsed, or left None. Does not validate: use ``parse_document`` for
    both. Raises ValueError (naming the event) for data the schema would have refused, such as a time without
    offset."""
    events, doc_ctx = document_events(doc)
    out = []
    for index, ev in enumerate(events):
        try:
            out.append(_normalise_event(ev, doc_ctx, record_time))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"event [{index}]: cannot normalise: {exc!r}") from exc
    return out


def normalise_event(ev: dict, context: list | None = None, record_time: datetime | None = None) -> Event:
    """One event dict (as stored) with the @context of the document it came in, as an ``Event``."""
    return _normalise_event(ev, list(context or ()), record_time)


def _normalise_event(ev: dict, doc_ctx: list, record_time: datetime | None) -> Event:
    get = ev.get
    offset = get("eventTimeZoneOffset")
    tz = parse_offset(offset) if offset else None
    event_time = parse_time(ev["eventTime"], tz)
    if tz is not None:
        event_time = event_time.astimezone(tz)
    if record_time is None and "recordTime" in ev:
        rec = parse_time(ev["recordTime"])
    else:
        rec = record_time

    event_id = get("eventID")
    hashed = event_id is None
    if hashed:
        event_id = event_hash_id(ev)

    extensions = {k: v for k, v in ev.items() if k not in STANDARD_EVENT_FIELDS}
    own_ctx = get("@context")
    context = doc_ctx + _as_context_list(own_ctx) if own_ctx is not None else doc_ctx

    event = Event(event_id=event_id, type=ev["type"], event_time=event_time, event_time_zone_offset=offset,
                  record_time=rec, event_id_is_hash=hashed, extensions=extensions, context=context, raw=ev)
    if "action" in ev:
        event.action = ev["action"]
    if "bizStep" in ev:
        event.biz_step = cbv_word(ev["bizStep"], "bizstep")
    if "disposition" in ev:
        event.disposition = cbv_word(ev["disposition"], "disp")
    if "readPoint" in ev:
        event.read_point = ev["readPoint"]["id"]
    if "bizLocation" in ev:
        event.biz_location = ev["bizLocation"]["id"]
    if "epcList" in ev:
        event.epc_list = tuple(ev["epcList"])
    if "quantityList" in ev:
        event.quantity_list = _quantities(ev["quantityList"])
    if "parentID" in ev:
        event.parent_id = ev["parentID"]
    if "childEPCs" in ev:
        event.child_epcs = tuple(ev["childEPCs"])
    if "childQuantityList" in ev:
        event.child_quantity_list = _quantities(ev["childQuantityList"])
    if "inputEPCList" in ev:
        event.input_epc_list = tuple(ev["inputEPCList"])
    if "inputQuantityList" in ev:
        event.input_quantity_list = _quantities(ev["inputQuantityList"])
    if "outputEPCList" in ev:
        event.output_epc_list = tuple(ev["outputEPCList"])
    if "outputQuantityList" in ev:
        event.output_quantity_list = _quantities(ev["outputQuantityList"])
    if "transformationID" in ev:
        event.transformation_id = ev["transformationID"]
    if "sourceList" in ev:
        event.source_list = _pairs(ev["sourceList"], "source", "sdt")
    if "destinationList" in ev:
        event.destination_list = _pairs(ev["destinationList"], "destination", "sdt")
    if "bizTransactionList" in ev:
        event.biz_transaction_list = _pairs(ev["bizTransactionList"], "bizTransaction", "btt")
    if "ilmd" in ev:
        event.ilmd = ev["ilmd"]
    if "sensorElementList" in ev:
        event.sensor_element_list = ev["sensorElementList"]
    if "persistentDisposition" in ev:
        pd = ev["persistentDisposition"]
        event.persistent_disposition = {k: [cbv_word(v, "disp") for v in pd.get(k, [])] for k in ("set", "unset")}
    if "certificationInfo" in ev:
        event.certification_info = ev["certificationInfo"]
    if "errorDeclaration" in ev:
        ed = ev["errorDeclaration"]
        event.error_declaration = ErrorDeclaration(
            declaration_time=parse_time(ed["declarationTime"], tz),
            reason=cbv_word(ed.get("reason"), "er"),
            corrective_event_ids=tuple(ed.get("correctiveEventIDs", ())),
            extensions={k: v for k, v in ed.items() if k not in _ERROR_DECLARATION_FIELDS},
        )
    return event


def parse_document(doc: Any, *, record_time: datetime | None = None, backend: str | None = None) -> list[Event]:
    """Validate, then normalise. Raises ``EPCISDocumentError`` (with ``.issues``) if the schema refuses it."""
    issues = validate_document(doc, backend=backend)
    if issues:
        raise EPCISDocumentError(issues)
    return normalise(doc, record_time=record_time)


# ---------------------------------------------------------------------------------------------------------------
# SimpleEventQuery
# ---------------------------------------------------------------------------------------------------------------

class QueryParameterError(ValueError):
    """EPCIS QueryParameterException: an unknown, unsupported or malformed query parameter."""


#: Parameters matches() understands. EQ_bizTransaction_<type>, EQ_source_<type>, EQ_destination_<type>,
#: EQ_<prefix:field> / EXISTS_<prefix:field> (top-level extension fields, by the prefixed name used in the document
#: or by the full IRI) are accepted as families.
SUPPORTED_PARAMETERS = (
    "eventType", "GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime", "EQ_action", "EQ_bizStep",
    "EQ_disposition", "EQ_persistentDisposition_set", "EQ_persistentDisposition_unset", "EQ_readPoint",
    "EQ_bizLocation", "EQ_transformationID", "MATCH_epc", "MATCH_parentID", "MATCH_inputEPC", "MATCH_outputEPC",
    "MATCH_anyEPC", "MATCH_epcClass", "MATCH_inputEPCClass", "MATCH_outputEPCClass", "MATCH_anyEPCClass",
    "EQ_eventID", "EXISTS_errorDeclaration", "GE_errorDeclarationTime", "LT_errorDeclarationTime", "EQ_errorReason",
    "EQ_correctiveEventID",
)
#: Result-set parameters, applied by the caller (ordering, paging, limits), ignored by matches().
RESULT_SET_PARAMETERS = frozenset({"orderBy", "orderDirection", "eventCountLimit", "maxEventCount", "perPage",
                                   "nextPageToken"})
#: Not supported (matches() raises QueryParameterError): WD_readPoint / WD_bizLocation (need the master-data
#: location hierarchy), EQ_ATTR_* / HASATTR_* (master-data attributes), the EPCIS 1.x quantity comparisons
#: (EQ/GT/GE/LT/LE_quantity, deprecated in 2.0), the sensor parameters (EQ_deviceID, GE_value_<uom>, EQ_type…),
#: EQ_INNER_* / nested-extension parameters, and EQ_/EXISTS_ for extension fields nested below the top level.
UNSUPPORTED_PREFIXES = ("WD_", "EQ_ATTR_", "HASATTR_", "EQ_INNER_", "GT_", "LE_")

_LIST_PARAMS_EQ = {
    "EQ_action": lambda e: (e.action,),
    "EQ_bizStep": lambda e: (e.biz_step,),
    "EQ_disposition": lambda e: (e.disposition,),
    "EQ_readPoint": lambda e: (e.read_point,),
    "EQ_bizLocation": lambda e: (e.biz_location,),
    "EQ_transformationID": lambda e: (e.transformation_id,),
    "EQ_eventID": lambda e: (e.event_id,),
    "EQ_errorReason": lambda e: (e.error_declaration.reason,) if e.error_declaration else (),
    "EQ_correctiveEventID": lambda e: e.error_declaration.corrective_event_ids if e.error_declaration else (),
    "EQ_persistentDisposition_set": lambda e: (e.persistent_disposition or {}).get("set", ()),
    "EQ_persistentDisposition_unset": lambda e: (e.persistent_disposition or {}).get("unset", ()),
}
_VALUE_VOCAB = {"EQ_bizStep": "bizstep", "EQ_disposition": "disp", "EQ_errorReason": "er",
                "EQ_persistentDisposition_set": "disp", "EQ_persistentDisposition_unset": "disp"}

# MATCH_ parameters: (which identifiers are compared, instance EPCs or classes)
_MATCH_EPC = {
    "MATCH_epc": lambda e: e.epc_list + e.child_epcs,
    "MATCH_parentID": lambda e: (e.parent_id,) if e.parent_id else (),
    "MATCH_inputEPC": lambda e: e.input_epc_list,
    "MATCH_outputEPC": lambda e: e.output_epc_list,
    "MATCH_anyEPC": Event.all_epcs,
}
_MATCH_CLASS = {
    "MATCH_epcClass": lambda e: [q.epc_class for q in e.quantity_list + e.child_quantity_list],
    "MATCH_inputEPCClass": lambda e: [q.epc_class for q in e.input_quantity_list],
    "MATCH_outputEPCClass": lambda e: [q.epc_class for q in e.output_quantity_list],
    "MATCH_anyEPCClass": lambda e: [q.epc_class for q in e.all_quantities()],
}
_TIME_PARAMS = {
    "GE_eventTime": (lambda e: e.event_time, True),
    "LT_eventTime": (lambda e: e.event_time, False),
    "GE_recordTime": (lambda e: e.record_time, True),
    "LT_recordTime": (lambda e: e.record_time, False),
    "GE_errorDeclarationTime": (lambda e: e.error_declaration.declaration_time if e.error_declaration else None, True),
    "LT_errorDeclarationTime": (lambda e: e.error_declaration.declaration_time if e.error_declaration else None, False),
}


def _values(name: str, value) -> list[str]:
    if isinstance(value, str):
        values = [value]
    elif isinstance(value, (list, tuple, set, frozenset)):
        values = list(value)
    else:
        raise QueryParameterError(f"{name}: expected a string or a list of strings, got {type(value).__name__}")
    if not values or not all(isinstance(v, str) and v for v in values):
        raise QueryParameterError(f"{name}: expected non-empty strings")
    return values


def _time_value(name: str, value) -> datetime:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise QueryParameterError(f"{name}: expected one time, got {len(value)}")
        value = value[0]
    try:
        return parse_time(value)
    except (TypeError, ValueError) as exc:
        raise QueryParameterError(f"{name}: {exc}") from None


def _bool_value(name: str, value) -> bool:
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "", None):
        return True
    if value in ("false", "0"):
        return False
    raise QueryParameterError(f"{name}: expected true or false")


# --- EPC patterns ----------------------------------------------------------------------------------------------

_RANGE = re.compile(r"^\[(\d+)-(\d+)\]$")


def _component_matches(pattern: str, value: str) -> bool:
    if pattern == "*" or pattern == value:
        return True
    m = _RANGE.match(pattern)
    return bool(m) and value.isdigit() and int(m.group(1)) <= int(value) <= int(m.group(2))


@lru_cache(maxsize=4096)
def _epc_matcher(pattern: str, classes: bool) -> Callable[[str], bool]:
    """A predicate for one MATCH_ value.

    * ``urn:epc:idpat:<scheme>:c1.c2.c3`` (EPC Tag Data Standard pattern URI): each component is ``*`` (any),
      ``[lo-hi]`` (numeric range) or a literal. It matches an EPC ``urn:epc:id:<scheme>:…`` component by component.
      For classes (MATCH_epcClass…) it also matches an LGTIN class ``urn:epc:class:lgtin:C.I.L`` when the scheme is
      sgtin and the last component is ``*`` (EPCIS §8.2.7.1.1: "any lot of this GTIN"), and a class written as a
      pattern itself (``urn:epc:idpat:sgtin:C.I.*``, as in GS1's examples) when every literal component is equal.
    * Any other value ending in ``*`` (e.g. a GS1 Digital Link ``https://id.gs1.org/01/09521234543213/21/*``): a
      prefix match. This is a Jindu convenience, not an EPCIS rule.
    * Otherwise: plain equality. No URN ↔ Digital Link conversion is done: an event that writes its EPCs as Digital
      Link URIs is matched by Digital Link values, and URNs by URNs.
    """
    if pattern.startswith("urn:epc:idpat:"):
        scheme, _, body = pattern[len("urn:epc:idpat:"):].partition(":")
        parts = body.split(".")
        id_prefix = f"urn:epc:id:{scheme}:"
        pat_prefix = f"urn:epc:idpat:{scheme}:"
        n = len(parts)

        def components_match(rest: str) -> bool:
            comps = rest.split(".", n - 1)  # a serial may itself contain dots: they stay in the last component
            if len(comps) != n:
                return False
            for p, v in zip(parts, comps):
                if v == "*" and p != "*":  # a class written as a pattern is wider than a literal component
                    return False
                if not _component_matches(p, v):
                    return False
            return True

        def match(value: str) -> bool:
            if value.startswith(id_prefix):
                return components_match(value[len(id_prefix):])
            if classes:
                if value.startswith(pat_prefix):
                    return components_match(value[len(pat_prefix):])
                if scheme == "sgtin" and parts[-1] == "*" and value.startswith("urn:epc:class:lgtin:"):
                    return components_match(value[len("urn:epc:class:lgtin:"):])
            return False

        return match
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        return lambda value: value.startswith(prefix)
    return lambda value: value == pattern


def epc_matches(pattern: str, value: str, *, epc_class: bool = False) -> bool:
    """Whether ``value`` (an EPC, or an EPC class if ``epc_class``) matches one MATCH_ ``pattern``."""
    return _epc_matcher(pattern, epc_class)(value)


# --- compile ---------------------------------------------------------------------------------------------------

def compile_query(params: Mapping[str, Any]) -> Callable[[Event], bool]:
    """Compile SimpleEventQuery ``params`` into a predicate on ``Event``. All parameters must hold (AND); a list
    value means any of its members (OR). Raises QueryParameterError for unknown or unsupported parameters."""
    tests: list[Callable[[Event], bool]] = []
    for name, raw in params.items():
        if name in RESULT_SET_PARAMETERS:
            continue
        if name == "eventType":
            wanted = frozenset(_values(name, raw))
            tests.append(lambda e, w=wanted: e.type in w)
        elif name in _TIME_PARAMS:
            getter, ge = _TIME_PARAMS[name]
            bound = _time_value(name, raw)
            if ge:
                tests.append(lambda e, g=getter, b=bound: (t := g(e)) is not None and t >= b)
            else:
                tests.append(lambda e, g=getter, b=bound: (t := g(e)) is not None and t < b)
        elif name in _LIST_PARAMS_EQ:
            vocab = _VALUE_VOCAB.get(name)
            values = _values(name, raw)
            wanted = frozenset(cbv_word(v, vocab) for v in values) if vocab else frozenset(values)
            getter = _LIST_PARAMS_EQ[name]
            tests.append(lambda e, g=getter, w=wanted: any(v in w for v in g(e) if v is not None))
        elif name in _MATCH_EPC or name in _MATCH_CLASS:
            classes = name in _MATCH_CLASS
            getter = _MATCH_CLASS[name] if classes else _MATCH_EPC[name]
            matchers = [_epc_matcher(p, classes) for p in _values(name, raw)]
            tests.append(lambda e, g=getter, ms=matchers: any(m(v) for v in g(e) for m in ms))
        elif name == "EXISTS_errorDeclaration":
            want = _bool_value(name, raw)
            tests.append(lambda e, w=want: (e.error_declaration is not None) == w)
        elif name.startswith("EQ_bizTransaction_"):
            tests.append(_typed_pair_test(name, raw, "EQ_bizTransaction_", "btt", lambda e: e.biz_transaction_list))
        elif name.startswith("EQ_source_"):
            tests.append(_typed_pair_test(name, raw, "EQ_source_", "sdt", lambda e: e.source_list))
        elif name.startswith("EQ_destination_"):
            tests.append(_typed_pair_test(name, raw, "EQ_destination_", "sdt", lambda e: e.destination_list))
        elif name.startswith(UNSUPPORTED_PREFIXES):
            raise QueryParameterError(f"{name}: query parameter not supported by this repository")
        elif name.startswith(("EQ_", "EXISTS_")) and ":" in name:
            tests.append(_extension_test(name, raw))
        else:
            raise QueryParameterError(f"{name}: unknown or unsupported query parameter")
    if not tests:
        return lambda e: True
    if len(tests) == 1:
        return tests[0]
    return lambda e: all(t(e) for t in tests)


def _typed_pair_test(name, raw, prefix, vocab, getter):
    kind = cbv_word(name[len(prefix):], vocab)
    if not kind:
        raise QueryParameterError(f"{name}: missing the type after {prefix}")
    wanted = frozenset(_values(name, raw))
    return lambda e: any(t == kind and v in wanted for t, v in getter(e))


def _extension_test(name: str, raw):
    exists = name.startswith("EXISTS_")
    fieldname = name[len("EXISTS_"):] if exists else name[len("EQ_"):]
    is_iri = "://" in fieldname or fieldname.startswith("urn:")

    def lookup(e: Event):
        if fieldname in e.extensions:
            return True, e.extensions[fieldname]
        if is_iri:
            for key, value in e.extensions.items():
                if expand_term(key, e.context) == fieldname:
                    return True, value
        return False, None

    if exists:
        want = _bool_value(name, raw)
        return lambda e: lookup(e)[0] == want
    wanted = frozenset(_values(name, raw))

    def test(e: Event) -> bool:
        found, value = lookup(e)
        if not found:
            return False
        values = value if isinstance(value, list) else [value]
        return any((v if isinstance(v, str) else json.dumps(v)) in wanted for v in values)

    return test


def matches(event: Event, params: Mapping[str, Any]) -> bool:
    """Whether ``event`` satisfies the SimpleEventQuery ``params``. To filter many events, compile once with
    ``compile_query``."""
    return compile_query(params)(event)


def filter_events(events: Iterable[Event], params: Mapping[str, Any]) -> list[Event]:
    test = compile_query(params)
    return [e for e in events if test(e)]


_TIME_OR_SINGLE = frozenset(_TIME_PARAMS) | {"EXISTS_errorDeclaration"} | RESULT_SET_PARAMETERS


def parse_query_string(pairs: Iterable[tuple[str, str]] | Mapping[str, Any]) -> dict[str, Any]:
    """REST query-string pairs → params for ``compile_query``. In the EPCIS 2.0 REST binding a list value is
    written ``a|b``; a repeated parameter also adds values (OR). Time and boolean parameters stay single strings."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    out: dict[str, Any] = {}
    for name, value in items:
        if name in _TIME_OR_SINGLE or name.startswith("EXISTS_"):
            out[name] = value
            continue
        for part in (value if isinstance(value, list) else [value]):
            out.setdefault(name, []).extend(v for v in str(part).split("|") if v)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Query result documents
# ---------------------------------------------------------------------------------------------------------------

def to_query_document(events: Iterable[Event | Mapping], *, query_name: str = "SimpleEventQuery",
                      subscription_id: str | None = None, creation_date: datetime | None = None,
                      document_id: str | None = None) -> dict:
    """An EPCISQueryDocument answering a query with ``events`` (``Event`` records, or event dicts used as given).

    Events keep the fields they were captured with, plus ``eventID`` (the hash id for events captured without one)
    and ``recordTime``. The document's ``@context`` is GS1's EPCIS context followed by the inline prefix definitions
    of the events' contexts; an event whose prefixes clash with those already collected carries its own
    ``@context``."""
    ctx_urls: list[str] = [EPCIS_CONTEXT_URL]
    merged: dict[str, Any] = {}
    event_list = []
    for ev in events:
        if isinstance(ev, Event):
            body = ev.to_epcis()
            own = ev.context
        else:
            body = dict(ev)
            own = _as_context_list(body.get("@context"))
        clash = False
        terms: dict[str, Any] = {}
        for entry in own:
            if isinstance(entry, dict):
                terms.update(entry)
        for term, definition in terms.items():
            if term in merged and merged[term] != definition:
                clash = True
                break
        if clash:
            body["@context"] = own
        else:
            merged.update(terms)
            for entry in own:
                if isinstance(entry, str) and entry not in ctx_urls and not _is_epcis_context(entry):
                    ctx_urls.append(entry)
        event_list.append(body)
    context: list[Any] = list(ctx_urls)
    if merged:
        context.append(merged)
    results: dict[str, Any] = {"queryName": query_name}
    if subscription_id:
        results["subscriptionID"] = subscription_id
    results["resultsBody"] = {"eventList": event_list}
    doc: dict[str, Any] = {"@context": context, "type": "EPCISQueryDocument", "schemaVersion": "2.0",
                           "creationDate": format_time(creation_date or datetime.now(UTC)),
                           "epcisBody": {"queryResults": results}}
    if document_id:
        doc["id"] = document_id
    return doc


def _is_epcis_context(url: str) -> bool:
    return url.endswith("epcis-context.jsonld")


# ---------------------------------------------------------------------------------------------------------------
# Vendored examples (tests, demo data, API docs)
# ---------------------------------------------------------------------------------------------------------------

def example_paths() -> list[Path]:
    """GS1's example capture documents, vendored in precursors/data/epcis/examples/."""
    return sorted(EXAMPLES_DIR.glob("*.jsonld"))


def load_example(name: str) -> dict:
    for folder in (EXAMPLES_DIR, QUERY_EXAMPLES_DIR):
        path = folder / name
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(name)
