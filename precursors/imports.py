"""Excel door: the enterprise 台账 (purchases, sales, use, stock counts…) through the platform's import pipeline.
Each row becomes the EPCIS event the web form and the API would make (see reporting.py)."""

from django.utils.translation import gettext_lazy as _

from core.imports import Column, ImportSpec, registry

from . import models
from .reporting import LedgerRowForm

LEDGER = registry.register(ImportSpec(
    name="precursors.ledger",
    label=_("Precursor ledger (台账) movements"),
    model=models.CaptureBatch,
    form_class=LedgerRowForm,
    key_fields=("party", "kind", "time", "substance", "quantity_kg", "counterparty"),
    find_existing=lambda data: None,
    save=lambda form, user: form.save(user),
    also_for=(models.Event,),
    columns=[
        Column("party", "单位标识或统一社会信用代码", example="urn:epc:id:pgln:6901234.00001"),
        Column("kind", "业务类型", help="购入/销售/使用/生产/盘点/销毁/丢失被盗", example="sale"),
        Column("time", "日期时间", example="2026-03-01 09:30"),
        Column("substance", "品种代码", help="目录代码，如 C3-02 丙酮", example="C3-02"),
        Column("quantity_kg", "数量(kg)", example="500"),
        Column("counterparty", "对方单位标识或统一社会信用代码", example="urn:epc:id:pgln:6901234.00002"),
        Column("site", "场所(SGLN)"),
        Column("permit_no", "许可证/备案证明编号"),
        Column("waybill_no", "运单号"),
        Column("payment_method", "付款方式", example="transfer"),
        Column("dest_country", "出口目的国"),
        Column("output_kg", "产出(kg)"),
    ],
))
