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
from .registry import product_catalog


def ledger_rows(party_identifier: str, year: int) -> list[dict]:
    """The party's ledger for a year, from the platform's lineage index (so goods received in drums packed by the
    seller are weighed from the seller's packing events), in kg of base substance."""
    from .tracing import lineage_index

    catalog = product_catalog()
    index = lineage_index()
    substance_of = lambda cls: (catalog.product(cls).substance if cls and catalog.product(cls) else None)
    rows = ledger_from_index(index, month_periods(year, 1, 12), party=party_identifier, substance_of=substance_of,
                             salt_to_base=dict(catalog.salt_factor))
    out = []
    for r in rows:
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
