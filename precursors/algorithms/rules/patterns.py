"""Pattern rules R09–R18 (research/precursors.md §4): mass balance, process yield, two-way reconciliation, end-user
plausibility, and the suspicious-order patterns (size, frequency, split orders, multi-sourcing, route kits, profile).
Plain Python, no Django.

Conventions shared by these rules
---------------------------------
* Day windows use CST calendar dates (``local_date``). A "W-day window ending on d" holds the dates d−W+1 … d: both
  ends included, exactly W calendar days. R11's receipt window [d, d+N] is inclusive as the research writes it.
* "Purchases" are the non-export transactions: an export's buyer is abroad and R20/R21 judge exports.
* Link groups (R15–R17): union-find over ``Party.link_keys`` plus buyers that share a delivery site
  (``Transaction.destination_site``); a group is labelled by its smallest party id.
* Episodes (R13 ALR, R14–R17): consecutive qualifying windows are one alert, keyed by the party and the date of the
  first transaction of the first qualifying window, so the nightly re-run updates the same alert; its evidence collects
  every transaction that was in a qualifying window of the episode.
* Each rule builds its indexes once (sorted lists, dicts), then slides windows with deques / bisect: no pairwise loops.
  Indexes shared by several rules are cached on the Facts object.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from statistics import median

from .base import HIGH, MEDIUM, Hit, define_param, param, rule
from .facts import CST, PRODUCER, PURCHASE_FILING, PURCHASE_LICENCE, TRADER, USER, Facts, Transaction, local_date

_EPS = 1e-9   # float slack: a value exactly at a threshold must not alert because of rounding
_SRC = "research/precursors.md §4 "
_LOCAL = "local policy (research §6: local review thresholds to be set by the 禁毒办)"

# --- parameters --------------------------------------------------------------------------------------------------
define_param("balance_abs_tol_kg", 0.0, "kg", _SRC + "R09", "U", "Absolute mass-balance tolerance / negative slack")
define_param("balance_rel_tol", 0.005, "ratio", _SRC + "R09", "U", "Relative tolerance × (Σin+Σout), solids and acids")
define_param("balance_rel_tol_volatile", 0.02, "ratio", _SRC + "R09", "U", "Relative tolerance for volatile solvents")
define_param("yield_bands", {}, "kg input / output unit", _SRC + "R10", "U",
             "Declared BOM band (k_min, k_max) by product, or by 'product|substance'")
define_param("yield_mad_k", 3.0, "MADs", _SRC + "R10", "U", "Peer band half-width in median absolute deviations")
define_param("yield_min_peers", 5, "transformations", _SRC + "R10", "U", "Peer ratios needed for a peer band")
define_param("yield_band_min_rel", 0.01, "ratio of median", "local policy", "U",
             "Minimum peer half-width (metering precision) so identical peers do not make a zero-width band")
define_param("reconcile_days", 7, "days", _SRC + "R11", "U", "N: the buyer's receipt is due within [d, d+N]")
define_param("reconcile_rel_tol", 0.005, "ratio", _SRC + "R11", "U", "Receipt quantity tolerance, share of shipped kg")
define_param("reconcile_abs_tol_kg", 0.0, "kg", _SRC + "R11", "U", "Receipt quantity tolerance, absolute floor")
define_param("suspicious_address_kinds", ["residential", "virtual", "logistics_hub", "unmatched"], "kinds",
             _SRC + "R12", "M", "Delivery address classes that are not a plausible end-user site")
define_param("size_sigma", 3.0, "σ", _SRC + "R13", "M", "Own-history limit μ + k·σ")
define_param("size_history_days", 365, "days", _SRC + "R13", "M", "Own-history and ALR window (12 months)")
define_param("size_min_history", 3, "orders", "local policy", "U", "Earlier orders needed before the μ+kσ test")
define_param("peer_percentile", 95, "percentile", _SRC + "R13", "M", "Peer-group percentile (industry × stated use)")
define_param("peer_min_count", 20, "orders", "local policy", "U", "Peer orders needed before the percentile is used")
define_param("alr_factor", 1.2, "×", _SRC + "R13 / INCB ALR", "M", "12-month purchases > declared annual need × factor")
define_param("freq_window_days", 30, "days", _SRC + "R14", "M", "Rolling window (and 'month' block) length")
define_param("freq_factor", 2.0, "×", _SRC + "R14", "M", "Window count > factor × median monthly count")
define_param("freq_min_history_months", 6, "months", _SRC + "R14", "M", "Complete 30-day blocks of history needed")
define_param("freq_baseline_months", 12, "months", "local policy", "U", "Blocks of history used for the baseline")
define_param("freq_gap_shrink", 0.5, "ratio", _SRC + "R14", "M", "Alert when the median order gap shrinks by more")
define_param("freq_min_orders", 3, "orders", "local policy", "U", "Orders in the window needed for either R14 test")
define_param("split_window_days", 30, "days", _SRC + "R15", "M", "W: split-order window")
define_param("split_thresholds_kg", {"C2-01": 50.0, "C2-02": 50.0, "C2-06": 50.0, "C2-07": 50.0}, "kg", _LOCAL,
             "U", "θ(s): local review threshold by substance; else the cited Cat-1 purchase licence's max kg")
define_param("split_min_count", 2, "orders", _SRC + "R15", "M", "Orders in the window needed")
define_param("split_min_filings", 2, "filings", _SRC + "R15", "M", "Purchase filings by distinct linked holders")
define_param("multi_source_days", 90, "days", _SRC + "R16 / ARCOS 'market footprint'", "M", "Multi-sourcing window")
define_param("multi_source_min_sellers", 3, "sellers", _SRC + "R16", "M", "Distinct sellers needed")
define_param("route_kits", [[["C1-01", "C2-01"], ["C2-02"]],            # P-2-P / phenylacetic acid + Ac2O (meth/amph.)
                            [["C2-10", "C2-11"], ["C3-05", "C3-06"]],   # PMK glycidic acid/ester + acids (MDMA)
                            [["C1-17", "C2-12", "C2-13"], ["C1-18", "C2-14"]],  # fentanyl: early + late intermediate
                            [["C1-14"], ["C2-06"]],                     # 2-Cl-Ph cyclopentyl ketone + Br2 (ketamine)
                            [["C1-07", "C1-08"], ["C2-02"]]],           # anthranilic acids + Ac2O (methaqualone)
             "slots of substance codes", _SRC + "R17", "M", "Synthesis-route sets: one code per slot = one member")
define_param("route_kit_window_days", 30, "days", _SRC + "R17", "M", "W: route-kit window")
define_param("route_kit_min_slots", 2, "slots", _SRC + "R17", "M", "Members (slots) of one kit needed in the window")
define_param("plausible_substances", {
    "trading": "*", "research": "*",
    "pharma": ["C1-12a", "C1-12b", "C1-12c", "C2-02", "C2-03", "C2-04", "C3-01", "C3-02", "C3-05", "C3-06"],
    "fragrance": ["C1-03", "C1-04", "C1-05", "C1-06", "C2-01"],
    "dye": ["C1-08", "C2-02", "C3-01", "C3-04", "C3-05", "C3-06"],
    "coatings": ["C3-01", "C3-02", "C3-03"],
    "electronics": ["C3-02", "C3-05", "C3-06"],
    "water_treatment": ["C3-04", "C3-05", "C3-06"],
}, "industry → codes ('*' = any)", _SRC + "R18", "U", "Industries whose use plausibly consumes a substance")
define_param("trader_idle_days", 90, "days", _SRC + "R18", "M", "Trader with inbound but no outbound for longer")
define_param("new_entity_days", 180, "days", _SRC + "R18", "M", "Entity younger than this buying Cat 1/2")


# --- shared helpers ----------------------------------------------------------------------------------------------

def _kg(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")


def _pname(facts: Facts, pid: str | None) -> str:
    p = facts.parties.get(pid) if pid else None
    return p.name if p else str(pid)


def _sname(facts: Facts, code: str) -> str:
    s = facts.substances.get(code)
    return s.name if s else code


def _category(facts: Facts, code: str) -> int | None:
    s = facts.substances.get(code)
    return s.category if s else None


def _registered(facts: Facts, pid: str | None) -> bool:
    p = facts.parties.get(pid) if pid else None
    return p is not None and p.in_registry


def _who(facts: Facts, buyer: str, buyers) -> str:
    """"买方 X", or "买方 X 及关联主体 Y、Z" when a link group was involved."""
    others = [_pname(facts, b) for b in sorted(set(buyers)) if b != buyer]
    return f"买方 {_pname(facts, buyer)}" + (f" 及关联主体 {'、'.join(others)}" if others else "")


def _evidence(txs) -> tuple[str, ...]:
    return tuple(dict.fromkeys(e for t in txs for e in t.event_ids))


def _instant(t: datetime) -> float:
    return (t if t.tzinfo else t.replace(tzinfo=CST)).timestamp()


def _sorted_ties_by_id(items: Iterable, key) -> list:
    """``items`` sorted by ``key``, those with equal keys by their ids: the order of sorting by ``(key, id)`` without
    making every item's id for the sort (a transaction makes its id when asked: 455,000 strings, 45 MB, at 1,000,000
    events) when only a few keys tie."""
    out = sorted(items, key=key)
    i, n = 0, len(out)
    while i < n:
        k, j = key(out[i]), i + 1
        while j < n and key(out[j]) == k:
            j += 1
        if j - i > 1:
            out[i:j] = sorted(out[i:j], key=lambda x: x.id)
        i = j
    return out


def _cached(facts: Facts, name: str, build):
    """Indexes shared by several rules, built once per Facts (keyed by the list sizes in case facts are extended)."""
    cache = facts.__dict__.setdefault("_patterns_cache", {})
    key = (name, len(facts.transactions), len(facts.parties))
    if key not in cache:
        cache[key] = build()
    return cache[key]


def _purchases(facts: Facts) -> list[tuple[date, Transaction]]:
    """Non-export transactions as (CST date, transaction), in time order (ties by id)."""
    def build():
        txs = _sorted_ties_by_id((t for t in facts.transactions if not t.is_export), key=lambda t: _instant(t.time))
        days: dict[date, date] = {}       # one date object per calendar day, not per sale (14 MB at 1,000,000 events)
        return [(days.setdefault(d, d), t) for t in txs for d in (local_date(t.time),)]
    return _cached(facts, "purchases", build)


def _by_buyer_substance(facts: Facts) -> dict[tuple[str, str], list[tuple[date, Transaction]]]:
    def build():
        out = defaultdict(list)
        for item in _purchases(facts):
            out[(item[1].buyer_id, item[1].substance)].append(item)
        return out
    return _cached(facts, "by_buyer_substance", build)


def _groups(facts: Facts) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(party → group label, label → members): union-find over shared link keys and shared delivery sites."""
    def build():
        parent: dict[str, str] = {}

        def find(x):
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a, b):
            ra, rb = find(a), find(b)
            if ra != rb:                      # the smaller id stays root, so the root is the group's smallest id
                parent[max(ra, rb)] = min(ra, rb)

        holder: dict = {}
        for p in facts.parties.values():
            find(p.id)
            for k in p.link_keys:
                union(holder.setdefault(("link", k), p.id), p.id)
        for _d, t in _purchases(facts):
            find(t.buyer_id)
            if t.destination_site:
                union(holder.setdefault(("site", t.destination_site), t.buyer_id), t.buyer_id)
        label = {x: find(x) for x in parent}
        members = defaultdict(list)
        for x, root in sorted(label.items()):
            members[root].append(x)
        return label, members
    return _cached(facts, "groups", build)


