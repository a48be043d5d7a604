"""Back-trace and forward-trace of precursor chemicals over EPCIS-shaped events (issue 3 item 5; research §3.4).

Pure Python (no Django). The Django layer maps the EPCIS normaliser's events (``precursors.algorithms.epcis``) onto
:class:`TraceEvent` (see :func:`trace_event_from`), feeds them to a :class:`LineageIndex` (``add`` is incremental),
and answers ``GET /api/precursors/trace/`` with :func:`back_trace` / :func:`forward_trace`.

The flow graph
--------------
Every quantity lives in exactly one node at a time:

* ``party_site_lot`` — loose (not containerised) stock of one lot (``epc_class``) held at one site;
* ``container``      — one identified object (SSCC drum or pallet, GRAI, SGTIN…) *while held at one site* (a custody
  segment: the same drum at the producer, at the trader and at the user are three nodes);
* ``transformation`` — one TransformationEvent, or all events sharing a ``transformation_id``.

Edges move kilograms between nodes: ``shipping`` (shipping event → matched receiving event), ``packing`` /
``unpacking`` (AggregationEvent ADD / DELETE: loose lot → container, child → parent and back), ``consumption``
(transformation input) and ``production`` (transformation output). Commissioning and imports are *sources* of a node,
destruction and reported losses are *sinks*; they are reported on the node (``sources`` / ``sinks``), not as edges.
Each node reports ``quantity_in``, ``quantity_out`` and ``unaccounted = in − out`` (kg) over **all** its flows, not
only those on the traced path — so a trader that bought 1,000 kg and can show only 600 kg leaving has 400 kg
unaccounted (still in stock, or diverted). At a transformation node ``unaccounted`` is input mass − output mass
(process yield), not necessarily a loss.

Conventions and assumptions [G = guess, to confirm with the office]
--------------------------------------------------------------------
* Sites: a node's site is the event's SGLN normalised to the location level (``urn:epc:id:sgln:C.L.ext`` →
  ``…C.L.0``; Digital Link ``/414/{gln}/254/{ext}`` → ``/414/{gln}``), so dock-door read points and the warehouse
  bizLocation fall on one site. Shipping takes the site from the source ``location``, else readPoint, else
  bizLocation; receiving from the destination ``location``, else bizLocation, else readPoint; every other event from
  bizLocation, else readPoint. Nodes are keyed by **site** (stock of one lot at one site is one node); an event with
  no site at all is keyed by its party. [G]
* Parties: the node's ``party`` is the PGLN (or other id) used in the events — the source ``owning_party`` (else
  ``possessing_party``) of a shipping event, the destination one of a receiving event. Events that carry no party
  (commissioning, packing, transforming…) take the owner of their site: the ``site_party`` map given by the caller
  (from the registry), else the owner learned from shipping/receiving events at that site, else the site id itself.
* Shipping ↔ receiving matching, per item (an EPC, or a lot for quantity lists): first a shared bizTransaction id
  (waybill, bol, desadv, po, inv… — any type) with compatible parties (equal when both known), else the same item
  with the same source and destination parties (both known). FIFO among candidates. Works in either arrival order.
  One receiving item matches one shipping item; a different received quantity is kept (``quantity_received`` on the
  edge, a ``received_quantity_differs`` gap on the receiver).
* Gaps: a shipping item with no matching receiving ends in a placeholder node (``gaps: shipped_not_received``, the
  quantity is unaccounted there; the shipper node lists the gap too); a receiving item with no matching shipping
  starts from a placeholder (``received_without_shipping``; unaccounted is negative there). Exports (destination
  country ≠ CN, or a customs/export bizTransaction type on a shipping event) end in an ``exporter`` placeholder that
  accounts for the quantity; imports (source country ≠ CN, or a customs/import type on a receiving event) are a source.
* Object events with both EPCs and quantities: on commissioning (ADD) the quantities are the *contents* of the new
  objects (split equally between them); otherwise EPCs and quantities are separate items (no double counting is
  attempted). Transformation outputs follow the same rule. A TransformationEvent input EPC is consumed whole.
  AggregationEvent ``quantities`` are its childQuantityList. An unpack (DELETE) listing no children empties the
  parent of the children known when it is added.
* Container contents are resolved lazily from each container's time-ordered timeline, so events may arrive in any
  order (except "unpack all", above). TransactionEvents and other event types add no flow: their permits and
  bizTransaction ids attach to the nodes of the items they name (at the parties they name).
* Quantities convert to kg: KGM, GRM, MGM, TNE, LBR; LTR, MLT, MTQ, DMQ with a density (kg/L) per epc_class; a count
  (no uom, EA, H87, C62) with a piece mass per epc_class. Anything else is **unknown** — the flow has no quantity,
  the node is ``complete: False`` and ``flags`` say why; it is never counted as zero silently.
* Naive datetimes are China Standard Time (UTC+8) [research: dates are evaluated in Asia/Shanghai]; output times are
  ISO 8601 in UTC+8 unless another ``tz`` is given.
* Error declarations / retracted events must be removed by the caller before ``add``. Re-adding an event id already
  in the index is ignored (idempotent).

Trace semantics: a hop is one edge. The seed's nodes are hop 0: every custody segment of an EPC, every node
holding a lot (plus the objects a lot was filled into at creation), or both ends of the edges whose events carry a
bizTransaction id (a waybill seed walks back from its shipper, forward from its receiver). Back-trace walks edges against the flow, forward-trace with it, up to
``max_hops``. Two precision rules apply (both switchable): *time-respecting* — going back from a node, only flows
that arrived there no later than the flow we leave by are followed (forward: only flows that leave after we arrived);
*identity focus* — after unpacking drum D from pallet P, the walk back through P's history follows only the packing
of D (not the other drums on the pallet), and symmetrically forward.
"""

from __future__ import annotations

import functools
import math
import random
import statistics
import sys
import time as _time
from array import array
from bisect import insort
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

CST = timezone(timedelta(hours=8), "CST")   # China Standard Time; no DST since 1991
HOME_COUNTRY = "CN"

OBJECT_EVENT, AGGREGATION_EVENT = "ObjectEvent", "AggregationEvent"
TRANSFORMATION_EVENT, TRANSACTION_EVENT = "TransformationEvent", "TransactionEvent"
ADD, OBSERVE, DELETE = "ADD", "OBSERVE", "DELETE"

SHIP_STEPS = frozenset({"shipping"})
RECEIVE_STEPS = frozenset({"receiving"})
DESTROY_STEPS = frozenset({"destroying"})
DESTROY_DISPOSITIONS = frozenset({"destroyed", "disposed"})
LOSS_DISPOSITIONS = frozenset({"stolen", "lost"})          # "lost" is a local code (research §3.3)
COUNT_STEPS = frozenset({"cycle_counting", "inspecting", "stock_taking"})
RETURN_DISPOSITIONS = frozenset({"returned"})
EXPORT_TXN_TYPES = frozenset({"cusdec", "customs_declaration", "export_declaration", "export_licence", "pen"})  # [G]
IMPORT_TXN_TYPES = frozenset({"cusdec", "customs_declaration", "import_declaration", "import_licence"})          # [G]
COUNTRY_KEYS = ("country", "dest_country", "destination_country", "origin_country")

# --- units (UN/ECE Recommendation 20 codes) ---------------------------------------------------------------------
MASS_TO_KG = {"KGM": 1.0, "GRM": 1e-3, "MGM": 1e-6, "TNE": 1000.0, "LBR": 0.45359237}
VOLUME_TO_L = {"LTR": 1.0, "MLT": 1e-3, "MTQ": 1000.0, "DMQ": 1.0}
COUNT_UOMS = frozenset({"", "EA", "H87", "C62"})


def to_kg(quantity, uom: str | None, density: float | None = None,
          piece_mass: float | None = None) -> float | None:
    """``quantity`` in ``uom`` as kilograms, or ``None`` when it cannot be converted (unknown unit; a volume without
    a density in kg/L; a count without a piece mass in kg).

    >>> to_kg(2, "TNE"), to_kg(500, "GRM"), to_kg(1000, "LTR", density=0.79), to_kg(1, "MTQ", 0.79), to_kg(3, "BLL")
    (2000.0, 0.5, 790.0, 790.0, None)
    """
    if quantity is None:
        return None
    q = float(quantity)
    u = (uom or "").upper()
    f = MASS_TO_KG.get(u)
    if f is not None:
        return q * f
    f = VOLUME_TO_L.get(u)
    if f is not None:
        return q * f * density if density else None
    if u in COUNT_UOMS:
        return q * piece_mass if piece_mass else None
    return None


def _why_unknown(quantity, uom, density, piece_mass) -> str:
    u = (uom or "").upper()
    if quantity is None:
        return "no quantity"
    if u in VOLUME_TO_L:
        return f"volume {u} without a density"
    if u in COUNT_UOMS:
        return f"count {u or '(no uom)'} without a piece mass"
    return f"unknown uom {uom}"


# --- the input record -------------------------------------------------------------------------------------------

@dataclass(slots=True)
class TraceEvent:
    """One event, as the trace and the ledger need it (a subset of EPCIS 2.0, flattened).

    * ``type``: ObjectEvent / AggregationEvent / TransformationEvent / TransactionEvent; ``action`` ADD / OBSERVE /
      DELETE (None for transformations);
    * ``event_time``: a datetime (naive = UTC+8);
    * ``biz_step`` / ``disposition``: bare CBV words (``shipping``, ``in_transit``…);
    * ``quantities``: ``(epc_class, quantity, uom)`` triples — the quantityList, or for an AggregationEvent its
      childQuantityList; ``input_quantities`` / ``output_quantities`` likewise for transformations;
    * ``source`` / ``destination``: type → id (``owning_party``, ``possessing_party``, ``location``; a country
      under ``country``) — a dict, a dict of lists, or ``(type, id)`` pairs;
    * ``biz_transactions``: type → id(s) (``po``, ``inv``, ``desadv``, ``bol``, ``waybill``, ``cusdec``…), same forms;
    * ``read_point`` / ``biz_location``: SGLN ids; ``permit``: the authorization number (``ext:permitNo``).
    """

    event_id: str
    type: str
    action: str | None
    event_time: datetime
    biz_step: str | None = None
    disposition: str | None = None
    epc_list: Sequence[str] = ()
    parent_id: str | None = None
    child_epcs: Sequence[str] = ()
    input_epcs: Sequence[str] = ()
    output_epcs: Sequence[str] = ()
    quantities: Sequence[tuple] = ()
    input_quantities: Sequence[tuple] = ()
    output_quantities: Sequence[tuple] = ()
    source: Any = None
    destination: Any = None
    biz_transactions: Any = None
    read_point: str | None = None
    biz_location: str | None = None
    permit: str | None = None
    transformation_id: str | None = None


