"""Operational diversion rules R22–R30 (research/precursors.md §4): stock counts, tag custody, loss and annual
reports, on-site inspection coverage (also the 100% 现场检查率 KPI), dormant licences, equipment ownership, GPS
routes and the local watch list of non-listed chemicals. Plain Python over :class:`facts.Facts`, no Django.

Every rule builds its indexes once per call and is linear (or n log n) in the events it reads. Day deadlines are
judged on China Standard Time calendar dates (``local_date``); hour deadlines on exact instants.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import chain

from .base import HIGH, MEDIUM, Hit, define_param, param, rule
from .facts import (
    ANNUAL_REPORT,
    CST,
    INDIVIDUAL,
    LOSS_REPORT,
    MEDICAL,
    RESEARCH,
    VALID,
    Facts,
    Inspection,
    Party,
    local_date,
)

EPS = 1e-9                    # float slack: a value exactly at a tolerance is within it
EVIDENCE_CAP = 20             # keep alerts readable; the details say how many there were

SHIP, RECEIVE = "shipping", "receiving"
DESTROY_STEPS = frozenset({"destroying", "decommissioning"})
DESTROY_DISPOSITIONS = frozenset({"destroyed", "disposed"})


# --- small helpers ----------------------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def _word(value: str | None) -> str:
    """Bare CBV word from a bare word, a URN (urn:epcglobal:cbv:bizstep:shipping) or a Web URI (…/BizStep-shipping)."""
    if not value:
        return ""
    tail = value.replace("/", ":").rsplit(":", 1)[-1]
    for prefix in ("BizStep-", "Disp-"):
        if tail.startswith(prefix):
            return tail[len(prefix):]
    return tail


def _evidence(event_ids: Iterable[str | None], *others: Iterable[str | None]) -> tuple[str, ...]:
    """Event ids first, then filing / inspection / permit ids; no duplicates, no blanks, capped."""
    out: dict[str, None] = {}
    for group in (event_ids, *others):
        for x in group:
            if x and len(out) < EVIDENCE_CAP:
                out.setdefault(x, None)
    return tuple(out)


def _name(facts: Facts, party_id: str | None) -> str:
    p = facts.parties.get(party_id) if party_id else None
    return p.name if p else (party_id or "未知单位")


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=CST)


def _domestic_unit(p: Party) -> bool:
    """A domestic organisation (individuals and foreign parties have no filing / inspection duties here)."""
    return INDIVIDUAL not in p.kinds and p.country == "CN"


# === R22 =========================================================================================================

define_param("count_abs_tol_kg", 0.1, "kg", "local policy (research §4 R22)", "U", "盘点与账面差异的绝对容差")
define_param("count_rel_tol", 0.005, "ratio", "research §4 R09 (solids/acids)", "U", "盘点差异的相对容差（占账面量）")
define_param("count_rel_tol_volatile", 0.02, "ratio", "research §4 R09 (solvents)", "U", "挥发性溶剂盘点差异的相对容差")


@rule("R22", "检查盘点实物与账面不符", "Physical vs book stock at inspection", HIGH,
      params=("count_abs_tol_kg", "count_rel_tol", "count_rel_tol_volatile"))
def r22_stock_count(facts: Facts) -> Iterator[Hit]:
    """Inspection count c vs ledger L at the count time: |c−L| > tol → H. Counted tags not in the ledger, or ledger
    tags not found → H.  tol = max(count_abs_tol_kg, rel_tol·|L|); rel_tol is wider for volatile solvents."""
    abs_tol = param(facts, "count_abs_tol_kg")
    for sc in facts.stock_counts:
        if sc.time > facts.as_of:
            continue
        sub = facts.substances.get(sc.substance)
        rel = param(facts, "count_rel_tol_volatile" if sub is not None and sub.volatile else "count_rel_tol")
        tol = max(abs_tol, rel * abs(sc.book_kg))
        diff = sc.counted_kg - sc.book_kg
        qty_bad = abs(diff) > tol + EPS
        if sc.book_tags is None:          # no tag-level book to compare with (e.g. counted by weight only)
            unexpected, missing = [], []
        else:
            unexpected, missing = sorted(sc.counted_tags - sc.book_tags), sorted(sc.book_tags - sc.counted_tags)
        if not (qty_bad or unexpected or missing):
            continue
        parts = []
        if qty_bad:
            parts.append(f"实盘{sc.counted_kg:.3f}kg、账面{sc.book_kg:.3f}kg，差异{diff:+.3f}kg超过容差{tol:.3f}kg")
        if missing:
            parts.append(f"账面有而未盘到的标签{len(missing)}个")
        if unexpected:
            parts.append(f"盘到但不在账面的标签{len(unexpected)}个")
        yield Hit("R22", HIGH, sc.party_id, sc.id,
                  f"{_name(facts, sc.party_id)} {sc.substance} 盘点与台账不符：" + "；".join(parts),
                  evidence=_evidence(sc.event_ids, [sc.inspection_id]),
                  details={"counted_kg": sc.counted_kg, "book_kg": sc.book_kg, "diff_kg": diff, "tol_kg": tol,
                           "missing_tags": missing, "unexpected_tags": unexpected, "site_id": sc.site_id})


# === R23 =========================================================================================================

define_param("custody_receive_days", 7, "days", "local policy (research §4 R23)", "U", "发货后须在N个自然日内收货")
define_param("custody_site_exempt_kinds", ["warehouse", "carrier"], "party kinds", "local policy", "U",
             "代为保管货物的第三方仓储/承运单位：其场所出现他人货物不视为保管链断裂")


def _export_event_ids(facts: Facts) -> set[str]:
    """Shipping events of exports: the tag leaves the country, so no domestic receiving event is expected."""
    return {e for t in facts.transactions if t.is_export or t.destination_country != "CN" for e in t.event_ids}


@rule("R23", "标签级保管链断裂", "Chain-of-custody break (tag level)", HIGH,
      params=("custody_receive_days", "custody_site_exempt_kinds"))
def r23_custody(facts: Facts) -> Iterator[Hit]:
    """Tag seen in a shipping event but with no receiving event within N days; or seen after a DELETE/destroyed
    event; or seen at a site not owned by the current owning party → H.

    * The receipt answering a shipment is the first receiving sighting before the tag's next shipping; it must fall
      on or before CST date(ship)+N. A missing receipt is due only once as_of's date is past that day. Exports
      (the shipping event belongs to an export transaction) need no receipt.
    * Current owner = the sighting's owner, else the site's party at a receiving sighting (custody taken), else the
      last owner seen. Sites of third-party warehouses / carriers are exempt (they hold others' goods lawfully).
    """
    days = timedelta(days=param(facts, "custody_receive_days"))
    exempt_kinds = set(param(facts, "custody_site_exempt_kinds"))
    today = local_date(facts.as_of)
    exports = _export_event_ids(facts)
    by_epc: dict[str, list] = defaultdict(list)
    for s in facts.tag_sightings:
        if s.time <= facts.as_of:
            by_epc[s.epc].append(s)
    for epc, seen in by_epc.items():
        seen.sort(key=lambda s: (s.time, s.event_id))
        steps = [_word(s.biz_step) for s in seen]
        yield from _unreceived(facts, epc, seen, steps, days, today, exports)
        yield from _after_destroy(epc, seen, steps)
        yield from _foreign_sites(facts, epc, seen, steps, exempt_kinds)


def _unreceived(facts, epc, seen, steps, days, today, exports) -> Iterator[Hit]:
    for i, s in enumerate(seen):
        if steps[i] != SHIP or s.event_id in exports:
            continue
        receipt = None
        for j in range(i + 1, len(seen)):       # segments between shipments are disjoint: linear per tag
            if steps[j] == SHIP:
                break
            if steps[j] == RECEIVE:
                receipt = seen[j]
                break
        due = local_date(s.time) + days
        if receipt is not None and local_date(receipt.time) <= due:
            continue
        if receipt is None and today <= due:
            continue                            # not yet overdue
        late = receipt is not None
        status = f"迟至{local_date(receipt.time)}才收货" if late else f"截至{today}仍无收货记录"
        msg = f"标签{epc}于{local_date(s.time)}发货，{status}（时限{days.days}天，至{due}）"
        yield Hit("R23", HIGH, s.owner_id, f"{epc}|{s.event_id}", msg,
                  evidence=_evidence([s.event_id, receipt.event_id if late else None]),
                  details={"kind": "late_receipt" if late else "no_receipt", "shipped_on": str(local_date(s.time)),
                           "due": str(due), "received_on": str(local_date(receipt.time)) if late else None})


def _after_destroy(epc, seen, steps) -> Iterator[Hit]:
    for i, s in enumerate(seen):
        if steps[i] in DESTROY_STEPS or _word(s.disposition) in DESTROY_DISPOSITIONS:
            later = [x for x in seen[i + 1:] if x.time > s.time]
            if later:
                yield Hit("R23", HIGH, later[0].owner_id or s.owner_id, f"{epc}|{s.event_id}|after_destroy",
                          f"标签{epc}已于{local_date(s.time)}销毁，之后仍被采集到{len(later)}次",
                          evidence=_evidence([s.event_id], [x.event_id for x in later]),
                          details={"kind": "after_destroy", "sightings_after": len(later)})
            return                               # one destruction per tag is enough to judge


def _foreign_sites(facts, epc, seen, steps, exempt_kinds) -> Iterator[Hit]:
    owner, found = None, {}
    for i, s in enumerate(seen):
        site = facts.sites.get(s.site_id) if s.site_id else None
        owner = s.owner_id or (site.party_id if site is not None and steps[i] == RECEIVE else owner)
        if site is None or owner is None or site.party_id == owner:
            continue
        holder = facts.parties.get(site.party_id)
        if holder is not None and holder.kinds & exempt_kinds:
            continue
        found.setdefault((site.id, owner), []).append(s.event_id)
    for (site_id, own), eids in found.items():
        holder_id = facts.sites[site_id].party_id
        yield Hit("R23", HIGH, own, f"{epc}|{site_id}|foreign_site",
                  f"标签{epc}（属{_name(facts, own)}）出现在{_name(facts, holder_id)}的场所{site_id}，共{len(eids)}次",
                  evidence=_evidence(eids), details={"kind": "foreign_site", "site_id": site_id,
                                                     "site_party": holder_id, "owner": own, "sightings": len(eids)})


# === R24 =========================================================================================================

define_param("loss_report_hours", 24, "hours", "条例 ch. 7 '立即' (research §1.4)", "U", "丢失、被盗后须报告的时限")


@rule("R24", "丢失被盗未及时报告", "Loss or theft reporting", HIGH, params=("loss_report_hours",))
def r24_loss_report(facts: Facts) -> Iterator[Hit]:
    """A stolen/lost disposition event, or a negative gap attributed to "loss", without a loss report filed within
    24 h [U: "立即"] → H.  The losses are facts.losses (the Django layer builds them from both sources). A report
    counts when it cites the loss (transaction_id = loss id) and is submitted by loss time + H, or when it cites
    nothing, comes from the same party and is submitted within ±H of the loss (a theft is often reported before
    the stock gap is booked)."""
    window = timedelta(hours=param(facts, "loss_report_hours"))
    linked: dict[str, list] = defaultdict(list)
    unlinked: dict[str, list] = defaultdict(list)
    for f in facts.filings_of(LOSS_REPORT):
        (linked[f.transaction_id] if f.transaction_id else unlinked[f.party_id]).append(f)
    for loss in facts.losses:
        deadline = loss.time + window
        mine = [f for f in linked.get(loss.id, ()) if f.party_id == loss.party_id or not f.party_id]
        if any(f.submitted_at <= deadline for f in mine) or any(
                loss.time - window <= f.submitted_at <= deadline for f in unlinked.get(loss.party_id, ())):
            continue
        if facts.as_of <= deadline:
            continue                              # still inside the reporting window
        late = min(mine, key=lambda f: f.submitted_at) if mine else None
        hours = (late.submitted_at - loss.time).total_seconds() / 3600 if late else None
        status = f"迟至{hours:.1f}小时后才报告" if late else "至今未报告"
        yield Hit("R24", HIGH, loss.party_id, loss.id,
                  f"{_name(facts, loss.party_id)} {loss.substance} 丢失/被盗{loss.kg:.3f}kg（{local_date(loss.time)}），"
                  f"{status}（时限{window.total_seconds() / 3600:g}小时）",
                  evidence=_evidence(loss.event_ids, [late.id if late else None]),
                  details={"kg": loss.kg, "limit_hours": window.total_seconds() / 3600, "reported_after_hours": hours})


# === R25 =========================================================================================================

define_param("annual_report_month_day", (3, 31), "(month, day)", "87号令 art. 28 (research §1.4)", "V", "年度报告截止日")


def _active_parties(facts: Facts, year: int) -> dict[str, list[str]]:
    """Parties active in ``year`` → event ids showing it: any transaction (either side) or receipt (either side)
    dated in that year, or a registry party that is active and registered on or before 31 December of the year
    (registered_on unknown = long-standing)."""
    start, end = _midnight(date(year, 1, 1)), _midnight(date(year + 1, 1, 1))
    active: dict[str, list[str]] = defaultdict(list)
    for x in chain(facts.transactions, facts.receipts):
        if start <= x.time < end:
            for pid in (x.seller_id, x.buyer_id):
                if len(active[pid]) < 5:
                    active[pid].extend(x.event_ids[:1])
    for p in facts.parties.values():
        if p.in_registry and p.active and (p.registered_on is None or p.registered_on <= date(year, 12, 31)):
            active.setdefault(p.id, [])
    return active


@rule("R25", "年度报告未报送", "Annual report missing", MEDIUM, params=("annual_report_month_day",))
def r25_annual_report(facts: Facts) -> Iterator[Hit]:
    """On 1 April: every party active in year Y−1 without an annual report for Y−1 → M.

    Raised only once as_of's CST date is after the deadline (31 March) of its year Y. Only domestic organisations
    known to the registry are obliged (individuals, foreign and unknown ids are out: R12 covers the unknown). A
    report without a year is taken for the year before the one it was submitted in."""
    today = local_date(facts.as_of)
    month, day = param(facts, "annual_report_month_day")
    deadline = date(today.year, month, day)
    if today <= deadline:
        return
    year = today.year - 1
    reported = {f.party_id for f in facts.filings_of(ANNUAL_REPORT)
                if (f.year if f.year is not None else local_date(f.submitted_at).year - 1) == year}
    for pid, eids in sorted(_active_parties(facts, year).items()):
        p = facts.parties.get(pid)
        if p is None or not _domestic_unit(p) or pid in reported:
            continue
        yield Hit("R25", MEDIUM, pid, f"{pid}|{year}",
                  f"{p.name} {year}年度有易制毒化学品活动或在册，截至{today}未报送{year}年度报告（应于{deadline}前报送）",
                  evidence=_evidence(eids), details={"year": year, "deadline": str(deadline), "activity_events": eids})


# === R26 =========================================================================================================

define_param("inspection_warning_days", 30, "days", "research §4 R26 ('P−30 days')", "U", "周期结束前N天起预警")
define_param("inspection_frequency_by_grade", {"high": 4, "medium": 2, "low": 1}, "inspections / year",
             "local policy, 分级分类监管 (research §4 R26, §5.1)", "U", "按风险等级每年应现场检查次数（按期均分）")


@dataclass(slots=True)
class AreaCoverage:
    area: str
    numerator: int
    denominator: int
    ratio: float | None
    uninspected: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CoverageReport:
    start: date
    end: date
    areas: dict[str, AreaCoverage]
    numerator: int
    denominator: int
    ratio: float | None

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "numerator": self.numerator,
                "denominator": self.denominator, "ratio": self.ratio,
                "areas": {a: asdict(c) for a, c in sorted(self.areas.items())}}


def _on_site(i: Inspection, start: date, end: date) -> bool:
    return i.completed and i.on_site and start <= local_date(i.time) <= end


def _registered_active(p: Party, end: date) -> bool:
    return (p.in_registry and p.active and _domestic_unit(p)
            and (p.registered_on is None or p.registered_on <= end))


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def inspection_coverage(parties: Iterable[Party] | Mapping[str, Party], inspections: Iterable[Inspection],
                        start: date, end: date, *,
                        area_of: Callable[[Party], str] = lambda p: p.area_code) -> CoverageReport:
    """现场检查率 for [start, end] (CST dates, inclusive): per area, the registered active parties (domestic
    organisations registered by ``end``) with ≥1 completed on-site inspection in the period, over all of them;
    the city total is Σ numerators / Σ denominators. Ratio is None when there is nobody to inspect."""
    if isinstance(parties, Mapping):
        parties = parties.values()
    population = {p.id: p for p in parties if _registered_active(p, end)}
    inspected = {i.party_id for i in inspections if i.party_id in population and _on_site(i, start, end)}
    areas: dict[str, AreaCoverage] = {}
    for pid in sorted(population):
        area = area_of(population[pid])
        cov = areas.setdefault(area, AreaCoverage(area, 0, 0, None))
        cov.denominator += 1
        if pid in inspected:
            cov.numerator += 1
        else:
            cov.uninspected.append(pid)
    for cov in areas.values():
        cov.ratio = _ratio(cov.numerator, cov.denominator)
    num, den = sum(c.numerator for c in areas.values()), sum(c.denominator for c in areas.values())
    return CoverageReport(start, end, areas, num, den, _ratio(num, den))


def _grade_periods(year: int, n: int) -> list[tuple[date, date]]:
    """The year cut into n periods on month boundaries (4 → quarters, 2 → halves; at most 12)."""
    n = max(1, min(n, 12))
    starts = [1 + 12 * k // n for k in range(n)] + [13]
    return [(date(year, starts[k], 1),
             date(year, 12, 31) if starts[k + 1] == 13 else date(year, starts[k + 1], 1) - timedelta(days=1))
            for k in range(n)]


@rule("R26", "现场检查覆盖率不足", "Inspection coverage (100% on-site KPI)", MEDIUM,
      params=("inspection_warning_days", "inspection_frequency_by_grade"))
def r26_inspection_coverage(facts: Facts) -> Iterator[Hit]:
    """For period P (a calendar year): coverage = |{registered parties with ≥1 completed on-site inspection in P}|
    / |{registered parties active in P}|. Alert if < 100% at P−30 days, listing the uninspected parties (one hit
    per party, key party|year). High-risk grade → inspection frequency per grade: a grade with n > 1 inspections a
    year needs one in each of n equal periods (4 = quarterly), each judged from its end − warning days on (key
    party|year|k/n). A frequency of 1 is the coverage check itself, so it raises nothing more."""
    today = local_date(facts.as_of)
    year, warn = today.year, timedelta(days=param(facts, "inspection_warning_days"))
    start, end = date(year, 1, 1), date(year, 12, 31)
    if today >= end - warn:
        done = [i for i in facts.inspections if i.time <= facts.as_of]       # planned ones are not coverage
        report = inspection_coverage(facts.parties, done, start, end)
        if report.ratio is not None and report.ratio < 1:
            for area, cov in sorted(report.areas.items()):
                for pid in cov.uninspected:
                    yield Hit("R26", MEDIUM, pid, f"{pid}|{year}",
                              f"{_name(facts, pid)} {year}年度尚未完成现场检查；辖区{area}覆盖率{cov.ratio:.1%}"
                              f"（{cov.numerator}/{cov.denominator}），全市{report.ratio:.1%}"
                              f"（{report.numerator}/{report.denominator}），须于{end}前检查",
                              details={"year": year, "area": area, "area_numerator": cov.numerator,
                                       "area_denominator": cov.denominator, "area_ratio": cov.ratio,
                                       "city_numerator": report.numerator, "city_denominator": report.denominator,
                                       "city_ratio": report.ratio})
    yield from _grade_shortfalls(facts, year, today, warn)


def _grade_shortfalls(facts: Facts, year: int, today: date, warn: timedelta) -> Iterator[Hit]:
    freq = {str(g).lower(): int(n) for g, n in param(facts, "inspection_frequency_by_grade").items()}
    graded = {p.id: freq[p.risk_grade.lower()] for p in facts.parties.values()
              if freq.get(p.risk_grade.lower(), 0) > 1 and _registered_active(p, date(year, 12, 31))}
    if not graded:
        return
    visits: dict[str, list[Inspection]] = defaultdict(list)
    for i in facts.inspections:
        if i.party_id in graded and i.time <= facts.as_of and _on_site(i, date(year, 1, 1), date(year, 12, 31)):
            visits[i.party_id].append(i)
    for pid, n in sorted(graded.items()):
        registered = facts.parties[pid].registered_on
        for k, (p_start, p_end) in enumerate(_grade_periods(year, n), 1):
            if registered is not None and registered > p_end:
                continue                    # the party did not exist yet in this period
            if today < p_end - warn or any(p_start <= local_date(i.time) <= p_end for i in visits[pid]):
                continue
            grade = facts.parties[pid].risk_grade
            yield Hit("R26", MEDIUM, pid, f"{pid}|{year}|{k}/{n}",
                      f"{_name(facts, pid)} 风险等级{grade}，应每年现场检查{n}次，"
                      f"第{k}期（{p_start}至{p_end}）无现场检查；本年已检查{len(visits[pid])}次",
                      evidence=_evidence((), [i.id for i in visits[pid]]),
                      details={"year": year, "grade": grade, "required_per_year": n, "period": k,
                               "period_start": str(p_start), "period_end": str(p_end),
                               "inspections_this_year": len(visits[pid])})


# === R27 =========================================================================================================

define_param("dormant_days", 365, "days", "research §4 R27 ('12 months')", "U", "持证单位自身无任何记录的天数")


def _valid_on(a, d: date) -> bool:
    return (a.status == VALID and (a.valid_from is None or a.valid_from <= d)
            and (a.valid_to is None or d <= a.valid_to) and (a.revoked_on is None or d < a.revoked_on))


@rule("R27", "休眠或空壳许可", "Dormant or shell licence", HIGH, params=("dormant_days",))
def r27_dormant(facts: Facts) -> Iterator[Hit]:
    """Valid licence or filing but zero recorded activity for 12 months while counterparties record transactions
    with it → H. A licence holder whose registered site fails a geo check (no facility) → M.

    Own records = sales it shipped (seller of a transaction), receipts it booked, transformations it ran; counterparty
    records = others' sales to it and others' receipts from it. Both are counted in the window [as_of date −
    dormant_days, as_of]. The geo check is Party.residential_site (registered site geocodes to a residential /
    virtual address)."""
    today = local_date(facts.as_of)
    since = _midnight(today - timedelta(days=param(facts, "dormant_days")))
    holders: dict[str, list[str]] = defaultdict(list)
    for a in facts.authorizations.values():
        if _valid_on(a, today):
            holders[a.holder_id].append(a.id)
    if not holders:
        return
    own = {x.party_id for x in facts.transformations if since <= x.time <= facts.as_of}
    others: dict[str, list[str]] = defaultdict(list)
    # A transaction is the seller's record and a receipt the buyer's; the other side appears in someone else's.
    # (A generator: a list of the 900,000 (recorder, other side, record) triples would hold 65 MB.)
    records = chain(((t.seller_id, t.buyer_id, t) for t in facts.transactions),
                    ((r.buyer_id, r.seller_id, r) for r in facts.receipts))
    for recorder, other_side, x in records:
        if since <= x.time <= facts.as_of:
            own.add(recorder)
            if other_side in holders:
                others[other_side].extend(x.event_ids)
    for pid, auths in sorted(holders.items()):
        if pid not in own and others.get(pid):
            yield Hit("R27", HIGH, pid, f"{pid}|dormant",
                      f"{_name(facts, pid)} 持有有效许可/备案，但自{local_date(since)}以来本单位无任何记录，"
                      f"而相对方记录了与其交易的事件{len(others[pid])}条",
                      evidence=_evidence(others[pid], sorted(auths)),
                      details={"since": str(local_date(since)), "counterparty_events": len(others[pid]),
                               "authorizations": sorted(auths)})
        p = facts.parties.get(pid)
        if p is not None and p.residential_site:
            yield Hit("R27", MEDIUM, pid, f"{pid}|geo",
                      f"{p.name} 持有有效许可/备案，但注册场所地理核验为住宅/虚拟地址，疑无实际经营场所",
                      evidence=_evidence((), sorted(auths)), details={"authorizations": sorted(auths)})


# === R28 =========================================================================================================

define_param("equipment_types_policed", ["nmr", "tablet_press", "encapsulator"], "equipment types",
             "INCB art. 13 guidelines; local NMR policy (research §2.2)", "U", "纳入持有登记管控的设备类型")
define_param("nmr_allowed_industries", ["university", "research_institute", "hospital", "pharma_rnd", "chemical_qc",
                                        "testing_lab", "instrument_distributor"], "industries",
             "local policy (research §4 R28)", "U", "允许持有核磁共振波谱仪的行业（另：科研、医疗单位）")
define_param("press_allowed_industries", ["pharma_manufacturer", "health_food_manufacturer", "pharma_rnd",
                                          "university", "research_institute", "instrument_distributor"],
             "industries", "local policy (INCB art. 13)", "U", "允许持有压片机、胶囊填充机的行业")
define_param("nmr_benchtop_mhz", 100, "MHz", "research §2.2 (benchtop NMR)", "M", "台式核磁的场强上限（风险加权）")
define_param("nmr_benchtop_weight", 2.0, "weight", "local policy", "U", "台式核磁的风险权重")
define_param("equipment_cobuy_categories", [1, 2], "categories", "research §4 R28", "U", "设备持有人不应购买的类别")

DISTRIBUTOR = "instrument_distributor"


def _allowed_owner(p: Party | None, kind: str, allowed: set[str], resellers: set[str]) -> bool:
    if p is None or not p.in_registry or INDIVIDUAL in p.kinds:
        return False
    if kind == "nmr" and p.kinds & {RESEARCH, MEDICAL}:
        return True
    # A distributor is allowed only "with resale records": it has passed on at least one unit.
    return p.industry in allowed and (p.industry != DISTRIBUTOR or p.id in resellers)


def _unregistered_or_individual(facts: Facts, pid: str | None) -> bool:
    p = facts.parties.get(pid) if pid else None
    return p is None or not p.in_registry or INDIVIDUAL in p.kinds


@rule("R28", "核磁等设备持有风险", "NMR / equipment ownership risk", HIGH,
      params=("equipment_types_policed", "nmr_allowed_industries", "press_allowed_industries", "nmr_benchtop_mhz",
              "nmr_benchtop_weight", "equipment_cobuy_categories"))
def r28_equipment(facts: Facts) -> Iterator[Hit]:
    """Equipment.type=NMR (any field strength; benchtop ≤100 MHz weighted higher) whose owner is not in the allowed
    set → H. Also H: an owner that also buys Cat 1/2 substances; a transfer to an individual or unregistered party;
    a site in residential or rented warehouse space. Same pattern for tablet presses and encapsulators, with their
    own allowed industries. One hit per unit listing every reason; the benchtop weight is in details["weight"]."""
    policed = {t.lower() for t in param(facts, "equipment_types_policed")}
    nmr_ok, press_ok = set(param(facts, "nmr_allowed_industries")), set(param(facts, "press_allowed_industries"))
    cobuy_cats = set(param(facts, "equipment_cobuy_categories"))
    units = [e for e in facts.equipment if e.type.lower() in policed]
    if not units:
        return
    owners = {e.owner_id for e in units}
    resellers = {frm for e in facts.equipment for _, frm, _ in e.transfers if frm}
    cobuys: dict[str, list] = defaultdict(list)
    for t in facts.transactions:
        sub = facts.substances.get(t.substance)
        if t.buyer_id in owners and sub is not None and sub.category in cobuy_cats and t.time <= facts.as_of:
            cobuys[t.buyer_id].append(t)
    for e in units:
        kind, owner = e.type.lower(), facts.parties.get(e.owner_id) if e.owner_id else None
        reasons = []
        if not _allowed_owner(owner, kind, nmr_ok if kind == "nmr" else press_ok, resellers):
            reasons.append(f"持有人行业“{owner.industry if owner else '未登记'}”不在允许范围")
        bought = cobuys.get(e.owner_id, [])
        if bought:
            codes = sorted({t.substance for t in bought})
            reasons.append(f"持有人购买第{'/'.join(str(c) for c in sorted(cobuy_cats))}类易制毒化学品{len(bought)}笔"
                           f"（{'、'.join(codes[:5])}{'等' if len(codes) > 5 else ''}）")
        bad_to = [(d, to) for d, _, to in e.transfers if _unregistered_or_individual(facts, to)]
        if bad_to:
            reasons.append(f"曾转让给个人或未登记单位{len(bad_to)}次")
        site = facts.sites.get(e.site_id) if e.site_id else None
        if (site is not None and site.residential) or (site is None and owner is not None and owner.residential_site):
            reasons.append("存放于住宅")
        elif site is not None and site.kind == "warehouse" and site.party_id != e.owner_id:
            reasons.append("存放于他人（租用）仓库")
        if not reasons:
            continue
        benchtop = kind == "nmr" and (e.benchtop or (e.field_mhz is not None
                                                    and e.field_mhz <= param(facts, "nmr_benchtop_mhz")))
        weight = param(facts, "nmr_benchtop_weight") if benchtop else 1.0
        label = "台式核磁" if benchtop else {"nmr": "核磁共振波谱仪", "tablet_press": "压片机",
                                            "encapsulator": "胶囊填充机"}.get(kind, kind)
        yield Hit("R28", HIGH, e.owner_id, e.id, f"{_name(facts, e.owner_id)} 持有{label}（{e.id}）：" + "；".join(reasons),
                  evidence=_evidence([x for t in bought for x in t.event_ids], [e.id]),
                  details={"type": kind, "benchtop": benchtop, "field_mhz": e.field_mhz, "weight": weight,
                           "reasons": reasons, "cobuy_transactions": [t.id for t in bought],
                           "bad_transfers": [(str(d), to) for d, to in bad_to]})


# === R29 =========================================================================================================

define_param("route_deviation_km", 5.0, "km", "local policy (research §4 R29)", "U", "GPS偏离规划路线的距离阈值")
define_param("stop_minutes", 30, "minutes", "local policy", "U", "非计划停留时长阈值")
define_param("stop_radius_km", 0.2, "km", "local policy", "U", "连续定位点在此半径内视为停留")
define_param("stop_endpoint_km", 1.0, "km", "local policy", "U", "起点、终点此范围内的停留视为计划停留（装卸）")
define_param("eta_hours", 2, "hours", "local policy", "U", "到达时间超过预计到达时间的小时数阈值")
define_param("weight_rel_tol", 0.01, "ratio", "local policy", "U", "到达时重量（罐液位）减少的相对容差")


@lru_cache(maxsize=1024)
def _aeqd(lon: float, lat: float):
    from pyproj import Proj  # R29's geometry libraries load when a GPS track is judged, not with the app

    return Proj(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m")


def _to_xy(lonlats: list[tuple[float, float]], centre: tuple[float, float]) -> list[tuple[float, float]]:
    """Metres in an azimuthal equidistant projection (WGS-84) centred on ``centre``: distances within a few hundred
    km of it are true to better than 0.1%, so a planar point-to-polyline distance is a geodesic one."""
    xs, ys = _aeqd(*centre)([p[0] for p in lonlats], [p[1] for p in lonlats])
    return list(zip(xs, ys))


def _distances_km(route_xy, points_xy) -> list[float]:
    import shapely

    line = shapely.LineString(route_xy) if len(route_xy) > 1 else shapely.Point(route_xy[0])
    return (shapely.distance(shapely.points(points_xy), line) / 1000).tolist()


def route_deviation_km(route: Iterable[tuple[float, float]], points: Iterable[tuple[float, float]]) -> list[float]:
    """Distance in km of each (lon, lat) point from the planned (lon, lat) polyline."""
    route, points = list(route), list(points)
    return _distances_km(_to_xy(route, route[0]), _to_xy(points, route[0])) if points else []


def _stops(xy, times, radius_m: float, longer_than: timedelta) -> list[tuple[int, int]]:
    """(first, last) indexes of runs of consecutive fixes within radius of the run's first fix lasting > T."""
    out, i, n = [], 0, len(xy)
    while i < n:
        j = i
        while j + 1 < n and (xy[j + 1][0] - xy[i][0]) ** 2 + (xy[j + 1][1] - xy[i][1]) ** 2 <= radius_m ** 2:
            j += 1
        if times[j] - times[i] > longer_than:
            out.append((i, j))
        i = j + 1
    return out


def _route_anomalies(facts: Facts, sh, fixes) -> tuple[list[str], dict]:
    """Deviation from the corridor and unscheduled stops, on one projection centred on the route's start."""
    route, found, details = list(sh.planned_route), [], {}
    xy = _to_xy([(lon, lat) for _, lon, lat in fixes], route[0] if route else fixes[0][1:])
    if route:
        devs = _distances_km(_to_xy(route, route[0]), xy)
        worst = max(range(len(devs)), key=devs.__getitem__)
        details.update(max_deviation_km=devs[worst], deviation_at=fixes[worst][0].isoformat())
        limit = param(facts, "route_deviation_km")
        if devs[worst] > limit + EPS:
            found.append(f"偏离规划路线最远{devs[worst]:.2f}km（阈值{limit:g}km）")
    times, min_stop = [f[0] for f in fixes], timedelta(minutes=param(facts, "stop_minutes"))
    ends = _to_xy([route[0], route[-1]], route[0]) if route else []
    end_m = param(facts, "stop_endpoint_km") * 1000
    stops = [(times[i], times[j]) for i, j in _stops(xy, times, param(facts, "stop_radius_km") * 1000, min_stop)
             if not (sh.departed_at and times[j] <= sh.departed_at)
             and not (sh.arrived_at and times[i] >= sh.arrived_at)
             and all((xy[i][0] - ex) ** 2 + (xy[i][1] - ey) ** 2 > end_m ** 2 for ex, ey in ends)]
    if stops:
        longest = max(b - a for a, b in stops).total_seconds() / 60
        details.update(stops=[(a.isoformat(), b.isoformat()) for a, b in stops], longest_stop_min=longest)
        found.append(f"非计划停留{len(stops)}次，最长{longest:.0f}分钟（阈值{min_stop.total_seconds() / 60:.0f}分钟）")
    return found, details


def _arrival_anomalies(facts: Facts, sh) -> tuple[list[str], dict, bool]:
    """Late (or still missing) arrival, and a weight / tank-level drop (the severe one)."""
    found, details, severe = [], {}, False
    grace = timedelta(hours=param(facts, "eta_hours"))
    if sh.eta is not None and (sh.arrived_at or facts.as_of) - sh.eta > grace:
        hours = ((sh.arrived_at or facts.as_of) - sh.eta).total_seconds() / 3600
        details["late_hours"] = hours
        found.append(f"{'晚于预计到达' if sh.arrived_at else '超过预计到达时间仍未到达，已逾'}{hours:.1f}小时"
                     f"（允许{grace.total_seconds() / 3600:g}小时）")
    if sh.departure_kg and sh.arrival_kg is not None:
        drop, tol = sh.departure_kg - sh.arrival_kg, param(facts, "weight_rel_tol")
        details.update(departure_kg=sh.departure_kg, arrival_kg=sh.arrival_kg, drop_kg=drop)
        if drop > tol * sh.departure_kg + EPS:
            severe = True
            found.append(f"起运{sh.departure_kg:.3f}kg、到达{sh.arrival_kg:.3f}kg，减少{drop:.3f}kg超过{tol:.1%}")
    return found, details, severe


@rule("R29", "运输路线与GPS异常", "Route and GPS anomalies", MEDIUM,
      params=("route_deviation_km", "stop_minutes", "stop_radius_km", "stop_endpoint_km", "eta_hours",
              "weight_rel_tol"))
def r29_route(facts: Facts) -> Iterator[Hit]:
    """For permitted shipments with GPS: deviation > D km from the planned corridor, or an unscheduled stop > T min,
    or arrival time > ETA + X h, or a drop in tank level or weight between departure and arrival beyond tolerance
    → M/H.  One hit per shipment listing each anomaly: M for one kind, H for a weight drop or for two kinds
    together (e.g. a detour with a stop). Stops before departure, after arrival or near the route's ends are loading
    and unloading. A shipment not arrived by ETA + X h is late too. Party = the consignor (transport permit holder):
    the shipping transaction's seller, else the party that reported the track."""
    if not facts.shipments:
        return
    wanted = {s.transaction_id for s in facts.shipments}
    tx_by_id = {t.id: t for t in facts.transactions if t.id in wanted}
    for sh in facts.shipments:
        fixes = sorted(f for f in sh.fixes if f[0] <= facts.as_of)
        found, details = _route_anomalies(facts, sh, fixes) if fixes else ([], {})
        late, more, severe = _arrival_anomalies(facts, sh)
        found, details = found + late, {**details, **more}
        if not found:
            continue
        tx = tx_by_id.get(sh.transaction_id)
        details.update(anomalies=found, carrier_id=tx.carrier_id if tx else None)
        yield Hit("R29", HIGH if severe or len(found) > 1 else MEDIUM, tx.seller_id if tx else sh.party_id, sh.id,
                  f"运输{sh.waybill or sh.id}{'（' + tx.substance + '）' if tx else ''}异常：" + "；".join(found),
                  evidence=_evidence(sh.event_ids, tx.event_ids if tx else ()), details=details)


# === R30 =========================================================================================================

define_param("watch_threshold_kg", 5.0, "kg", "local policy (INCB ISSL / PEN Online Light style)", "U",
             "关注清单物质单笔购买的默认报告阈值（物质自有阈值优先）")


@rule("R30", "非列管化学品关注", "Non-listed chemical watch", MEDIUM, params=("watch_threshold_kg",))
def r30_watch_list(facts: Facts) -> Iterator[Hit]:
    """Purchases of substances on the local watch list above a per-substance threshold, or by parties with no
    history → M.  Threshold = Substance.watch_threshold_kg, else watch_threshold_kg; "above" is strict. "No
    history" = no purchase of any substance by the buyer earlier than this one in the facts."""
    first_buy: dict[str, datetime] = {}
    for t in facts.transactions:
        if t.buyer_id not in first_buy or t.time < first_buy[t.buyer_id]:
            first_buy[t.buyer_id] = t.time
    default = param(facts, "watch_threshold_kg")
    for t in facts.transactions:
        sub = facts.substances.get(t.substance)
        if sub is None or not sub.watch or t.time > facts.as_of:
            continue
        limit = sub.watch_threshold_kg if sub.watch_threshold_kg is not None else default
        over, new = t.kg > limit + EPS, t.time <= first_buy[t.buyer_id]
        if not (over or new):
            continue
        why = "、".join(w for w, on in ((f"超过关注阈值{limit:g}kg", over), ("买方此前无任何购买记录", new)) if on)
        yield Hit("R30", MEDIUM, t.buyer_id, t.id,
                  f"{_name(facts, t.buyer_id)} 从{_name(facts, t.seller_id)}购买关注清单化学品{sub.name}"
                  f"（{t.substance}）{t.kg:.3f}kg：{why}",
                  evidence=_evidence(t.event_ids), details={"kg": t.kg, "threshold_kg": limit, "over": over,
                                                            "first_purchase": new, "seller_id": t.seller_id})
