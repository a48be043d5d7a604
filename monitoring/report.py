"""The monthly 毒情 report: a Chinese Word document with tables and charts, built by a job.

Charts carry only numbers, dates and residue abbreviations (METH, KET…) so that they render the same
on a server without Chinese fonts; their Chinese captions are Word text. Counts of persons below
``SMALL_CELL`` are printed as "<5": the report leaves the platform.
"""

import datetime as dt
import io
from collections import defaultdict
from pathlib import Path

from django.conf import settings
from django.db.models import Count

from geo.models import Division

from . import models, services
from .algorithms.trend import trend_class

SMALL_CELL = 5
RESIDUES = [("methamphetamine", "METH", "甲基苯丙胺"), ("ketamine", "KET", "氯胺酮"), ("morphine", "MOR", "吗啡")]
TREND_ZH = {"sustained_decrease": "持续下降", "decrease": "下降", "plateau": "平稳", "increase": "上升",
            "sustained_increase": "持续上升", "insufficient_data": "数据不足"}
STATUS_ZH = {"new": "新预警", "assigned": "已分派", "investigating": "核查中", "closed": "已办结"}
SOURCE_ZH = {"wastewater": "污水监测", "screening": "毛发/实验室筛查", "forensic": "检验鉴定", "pdmp": "麻精药品",
             "precursor": "易制毒化学品", "seizure": "缴获", "neighbour": "邻区预警"}


def suppress(count: int) -> str:
    """Small-cell suppression for counts of persons in anything that leaves the platform."""
    return f"<{SMALL_CELL}" if 0 < count < SMALL_CELL else str(count)


def _month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    start = month.replace(day=1)
    nxt = (start + dt.timedelta(days=32)).replace(day=1)
    return start, nxt - dt.timedelta(days=1)


def _monthly_pnl(residue: str, prefix: str, start: dt.date, end: dt.date) -> dict:
    """{(district, month): population-weighted mean PNL} and {("all", month): …}."""
    from .algorithms.wbe import population_weighted_mean

    groups = defaultdict(lambda: ([], []))
    qs = models.LoadEstimate.objects.filter(residue=residue, sample_date__range=(start, end),
                                            plant__area_code__startswith=prefix, pnl_mg_d_1000__isnull=False)
    for pnl, pop, day, area in qs.values_list("pnl_mg_d_1000", "population", "sample_date", "plant__area_code"):
        month = day.replace(day=1)
        for key in ((area[:6], month), ("all", month)):
            groups[key][0].append(pnl)
            groups[key][1].append(pop)
    return {k: population_weighted_mean(v, w) for k, (v, w) in groups.items()}


