"""From EPCIS events to the business facts the rules read (research §3.3 "mapping of business steps").

Pure Python. ``FactExtractor`` turns normalised events (``precursors.algorithms.epcis.Event``) into
``rules.facts`` records:

* a **shipping** ObjectEvent whose source owning party differs from its destination owning party is a
  :class:`Transaction` (seller → buyer), one per substance it carries;
* a **receiving** ObjectEvent is a :class:`Receipt` (buyer ← seller);
* a TransformationEvent is a :class:`Transformation` (precursor kg in → output units);
* every identified object (EPC) in an event is a :class:`TagSighting`;
* a stolen / lost disposition is a :class:`Loss`.

What the event carries beyond EPCIS (permit numbers, payment method…) comes from extension fields whose name ends
with the keys in ``EXT`` — ``jindu:permitNo``, ``jindu:paymentMethod``… (docs/precursors.md, "How to report").
Quantities become kg of base substance: the uom converted by ``trace.to_kg`` (density / piece mass from the product
mapping), × concentration × the substance's salt-to-base factor. A quantity that cannot be converted is skipped
and counted in ``unconverted`` (never taken as zero silently).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .rules.facts import Loss, Receipt, TagSighting, Transaction, Transformation
from .trace import _as_map, _first, site_of, to_kg

#: the epcClass of a quantity reported by substance (web form, Excel ledger): urn:jindu:class:substance:C3-02
SUBSTANCE_CLASS_PREFIX = "urn:jindu:class:substance:"
#: the JSON-LD namespace of Jindu's extension fields (jindu:permitNo …)
JINDU_NAMESPACE = "https://ns.jindu.org.cn/epcis/"

#: extension-name suffixes (any namespace prefix) → meaning
EXT = {
    "permit": ("permitNo", "permit_no"),
    "waybill": ("waybillNo", "waybill_no"),
    "payment": ("paymentMethod",),
    "consignee": ("consignee",),
    "consignee_reason": ("consigneeReason",),
    "carrier": ("carrier",),
    "use": ("declaredUse",),
    "country": ("destCountry", "destinationCountry"),
    "customs_hs": ("customsHS",),
    "customs_kg": ("customsKg",),
    "mixture_share": ("mixtureShare",),
    "substance": ("substance",),
    "address_kind": ("deliveryAddressKind",),
    "own_output": ("ownProduction",),
}


_KEY_OF_SUFFIX = {suffix: key for key, suffixes in EXT.items() for suffix in suffixes}


def ext_map(extensions: Mapping) -> dict:
    """key of ``EXT`` → the value of the first extension field whose local name is one of its suffixes (one pass
    over the event's extensions, for code that reads several)."""
    out: dict = {}
    for k, v in extensions.items():
        key = _KEY_OF_SUFFIX.get(k.rsplit(":", 1)[-1])
        if key is not None and key not in out:
            out[key] = v
    return out


def ext_value(extensions: Mapping, key: str):
    suffixes = EXT[key]
    for k, v in extensions.items():
        if k.rsplit(":", 1)[-1] in suffixes:
            return v
    return None


def ext_list(extensions: Mapping, key: str) -> tuple[str, ...]:
    return as_id_list(ext_value(extensions, key))


def as_id_list(v) -> tuple[str, ...]:
    """An extension value naming one or more ids (a list, or a string separated by commas or spaces) as a tuple."""
    if v is None or v == "":
        return ()
    if isinstance(v, (list, tuple)):
        return tuple(str(x) for x in v if x)
    return tuple(x for x in str(v).replace(",", " ").split() if x)


@dataclass(frozen=True, slots=True)
class Product:
    substance: str
    concentration: float = 1.0
    density: float | None = None
    piece_mass: float | None = None


@dataclass
class ProductCatalog:
    """epcClass → product, by the longest registered prefix; or a substance named on the event itself
    (``jindu:substance`` = catalogue code or CAS number)."""

    by_prefix: Mapping[str, Product] = field(default_factory=dict)
    by_cas: Mapping[str, str] = field(default_factory=dict)         # CAS → substance code
    codes: frozenset[str] = frozenset()
    salt_factor: Mapping[str, float] = field(default_factory=dict)  # substance code → factor
    _cache: dict = field(default_factory=dict, repr=False)

    def product(self, epc_class: str) -> Product | None:
        if epc_class in self._cache:
            return self._cache[epc_class]
        found = None
        if epc_class.startswith(SUBSTANCE_CLASS_PREFIX):
            # reports made through the web form or the Excel ledger name the catalogue substance itself
            code = epc_class[len(SUBSTANCE_CLASS_PREFIX):]
            found = Product(code) if code in self.codes else None
            self._cache[epc_class] = found
            return found
        for i in range(len(epc_class), 0, -1):
            if i == len(epc_class) or epc_class[i] in "./:":
                hit = self.by_prefix.get(epc_class[: i + (0 if i == len(epc_class) else 1)])
                if hit is None and i < len(epc_class):
                    hit = self.by_prefix.get(epc_class[:i])
                if hit is not None:
                    found = hit
                    break
        self._cache[epc_class] = found
        return found

    def substance_named(self, value) -> str | None:
        if not value:
            return None
        value = str(value).strip()
        if value in self.codes:
            return value
        return self.by_cas.get(value)

    def kg(self, epc_class: str, quantity, uom, named: str | None = None) -> tuple[str | None, float | None]:
        """(substance code, kg of base substance) of one quantity element."""
        prod = self.product(epc_class)
        if prod is None:
            if named is None:
                return None, None
            prod = Product(named)
        kg = to_kg(quantity, uom, prod.density, prod.piece_mass)
        if kg is None:
            return prod.substance, None
        return prod.substance, kg * prod.concentration * self.salt_factor.get(prod.substance, 1.0)


class ProductAttribute(Mapping):
    """A read-only epc_class → attribute view of a catalog (density, piece_mass), resolved by prefix, for the
    lineage index and the ledger."""

    def __init__(self, catalog: ProductCatalog, attribute: str):
        self.catalog, self.attribute = catalog, attribute

    def __getitem__(self, epc_class):
        prod = self.catalog.product(epc_class)
        value = getattr(prod, self.attribute) if prod is not None else None
        if value is None:
            raise KeyError(epc_class)
        return value

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


@dataclass
class Extracted:
    transactions: list[Transaction] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    transformations: list[Transformation] = field(default_factory=list)
    tag_sightings: list[TagSighting] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    unconverted: int = 0


_UNREAD = object()


def _shared(value):
    """One copy of an id string (``sys.intern``); other values as they are."""
    return sys.intern(value) if type(value) is str else value


def _party(m: dict) -> str | None:
    return _first(m, "owning_party", "possessing_party")


class FactExtractor:
    """Stateless apart from the catalogue and the registry maps: ``site_party`` (site → party id) and
    ``site_area`` / ``party_area`` (→ GB/T 2260 area code)."""

    def __init__(self, catalog: ProductCatalog, *, site_party: Mapping[str, str] | None = None,
                 site_area: Mapping[str, str] | None = None, party_area: Mapping[str, str] | None = None,
                 contents=None, known_id=None):
        self.catalog = catalog
        #: ``known_id(event_id)`` → one shared copy of the id (the lineage index's), or None
        self.known_id = known_id
        #: identified containers (drums, IBCs, pallets) carry no quantity in a shipping event: ``contents(epc,
        #: event_time)`` answers {epc_class: kg} from their packing history (a LineageIndex), or None
        self.contents = contents
        self.site_party = site_party or {}
        self.site_area = site_area or {}
        self.party_area = party_area or {}

    def _substance_kg(self, ev, quantities, epcs=(), substance=_UNREAD) -> dict[str, float]:
        if substance is _UNREAD:
            substance = ext_value(ev.extensions, "substance")
        named = self.catalog.substance_named(substance)
        out: dict[str, float] = {}
        if epcs and self.contents is not None:
            for epc in epcs:
                for cls, kg in (self.contents(epc, ev.event_time) or {}).items():
                    prod = self.catalog.product(cls)
                    if prod is None:
                        continue
                    base = kg * prod.concentration * self.catalog.salt_factor.get(prod.substance, 1.0)
                    out[prod.substance] = out.get(prod.substance, 0.0) + base
        for q in quantities:
            code, kg = self.catalog.kg(q.epc_class, q.quantity, q.uom, named)
            if code is None:
                continue
            if kg is None:
                self._unconverted += 1
                continue
            out[code] = out.get(code, 0.0) + kg
        return out

    def _area(self, site: str | None, party: str | None) -> str:
        if site and site in self.site_area:
            return self.site_area[site]
        return self.party_area.get(party or "", "")

    def extract(self, events: Iterable) -> Extracted:
        out = Extracted()
        self._unconverted = 0
        self._permit_tuples: dict[tuple, tuple] = {}
        known_id = self.known_id
        for ev in events:
            if ev.error_declaration is not None:
                continue
            if known_id is not None:
                ev.event_id = known_id(ev.event_id)
            step, disp = ev.biz_step, ev.disposition
            src, dst = _as_map(ev.source_list), _as_map(ev.destination_list)
            if ev.type == "ObjectEvent" and step == "shipping":
                self._shipping(ev, src, dst, out)
            elif ev.type == "ObjectEvent" and step == "receiving":
                self._receiving(ev, src, dst, out)
            elif ev.type == "TransformationEvent":
                self._transformation(ev, out)
            if disp in ("stolen", "lost"):
                loc = site_of(ev.biz_location or ev.read_point)
                party = self.site_party.get(loc or "") or _party(src)
                for code, kg in self._substance_kg(ev, ev.quantity_list, ev.epc_list).items():
                    out.losses.append(Loss(ev.event_id, ev.event_time, party or "", code, kg, (ev.event_id,)))
            if ev.epc_list or ev.child_epcs or ev.parent_id:
                loc = site_of(ev.biz_location or ev.read_point)
                owner = (_party(src) if step == "shipping" else _party(dst) if step == "receiving"
                         else self.site_party.get(loc or ""))
                # the ids repeat across sightings (and the lineage index holds the EPCs): one copy of each
                loc, owner, step, disp = _shared(loc), _shared(owner), _shared(step or ""), _shared(disp or "")
                for epc in (*ev.epc_list, *ev.child_epcs, *((ev.parent_id,) if ev.parent_id else ())):
                    out.tag_sightings.append(TagSighting(_shared(epc), ev.event_time, ev.event_id, step, disp, loc,
                                                         owner))
        out.unconverted = self._unconverted
        return out

    def _shipping(self, ev, src, dst, out):
        seller, buyer = _party(src), _party(dst)
        if not seller or not buyer or seller == buyer:
            return
        # the ids a transaction names repeat across hundreds of thousands of them: share one copy of each (the
        # JSON decoder makes a new string every time), which takes a quarter off the facts' memory
        seller, buyer = _shared(seller), _shared(buyer)
        x = ext_map(ev.extensions)
        get = x.get
        origin = _shared(site_of(_first(src, "location") or ev.read_point or ev.biz_location))
        dest = _shared(site_of(_first(dst, "location")))
        country = _shared((get("country") or _first(dst, "country") or "CN").upper())
        btx = _as_map(ev.biz_transaction_list)
        permits = as_id_list(get("permit"))
        permits = self._permit_tuples.setdefault(permits, permits)     # hundreds of sales cite one permit
        waybill = _shared((as_id_list(get("waybill")) or (btx.get("waybill") or btx.get("bol") or [""]))[0])
        is_export = country != "CN" or any(t in btx for t in ("cusdec", "export_declaration", "export_licence"))
        customs_kg = get("customs_kg")
        share = get("mixture_share")
        amounts = self._substance_kg(ev, ev.quantity_list, ev.epc_list, get("substance"))
        possessor = _first(src, "possessing_party")
        carrier = get("carrier") or (possessor if possessor != seller else None)
        for code, kg in amounts.items():
            out.transactions.append(Transaction(
                id=None, time=ev.event_time, seller_id=seller, buyer_id=buyer, substance=code,
                kg=kg, event_ids=(ev.event_id,), permits=permits,
                payment_method=_shared(str(get("payment") or "")), consignee_id=_shared(get("consignee")),
                consignee_reason=str(get("consignee_reason") or ""), carrier_id=_shared(carrier),
                origin_site=origin, destination_site=dest, origin_area=self._area(origin, seller),
                destination_area=self._area(dest, buyer), destination_country=country, is_export=is_export,
                customs_hs=_shared(str(get("customs_hs") or "")),
                customs_kg=float(customs_kg) if customs_kg not in (None, "") else None,
                mixture_share=float(share) if share not in (None, "") else None,
                declared_use=_shared(str(get("use") or "")), waybill=str(waybill),
                delivery_address_kind=_shared(str(get("address_kind") or "")),
                is_production_sale=bool(get("own_output"))))

    def _receiving(self, ev, src, dst, out):
        buyer, seller = _party(dst), _party(src)
        if not buyer or not seller or buyer == seller:
            return
        buyer, seller = _shared(buyer), _shared(seller)
        btx = _as_map(ev.biz_transaction_list)
        waybill = _shared((ext_list(ev.extensions, "waybill") or (btx.get("waybill") or btx.get("bol") or [""]))[0])
        for code, kg in self._substance_kg(ev, ev.quantity_list, ev.epc_list).items():
            out.receipts.append(Receipt(None, ev.event_time, buyer, seller, code, kg,
                                        (ev.event_id,), str(waybill)))

    def _transformation(self, ev, out):
        loc = site_of(ev.biz_location or ev.read_point)
        party = self.site_party.get(loc or "", loc or "")
        inputs = self._substance_kg(ev, ev.input_quantity_list, ev.input_epc_list)
        if not inputs:
            return
        output_units = 0.0
        product = ""
        for q in ev.output_quantity_list:
            output_units += float(q.quantity or 0)
            product = product or q.epc_class.rsplit(".", 1)[0]
        output_units += len(ev.output_epc_list)
        out.transformations.append(Transformation(ev.transformation_id or ev.event_id, ev.event_time, party,
                                                  inputs, output_units, product, (ev.event_id,)))