def _by_group(facts: Facts) -> dict[tuple[str, str], list[tuple[date, Transaction]]]:
    """Purchases by (group label, substance), time-sorted."""
    label, _ = _groups(facts)
    out = defaultdict(list)
    for item in _purchases(facts):
        out[(label[item[1].buyer_id], item[1].substance)].append(item)
    return out


def _slide(items, days: int):
    """As each time-sorted (date, …) item enters, yield (window, removed): the window holds the items dated within
    the ``days``-day window ending on the newest item's date; ``removed`` just fell out of it."""
    win: deque = deque()
    for item in items:
        win.append(item)
        cut = item[0] - timedelta(days=days - 1)
        removed = []
        while win[0][0] < cut:
            removed.append(win.popleft())
        yield win, removed


def _count(counter: Counter, key, delta: int) -> None:
    """Window membership count; a key whose count drops to zero leaves (so len() = distinct members)."""
    counter[key] += delta
    if not counter[key]:
        del counter[key]


class _RangeMedian:
    """Median of values[a:b] while the range slides (mostly forward): a sorted list updated by the difference, so a
    long baseline costs its change per step, not its length."""

    def __init__(self, values: list):
        self.values, self.a, self.b, self.sorted = values, 0, 0, []

    def median(self, a: int, b: int) -> float:
        v, s = self.values, self.sorted
        if a >= self.b or b <= self.a:
            s[:] = sorted(v[a:b])
        else:
            for j in [*range(self.a, a), *range(b, self.b)]:      # left the range
                del s[bisect_left(s, v[j])]
            for j in [*range(a, self.a), *range(self.b, b)]:      # entered it
                insort(s, v[j])
        self.a, self.b = a, b
        n = len(s)
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


