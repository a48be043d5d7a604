"""The EPCIS 2.0 SimpleEventQuery over the event store (``GET /api/epcis/events``).

The indexed columns (event type, time, bizStep, disposition, locations, and identifiers through ``EventEPC``)
narrow the rows in SQL; the exact EPCIS semantics — patterns, CBV forms, extension fields, error declarations — are
then applied by the same pure matcher the tests check against GS1's examples (``epcis.compile_query``). A query
returns only events in the caller's scope; an event that was error-declared is answered in its declared form.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson
from django.db.models import Exists, OuterRef, Q
from django.utils.dateparse import parse_datetime

from .algorithms import epcis
from .models import Event, EventEPC, EventRetraction
from .rules_service import BatchContexts

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 100

_EPC_ROLES = {
    "MATCH_epc": ("e", "c"), "MATCH_parentID": ("p",), "MATCH_inputEPC": ("i",), "MATCH_outputEPC": ("o",),
    "MATCH_anyEPC": ("e", "c", "p", "i", "o"), "MATCH_epcClass": ("q", "cq"), "MATCH_inputEPCClass": ("iq",),
    "MATCH_outputEPCClass": ("oq",), "MATCH_anyEPCClass": ("q", "cq", "iq", "oq"),
}
_COLUMNS = {"EQ_bizStep": ("biz_step", "bizstep"), "EQ_disposition": ("disposition", "disp"),
            "EQ_bizLocation": ("biz_location", None), "EQ_readPoint": ("read_point", None),
            "EQ_action": ("action", None), "EQ_eventID": ("event_id", None)}


def _prefilter(qs, params: dict):
    for name, raw in params.items():
        if name == "eventType":
            qs = qs.filter(event_type__in=epcis._values(name, raw))
        elif name == "GE_eventTime":
            qs = qs.filter(event_time__gte=epcis._time_value(name, raw))
        elif name == "LT_eventTime":
            qs = qs.filter(event_time__lt=epcis._time_value(name, raw))
        elif name in _COLUMNS:
            column, vocab = _COLUMNS[name]
            values = epcis._values(name, raw)
            qs = qs.filter(**{f"{column}__in": [epcis.cbv_word(v, vocab) if vocab else v for v in values]})
        elif name in _EPC_ROLES:
            values = epcis._values(name, raw)
            if any(v.startswith("urn:epc:idpat:") for v in values):
                continue                       # pattern: left to the exact matcher
            cond = Q()
            for v in values:
                cond |= Q(epc__startswith=v[:-1]) if v.endswith("*") else Q(epc=v)
            qs = qs.filter(Exists(EventEPC.objects.filter(cond, event_id=OuterRef("pk"),
                                                          role__in=_EPC_ROLES[name])))
    return qs


ORDER_COLUMNS = {"eventTime": "event_time", "recordTime": "record_time"}


class QueryTooLarge(Exception):
    """EPCIS QueryTooLargeException: more events match than ``maxEventCount`` allows."""


@dataclass(frozen=True)
class ResultSet:
    """The SimpleEventQuery result-set parameters: ``orderBy`` (eventTime or recordTime; none = capture order),
    ``orderDirection`` (ASC or DESC, default DESC), ``eventCountLimit`` (the first N events in that order) and
    ``maxEventCount`` (more matches → QueryTooLargeException). The two limits exclude each other."""

    order_by: str | None = None
    descending: bool = True
    limit: int | None = None
    max_count: int | None = None

    @classmethod
    def pop_from(cls, params: dict) -> ResultSet:
        def single(name):
            value = params.pop(name, None)
            return value[0] if isinstance(value, list) else value

        def count(name):
            value = single(name)
            if value is None:
                return None
            try:
                n = int(value)
            except (TypeError, ValueError):
                raise epcis.QueryParameterError(f"{name} must be a positive integer") from None
            if n < 1:
                raise epcis.QueryParameterError(f"{name} must be a positive integer")
            return n

        order_by, direction = single("orderBy"), single("orderDirection")
        if order_by is not None and order_by not in ORDER_COLUMNS:
            raise epcis.QueryParameterError("orderBy: eventTime or recordTime (extension fields are not supported)")
        if direction is not None and direction not in ("ASC", "DESC"):
            raise epcis.QueryParameterError("orderDirection: ASC or DESC")
        limit, max_count = count("eventCountLimit"), count("maxEventCount")
        if limit is not None and max_count is not None:
            raise epcis.QueryParameterError("eventCountLimit and maxEventCount cannot both be given")
        return cls(order_by, direction != "ASC", limit, max_count)


def _encode_token(result_set: ResultSet, time, pk: int, returned: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([result_set.order_by, result_set.descending,
                                                  time.isoformat() if time else None, pk, returned])).decode()


def decode_token(token: str | None, result_set: ResultSet) -> tuple:
    """(order key time or None, last row id, events returned so far) from a nextPageToken issued for the same
    ordering; a plain row id (the tokens of earlier versions, capture order) is read as such."""
    bad = epcis.QueryParameterError("nextPageToken is not one this server issued for this ordering")
    if not token:
        return None, None, 0
    if token.isascii() and token.isdecimal():
        if result_set.order_by is not None:
            raise bad
        return None, int(token), 0
    try:
        order_by, descending, time, pk, returned = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        moment = parse_datetime(time) if time else None
        pk, returned = int(pk), int(returned)
    except (binascii.Error, orjson.JSONDecodeError, TypeError, ValueError, UnicodeError):
        raise bad from None
    if order_by != result_set.order_by or (order_by is not None and (descending != result_set.descending
                                                                     or moment is None)):
        raise bad
    return moment, pk, returned


def query_events(user, params: dict, *, per_page: int = DEFAULT_PER_PAGE, token: str | None = None):
    """(events, next_page_token): the events in the caller's scope that satisfy ``params``, at most ``per_page``,
    in capture order or in the ``orderBy`` order (ties by capture order); the token asks for the next page. The
    result-set parameters (``ResultSet``) are read from ``params``."""
    params = dict(params)
    result_set = ResultSet.pop_from(params)
    test = epcis.compile_query(params)            # raises QueryParameterError for unknown parameters
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    after_time, after_pk, returned = decode_token(token, result_set)
    qs = _prefilter(Event.objects.restrict(user, "view"), params)
    retracted = EventRetraction.objects.filter(event_id=OuterRef("event_id"))
    qs = qs.exclude(Q(declared_error=False) & Exists(retracted))
    column = ORDER_COLUMNS.get(result_set.order_by)
    if column is None:
        ordering = ["pk"]

        def beyond(time, pk):            # the rows after this one in capture order
            return Q(pk__gt=pk)
    else:
        sign, cmp = ("-", "lt") if result_set.descending else ("", "gt")
        ordering = [f"{sign}{column}", f"{sign}pk"]

        def beyond(time, pk):            # the rows after this one in (column, pk) order
            return Q(**{f"{column}__{cmp}": time}) | Q(**{column: time, f"pk__{cmp}": pk})
    if result_set.max_count is not None and token is None:
        _check_size(qs, test, result_set.max_count)
    if after_pk is not None:
        qs = qs.filter(beyond(after_time, after_pk))
    wanted = per_page if result_set.limit is None else min(per_page, result_set.limit - returned)
    if wanted <= 0:
        return [], None
    context_of = BatchContexts()
    out = []
    rows = qs.order_by(*ordering).values_list("pk", "batch_id", "raw", "record_time", column or "pk")
    for pk, batch_id, raw, rec, row_time in rows.iterator(chunk_size=2000):
        ev = epcis.normalise_event(orjson.loads(raw), context_of(batch_id), rec)
        if test(ev):
            out.append(ev)
            if len(out) >= wanted:
                if result_set.limit is not None and returned + len(out) >= result_set.limit:
                    return out, None
                time = row_time if column is not None else None
                more = qs.filter(beyond(time, pk)).exists()
                return out, (_encode_token(result_set, time, pk, returned + len(out)) if more else None)
    return out, None


def _check_size(qs, test, max_count: int) -> None:
    """QueryTooLargeException when more than ``max_count`` events match (the exact matcher decides)."""
    context_of, n = BatchContexts(), 0
    for batch_id, raw, rec in qs.values_list("batch_id", "raw", "record_time").iterator(chunk_size=2000):
        if test(epcis.normalise_event(orjson.loads(raw), context_of(batch_id), rec)):
            n += 1
            if n > max_count:
                raise QueryTooLarge(f"more than maxEventCount={max_count} events match")