def _chart(months: list[dt.date], series: dict[str, list]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 2.8), dpi=150)
    for label, values in series.items():
        ax.plot([m.strftime("%Y-%m") for m in months], [v if v is not None else float("nan") for v in values],
                marker="o", linewidth=1.5, markersize=3, label=label)
    ax.set_ylabel("mg/d/1000 inh")
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def build_monthly_report(report: models.MonthlyReport) -> Path:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    month_start, month_end = _month_bounds(report.month)
    prefix = report.area_code[:4] if report.area_code.endswith("00") and len(report.area_code) == 6 \
        else report.area_code
    area = Division.objects.filter(code=report.area_code).first()
    area_name = area.name if area else report.area_code
    districts = {d.code: d.name for d in Division.objects.filter(level="district", code__startswith=prefix)}

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    style.font.size = Pt(11)

    title = doc.add_heading(f"{area_name}毒情监测月报（{report.month.year}年{report.month.month}月）", level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(f"生成时间：{dt.datetime.now():%Y-%m-%d %H:%M}　　密级：内部资料，注意保密").alignment = \
        WD_ALIGN_PARAGRAPH.CENTER

    # 一、总体情况
    alerts = models.Alert.objects.filter(area_code__startswith=prefix, period__range=(month_start, month_end))
    by_source = dict(alerts.values_list("source").annotate(n=Count("id")))
    coverage = services.monitoring_coverage(prefix)
    plants = models.TreatmentPlant.objects.filter(area_code__startswith=prefix, is_active=True).count()
    doc.add_heading("一、总体情况", level=1)
    cov = f"{coverage.overall:.1%}" if coverage.overall is not None else "无人口数据"
    doc.add_paragraph(
        f"本月纳入监测的污水处理厂 {plants} 座，污水毒情监测覆盖面 {cov}。本月共产生预警 {alerts.count()} 条："
        + ("，".join(f"{SOURCE_ZH.get(k, k)} {v} 条" for k, v in sorted(by_source.items())) or "无") + "。")

    # 二、污水监测
    doc.add_heading("二、污水毒情监测", level=1)
    year_start = (month_start - dt.timedelta(days=335)).replace(day=1)
    months = []
    current = year_start
    while current <= month_start:
        months.append(current)
        current = (current + dt.timedelta(days=32)).replace(day=1)
    pnl = {code: _monthly_pnl(code, prefix, year_start, month_end) for code, _abbr, _zh in RESIDUES}
    previous = (month_start - dt.timedelta(days=1)).replace(day=1)
    table = doc.add_table(rows=1, cols=5)
    table.style = "Light Grid Accent 1"
    for cell, text in zip(table.rows[0].cells, ["地区", "目标物", "本月（mg/天/千人）", "环比", "趋势"]):
        cell.text = text
    for district_code, district_name in sorted(districts.items()):
        for code, _abbr, zh in RESIDUES:
            now = pnl[code].get((district_code, month_start))
            if now is None:
                continue
            before = pnl[code].get((district_code, previous))
            change = f"{(now - before) / before:+.0%}" if before else "—"
            history = [pnl[code].get((district_code, m)) for m in months]
            trend = trend_class([v for v in history if v is not None][-6:])
            row = table.add_row().cells
            for cell, text in zip(row, [district_name, zh, f"{now:.1f}", change, TREND_ZH.get(trend, trend)]):
                cell.text = text
    doc.add_paragraph("")
    image = _chart(months, {abbr: [pnl[code].get(("all", m)) for m in months] for code, abbr, _zh in RESIDUES})
    doc.add_picture(io.BytesIO(image), width=Cm(15))
    doc.add_paragraph("图1　全市主要目标物人口加权平均负荷（METH 甲基苯丙胺，KET 氯胺酮，MOR 吗啡；单位 mg/天/千人）"
                      ).alignment = WD_ALIGN_PARAGRAPH.CENTER

    # 三、毛发/实验室筛查
    doc.add_heading("三、毛发及实验室筛查", level=1)
    batches = models.ScreeningBatch.objects.filter(area_code__startswith=prefix,
                                                   collected_on__range=(month_start, month_end))
    tested = defaultdict(int)
    for code, count in batches.values_list("area_code", "tested"):
        tested[code[:6]] += count
    positive = defaultdict(int)
    for code, count in models.ScreeningResult.objects.filter(batch__in=batches).values_list("batch__area_code",
                                                                                            "positive"):
        positive[code[:6]] += count
    table = doc.add_table(rows=1, cols=4)
    table.style = "Light Grid Accent 1"
    for cell, text in zip(table.rows[0].cells, ["地区", "检测人数", "阳性人数", "阳性率"]):
        cell.text = text
    for code in sorted(tested):
        row = table.add_row().cells
        rate = "—" if 0 < positive[code] < SMALL_CELL else f"{positive[code] / tested[code]:.2%}"
        for cell, text in zip(row, [districts.get(code, code), suppress(tested[code]), suppress(positive[code]), rate]):
            cell.text = text
    if not tested:
        doc.add_paragraph("本月无筛查数据。")

    # 四、检验鉴定
    doc.add_heading("四、检验鉴定与新精神活性物质", level=1)
    identified = models.ForensicIdentification.objects.filter(area_code__startswith=prefix,
                                                              identified_on__range=(month_start, month_end))
    nps = list(identified.filter(is_nps=True).values_list("substance").annotate(n=Count("id")).order_by("-n"))
    doc.add_paragraph(f"本月检验鉴定 {identified.count()} 份，其中新精神活性物质 {sum(n for _s, n in nps)} 份"
                      + ("：" + "、".join(f"{s} {n} 份" for s, n in nps) if nps else "") + "。")

    # 五、麻精药品
    doc.add_heading("五、麻精药品流向监测", level=1)
    pdmp = alerts.filter(source="pdmp")
    rule_names = {"P01": "多处就诊配药", "P02": "日均吗啡当量过高", "P03": "阿片类与苯二氮䓬类重叠",
                  "P04": "处方天数超过规定", "P05": "向未成年人销售第二类精神药品"}
    # persons, not alerts: P04/P05 raise one alert per dispensing; the subject names the patient pseudonym
    counts = dict(pdmp.values_list("rule_id").annotate(n=Count("subject", distinct=True)))
    for rule, name in rule_names.items():
        doc.add_paragraph(f"{rule} {name}：涉及人数 {suppress(counts.get(rule, 0))}", style="List Bullet")
    doc.add_paragraph(f"注：人数少于 {SMALL_CELL} 时以“<{SMALL_CELL}”表示。")

    # 六、预警信息
    doc.add_heading("六、预警信息", level=1)
    listed = alerts.exclude(source="pdmp").order_by("period")[:50]
    if listed:
        table = doc.add_table(rows=1, cols=5)
        table.style = "Light Grid Accent 1"
        for cell, text in zip(table.rows[0].cells, ["日期", "来源", "预警", "地区", "状态"]):
            cell.text = text
        for alert in listed:
            row = table.add_row().cells
            for cell, text in zip(row, [alert.period.isoformat(), SOURCE_ZH.get(alert.source, alert.source),
                                        alert.subject, districts.get(alert.area_code[:6], alert.area_code),
                                        STATUS_ZH.get(alert.status, alert.status)]):
                cell.text = text
    else:
        doc.add_paragraph("本月无预警。")

    doc.add_heading("说明", level=1)
    factors = models.CorrectionFactor.objects.filter(is_default=True).values_list("version", flat=True).distinct()
    doc.add_paragraph("污水负荷按 负荷 = 浓度 × 流量 计算，人口标化负荷（mg/天/千人）按服务人口标化，地区数值为"
                      "各污水处理厂按服务人口加权的平均值；校正系数版本：" + "、".join(sorted(set(factors)))
                      + "。预警由平台按各预警定义的方法（EARS、CUSUM、Farrington 等）自动产生，需人工核查。")

    folder = Path(settings.MEDIA_ROOT) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"monthly-{report.area_code}-{report.month:%Y-%m}-{report.pk}.docx"
    doc.save(path)
    return path


__all__ = ("build_monthly_report", "suppress")
