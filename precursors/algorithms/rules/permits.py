"""Permit, filing, transport and export rules R01–R08, R19–R21, R31 (research/precursors.md §1.3–§1.7, §4).

Plain Python over :class:`facts.Facts`. The capture-time rules judge every item of ``facts.transactions`` (at
capture the Django layer passes only the just-captured transactions plus the registry), build their indexes once
per call and stay O(n log n). Dates are CST calendar dates (``local_date``); validity windows are inclusive.

Reading decisions shared by several rules:

* A permit is *in force* on a day when valid_from ≤ day ≤ valid_to (open ends allowed), it is not suspended, and
  it was not revoked on or before that day. ``status`` ``used``/``expired`` is not decisive: the dates decide, and
  the number of uses is R04/R08's job (a nightly re-run must not flag the purchase that legitimately used a
  single-use permit).
* R01/R03/R07/R20 accept an in-force authorization the party *holds*, cited or not; R04, R05 and R08 judge the
  permits the transaction *cites*.
* Usage of a permit by transactions outside ``facts.transactions`` (earlier captures) comes from
  ``Authorization.prior_used_kg`` / ``prior_uses``; a full run leaves them at 0.
* Parties are domestic unless ``Party.country`` says otherwise; an unknown party id counts as domestic (it should
  hold permits like anyone else). Substances missing from ``facts.substances`` or with ``category=None`` are not
  controlled here (except for the special-country export catalogue, which also lists non-scheduled chemicals).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta

from .base import HIGH, LOW, MEDIUM, Hit, define_param, param, rule
from .facts import (
    DRUG_PROD_LICENCE,
    DRUG_PURCHASE_PROOF,
    DRUG_TRADE_LICENCE,
    EXPORT_LICENCE,
    IMPORT_LICENCE,
    INDIVIDUAL,
    INTL_VERIFICATION,
    MEDICAL,
    NARCOTIC_SEAL_CARD,
    NONPHARMA_PROD_LICENCE,
    NONPHARMA_TRADE_LICENCE,
    PEN,
    PROD_FILING,
    PURCHASE_FILING,
    PURCHASE_LICENCE,
    REFILING,
    RESEARCH,
    REVOKED,
    SALES_FILING,
    SPECIAL_COUNTRY_EXPORT_LICENCE,
    SUSPENDED,
    TRADE_FILING,
    TRANSPORT_FILING,
    TRANSPORT_LICENCE,
    Authorization,
    Facts,
    Filing,
    Substance,
    Transaction,
    local_date,
)

# --- parameters (research §1.4/§1.5; tag V = seen, M = memory, U = uncertain) --------------------------------------
define_param("kmno4_substance_code", "C3-04", "code", "条例 art. 17; catalogue Cat 3 row 4", "V",
             "高锰酸钾的目录代码（个人少量自用免备案）")
define_param("kmno4_individual_small_qty_kg", 1.0, "kg", "local policy (条例 does not define 少量)", "U",
             "个人自用高锰酸钾免备案的'少量'上限（含）")
define_param("ephedrine_codes", ("C1-12", "C1-12a", "C1-12b", "C1-12c", "C1-12d", "C1-12e", "C1-12f", "C1-12g"),
             "codes", "条例 art. 23; catalogue Cat 1 row 12", "M", "麻黄素类品种代码（运输豁免适用范围）")
define_param("ephedrine_sample_exempt_kg", 0.1, "kg", "条例 art. 23", "V",
             "教学、科研用麻黄素样品免运输许可的上限（含，100 g）")
define_param("ephedrine_medical_exempt_kg", 0.45, "kg", "条例 art. 23 (≤60,000 片 / ≤15,000 支, as kg base)", "U",
             "医疗机构/麻醉药品经营企业持购用证明或印鉴卡购买麻黄素制剂免运输许可的上限（含）")
define_param("quantity_capped_permit_types",
             (PURCHASE_LICENCE, PURCHASE_FILING, DRUG_PURCHASE_PROOF, EXPORT_LICENCE, IMPORT_LICENCE,
              SPECIAL_COUNTRY_EXPORT_LICENCE),
             "types", "87号令 arts. 6–10; 进出口管理规定", "U",
             "R04 累计数量/次数核对的许可类型（运输许可按单次由 R08 核对）")
define_param("transport_licence_uses_cat1", 1, "uses", "条例 art. 22 (一次有效)", "V",
             "第一类运输许可证未注明次数时的可用次数")
define_param("sales_filing_days_cat1", 5, "days", "条例 art. 19; 87号令 art. 12", "V", "第一类销售后备案期限（日历日）")
define_param("sales_filing_days_cat23", 30, "days", "条例 art. 19; 87号令 art. 12", "V",
             "第二、三类销售后备案期限（日历日）")
define_param("sales_filing_repeat_count", 3, "count", "research §4 R06", "U", "12个月内逾期/缺失次数达到此数升为高风险")
define_param("sales_filing_repeat_window_days", 365, "days", "research §4 R06", "U", "升级统计窗口（含当日的天数）")
define_param("forbidden_payment_methods", ("cash", "in_kind"), "methods", "条例 art. 5", "V", "禁止的支付方式（现金、实物）")
define_param("mixture_share_thresholds", {"C3-01": 0.4, "C3-02": 0.4, "C3-03": 0.4, "C3-05": 0.4, "C3-06": 0.1},
             "share", "商务部公告 2007-05-16", "V", "混合物出口需许可的含量门槛（超过即需）；未列品种任何含量均需")
define_param("customs_kg_tolerance", 0.01, "fraction", "local policy", "U", "报关数量与交易数量允许的相对偏差")
define_param("pen_required_countries", (), "ISO 3166", "1988 Convention art. 12(10)(a); INCB Annex VI", "U",
             "要求出口前通知（PEN）的目的国")
define_param("special_country_substances", {}, "ISO 3166 → substance codes",
             "商务部等令2005年第12号 and its catalogue amendments (the chemicals are not in the research)", "U",
             "特定国家（地区）出口目录：目的国 → 需专项出口许可的品种代码（补充 special_country_rules.csv；"
             "每行在其生效期内适用于当日起运的出口，各行并存：删去某国须给原行设失效日期）")
define_param("pen_ok_statuses", ("acknowledged", "no_objection"), "statuses", "PEN Online", "V",
             "视为可发运的 PEN 答复状态")
define_param("pen_objection_statuses", ("objected",), "statuses", "PEN Online", "V", "进口国提出异议的 PEN 状态")
define_param("intl_verification_ok_statuses", ("passed",), "statuses", "外经贸贸发[2002]147号", "V", "国际核查通过的状态")
define_param("permit_expiry_warning_days", 90, "days", "5号令; Cat 3 filing guide (renew 3 months before)", "M",
             "到期前提醒天数（含）")
define_param("expiry_reminder_types",
             (DRUG_PROD_LICENCE, NONPHARMA_PROD_LICENCE, PROD_FILING, DRUG_TRADE_LICENCE, NONPHARMA_TRADE_LICENCE,
              TRADE_FILING),
             "types", "5号令; Cat 3 filing guide", "M", "需要到期提醒的长期许可/备案类型")
define_param("refiling_working_days", 30, "working days (Mon–Fri, holidays not modelled)", "Cat 3 filing guide",
             "V", "名称、法定代表人变更后重新备案期限（工作日，按周一至周五计）")

_REASON_ZH = {"revoked": "已吊销", "suspended": "已暂停", "not_yet_valid": "尚未生效", "expired": "已过期",
              "unknown": "登记库中无此编号"}
_TYPE_ZH = {PURCHASE_LICENCE: "购买许可证", PURCHASE_FILING: "购买备案证明", DRUG_PURCHASE_PROOF: "药品类购用证明",
            DRUG_TRADE_LICENCE: "药品类经营许可", NONPHARMA_TRADE_LICENCE: "非药品类第一类经营许可",
            TRADE_FILING: "经营备案", TRANSPORT_LICENCE: "运输许可证", TRANSPORT_FILING: "运输备案证明",
            EXPORT_LICENCE: "出口许可证", IMPORT_LICENCE: "进口许可证", SPECIAL_COUNTRY_EXPORT_LICENCE: "特定国家(地区)出口许可",
            DRUG_PROD_LICENCE: "药品类生产许可", NONPHARMA_PROD_LICENCE: "非药品类第一类生产许可", PROD_FILING: "生产备案"}


# --- small helpers ------------------------------------------------------------------------------------------------
def _kg(x: float) -> str:
    return f"{x:,.3f}".rstrip("0").rstrip(".")


def _name(facts: Facts, pid: str | None) -> str:
    p = facts.parties.get(pid) if pid else None
    return p.name if p else (pid or "未知")


def _what(facts: Facts, t: Transaction, day: date) -> str:
    s = facts.substances.get(t.substance)
    return f"{s.name if s else t.substance} {_kg(t.kg)} kg，{day.isoformat()}"


def _listed(facts: Facts, t: Transaction) -> Substance | None:
    s = facts.substances.get(t.substance)
    return s if s is not None and s.category is not None else None


def _kinds(facts: Facts, pid: str | None) -> frozenset[str]:
    p = facts.parties.get(pid) if pid else None
    return p.kinds if p else frozenset()


def _domestic(facts: Facts, pid: str) -> bool:
    p = facts.parties.get(pid)
    return p is None or (p.country or "CN").upper() == "CN"


def _is_export(t: Transaction) -> bool:
    return t.is_export or (t.destination_country or "CN").upper() != "CN"


def _exceeds(x: float, limit: float) -> bool:
    """x > limit, ignoring float noise from summing many quantities."""
    return x > limit and not math.isclose(x, limit, rel_tol=1e-9, abs_tol=1e-9)


def _invalid_reason(a: Authorization, day: date) -> str | None:
    """Why ``a`` is not in force on ``day`` (None = in force). Revocation counts from revoked_on inclusive."""
    if a.revoked_on is not None and a.revoked_on <= day:
        return "revoked"
    if a.status == REVOKED and a.revoked_on is None:
        return "revoked"
    if a.status == SUSPENDED:
        return "suspended"
    if a.valid_from is not None and day < a.valid_from:
        return "not_yet_valid"
    if a.valid_to is not None and day > a.valid_to:
        return "expired"
    return None


def _find_auth(facts: Facts, holder: str, types: tuple[str, ...], day: date, substance: str | None = None, *,
               counterparty: str | None = None, country: str | None = None, destination_area: str | None = None,
               cited: frozenset[str] = frozenset()) -> Authorization | None:
    """An authorization of one of ``types`` held by ``holder``, in force on ``day``, covering ``substance``; when
    given, its counterparty / destination country / destination area (unless cited) must be unset or equal."""
    for a in facts.auths_of(holder, types):
        if substance is not None and substance not in a.substances:
            continue
        if counterparty is not None and a.counterparty_id not in (None, counterparty):
            continue
        if country is not None and a.destination_country and a.destination_country.upper() != country:
            continue
        if (destination_area is not None and a.id not in cited and a.destination_area
                and a.destination_area != destination_area):
            continue
        if _invalid_reason(a, day) is None:
            return a
    return None


def _hit(rid: str, severity: str, party: str | None, key: str, message: str, t: Transaction,
         extra: tuple[str, ...] | list[str] = (), block: bool = False, **details) -> Hit:
    return Hit(rid, severity, party, key, message, tuple(t.event_ids) + tuple(extra), block, details)


def _cited_by_type(facts: Facts, types: set[str]) -> dict[str, list[Transaction]]:
    """Permit number → the transactions citing it, sorted by time (then id), for permits of ``types``."""
    by_permit: dict[str, list[Transaction]] = defaultdict(list)
    for t in facts.transactions:
        for num in dict.fromkeys(t.permits):
            a = facts.authorizations.get(num)
            if a is not None and a.type in types:
                by_permit[num].append(t)
    for ts in by_permit.values():
        ts.sort(key=lambda t: (t.time, t.id))
    return by_permit


def _filings_by_tx(facts: Facts, kind: str) -> dict[str, list]:
    idx: dict[str, list] = defaultdict(list)
    for f in facts.filings_of(kind):
        if f.transaction_id is not None:
            idx[f.transaction_id].append(f)
    return idx


# --- R01–R03: who may buy and sell --------------------------------------------------------------------------------
def _purchase_requirement(facts: Facts, t: Transaction, s: Substance, day: date) -> str | None:
    """The authorization type the buyer needs (§1.7), or None when exempt or forbidden outright (R02's case)."""
    kinds = _kinds(facts, t.buyer_id)
    individual = INDIVIDUAL in kinds
    if s.category in (1, 2) and individual:
        return None                              # no permit can exist: R02 reports it
    if not _domestic(facts, t.seller_id):
        return IMPORT_LICENCE                    # buying from abroad is an import (§1.7)
    if s.category == 1:
        if not s.is_pharma:
            return PURCHASE_LICENCE
        # Medical institutions holding a narcotics 印鉴卡 are exempt from the 购用证明.
        if MEDICAL in kinds and _find_auth(facts, t.buyer_id, (NARCOTIC_SEAL_CARD,), day):
            return None
        return DRUG_PURCHASE_PROOF
    small = param(facts, "kmno4_individual_small_qty_kg")       # None = not set locally: no exemption
    if individual and t.substance == param(facts, "kmno4_substance_code") and small is not None and t.kg <= small:
        return None                              # 个人少量自用高锰酸钾
    return PURCHASE_FILING


@rule("R01", "无有效购买许可或备案", "Purchase without valid authorization", HIGH, capture_time=True,
      params=("kmno4_substance_code", "kmno4_individual_small_qty_kg"))
def purchase_without_authorization(facts: Facts) -> Iterator[Hit]:
    """R01 — ∃A of the required type (Cat 1 non-pharma PURCHASE_LICENCE, Cat 1 pharma DRUG_PURCHASE_PROOF, Cat 2/3
    PURCHASE_FILING) with A.holder=B, s∈A.substances, valid_from≤date(t)≤valid_to, in force, A.seller∈{S, any};
    otherwise H + block. 条例 arts. 14–17. Exemptions: 印鉴卡 hospital for pharma Cat 1; individual KMnO₄ ≤ small
    quantity. Any held permit counts, cited or not; exports (foreign buyer) are R20's; individuals buying Cat 1/2
    are R02's (no permit type exists for them); buying from a foreign seller needs the buyer's IMPORT_LICENCE."""
    for t in facts.transactions:
        s = _listed(facts, t)
        if s is None or _is_export(t) or not _domestic(facts, t.buyer_id):
            continue
        day = local_date(t.time)
        need = _purchase_requirement(facts, t, s, day)
        if need is None or _find_auth(facts, t.buyer_id, (need,), day, t.substance, counterparty=t.seller_id):
            continue
        held = {a.id: _invalid_reason(a, day) or ("品种不符" if t.substance not in a.substances else "销售方不符")
                for a in facts.auths_of(t.buyer_id, (need,))}
        yield _hit("R01", HIGH, t.buyer_id, t.id,
                   f"购买方 {_name(facts, t.buyer_id)} 无有效{_TYPE_ZH[need]}：{_what(facts, t, day)}，"
                   f"销售方 {_name(facts, t.seller_id)}", t, t.permits, block=True,
                   substance=t.substance, category=s.category, kg=t.kg, date=day.isoformat(), required=need,
                   cited=list(t.permits), held=held)


@rule("R02", "禁止购买主体", "Forbidden buyer", HIGH, capture_time=True)
def forbidden_buyer(facts: Facts) -> Iterator[Hit]:
    """R02 — B.type=individual and cat(s)∈{1,2} → H, block (条例 art. 16); B on the blacklist (blacklist_until >
    date(t), i.e. the ban ends on blacklist_until) → H, block (条例 ch. 7, 3-year refusal). One hit per transaction."""
    for t in facts.transactions:
        s = _listed(facts, t)
        if s is None:
            continue
        day = local_date(t.time)
        reasons = []
        individual = s.category in (1, 2) and INDIVIDUAL in _kinds(facts, t.buyer_id)
        if individual:
            reasons.append(f"个人不得购买第{s.category}类易制毒化学品")
        buyer = facts.parties.get(t.buyer_id)
        until = buyer.blacklist_until if buyer else None
        blacklisted = until is not None and until > day
        if blacklisted:
            reasons.append(f"列入黑名单至 {until.isoformat()}")
        if reasons:
            yield _hit("R02", HIGH, t.buyer_id, t.id,
                       f"禁止购买：购买方 {_name(facts, t.buyer_id)}（{'；'.join(reasons)}）：{_what(facts, t, day)}", t,
                       block=True, individual=individual, category=s.category,
                       blacklist_until=until.isoformat() if blacklisted else None, date=day.isoformat())


def _trade_type(s: Substance) -> str:
    if s.category == 1:
        return DRUG_TRADE_LICENCE if s.is_pharma else NONPHARMA_TRADE_LICENCE
    return TRADE_FILING


def _production_type(s: Substance) -> str:
    if s.category == 1:
        return DRUG_PROD_LICENCE if s.is_pharma else NONPHARMA_PROD_LICENCE
    return PROD_FILING


@rule("R03", "销售方无经营许可或备案", "Seller not authorized to trade", HIGH, capture_time=True)
def seller_not_authorized(facts: Facts) -> Iterator[Hit]:
    """R03 — S lacks an in-force trade licence (Cat 1: DRUG_/NONPHARMA_TRADE_LICENCE) or TRADE_FILING (Cat 2/3)
    covering s at date(t), and is not a producer selling its own output (t.is_production_sale and an in-force
    production licence/filing covering s) → H, block. 条例 ch. 2; 5号令 art. 3. Foreign sellers are skipped."""
    for t in facts.transactions:
        s = _listed(facts, t)
        if s is None or not _domestic(facts, t.seller_id):
            continue
        day = local_date(t.time)
        need = _trade_type(s)
        if _find_auth(facts, t.seller_id, (need,), day, t.substance):
            continue
        if t.is_production_sale and _find_auth(facts, t.seller_id, (_production_type(s),), day, t.substance):
            continue
        held = [a.id for a in facts.auths_of(t.seller_id, (need, _production_type(s)))]
        yield _hit("R03", HIGH, t.seller_id, t.id,
                   f"销售方 {_name(facts, t.seller_id)} 无有效{_TYPE_ZH[need]}：{_what(facts, t, day)}，"
                   f"购买方 {_name(facts, t.buyer_id)}", t, held, block=True,
                   required=need, production_sale=t.is_production_sale, held=held, date=day.isoformat())


# --- R04–R05: the permits cited -----------------------------------------------------------------------------------
@rule("R04", "超许可数量或重复使用一次性许可", "Quantity over permit / reuse of single-use permit", HIGH,
      capture_time=True, params=("quantity_capped_permit_types",))
def quantity_over_permit(facts: Facts) -> Iterator[Hit]:
    """R04 — Σ qty(t) over transactions citing A (kg base) > A.max_qty(s) → H; uses(A) > A.uses_allowed → H
    (87号令 arts. 6–10; 条例 arts. 15–17). Running totals in time order, starting from the usage recorded outside
    this run (prior_used_kg / prior_uses): the transaction that crosses the cap and every later one are flagged.
    Only ``quantity_capped_permit_types`` (purchase and import/export); transport permits are per shipment (R08)."""
    types = set(param(facts, "quantity_capped_permit_types"))
    for num, ts in _cited_by_type(facts, types).items():
        a = facts.authorizations[num]
        used = dict(a.prior_used_kg)
        uses = a.prior_uses
        for t in ts:
            uses += 1
            reasons = []
            cap = a.substances.get(t.substance)
            if t.substance in a.substances:
                used[t.substance] = used.get(t.substance, 0.0) + t.kg
                if cap is not None and _exceeds(used[t.substance], cap):
                    reasons.append(f"累计 {_kg(used[t.substance])} kg 超过许可量 {_kg(cap)} kg")
            if a.uses_allowed is not None and uses > a.uses_allowed:
                reasons.append(f"第 {uses} 次使用，许可仅限 {a.uses_allowed} 次")
            if reasons:
                day = local_date(t.time)
                yield _hit("R04", HIGH, a.holder_id, f"{t.id}:{num}",
                           f"许可证 {num}（持证方 {_name(facts, a.holder_id)}）{'；'.join(reasons)}："
                           f"{_what(facts, t, day)}", t, (num,), block=True,
                           permit=num, substance=t.substance, kg=t.kg, cumulative_kg=used.get(t.substance, 0.0),
                           max_kg=cap, uses=uses, uses_allowed=a.uses_allowed, prior_uses=a.prior_uses,
                           prior_kg=a.prior_used_kg.get(t.substance, 0.0))


@rule("R05", "许可证过期、吊销或未生效", "Expired, revoked or not-yet-valid permit", HIGH, capture_time=True)
def invalid_permit_cited(facts: Facts) -> Iterator[Hit]:
    """R05 — a cited permit with date(t) ∉ [valid_from, valid_to], revoked on or before date(t), or suspended
    → H, block (条例 arts. 14–22, §1.6 forged/invalid permits). A cited number absent from the registry is reported
    too (reason ``unknown``, a possible forgery). Party: the permit's holder, else the seller who cited it."""
    for t in facts.transactions:
        day = local_date(t.time)
        for num in dict.fromkeys(t.permits):
            a = facts.authorizations.get(num)
            reason = "unknown" if a is None else _invalid_reason(a, day)
            if reason is None:
                continue
            holder = a.holder_id if a is not None else t.seller_id
            yield _hit("R05", HIGH, holder, f"{t.id}:{num}",
                       f"引用的许可证 {num} {_REASON_ZH[reason]}：{_what(facts, t, day)}", t, (num,), block=True,
                       permit=num, reason=reason, date=day.isoformat(),
                       valid_from=a.valid_from.isoformat() if a and a.valid_from else None,
                       valid_to=a.valid_to.isoformat() if a and a.valid_to else None,
                       revoked_on=a.revoked_on.isoformat() if a and a.revoked_on else None,
                       status=a.status if a else None)


# --- R06: sales filing --------------------------------------------------------------------------------------------
@rule("R06", "销售备案逾期或缺失", "Late or missing sales filing", MEDIUM, capture_time=False,
      params=("sales_filing_days_cat1", "sales_filing_days_cat23", "sales_filing_repeat_count",
              "sales_filing_repeat_window_days"))
def late_sales_filing(facts: Facts) -> Iterator[Hit]:
    """R06 — a domestic sale on day d needs the seller's SALES_FILING (transaction_id = t.id) by d+5 (Cat 1) or
    d+30 (Cat 2/3), inclusive (条例 art. 19; 87号令 art. 12). Filed late → M; not filed and the deadline passed before
    ``as_of`` → M; deadline not yet passed → nothing. Escalates to H when the seller has ≥ repeat_count violations
    (this one included) with sale dates within the window ending on this sale's date."""
    today = local_date(facts.as_of)
    days1, days23 = param(facts, "sales_filing_days_cat1"), param(facts, "sales_filing_days_cat23")
    # a filing names its sale by an id: (id, filer) → the earliest such filing. A filing the fact builder linked to
    # its transaction (Filing.about) is keyed by the transaction object instead, whose id would otherwise be made
    # for every filing (45 MB of keys at 1,000,000 events)
    filed: dict[tuple[str, str], Filing] = {}
    filed_about: dict[int, Filing] = {}               # id(transaction) → the seller's earliest filing about it
    for f in facts.filings_of(SALES_FILING):
        about = f.transaction
        if about is not None and f.party_id == about.seller_id:
            k, into = id(about), filed_about
        elif f.transaction_id is not None:
            k, into = (f.transaction_id, f.party_id), filed
        else:
            continue
        if k not in into or f.submitted_at < into[k].submitted_at:
            into[k] = f
    violations: dict[str, list] = defaultdict(list)     # seller → [(sale day, t, deadline, filing)]
    for t in facts.transactions:
        s = _listed(facts, t)
        if s is None or _is_export(t):
            continue
        day = local_date(t.time)
        deadline = day + timedelta(days=days1 if s.category == 1 else days23)
        # a filing names the sale by the transaction id, the event id or the waybill (what the seller has at hand)
        f = _earliest(filed_about.get(id(t)), filed.get((t.id, t.seller_id))) or next(
            (filed[k] for k in ((ref, t.seller_id) for ref in (*t.event_ids, t.waybill) if ref) if k in filed), None)
        if (f is not None and local_date(f.submitted_at) > deadline) or (f is None and today > deadline):
            violations[t.seller_id].append((day, t, deadline, f))
    repeat, window = param(facts, "sales_filing_repeat_count"), param(facts, "sales_filing_repeat_window_days")
    for seller, rows in violations.items():
        rows.sort(key=lambda r: (r[0], r[1].time, r[1].id))
        first = 0
        for i, (day, t, deadline, f) in enumerate(rows):
            while (day - rows[first][0]).days >= window:     # two pointers: violations in (day − window, day]
                first += 1
            count = i - first + 1
            late = f is not None
            what = (f"逾期备案（{local_date(f.submitted_at).isoformat()} 提交）" if late else "未备案")
            yield _hit("R06", HIGH if count >= repeat else MEDIUM, seller, t.id,
                       f"销售方 {_name(facts, seller)} 销售 {_what(facts, t, day)}，应于 {deadline.isoformat()} 前备案，"
                       f"{what}；近{window}天第 {count} 次", t, (f.id,) if late else (),
                       sale_date=day.isoformat(), deadline=deadline.isoformat(),
                       submitted=local_date(f.submitted_at).isoformat() if late else None,
                       days_late=((local_date(f.submitted_at) if late else today) - deadline).days,
                       repeat_count=count)


def _earliest(a: Filing | None, b: Filing | None) -> Filing | None:
    return a if b is None or (a is not None and a.submitted_at <= b.submitted_at) else b


# --- R07–R08: transport -------------------------------------------------------------------------------------------
def _crossing(t: Transaction, key_areas: frozenset[str]) -> str | None:
    """'city' when origin and destination lie in different 设区的市 (first 4 digits), 'key_area' when they lie in
    different counties of one city and either end is in an MPS key area; None otherwise or when unknown."""
    o, d = t.origin_area[:6], t.destination_area[:6]     # site codes may be street-level (9 digits)
    if not o or not d or o == d:
        return None
    if o[:4] != d[:4]:
        return "city"
    return "key_area" if (o in key_areas or d in key_areas) else None


def _ephedrine_exemption(facts: Facts, t: Transaction, day: date) -> str | None:
    """条例 art. 23: teaching/research samples ≤ ephedrine_sample_exempt_kg; hospitals or narcotics distributors
    holding a 购用证明 / 印鉴卡 buying ≤ ephedrine_medical_exempt_kg (tablet/ampoule counts converted to kg)."""
    if t.substance not in set(param(facts, "ephedrine_codes")):
        return None
    kinds = _kinds(facts, t.buyer_id)
    sample, medical_kg = param(facts, "ephedrine_sample_exempt_kg"), param(facts, "ephedrine_medical_exempt_kg")
    if RESEARCH in kinds and sample is not None and t.kg <= sample:
        return "教学科研样品"
    medical = MEDICAL in kinds or _find_auth(facts, t.buyer_id, (DRUG_TRADE_LICENCE,), day) is not None
    if (medical and medical_kg is not None and t.kg <= medical_kg
            and _find_auth(facts, t.buyer_id, (DRUG_PURCHASE_PROOF, NARCOTIC_SEAL_CARD), day)):
        return "医疗机构小量购买"
    return None


@rule("R07", "无运输许可或备案运输", "Transport without permit or filing", HIGH, capture_time=True,
      params=("ephedrine_codes", "ephedrine_sample_exempt_kg", "ephedrine_medical_exempt_kg"))
def transport_without_permit(facts: Facts) -> Iterator[Hit]:
    """R07 — a shipment crossing a 设区的市 boundary, or a county boundary with an end in ``facts.key_areas``, needs
    a TRANSPORT_LICENCE (Cat 1/2) or TRANSPORT_FILING (Cat 3) held by the consignor (seller), covering s and in
    force on the departure day; otherwise H, block (条例 arts. 20–22; art. 23 ephedrine exemptions). A cited permit
    counts whatever its route (R08 judges its details); an uncited one only if its destination (when set) matches."""
    for t in facts.transactions:
        s = _listed(facts, t)
        crossing = _crossing(t, facts.key_areas) if s is not None else None
        if crossing is None:
            continue
        day = local_date(t.time)
        need = TRANSPORT_FILING if s.category == 3 else TRANSPORT_LICENCE
        if _find_auth(facts, t.seller_id, (need,), day, t.substance, destination_area=t.destination_area,
                      cited=frozenset(t.permits)):
            continue
        if _ephedrine_exemption(facts, t, day):
            continue
        where = "跨设区的市" if crossing == "city" else "重点地区跨县"
        yield _hit("R07", HIGH, t.seller_id, t.id,
                   f"托运方 {_name(facts, t.seller_id)} 无有效{_TYPE_ZH[need]}{where}运输（{t.origin_area}→"
                   f"{t.destination_area}）：{_what(facts, t, day)}", t, t.permits, block=True,
                   required=need, crossing=crossing, origin_area=t.origin_area,
                   destination_area=t.destination_area, carrier=t.carrier_id, date=day.isoformat())


def _transport_mismatches(a: Authorization, t: Transaction) -> list[tuple[str, object, object]]:
    """(field, permit value, shipment value) for every way the shipment departs from the permit (§1.6)."""
    out: list[tuple[str, object, object]] = []
    consignee = t.consignee_id or t.buyer_id
    if t.substance not in a.substances:
        out.append(("substance", sorted(a.substances), t.substance))
    elif a.substances[t.substance] is not None and _exceeds(t.kg, a.substances[t.substance]):
        out.append(("quantity", a.substances[t.substance], t.kg))
    for field_, want, got in (("consignor", a.holder_id, t.seller_id), ("origin", a.origin_area, t.origin_area),
                              ("destination", a.destination_area, t.destination_area),
                              ("consignee", a.consignee_id, consignee), ("carrier", a.carrier_id, t.carrier_id)):
        if want and want != got:
            out.append((field_, want, got))
    return out


_MISMATCH_ZH = {"substance": "品种", "quantity": "数量", "consignor": "托运方", "origin": "起运地",
                "destination": "目的地", "consignee": "收货方", "carrier": "承运方", "reuse": "一次性许可重复使用"}


@rule("R08", "运输与许可不符", "Transport mismatch", HIGH, capture_time=True, params=("transport_licence_uses_cat1",))
def transport_mismatch(facts: Facts) -> Iterator[Hit]:
    """R08 — for each cited TRANSPORT_LICENCE/FILING: substance not on it, kg > its max, or consignor / origin /
    destination / consignee (buyer when no consignee) / carrier ≠ the permit's (when the permit names one), or the
    permit cited by more shipments than uses_allowed (Cat 1 without uses_allowed: transport_licence_uses_cat1,
    single use per 条例 art. 22; counting prior_uses) → H,
    block (条例 art. 41; §1.6). One hit per (shipment, permit) listing every mismatch."""
    cat1_uses = param(facts, "transport_licence_uses_cat1")
    for num, ts in _cited_by_type(facts, {TRANSPORT_LICENCE, TRANSPORT_FILING}).items():
        a = facts.authorizations[num]
        uses = a.prior_uses
        for t in ts:
            uses += 1
            s = facts.substances.get(t.substance)
            limit = a.uses_allowed if a.uses_allowed is not None else (cat1_uses if s and s.category == 1 else None)
            found = _transport_mismatches(a, t)
            if limit is not None and uses > limit:
                found.append(("reuse", limit, uses))
            if not found:
                continue
            day = local_date(t.time)
            yield _hit("R08", HIGH, t.seller_id, f"{t.id}:{num}",
                       f"运输与许可证 {num} 不符（{'、'.join(_MISMATCH_ZH[f] for f, _, _ in found)}）："
                       f"{_what(facts, t, day)}，托运方 {_name(facts, t.seller_id)}", t, (num,), block=True,
                       permit=num, mismatches={f: {"permit": w, "shipment": g} for f, w, g in found},
                       date=day.isoformat())


# --- R19: payment ---------------------------------------------------------------------------------------------------
@rule("R19", "现金或实物交易", "Cash or barter payment", HIGH, capture_time=True,
      params=("forbidden_payment_methods",))
def cash_or_barter(facts: Facts) -> Iterator[Hit]:
    """R19 — payment_method ∈ forbidden_payment_methods and not (an individual buying Cat 3 or a pharma
    preparation) → H (条例 art. 5). Block: art. 5 forbids the transaction form itself."""
    forbidden = set(param(facts, "forbidden_payment_methods"))
    for t in facts.transactions:
        s = _listed(facts, t)
        if s is None or t.payment_method not in forbidden:
            continue
        if INDIVIDUAL in _kinds(facts, t.buyer_id) and (s.category == 3 or s.is_pharma):
            continue
        day = local_date(t.time)
        yield _hit("R19", HIGH, t.buyer_id, t.id,
                   f"{'现金' if t.payment_method == 'cash' else '实物'}交易：购买方 {_name(facts, t.buyer_id)} 向 "
                   f"{_name(facts, t.seller_id)} 购买 {_what(facts, t, day)}", t, block=True,
                   payment_method=t.payment_method, seller=t.seller_id, date=day.isoformat())


# --- R20–R21: export ----------------------------------------------------------------------------------------------
def _special_country_index(facts: Facts) -> dict[tuple[str, str], list[tuple[date, date | None]]]:
    """(substance, country) → validity spans. ``facts.special_country_rules`` holds the shipped catalogue rows and
    the office's ``special_country_substances`` rows, each dated by its row (see rules_service)."""
    idx: dict[tuple[str, str], list[tuple[date, date | None]]] = defaultdict(list)
    for code, country, start, end in facts.special_country_rules:
        idx[(code, country.upper())].append((start, end))
    return idx


def _needs_export_licence(facts: Facts, t: Transaction, s: Substance | None) -> bool:
    """Listed substance, and not a mixture at or below its share threshold (unlisted codes: any share counts)."""
    if s is None:
        return False
    if t.mixture_share is None:
        return True
    threshold = param(facts, "mixture_share_thresholds").get(t.substance, 0.0)
    return t.mixture_share > threshold


@rule("R20", "出口许可缺失或与报关不符", "Export without licence / to a sensitive destination", HIGH,
      capture_time=True, params=("mixture_share_thresholds", "customs_kg_tolerance", "special_country_substances"))
def export_licence(facts: Facts) -> Iterator[Hit]:
    """R20 — exports (条例 arts. 26–31; 商务部令2005年第12号; MOFCOM mixtures notice 2007-05-16), one hit per finding:
    ``:special_country`` (s, dest) in the special-country catalogue on the ship date (effective_from ≤ day ≤
    effective_to; or in ``special_country_substances``) and no in-force SPECIAL_COUNTRY_EXPORT_LICENCE held by the
    exporter for s and that country → H, block; ``:export_licence`` listed s (mixtures only above the share
    threshold) without an in-force EXPORT_LICENCE for s (destination / importer matching when the licence names
    them) → H, block; ``:customs_qty`` |customs_kg − kg| > tolerance × kg → H."""
    specials = _special_country_index(facts)
    tol = param(facts, "customs_kg_tolerance")
    for t in facts.transactions:
        if not _is_export(t):
            continue
        s, day, country = _listed(facts, t), local_date(t.time), (t.destination_country or "").upper()
        special = any(start <= day and (end is None or day <= end) for start, end in specials.get((t.substance,
                                                                                               country), ()))
        if s is None and not special:
            continue
        what = f"{_what(facts, t, day)}，出口至 {country}，出口方 {_name(facts, t.seller_id)}"
        if special and not _find_auth(facts, t.seller_id, (SPECIAL_COUNTRY_EXPORT_LICENCE,), day, t.substance,
                                      country=country):
            yield _hit("R20", HIGH, t.seller_id, f"{t.id}:special_country",
                       f"向特定国家(地区)出口无专项许可：{what}", t, t.permits, block=True,
                       country=country, substance=t.substance, date=day.isoformat())
        if _needs_export_licence(facts, t, s) and not _find_auth(facts, t.seller_id, (EXPORT_LICENCE,), day,
                                                                 t.substance, counterparty=t.buyer_id, country=country):
            share = "" if t.mixture_share is None else f"（混合物含量 {t.mixture_share:.0%}）"
            yield _hit("R20", HIGH, t.seller_id, f"{t.id}:export_licence", f"出口无有效出口许可证{share}：{what}", t,
                       t.permits, block=True, country=country, mixture_share=t.mixture_share,
                       share_threshold=param(facts, "mixture_share_thresholds").get(t.substance, 0.0)
                       if t.mixture_share is not None else None, date=day.isoformat())
        if t.customs_kg is not None and _exceeds(abs(t.customs_kg - t.kg), tol * t.kg):
            yield _hit("R20", HIGH, t.seller_id, f"{t.id}:customs_qty",
                       f"报关数量 {_kg(t.customs_kg)} kg 与交易数量 {_kg(t.kg)} kg 不符：{what}", t, t.permits,
                       customs_kg=t.customs_kg, kg=t.kg, tolerance=tol, customs_hs=t.customs_hs)


@rule("R21", "出口国际核查或出口前通知不完整", "Export verification / PEN incomplete", HIGH, capture_time=True,
      params=("pen_required_countries", "pen_ok_statuses", "pen_objection_statuses",
              "intl_verification_ok_statuses"))
def export_verification(facts: Facts) -> Iterator[Hit]:
    """R21 — export of s with ``intl_verification`` without an INTL_VERIFICATION filing for t with a passed status
    submitted before dispatch (t.time) → H, block (``:verification``; 条例 art. 29, 外经贸贸发[2002]147号). A PEN is
    required when s.pen_required, or s is listed and the destination is in pen_required_countries (1988 Convention
    art. 12(10)(a)): an objected PEN for t → H, block (``:pen_objected``); else no acknowledged/no-objection PEN
    submitted before t.time → H, block (``:pen``)."""
    pen_countries = {c.upper() for c in param(facts, "pen_required_countries")}
    pen_ok, pen_no = set(param(facts, "pen_ok_statuses")), set(param(facts, "pen_objection_statuses"))
    verif_ok = set(param(facts, "intl_verification_ok_statuses"))
    verifications, pens = _filings_by_tx(facts, INTL_VERIFICATION), _filings_by_tx(facts, PEN)
    for t in facts.transactions:
        s = facts.substances.get(t.substance)
        if s is None or not _is_export(t):
            continue
        day, country = local_date(t.time), (t.destination_country or "").upper()
        what = f"{_what(facts, t, day)}，出口至 {country}，出口方 {_name(facts, t.seller_id)}"
        if s.intl_verification:
            done = [f for f in verifications.get(t.id, ()) if f.status in verif_ok and f.submitted_at < t.time]
            if not done:
                yield _hit("R21", HIGH, t.seller_id, f"{t.id}:verification", f"出口前未完成国际核查：{what}", t,
                           [f.id for f in verifications.get(t.id, ())], block=True,
                           statuses=[f.status for f in verifications.get(t.id, ())], date=day.isoformat())
        if not (s.pen_required or (s.category is not None and country in pen_countries)):
            continue
        filed = pens.get(t.id, [])
        objected = [f for f in filed if f.status in pen_no]
        if objected:
            yield _hit("R21", HIGH, t.seller_id, f"{t.id}:pen_objected", f"进口国对出口前通知提出异议但仍发运：{what}",
                       t, [f.id for f in objected], block=True, country=country, date=day.isoformat())
        elif not any(f.status in pen_ok and f.submitted_at < t.time for f in filed):
            yield _hit("R21", HIGH, t.seller_id, f"{t.id}:pen", f"发运前无进口国确认的出口前通知（PEN）：{what}", t,
                       [f.id for f in filed], block=True, country=country, statuses=[f.status for f in filed],
                       date=day.isoformat())


# --- R31: permit lifecycle ----------------------------------------------------------------------------------------
def add_working_days(day: date, n: int) -> date:
    """``day`` + n working days, counting Monday–Friday only (public holidays and 调休 are not modelled, so the
    deadline can fall a few days early around holidays)."""
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


@rule("R31", "许可证生命周期管理", "Permit lifecycle hygiene", MEDIUM, capture_time=False,
      params=("permit_expiry_warning_days", "expiry_reminder_types", "refiling_working_days"))
def permit_lifecycle(facts: Facts) -> Iterator[Hit]:
    """R31 — (a) an in-force licence/filing of ``expiry_reminder_types`` with as_of ≤ valid_to ≤ as_of + 90 days
    → L reminder (``expiry:<permit>``; renew in the 3 months before expiry, 5号令 / Cat 3 guide). (b) a party with
    ``changed_on`` (name / legal rep) that still trades (as seller or buyer) after changed_on + 30 working days
    with no REFILING filed between changed_on and the transaction → M, one hit per party and change
    (``refiling:<party>:<changed_on>``) listing the transactions."""
    today = local_date(facts.as_of)
    horizon = today + timedelta(days=param(facts, "permit_expiry_warning_days"))
    types = set(param(facts, "expiry_reminder_types"))
    for a in facts.authorizations.values():
        if (a.type in types and a.valid_to is not None and today <= a.valid_to <= horizon
                and _invalid_reason(a, today) is None):
            yield Hit("R31", LOW, a.holder_id, f"expiry:{a.id}",
                      f"{_name(facts, a.holder_id)} 的{_TYPE_ZH.get(a.type, a.type)} {a.id} 将于 "
                      f"{a.valid_to.isoformat()} 到期（剩 {(a.valid_to - today).days} 天），请及时换证",
                      (a.id,), False, {"permit": a.id, "type": a.type, "valid_to": a.valid_to.isoformat(),
                                       "days_left": (a.valid_to - today).days})
    refiled: dict[str, list[date]] = defaultdict(list)
    for f in facts.filings_of(REFILING):
        refiled[f.party_id].append(local_date(f.submitted_at))
    deadlines: dict[str, tuple[date, date | None]] = {}     # party → (deadline, first refiling on/after the change)
    late: dict[str, list[Transaction]] = defaultdict(list)
    n = param(facts, "refiling_working_days")
    for t in facts.transactions:
        day = local_date(t.time)
        for pid in dict.fromkeys((t.seller_id, t.buyer_id)):
            p = facts.parties.get(pid)
            if p is None or p.changed_on is None:
                continue
            if pid not in deadlines:
                after = [d for d in refiled.get(pid, ()) if d >= p.changed_on]
                deadlines[pid] = (add_working_days(p.changed_on, n), min(after) if after else None)
            deadline, refiled_on = deadlines[pid]
            if day > deadline and (refiled_on is None or refiled_on > day):
                late[pid].append(t)
    for pid, ts in late.items():
        ts.sort(key=lambda t: (t.time, t.id))
        p, (deadline, refiled_on) = facts.parties[pid], deadlines[pid]
        evidence = tuple(e for t in ts for e in t.event_ids)
        yield Hit("R31", MEDIUM, pid, f"refiling:{pid}:{p.changed_on.isoformat()}",
                  f"{p.name} 于 {p.changed_on.isoformat()} 变更名称或法定代表人，未在 {deadline.isoformat()} 前重新备案，"
                  f"其后仍有 {len(ts)} 笔交易（首笔 {local_date(ts[0].time).isoformat()}）", evidence, False,
                  {"changed_on": p.changed_on.isoformat(), "deadline": deadline.isoformat(),
                   "refiled_on": refiled_on.isoformat() if refiled_on else None, "transactions": [t.id for t in ts]})
