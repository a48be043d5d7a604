"""台账 (ledger) projection and the R09 mass balance (issue 3 item 4; research §3.3 "Ledger", §4 R09).

Pure Python (no Django). Per (party, site, substance or epc_class, period):

    opening + Σ inflows by reason − Σ outflows by reason = expected closing
    gap = declared closing − expected closing (at the moment of the declaration)
    alarm  ⇔ |gap| > max(abs_tol, rel_tol · (Σin + Σout))        (exactly at the tolerance: no alarm)
    negative stock ⇔ the running book balance drops below −abs_tol at any moment

Inflow reasons: ``purchase`` (receiving), ``production`` (commissioning, transformation output), ``import``,
``return`` (receiving with disposition ``returned``), ``transfer`` (between two sites of one party). Outflow reasons:
``sale`` (shipping), ``consumption`` (transformation input), ``export``, ``destruction``, ``loss`` (disposition
stolen/lost), ``return``, ``transfer``. Packing and unpacking move nothing across the (party, site) boundary and are
not ledger movements. Shipping counts out at the shipping event, receiving in at the receiving event.

Input: either :class:`LedgerFlow` / :class:`Declaration` records (the Django layer can produce them from SQL, Excel
台账 uploads or forms), or TraceEvents through :func:`flows_from_events` / :func:`ledger_from_events`, which reuse
:class:`precursors.algorithms.trace.LineageIndex` so the ledger and the trace agree on holders, container contents
and unit conversion.

Conventions and assumptions
---------------------------
* Quantities are kg, then × ``salt_to_base`` (looked up by epc_class, then by substance; default 1.0) → kg of base
  substance, which is what the row reports (``unit = "kg_base"``). The factor is a parameter (e.g. ephedrine HCl →
  ephedrine 0.8187 [G: molar-mass ratio 165.23/201.69, to confirm against the catalogue table]).
* Tolerances are parameters per substance (:class:`Tolerance`); defaults rel_tol 0.5% for solids/acids and 2% for
  the substances in ``volatile`` (solvents), abs_tol 0 kg — research R09 marks these **[U] unverified, tune locally**.
* Periods are ``[start, end)``; a declaration (count) at instant ``at`` belongs to the period with
  ``start < at ≤ end`` and is compared with the book balance of the flows strictly before ``at``. Naive datetimes are
  China Standard Time (UTC+8).
* ``carry="declared"`` (default): the next period opens from the declared stock (plus the flows after the count),
  so one loss is reported once, not again in every later period; ``carry="expected"`` carries the book balance.
  Without an ``openings`` entry the first opening is the balance of all earlier flows (from zero; with
  ``carry="declared"`` rebased at any count made before the first period or between periods).
* Flows at the same instant: inflows are applied before outflows (no false negative-stock alarm from ordering).
* Declared closing from cycle_counting / inspecting / stock_taking events, or given :class:`Declaration` records.
  When grouping by substance, counts of several lots made at the same instant are summed; counts of different lots
  at different instants should be compared per epc_class (the default grouping) instead.
* A flow whose quantity could not be converted is left out of the sums and flagged (``complete = False``), never
  counted as zero silently.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import pairwise

from .trace import CST, LineageIndex, TraceEvent

IN_REASONS = ("purchase", "production", "import", "return", "transfer")
OUT_REASONS = ("sale", "consumption", "export", "destruction", "loss", "return", "transfer")

DEFAULT_ABS_TOL_KG = 0.0          # [U] research R09: a parameter, tune locally
DEFAULT_REL_TOL_SOLID = 0.005     # [U] research R09: 0.5% for solids and acids
DEFAULT_REL_TOL_VOLATILE = 0.02   # [U] research R09: 2% for volatile solvents
_EPS = 1e-9

# column headers of the enterprise 台账 (for the Excel export in the Django layer)
TAIZHANG_COLUMNS = {
    "party": "单位", "site": "场所", "substance": "品种", "period_start": "期间起", "period_end": "期间止",
    "opening": "期初库存", "in_purchase": "购入", "in_production": "生产", "in_import": "进口", "in_return": "退货入库",
    "in_transfer": "调入", "out_sale": "销售", "out_consumption": "使用", "out_export": "出口",
    "out_destruction": "销毁", "out_loss": "丢失被盗", "out_return": "退货出库", "out_transfer": "调出",
    "expected_closing": "账面结存", "declared_closing": "实际库存(盘点/申报)", "gap": "差异", "unit": "单位(折纯kg)",
}


@dataclass(frozen=True, slots=True)
class Tolerance:
    abs_tol: float = DEFAULT_ABS_TOL_KG
    rel_tol: float = DEFAULT_REL_TOL_SOLID
    verified: bool = False
    source: str = "research precursors.md §4 R09 [U] — default, tune locally"

    def limit(self, throughput: float) -> float:
        return max(self.abs_tol, self.rel_tol * throughput)


@dataclass(slots=True)   # not frozen: a rule run makes a million, and a frozen init costs five times more
class LedgerFlow:
    """One stock movement of one epc_class at one (party, site); ``kg`` None = could not be converted."""

    party: str | None
    site: str | None
    epc_class: str | None
    time: datetime
    direction: str                 # "in" | "out"
    reason: str
    kg: float | None
    event_id: str | None = None
    counterparty: str | None = None
    permit: str | None = None


@dataclass(slots=True)
class Declaration:
    """Declared or counted stock of ``epc_class`` (or a substance) at (party, site) at instant ``at``, in kg."""

    party: str | None
    site: str | None
    epc_class: str | None
    at: datetime
    kg: float | None
    source: str = "declared"       # declared | cycle_counting | inspecting | stock_taking
    event_id: str | None = None


@dataclass(slots=True)
class LedgerRow:
    party: str | None
    site: str | None
    substance: str | None
    period_start: datetime
    period_end: datetime
    opening: float
    inflows: dict
    outflows: dict
    total_in: float
    total_out: float
    expected_closing: float
    declared_closing: float | None
    declared_at: datetime | None
    expected_at_declaration: float | None
    gap: float | None
    tolerance: float
    gap_alarm: bool
    negative_stock: bool
    min_balance: float
    min_balance_at: datetime | None
    negative_events: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    complete: bool = True
    flags: list = field(default_factory=list)
    event_ids: list = field(default_factory=list)
    unit: str = "kg_base"

    def as_dict(self) -> dict:
        return asdict(self)

    def as_taizhang(self) -> dict:
        """One row of the enterprise 台账, keyed by :data:`TAIZHANG_COLUMNS`."""
        d = {"party": self.party, "site": self.site, "substance": self.substance,
             "period_start": self.period_start, "period_end": self.period_end, "opening": self.opening,
             "expected_closing": self.expected_closing, "declared_closing": self.declared_closing,
             "gap": self.gap, "unit": self.unit}
        for r in IN_REASONS:
            d[f"in_{r}"] = self.inflows.get(r, 0.0)
        for r in OUT_REASONS:
            d[f"out_{r}"] = self.outflows.get(r, 0.0)
        return {k: d[k] for k in TAIZHANG_COLUMNS}


# --- helpers -----------------------------------------------------------------------------------------------------

def _ts(t) -> float:
    if isinstance(t, (int, float)):
        return float(t)
    if t.tzinfo is None:
        t = t.replace(tzinfo=CST)
    return t.timestamp()


def _mapper(substance_of) -> Callable[[str | None], str | None]:
    if substance_of is None:
        return lambda c: c
    if callable(substance_of):
        return substance_of
    return lambda c: substance_of.get(c, c)


def _r(x):
    if x is None:
        return None
    v = round(x, 6)
    return 0.0 if v == 0 else v


def month_periods(year: int, month: int, count: int, tz=CST) -> list[tuple[datetime, datetime]]:
    """``count`` consecutive calendar months from (year, month), as [start, end) in ``tz``."""
    out = []
    y, m = year, month
    for _ in range(count):
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append((datetime(y, m, 1, tzinfo=tz), datetime(ny, nm, 1, tzinfo=tz)))
        y, m = ny, nm
    return out


def tolerance_for(substance: str | None, tolerances: Mapping[str, Tolerance] | None = None,
                  volatile: Iterable[str] = (), default_abs_tol: float = DEFAULT_ABS_TOL_KG) -> Tolerance:
    if tolerances and substance in tolerances:
        return tolerances[substance]
    rel = DEFAULT_REL_TOL_VOLATILE if substance in set(volatile) else DEFAULT_REL_TOL_SOLID
    return Tolerance(abs_tol=default_abs_tol, rel_tol=rel)


# --- from events --------------------------------------------------------------------------------------------------

def flows_from_index(index: LineageIndex, tz=CST) -> tuple[list[LedgerFlow], list[Declaration]]:
    """The ledger movements and stock counts held in a :class:`LineageIndex`."""
    flows = []
    append, event_info, party_of, node_site = flows.append, index.event_info, index.party_of, index.node_site
    from_ts = datetime.fromtimestamp            # (names bound once: a million flows at 1,000,000 events)
    for node, seq, direction, reason, lot, kg, counterparty in index.flows():
        eid, t, permit = event_info(seq)
        append(LedgerFlow(party_of(node), node_site(node), lot, from_ts(t, tz), direction, reason, kg, eid,
                          counterparty, permit))
    return flows, counts_from_index(index, tz)


def counts_from_index(index: LineageIndex, tz=CST) -> list[Declaration]:
    """The stock counts (cycle counts, inspections) held in a :class:`LineageIndex`."""
    decls = []
    for node, seq, lot, kg in index.stock_counts():
        eid, t, _ = index.event_info(seq)
        decls.append(Declaration(index.party_of(node), index.node_site(node), lot, datetime.fromtimestamp(t, tz),
                                 kg, "count", eid))
    return decls


def flows_from_events(events: Iterable[TraceEvent], **index_kwargs) -> tuple[list[LedgerFlow], list[Declaration]]:
    """Ledger movements and counts from TraceEvents (``index_kwargs``: densities, piece_mass, site_party…)."""
    return flows_from_index(LineageIndex(events, **index_kwargs))


# --- the projection -----------------------------------------------------------------------------------------------

def build_ledger(flows: Iterable[LedgerFlow], periods: Sequence[tuple[datetime, datetime]],
                 declarations: Iterable[Declaration] = (), **options) -> list[LedgerRow]:
    """Ledger rows per (party, site, substance) × period, in base kg.

    ``options`` (keywords): ``substance_of`` maps an epc_class to its substance (default: group by epc_class);
    ``salt_to_base`` gives the base factor by epc_class or substance; ``tolerances`` per substance (else the
    defaults, 2% for ``volatile``); ``default_abs_tol``; ``openings`` maps (party, site, substance) → base kg at the
    start of the first period (flows before it are then ignored); ``carry`` is ``declared`` or ``expected`` (see the
    module docstring)."""
    records = ((f.party, f.site, f.epc_class, f.time, f.direction, f.reason, f.kg, f.event_id) for f in flows)
    return _project(records, periods, declarations, **options)


def _project(records: Iterable[tuple], periods: Sequence[tuple[datetime, datetime]],
             declarations: Iterable[Declaration] = (), *,
             substance_of: Mapping[str, str] | Callable[[str], str] | None = None,
             salt_to_base: Mapping[str, float] | None = None,
             tolerances: Mapping[str, Tolerance] | None = None, volatile: Iterable[str] = (),
             default_abs_tol: float = DEFAULT_ABS_TOL_KG, carry: str = "declared",
             openings: Mapping[tuple, float] | None = None) -> list[LedgerRow]:
    """:func:`build_ledger` over flow records ``(party, site, epc_class, time, direction, reason, kg, event_id)``,
    where ``time`` is a datetime or a POSIX timestamp (the lineage index's; the row's times are then in CST). A
    movement is kept as one small tuple, not as a LedgerFlow with its datetime: a rule run projects a million."""
    if carry not in ("declared", "expected"):
        raise ValueError("carry must be 'declared' or 'expected'")
    periods = sorted(periods)
    for (_s1, e1), (s2, _e2) in pairwise(periods):
        if _ts(s2) < _ts(e1):
            raise ValueError("periods overlap")
    sub = _mapper(substance_of)
    factors = dict(salt_to_base or {})
    volatile = set(volatile)
    openings = dict(openings or {})

    def factor(cls, substance):
        f = factors.get(cls)
        if f is None:
            f = factors.get(substance, 1.0)
        return f

    groups: dict[tuple, list] = defaultdict(list)
    for party, site, cls, t, direction, reason, kg, event_id in records:
        s = sub(cls)
        kg = None if kg is None else kg * factor(cls, s)
        # (timestamp, 0 in / 1 out, kg, reason, event id, the datetime given or None = made from the timestamp)
        groups[(party, site, s)].append((_ts(t), 0 if direction == "in" else 1, kg, reason, event_id,
                                         t if isinstance(t, datetime) else None))
    decl_groups: dict[tuple, dict] = defaultdict(lambda: defaultdict(lambda: [0.0, [], False]))
    for d in declarations:
        s = sub(d.epc_class)
        slot = decl_groups[(d.party, d.site, s)][_ts(d.at)]
        if d.kg is None:
            slot[2] = True
        else:
            slot[0] += d.kg * factor(d.epc_class, s)
        slot[1].append(d)
    rows: list[LedgerRow] = []
    bounds = [(_ts(a), _ts(b), a, b) for a, b in periods]
    for key in sorted(set(groups) | set(decl_groups) | set(openings), key=lambda k: tuple(str(x) for x in k)):
        party, site, substance = key
        tol = tolerance_for(substance, tolerances, volatile, default_abs_tol)
        neg_limit = -max(tol.abs_tol, _EPS)
        fl = sorted(groups.get(key, ()), key=lambda x: (x[0], x[1]))
        decls = sorted(decl_groups.get(key, {}).items())
        has_opening = key in openings
        bal = openings.get(key, 0.0)
        i = j = 0
        if has_opening:                                   # earlier flows are inside the given opening
            while i < len(fl) and fl[i][0] < bounds[0][0]:
                i += 1
            while j < len(decls) and decls[j][0] <= bounds[0][0]:
                j += 1
        for ps, pe, start, end in bounds:
            while True:                                   # movements and counts before / between periods
                f_next = fl[i][0] if i < len(fl) and fl[i][0] < ps else None
                d_next = decls[j][0] if j < len(decls) and decls[j][0] <= ps else None
                if f_next is None and d_next is None:
                    break
                if d_next is not None and (f_next is None or d_next <= f_next):
                    kg, _ds, unknown = decls[j][1]
                    if carry == "declared" and not unknown:
                        bal = kg
                    j += 1
                else:
                    if fl[i][2] is not None:
                        bal += fl[i][2] if fl[i][1] == 0 else -fl[i][2]
                    i += 1
            if not (has_opening or (fl and fl[0][0] < pe) or (decls and decls[0][0] <= pe)):
                continue                                  # nothing recorded yet for this group
            opening = bal
            ins: dict[str, float] = defaultdict(float)
            outs: dict[str, float] = defaultdict(float)
            min_bal, min_at = opening, None
            negative_events: list = []
            flags: list = []
            event_ids: list = []
            checks: list = []

            running = opening
            if opening < neg_limit:                       # already negative when the period opens
                negative_events.append({"event_id": None, "time": start, "balance": _r(opening)})
            while i < len(fl) and fl[i][0] < pe:
                ts, d, kg, reason, event_id, when = fl[i]
                j = _check_declarations(decls, j, min(ts, pe), running, flags, checks)
                if event_id:
                    event_ids.append(event_id)
                if kg is None:
                    flags.append(f"{event_id}: quantity unknown ({reason})")
                elif d == 0:
                    ins[reason] += kg
                    running += kg
                else:
                    outs[reason] += kg
                    running -= kg
                    if running < min_bal:
                        min_bal, min_at = running, when or datetime.fromtimestamp(ts, CST)
                    if running < neg_limit:
                        negative_events.append({"event_id": event_id, "time": when or datetime.fromtimestamp(ts, CST),
                                                "balance": _r(running)})
                i += 1
            j = _check_declarations(decls, j, pe, running, flags, checks)
            total_in, total_out = sum(ins.values()), sum(outs.values())
            expected = opening + total_in - total_out
            limit = tol.limit(total_in + total_out)
            last = checks[-1] if checks else None
            declared = last["declared"] if last else None
            gap = (declared - last["expected"]) if last and last["complete"] else None
            alarm = gap is not None and abs(gap) > limit + _EPS * max(1.0, limit)
            rows.append(LedgerRow(
                party=party, site=site, substance=substance, period_start=start, period_end=end,
                opening=_r(opening), inflows={k: _r(v) for k, v in ins.items()},
                outflows={k: _r(v) for k, v in outs.items()}, total_in=_r(total_in), total_out=_r(total_out),
                expected_closing=_r(expected), declared_closing=declared,
                declared_at=last["at"] if last else None, expected_at_declaration=last["expected"] if last else None,
                gap=_r(gap), tolerance=_r(limit), gap_alarm=alarm, negative_stock=bool(negative_events),
                min_balance=_r(min_bal), min_balance_at=min_at, negative_events=negative_events, checks=checks,
                complete=not flags, flags=flags, event_ids=event_ids))
            if carry == "declared" and gap is not None:
                bal = expected + gap
            else:
                bal = expected
    return rows


def _check_declarations(decls: list, j: int, upto_ts: float, balance: float, flags: list, checks: list) -> int:
    """Compare the declarations made at or before ``upto_ts`` with ``balance`` (the book balance of the flows strictly
    before them); returns the index of the next declaration."""
    while j < len(decls) and decls[j][0] <= upto_ts:
        _at, (kg, ds, unknown) = decls[j]
        if unknown:
            flags.append(f"{ds[0].event_id or 'declaration'}: declared quantity unknown")
        checks.append({"at": ds[0].at, "declared": _r(kg), "expected": _r(balance), "gap": _r(kg - balance),
                       "complete": not unknown, "event_ids": [d.event_id for d in ds if d.event_id],
                       "source": ds[0].source})
        j += 1
    return j


def ledger_from_events(events: Iterable[TraceEvent], periods: Sequence[tuple[datetime, datetime]], *,
                       densities: Mapping[str, float] | None = None,
                       piece_mass: Mapping[str, float] | None = None,
                       site_party: Mapping[str, str] | None = None,
                       declarations: Iterable[Declaration] = (), **kwargs) -> list[LedgerRow]:
    """:func:`build_ledger` over TraceEvents; counts in the events plus the given ``declarations``."""
    flows, counts = flows_from_events(events, densities=densities, piece_mass=piece_mass, site_party=site_party)
    return build_ledger(flows, periods, list(counts) + list(declarations), **kwargs)


def ledger_from_index(index: LineageIndex, periods: Sequence[tuple[datetime, datetime]], *,
                      declarations: Iterable[Declaration] = (), party: str | None = None,
                      **kwargs) -> list[LedgerRow]:
    """:func:`build_ledger` over the movements and counts a :class:`LineageIndex` holds (``party``: only that
    party's rows), read from the index one at a time rather than as a list of LedgerFlows (a million at 1,000,000
    events: 175 MB)."""
    party_of, event_info = index.party_of, index.event_info

    def records():
        for node, seq, direction, reason, lot, kg, _counterparty in index.flows():
            holder = party_of(node)
            if party is None or holder == party:
                eid, t, _permit = event_info(seq)
                yield holder, index.node_site(node), lot, t, direction, reason, kg, eid

    counts = [c for c in counts_from_index(index) if party is None or c.party == party]
    return _project(records(), periods, counts + list(declarations), **kwargs)
