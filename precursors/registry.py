"""Snapshots of the registry and the reference data that capture, the rules, the trace and the ledger share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .algorithms import trace
from .algorithms.rules import PARAMS
from .algorithms.rules import facts as F
from .algorithms.transactions import FactExtractor, Product, ProductCatalog


@dataclass
class Registry:
    party_pk: dict[str, int] = field(default_factory=dict)          # identifier → pk
    party_area: dict[str, str] = field(default_factory=dict)        # identifier → area code
    party_org: dict[str, int | None] = field(default_factory=dict)  # identifier → org id
    site_party: dict[str, str] = field(default_factory=dict)        # site identifier → party identifier
    site_area: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Registry:
        from .models import Party, Site

        reg = cls()
        for pk, ident, area, org in Party.objects.values_list("pk", "identifier", "area_code", "org_id"):
            reg.party_pk[ident], reg.party_area[ident], reg.party_org[ident] = pk, area, org
        for ident, party, area in Site.objects.values_list("identifier", "party__identifier", "area_code"):
            reg.site_party[trace.site_of(ident)] = party
            reg.site_area[trace.site_of(ident)] = area
        return reg

    def owner_of(self, ev) -> str | None:
        """The party an event belongs to: the shipper of a shipping event, the receiver of a receiving event,
        otherwise the owner of the site where it happened (None when unknown)."""
        if ev.biz_step == "shipping":
            ident = _party(ev.source_list)
            if ident:
                return ident
        elif ev.biz_step == "receiving":
            ident = _party(ev.destination_list)
            if ident:
                return ident
        for loc in (ev.biz_location, ev.read_point):
            site = trace.site_of(loc)
            if site and site in self.site_party:
                return self.site_party[site]
        return None

    def reporting_side(self, ev) -> set[str]:
        """The registered parties on the reporting side of an event: the owners of the sites where it happened,
        the shipper of a shipping event, the receiver of a receiving event."""
        out = set()
        for loc in (ev.biz_location, ev.read_point):
            site = trace.site_of(loc)
            if site and site in self.site_party:
                out.add(self.site_party[site])
        side = _party(ev.source_list) if ev.biz_step == "shipping" else \
            _party(ev.destination_list) if ev.biz_step == "receiving" else None
        if side and side in self.party_pk:
            out.add(side)
        return out

    def extractor(self, catalog: ProductCatalog | None = None, index=None) -> FactExtractor:
        """``index``: a LineageIndex holding the packing history, to weigh containers named by EPC only."""
        contents = known_id = None
        if index is not None:
            def contents(epc, when):
                lots, _unknown = index.contents(epc, trace._ts(when))
                return lots
            known_id = index.known_id
        return FactExtractor(catalog or product_catalog(), site_party=self.site_party, site_area=self.site_area,
                             party_area=self.party_area, contents=contents, known_id=known_id)


def _party(pairs) -> str | None:
    for wanted in ("owning_party", "possessing_party"):
        for kind, ident in pairs:
            if kind == wanted:
                return ident
    return None


def product_catalog() -> ProductCatalog:
    from .models import ProductMapping, Substance

    subs = list(Substance.objects.values_list("code", "cas", "salt_to_base_factor"))
    by_cas = {}
    for code, cas, _ in subs:
        for c in (cas or "").replace(";", ",").split(","):
            if c.strip():
                by_cas.setdefault(c.strip(), code)
    by_prefix = {m.prefix: Product(m.substance_id, m.concentration, m.density_kg_l, m.piece_mass_kg)
                 for m in ProductMapping.objects.all()}
    return ProductCatalog(by_prefix=by_prefix, by_cas=by_cas, codes=frozenset(c for c, _, _ in subs),
                          salt_factor={c: f for c, _, f in subs if f})


def params_in_force(on: dt.date) -> dict:
    """Rule parameters in force on a date: the rule's declared default, then the shipped reference table
    (precursors/data/catalogue/parameters.csv, effective-dated, with sources), then the effective-dated rows an
    administrator entered (latest effective_from ≤ on, not ended)."""
    from django.db.models import Q

    from .algorithms.catalogue import load_parameters
    from .models import RuleParameter

    values = {name: spec.default for name, spec in PARAMS.items()}
    for row in sorted(load_parameters(), key=lambda r: r.effective_from):
        if row.name in values and row.in_force(on):
            values[row.name] = list(row.value) if isinstance(row.value, tuple) else row.value
    rows = (RuleParameter.objects.filter(effective_from__lte=on)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on)).order_by("name", "effective_from"))
    for row in rows:
        values[row.name] = row.value
    return values


def substances_on(on: dt.date) -> dict[str, F.Substance]:
    """The catalogue as the rules see it on a date: a substance not yet listed (or delisted) has category None."""
    from .models import Substance

    out = {}
    for s in Substance.objects.all():
        listed = (s.listed_from is not None and s.listed_from <= on and (s.listed_to is None or on <= s.listed_to))
        out[s.code] = F.Substance(
            code=s.code, name=s.name_zh, category=s.category if listed else None, is_pharma=s.is_pharma,
            cas=tuple(c.strip() for c in (s.cas or "").split(",") if c.strip()),
            criminal_threshold_kg=s.criminal_threshold_kg, watch=s.watch, watch_threshold_kg=s.watch_threshold_kg,
            intl_verification=s.intl_verification, volatile=s.volatile)
    return out
