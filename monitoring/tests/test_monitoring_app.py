"""The monitoring pillar end to end: API vectors, lab results through every door, alert handling,
scope, and the demo's known outbreaks found with no alert on quiet series."""

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from conftest import login_client, make_user, token_client
from core.models import AccessLog, ImportBatch
from monitoring import models, services
from monitoring.tests.data.salmonella import TEST, TRAIN

ESTIMATE = "/api/monitoring/wbe/estimate"


@pytest.fixture
def plant(orgs):
    p = models.TreatmentPlant(code="GS01", name="姑苏第1污水处理厂", area_code="320508001",
                              served_area_codes=["320508001", "320508002"])
    p.save()
    models.PopulationEstimate(plant=p, method="census", population=400_000, valid_from=dt.date(2020, 11, 1)).save()
    return p


# --- POST /api/monitoring/wbe/estimate reproduces research §2.1 -----------------------------------

@pytest.mark.parametrize("residue,c,q,p,cf,load,pnl,consumption", [
    ("methamphetamine", 250, 300_000, 1_500_000, None, 75_000, 50.0, 116.279),
    ("ketamine", 20, 100_000, 400_000, None, 2_000, 5.0, 25.0),
    ("benzoylecgonine", 500, 200_000, 1_000_000, 1.0485 / 0.29, 100_000, 100.0, 361.552),
    ("mdma", 5, 80_000, 250_000, None, 400, 1.6, 7.111),
    ("methamphetamine", 0, 50_000, 200_000, None, 0, 0.0, 0.0),
])
def test_estimate_api_reproduces_the_research_vectors(users, residue, c, q, p, cf, load, pnl, consumption):
    body = {"residue": residue, "concentration_ng_l": c, "flow_m3_d": q, "population": p}
    if cf is not None:
        body["correction_factor"] = cf
    response = token_client(users["city_office"]).post(ESTIMATE, body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["load_mg_d"] == pytest.approx(load)
    assert data["pnl_mg_d_1000"] == pytest.approx(pnl)
    assert data["consumption_mg_d_1000"] == pytest.approx(consumption, abs=1e-3)
    assert data["factor"]["source"]


def test_estimate_names_the_factor_version_and_source(users):
    data = token_client(users["city_office"]).post(ESTIMATE, {"residue": "ketamine", "concentration_ng_l": 20,
                                                              "flow_m3_d": 100_000, "population": 400_000},
                                                   format="json").json()
    assert data["correction_factor"] == pytest.approx(5.0)
    assert "Du" in data["factor"]["source"] and data["factor"]["excretion_fraction"] == 0.2


def test_chinese_unit_form_gives_the_same_pnl(users):
    data = token_client(users["city_office"]).post(ESTIMATE, {"residue": "methamphetamine",
                                                              "concentration_ng_l": 261.9, "flow_m3_d": 300_000,
                                                              "population": 1_500_000}, format="json").json()
    assert data["pnl_mg_d_1000"] == pytest.approx(52.38)
    assert data["chinese_units"]["pnl_mg_d_1000"] == pytest.approx(52.38)


@pytest.mark.parametrize("body,field", [
    ({"residue": "unobtainium", "concentration_ng_l": 1, "flow_m3_d": 1, "population": 1}, "residue"),
    ({"residue": "ketamine", "concentration_ng_l": 1, "flow_m3_d": 0, "population": 1}, "flow_m3_d"),
    ({"residue": "ketamine", "concentration_ng_l": -1, "flow_m3_d": 1, "population": 1}, "concentration_ng_l"),
    ({"residue": "ketamine", "concentration_ng_l": 1, "flow_m3_d": 1}, "population"),
])
def test_estimate_errors_name_the_field(users, body, field):
    response = token_client(users["city_office"]).post(ESTIMATE, body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_estimate_needs_a_monitoring_role(users, api_client):
    body = {"residue": "ketamine", "concentration_ng_l": 20, "flow_m3_d": 1e5, "population": 4e5}
    assert token_client(users["school"]).post(ESTIMATE, body, format="json").status_code == 403
    assert api_client.post(ESTIMATE, body, format="json").status_code in (401, 403)


# --- POST /api/monitoring/signals/detect ------------------------------------------------------------

def test_detect_api_reproduces_r_ears_c1_upper_bounds(users):
    response = token_client(users["city_office"]).post("/api/monitoring/signals/detect", {
        "method": "ears_c1", "history": TRAIN, "series": TEST[:4], "params": {"alpha": 0.05}}, format="json")
    assert response.status_code == 200
    bounds = [p["upperbound"] for p in response.json()["points"]]
    assert bounds == pytest.approx([3.278854, 3.278854, 3.436517, 3.855617], abs=1e-6)
    assert set(response.json()["points"][0]) == {"value", "upperbound", "score", "alarm"}


def test_detect_api_finds_the_salmonella_outbreak_with_farrington(users):
    data = token_client(users["city_office"]).post("/api/monitoring/signals/detect", {
        "method": "farrington", "history": TRAIN, "series": TEST,
        "params": {"b": 3, "w": 3, "alpha": 0.01}}, format="json").json()
    alarms = [i for i, p in enumerate(data["points"]) if p["alarm"]]
    start = dt.date(2011, 1, 3)
    assert {(start + dt.timedelta(weeks=i)).isoformat() for i in alarms} >= {"2011-11-07", "2011-11-14",
                                                                             "2011-11-21", "2011-12-19"}


@pytest.mark.parametrize("body,field", [
    ({"method": "magic", "history": [], "series": [1]}, "method"),
    ({"method": "ears_c1", "history": [1, 2], "series": []}, "series"),
    ({"method": "ears_c1", "history": [1, 2, 3], "series": [1], "params": {"alpha": 2}}, "params"),
])
def test_detect_api_errors_name_the_field(users, body, field):
    response = token_client(users["city_office"]).post("/api/monitoring/signals/detect", body, format="json")
    assert response.status_code == 400 and field in response.json()


# --- lab results: API, Excel import, web ---------------------------------------------------------------

def test_lab_api_stores_results_and_back_calculates(users, plant, orgs):
    lab_user = make_user("lab_api", "lab", org=orgs["lab"])
    rows = [{"plant": "GS01", "sample_date": "2026-03-02", "flow_m3_d": 120_000, "residue": "methamphetamine",
             "concentration_ng_l": 100.0, "loq_ng_l": 1},
            {"plant": "GS01", "sample_date": "2026-03-02", "flow_m3_d": 120_000, "residue": "ketamine",
             "concentration_ng_l": None, "loq_ng_l": 1}]
    response = token_client(lab_user).post("/api/monitoring/samples/lab-results/", rows, format="json")
    assert response.status_code == 201, response.content
    sample = models.Sample.objects.get(plant=plant, sample_date=dt.date(2026, 3, 2))
    assert sample.lab == orgs["lab"]
    estimate = models.LoadEstimate.objects.get(measurement__sample=sample, residue="methamphetamine")
    assert estimate.pnl_mg_d_1000 == pytest.approx(100 * 120_000 / 400_000)
    assert estimate.pnl_low < estimate.pnl_mg_d_1000 < estimate.pnl_high
    ketamine = models.LoadEstimate.objects.get(measurement__sample=sample, residue="ketamine")
    assert ketamine.pnl_mg_d_1000 == 0 and ketamine.loq_rule == "zero"
    # the laboratory sees what it reported, and nothing of other laboratories
    assert token_client(lab_user).get("/api/monitoring/samples/").json()["count"] == 1


def test_lab_api_is_all_or_nothing_and_names_row_and_field(users, plant):
    rows = [{"plant": "GS01", "sample_date": "2026-03-02", "flow_m3_d": 120_000, "residue": "methamphetamine",
             "concentration_ng_l": 10.0},
            {"plant": "NOPE", "sample_date": "2026-03-02", "flow_m3_d": 120_000, "residue": "methamphetamine",
             "concentration_ng_l": 10.0},
            {"plant": "GS01", "sample_date": "2026-03-09", "flow_m3_d": -5, "residue": "methamphetamine"}]
    response = token_client(users["district_office"]).post("/api/monitoring/samples/lab-results/", rows,
                                                           format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "plant" in errors["1"] and "flow_m3_d" in errors["2"] and "0" not in errors
    assert not models.Measurement.objects.exists()


def _lab_workbook(rows):
    wb = Workbook()
    wb.active.append(["站点代码", "采样日期", "日流量(m³/d)", "目标物", "浓度(ng/L)", "定量限(ng/L)"])
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_excel_import_of_lab_results_uses_the_same_validation(users, plant):
    from core import imports
    from monitoring.imports import LAB_RESULTS

    clerk = users["district_office"]
    bad = imports.start_import(LAB_RESULTS, clerk, "lab.xlsx", _lab_workbook([
        ["GS01", dt.datetime(2026, 3, 2), 120000, "甲基苯丙胺", 80.5, 1],
        ["GS99", dt.datetime(2026, 3, 2), 120000, "氯胺酮", 3, 1]]))
    assert bad.status == ImportBatch.Status.INVALID
    assert {(e["row"], e["column"]) for e in bad.errors} == {(3, "站点代码")}
    good = imports.start_import(LAB_RESULTS, clerk, "lab2.xlsx", _lab_workbook([
        ["GS01", dt.datetime(2026, 3, 2), 120000, "甲基苯丙胺", 80.5, 1],
        ["GS01", dt.datetime(2026, 3, 2), 120000, "ketamine", None, 1]]))
    assert good.status == ImportBatch.Status.READY, good.errors
    imports.commit(good, clerk)
    assert models.Measurement.objects.count() == 2 and models.LoadEstimate.objects.count() == 2
    again = imports.start_import(LAB_RESULTS, clerk, "lab3.xlsx", _lab_workbook([
        ["GS01", dt.datetime(2026, 3, 2), 120000, "甲基苯丙胺", 80.5, 1]]))
    assert (again.rows_created, again.rows_unchanged) == (0, 1)


def test_screening_import_counts_and_checks_positives(users):
    from core import imports
    from monitoring.imports import SCREENING

    wb = Workbook()
    wb.active.append(["批次编号", "区划代码", "检测人群", "样本类型", "采样日期", "检测人数", "毒品种类", "阳性人数"])
    wb.active.append(["B1", "320508", "职业驾驶人", "毛发", "2026-03-05", 120, "甲基苯丙胺", 2])
    wb.active.append(["B1", "320508", "职业驾驶人", "毛发", "2026-03-05", 120, "氯胺酮", 130])
    buffer = io.BytesIO()
    wb.save(buffer)
    batch = imports.start_import(SCREENING, users["district_office"], "s.xlsx", buffer.getvalue())
    assert [(e["row"], e["column"]) for e in batch.errors] == [(3, "阳性人数")]


# --- alerts: handling, scope ------------------------------------------------------------------------

@pytest.fixture
def alert(orgs):
    a = models.Alert(rule_id="S-ears_c2", source="wastewater", area_code="320508001", subject="GS01 METH",
                     period=dt.date(2026, 6, 1), severity="high", dedup_key="t1", value=71.5, upperbound=39.8,
                     evidence={"load_estimates": [1, 2]})
    a.save()
    return a


def test_alert_is_closed_only_with_an_outcome(users, alert):
    client = token_client(users["district_office"])
    url = f"/api/monitoring/alerts/{alert.pk}/"
    response = client.patch(url, {"status": "closed"}, format="json")
    assert response.status_code == 400 and "outcome" in response.json()
    assert client.patch(url, {"status": "closed", "outcome": "case_opened"}, format="json").status_code == 200
    alert.refresh_from_db()
    assert (alert.status, alert.outcome) == ("closed", "case_opened")


def test_alerts_filter_by_rule_and_respect_scope(users, alert):
    other = models.Alert(rule_id="P01", source="pdmp", area_code="320505001", subject="x", period=dt.date(2026, 6, 1),
                         severity="high", dedup_key="t2")
    other.save()
    data = token_client(users["district_office"]).get("/api/monitoring/alerts/?rule=S-ears_c2").json()
    assert [a["id"] for a in data["results"]] == [alert.pk]
    city = token_client(users["city_office"]).get("/api/monitoring/alerts/").json()
    assert city["count"] == 2
    assert token_client(users["district_office"]).get(f"/api/monitoring/alerts/{other.pk}/").status_code == 404


def test_web_alert_handling(client, users, alert):
    login_client(client, users["district_office"])
    page = client.get(f"/monitoring/alerts/{alert.pk}/")
    assert page.status_code == 200 and b"load_estimates" in page.content
    response = client.post(f"/monitoring/alerts/{alert.pk}/edit/", {"status": "closed", "outcome": "", "note": ""})
    assert response.status_code == 400
    response = client.post(f"/monitoring/alerts/{alert.pk}/edit/", {"status": "closed", "outcome": "false_positive",
                                                                    "note": "设备故障"})
    assert response.status_code == 302


@pytest.mark.parametrize("role,status", [("school", 403), ("member_unit", 403), ("enterprise", 403),
                                         ("police", 200), ("district_office", 200)])
def test_monitoring_pages_by_role(client, users, role, status):
    login_client(client, users[role])
    assert client.get("/monitoring/").status_code == status
    assert client.get("/monitoring/alerts/").status_code == status


def test_dispensing_form_pseudonymises_the_patient(users, orgs):
    from core.fields import blind_index_for
    from monitoring.forms import DispensingForm

    form = DispensingForm(data={"patient_id_number": "11010519491231002X", "patient_age": 40,
                                "prescriber_code": "D1", "pharmacy_code": "PH1", "area_code": "320508",
                                "drug": "morphine", "drug_class": "opioid", "control_category": "narcotic",
                                "dosage_form": "other", "strength": 10, "quantity": 12, "days_supply": 3,
                                "dispensed_on": "2026-03-01", "setting": "outpatient"})
    assert form.is_valid(), form.errors
    record = form.save()
    assert record.patient_key == blind_index_for("id_number", "11010519491231002X", normalizer=str.upper)
    assert "11010519491231002X" not in str(models.Dispensing.objects.values_list().get(pk=record.pk))


# --- population weighting and coverage ---------------------------------------------------------------

def test_population_weighted_district_figure(plant, orgs):
    second = models.TreatmentPlant(code="GS02", name="二厂", area_code="320508002")
    second.save()
    models.PopulationEstimate(plant=second, method="census", population=100_000,
                              valid_from=dt.date(2020, 11, 1)).save()
    day = dt.date(2026, 3, 2)
    services.record_lab_result(plant, day, 100_000, "methamphetamine", 200.0, 1)  # PNL 50
    services.record_lab_result(second, day, 100_000, "methamphetamine", 100.0, 1)  # PNL 100
    weekly = services.district_weighted_pnl("methamphetamine", day, day)
    assert weekly[day]["320508"] == pytest.approx((50 * 400_000 + 100 * 100_000) / 500_000)


def test_monitoring_coverage_per_district(plant, orgs):
    from geo.models import Division

    Division.objects.filter(code="320508").update(population=800_000)
    Division.objects.filter(code="320505").update(population=500_000)
    services.record_lab_result(plant, dt.date.today(), 100_000, "methamphetamine", 10.0, 1)
    coverage = services.monitoring_coverage("3205")
    assert coverage.by_area["320508"] == pytest.approx(0.5)
    assert coverage.by_area["320505"] == 0
    assert coverage.overall == pytest.approx(400_000 / 1_300_000)


# --- the demo: known outbreaks are found, quiet series stay quiet -----------------------------------

def test_demo_outbreaks_are_alerted_and_quiet_series_are_not(db, client, settings):
    from core import demo
    from geo.management.commands.load_divisions import DEFAULT_FILE
    from monitoring import demo as monitoring_demo

    ctx = demo.run("small", 2023, "Demo-pass-2026", DEFAULT_FILE)
    assert ctx.users
    signal_alerts = models.Alert.objects.filter(source="wastewater")
    found = {(a.definition.plant.code, a.definition.indicator.split(":")[1], a.period) for a in signal_alerts}
    evaluated_from = monitoring_demo.DEMO_NOW - dt.timedelta(weeks=51)
    expected = {o for o in monitoring_demo.outbreak_weeks() if o[2] >= evaluated_from}
    assert found == expected  # every injected outbreak week, and nothing else
    screening = models.Alert.objects.get(source="screening")
    assert (screening.area_code, screening.period) == (monitoring_demo.SCREENING_SPIKE[0],
                                                       monitoring_demo.SCREENING_SPIKE[1])
    forensic = models.Alert.objects.get(source="forensic")
    assert (forensic.area_code, forensic.period) == monitoring_demo.NPS_CLUSTER[:2]
    # neighbours of 姑苏区 are warned about the GS01 outbreak (N01)
    origin = signal_alerts.filter(definition__plant__code="GS01").first()
    warned = set(models.Alert.objects.filter(rule_id="N01", evidence__origin_alert=origin.pk)
                 .values_list("area_code", flat=True))
    assert warned == {"320505", "320506", "320507", "320571"}
    # controlled medicines: exactly the synthetic patients built to trigger each rule
    from monitoring.algorithms import pdmp

    synthetic = pdmp.synthetic_dispensing(400, 2023)
    for rule, patients in synthetic.flagged.items():
        assert {a.subject.split()[1].rstrip("…") for a in models.Alert.objects.filter(rule_id=rule)} == \
            {p[:10] for p in patients}, rule
    # re-running adds nothing
    from monitoring import alerting

    assert alerting.evaluate_all(end=monitoring_demo.DEMO_NOW) == [] and alerting.run_pdmp_rules() == []

    # pages and the monthly report
    from users.models import User

    login_client(client, User.objects.get(username="city"))
    assert client.get("/monitoring/").status_code == 200
    assert client.get("/monitoring/fused/?area=320583").status_code == 200
    chart = client.get("/monitoring/chart/plant/GS01/methamphetamine.json").json()
    assert len(chart["dates"]) > 50 and chart["alerts"]
    report = models.MonthlyReport(month=dt.date(2026, 9, 1), area_code="320500")
    report.save()
    from monitoring.report import build_monthly_report

    path = build_monthly_report(report)
    from docx import Document

    text = "\n".join(p.text for p in Document(path).paragraphs)
    assert "毒情监测月报" in text and "污水" in text and "<5" in text
    tables = Document(path).tables
    assert any("昆山市" in cell.text for table in tables for row in table.rows for cell in row.cells)
    assert AccessLog.objects.filter(event="search", object_type="monitoring.fused").exists()


def test_small_cells_are_suppressed():
    from monitoring.report import suppress

    assert [suppress(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]


def test_geojson_boundaries_upload_and_serve(client, users):
    import json

    login_client(client, users["city_office"])
    square = {"type": "Polygon", "coordinates": [[[120.6, 31.3], [120.7, 31.3], [120.7, 31.4], [120.6, 31.3]]]}
    upload = io.BytesIO(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"adcode": "320508"}, "geometry": square}]}).encode())
    upload.name = "gusu.geojson"
    assert client.post("/monitoring/boundaries/upload/", {"file": upload, "source": "测试"}).status_code == 302
    assert models.AreaBoundary.objects.get().area_code == "320508"
    served = client.get("/monitoring/boundaries.geojson").json()
    assert served["features"][0]["properties"] == {"adcode": "320508", "name": "姑苏区"}
    assert b'id="district-map"' in client.get("/monitoring/").content
    bad = io.BytesIO(b'{"type": "FeatureCollection"}')
    bad.name = "bad.geojson"
    response = client.post("/monitoring/boundaries/upload/", {"file": bad})
    assert response.status_code == 200 and "file" in response.context["form"].errors