PERMIT_EXTENSION_SUFFIXES = ("permitNo", "permit_no")
WAYBILL_EXTENSION_SUFFIXES = ("waybillNo", "waybill_no")


def trace_event_from(ev: Any, *, permit: str | None = None, waybill_type: str = "waybill") -> TraceEvent:
    """A :class:`TraceEvent` from a normalised EPCIS event object (duck-typed on the field names of
    ``precursors.algorithms.epcis.Event``: ``quantity_list``, ``child_quantity_list``, ``input_epc_list``,
    ``source_list``, ``biz_transaction_list``, ``extensions``…). The permit is taken from an extension key ending in
    ``permitNo`` unless given; an extension ending in ``waybillNo`` is added as a bizTransaction of ``waybill_type``."""
    g = lambda name, default=(): getattr(ev, name, default) or default
    ext = g("extensions", {})
    if permit is None:
        permit = next((str(v) for k, v in ext.items() if k.endswith(PERMIT_EXTENSION_SUFFIXES) and v), None)
    btx = list(g("biz_transaction_list"))
    for k, v in ext.items():
        if k.endswith(WAYBILL_EXTENSION_SUFFIXES) and v:
            btx.append((waybill_type, str(v)))
    etype = g("type", None)
    quantities = g("child_quantity_list") if etype == AGGREGATION_EVENT else g("quantity_list")
    # identifiers are interned: the index keeps them (in nodes, timelines, edges), and one EPC, lot, site or permit
    # named by many events is then one string, not one per event (a third of the index's memory at 1,000,000 events)
    return TraceEvent(
        event_id=ev.event_id, type=etype, action=g("action", None), event_time=ev.event_time,
        biz_step=g("biz_step", None), disposition=g("disposition", None), epc_list=_ids(g("epc_list")),
        parent_id=_id(g("parent_id", None)), child_epcs=_ids(g("child_epcs")), input_epcs=_ids(g("input_epc_list")),
        output_epcs=_ids(g("output_epc_list")), quantities=_quantities(quantities),
        input_quantities=_quantities(g("input_quantity_list")),
        output_quantities=_quantities(g("output_quantity_list")),
        source=tuple(g("source_list")), destination=tuple(g("destination_list")), biz_transactions=tuple(btx),
        read_point=_id(g("read_point", None)), biz_location=_id(g("biz_location", None)), permit=_id(permit),
        transformation_id=g("transformation_id", None))


def _id(value):
    return sys.intern(value) if type(value) is str else value


def _ids(values) -> tuple:
    return tuple(map(_id, values))


def _quantities(quantities) -> tuple:
    return tuple((_id(q[0]), *q[1:]) for q in quantities)


# --- small helpers ----------------------------------------------------------------------------------------------

def _bare(word: str | None) -> str | None:
    """A CBV word from a bare word, a URN or a Web URI (``urn:epcglobal:cbv:sdt:owning_party`` → ``owning_party``)."""
    if not word or (":" not in word and "/" not in word):
        return word
    tail = word.replace("/", ":").rsplit(":", 1)[-1]
    for prefix in ("BizStep-", "Disp-", "BTT-", "SDT-"):
        if tail.startswith(prefix):
            return tail[len(prefix):]
    return tail


def _as_map(value) -> dict:
    """type → [ids] from a dict (of ids or lists of ids) or (type, id) pairs; types reduced to bare words.

    Events repeat the same source, destination and bizTransaction lists over and over, so the map of a tuple is
    remembered: the answer is shared between equal inputs, and callers only read it."""
    if not value:
        return {}
    if type(value) is tuple:
        try:
            return _as_map_of_tuple(value)
        except TypeError:            # an unhashable member (a list of ids): build it afresh
            pass
    return _build_map(value)


def _build_map(value) -> dict:
    items = value.items() if isinstance(value, Mapping) else value
    out: dict = {}
    for kind, v in items:
        kind = _bare(kind) if kind else kind
        if isinstance(v, (list, tuple)):
            out.setdefault(kind, []).extend(v)
        elif v is not None:
            out.setdefault(kind, []).append(v)
    return out


_as_map_of_tuple = functools.lru_cache(maxsize=1 << 12)(_build_map)


def _first(m: dict, *kinds) -> str | None:
    for k in kinds:
        v = m.get(k)
        if v:
            return v[0]
    return None


def _ts(t) -> float:
    if isinstance(t, (int, float)):
        return float(t)
    if t.tzinfo is None:
        t = t.replace(tzinfo=CST)
    return t.timestamp()


def site_of(location: str | None) -> str | None:
    """The site (GLN level) of an SGLN or GS1 Digital Link location id; other ids unchanged."""
    if not location:
        return None
    if location.startswith("urn:epc:id:sgln:"):
        parts = location[16:].split(".")
        if len(parts) == 3 and parts[2] != "0":
            return f"urn:epc:id:sgln:{parts[0]}.{parts[1]}.0"
        return location
    i = location.find("/414/")
    if i >= 0:
        j = location.find("/254/", i)
        if j >= 0:
            return location[:j]
    return location


# edge kinds
SHIP, PACK, UNPACK, T_IN, T_OUT, SOURCE, SINK = 1, 2, 3, 4, 5, 6, 7
EDGE_KIND_NAMES = {SHIP: "shipping", PACK: "packing", UNPACK: "unpacking", T_IN: "consumption",
                   T_OUT: "production", SOURCE: "source", SINK: "sink"}
# edge flags
F_EXPORT, F_IMPORT, F_RETURN, F_LOSS = 1, 2, 4, 8
# node kinds and flags
K_LOT, K_CONTAINER, K_TRANSFORMATION = 0, 1, 2
KIND_NAMES = {K_LOT: "party_site_lot", K_CONTAINER: "container", K_TRANSFORMATION: "transformation"}
N_PEND_SHIP, N_PEND_RECV, N_EXPORT, N_DEAD = 1, 2, 4, 8
# container timeline ops
OP_QTY, OP_CHILD_IN, OP_CHILD_OUT, OP_CLEAR, OP_CLEAR_LOOSE = 0, 1, 2, 3, 4
MAX_FOCUS = 8
NAN = float("nan")
_INF = float("inf")