class _Episodes:
    """Consecutive qualifying windows make one episode: (first qualifying window, all items, info at the trigger)."""

    def __init__(self):
        self.found: list[tuple[list, dict, object]] = []
        self._open = None

    @property
    def opened(self) -> bool:
        return self._open is not None

    def step(self, info, window=(), newest=None):
        """``info`` None = the window does not qualify; ``window`` is read only when an episode opens; ``newest`` is
        the item that just entered (default window[-1])."""
        if info is None:
            self._open = None
        elif self._open is None:
            items = list(window)
            self._open = (items, {id(x[1]): x for x in items}, info)
            self.found.append(self._open)
        else:
            x = newest if newest is not None else window[-1]
            self._open[1].setdefault(id(x[1]), x)

    def __iter__(self):
        for first, items, info in self.found:
            yield first, [x[1] for x in items.values()], info


# --- R09 ---------------------------------------------------------------------------------------------------------

@rule("R09", "进销存物料平衡差异", "Mass-balance gap", MEDIUM,
      params=("balance_abs_tol_kg", "balance_rel_tol", "balance_rel_tol_volatile"))
def r09_mass_balance(facts: Facts):
    """R09 — "gap = declared_or_counted_closing − expected. Alert if |gap| > max(abs_tol(s), rel_tol(s)·(Σin+Σout))
    … Negative stock at any time → H (data or fraud)."

    Reads the 台账 projection (``facts.ledger_rows``), does not recompute it. Exactly at the tolerance: no alert.
    A gap is M, raised to H when it is a shortage of at least the substance's criminal threshold (§1.5); negative stock
    (min balance < −abs_tol) is H. rel_tol is the volatile one when ``Substance.volatile``."""
    abs_tol = float(param(facts, "balance_abs_tol_kg"))
    rel_solid, rel_volatile = param(facts, "balance_rel_tol"), param(facts, "balance_rel_tol_volatile")
    for row in facts.ledger_rows:
        sub = facts.substances.get(row.substance)
        site = f" 场所 {row.site_id}" if row.site_id else ""
        where = (f"{_pname(facts, row.party_id)}{site} {_sname(facts, row.substance)} "
                 f"{local_date(row.period_start)}–{local_date(row.period_end)}")
        key = f"{row.party_id}|{row.site_id or '-'}|{row.substance}|{local_date(row.period_start)}"
        base = {"site_id": row.site_id, "substance": row.substance, "inflow_kg": row.inflow_kg,
                "outflow_kg": row.outflow_kg, "expected_closing_kg": row.expected_closing_kg}
        if row.declared_closing_kg is not None:
            gap = row.declared_closing_kg - row.expected_closing_kg
            rel = rel_volatile if sub and sub.volatile else rel_solid
            limit = max(abs_tol, rel * (row.inflow_kg + row.outflow_kg))
            if abs(gap) > limit + _EPS * max(1.0, limit):
                crim = sub.criminal_threshold_kg if sub else None
                sev = HIGH if gap < 0 and crim is not None and -gap >= crim else MEDIUM
                yield Hit("R09", sev, row.party_id, key + "|gap",
                          f"{where} 账实差异 {_kg(gap)} kg（申报/盘点结存 {_kg(row.declared_closing_kg)} kg，账面结存 "
                          f"{_kg(row.expected_closing_kg)} kg），超过容差 {_kg(limit)} kg",
                          tuple(row.event_ids), details={**base, "declared_closing_kg": row.declared_closing_kg,
                                                         "gap_kg": gap, "tolerance_kg": limit})
        if row.min_balance_kg < -max(abs_tol, _EPS):
            yield Hit("R09", HIGH, row.party_id, key + "|negative",
                      f"{where} 账面结存最低为 {_kg(row.min_balance_kg)} kg，出现负库存（数据错误或虚假记录）",
                      tuple(row.event_ids), details={**base, "min_balance_kg": row.min_balance_kg,
                                                     "abs_tol_kg": abs_tol})


# --- R10 ---------------------------------------------------------------------------------------------------------

def _peer_bands(facts: Facts, k: float, min_peers: int, min_rel: float) -> dict[tuple[str, str], tuple]:
    """(product, substance) → (lo, hi, n): the peer median ± k·MAD (raw MAD) over all transformations with output."""
    ratios = defaultdict(list)
    for tf in facts.transformations:
        if tf.output_units > 0:
            for s, kg in tf.inputs_kg.items():
                if kg > 0 and s in facts.substances:
                    ratios[(tf.product, s)].append(kg / tf.output_units)
    bands = {}
    for key, xs in ratios.items():
        if len(xs) >= min_peers:
            med = median(xs)
            half = max(k * median(abs(x - med) for x in xs), min_rel * med)
            bands[key] = (med - half, med + half, len(xs))
    return bands


@rule("R10", "工艺单耗异常", "Process yield anomaly", MEDIUM,
      params=("yield_bands", "yield_mad_k", "yield_min_peers", "yield_band_min_rel"))
