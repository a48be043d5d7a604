"""The trace (来源倒查 / 去向追溯) over the event store: a process-wide lineage index kept up to date.

The index (``algorithms.trace.LineageIndex``) is built once per process from the stored events and then fed only
the events captured since (it is incremental), so a trace costs the walk, not a database scan. An error
declaration cannot be taken out of an index, so one arriving since the last refresh rebuilds it. The index holds
every party's events; scoping is applied to the answer: a caller sees the trace only if the seed is in events they
may see, and an enterprise sees the graph with other parties' names as their identifiers only.
"""

from __future__ import annotations

import gc
import threading

from .algorithms.trace import LineageIndex, back_trace, forward_trace, trace_event_from
from .algorithms.transactions import ProductAttribute
from .models import Event, EventRetraction
from .registry import Registry, product_catalog

_lock = threading.Lock()


def _empty_state(**values) -> dict:
    return {"index": None, "last_pk": 0, "last_id": None, "retractions": 0, "recent": set(), "version": None,
            **values}


_state: dict = _empty_state()
#: PostgreSQL hands out ids when rows are inserted, not when they commit: a capture that commits after a later one
#: leaves a lower id behind the watermark. The ids of the last TRAIL rows are re-checked on each refresh (an
#: index-only range query) and any that appeared late are added.
TRAIL = 5000


def _new_index() -> LineageIndex:
    reg = Registry.load()
    catalog = product_catalog()
    return LineageIndex(site_party=reg.site_party, densities=ProductAttribute(catalog, "density"),
                        piece_mass=ProductAttribute(catalog, "piece_mass"))


#: an index this large is moved out of the cyclic collector's sight once built (``gc.freeze``): its millions of
#: objects live as long as the process, and each full collection would otherwise walk them all again
FREEZE_FROM_EVENTS = 100_000


def lineage_index(refresh: bool = True) -> LineageIndex:
    """The process's index, brought up to date with the store."""
    from .capture import gc_paused

    with _lock, gc_paused():
        built = _bring_up_to_date(refresh)
        if built and _state["index"].n_events >= FREEZE_FROM_EVENTS:
            # what an earlier freeze kept (a replaced index, a request then in flight) is collected now, and what is
            # garbage now is not frozen with the new index
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        return _state["index"]


def registry_version() -> tuple:
    """What the index copied from the registry when it was built (sites → parties, the product catalogue's densities
    and piece masses) changes when any of those rows is added, changed or removed: their counts and latest update,
    read in one query (it runs before every trace)."""
    from django.db import connection

    from .models import ProductMapping, Site, Substance

    tables = [m._meta.db_table for m in (Site, ProductMapping, Substance)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t}), (SELECT MAX(updated) FROM {t})"
                                             for t in tables))
        return tuple(cursor.fetchone())


def _bring_up_to_date(refresh: bool) -> bool:
    """Returns True when the index was built from scratch."""
    from .rules_service import stored_events

    built = False
    n_retractions = EventRetraction.objects.count()
    version = registry_version()
    # events the index holds that are no longer stored (a capture inside a transaction that rolled back, e.g.
    # a failed Excel import) make it stale: the newest event it holds must still be there
    gone = _state["last_pk"] and not Event.objects.filter(pk=_state["last_pk"],
                                                          event_id=_state["last_id"]).exists()
    if _state["index"] is None or n_retractions != _state["retractions"] or gone or version != _state["version"]:
        _state.update(_empty_state(index=_new_index(), retractions=n_retractions, version=version))
        built = True
    if refresh or _state["last_pk"] == 0:
        last = Event.objects.order_by("-pk").values_list("pk", "event_id").first()
        if last and last[0] > _state["last_pk"]:
            low = _state["last_pk"]
            window = set(Event.objects.filter(pk__gt=max(0, low - TRAIL), pk__lte=low)
                         .values_list("pk", flat=True)) if low else set()
            late = window - _state["recent"]
            qs = Event.objects.filter(pk__gt=low, pk__lte=last[0])
            if late:
                qs = Event.objects.filter(pk__in=late) | qs
            # the ids seen now, read before the events are (an id committed in between is then re-checked, not
            # lost); only the last TRAIL are re-checked next time, so only those are read (not a million at a build)
            floor = last[0] - TRAIL
            recent = {pk for pk in window if pk > floor} | set(qs.filter(pk__gt=floor).values_list("pk", flat=True))
            _state["index"].add(trace_event_from(e) for e in stored_events(qs, scan=not low))
            _state["last_pk"], _state["last_id"] = last
            _state["recent"] = recent
    return built


def reset() -> None:
    with _lock:
        _state.update(_empty_state())


def seed_visible(user, seed: str) -> bool:
    """A trace starts only from an identifier (EPC, lot, waybill) named in events the user may see."""
    return Event.objects.restrict(user, "view").filter(epcs__epc=seed).exists()


def trace(seed: str, *, direction: str = "back", kind: str | None = None, max_hops: int = 50) -> dict:
    index = lineage_index()
    fn = back_trace if direction == "back" else forward_trace
    return fn(index, seed, max_hops=max_hops, kind=kind)


def visible_to(result: dict, user) -> dict:
    """An enterprise sees the trace only at its own nodes (with the edges that touch them, which name the
    counterparty's identifier as the events it received did); offices see the whole graph."""
    from .models import Party

    scope = user.scope_for("view")
    if scope.is_global or scope.area_prefix or not scope.org_id:
        return result
    own = set(Party.objects.filter(org_id=scope.org_id).values_list("identifier", flat=True))
    nodes = [n for n in result["nodes"] if n.get("party") in own]
    ids = {n["id"] for n in nodes}
    edges = [e for e in result["edges"] if e.get("source") in ids or e.get("target") in ids]
    return {**result, "nodes": nodes, "edges": edges, "restricted_to_own_party": True}