class LineageIndex:
    """An in-memory flow graph over events, built incrementally with :meth:`add`.

    Parameters: ``densities`` (epc_class → kg/L), ``piece_mass`` (epc_class → kg per piece), ``site_party`` (site →
    party, from the registry; wins over what the events teach), ``is_export`` / ``is_import`` (predicates on a
    TraceEvent replacing the defaults described in the module docstring).
    """

    def __init__(self, events: Iterable[TraceEvent] = (), *, densities: Mapping[str, float] | None = None,
                 piece_mass: Mapping[str, float] | None = None, site_party: Mapping[str, str] | None = None,
                 is_export: Callable[[TraceEvent], bool] | None = None,
                 is_import: Callable[[TraceEvent], bool] | None = None):
        # any Mapping: the Django layer passes lookups that resolve an epc_class by product-mapping prefix
        self.densities = densities if densities is not None else {}
        self.piece_mass = piece_mass if piece_mass is not None else {}
        self.site_party = dict(site_party or {})
        self._is_export = (lambda e, b, d: is_export(e)) if is_export else _default_is_export
        self._is_import = (lambda e, b, s: is_import(e)) if is_import else _default_is_import
        # events
        self._ev_id: list[str] = []
        self._ev_known: dict[str, str] = {}        # event id → itself (one copy, see known_id)
        self._ev_t = array("d")
        self._ev_permit: list = []
        # the events' bizTransaction ids, one flat list: event seq's are _btx_flat[_ev_btx_end[seq-1]:_ev_btx_end[seq]]
        # (a tuple per event would cost 60–90 MB at 1,000,000 events)
        self._btx_flat: list[str] = []
        self._ev_btx_end = array("q")
        self._ev_flags: dict[int, list[str]] = {}   # seq → reasons a quantity could not be converted
        # nodes
        # a node is found by its identifier (_ident_nodes: lot, container id or transformation id → nodes) and then
        # its kind and holder: a dict keyed by (kind, holder, ident) held 74 MB of keys at 1,000,000 events, and an
        # identifier names a dozen nodes at most
        self._n_kind = array("b")
        self._n_flag = array("b")
        self._n_site: list = []
        self._n_party: list = []                    # explicit party from the events (or None)
        self._n_ident: list = []                    # lot, container id or transformation id
        self._n_holder: list = []                   # site, "party:<id>" or "?" holding it ("" for placeholders)
        self._n_out = array("q")                    # head of the out-edge list (-1 = none)
        self._n_in = array("q")
        self._n_parties_seen: dict[int, set] = {}   # nodes whose events named more than one party
        self._ph_key: dict[int, tuple] = {}         # placeholder node → its key
        self._ph_node: dict[tuple, int] = {}        # and back
        self._free: list[int] = []                  # recycled placeholder slots
        # edges
        self._e_src = array("q")
        self._e_dst = array("q")
        self._e_kind = array("b")
        self._e_flag = array("b")
        self._e_ev1 = array("q")                    # the event (shipping event for SHIP edges; -1 if none)
        self._e_ev2 = array("q")                    # receiving event for SHIP edges (-1 if none)
        self._e_q = array("d")                      # kg charged to the source; NaN = lazy (container) or unknown
        self._e_lot: list = []                      # lot of an explicit quantity
        self._e_next_out = array("q")
        self._e_next_in = array("q")
        self._e_qin: dict[int, float | None] = {}  # kg credited to the target when it differs (None = unknown)
        self._e_lazy: dict[int, tuple] = {}         # edge → (container, t, seq, lot|None): contents at that moment
        # side structures
        self._attach: dict[int, list[int]] = {}     # node → events that name it without moving quantity
        self._ctl: dict[str, list[tuple]] = {}      # container → [(t, seq, op, a, b)] sorted
        self._counts: list[tuple] = []              # (node, seq, lot|None, kg|None) stock observations
        # (arrays, not lists: a list held a boxed int per node, 17 MB at 1,000,000 events)
        self._ident_nodes: dict[str, array] = {}
        self._lot_containers: dict[str, set[int]] = {}
        # bizTransaction id → edge or [edges]: a trace's waybill seeds, made at the first such trace and kept up to
        # date from then on (~50 MB at 1,000,000 events that a process which never traces by waybill — the worker
        # running the rules — does not hold)
        self._btx_edges: dict[str, Any] | None = None
        self._txn: dict[int, tuple] = {}            # seq → (idents, parties) of TransactionEvents etc.
        self._ident_txn: dict[str, list[int]] = {}
        self._btx_txn: dict[str, list[int]] = {}
        self._pend_ship: dict[tuple, list] = {}
        self._pend_recv: dict[tuple, list] = {}
        self._site_owner: dict[str, str] = {}
        self._site_cache: dict[str, str | None] = {}
        self._contents_cache: dict[tuple, tuple] = {}
        self._summary_cache: dict[int, dict] = {}
        if events:
            self.add(events)

    # --- sizes ----------------------------------------------------------------------------------------------------
    @property
    def n_events(self) -> int:
        return len(self._ev_id)

    @property
    def n_nodes(self) -> int:
        return len(self._n_kind) - len(self._free)

    @property
    def n_edges(self) -> int:
        return len(self._e_kind)

    def known_id(self, event_id: str) -> str:
        """The index's own copy of an event id it holds (else the id given): a caller that keeps ids of the same
        events (the rule run's facts) then holds one string per event, not two."""
        return self._ev_known.get(event_id, event_id)

    def clear_caches(self) -> None:
        self._contents_cache.clear()
        self._summary_cache.clear()

    # --- building -------------------------------------------------------------------------------------------------
    def add(self, events: Iterable[TraceEvent]) -> int:
        """Add events (any order); returns how many were new."""
        n0 = len(self._ev_id)
        for e in events:
            if e.event_id in self._ev_known:
                continue
            self._add_one(e)
        self.clear_caches()
        return len(self._ev_id) - n0

    def _site(self, loc: str | None) -> str | None:
        if not loc:
            return None
        s = self._site_cache.get(loc)
        if s is None:
            s = sys.intern(site_of(loc))
            self._site_cache[loc] = s
        return s

    def _kg(self, seq: int, cls: str, q, uom) -> float | None:
        kg = to_kg(q, uom, self.densities.get(cls), self.piece_mass.get(cls))
        if kg is None:
            self._ev_flags.setdefault(seq, []).append(
                f"{cls}: {_why_unknown(q, uom, self.densities.get(cls), self.piece_mass.get(cls))}")
        return kg

    def _add_one(self, e: TraceEvent) -> None:
        seq = len(self._ev_id)
        t = _ts(e.event_time)
        self._ev_id.append(e.event_id)
        self._ev_known[e.event_id] = e.event_id
        self._ev_t.append(t)
        self._ev_permit.append(sys.intern(e.permit) if e.permit else None)
        btx_map = _as_map(e.biz_transactions)
        btx = tuple(sys.intern(str(v)) for vs in btx_map.values() for v in vs) or None
        if btx is not None:
            self._btx_flat.extend(btx)
        self._ev_btx_end.append(len(self._btx_flat))
        src_map, dst_map = _as_map(e.source), _as_map(e.destination)
        step, disp = _bare(e.biz_step), _bare(e.disposition)
        typ = e.type
        if typ == TRANSFORMATION_EVENT:
            self._add_transformation(e, seq, t, src_map, dst_map)
        elif typ == AGGREGATION_EVENT:
            self._add_aggregation(e, seq, t, src_map, dst_map)
        elif typ == OBJECT_EVENT:
            if step in SHIP_STEPS:
                self._add_ship(e, seq, t, btx, btx_map, src_map, dst_map, disp)
            elif step in RECEIVE_STEPS:
                self._add_receive(e, seq, t, btx, btx_map, src_map, dst_map, disp)
            elif disp in LOSS_DISPOSITIONS:
                self._add_sink(e, seq, t, src_map, dst_map, F_LOSS)
            elif step in DESTROY_STEPS or disp in DESTROY_DISPOSITIONS:
                self._add_sink(e, seq, t, src_map, dst_map, 0)
            elif e.action == ADD:
                self._add_source(e, seq, t, src_map, dst_map)
            else:
                self._add_observe(e, seq, t, src_map, dst_map, step in COUNT_STEPS)
        else:
            self._add_txn(e, seq, btx, src_map, dst_map)

    # holders -------------------------------------------------------------------------------------------------------
    def _generic_holder(self, e, src_map, dst_map):
        site = self._site(e.biz_location or e.read_point or _first(dst_map, "location")
                          or _first(src_map, "location"))
        party = _first(dst_map, "owning_party") or _first(src_map, "owning_party")
        return self._holder_key(site, party), site, party

    def _holder_key(self, site, party):
        if site:
            return site
        if party:
            return "party:" + party
        return "?"

    def _learn(self, site, party):
        if site and party and site not in self._site_owner:
            self._site_owner[site] = party

    # nodes and edges -----------------------------------------------------------------------------------------------
    def _node(self, kind: int, holder: str, ident: str, site, party, flag: int = 0, key=None) -> int:
        n = self._ph_node.get(key) if key is not None else self._find(kind, holder, ident)
        party = _id(party)
        if n is not None:
            if party and self._n_party[n] != party:
                if self._n_party[n] is None:
                    self._n_party[n] = party
                else:
                    self._n_parties_seen.setdefault(n, {self._n_party[n]}).add(party)
            return n
        ident = sys.intern(ident) if isinstance(ident, str) else ident
        holder = _id(holder)
        if self._free:                                    # reuse a matched placeholder's slot
            n = self._free.pop()
            self._n_kind[n], self._n_flag[n], self._n_site[n], self._n_party[n] = kind, flag, site, party
            self._n_ident[n], self._n_holder[n] = ident, holder
            self._n_out[n] = self._n_in[n] = -1
        else:
            n = len(self._n_kind)
            self._n_kind.append(kind)
            self._n_flag.append(flag)
            self._n_site.append(site)
            self._n_party.append(party)
            self._n_ident.append(ident)
            self._n_holder.append(holder)
            self._n_out.append(-1)
            self._n_in.append(-1)
        if key is not None:
            self._ph_node[key] = n
            self._ph_key[n] = key
        lst = self._ident_nodes.get(ident)
        if lst is None:
            self._ident_nodes[ident] = array("q", (n,))
        else:
            lst.append(n)
        return n

    def _find(self, kind: int, holder: str, ident) -> int | None:
        """The node (not a placeholder) of this kind holding ``ident`` at ``holder``, if there is one."""
        for n in self._ident_nodes.get(ident, ()):
            if self._n_kind[n] == kind and not self._n_flag[n] and self._n_holder[n] == holder:
                return n
        return None

    def _free_placeholder(self, n: int) -> None:
        """A pending placeholder whose counterpart arrived: forget it and recycle its slot."""
        key = self._ph_key.pop(n, None)
        if key is not None:
            self._ph_node.pop(key, None)
        lst = self._ident_nodes.get(self._n_ident[n])
        if lst is not None:
            try:
                lst.remove(n)
            except ValueError:
                pass
            if not lst:
                del self._ident_nodes[self._n_ident[n]]
        self._n_flag[n] = N_DEAD
        self._n_out[n] = self._n_in[n] = -1
        self._n_site[n] = self._n_party[n] = self._n_ident[n] = self._n_holder[n] = None
        self._summary_cache.pop(n, None)
        self._n_parties_seen.pop(n, None)
        self._attach.pop(n, None)
        self._free.append(n)

    def _placeholder(self, kind, seq, ident, site, party, flag) -> int:
        return self._node(kind, "", ident, site, party, flag, key=(kind, seq, ident, flag))

    def _edge(self, src: int, dst: int, kind: int, flag: int, ev1: int, ev2: int, q: float | None,
              lot: str | None = None, lazy: tuple | None = None) -> int:
        e = len(self._e_kind)
        self._e_src.append(src)
        self._e_dst.append(dst)
        self._e_kind.append(kind)
        self._e_flag.append(flag)
        self._e_ev1.append(ev1)
        self._e_ev2.append(ev2)
        self._e_q.append(NAN if q is None else q)
        self._e_lot.append(lot)
        if lazy is not None:
            self._e_lazy[e] = lazy
        if src >= 0:
            self._e_next_out.append(self._n_out[src])
            self._n_out[src] = e
        else:
            self._e_next_out.append(-1)
        if dst >= 0:
            self._e_next_in.append(self._n_in[dst])
            self._n_in[dst] = e
        else:
            self._e_next_in.append(-1)
        for ev in (ev1, ev2):
            if ev >= 0:
                self._index_btx(e, ev)
        return e

    def _index_btx(self, e: int, ev: int) -> None:
        if self._btx_edges is not None:
            self._add_btx_seeds(self._btx_edges, e, ev)

    def _add_btx_seeds(self, seeds: dict, e: int, ev: int) -> None:
        for b in self._btx_of(ev):
            cur = seeds.get(b)
            if cur is None:
                seeds[b] = e
            elif isinstance(cur, list):
                if cur[-1] != e:
                    cur.append(e)
            elif cur != e:
                seeds[b] = [cur, e]

    def _btx_seeds(self) -> dict:
        if self._btx_edges is None:
            seeds: dict = {}
            for e in range(len(self._e_kind)):
                for ev in (self._e_ev1[e], self._e_ev2[e]):
                    if ev >= 0:
                        self._add_btx_seeds(seeds, e, ev)
            self._btx_edges = seeds
        return self._btx_edges

    def _btx_of(self, ev: int) -> list[str]:
        return self._btx_flat[self._ev_btx_end[ev - 1] if ev else 0:self._ev_btx_end[ev]]

    def _unlink_out(self, n: int, e: int) -> None:
        prev, cur = -1, self._n_out[n]
        while cur != -1 and cur != e:
            prev, cur = cur, self._e_next_out[cur]
        if cur == -1:
            return
        if prev == -1:
            self._n_out[n] = self._e_next_out[e]
        else:
            self._e_next_out[prev] = self._e_next_out[e]

    def _unlink_in(self, n: int, e: int) -> None:
        prev, cur = -1, self._n_in[n]
        while cur != -1 and cur != e:
            prev, cur = cur, self._e_next_in[cur]
        if cur == -1:
            return
        if prev == -1:
            self._n_in[n] = self._e_next_in[e]
        else:
            self._e_next_in[prev] = self._e_next_in[e]

    def _timeline(self, c: str, t: float, seq: int, op: int, a=None, b=None) -> None:
        ops = self._ctl.get(c)
        item = (t, seq, op, a, b)
        if ops is None:
            self._ctl[c] = [item]
        elif ops[-1][:2] <= (t, seq):
            ops.append(item)
        else:
            insort(ops, item)

    def _register_lot_container(self, lot: str, n: int) -> None:
        s = self._lot_containers.get(lot)
        if s is None:
            self._lot_containers[lot] = {n}
        else:
            s.add(n)

    def _attach_event(self, n: int, seq: int) -> None:
        lst = self._attach.get(n)
        if lst is None:
            self._attach[n] = [seq]
        elif lst[-1] != seq:
            lst.append(seq)

    # event handlers ------------------------------------------------------------------------------------------------
    def _items(self, seq, epcs, quantities):
        for epc in epcs:
            yield K_CONTAINER, epc, None
        for q in quantities:
            cls = q[0]
            yield K_LOT, cls, self._kg(seq, cls, q[1] if len(q) > 1 else None, q[2] if len(q) > 2 else None)

    def _add_ship(self, e, seq, t, btx, btx_map, src_map, dst_map, disp):
        site = self._site(_first(src_map, "location") or e.read_point or e.biz_location)
        party = _first(src_map, "owning_party", "possessing_party")
        self._learn(site, _first(src_map, "owning_party"))
        holder = self._holder_key(site, party)
        match_party = party or (self.site_party.get(site) or self._site_owner.get(site) if site else None)
        dparty = _first(dst_map, "owning_party", "possessing_party")
        dsite = self._site(_first(dst_map, "location"))
        export = self._is_export(e, btx_map, dst_map)
        flag = (F_EXPORT if export else 0) | (F_RETURN if disp in RETURN_DISPOSITIONS else 0)
        for kind, ident, kg in self._items(seq, e.epc_list, e.quantities):
            src = self._node(kind, holder, ident, site, party)
            lazy = (ident, t, seq, None) if kind == K_CONTAINER else None
            lot = ident if kind == K_LOT else None
            if export:
                dst = self._placeholder(kind, seq, ident, dsite, dparty, N_EXPORT)
                self._edge(src, dst, SHIP, flag, seq, -1, kg, lot, lazy)
                continue
            entry = self._match(self._pend_recv, ident, btx, match_party, dparty)
            if entry is not None:
                edge = entry[0]
                old = self._e_src[edge]
                self._unlink_out(old, edge)
                self._free_placeholder(old)
                self._e_src[edge] = src
                self._e_next_out[edge] = self._n_out[src]
                self._n_out[src] = edge
                self._e_ev1[edge] = seq
                self._e_flag[edge] |= flag
                if kind == K_LOT:
                    received = self._e_q[edge]
                    received = None if math.isnan(received) else received
                    if not _same(received, kg):
                        self._e_qin[edge] = received
                    self._e_q[edge] = NAN if kg is None else kg
                else:
                    self._e_lazy[edge] = lazy
                self._index_btx(edge, seq)
            else:
                dst = self._placeholder(kind, seq, ident, dsite, dparty, N_PEND_SHIP)
                edge = self._edge(src, dst, SHIP, flag, seq, -1, kg, lot, lazy)
                self._pend(self._pend_ship, (edge, ident, btx, match_party, dparty))

    def _add_receive(self, e, seq, t, btx, btx_map, src_map, dst_map, disp):
        site = self._site(_first(dst_map, "location") or e.biz_location or e.read_point)
        party = _first(dst_map, "owning_party", "possessing_party")
        self._learn(site, _first(dst_map, "owning_party"))
        holder = self._holder_key(site, party)
        match_party = party or (self.site_party.get(site) or self._site_owner.get(site) if site else None)
        sparty = _first(src_map, "owning_party", "possessing_party")
        ssite = self._site(_first(src_map, "location"))
        imported = self._is_import(e, btx_map, src_map)
        flag = (F_IMPORT if imported else 0) | (F_RETURN if disp in RETURN_DISPOSITIONS else 0)
        for kind, ident, kg in self._items(seq, e.epc_list, e.quantities):
            dst = self._node(kind, holder, ident, site, party)
            lot = ident if kind == K_LOT else None
            lazy = (ident, t, seq, None) if kind == K_CONTAINER else None
            if imported:
                self._edge(-1, dst, SOURCE, flag, seq, -1, kg, lot, lazy)
                continue
            entry = self._match(self._pend_ship, ident, btx, sparty, match_party)
            if entry is not None:
                edge = entry[0]
                old = self._e_dst[edge]
                self._unlink_in(old, edge)
                self._free_placeholder(old)
                self._e_dst[edge] = dst
                self._e_next_in[edge] = self._n_in[dst]
                self._n_in[dst] = edge
                self._e_ev2[edge] = seq
                self._e_flag[edge] |= flag
                if kind == K_LOT:
                    shipped = self._e_q[edge]
                    if not _same(None if math.isnan(shipped) else shipped, kg):
                        self._e_qin[edge] = kg
                self._index_btx(edge, seq)
            else:
                src = self._placeholder(kind, seq, ident, ssite, sparty, N_PEND_RECV)
                edge = self._edge(src, dst, SHIP, flag, -1, seq, kg, lot, lazy)
                self._pend(self._pend_recv, (edge, ident, btx, sparty, match_party))

    def _pend(self, table, entry) -> None:
        ident, btx = entry[1], entry[2]
        for b in btx or ():
            table.setdefault(("b", ident, b), []).append(entry)
        table.setdefault(("i", ident), []).append(entry)

    def _match(self, table, ident, btx, ps, pd):
        """The first pending entry for ``ident`` sharing a bizTransaction id with compatible parties, else with the
        same (known) source and destination parties; removed from every list it is in."""
        found = None
        for b in btx or ():
            for entry in table.get(("b", ident, b), ()):
                if _compatible(entry[3], ps) and _compatible(entry[4], pd):
                    found = entry
                    break
            if found is not None:
                break
        if found is None and ps and pd:
            for entry in table.get(("i", ident), ()):
                if entry[3] == ps and entry[4] == pd:
                    found = entry
                    break
        if found is None:
            return None
        for b in found[2] or ():
            self._drop(table, ("b", ident, b), found)
        self._drop(table, ("i", ident), found)
        return found

    @staticmethod
    def _drop(table, key, entry):
        lst = table.get(key)
        if lst is not None:
            try:
                lst.remove(entry)
            except ValueError:
                pass
            if not lst:
                del table[key]

    def _add_source(self, e, seq, t, src_map, dst_map):
        holder, site, party = self._generic_holder(e, src_map, dst_map)
        epcs, qs = e.epc_list, e.quantities
        if epcs and qs:                                   # new objects filled with the quantities
            share = 1.0 / len(epcs)
            for epc in epcs:
                cn = self._node(K_CONTAINER, holder, epc, site, party)
                for q in qs:
                    cls = q[0]
                    kg = self._kg(seq, cls, q[1] if len(q) > 1 else None, q[2] if len(q) > 2 else None)
                    kg = None if kg is None else kg * share
                    self._edge(-1, cn, SOURCE, 0, seq, -1, kg, cls)
                    self._timeline(epc, t, seq, OP_QTY, cls, kg)
                    self._register_lot_container(cls, cn)
            return
        for kind, ident, kg in self._items(seq, (), qs):
            n = self._node(K_LOT, holder, ident, site, party)
            self._edge(-1, n, SOURCE, 0, seq, -1, kg, ident)
        for epc in epcs:                                  # an object commissioned with unknown contents
            self._attach_event(self._node(K_CONTAINER, holder, epc, site, party), seq)

    def _add_sink(self, e, seq, t, src_map, dst_map, flag):
        holder, site, party = self._generic_holder(e, src_map, dst_map)
        for kind, ident, kg in self._items(seq, e.epc_list, e.quantities):
            n = self._node(kind, holder, ident, site, party)
            if kind == K_CONTAINER:
                self._edge(n, -1, SINK, flag, seq, -1, None, None, (ident, t, seq, None))
                self._timeline(ident, t, seq, OP_CLEAR)
            else:
                self._edge(n, -1, SINK, flag, seq, -1, kg, ident)

    def _add_observe(self, e, seq, t, src_map, dst_map, is_count):
        holder, site, party = self._generic_holder(e, src_map, dst_map)
        for kind, ident, kg in self._items(seq, e.epc_list, e.quantities):
            n = self._node(kind, holder, ident, site, party)
            self._attach_event(n, seq)
            if is_count:
                self._counts.append((n, seq, ident if kind == K_LOT else None, kg))

    def _add_aggregation(self, e, seq, t, src_map, dst_map):
        holder, site, party = self._generic_holder(e, src_map, dst_map)
        parent = e.parent_id
        if not parent:
            for c in e.child_epcs:
                self._attach_event(self._node(K_CONTAINER, holder, c, site, party), seq)
            return
        pn = self._node(K_CONTAINER, holder, parent, site, party)
        if e.action == ADD:
            for c in e.child_epcs:
                cn = self._node(K_CONTAINER, holder, c, site, party)
                self._edge(cn, pn, PACK, 0, seq, -1, None, None, (c, t, seq, None))
                self._timeline(parent, t, seq, OP_CHILD_IN, c)
            for kind, ident, kg in self._items(seq, (), e.quantities):
                ln = self._node(K_LOT, holder, ident, site, party)
                self._edge(ln, pn, PACK, 0, seq, -1, kg, ident)   # the lot node stays upstream: no seed entry
                self._timeline(parent, t, seq, OP_QTY, ident, kg)
        elif e.action == DELETE:
            children, qs = list(e.child_epcs), list(e.quantities)
            loose_all = ()
            if not children and not qs:               # "unpack all": the children known now
                loose, kids, _ = self._replay(parent, t, seq)
                children, loose_all = list(kids), list(loose)
            for c in children:
                cn = self._node(K_CONTAINER, holder, c, site, party)
                self._edge(pn, cn, UNPACK, 0, seq, -1, None, None, (c, t, seq, None))
                self._timeline(parent, t, seq, OP_CHILD_OUT, c)
            for kind, ident, kg in self._items(seq, (), qs):
                ln = self._node(K_LOT, holder, ident, site, party)
                self._edge(pn, ln, UNPACK, 0, seq, -1, kg, ident)
                self._timeline(parent, t, seq, OP_QTY, ident, None if kg is None else -kg)
            for lot in loose_all:
                ln = self._node(K_LOT, holder, lot, site, party)
                self._edge(pn, ln, UNPACK, 0, seq, -1, None, lot, (parent, t, seq, lot))
            if loose_all:
                self._timeline(parent, t, seq, OP_CLEAR_LOOSE)
        else:
            self._attach_event(pn, seq)
            for c in e.child_epcs:
                self._attach_event(self._node(K_CONTAINER, holder, c, site, party), seq)

    def _add_transformation(self, e, seq, t, src_map, dst_map):
        holder, site, party = self._generic_holder(e, src_map, dst_map)
        tid = e.transformation_id or ("event:" + e.event_id)
        tn = self._node(K_TRANSFORMATION, "", tid, site, party)
        for c in e.input_epcs:
            cn = self._node(K_CONTAINER, holder, c, site, party)
            self._edge(cn, tn, T_IN, 0, seq, -1, None, None, (c, t, seq, None))
            self._timeline(c, t, seq, OP_CLEAR)
        for kind, ident, kg in self._items(seq, (), e.input_quantities):
            ln = self._node(K_LOT, holder, ident, site, party)
            self._edge(ln, tn, T_IN, 0, seq, -1, kg, ident)
        outs, oqs = e.output_epcs, e.output_quantities
        if outs and oqs:
            share = 1.0 / len(outs)
            for epc in outs:
                cn = self._node(K_CONTAINER, holder, epc, site, party)
                for q in oqs:
                    cls = q[0]
                    kg = self._kg(seq, cls, q[1] if len(q) > 1 else None, q[2] if len(q) > 2 else None)
                    kg = None if kg is None else kg * share
                    self._edge(tn, cn, T_OUT, 0, seq, -1, kg, cls)
                    self._timeline(epc, t, seq, OP_QTY, cls, kg)
                    self._register_lot_container(cls, cn)
        else:
            for kind, ident, kg in self._items(seq, (), oqs):
                ln = self._node(K_LOT, holder, ident, site, party)
                self._edge(tn, ln, T_OUT, 0, seq, -1, kg, ident)
            for epc in outs:
                cn = self._node(K_CONTAINER, holder, epc, site, party)
                self._ev_flags.setdefault(seq, []).append(f"{epc}: output object without a quantity")
                self._edge(tn, cn, T_OUT, 0, seq, -1, None, None)

    def _add_txn(self, e, seq, btx, src_map, dst_map):
        idents = list(e.epc_list) + [q[0] for q in e.quantities] + list(e.child_epcs)
        if e.parent_id:
            idents.append(e.parent_id)
        parties = {p for m in (src_map, dst_map) for k in ("owning_party", "possessing_party") for p in m.get(k, ())}
        self._txn[seq] = (tuple(idents), frozenset(parties))
        for i in idents:
            self._ident_txn.setdefault(i, []).append(seq)
        for b in btx or ():
            self._btx_txn.setdefault(b, []).append(seq)

    # --- container contents -----------------------------------------------------------------------------------------
    def _replay(self, c: str, t: float, seq: int):
        loose: dict = {}
        kids: dict = {}
        unknown = False
        for (ot, oseq, op, a, b) in self._ctl.get(c, ()):
            if (ot, oseq) >= (t, seq):
                break
            if op == OP_QTY:
                if b is None:
                    unknown = True
                else:
                    loose[a] = loose.get(a, 0.0) + b
            elif op == OP_CHILD_IN:
                kids[a] = None
            elif op == OP_CHILD_OUT:
                kids.pop(a, None)
            elif op == OP_CLEAR:
                loose.clear()
                kids.clear()
            elif op == OP_CLEAR_LOOSE:
                loose.clear()
        return loose, kids, unknown

    def contents(self, container: str, t: float, seq: int = -1, _depth: int = 0) -> tuple[dict, bool]:
        """(lot → kg, unknown) inside ``container`` just before event ``seq`` at time ``t`` (children included)."""
        key = (container, t, seq)
        hit = self._contents_cache.get(key)
        if hit is not None:
            return hit
        loose, kids, unknown = self._replay(container, t, seq)
        out = dict(loose)
        if _depth < 16:
            for k in kids:
                sub, u = self.contents(k, t, seq, _depth + 1)
                unknown = unknown or u
                for lot, kg in sub.items():
                    out[lot] = out.get(lot, 0.0) + kg
        res = ({k: v for k, v in out.items() if abs(v) > 1e-12}, unknown)
        self._contents_cache[key] = res
        return res

    def edge_lots(self, e: int, received: bool = False) -> tuple[dict, bool]:
        """(lot → kg, unknown) moved by edge ``e``: as charged to its source, or as credited to its target."""
        lazy = self._e_lazy.get(e)
        if lazy is not None:
            c, t, s, lot = lazy
            d, unknown = self.contents(c, t, s)
            if lot is not None:
                d = {lot: d[lot]} if lot in d else {}
            if not d and not unknown and c not in self._ctl:
                unknown = True                            # an object whose contents were never declared
            return d, unknown
        q = self._e_q[e]
        if received and e in self._e_qin:
            q = self._e_qin[e]
            q = NAN if q is None else q
        if math.isnan(q):
            return {}, True
        return {self._e_lot[e]: q}, False

    def edge_kg(self, e: int, received: bool = False) -> float | None:
        d, unknown = self.edge_lots(e, received)
        return None if unknown and not d else sum(d.values())

    # --- times ------------------------------------------------------------------------------------------------------
    def _t1(self, e: int) -> float:
        ev = self._e_ev1[e]
        return self._ev_t[ev if ev >= 0 else self._e_ev2[e]]

    def _t2(self, e: int) -> float:
        ev = self._e_ev2[e]
        return self._ev_t[ev if ev >= 0 else self._e_ev1[e]]

    # --- parties ----------------------------------------------------------------------------------------------------
    def party_of(self, n: int) -> str | None:
        p = self._n_party[n]
        if p:
            return p
        s = self._n_site[n]
        if s:
            return self.site_party.get(s) or self._site_owner.get(s) or s
        return None

    def node_site(self, n: int) -> str | None:
        return self._n_site[n]

    def node_ident(self, n: int) -> str | None:
        return self._n_ident[n]

    def _is_placeholder(self, n: int) -> bool:
        return bool(self._n_flag[n] & (N_PEND_SHIP | N_PEND_RECV | N_EXPORT))

    def node_id(self, n: int) -> str:
        kind, flag, ident = self._n_kind[n], self._n_flag[n], self._n_ident[n]
        if kind == K_TRANSFORMATION:
            return f"transformation|{ident}"
        word = "lot" if kind == K_LOT else "container"
        if flag & (N_PEND_SHIP | N_PEND_RECV | N_EXPORT):
            e = self._n_in[n] if flag & (N_PEND_SHIP | N_EXPORT) else self._n_out[n]
            ev = self._e_ev1[e] if flag & (N_PEND_SHIP | N_EXPORT) else self._e_ev2[e]
            what = "export" if flag & N_EXPORT else ("unreceived" if flag & N_PEND_SHIP else "unshipped")
            return f"{what}|{self._ev_id[ev]}|{ident}"
        holder = self._n_site[n] or ("party:" + (self._n_party[n] or "?"))
        return f"{word}|{holder}|{ident}"

    # --- seeds ------------------------------------------------------------------------------------------------------
    def resolve_seed(self, seed: str, kind: str | None = None) -> tuple[list[int], list[int]]:
        """(nodes, edges) named by ``seed``: an EPC or container id, an epc_class (lot), a bizTransaction id (waybill,
        bol, po…) or a transformation id. ``kind`` restricts to one of ``epc``, ``epc_class``,
        ``biz_transaction``."""
        nodes: list[int] = []
        edges: list[int] = []
        live = lambda n: not (self._n_flag[n] & N_DEAD)
        if kind in (None, "epc", "container", "epc_class", "lot", "transformation"):
            for n in self._ident_nodes.get(seed, ()):
                k = self._n_kind[n]
                if not live(n):
                    continue
                if kind in ("epc", "container") and k != K_CONTAINER:
                    continue
                if kind in ("epc_class", "lot") and k != K_LOT:
                    continue
                if kind == "transformation" and k != K_TRANSFORMATION:
                    continue
                nodes.append(n)
            if kind in (None, "epc_class", "lot"):
                nodes.extend(n for n in sorted(self._lot_containers.get(seed, ())) if live(n))
        if kind in (None, "biz_transaction", "waybill"):
            cur = self._btx_seeds().get(seed)
            if cur is not None:
                edges.extend(cur if isinstance(cur, list) else [cur])
            for seq in self._btx_txn.get(seed, ()):
                idents, parties = self._txn[seq]
                for ident in idents:
                    for n in self._ident_nodes.get(ident, ()):
                        if live(n) and (not parties or self.party_of(n) in parties):
                            nodes.append(n)
        return list(dict.fromkeys(nodes)), list(dict.fromkeys(edges))

    # --- walking ----------------------------------------------------------------------------------------------------
    def _steps(self, n: int, st: tuple, bound: float, back: bool, timed: bool, focus: bool):
        kinds, idents, nkinds = self._e_kind, self._n_ident, self._n_kind
        if back:
            e = self._n_in[n]
            nxt, other = self._e_next_in, self._e_src
        else:
            e = self._n_out[n]
            nxt, other = self._e_next_out, self._e_dst
        while e != -1:
            k = kinds[e]
            m = other[e]
            if m < 0:
                e = nxt[e]
                continue
            if back:
                if timed:
                    if self._t2(e) > bound:
                        e = nxt[e]
                        continue
                    nb = self._t1(e)
                else:
                    nb = bound
                if k == PACK:                             # child → this parent
                    if st:
                        if not (focus and nkinds[m] == K_CONTAINER and idents[m] == st[-1]):
                            e = nxt[e]
                            continue
                        st2 = st[:-1]
                    else:
                        st2 = ()
                elif k == UNPACK:                         # parent → this child
                    st2 = (st + (idents[n],))[-MAX_FOCUS:] if focus and nkinds[n] == K_CONTAINER else st
                elif k == SHIP:
                    st2 = st
                else:
                    st2 = ()
            else:
                if timed:
                    if self._t1(e) < bound:
                        e = nxt[e]
                        continue
                    nb = self._t2(e)
                else:
                    nb = bound
                if k == UNPACK:                           # this parent → child
                    if st:
                        if not (focus and nkinds[m] == K_CONTAINER and idents[m] == st[-1]):
                            e = nxt[e]
                            continue
                        st2 = st[:-1]
                    else:
                        st2 = ()
                elif k == PACK:                           # this child → parent
                    st2 = (st + (idents[n],))[-MAX_FOCUS:] if focus and nkinds[n] == K_CONTAINER else st
                elif k == SHIP:
                    st2 = st
                else:
                    st2 = ()
            yield e, m, st2, nb
            e = nxt[e]

    def walk(self, starts: Sequence[tuple], back: bool, max_hops: int, *, time_respecting: bool = True,
             focus: bool = True) -> tuple[dict[int, int], list[int], bool]:
        """Breadth-first walk from ``starts`` = [(node, focus_stack, time_bound)]. Returns (node → hop, edges
        traversed, truncated)."""
        best: dict[tuple, float] = {}
        hop_of: dict[int, int] = {}
        used: dict[int, None] = {}
        frontier = []
        for n, st, b in starts:
            key = (n, st)
            old = best.get(key)
            if old is not None and not _better(b, old, back):
                continue
            best[key] = b
            hop_of.setdefault(n, 0)
            frontier.append((n, st, b))
        hop = 0
        truncated = False
        while frontier:
            if hop >= max_hops:
                truncated = any(True for n, st, b in frontier
                                for _ in self._steps(n, st, b, back, time_respecting, focus))
                break
            hop += 1
            nxt = []
            for n, st, b in frontier:
                for e, m, st2, nb in self._steps(n, st, b, back, time_respecting, focus):
                    key = (m, st2)
                    old = best.get(key)
                    if old is not None and (not time_respecting or not _better(nb, old, back)):
                        used.setdefault(e)
                        continue
                    best[key] = nb
                    used.setdefault(e)
                    if m not in hop_of:
                        hop_of[m] = hop
                    nxt.append((m, st2, nb))
            frontier = nxt
        return hop_of, list(used), truncated

    # --- summaries --------------------------------------------------------------------------------------------------
    def node_summary(self, n: int, tz=CST) -> dict:
        """The node as reported: quantities over all its flows (kg), times, permits, events, gaps, roles."""
        hit = self._summary_cache.get(n)
        if hit is not None and hit.get("_tz") is tz:
            return hit
        q_in = q_out = 0.0
        unknown_flows = 0
        evs: dict[int, None] = {}
        sources: dict[str, float] = {}
        sinks: dict[str, float] = {}
        gaps: list[dict] = []
        roles: set[str] = set()
        lots: dict[str, float] = {}
        flag = self._n_flag[n]
        e = self._n_in[n]
        while e != -1:
            d, unknown = self.edge_lots(e, received=True)
            kg = sum(d.values())
            if unknown:
                unknown_flows += 1
            q_in += kg
            for lot, v in d.items():
                lots[lot] = lots.get(lot, 0.0) + v
            k, ef = self._e_kind[e], self._e_flag[e]
            for ev in (self._e_ev1[e], self._e_ev2[e]):
                if ev >= 0:
                    evs[ev] = None
            if k == SOURCE:
                reason = "import" if ef & F_IMPORT else "production"
                sources[reason] = sources.get(reason, 0.0) + kg
                roles.add("importer" if ef & F_IMPORT else "producer")
            elif k == SHIP:
                src = self._e_src[e]
                if self._n_flag[src] & N_PEND_RECV:
                    gaps.append(self._gap("received_without_shipping", e, kg, tz))
                elif e in self._e_qin:
                    shipped = self.edge_kg(e)
                    gaps.append(dict(self._gap("received_quantity_differs", e, kg, tz), quantity_shipped=_r(shipped)))
                if ef & F_RETURN:
                    roles.add("return_receiver")
            elif k == T_OUT:
                roles.add("producer")
            e = self._e_next_in[e]
        e = self._n_out[n]
        while e != -1:
            d, unknown = self.edge_lots(e)
            kg = sum(d.values())
            if unknown:
                unknown_flows += 1
            q_out += kg
            if self._n_kind[n] != K_LOT:
                for lot, v in d.items():
                    lots.setdefault(lot, 0.0)
            k, ef = self._e_kind[e], self._e_flag[e]
            for ev in (self._e_ev1[e], self._e_ev2[e]):
                if ev >= 0:
                    evs[ev] = None
            if k == SINK:
                reason = "loss" if ef & F_LOSS else "destruction"
                sinks[reason] = sinks.get(reason, 0.0) + kg
            elif k == SHIP:
                if ef & F_EXPORT:
                    roles.add("exporter")
                elif self._n_flag[self._e_dst[e]] & N_PEND_SHIP:
                    gaps.append(self._gap("shipped_not_received", e, kg, tz))
            elif k == T_IN:
                roles.add("consumer")
            e = self._e_next_out[e]
        if flag & N_EXPORT:                                # the quantity left the country: accounted for
            sinks["export"] = q_in
            q_out += q_in
            roles.add("export_consignee")
        if flag & N_PEND_SHIP:
            e = self._n_in[n]
            gaps.append(self._gap("shipped_not_received", e, self.edge_kg(e) or 0.0, tz))
        if flag & N_PEND_RECV:
            e = self._n_out[n]
            gaps.append(self._gap("received_without_shipping", e, self.edge_kg(e, True) or 0.0, tz))
        for seq in self._attach.get(n, ()):
            evs[seq] = None
        ident = self._n_ident[n]
        party = self.party_of(n)
        for seq in self._ident_txn.get(ident, ()):
            parties = self._txn[seq][1]
            if not parties or party in parties:
                evs[seq] = None
        flags = sorted({f for ev in evs for f in self._ev_flags.get(ev, ())})
        if unknown_flows and not flags:
            flags = ["quantity unknown for an object without declared contents"]
        times = [self._ev_t[ev] for ev in evs]
        permits = sorted({self._ev_permit[ev] for ev in evs if self._ev_permit[ev]})
        kind = self._n_kind[n]
        lot = ident if kind == K_LOT else (next(iter(lots)) if len(lots) == 1 else None)
        out = {
            "id": self.node_id(n),
            "kind": KIND_NAMES[kind],
            "party": party,
            "site": self._n_site[n],
            "lot": lot,
            "quantity": _r(q_in),
            "quantity_in": _r(q_in),
            "quantity_out": _r(q_out),
            "unaccounted": _r(q_in - q_out),
            "unit": "kg",
            "complete": unknown_flows == 0,
            "flags": flags,
            "first_time": _iso(min(times), tz) if times else None,
            "last_time": _iso(max(times), tz) if times else None,
            "permits": permits,
            "event_ids": [self._ev_id[ev] for ev in sorted(evs, key=lambda s: (self._ev_t[s], s))],
            "gaps": gaps,
            "roles": sorted(roles),
            "sources": {k: _r(v) for k, v in sources.items()},
            "sinks": {k: _r(v) for k, v in sinks.items()},
        }
        if kind == K_CONTAINER:
            out["container"] = ident
            out["lots"] = sorted(lots)
        elif kind == K_TRANSFORMATION:
            out["transformation_id"] = ident
        if n in self._n_parties_seen:
            out["parties_seen"] = sorted(self._n_parties_seen[n])
        out["_tz"] = tz
        self._summary_cache[n] = out
        return out

    def _gap(self, kind: str, e: int, kg: float, tz) -> dict:
        ev = self._e_ev1[e] if kind == "shipped_not_received" else self._e_ev2[e]
        if ev < 0:
            ev = self._e_ev1[e] if self._e_ev1[e] >= 0 else self._e_ev2[e]
        other = self._e_dst[e] if kind == "shipped_not_received" else self._e_src[e]
        return {"gap": kind, "event_id": self._ev_id[ev], "time": _iso(self._ev_t[ev], tz), "quantity": _r(kg),
                "counterparty": self.party_of(other) if other >= 0 else None,
                "biz_transactions": list(self._btx_of(ev))}

    def edge_summary(self, e: int, tz=CST) -> dict:
        d, unknown = self.edge_lots(e)
        kg = None if unknown and not d else _r(sum(d.values()))
        evs = [ev for ev in (self._e_ev1[e], self._e_ev2[e]) if ev >= 0]
        btx: dict[str, None] = {}
        for ev in evs:
            for b in self._btx_of(ev):
                btx[b] = None
        k, ef = self._e_kind[e], self._e_flag[e]
        out = {
            "source": self.node_id(self._e_src[e]),
            "target": self.node_id(self._e_dst[e]),
            "kind": "export" if (k == SHIP and ef & F_EXPORT) else EDGE_KIND_NAMES[k],
            "quantity": kg,
            "lots": {lot: _r(v) for lot, v in d.items()},
            "complete": not unknown,
            "event_ids": [self._ev_id[ev] for ev in evs],
            "biz_transactions": list(btx),
            "permits": sorted({self._ev_permit[ev] for ev in evs if self._ev_permit[ev]}),
            "time": _iso(self._t1(e), tz),
        }
        if k == SHIP:
            out["time_received"] = _iso(self._ev_t[self._e_ev2[e]], tz) if self._e_ev2[e] >= 0 else None
            if e in self._e_qin:
                q = self._e_qin[e]
                out["quantity_received"] = None if q is None else _r(q)
            if ef & F_RETURN:
                out["return"] = True
        return out

    # --- flows for the ledger ---------------------------------------------------------------------------------------
    def flows(self) -> Iterator[tuple]:
        """Every stock movement across a (party, site) boundary, for the 台账:
        ``(node, seq, direction 'in'|'out', reason, lot, kg|None, counterparty)``. Packing/unpacking (same holder) is
        not a movement; shipping counts out at the shipping event and in at the receiving event."""
        for e in range(len(self._e_kind)):
            k = self._e_kind[e]
            if k == PACK or k == UNPACK:
                continue
            src, dst, ef = self._e_src[e], self._e_dst[e], self._e_flag[e]
            if k == SHIP:
                sp = self.party_of(src)
                dp = self.party_of(dst)
                same = sp is not None and sp == dp
                if self._e_ev1[e] >= 0 and not self._is_placeholder(src):
                    reason = "export" if ef & F_EXPORT else "return" if ef & F_RETURN else \
                        "transfer" if same else "sale"
                    yield from self._lot_flows(e, src, self._e_ev1[e], "out", reason, dp, False)
                if self._e_ev2[e] >= 0 and not self._is_placeholder(dst):
                    reason = "return" if ef & F_RETURN else "transfer" if same else "purchase"
                    yield from self._lot_flows(e, dst, self._e_ev2[e], "in", reason, sp, True)
            elif k == SOURCE:
                yield from self._lot_flows(e, dst, self._e_ev1[e], "in",
                                           "import" if ef & F_IMPORT else "production", None, True)
            elif k == SINK:
                yield from self._lot_flows(e, src, self._e_ev1[e], "out",
                                           "loss" if ef & F_LOSS else "destruction", None, False)
            elif k == T_IN:
                yield from self._lot_flows(e, src, self._e_ev1[e], "out", "consumption", None, False)
            elif k == T_OUT:
                yield from self._lot_flows(e, dst, self._e_ev1[e], "in", "production", None, True)

    def _lot_flows(self, e, node, seq, direction, reason, counterparty, received):
        d, unknown = self.edge_lots(e, received)
        if self._n_kind[node] == K_LOT and not d:
            d = {self._n_ident[node]: None}
        elif unknown and not d:
            d = {None: None}
        for lot, kg in d.items():
            yield node, seq, direction, reason, lot, kg, counterparty

    def stock_counts(self) -> Iterator[tuple]:
        """Stock observations from cycle_counting / inspecting events: ``(node, seq, lot, kg|None)``; a counted
        container yields one row per lot inside it."""
        for n, seq, lot, kg in self._counts:
            if lot is not None:
                yield n, seq, lot, kg
            else:
                d, unknown = self.contents(self._n_ident[n], self._ev_t[seq], seq)
                for l2, v in d.items():
                    yield n, seq, l2, v
                if unknown and not d:
                    yield n, seq, None, None

    def event_info(self, seq: int) -> tuple[str, float, str | None]:
        return self._ev_id[seq], self._ev_t[seq], self._ev_permit[seq]

    def event_flags(self, seq: int) -> list[str]:
        return list(self._ev_flags.get(seq, ()))


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _compatible(a, b) -> bool:
    return a is None or b is None or a == b