def r10_yield(facts: Facts):
    """R10 — "consumption of s per unit of output, outside the band [k_min, k_max] derived from the declared
    process/BOM or the peer median ± 3 MAD → M. Consumption recorded with no matching output lot → H."

    Only catalogue substances (codes in ``facts.substances``) are judged. The declared band (``yield_bands`` by
    'product|substance', else by product) wins over the peer band; the band is inclusive. Peer band: all
    transformations of the same product (every party, the judged one included), raw MAD, at least
    ``yield_min_peers`` ratios, half-width at least ``yield_band_min_rel`` × median. output_units ≤ 0 → H."""
    declared = param(facts, "yield_bands")
    peers = _peer_bands(facts, float(param(facts, "yield_mad_k")), int(param(facts, "yield_min_peers")),
                        float(param(facts, "yield_band_min_rel")))
    for tf in facts.transformations:
        used = {s: kg for s, kg in sorted(tf.inputs_kg.items()) if kg > 0 and s in facts.substances}
        if not used:
            continue
        who = _pname(facts, tf.party_id)
        if tf.output_units <= 0:
            names = "、".join(f"{_sname(facts, s)} {_kg(kg)} kg" for s, kg in used.items())
            yield Hit("R10", HIGH, tf.party_id, f"{tf.id}|no_output",
                      f"{who} 转化记录 {tf.id} 消耗 {names}，但没有对应的产出批次", tuple(tf.event_ids),
                      details={"product": tf.product, "inputs_kg": used, "output_units": tf.output_units})
            continue
        for s, kg in used.items():
            band = declared.get(f"{tf.product}|{s}") or declared.get(tf.product)
            source, source_txt = "declared", "申报工艺定额"
            if band is None and (tf.product, s) in peers:
                lo, hi, n = peers[(tf.product, s)]
                band, source = (lo, hi), "peer"
                source_txt = f"同类产品 {n} 条记录中位数±{_kg(param(facts, 'yield_mad_k'))}MAD"
            if band is None:
                continue
            ratio = kg / tf.output_units
            if ratio < band[0] - _EPS or ratio > band[1] + _EPS:
                yield Hit("R10", MEDIUM, tf.party_id, f"{tf.id}|{s}",
                          f"{who} 产品 {tf.product or '-'} 每单位产出消耗{_sname(facts, s)} {_kg(ratio)} kg，"
                          f"超出合理区间 [{_kg(band[0])}, {_kg(band[1])}]（{source_txt}）", tuple(tf.event_ids),
                          details={"product": tf.product, "substance": s, "input_kg": kg,
                                   "output_units": tf.output_units, "ratio": ratio, "k_min": band[0],
                                   "k_max": band[1], "band_source": source})


# --- R11 ---------------------------------------------------------------------------------------------------------

@rule("R11", "购销双向核对不符", "Two-way reconciliation failure", HIGH,
      params=("reconcile_days", "reconcile_rel_tol", "reconcile_abs_tol_kg"))
def r11_reconciliation(facts: Facts):
    """R11 — "Every seller outbound (S→B, s, q, d) must match a buyer inbound (B←S, s, q±tol, d..d+N days), and the
    reverse. Unmatched outbound after N days → H ('去向不明'). Unmatched inbound → H ('来源不明')."

    Matching is one-to-one and greedy in time order: each outbound takes the earliest unmatched receipt of the same
    (S, B, s) dated in [d, d+N] (both inclusive) with |kg − q| ≤ max(abs_tol, rel_tol·q). An outbound is 去向不明
    (party = seller) only once the as_of date is past d+N. An inbound is 来源不明 (party = buyer) at once: its outbound
    should precede it. Not expected to reconcile: exports (no domestic receipt), outbound to a buyer outside the
    registry (it cannot report: R12's business), inbound from a foreign seller (an import). An inbound from an
    unregistered domestic seller is 来源不明. The filing-vs-permit comparison belongs to R04/R06."""
    n = int(param(facts, "reconcile_days"))
    rel, abs_tol = float(param(facts, "reconcile_rel_tol")), float(param(facts, "reconcile_abs_tol_kg"))
    as_of = local_date(facts.as_of)
    # Both sides grouped by (buyer, substance) — the sales through the purchases index the other rules share, the
    # receipts in a dict of a few thousand lists — then split by seller one group at a time, so that only a group's
    # sort keys are held at once (sorting all 900,000 records by (seller, buyer, substance) held 70 MB of keys at
    # 1,000,000 events). A group's sales stay in the index's time order; its receipts sort by time (ties by id).
    receipts: dict[tuple[str, str], list] = defaultdict(list)
    for r in facts.receipts:
        if (seller := facts.parties.get(r.seller_id)) is None or seller.country == "CN":
            receipts[(r.buyer_id, r.substance)].append(r)
    sales = _by_buyer_substance(facts)
    for group in sorted(set(receipts) | {g for g in sales if _registered(facts, g[0])}):
        outs: dict[str, list] = defaultdict(list)
        if _registered(facts, group[0]):
            for item in sales.get(group, ()):
                outs[item[1].seller_id].append(item)
        ins: dict[str, list] = defaultdict(list)
        for r in _sorted_ties_by_id(receipts.pop(group, ()), key=lambda r: _instant(r.time)):
            ins[r.seller_id].append((local_date(r.time), r))
        for seller in sorted(set(outs) | set(ins)):
            yield from _r11_match(facts, outs.get(seller, ()), ins.get(seller, []), n, rel, abs_tol, as_of)


def _r11_match(facts: Facts, txs, rcs: list, n: int, rel: float, abs_tol: float, as_of: date) -> Iterator[Hit]:
    """R11 for one (seller, buyer, substance): sales (date, t) and receipts (date, r), each in time order."""
    matched = [False] * len(rcs)
    start = 0
    for d, t in txs:
        while start < len(rcs) and (matched[start] or rcs[start][0] < d):
            start += 1                    # d only grows: receipts dated before it can never match later
        j, due, tol = start, d + timedelta(days=n), max(abs_tol, rel * t.kg)
        while j < len(rcs) and rcs[j][0] <= due:
            if not matched[j] and abs(rcs[j][1].kg - t.kg) <= tol + _EPS:
                matched[j] = True
                break
            j += 1
        else:
            if as_of > due:
                yield _r11_hit(facts, "out", t, d, due, n)
    for (d, r), ok in zip(rcs, matched):
        if not ok:
            yield _r11_hit(facts, "in", r, d, None, n)


