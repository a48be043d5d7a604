from django import forms as djforms
from django.utils.translation import gettext_lazy as _

from core.imports import Column, ImportSpec, registry

from . import forms, models


def _find_lab_result(data):
    return models.Measurement.objects.filter(sample__plant__code=data.get("plant", ""),
                                             sample__sample_date=data.get("sample_date") or None,
                                             residue=data.get("residue", "")).select_related("sample").first() \
        if data.get("sample_date") else None


LAB_RESULTS = registry.register(ImportSpec(
    name="monitoring.labresult",
    label=_("Wastewater laboratory results"),
    model=models.Measurement,
    also_for=(models.Sample,),
    form_class=forms.LabResultForm,
    key_fields=("plant", "sample_date", "residue"),
    find_existing=_find_lab_result,
    save=lambda form, user: form.save(lab=forms.reporting_lab(user)),
    columns=[
        Column("plant", "站点代码", help="污水处理厂的站点代码，如 GS01", example="GS01"),
        Column("sample_date", "采样日期", help="24小时混合样的采样日期，如 2026-03-02", example="2026-03-02"),
        Column("flow_m3_d", "日流量(m³/d)", help="当日进水流量，立方米/天", example="120000"),
        Column("residue", "目标物", help="如 甲基苯丙胺、氯胺酮，或英文 methamphetamine", example="甲基苯丙胺"),
        Column("concentration_ng_l", "浓度(ng/L)", help="低于定量限时留空", example="85.2"),
        Column("loq_ng_l", "定量限(ng/L)", example="1"),
    ],
))


def _find_flow(data):
    return models.Sample.objects.filter(plant__code=data.get("plant", ""), sample_date=data.get("sample_date") or None,
                                        sample_type="composite_24h").first() if data.get("sample_date") else None


class FlowRowForm(djforms.Form):
    """One row of a plant's daily flow file (creates or corrects the day's sample)."""

    plant = djforms.CharField(label=_("site code"), max_length=32)
    sample_date = djforms.DateField(label=_("sampling date"))
    flow_m3_d = djforms.FloatField(label=_("flow (m³/d)"), min_value=0.000001)

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)

    clean_plant = forms.LabResultForm.clean_plant

    def has_changed(self):
        return self.instance is None or self.instance.flow_m3_d != self.cleaned_data.get("flow_m3_d")

    def save(self):
        from .services import record_flow

        return record_flow(self.cleaned_data["plant"], self.cleaned_data["sample_date"], self.cleaned_data["flow_m3_d"])


FLOWS = registry.register(ImportSpec(
    name="monitoring.flow",
    label=_("Treatment plant daily flows"),
    model=models.Sample,
    form_class=FlowRowForm,
    key_fields=("plant", "sample_date"),
    find_existing=_find_flow,
    columns=[
        Column("plant", "站点代码", example="GS01"),
        Column("sample_date", "日期", example="2026-03-02"),
        Column("flow_m3_d", "日流量(m³/d)", example="118500"),
    ],
))


def _find_screening(data):
    return models.ScreeningResult.objects.filter(batch__reference=data.get("reference", ""),
                                                 drug=data.get("drug", "")).select_related("batch").first()


SCREENING = registry.register(ImportSpec(
    name="monitoring.screening",
    label=_("Hair and lab screening results"),
    model=models.ScreeningResult,
    also_for=(models.ScreeningBatch,),
    form_class=forms.ScreeningRowForm,
    key_fields=("reference", "drug"),
    find_existing=_find_screening,
    save=lambda form, user: form.save(lab=forms.reporting_lab(user)),
    columns=[
        Column("reference", "批次编号", example="GS-2026-03-01"),
        Column("area_code", "区划代码", example="320508"),
        Column("population_group", "检测人群", example="职业驾驶人"),
        Column("sample_type", "样本类型", example="毛发"),
        Column("collected_on", "采样日期", example="2026-03-05"),
        Column("tested", "检测人数", example="120"),
        Column("drug", "毒品种类", example="甲基苯丙胺"),
        Column("positive", "阳性人数", example="2"),
    ],
))