def _better(new: float, old: float, back: bool) -> bool:
    return new > old if back else new < old


def _r(x: float | None) -> float | None:
    if x is None:
        return None
    v = round(x, 6)
    return 0.0 if v == 0 else v


def _iso(ts: float, tz=CST) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat()


def _country(m: dict) -> str | None:
    for k in COUNTRY_KEYS:
        v = m.get(k)
        if v:
            return str(v[0]).upper()
    return None


def _default_is_export(e: TraceEvent, btx_map: dict, dst_map: dict) -> bool:
    c = _country(dst_map)
    if c and c != HOME_COUNTRY:
        return True
    return any(k in EXPORT_TXN_TYPES for k in btx_map)


def _default_is_import(e: TraceEvent, btx_map: dict, src_map: dict) -> bool:
    c = _country(src_map)
    if c and c != HOME_COUNTRY:
        return True
    return any(k in IMPORT_TXN_TYPES for k in btx_map)


def build_index(events: Iterable[TraceEvent], **kwargs) -> LineageIndex:
    return LineageIndex(events, **kwargs)


# --- public trace API -------------------------------------------------------------------------------------------

def _trace(index: LineageIndex, seed: str, back: bool, max_hops: int, kind: str | None,
           at_party: str | None, time_respecting: bool, focus: bool, tz) -> dict:
    nodes, edges = index.resolve_seed(seed, kind)
    if at_party is not None:
        nodes = [n for n in nodes if index.party_of(n) == at_party]
        edges = [e for e in edges if index.party_of(index._e_dst[e] if back else index._e_src[e]) == at_party]
    inf = _INF if back else -_INF
    starts = [(n, (), inf) for n in nodes]
    seed_edges = []
    extra_nodes = []
    for e in edges:
        src, dst = index._e_src[e], index._e_dst[e]
        if back and src >= 0:
            starts.append((src, (), index._t1(e)))
        elif not back and dst >= 0:
            starts.append((dst, (), index._t2(e)))
        extra_nodes.extend(x for x in (src, dst) if x >= 0)
        if src >= 0 and dst >= 0:
            seed_edges.append(e)
    hop_of, used, truncated = index.walk(starts, back, max_hops, time_respecting=time_respecting, focus=focus)
    for x in extra_nodes:
        hop_of[x] = 0
    used = list(dict.fromkeys(seed_edges + used))
    out_nodes = []
    for n, h in sorted(hop_of.items(), key=lambda kv: (kv[1], kv[0])):
        s = dict(index.node_summary(n, tz))
        s.pop("_tz", None)
        s["hop"] = h
        out_nodes.append(s)
    return {
        "seed": seed,
        "direction": "back" if back else "forward",
        "max_hops": max_hops,
        "found": bool(nodes or edges),
        "truncated": truncated,
        "seeds": [index.node_id(n) for n in nodes] + [index.edge_summary(e, tz)["source"] for e in edges],
        "nodes": out_nodes,
        "edges": [index.edge_summary(e, tz) for e in used],
    }


