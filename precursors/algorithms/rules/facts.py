"""The facts the diversion rules R01–R31 read (research/precursors.md §3, §4). Plain records, no Django: dataclasses,
and compact hand-written classes for the two that number in the hundreds of thousands (Transaction, Receipt).

The Django layer builds one :class:`Facts` from the registry (parties, sites, authorizations, equipment), the
event store (transactions, receipts, transformations, tag sightings, stock counts, GPS tracks), filings and
inspections, and hands it to :func:`precursors.algorithms.rules.run`. Tests build it by hand.

Conventions
-----------
* Quantities are kilograms of base substance (already converted from the event's uom and salt form).
* Times are timezone-aware datetimes; dates are evaluated in China Standard Time (``CST``, UTC+8), as the research
  asks ("Dates are evaluated in Asia/Shanghai"). ``local_date(t)`` gives the CST calendar date.
* Party and site ids are the identifiers used in the events (PGLN / SGLN / a 统一社会信用代码 URN); the registry maps
  them to records.
* ``area_code`` is a GB/T 2260 six-digit code; its first four digits are the 设区的市 (prefecture city).
* Substance codes are the catalogue's codes (e.g. ``"C1-01"``); ``Substance.category`` is the category in force on
  the date of the fact being judged (the Django layer resolves effective-dated listings before building facts).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

CST = timezone(timedelta(hours=8), "CST")


def local_date(t: datetime) -> date:
    """The China Standard Time calendar date of an instant (naive = already CST)."""
    tz = t.tzinfo
    if tz is None or tz == CST:        # most events carry +08:00 already: skip the conversion (a hot path)
        return t.date()
    return t.astimezone(CST).date()


# --- party kinds (a party may have several) ----------------------------------------------------------------------
PRODUCER, TRADER, USER, CARRIER, WAREHOUSE = "producer", "trader", "user", "carrier", "warehouse"
IMPORTER, EXPORTER, RESEARCH, MEDICAL, INDIVIDUAL = "importer", "exporter", "research", "medical", "individual"

# --- authorization types (research §1.3 / §3.2) -------------------------------------------------------------------
DRUG_PROD_LICENCE = "drug_prod_licence"                # 药品类 生产许可
NONPHARMA_PROD_LICENCE = "nonpharma_prod_licence"      # 非药品类第一类 生产许可
PROD_FILING = "prod_filing"                            # 第二、三类 生产备案
DRUG_TRADE_LICENCE = "drug_trade_licence"              # 药品类 经营许可
NONPHARMA_TRADE_LICENCE = "nonpharma_trade_licence"    # 非药品类第一类 经营许可
TRADE_FILING = "trade_filing"                          # 第二、三类 经营备案
DRUG_PURCHASE_PROOF = "drug_purchase_proof"            # 药品类 购用证明
PURCHASE_LICENCE = "purchase_licence"                  # 第一类 购买许可证
PURCHASE_FILING = "purchase_filing"                    # 第二、三类 购买备案证明
TRANSPORT_LICENCE = "transport_licence"                # 第一、二类 运输许可证
TRANSPORT_FILING = "transport_filing"                  # 第三类 运输备案证明
IMPORT_LICENCE = "import_licence"                      # 进口许可 (商务)
EXPORT_LICENCE = "export_licence"                      # 出口许可 (商务)
SPECIAL_COUNTRY_EXPORT_LICENCE = "special_country_export_licence"  # 向特定国家(地区)出口 许可
NARCOTIC_SEAL_CARD = "narcotic_seal_card"              # 麻醉药品、第一类精神药品购用印鉴卡 (hospital exemption)

VALID, USED, EXPIRED, REVOKED, SUSPENDED = "valid", "used", "expired", "revoked", "suspended"

# --- filing kinds -----------------------------------------------------------------------------------------------
SALES_FILING = "sales_filing"            # 销售备案 (Cat 1 ≤ 5 days, Cat 2/3 ≤ 30 days after the sale)
ANNUAL_REPORT = "annual_report"          # 年度报告 (by 31 March for the previous year)
LOSS_REPORT = "loss_report"              # 丢失被盗报告 (immediately)
INTL_VERIFICATION = "intl_verification"  # 国际核查 result for an export
PEN = "pen"                              # pre-export notification (sent / acknowledged / no_objection / objected)
REFILING = "refiling"                    # change of name / legal representative re-filed


@dataclass(slots=True)
class Substance:
    code: str
    name: str
    category: int | None                   # 1, 2, 3; None = not listed (watch list only)
    is_pharma: bool = False
    cas: tuple[str, ...] = ()
    criminal_threshold_kg: float | None = None   # 法释〔2016〕8号 starting point, a severity weight [M]
    watch: bool = False                    # local watch list of non-listed chemicals (R30)
    watch_threshold_kg: float | None = None
    intl_verification: bool = False        # on the 国际核查目录 (R21)
    pen_required: bool = False
    volatile: bool = False                 # solvents: wider mass-balance tolerance (R09)


@dataclass(slots=True)
class Party:
    id: str                                # identifier used in the events (PGLN, …)
    name: str
    kinds: frozenset[str] = frozenset()
    area_code: str = ""                    # district (county) code of the registered site
    industry: str = ""                     # industry code or word, see params["plausible_substances"]
    registered_on: date | None = None      # date of incorporation (R18 "newly incorporated")
    active: bool = True
    in_registry: bool = True               # False = seen in events only (R12)
    blacklist_until: date | None = None
    declared_annual_kg: Mapping[str, float] = field(default_factory=dict)   # substance → declared need per year
    link_keys: frozenset[str] = frozenset()   # shared legal rep / phone / address / bank… ("phone:138…")
    changed_on: date | None = None         # last change of name or legal representative (R31)
    risk_grade: str = ""                   # "high" / "medium" / "low"
    residential_site: bool = False         # registered site geocodes to a residential / virtual address (R12, R28)
    country: str = "CN"


@dataclass(slots=True)
class Site:
    id: str
    party_id: str
    area_code: str = ""
    kind: str = ""                         # plant / warehouse / lab / tank / office
    residential: bool = False


@dataclass(slots=True)
class Authorization:
    id: str                                # the number printed on the permit (what events cite)
    type: str
    holder_id: str
    substances: Mapping[str, float | None] = field(default_factory=dict)   # code → max kg (None = no cap)
    counterparty_id: str | None = None     # seller on a purchase permit, buyer on a sales filing; None = any
    consignee_id: str | None = None
    carrier_id: str | None = None
    origin_area: str | None = None
    destination_area: str | None = None
    destination_country: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    uses_allowed: int | None = None        # 1 = single use; None = unlimited
    status: str = VALID
    revoked_on: date | None = None
    # Usage by transactions NOT in Facts.transactions (earlier captures): the capture-time caller fills these so
    # R04/R08 can count cumulative kg and uses; a full run over all transactions leaves them empty / 0.
    prior_used_kg: Mapping[str, float] = field(default_factory=dict)   # substance code → kg already drawn
    prior_uses: int = 0                    # transactions already citing this permit


class _EventFact:
    """What a transaction and a receipt share: the event(s) reporting them and an id derived from the first.

    At 1,000,000 events there are ~900,000 of them, held all at once for the rule run: they keep their reporting
    event's id string (the lineage index's copy) once, in ``_ev`` — a bare string for the usual single event — and
    make ``event_ids`` (a tuple) and ``id`` (``"<event id>#<substance>"``) when asked, instead of keeping a tuple and a
    second string each (~100 MB less at the rule run's peak). An id given explicitly (tests, hand-built facts) is
    kept as given."""

    __slots__ = ()
    _FIELDS: tuple[str, ...] = ()

    @property
    def event_ids(self) -> tuple[str, ...]:
        ev = self._ev
        return (ev,) if type(ev) is str else ev

    @event_ids.setter
    def event_ids(self, value) -> None:
        value = tuple(value)
        self._ev = value[0] if len(value) == 1 else value

    @property
    def id(self) -> str:
        if self._id is not None:
            return self._id
        ev = self._ev
        return f"{ev if type(ev) is str else ev[0]}#{self.substance}"

    @id.setter
    def id(self, value: str | None) -> None:
        self._id = value

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other):
        return self._values() == other._values() if type(other) is type(self) else NotImplemented

    __hash__ = None     # mutable, like the dataclasses beside it

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._FIELDS)})"


#: what most sales leave at the default: kept in one dict (``Transaction._more``) only when set, instead of a slot each
#: (eleven slots × 455,000 sales: 40 MB at 1,000,000 events)
RARE_TRANSACTION_FIELDS = {
    "consignee_id": None,              # when the goods go to someone other than the buyer
    "consignee_reason": "",
    "carrier_id": None,
    "destination_country": "CN",
    "is_export": False,
    "customs_hs": "",
    "customs_kg": None,
    "mixture_share": None,             # share (0–1) of the controlled substance in a mixture, when declared
    "declared_use": "",
    "delivery_address_kind": "",       # "registered_site", "residential", "virtual", "logistics_hub", "unmatched"
    "is_production_sale": False,       # a producer selling its own output (R03 exemption)
}


def _rare_field(name: str, default):
    def get(self):
        more = self._more
        return default if more is None else more.get(name, default)

    def set(self, value):
        more = self._more
        if value == default and type(value) is type(default):
            if more is not None:
                more.pop(name, None)
                if not more:
                    self._more = None
        elif more is None:
            self._more = {name: value}
        else:
            more[name] = value

    return property(get, set)


class Transaction(_EventFact):
    """One movement of a substance from a seller to a buyer, as the seller's shipping event reports it (a sale,
    an export, a transfer of title). ``event_ids`` are the evidence; ``id`` defaults to ``"<event id>#<substance>"``.
    The fields in ``RARE_TRANSACTION_FIELDS`` read and write like the others."""

    __slots__ = ("_ev", "_id", "_more", "buyer_id", "destination_area", "destination_site", "kg", "origin_area",
                 "origin_site", "payment_method", "permits", "seller_id", "substance", "time", "waybill")
    _FIELDS = ("id", "time", "seller_id", "buyer_id", "substance", "kg", "event_ids", "permits", "payment_method",
               "consignee_id", "consignee_reason", "carrier_id", "origin_site", "destination_site", "origin_area",
               "destination_area", "destination_country", "is_export", "customs_hs", "customs_kg", "mixture_share",
               "declared_use", "waybill", "delivery_address_kind", "is_production_sale")

    def __init__(self, id: str | None, time: datetime, seller_id: str, buyer_id: str, substance: str, kg: float,
                 event_ids: tuple[str, ...] = (), permits: tuple[str, ...] = (), payment_method: str = "",
                 consignee_id: str | None = None, consignee_reason: str = "", carrier_id: str | None = None,
                 origin_site: str | None = None, destination_site: str | None = None, origin_area: str = "",
                 destination_area: str = "", destination_country: str = "CN", is_export: bool = False,
                 customs_hs: str = "", customs_kg: float | None = None, mixture_share: float | None = None,
                 declared_use: str = "", waybill: str = "", delivery_address_kind: str = "",
                 is_production_sale: bool = False):
        self._id = id
        self.time = time
        self.seller_id = seller_id
        self.buyer_id = buyer_id
        self.substance = substance
        self.kg = kg
        self._ev = event_ids[0] if len(event_ids) == 1 else tuple(event_ids)
        self.permits = permits                 # authorization numbers cited (purchase, transport, export…)
        self.payment_method = payment_method   # "transfer", "cash", "in_kind", …
        self.origin_site = origin_site
        self.destination_site = destination_site
        self.origin_area = origin_area
        self.destination_area = destination_area
        self.waybill = waybill
        self._more = None
        rare = (consignee_id, consignee_reason, carrier_id, destination_country, is_export, customs_hs, customs_kg,
                mixture_share, declared_use, delivery_address_kind, is_production_sale)
        if rare != _RARE_DEFAULTS:
            for name, value in zip(RARE_TRANSACTION_FIELDS, rare, strict=True):
                setattr(self, name, value)


_RARE_DEFAULTS = tuple(RARE_TRANSACTION_FIELDS.values())
for _name, _default in RARE_TRANSACTION_FIELDS.items():
    setattr(Transaction, _name, _rare_field(_name, _default))


class Receipt(_EventFact):
    """A buyer's receiving event: goods of a substance arrived from a seller. ``id`` defaults to
    ``"<event id>#<substance>"``."""

    __slots__ = ("_ev", "_id", "buyer_id", "kg", "seller_id", "substance", "time", "waybill")
    _FIELDS = ("id", "time", "buyer_id", "seller_id", "substance", "kg", "event_ids", "waybill")

    def __init__(self, id: str | None, time: datetime, buyer_id: str, seller_id: str, substance: str, kg: float,
                 event_ids: tuple[str, ...] = (), waybill: str = ""):
        self._id = id
        self.time = time
        self.buyer_id = buyer_id
        self.seller_id = seller_id
        self.substance = substance
        self.kg = kg
        self._ev = event_ids[0] if len(event_ids) == 1 else tuple(event_ids)
        self.waybill = waybill


@dataclass(slots=True)
class Transformation:
    """A TransformationEvent (or a group sharing a transformationID): precursor kg consumed → output produced."""

    id: str
    time: datetime
    party_id: str
    inputs_kg: Mapping[str, float]         # substance → kg consumed
    output_units: float                    # kg (or pieces) of product made; 0 = no output lot recorded
    product: str = ""                      # output product / process key, for the yield band
    event_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class TagSighting:
    """One sighting of an identified object (drum, IBC…) in an event (R23)."""

    epc: str
    time: datetime
    event_id: str
    biz_step: str = ""                     # shipping / receiving / destroying / …
    disposition: str = ""
    site_id: str | None = None
    owner_id: str | None = None            # owning party at that time, when known


@dataclass(slots=True)
class StockCount:
    """A count of stock (inspection or cycle count) against the book (R22)."""

    id: str
    time: datetime
    party_id: str
    site_id: str | None
    substance: str
    counted_kg: float
    book_kg: float
    counted_tags: frozenset[str] = frozenset()
    book_tags: frozenset[str] | None = frozenset()   # None = the book holds no tag list (tags are not compared)
    event_ids: tuple[str, ...] = ()
    inspection_id: str | None = None


@dataclass(slots=True)
class LedgerRow:
    """One 台账 row (party × site × substance × period) with the R09 mass balance already projected."""

    party_id: str
    site_id: str | None
    substance: str
    period_start: datetime
    period_end: datetime
    inflow_kg: float
    outflow_kg: float
    expected_closing_kg: float
    declared_closing_kg: float | None
    min_balance_kg: float                  # the lowest running book balance in the period
    event_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class Filing:
    id: str
    kind: str                              # SALES_FILING, ANNUAL_REPORT, LOSS_REPORT, INTL_VERIFICATION, PEN, REFILING
    party_id: str
    submitted_at: datetime
    # the sale / export / loss it is about: its id, or the Transaction itself (``about``), whose id it then reads
    # rather than keeping a copy of it (a sales filing per sale: 45 MB at 1,000,000 events)
    _about: str | Transaction | None = field(default=None, repr=False)
    year: int | None = None                # annual report year
    status: str = ""    # PEN: sent / acknowledged / no_objection / objected; verification: passed / failed

    def __init__(self, id: str, kind: str, party_id: str, submitted_at: datetime, transaction_id: str | None = None,
                 year: int | None = None, status: str = ""):
        self.id, self.kind, self.party_id, self.submitted_at = id, kind, party_id, submitted_at
        self._about, self.year, self.status = transaction_id, year, status

    @property
    def transaction_id(self) -> str | None:
        about = self._about
        return about.id if isinstance(about, Transaction) else about

    @transaction_id.setter
    def transaction_id(self, value: str | None) -> None:
        self._about = value

    def __repr__(self) -> str:
        return (f"Filing(id={self.id!r}, kind={self.kind!r}, party_id={self.party_id!r}, "
                f"submitted_at={self.submitted_at!r}, transaction_id={self.transaction_id!r}, year={self.year!r}, "
                f"status={self.status!r})")

    @property
    def transaction(self) -> Transaction | None:
        """The transaction the fact builder found this filing to be about (``about``), if it did."""
        about = self._about
        return about if isinstance(about, Transaction) else None

    def about(self, transaction: Transaction) -> None:
        """The transaction this filing names (its id is ``transaction_id``)."""
        self._about = transaction


@dataclass(slots=True)
class Inspection:
    id: str
    party_id: str
    time: datetime
    completed: bool = True
    on_site: bool = True


@dataclass(slots=True)
class Equipment:
    id: str
    type: str                              # "nmr", "tablet_press", "encapsulator", …
    owner_id: str | None
    site_id: str | None = None
    field_mhz: float | None = None
    benchtop: bool = False
    acquired_on: date | None = None
    transfers: tuple[tuple[date, str | None, str | None], ...] = ()   # (date, from party, to party)


@dataclass(slots=True)
class Loss:
    """A reported or detected loss: a stolen/lost disposition event, or a negative gap attributed to loss."""

    id: str
    time: datetime
    party_id: str
    substance: str
    kg: float
    event_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class Shipment:
    """A permitted shipment with a planned corridor and GPS fixes (R29). Points are (lon, lat) WGS-84."""

    id: str
    transaction_id: str | None
    planned_route: tuple[tuple[float, float], ...]
    fixes: tuple[tuple[datetime, float, float], ...]      # (time, lon, lat)
    departed_at: datetime | None = None
    eta: datetime | None = None
    arrived_at: datetime | None = None
    departure_kg: float | None = None
    arrival_kg: float | None = None
    event_ids: tuple[str, ...] = ()
    party_id: str | None = None          # the consignor who reported the track (when no transaction is found)
    waybill: str = ""                    # as the alert names the shipment (the id when empty)


@dataclass
class Facts:
    """Everything the rules read, plus the evaluation date and the parameters (effective-dated, resolved)."""

    as_of: datetime
    params: Mapping[str, Any] = field(default_factory=dict)
    substances: Mapping[str, Substance] = field(default_factory=dict)
    parties: Mapping[str, Party] = field(default_factory=dict)
    sites: Mapping[str, Site] = field(default_factory=dict)
    authorizations: Mapping[str, Authorization] = field(default_factory=dict)
    transactions: list[Transaction] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    transformations: list[Transformation] = field(default_factory=list)
    tag_sightings: list[TagSighting] = field(default_factory=list)
    stock_counts: list[StockCount] = field(default_factory=list)
    ledger_rows: list[LedgerRow] = field(default_factory=list)
    filings: list[Filing] = field(default_factory=list)
    inspections: list[Inspection] = field(default_factory=list)
    equipment: list[Equipment] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    special_country_rules: list[tuple[str, str, date, date | None]] = field(default_factory=list)
    """(substance code, ISO country, effective_from, effective_to) — 向特定国家(地区)出口 catalogue."""
    key_areas: frozenset[str] = frozenset()   # county codes in MPS-designated 禁毒形势严峻重点地区

    # cached lookups ------------------------------------------------------------------------------------------
    def auths_of(self, holder_id: str, types: Iterable[str] | None = None) -> list[Authorization]:
        idx = self.__dict__.get("_auths_by_holder")
        if idx is None:
            idx = defaultdict(list)
            for a in self.authorizations.values():
                idx[a.holder_id].append(a)
            self.__dict__["_auths_by_holder"] = idx
        found = idx.get(holder_id, [])
        if types is None:
            return list(found)
        types = set(types)
        return [a for a in found if a.type in types]

    def filings_of(self, kind: str) -> list[Filing]:
        idx = self.__dict__.get("_filings_by_kind")
        if idx is None:
            idx = defaultdict(list)
            for f in self.filings:
                idx[f.kind].append(f)
            self.__dict__["_filings_by_kind"] = idx
        return idx.get(kind, [])

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)
