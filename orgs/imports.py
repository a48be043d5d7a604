from django.utils.translation import gettext_lazy as _

from core.imports import Column, ImportSpec, registry

from .forms import OrganizationForm
from .models import Organization

ORGANIZATION_IMPORT = registry.register(ImportSpec(
    name="orgs.organization",
    label=_("Organisations"),
    model=Organization,
    form_class=OrganizationForm,
    key_fields=("area_code", "name"),
    columns=[
        Column("name", "名称", example="苏州市某某化工有限公司"),
        Column("short_name", "简称"),
        Column("type", "类型", example="企业"),
        Column("sector", "条线"),
        Column("uscc", "统一社会信用代码", example="91320505MA1XXXXXXX"),
        Column("area_code", "区划代码", help="所在街道/社区的区划代码，如 320505001", example="320505001"),
        Column("address", "地址"),
        Column("contact_name", "联系人"),
        Column("contact_phone", "联系电话"),
    ],
))