def back_trace(index: LineageIndex, seed: str, max_hops: int = 50, *, kind: str | None = None,
               at_party: str | None = None, time_respecting: bool = True, focus: bool = True, tz=CST) -> dict:
    """来源倒查: from ``seed`` (EPC / container id, epc_class, waybill or other bizTransaction id, transformation id)
    back through shipping ← receiving, unpacking ← packing and transformation outputs ← inputs, up to the producers
    and importers. ``kind`` restricts how the seed is read (``epc``, ``epc_class``, ``biz_transaction``);
    ``at_party`` keeps only seed nodes held by that party. Returns ``{"nodes": [...], "edges": [...], ...}``."""
    return _trace(index, seed, True, max_hops, kind, at_party, time_respecting, focus, tz)


def forward_trace(index: LineageIndex, seed: str, max_hops: int = 50, *, kind: str | None = None,
                  at_party: str | None = None, time_respecting: bool = True, focus: bool = True, tz=CST) -> dict:
    """去向追溯: the mirror of :func:`back_trace`, down to end users, exports, consumption and destruction."""
    return _trace(index, seed, False, max_hops, kind, at_party, time_respecting, focus, tz)


# --- baseline: a plain recursive scan, no index ------------------------------------------------------------------

def _mentions(e: TraceEvent, x: str) -> bool:
    if x in e.epc_list or x == e.parent_id or x in e.child_epcs or x in e.output_epcs or x in e.input_epcs:
        return True
    for q in e.quantities:
        if q[0] == x:
            return True
    for q in e.output_quantities:
        if q[0] == x:
            return True
    for q in e.input_quantities:
        if q[0] == x:
            return True
    return False


