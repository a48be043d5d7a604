"""台账 (issue 3 item 4): per party × site × substance × month, projected from the events with the pure ledger
module, in kg of base substance, and exported in the columns enterprises keep."""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import log_access
from core.models import AccessLog
from utilities.excel import write_table

from .algorithms.ledger import TAIZHANG_COLUMNS, ledger_from_index, month_periods
from .algorithms.trace import LineageIndex, trace_event_from
from .algorithms.transactions import ProductAttribute
from .models import Event, Party
from .registry import Registry, product_catalog


def ledger_rows(party_identifier: str, year: int) -> list[dict]:
    """The party's ledger for a year. Only the party's own events and those naming it as counterparty are read."""
    from .rules_service import stored_events

    party = Party.objects.get(identifier=party_identifier)
    reg = Registry.load()
    catalog = product_catalog()
    index = LineageIndex(site_party=reg.site_party, densities=ProductAttribute(catalog, "density"),
                         piece_mass=ProductAttribute(catalog, "piece_mass"))
    index.add(trace_event_from(e) for e in stored_events(Event.objects.filter(party=party)))
    factors = {code: f for code, f in catalog.salt_factor.items()}
    substance_of = lambda cls: (catalog.product(cls).substance if cls and catalog.product(cls) else None)  # noqa
    rows = ledger_from_index(index, month_periods(year, 1, 12), substance_of=substance_of, salt_to_base=factors)
    out = []
    for r in rows:
        if r.party != party_identifier:
            continue
        d = r.as_taizhang()
        d["gap_alarm"], d["negative_stock"] = r.gap_alarm, r.negative_stock
        out.append(d)
    return out


def ledger_workbook(rows: list[dict], party: str, year: int, user) -> HttpResponse:
    keys = [k for k in TAIZHANG_COLUMNS]
    headers = [TAIZHANG_COLUMNS[k] for k in keys]
    body = [[_plain(r.get(k)) for k in keys] for r in rows]
    now = timezone.localtime()
    log_access(AccessLog.Event.EXPORT, object_type="precursors.ledger", reason=f"台账 {party} {year}",
               detail={"rows": len(body)})
    footer = _("Exported by %(user)s at %(time)s from Jindu; %(rows)d rows.") % {
        "user": user.get_username(), "time": now.strftime("%Y-%m-%d %H:%M"), "rows": len(body)}
    content = write_table(headers, body, title=f"易制毒化学品台账 {year}", footer=footer)
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="taizhang-{year}.xlsx"'
    return response


def _plain(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return round(value, 3)
    return value