def _r11_hit(facts: Facts, side: str, x, d: date, due: date | None, n: int) -> Hit:
    s, b, sub = _pname(facts, x.seller_id), _pname(facts, x.buyer_id), _sname(facts, x.substance)
    details = {"seller_id": x.seller_id, "buyer_id": x.buyer_id, "substance": x.substance, "kg": x.kg,
               "date": d.isoformat(), "reconcile_days": n}
    if side == "out":
        details["due"] = due.isoformat()
        return Hit("R11", HIGH, x.seller_id, f"out|{x.id}",
                   f"卖方 {s} 于 {d} 向 {b} 销售{sub} {_kg(x.kg)} kg，截至 {local_date(facts.as_of)} 超过 {n} 天"
                   f"未见买方对应入库记录（去向不明）", _evidence([x]), details=details)
    return Hit("R11", HIGH, x.buyer_id, f"in|{x.id}",
               f"买方 {b} 于 {d} 登记自 {s} 入库{sub} {_kg(x.kg)} kg，未见卖方对应出库记录（来源不明）",
               _evidence([x]), details=details)


# --- R12 ---------------------------------------------------------------------------------------------------------

_ADDRESS_KIND = {"residential": "住宅", "virtual": "虚拟地址", "logistics_hub": "物流集散点（非登记场所）",
                 "unmatched": "无法匹配的地址"}


@rule("R12", "最终用户未登记或不可信", "Unregistered or implausible end user", MEDIUM, capture_time=True,
      params=("suspicious_address_kinds",))
def r12_end_user(facts: Facts):
    """R12 — "Consignee not in the registry, or registry status not active; or delivery address geocodes to a
    residential, unmatched or virtual address, or to a logistics hub ≠ registered site; or consignee ≠ buyer without a
    documented reason → M/H."

    Per transaction (capture-time, never blocks), one hit listing every finding. Buyer or consignee outside the
    registry or inactive → H. Suspicious address (``delivery_address_kind``, a residential destination Site, or a
    consignee whose registered site is residential/virtual) and consignee ≠ buyer without reason → M, H for Cat 1/2.
    Exports are left to R20/R21 (their consignee is abroad)."""
    kinds = set(param(facts, "suspicious_address_kinds"))
    for d, t in _purchases(facts):
        consignee = t.consignee_id or t.buyer_id
        soft = HIGH if _category(facts, t.substance) in (1, 2) else MEDIUM   # address / consignee findings
        findings: list[tuple[str, str]] = []
        roles = [("买方", t.buyer_id)] + ([("收货人", consignee)] if consignee != t.buyer_id else [])
        for role, pid in roles:
            p = facts.parties.get(pid)
            if p is None or not p.in_registry:
                findings.append((HIGH, f"{role} {pid} 不在易制毒化学品单位登记库中"))
            elif not p.active:
                findings.append((HIGH, f"{role} {p.name} 登记状态非有效"))
        site = facts.sites.get(t.destination_site) if t.destination_site else None
        cp = facts.parties.get(consignee)
        if t.delivery_address_kind in kinds:
            kind = _ADDRESS_KIND.get(t.delivery_address_kind, t.delivery_address_kind)
            findings.append((soft, f"送货地址为{kind}"))
        elif site is not None and site.residential:
            findings.append((soft, f"送货场所 {site.id} 为住宅"))
        elif cp is not None and cp.residential_site:
            findings.append((soft, "收货人登记地址为住宅或虚拟地址"))
        if consignee != t.buyer_id and not t.consignee_reason.strip():
            findings.append((soft, f"收货人 {_pname(facts, consignee)} 与买方不一致且未说明理由"))
        if findings:
            sev = HIGH if any(f[0] == HIGH for f in findings) else MEDIUM
            reasons = [f[1] for f in findings]
            yield Hit("R12", sev, t.buyer_id, t.id,
                      f"交易 {t.id}（{_pname(facts, t.seller_id)}→{_pname(facts, t.buyer_id)}，"
                      f"{_sname(facts, t.substance)} {_kg(t.kg)} kg，{d}）：" + "；".join(reasons), _evidence([t]),
                      details={"consignee_id": consignee, "seller_id": t.seller_id, "reasons": reasons,
                               "delivery_address_kind": t.delivery_address_kind,
                               "destination_site": t.destination_site, "category": _category(facts, t.substance)})


# --- R13 ---------------------------------------------------------------------------------------------------------

def _percentile(xs: list[float], pct: float) -> float:
    """Linear-interpolation percentile (numpy's default)."""
    xs = sorted(xs)
    pos = (len(xs) - 1) * pct / 100.0
    lo = int(pos)
    return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (pos - lo)


@rule("R13", "异常规模采购", "Unusual size", MEDIUM,
      params=("size_sigma", "size_history_days", "size_min_history", "peer_percentile", "peer_min_count",
              "alr_factor"))
def r13_unusual_size(facts: Facts):
    """R13 — "q(t) > max(μ_B + 3σ_B over the last 12 months, P95 of the peer group by industry and stated use), or
    Σ 12-month purchases of s > declared annual requirement (ALR-style) × 1.2 → M. Also q(t) ≥ the criminal threshold
    of s (§1.5) → raise severity."

    History = B's earlier purchases of s dated in the 365-day window ending on t's date (sample σ); fewer than
    ``size_min_history`` → no size test (a new buyer has no baseline; ALR still applies). The peer limit (industry ×
    declared_use × s over all purchases in the facts, B included) counts only with ``peer_min_count`` orders. The
    criminal threshold only raises a size alert to H; alone it is no alert. ALR uses the 365-day window including t,
    one alert per episode over the limit; no declared need → no ALR test. Exactly at a limit: no alert."""
    k, days = float(param(facts, "size_sigma")), int(param(facts, "size_history_days"))
    min_hist, factor = int(param(facts, "size_min_history")), float(param(facts, "alr_factor"))
    pct, min_peers = float(param(facts, "peer_percentile")), int(param(facts, "peer_min_count"))
    peer_kg = defaultdict(list)
    for _d, t in _purchases(facts):
        p = facts.parties.get(t.buyer_id)
        if p is not None and p.industry:
            peer_kg[(p.industry, t.declared_use, t.substance)].append(t.kg)
    peers = {key: _percentile(v, pct) for key, v in peer_kg.items() if len(v) >= min_peers}
    for (b, s), items in _by_buyer_substance(facts).items():
        party, sub = facts.parties.get(b), facts.substances.get(s)
        need = party.declared_annual_kg.get(s) if party else None
        crim = sub.criminal_threshold_kg if sub else None
        total = sq = 0.0
        alr = _Episodes()
        for win, removed in _slide(items, days):
            for _d, old in removed:
                total, sq = total - old.kg, sq - old.kg * old.kg
            d, t = win[-1]
            n, hsum, hsq = len(win) - 1, total, sq          # history = the window without t
            total, sq = total + t.kg, sq + t.kg * t.kg
            if n >= min_hist:
                mu = hsum / n
                sigma = max(0.0, (hsq - hsum * hsum / n) / (n - 1)) ** 0.5 if n > 1 else 0.0
                peer = peers.get((party.industry, t.declared_use, s)) if party else None
                limit = max(mu + k * sigma, peer if peer is not None else float("-inf"))
                if t.kg > limit + _EPS * max(1.0, limit):
                    yield _r13_size_hit(facts, t, d, mu, sigma, peer, limit, crim, n, k)
            over = need is not None and need > 0 and total > need * factor + _EPS * max(1.0, need)
            alr.step({"sum_kg": total, "need_kg": need} if over else None, win)
        for first, txs, info in alr:
            yield Hit("R13", MEDIUM, b, f"alr|{b}|{s}|{first[0][0]}",
                      f"买方 {_pname(facts, b)} {days} 天内购买{_sname(facts, s)}合计 {_kg(info['sum_kg'])} kg，"
                      f"超过申报年需求 {_kg(need)} kg × {_kg(factor)}", _evidence(txs),
                      details={**info, "substance": s, "alr_factor": factor, "window_start": first[0][0].isoformat(),
                               "transactions": [t.id for t in txs]})