def naive_back_trace(events: Sequence[TraceEvent], seed: str, max_hops: int = 10) -> set[str]:
    """Baseline for the benchmark: a plain recursive walk with no index. Each step scans the whole event list for
    the events naming an identifier (and scans again for the shipping event that matches a receiving one).
    Returns the event ids reached. Identity-level only (no per-site nodes, no quantities)."""
    seen_ids: set[str] = set()
    reached: set[str] = set()

    def btx_of(e):
        return {v for vs in _as_map(e.biz_transactions).values() for v in vs}

    def walk(x: str, hops: int) -> None:
        if hops > max_hops or x in seen_ids:
            return
        seen_ids.add(x)
        for e in events:
            if not _mentions(e, x):
                continue
            reached.add(e.event_id)
            if e.type == TRANSFORMATION_EVENT and (x in e.output_epcs or any(q[0] == x for q in e.output_quantities)):
                for i in list(e.input_epcs) + [q[0] for q in e.input_quantities]:
                    walk(i, hops + 1)
            elif e.type == AGGREGATION_EVENT and e.parent_id == x and e.action == ADD:
                for c in list(e.child_epcs) + [q[0] for q in e.quantities]:
                    walk(c, hops + 1)
            elif e.type == AGGREGATION_EVENT and x in e.child_epcs:
                walk(e.parent_id, hops + 1)
            elif _bare(e.biz_step) in RECEIVE_STEPS:
                ids = btx_of(e)
                for s in events:
                    if _bare(s.biz_step) in SHIP_STEPS and _mentions(s, x) and (ids & btx_of(s)):
                        reached.add(s.event_id)
    walk(seed, 0)
    return reached