def test_screening_export_suppresses_small_cells(client, users):
    from openpyxl import load_workbook

    batch = models.ScreeningBatch(reference="B9", area_code="320508", population_group="drivers",
                                  sample_type="hair", collected_on=dt.date(2026, 3, 5), tested=120)
    batch.save()
    models.ScreeningResult(batch=batch, drug="甲基苯丙胺", positive=3).save()
    login_client(client, users["district_office"])
    page = client.get("/monitoring/screening/").content.decode()
    assert "甲基苯丙胺 3" in page  # inside the platform the count is shown
    ws = load_workbook(io.BytesIO(client.get("/monitoring/screening/?export=xlsx").content)).active
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert "甲基苯丙胺 <5" in cells and "甲基苯丙胺 3" not in cells


def test_series_pages_per_area_and_drug(client, users, orgs):
    today = dt.date.today()
    for substance in ("依托咪酯", "依托咪酯", "α-PVP"):
        models.ForensicIdentification(area_code="320508001", identified_on=today, substance=substance,
                                      category="nps", is_nps=True).save()
    models.ForensicIdentification(area_code="320505001", identified_on=today, substance="氟胺酮",
                                  category="nps", is_nps=True).save()
    login_client(client, users["district_office"])
    response = client.get("/monitoring/series/?kind=forensic")
    assert response.status_code == 200
    assert response.context["drugs"] == ["依托咪酯", "α-PVP"]  # 虎丘's identification is out of scope
    assert response.context["table"][-1]["values"] == [2, 1]
    assert client.get("/monitoring/series/?kind=screening").status_code == 200
    assert client.get("/monitoring/series/?kind=forensic&area=320505").status_code == 403


def test_coverage_splits_a_catchment_across_districts(orgs):
    from geo.models import Division

    Division.objects.filter(code="320508").update(population=600_000)
    Division.objects.filter(code="320505").update(population=200_000)
    plant = models.TreatmentPlant(code="X1", name="跨区厂", area_code="320508001",
                                  served_area_codes=["320508001", "320505001"])
    plant.save()
    models.PopulationEstimate(plant=plant, method="census", population=400_000, valid_from=dt.date(2020, 1, 1)).save()
    services.record_lab_result(plant, dt.date.today(), 100_000, "methamphetamine", 10.0, 1)
    coverage = services.monitoring_coverage("3205")
    assert coverage.by_area["320508"] == pytest.approx(300_000 / 600_000)
    assert coverage.by_area["320505"] == pytest.approx(100_000 / 200_000)