def _r13_size_hit(facts, t, d, mu, sigma, peer, limit, crim, n, k) -> Hit:
    sev = HIGH if crim is not None and t.kg >= crim else MEDIUM
    peer_txt = f"，同行 P95 {_kg(peer)} kg" if peer is not None else ""
    crim_txt = f"；达到刑事立案数量起点 {_kg(crim)} kg" if sev == HIGH else ""
    return Hit("R13", sev, t.buyer_id, f"size|{t.id}",
               f"买方 {_pname(facts, t.buyer_id)} 于 {d} 单笔购买{_sname(facts, t.substance)} {_kg(t.kg)} kg，超过异常"
               f"规模界限 {_kg(limit)} kg（近 {n} 笔均值 {_kg(mu)} kg + {_kg(k)}σ，σ={_kg(sigma)} kg{peer_txt}）{crim_txt}",
               _evidence([t]), details={"substance": t.substance, "kg": t.kg, "mean_kg": mu, "sigma_kg": sigma,
                                        "history_orders": n, "peer_limit_kg": peer, "limit_kg": limit,
                                        "criminal_threshold_kg": crim})


# --- R14 ---------------------------------------------------------------------------------------------------------

@rule("R14", "异常采购频次", "Unusual frequency", MEDIUM,
      params=("freq_window_days", "freq_factor", "freq_min_history_months", "freq_baseline_months",
              "freq_gap_shrink", "freq_min_orders"))