# --- synthetic network and benchmark -----------------------------------------------------------------------------

def synthetic_events(n_events: int = 1_000_000, seed: int = 0, n_parties: int = 300, steps: int = 14,
                     chains_out: list | None = None) -> Iterator[TraceEvent]:
    """A synthetic supply network of about ``n_events`` events: chains of ``steps`` transfers each (shipping +
    receiving with a waybill and a permit), one lot commissioned by a producer, split shipments to side buyers (25%
    of transfers), a transformation into a new lot at transfer ``steps // 2``, drums (packed and later unpacked) on
    20% of chains, cycle counts, and 3% of side shipments never received. Appends (first_waybill, last_waybill,
    first_lot, last_lot) per chain to ``chains_out``."""
    rng = random.Random(seed)
    pg = [sys.intern(f"urn:epc:id:pgln:69{i:05d}.00001") for i in range(n_parties)]
    sg = [sys.intern(f"urn:epc:id:sgln:69{i:05d}.00001.0") for i in range(n_parties)]
    n_prod = max(1, n_parties // 30)
    src_of = [{"owning_party": pg[i], "location": sg[i]} for i in range(n_parties)]
    dst_of = src_of
    t0 = datetime(2025, 1, 1, tzinfo=CST)
    emitted = 0
    c = 0
    mid = steps // 2
    OE, AE, TE = OBJECT_EVENT, AGGREGATION_EVENT, TRANSFORMATION_EVENT

    def ev(kind, action, t, **kw):
        nonlocal emitted
        emitted += 1
        return TraceEvent(f"e{emitted}", kind, action, t, **kw)

    while emitted < n_events:
        c += 1
        t = t0 + timedelta(minutes=rng.randrange(0, 60 * 24 * 300))
        h = rng.randrange(n_prod)
        lot = f"urn:epc:class:lgtin:690000.{c:07d}.A"
        q = float(rng.choice((500, 1000, 2000)))
        yield ev(OE, ADD, t, biz_step="commissioning", quantities=((lot, q, "KGM"),), biz_location=sg[h])
        drums = ()
        if rng.random() < 0.2:
            drums = (f"urn:epc:id:sscc:690000.{c:07d}1", f"urn:epc:id:sscc:690000.{c:07d}2")
            for d in drums:
                t += timedelta(minutes=5)
                yield ev(AE, ADD, t, biz_step="packing", parent_id=d, quantities=((lot, q / 2, "KGM"),),
                         biz_location=sg[h])
        first_wb = last_wb = None
        first_lot = lot
        for step in range(steps):
            nxt = rng.randrange(n_prod, n_parties)
            if nxt == h:
                nxt = (nxt + 1 - n_prod) % (n_parties - n_prod) + n_prod
            wb = f"WB{c:07d}{step:02d}"
            btx = {"waybill": wb}
            permit = f"P{c:07d}{step:02d}"
            if drums:
                items = {"epc_list": drums}
            else:
                qs = round(q * rng.uniform(0.5, 0.9), 3)
                items = {"quantities": ((lot, qs, "KGM"),)}
            t += timedelta(hours=rng.randrange(1, 48))
            yield ev(OE, OBSERVE, t, biz_step="shipping", disposition="in_transit", source=src_of[h],
                     destination=dst_of[nxt], biz_transactions=btx, permit=permit, **items)
            t += timedelta(hours=rng.randrange(1, 72))
            yield ev(OE, OBSERVE, t, biz_step="receiving", disposition="in_progress", source=src_of[h],
                     destination=dst_of[nxt], biz_transactions=btx, biz_location=sg[nxt], **items)
            first_wb = first_wb or wb
            last_wb = wb
            if not drums:
                q = qs
                if rng.random() < 0.25:                       # split: part of the rest to a side buyer
                    side = rng.randrange(n_prod, n_parties)
                    sq = round(q * 0.1, 3)
                    swb = f"WS{c:07d}{step:02d}"
                    t2 = t + timedelta(hours=rng.randrange(1, 24))
                    yield ev(OE, OBSERVE, t2, biz_step="shipping", source=src_of[h], destination=dst_of[side],
                             biz_transactions={"waybill": swb}, quantities=((lot, sq, "KGM"),))
                    if rng.random() > 0.03:
                        yield ev(OE, OBSERVE, t2 + timedelta(hours=20), biz_step="receiving", source=src_of[h],
                                 destination=dst_of[side], biz_transactions={"waybill": swb},
                                 quantities=((lot, sq, "KGM"),), biz_location=sg[side])
            h = nxt
            if drums and step == 1:                           # decant the drums at the second buyer
                for d in drums:
                    t += timedelta(minutes=5)
                    yield ev(AE, DELETE, t, biz_step="unpacking", parent_id=d, biz_location=sg[h])
                drums = ()
            if step == mid:
                new_lot = f"urn:epc:class:lgtin:690000.{c:07d}.B"
                t += timedelta(hours=2)
                yield ev(TE, None, t, biz_step="transforming", input_quantities=((lot, q, "KGM"),),
                         output_quantities=((new_lot, round(q * 0.8, 3), "KGM"),), biz_location=sg[h])
                lot, q = new_lot, round(q * 0.8, 3)
            if rng.random() < 0.05:
                yield ev(OE, OBSERVE, t + timedelta(hours=1), biz_step="cycle_counting",
                         quantities=((lot, q, "KGM"),), biz_location=sg[h])
        if chains_out is not None:
            chains_out.append((first_wb, last_wb, first_lot, lot))


def _peak_rss_mb() -> float | None:
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    except (ImportError, AttributeError, OSError):       # pragma: no cover - not on Linux
        return None


def bench(n_events: int = 1_000_000, n_traces: int = 200, hops: int = 10, baseline_events: int = 20_000,
          baseline_traces: int = 10, seed: int = 1, out=print) -> dict:
    """Build the synthetic network (~``n_events``), time ``n_traces`` random ``hops``-hop back-traces (seed: a
    chain's last waybill) and as many forward-traces (seed: its first waybill), caches cleared before each; then the
    naive recursive scan on ``baseline_events`` events, extrapolated linearly to ``n_events``. Prints and returns
    the figures."""
    chains: list = []
    index = LineageIndex()
    batch: list = []
    build_s = 0.0
    for e in synthetic_events(n_events, seed=seed, chains_out=chains):
        batch.append(e)
        if len(batch) >= 20_000:
            t = _time.perf_counter()
            index.add(batch)
            build_s += _time.perf_counter() - t
            batch = []
    t = _time.perf_counter()
    index.add(batch)
    build_s += _time.perf_counter() - t
    rng = random.Random(seed + 1)
    picks = [rng.choice(chains) for _ in range(n_traces)]
    res = {}
    for label, back in (("back", True), ("forward", False)):
        times, sizes, depth = [], [], []
        for first_wb, last_wb, first_lot, last_lot in picks:
            index.clear_caches()
            s = last_wb if back else first_wb
            t = _time.perf_counter()
            r = (back_trace if back else forward_trace)(index, s, max_hops=hops)
            times.append((_time.perf_counter() - t) * 1000)
            sizes.append(len(r["nodes"]))
            depth.append(max(x["hop"] for x in r["nodes"]))
        times.sort()
        res[label] = {"median_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
                      "mean_nodes": statistics.mean(sizes), "max_hop_reached": max(depth),
                      "share_reaching_max_hops": sum(d >= hops for d in depth) / len(depth)}
    # baseline
    small_chains: list = []
    small = list(synthetic_events(baseline_events, seed=seed + 7, chains_out=small_chains))
    brng = random.Random(seed + 2)
    btimes = []
    for _ in range(baseline_traces):
        last_lot = brng.choice(small_chains)[3]
        t = _time.perf_counter()
        naive_back_trace(small, last_lot, max_hops=hops)
        btimes.append((_time.perf_counter() - t) * 1000)
    base_small = statistics.median(btimes)
    base_extrap = base_small * n_events / len(small)
    res.update(events=index.n_events, nodes=index.n_nodes, edges=index.n_edges, build_s=build_s,
               build_events_per_s=index.n_events / build_s, baseline_events=len(small),
               baseline_median_ms_small=base_small, baseline_median_ms_extrapolated=base_extrap,
               speedup=base_extrap / res["back"]["median_ms"], peak_rss_mb=_peak_rss_mb())
    out(f"lineage index: {res['events']:,} events -> {res['nodes']:,} nodes, {res['edges']:,} edges; "
        f"built in {build_s:.1f} s ({res['build_events_per_s']:,.0f} events/s); peak RSS {res['peak_rss_mb']:.0f} MB")
    for label in ("back", "forward"):
        r = res[label]
        out(f"{hops}-hop {label:7s} trace x{n_traces}: median {r['median_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms, "
            f"{r['mean_nodes']:.1f} nodes on average, {100 * r['share_reaching_max_hops']:.0f}% reach hop {hops}")
    out(f"baseline (plain recursive scan, no index) on {len(small):,} events: median {base_small:.1f} ms per "
        f"trace -> extrapolated to {n_events:,} events: {base_extrap:,.0f} ms; "
        f"ratio {res['speedup']:,.0f}x (target: median <= 20 ms)")
    return res


if __name__ == "__main__":    # python -m precursors.algorithms.trace [n_events]
    bench(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
