"""The EPCIS 2.0 SimpleEventQuery over the event store (``GET /api/epcis/events``).

The indexed columns (event type, time, bizStep, disposition, locations, and identifiers through ``EventEPC``)
narrow the rows in SQL; the exact EPCIS semantics — patterns, CBV forms, extension fields, error declarations — are
then applied by the same pure matcher the tests check against GS1's examples (``epcis.compile_query``). A query
returns only events in the caller's scope; an event that was error-declared is answered in its declared form.
"""

from __future__ import annotations

import orjson
from django.db.models import Exists, OuterRef, Q

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


def query_events(user, params: dict, *, per_page: int = DEFAULT_PER_PAGE, after: int | None = None):
    """(events, next_page_token): the events in the caller's scope that satisfy ``params``, in capture order,
    at most ``per_page``; the token (the last row id) asks for the next page."""
    test = epcis.compile_query(params)            # raises QueryParameterError for unknown parameters
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    qs = _prefilter(Event.objects.restrict(user, "view"), params)
    retracted = EventRetraction.objects.filter(event_id=OuterRef("event_id"))
    qs = qs.exclude(Q(declared_error=False) & Exists(retracted))
    if after is not None:
        qs = qs.filter(pk__gt=after)
    context_of = BatchContexts()
    out, last = [], None
    for pk, batch_id, raw, rec in qs.order_by("pk").values_list("pk", "batch_id", "raw", "record_time").iterator(
            chunk_size=2000):
        ev = epcis.normalise_event(orjson.loads(raw), context_of(batch_id), rec)
        if test(ev):
            out.append(ev)
            last = pk
            if len(out) >= per_page:
                more = qs.filter(pk__gt=pk).exists()
                return out, (str(last) if more else None)
    return out, None