def r14_unusual_frequency(facts: Facts):
    """R14 — "Orders of s by B in a rolling 30 days > 2 × B's median monthly count (minimum history 6 months), or
    median inter-order gap shrinks by >50% → M."

    At each order, the window is the 30 days ending on its date. A "month" is a 30-day block counted back from the
    window start; the baseline is the median count over the complete blocks since B's first order of s (at most
    ``freq_baseline_months``, at least ``freq_min_history_months``, else no test). The gap test compares the median
    gap (days) between orders inside the window with the median gap between the baseline period's orders (at least
    ``freq_min_orders`` − 1 gaps). Both tests need ``freq_min_orders`` orders in the window (so a zero median is not
    beaten by one order). Equality never alerts."""
    w, factor = int(param(facts, "freq_window_days")), float(param(facts, "freq_factor"))
    min_hist, max_hist = int(param(facts, "freq_min_history_months")), int(param(facts, "freq_baseline_months"))
    shrink, min_orders = float(param(facts, "freq_gap_shrink")), int(param(facts, "freq_min_orders"))
    for (b, s), items in _by_buyer_substance(facts).items():
        ds = [d.toordinal() for d, _ in items]
        gaps = [0] + [ds[j] - ds[j - 1] for j in range(1, len(ds))]
        episodes, baseline = _Episodes(), _RangeMedian(gaps)
        for i, day in enumerate(ds):
            ws = day - w + 1
            lo, blocks = bisect_left(ds, ws), min(max_hist, (ws - ds[0]) // w)
            count, info = i + 1 - lo, None
            if blocks >= min_hist and count >= min_orders:
                base = median(bisect_left(ds, ws - m * w) - bisect_left(ds, ws - (m + 1) * w) for m in range(blocks))
                if count > factor * base:
                    info = {"test": "count", "count": count, "median_monthly": base}
                elif count >= 2:
                    g0 = bisect_left(ds, ws - blocks * w) + 1                # gaps between baseline orders
                    before = baseline.median(g0, lo) if lo - g0 >= max(1, min_orders - 1) else 0
                    recent = median(gaps[lo + 1:i + 1])
                    if before > 0 and recent < (1 - shrink) * before - _EPS:
                        info = {"test": "gap", "count": count, "median_gap_days": recent, "baseline_gap_days": before}
            opening = info is not None and not episodes.opened
            episodes.step(info, items[lo:i + 1] if opening else (), items[i])
        for first, txs, info in episodes:
            if info["test"] == "count":
                what = f"{w} 天内订购{_sname(facts, s)} {info['count']} 次，超过其月度订购次数中位数 " \
                       f"{_kg(info['median_monthly'])} 的 {_kg(factor)} 倍"
            else:
                what = f"订购{_sname(facts, s)}的间隔中位数由 {_kg(info['baseline_gap_days'])} 天缩短为 " \
                       f"{_kg(info['median_gap_days'])} 天（缩短超过 {_kg(shrink * 100)}%）"
            yield Hit("R14", MEDIUM, b, f"{b}|{s}|{first[0][0]}", f"买方 {_pname(facts, b)} {what}", _evidence(txs),
                      details={**info, "substance": s, "window_start": first[0][0].isoformat(),
                               "transactions": [t.id for t in txs]})


# --- R15 ---------------------------------------------------------------------------------------------------------

def _split_theta(facts: Facts, t: Transaction, local: dict) -> float | None:
    """θ(s): the local review threshold, else the largest max kg of the Cat-1 purchase licences the purchase cites."""
    if t.substance in local:
        return float(local[t.substance])
    caps = [a.substances.get(t.substance) for a in map(facts.authorizations.get, t.permits)
            if a is not None and a.type == PURCHASE_LICENCE]
    caps = [c for c in caps if c]
    return max(caps) if caps else None


@rule("R15", "拆单规避（结构化采购）", "Split orders / structuring", HIGH,
      params=("split_window_days", "split_thresholds_kg", "split_min_count", "split_min_filings"))
def r15_split_orders(facts: Facts):
    """R15 — "Group G = B plus entities linked to B (shared legal rep, phone, address, bank, device, or the same
    delivery address). In any W-day window: Σ_G q(s) ≥ θ(s) while each individual q < θ(s), and count ≥ 2 … → H.
    Also: ≥2 purchase filings in W by linked entities for the same seller and substance."

    Only purchases below their own θ take part (one above θ is no split; R04/R13 judge it); the window's θ is the
    largest θ among its members (constant when a local threshold exists). Party = buyer of the window's first order.
    Filings: PURCHASE_FILING authorizations naming a seller, by ``valid_from`` date, ≥ ``split_min_filings`` distinct
    linked holders in W; evidence = the filing numbers."""
    w, local = int(param(facts, "split_window_days")), param(facts, "split_thresholds_kg")
    min_count, min_filings = int(param(facts, "split_min_count")), int(param(facts, "split_min_filings"))
    label, _ = _groups(facts)
    for (_g, s), items in _by_group(facts).items():
        small = []
        for d, t in items:
            theta = _split_theta(facts, t, local)
            if theta is not None and t.kg < theta:
                small.append((d, t, theta))
        total, episodes, top = 0.0, _Episodes(), deque()     # top: sliding maximum of θ (decreasing)
        for win, removed in _slide(small, w):
            total = total + win[-1][1].kg - sum(x[1].kg for x in removed)
            for x in removed:
                if top and top[0] is x:
                    top.popleft()
            while top and top[-1][2] <= win[-1][2]:
                top.pop()
            top.append(win[-1])
            theta = top[0][2]
            hit = len(win) >= min_count and total >= theta - _EPS * max(1.0, theta)
            episodes.step({"sum_kg": total, "theta_kg": theta, "count": len(win)} if hit else None, win)
        for first, txs, info in episodes:
            b, buyers = first[0][1].buyer_id, sorted({x[1].buyer_id for x in first})
            via = f"经 {len(buyers)} 个关联主体" if len(buyers) > 1 else "分批"
            yield Hit("R15", HIGH, b, f"{b}|{s}|{first[0][0]}",
                      f"买方 {_pname(facts, b)} {w} 天内{via}购买{_sname(facts, s)}合计 "
                      f"{_kg(info['sum_kg'])} kg（{info['count']} 笔），单笔均低于 {_kg(info['theta_kg'])} kg",
                      _evidence(txs), details={**info, "substance": s, "buyers": buyers, "window_days": w,
                                               "window_start": first[0][0].isoformat(),
                                               "transactions": [t.id for t in txs]})
    filings = defaultdict(list)
    for a in sorted(facts.authorizations.values(), key=lambda a: (a.valid_from or date.min, a.id)):
        if a.type == PURCHASE_FILING and a.counterparty_id and a.valid_from:
            for s in a.substances:
                filings[(label.get(a.holder_id, a.holder_id), a.counterparty_id, s)].append((a.valid_from, a))
    for (_g, seller, s), items in filings.items():
        episodes = _Episodes()
        for win, _removed in _slide(items, w):
            holders = sorted({x[1].holder_id for x in win})
            episodes.step({"holders": holders} if len(holders) >= min_filings else None, win)
        for first, auths, info in episodes:
            b = first[0][1].holder_id
            yield Hit("R15", HIGH, b, f"filings|{b}|{seller}|{s}|{first[0][0]}",
                      f"关联主体 {'、'.join(_pname(facts, h) for h in info['holders'])} 在 {w} 天内就向 "
                      f"{_pname(facts, seller)} 购买{_sname(facts, s)}分别办理购买备案共 {len(auths)} 份",
                      tuple(a.id for a in auths), details={**info, "seller_id": seller, "substance": s,
                                                           "window_start": first[0][0].isoformat()})


# --- R16 ---------------------------------------------------------------------------------------------------------

@rule("R16", "多头采购", "Multi-sourcing", MEDIUM, params=("multi_source_days", "multi_source_min_sellers"))
def r16_multi_sourcing(facts: Facts):
    """R16 — "Number of distinct sellers supplying s to G in 90 days ≥ 3 and Σ across sellers > B's declared need
    → M (ARCOS-style 'market footprint')."

    The declared need is annual, so it is pro-rated to the window: Σ of the group members' declared_annual_kg[s] ×
    days/365. A group that declared no need has need 0 (nothing explains the footprint). Equality is no alert."""
    days, min_sellers = int(param(facts, "multi_source_days")), int(param(facts, "multi_source_min_sellers"))
    _label, members = _groups(facts)
    for (g, s), items in _by_group(facts).items():
        annual = sum(facts.parties[m].declared_annual_kg.get(s, 0.0) for m in members[g] if m in facts.parties)
        need = annual * days / 365.0
        sellers, total, episodes = Counter(), 0.0, _Episodes()
        for win, removed in _slide(items, days):
            for _d, old in removed:
                _count(sellers, old.seller_id, -1)
                total -= old.kg
            _count(sellers, win[-1][1].seller_id, 1)
            total += win[-1][1].kg
            hit = len(sellers) >= min_sellers and total > need + _EPS * max(1.0, need)
            episodes.step({"sellers": sorted(sellers), "sum_kg": total, "need_kg": need} if hit else None, win)
        for first, txs, info in episodes:
            b = first[0][1].buyer_id
            yield Hit("R16", MEDIUM, b, f"{b}|{s}|{first[0][0]}",
                      f"{_who(facts, b, (t.buyer_id for t in txs))} {days} 天内从 {len(info['sellers'])} 家卖方购买"
                      f"{_sname(facts, s)}合计 {_kg(info['sum_kg'])} kg，超过同期申报需求 {_kg(need)} kg",
                      _evidence(txs), details={**info, "substance": s, "annual_need_kg": annual,
                                               "window_start": first[0][0].isoformat(),
                                               "transactions": [t.id for t in txs]})


# --- R17 ---------------------------------------------------------------------------------------------------------

@rule("R17", "合成路线配套采购", "Route-kit co-purchase", HIGH,
      params=("route_kits", "route_kit_window_days", "route_kit_min_slots"))
def r17_route_kit(facts: Facts):
    """R17 — "G acquires, within W days, ≥2 members of a synthesis-route set (config) → H."

    A kit is a list of slots, each a list of alternative codes; a member is a covered slot (two alternatives of one
    slot, e.g. P-2-P and phenylacetic acid, are one member). Alert when the group's purchases in a W-day window cover
    ≥ min(route_kit_min_slots, slots) slots. Party = buyer of the window's first order."""
    kits, w = param(facts, "route_kits"), int(param(facts, "route_kit_window_days"))
    min_slots = int(param(facts, "route_kit_min_slots"))
    label, _ = _groups(facts)
    slot_of = defaultdict(list)                   # code → [(kit, slot)]
    for ki, kit in enumerate(kits):
        for si, slot in enumerate(kit):
            for code in slot:
                slot_of[code].append((ki, si))
    streams = defaultdict(list)                   # (group, kit) → [(date, tx, slot)]
    for d, t in _purchases(facts):
        for ki, si in slot_of.get(t.substance, ()):
            streams[(label[t.buyer_id], ki)].append((d, t, si))
    for (_g, ki), items in sorted(streams.items()):
        need, covered, codes, episodes = min(min_slots, len(kits[ki])), Counter(), Counter(), _Episodes()
        for win, removed in _slide(items, w):
            for old in removed:
                _count(covered, old[2], -1)
                _count(codes, old[1].substance, -1)
            _count(covered, win[-1][2], 1)
            _count(codes, win[-1][1].substance, 1)
            hit = len(covered) >= need
            episodes.step({"slots": sorted(covered), "substances": sorted(codes)} if hit else None, win)
        for first, txs, info in episodes:
            b = first[0][1].buyer_id
            yield Hit("R17", HIGH, b, f"{b}|kit{ki}|{first[0][0]}",
                      f"{_who(facts, b, (t.buyer_id for t in txs))} {w} 天内购买了同一合成路线的配套物品："
                      f"{'、'.join(_sname(facts, c) for c in info['substances'])}", _evidence(txs),
                      details={**info, "kit": kits[ki], "buyers": sorted({t.buyer_id for t in txs}),
                               "window_start": first[0][0].isoformat(), "transactions": [t.id for t in txs]})


# --- R18 ---------------------------------------------------------------------------------------------------------

@rule("R18", "主体画像不符", "Profile inconsistency", MEDIUM,
      params=("plausible_substances", "trader_idle_days", "new_entity_days"))
def r18_profile(facts: Facts):
    """R18 — "B's declared industry or use does not plausibly consume s (mapping table industry→plausible
    substances), e.g. a trading company with inbound s but no outbound for >90 days, or a newly incorporated entity
    (<180 days) buying Cat 1/2 → M."

    Three findings, each aggregated per (B, s) so the nightly run keeps one alert: (1) industry — only industries in
    the mapping are judged ('*' = any; unknown industry: no opinion); (2) new entity — purchase date − registered_on
    < new_entity_days, Cat 1/2 only; (3) idle trader (TRADER, not also producer/user) — from the first inbound after the
    last outbound (sales incl. exports) to the next outbound, or to as_of, more than trader_idle_days. Buyers outside
    the registry are R12's."""
    mapping, idle = param(facts, "plausible_substances"), int(param(facts, "trader_idle_days"))
    young, as_of = int(param(facts, "new_entity_days")), local_date(facts.as_of)
    traders = {p.id for p in facts.parties.values() if TRADER in p.kinds and not p.kinds & {PRODUCER, USER}}
    sales = defaultdict(list)       # only the idle-trader finding reads them: only traders' (a date per sale)
    for t in facts.transactions:
        if t.seller_id in traders:
            sales[(t.seller_id, t.substance)].append(local_date(t.time))
    for (b, s), items in sorted(_by_buyer_substance(facts).items()):
        p = facts.parties.get(b)
        if p is None or not p.in_registry:
            continue
        allowed = mapping.get(p.industry) if p.industry else None
        if allowed is not None and "*" not in allowed and s not in allowed:
            yield _r18_hit(facts, p, s, f"industry|{b}|{s}", items, f"（行业：{p.industry}）", "与其行业用途不符",
                           {"industry": p.industry})
        if p.registered_on and _category(facts, s) in (1, 2):
            early = [x for x in items if (x[0] - p.registered_on).days < young]
            if early:
                yield _r18_hit(facts, p, s, f"new|{b}|{s}", early, f"（成立于 {p.registered_on}）",
                               f"成立不足 {young} 天即购买第{_category(facts, s)}类易制毒化学品",
                               {"registered_on": p.registered_on.isoformat()})
        if TRADER in p.kinds and not p.kinds & {PRODUCER, USER}:
            yield from _idle_runs(facts, p, s, items, sorted(sales.get((b, s), [])), idle, as_of)


def _idle_runs(facts, p, s, items, out_dates, idle, as_of):
    """A run starts at the first inbound after an outbound and ends at the next outbound (or as_of)."""
    in_dates, i = [d for d, _ in items], 0
    while i < len(items):
        start = in_dates[i]
        k = bisect_left(out_dates, start)
        end = out_dates[k] if k < len(out_dates) else as_of
        j = max(i + 1, bisect_right(in_dates, end))
        if (end - start).days > idle:
            yield _r18_hit(facts, p, s, f"idle|{p.id}|{s}|{start}", items[i:j], "（贸易企业）",
                           f"自 {start} 起 {(end - start).days} 天无销售出库",
                           {"run_start": start.isoformat(), "run_end": end.isoformat(),
                            "idle_days": (end - start).days, "outbound_seen": k < len(out_dates)})
        i = j


def _r18_hit(facts, p, s, key, items, who, what, extra) -> Hit:
    txs = [t for _d, t in items]
    total = sum(t.kg for t in txs)
    return Hit("R18", MEDIUM, p.id, key,
               f"买方 {p.name}{who}购买{_sname(facts, s)} {len(txs)} 笔合计 {_kg(total)} kg，{what}",
               _evidence(txs), details={**extra, "substance": s, "count": len(txs), "sum_kg": total,
                                        "transactions": [t.id for t in txs]})
