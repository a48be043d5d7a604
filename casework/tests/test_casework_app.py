"""The casework pillar through its services, API and pages: registration with duplicate pointer,
Art.20 boundaries, the 15-day clock, suspension, transfers, break-glass, member-unit field access."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from casework import models, services
from conftest import login_client, make_org, make_user, token_client
from core.context import acting_as
from core.models import AccessLog
from utilities.identifiers import make_id_number

ID_A = "11010519491231002X"


@pytest.fixture
def worker(orgs):
    return make_user("sw", "social_worker", "320508001")


@pytest.fixture
def person(worker):
    return services.register_person(worker, name="张三", id_number=make_id_number("320508", dt.date(1990, 1, 1), 123),
                                    household_area_code="320508001", residence_area_code="320508001001")


def community_measure(person, served_on, reported_after=3):
    measure = services.open_measure(person, "community_treatment", execution_area_code="320508001",
                                    served_on=served_on)
    services.record_report(measure, served_on + dt.timedelta(days=reported_after),
                           agreement_signed_on=served_on + dt.timedelta(days=reported_after))
    return measure


# --- registration ---------------------------------------------------------------------------------------

def test_api_registers_with_masked_id_and_encrypted_storage(worker):
    client = token_client(worker)
    response = client.post("/api/casework/persons/", {"name": "李四", "id_number": ID_A,
                                                      "household_area_code": "320508001",
                                                      "residence_area_code": "320508001"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id_number"] == "110105********002X" and body["gender"] == "F"
    assert body["birth_date"] == "1949-12-31"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, name FROM casework_person")
        stored = cursor.fetchone()
    assert ID_A not in stored[0] and "李四" not in stored[1]


@pytest.mark.parametrize("body,field", [
    ({"name": "王五", "id_number": "110105194912310021", "household_area_code": "320508001",
      "residence_area_code": "320508001"}, "id_number"),
    ({"name": "王五", "id_number": ID_A, "household_area_code": "999999", "residence_area_code": "320508001"},
     "household_area_code"),
    ({"id_number": ID_A, "household_area_code": "320508001", "residence_area_code": "320508001"}, "name"),
])
def test_api_errors_name_the_field(worker, body, field):
    response = token_client(worker).post("/api/casework/persons/", body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_duplicate_is_refused_with_a_pointer(worker, orgs):
    client = token_client(worker)
    body = {"name": "李四", "id_number": ID_A, "household_area_code": "320508001", "residence_area_code": "320508001"}
    first = client.post("/api/casework/persons/", body, format="json").json()
    again = client.post("/api/casework/persons/", {**body, "id_number": ID_A.lower()}, format="json")
    assert again.status_code == 409
    assert again.json()["existing_id"] == first["id"] and again.json()["visible"] is True
    # someone from another district gets the pointer and the way in (break-glass), not the data
    other = make_user("hq", "social_worker", "320505001")
    response = token_client(other).post("/api/casework/persons/", {**body, "household_area_code": "320505001",
                                                                   "residence_area_code": "320505001"}, format="json")
    assert response.status_code == 409 and response.json()["visible"] is False
    assert response.json()["break_glass"].endswith(f"/persons/{first['id']}/break-glass/")
    assert "李四" not in response.content.decode()


# --- 条例 Art.14 / Art.20 -----------------------------------------------------------------------------------

def test_report_clock_day_15_on_time_day_16_refusal(person):
    served = dt.date(2026, 1, 1)
    measure = services.open_measure(person, "community_treatment", execution_area_code="320508001",
                                    served_on=served)
    assert measure.report_due_on == dt.date(2026, 1, 16)
    assert services.evaluate_rules(measure, today=dt.date(2026, 1, 16)) == []
    tasks = services.evaluate_rules(measure, today=dt.date(2026, 1, 17))
    assert [t.rule_id for t in tasks] == ["C14-R"]
    measure.refresh_from_db()
    assert measure.state == "refused"


@pytest.mark.parametrize("refusals,fires", [(2, False), (3, True)])
def test_evaded_or_refused_tests_boundary(person, refusals, fires):
    measure = community_measure(person, dt.date(2025, 1, 1))
    for i in range(refusals):
        services.record_test(person, measure=measure, sample="urine", collected_on=dt.date(2025, 3, 1) +
                             dt.timedelta(days=10 * i), result="refused" if i % 2 else "evaded")
    rules = set(models.PoliceReportTask.objects.filter(measure=measure).values_list("rule_id", flat=True))
    assert ("C20-1" in rules) is fires


@pytest.mark.parametrize("days,fires", [(30, False), (31, True)])
def test_unauthorised_absence_days_boundary(person, days, fires):
    measure = community_measure(person, dt.date(2025, 1, 1))
    left = dt.date(2025, 4, 1)
    services.record_absence(measure, left_on=left, returned_on=left + dt.timedelta(days=days))
    rules = set(models.PoliceReportTask.objects.filter(measure=measure).values_list("rule_id", flat=True))
    assert ("C20-3" in rules) is fires


def test_three_unauthorised_departures(person):
    measure = community_measure(person, dt.date(2025, 1, 1))
    for i in range(3):
        left = dt.date(2025, 4, 1) + dt.timedelta(days=20 * i)
        services.record_absence(measure, left_on=left, returned_on=left + dt.timedelta(days=4))
    assert models.PoliceReportTask.objects.filter(measure=measure, rule_id="C20-2").exists()


def test_authorised_absence_does_not_count(person):
    measure = community_measure(person, dt.date(2025, 1, 1))
    services.record_absence(measure, left_on=dt.date(2025, 4, 1), returned_on=dt.date(2025, 6, 1),
                            written_notice=True, authorised=True)
    assert not models.PoliceReportTask.objects.filter(measure=measure, rule_id__startswith="C20").exists()


def test_missed_contacts_raise_lost_contact(person):
    measure = community_measure(person, dt.date(2025, 1, 1))
    services.evaluate_rules(measure, today=dt.date(2025, 3, 20))
    task = models.PoliceReportTask.objects.get(measure=measure, rule_id="L01")
    person.refresh_from_db()
    assert person.status == "lost_contact"  # 失控, counted by K03
    assert person.status_changes.get(to_status="lost_contact").on == task.triggered_on
    services.record_contact(person, kind="checkin", occurred_on=dt.date(2025, 3, 25), measure=measure)
    person.refresh_from_db()
    assert person.status == "community_treatment"


def test_positive_test_during_the_measure_is_reported(person):
    measure = community_measure(person, dt.date(2025, 1, 1))
    services.record_test(person, measure=measure, sample="urine", collected_on=dt.date(2025, 5, 1),
                         result="positive", legal_effect=True)
    task = models.PoliceReportTask.objects.get(measure=measure, rule_id="C21-P")
    assert task.due_on == dt.date(2025, 5, 2)  # 24-hour reporting duty
    person.refresh_from_db()
    assert person.last_confirmed_use_on == dt.date(2025, 5, 1)


def test_suspension_moves_the_end(person):
    measure = community_measure(person, dt.date(2025, 1, 1), reported_after=0)
    end = measure.planned_end_on
    services.suspend(measure, dt.date(2025, 6, 1), "拘留", to_on=dt.date(2025, 6, 11))
    measure.refresh_from_db()
    assert (measure.planned_end_on - end).days == 10


def test_report_starts_the_schedule(person):
    measure = community_measure(person, dt.date(2025, 1, 1))
    checkins = measure.planned_events.filter(kind="checkin").count()
    assert checkins >= 28  # research example A: 12 + 6 + 6 + 4 check-ins over three years
    assert measure.planned_events.filter(due_on__gte=measure.planned_end_on).count() == 0


# --- transfers ------------------------------------------------------------------------------------------

def test_transfer_receiver_sees_sender_reads_until_acceptance(orgs):
    gusu = make_user("gusu_office", "district_office", "320508")
    huqiu = make_user("huqiu_office", "district_office", "320505")
    person = services.register_person(gusu, name="赵六", id_number=ID_A, household_area_code="320102001",
                                      residence_area_code="320508001")  # non-local: household in 南京
    transfer = services.request_transfer(gusu, person, "320505001", "搬家到狮山")
    visible = lambda user, action: models.Person.objects.restrict(user, action).filter(pk=person.pk).exists()  # noqa
    assert visible(huqiu, "view") and not visible(huqiu, "change")
    assert visible(gusu, "view") and not visible(gusu, "change")  # read only while pending
    services.decide_transfer(huqiu, transfer, accept=True)
    person.refresh_from_db()
    assert person.owner_area_code == "320505001"
    assert visible(huqiu, "change") and not visible(gusu, "view")
    transfer.refresh_from_db()
    assert transfer.report_due_on == transfer.decided_on + dt.timedelta(days=15)


def test_only_the_receiving_side_decides(orgs):
    gusu = make_user("gusu_office", "district_office", "320508")
    person = services.register_person(gusu, name="赵六", id_number=ID_A, household_area_code="320508001",
                                      residence_area_code="320508001")
    transfer = services.request_transfer(gusu, person, "320505001", "搬家")
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.decide_transfer(gusu, transfer, accept=True)


def test_the_receiving_street_worker_decides_on_my_tasks(client, orgs):
    gusu = make_user("gusu_office", "district_office", "320508")
    person = services.register_person(gusu, name="赵六", id_number=ID_A, household_area_code="320508001",
                                      residence_area_code="320508001")
    transfer = services.request_transfer(gusu, person, "320505001", "搬家到狮山")
    sender = make_user("pj_worker", "social_worker", "320508001")
    receiver = make_user("ss_worker", "social_worker", "320505001")
    login_client(client, sender)
    page = client.get("/casework/")
    assert page.status_code == 200, (page.status_code, page.get("Location"))
    assert transfer not in page.context["transfers"]   # the sender only watches
    assert client.post(f"/casework/transfers/{transfer.pk}/decide/", {"accept": "1"}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == "pending"
    login_client(client, receiver)
    assert list(client.get("/casework/").context["transfers"]) == [transfer]
    client.post(f"/casework/transfers/{transfer.pk}/decide/", {"accept": "1"})
    transfer.refresh_from_db()
    person.refresh_from_db()
    assert transfer.status == "accepted" and transfer.decided_by == receiver
    assert person.owner_area_code == "320505001"


# --- break-glass ------------------------------------------------------------------------------------------

def test_other_district_needs_break_glass(person, orgs):
    outsider = make_user("hq_sw", "social_worker", "320505001")
    client = token_client(outsider)
    url = f"/api/casework/persons/{person.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url + "break-glass/", {}, format="json").status_code == 400
    assert client.post(url + "break-glass/", {"reason": "  "}, format="json").status_code == 400
    response = client.post(url + "break-glass/", {"reason": "协查：嫌疑人在本辖区出现"}, format="json")
    assert response.status_code == 201
    assert client.get(url).status_code == 200
    entry = AccessLog.objects.get(event="break_glass")
    assert entry.reason.startswith("协查") and entry.username == "hq_sw"
    models.BreakGlass.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert client.get(url).status_code == 404
    assert [g.person_id for g in services.weekly_break_glass_review("320505")] == [person.pk]


# --- member units: identity and assistance only --------------------------------------------------------------

def test_member_unit_sees_only_referred_persons_without_tests(person, orgs, worker):
    hrss = make_org("姑苏区人社局", "320508", "member_unit", sector="hrss", is_member_unit=True)
    member = make_user("rs", "member_unit", "320508", org=hrss)
    measure = community_measure(person, dt.date(2025, 1, 1))
    services.record_test(person, measure=measure, sample="urine", collected_on=dt.date(2025, 3, 1),
                         result="negative")
    client = token_client(member)
    assert client.get(f"/api/casework/persons/{person.pk}/").status_code == 404  # not referred yet
    referral = services.refer(person, kind="job", need="求职", provider_org=hrss, consent=True)
    body = client.get(f"/api/casework/persons/{person.pk}/").json()
    assert body["id_number"].count("*") == 8 and "risk_level" not in body
    for endpoint in ("/api/casework/tests/", "/api/casework/assessments/"):  # sections it may not see
        assert client.get(endpoint).json()["count"] == 0
    assert models.DrugTest.objects.filter(person=person).count() == 1
    # the member unit accepts the referral addressed to it
    response = client.post(f"/api/casework/referrals/{referral.pk}/decide/", {"accept": True}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    # and its person page shows no tests in the timeline
    from django.test import Client

    web = login_client(Client(), member)
    page = web.get(f"/casework/persons/{person.pk}/").content.decode()
    assert "尿检" not in page and "Urine" not in page


def test_referral_needs_consent(person, orgs):
    hrss = make_org("姑苏区人社局", "320508", "member_unit", sector="hrss", is_member_unit=True)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.refer(person, kind="job", need="求职", provider_org=hrss, consent=False)


# --- pages ------------------------------------------------------------------------------------------------

def test_person_page_timeline_and_my_tasks(client, person, worker):
    measure = community_measure(person, timezone.localdate() - dt.timedelta(days=60))
    services.record_test(person, measure=measure, sample="urine", collected_on=timezone.localdate(),
                         result="positive")
    login_client(client, worker)
    page = client.get(f"/casework/persons/{person.pk}/")
    assert page.status_code == 200
    assert AccessLog.objects.filter(event="read", object_type="casework.person").exists()
    tasks = client.get("/casework/")
    assert tasks.status_code == 200 and "C21-P" in tasks.content.decode()
    response = client.post(f"/casework/persons/{person.pk}/add/contact/", {
        "kind": "home_visit", "occurred_on": timezone.localdate().isoformat(), "outcome": "met"})
    assert response.status_code == 302
    assert models.ContactEvent.objects.filter(person=person, kind="home_visit").exists()


def test_person_list_exports_need_a_reason(client, person, orgs):
    office = make_user("gusu_office", "district_office", "320508")
    login_client(client, office)
    assert client.get("/casework/persons/").status_code == 200
    assert client.get("/casework/persons/?export=xlsx").status_code == 302  # refused without a reason
    response = client.get("/casework/persons/?export=xlsx&reason=季度核查")
    assert response.status_code == 200
    assert AccessLog.objects.get(event="export", object_type="casework.person").reason == "季度核查"


def test_search_by_exact_id_number_uses_the_blind_index(person, worker):
    client = token_client(worker)
    hits = client.get(f"/api/casework/persons/?id_number={person.id_number.lower()}").json()
    assert [h["id"] for h in hits["results"]] == [person.pk]
    assert AccessLog.objects.filter(event="search", object_type="casework.person").exists()


def test_risk_assessment_overrides_and_schedule_intensity(person, worker):
    from casework.risk_service import assess

    measure = community_measure(person, dt.date(2025, 1, 1))
    before = measure.planned_events.filter(kind="checkin").count()
    low = assess(person, factors={"drug_type": "cannabis", "years_abstinent": "3"}, user=worker)
    assert low.level == "low" and low.next_review_on > low.assessed_on
    for i in range(3):  # a serious violation forces 高 whatever the score
        services.record_test(person, measure=measure, sample="urine", collected_on=dt.date(2025, 3, 1) +
                             dt.timedelta(days=10 * i), result="refused")
    high = assess(person, factors={"drug_type": "cannabis", "years_abstinent": "3"}, user=worker)
    assert high.level == "high" and "HO-C20" in high.overrides
    person.refresh_from_db()
    assert person.risk_level == "high"
    assert measure.planned_events.filter(kind="checkin").count() > before  # high risk: seen more often
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        assess(person, factors={}, manual_level="low", manual_reason="表现良好", user=worker)


def test_manual_level_needs_approval(person, orgs):
    from casework.risk_service import assess

    worker = make_user("sw2", "social_worker", "320508001")
    office = make_user("office2", "district_office", "320508")
    pending = assess(person, factors={"drug_type": "heroin", "severe_addiction": "1"}, manual_level="medium",
                     manual_reason="家属监护到位", user=worker)
    assert pending.approved_by is None and pending.level == pending.computed_level
    approved = assess(person, factors={"drug_type": "heroin", "severe_addiction": "1"}, manual_level="medium",
                      manual_reason="家属监护到位", user=office)
    assert approved.level == "medium"


def test_demo_violations_fire_exactly_where_injected(db):
    import random as rnd

    from casework import demo as casework_demo
    from core import demo
    from geo.management.commands.load_divisions import DEFAULT_FILE

    ctx = demo.DemoContext(scale="small", seed=2023, password="Demo-pass-2026", rng=rnd.Random(2023))
    demo.build_divisions(ctx, DEFAULT_FILE)
    demo.build_orgs(ctx)
    demo.build_users(ctx)
    casework_demo.build(ctx)
    truth = ctx.ground_truth_casework
    assert models.Person.objects.count() == casework_demo.SIZES["small"]
    assert {"C20-1", "C20-2", "C20-3", "C21-P", "C14-R"} <= set(truth.values())
    for person in models.Person.objects.prefetch_related("police_tasks"):
        rules = {t.rule_id for t in person.police_tasks.all()}
        expected = truth.get(person.pk)
        if expected and not expected.startswith("boundary"):
            assert expected in rules, (person.pk, expected, rules)
        else:  # boundary cases (2 refusals, 30 days away) and ordinary persons raise nothing
            assert not rules & {"C20-1", "C20-2", "C20-3", "C21-P", "C14-R"}, (person.pk, expected, rules)


def test_ledger_and_test_result_imports(orgs):
    import io

    from openpyxl import Workbook

    from casework.imports import PERSONS, TESTS
    from core import imports as pipeline
    from core.models import ImportBatch

    office = make_user("gusu_office", "district_office", "320508")
    new_id = make_id_number("320508", dt.date(1985, 6, 1), 7)

    def book(headers, rows):
        wb = Workbook()
        wb.active.append(headers)
        for row in rows:
            wb.active.append(row)
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()

    persons = book(["姓名", "身份证号", "户籍地区划代码", "居住地区划代码"],
                   [["陈七", new_id, "320508001", "320508001"], ["周八", "110105194912310021", "320508001",
                                                                "320508001"]])
    bad = pipeline.start_import(PERSONS, office, "ledger.xlsx", persons)
    assert [(e["row"], e["column"]) for e in bad.errors] == [(3, "身份证号")]
    good = pipeline.start_import(PERSONS, office, "ledger2.xlsx", book(["姓名", "身份证号", "户籍地区划代码",
                                                                       "居住地区划代码"],
                                                                      [["陈七", new_id, "320508001", "320508001"]]))
    pipeline.commit(good, office)
    assert models.Person.objects.count() == 1
    again = pipeline.start_import(PERSONS, office, "ledger3.xlsx", book(["姓名", "身份证号", "户籍地区划代码",
                                                                        "居住地区划代码", "备注"],
                                                                       [["陈七", new_id, "320508001", "320508001",
                                                                         "x"]]))
    assert (again.rows_created, again.rows_unchanged) == (0, 1)
    tests = pipeline.start_import(TESTS, office, "tests.xlsx", book(["身份证号", "样本", "采样日期", "结果"],
                                                                   [[new_id, "尿检", "2026-03-05", "阴性"]]))
    assert tests.status == ImportBatch.Status.READY, tests.errors
    pipeline.commit(tests, office)
    assert models.DrugTest.objects.get().result == "negative"


def test_indicators_on_a_hand_computed_fixture(client, orgs):
    """Two reported on time, one refused (K01 = 2/3 in Jan 2026); the drill-down lists exactly them."""
    office = make_user("gusu_office", "district_office", "320508")
    people = [services.register_person(office, name=f"人{i}", id_number=make_id_number("320508", dt.date(1990, 1, 1),
                                                                                       200 + i),
                                       household_area_code="320508001", residence_area_code="320508001")
              for i in range(3)]
    served = dt.date(2025, 12, 20)  # report due 2026-01-04
    for i, person in enumerate(people):
        measure = services.open_measure(person, "community_treatment", execution_area_code="320508001",
                                        served_on=served)
        if i < 2:
            services.record_report(measure, served + dt.timedelta(days=5 + i))
    from casework import indicators as ind

    period, _label = ind.parse_period("2026-01")
    result = ind.compute(office, period)
    k01 = result["total"]["K01"]
    assert (len(k01.numerator), len(k01.denominator)) == (2, 3)
    assert [r["district"] for r in result["rows"]] == ["320508"]
    assert ind.drill_persons(result, "K01", "numerator") == sorted(p.pk for p in people[:2])
    login_client(client, office)
    page = client.get("/casework/indicators/?period=2026-01")
    assert page.status_code == 200 and "66.7%" in page.content.decode()
    drill = client.get("/casework/indicators/drill/?kpi=K01&period=2026-01&part=denominator")
    assert drill.status_code == 200 and len(drill.context["table"].rows) == 3


def test_indicators_by_street_sum_to_the_district(client, orgs):
    """Street rows (9-digit codes): 平江 2 reported on time of 2, 沧浪 0 of 1; their sums are the district's."""
    office = make_user("gusu_office2", "district_office", "320508")
    served = dt.date(2025, 12, 20)
    for i, street in enumerate(["320508001", "320508001", "320508002"]):
        person = services.register_person(office, name=f"街{i}", id_number=make_id_number(
            "320508", dt.date(1991, 1, 1), 300 + i), household_area_code=street, residence_area_code=street)
        measure = services.open_measure(person, "community_treatment", execution_area_code=street,
                                        served_on=served)
        if street == "320508001":
            services.record_report(measure, served + dt.timedelta(days=3))
    from casework import indicators as ind

    period, _label = ind.parse_period("2026-01")
    streets = ind.compute(office, period, level="street")
    k01 = {r["district"]: (len(r["figures"]["K01"].numerator), len(r["figures"]["K01"].denominator))
           for r in streets["rows"]}
    assert k01 == {"320508001": (2, 2), "320508002": (0, 1)}
    district = ind.compute(office, period)
    assert (len(district["total"]["K01"].numerator), len(district["total"]["K01"].denominator)) == (2, 3)
    assert ind.drill_persons(streets, "K01", "denominator", "320508002") == \
        list(models.Person.objects.filter(residence_area_code="320508002").values_list("pk", flat=True))
    login_client(client, office)
    page = client.get("/casework/indicators/?period=2026-01&level=street")
    assert page.status_code == 200 and "level=street" in page.content.decode()
    drill = client.get("/casework/indicators/drill/?kpi=K01&period=2026-01&part=denominator&district=320508002"
                       "&level=street")
    assert len(drill.context["table"].rows) == 1


def test_three_years_abstinent_leaves_dynamic_control(client, orgs):
    police = make_user("cop", "police", "320508")
    person = services.register_person(police, name="钱九", id_number=make_id_number("320508", dt.date(1980, 2, 2), 9),
                                      household_area_code="320508001", residence_area_code="320508001",
                                      first_found_on=timezone.localdate() - dt.timedelta(days=4 * 365))
    candidates = [p.pk for p, _since in services.abstinence_candidates(models.Person.objects.all())]
    assert candidates == [person.pk]
    services.record_test(person, sample="hair", collected_on=timezone.localdate() - dt.timedelta(days=300),
                         result="positive")  # a finding inside the last three years resets the clock
    assert services.abstinence_candidates(models.Person.objects.all()) == []
    models.DrugTest.objects.all().delete()
    models.Person.objects.filter(pk=person.pk).update(last_confirmed_use_on=None)
    login_client(client, police)
    assert client.post(f"/casework/persons/{person.pk}/abstinence/").status_code == 302
    person.refresh_from_db()
    assert person.status == "abstinent_3y" and person.in_control is False


def test_children_are_recorded_only_by_those_who_see_assistance(client, person, worker):
    login_client(client, worker)
    response = client.post(f"/casework/persons/{person.pk}/add/child/", {
        "name": "小明", "birth_date": "2018-05-01", "guardianship": "none", "needs": "事实无人抚养"})
    assert response.status_code == 302
    assert models.Child.objects.get().guardianship == "none"


def test_bulk_regeneration_writes_only_differences(person):
    measure = community_measure(person, dt.date(2025, 1, 1))
    count = measure.planned_events.count()
    again = services.regenerate_schedules(dt.date(2025, 6, 1))
    assert again["inserted"] == 0 and again["deleted"] == 0 and measure.planned_events.count() == count
    models.PlannedEvent.objects.filter(measure=measure, due_on__gt=dt.date(2026, 1, 1)).delete()
    restored = services.regenerate_schedules(dt.date(2025, 6, 1))
    assert restored["inserted"] > 0 and measure.planned_events.count() == count
    assert models.PlannedEvent.objects.filter(measure=measure, status="overdue").exists()


def test_member_units_see_nothing_beyond_identity_and_assistance(person, orgs):
    hrss = make_org("姑苏区人社局", "320508", "member_unit", sector="hrss", is_member_unit=True)
    member = make_user("rs2", "member_unit", "320508", org=hrss)
    measure = community_measure(person, dt.date(2025, 1, 1))
    services.record_test(person, measure=measure, sample="urine", collected_on=dt.date(2025, 5, 1),
                         result="positive")
    services.refer(person, kind="job", need="求职", provider_org=hrss, consent=True)
    client = token_client(member)
    for endpoint in ("police-tasks", "measures", "planned-events", "contacts", "transfers"):
        assert client.get(f"/api/casework/{endpoint}/").json()["count"] == 0, endpoint
    assert client.patch(f"/api/casework/persons/{person.pk}/", {"phone": "13900000000"},
                        format="json").status_code in (403, 404)
    assert models.Person.objects.restrict(member, "change").count() == 0


def test_transfer_through_the_api_and_report_at_the_new_place(orgs):
    gusu = make_user("gusu_sw", "social_worker", "320508001")
    huqiu = make_user("huqiu_office", "district_office", "320505")
    person = services.register_person(gusu, name="孙十", id_number=make_id_number("320508", dt.date(1988, 8, 8), 8),
                                      household_area_code="320102001", residence_area_code="320508001")
    measure = community_measure(person, dt.date(2025, 1, 1))
    end = measure.planned_end_on
    response = token_client(gusu).post("/api/casework/transfers/", {"person": person.pk, "to_area_code": "320505001",
                                                                    "reason": "搬家"}, format="json")
    assert response.status_code == 201, response.content
    transfer = models.Transfer.objects.get(pk=response.json()["id"])
    decided = token_client(huqiu).post(f"/api/casework/transfers/{transfer.pk}/decide/", {"accept": True},
                                       format="json")
    assert decided.status_code == 200 and decided.json()["status"] == "accepted"
    measure.refresh_from_db()
    services.record_report(measure, dt.date.today())
    measure.refresh_from_db()
    transfer.refresh_from_db()
    assert measure.planned_end_on == end and measure.reported_on == dt.date(2025, 1, 4)  # the term runs on
    assert transfer.reported_on == dt.date.today()


def test_lost_contact_misses_is_the_policy_setting(person):
    """L01 fires after N consecutive misses, N from the schedule-policy row in force (edited by the office)."""
    measure = community_measure(person, dt.date(2025, 1, 1))
    with acting_as(username="test"):
        for row in models.SchedulePolicy.objects.filter(measure_kind="community_treatment"):
            row.lost_contact_misses = 10
            row.save()
    assert services.lost_contact_misses(measure, dt.date(2025, 3, 20)) == 10
    services.evaluate_rules(measure, today=dt.date(2025, 3, 20))
    assert not models.PoliceReportTask.objects.filter(measure=measure, rule_id="L01").exists()
    with acting_as(username="test"):
        models.SchedulePolicy.objects.filter(measure_kind="community_treatment").update(lost_contact_misses=2)
    services.evaluate_rules(measure, today=dt.date(2025, 3, 20))
    task = models.PoliceReportTask.objects.get(measure=measure, rule_id="L01")
    assert len(task.evidence["ids"]) == 2


def test_one_open_lost_contact_task_at_a_time(person):
    measure = community_measure(person, dt.date(2025, 1, 1))
    services.evaluate_rules(measure, today=dt.date(2025, 6, 1))
    services.evaluate_rules(measure, today=dt.date(2025, 12, 1))
    assert models.PoliceReportTask.objects.filter(measure=measure, rule_id="L01", reported_on__isnull=True).count() \
        == 1


def test_only_the_police_confirm_abstinence(client, orgs):
    office = make_user("office9", "district_office", "320508")
    person = services.register_person(office, name="吴一", id_number=make_id_number("320508", dt.date(1975, 3, 3), 3),
                                      household_area_code="320508001", residence_area_code="320508001",
                                      first_found_on=dt.date.today() - dt.timedelta(days=5 * 365))
    login_client(client, office)
    assert client.post(f"/casework/persons/{person.pk}/abstinence/").status_code == 403


def test_k14_k15_person_parts(orgs):
    office = make_user("office14", "district_office", "320508")
    young = services.register_person(office, name="甲", id_number=make_id_number("320508", dt.date(2000, 1, 1), 41),
                                     household_area_code="320508001", residence_area_code="320508001",
                                     first_found_on=dt.date(2026, 1, 10))
    services.register_person(office, name="乙", id_number=make_id_number("320508", dt.date(1970, 1, 1), 42),
                             household_area_code="320508001", residence_area_code="320508001",
                             first_found_on=dt.date(2020, 1, 10))
    incident = models.Incident(occurred_on=dt.date(2026, 1, 20), kind="drug_driving", severity="serious",
                               area_code="320508001")
    incident.save()
    incident.persons.add(young)
    from casework import indicators as ind

    result = ind.compute(office, ind.parse_period("2026-01")[0])
    k14, k14n, k15 = (result["total"][c] for c in ("K14", "K14N", "K15"))
    assert (len(k14.numerator), len(k14.denominator)) == (1, 2)  # under 35: one of two current users
    assert k14n.numerator == {young.pk}
    assert (len(k15.numerator), len(k15.denominator)) == (1, 1)
    assert ind.drill_persons(result, "K15", "numerator") == [young.pk]


def test_nightly_run_raises_time_driven_rules(person):
    from casework.tasks import nightly

    measure = services.open_measure(person, "community_treatment", execution_area_code="320508001",
                                    served_on=dt.date(2026, 1, 1))  # never reported
    result = nightly()
    assert result["tasks_raised"] >= 1
    assert models.PoliceReportTask.objects.filter(measure=measure, rule_id="C14-R").exists()
    assert nightly()["tasks_raised"] == 0  # idempotent


def test_status_police_note_schedule_policy_and_break_glass_review(client, person, orgs):
    office = make_user("office_r", "district_office", "320508")
    login_client(client, office)
    assert client.post(f"/casework/persons/{person.pk}/add/status/", {
        "to_status": "detained", "on": "2026-11-01", "source": "police", "reason": "拘留"}).status_code == 302
    person.refresh_from_db()
    assert person.status == "detained"
    assert client.post(f"/casework/persons/{person.pk}/add/police_note/", {
        "written_on": "2026-11-02", "text": "涉嫌贩毒线索"}).status_code == 302
    assert models.PoliceNote.objects.get().text == "涉嫌贩毒线索"
    policy = models.SchedulePolicy.objects.first()
    form = {"measure_kind": policy.measure_kind, "risk_level": policy.risk_level, "phase_from_month": 6,
            "phase_to_month": 3, "period_months": 1, "checkins": 1, "tests": 0, "random_tests": 0, "home_visits": 0,
            "grace_days": 7, "lost_contact_misses": 3}
    # policies are city-wide: a district office reads them but cannot edit them
    assert client.post(f"/casework/schedule-policies/{policy.pk}/edit/", form).status_code == 404
    login_client(client, make_user("city_r", "city_office", "320500"))
    response = client.post(f"/casework/schedule-policies/{policy.pk}/edit/", form)
    assert response.status_code == 400  # the phase ends before it starts
    login_client(client, office)
    outsider = make_user("hq_o", "social_worker", "320505001")
    services.break_glass(outsider, person, "协查：嫌疑人到访")
    grant = models.BreakGlass.objects.get()
    huqiu_office = make_user("hq_off", "district_office", "320505")
    login_client(client, huqiu_office)
    assert client.post(f"/casework/break-glass/{grant.pk}/review/").status_code == 302
    grant.refresh_from_db()
    assert grant.reviewed_by == huqiu_office


def test_isolation_extension_early_release_and_end(person):
    measure = services.open_measure(person, "compulsory_isolation", execution_area_code="320508",
                                    decided_on=dt.date(2025, 1, 1))
    assert measure.state == "admitted" and measure.planned_end_on == dt.date(2027, 1, 1)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as too_long:
        services.decide_isolation(measure, extension_days=400)
    assert "extension_days" in too_long.value.message_dict
    with pytest.raises(ValidationError) as too_early:
        services.decide_isolation(measure, early_release_on=dt.date(2025, 12, 31))  # before one year
    assert "early_release_on" in too_early.value.message_dict
    services.decide_isolation(measure, extension_days=180)
    assert measure.planned_end_on == dt.date(2027, 1, 1) + dt.timedelta(days=180)
    services.end_measure(measure, outcome="released", on=dt.date(2027, 6, 30))
    measure.refresh_from_db()
    person.refresh_from_db()
    assert (measure.state, measure.ended_on, person.status) == ("released", dt.date(2027, 6, 30), "other_social")
    with pytest.raises(ValidationError):
        services.end_measure(measure, outcome="completed", on=dt.date(2027, 7, 1))


def test_hair_positive_reaching_before_the_order_goes_to_police_review(person):
    measure = community_measure(person, dt.date(2025, 1, 1))
    services.record_test(person, measure=measure, sample="hair", collected_on=dt.date(2025, 3, 1), result="positive")
    rules = set(models.PoliceReportTask.objects.filter(measure=measure).values_list("rule_id", flat=True))
    assert "C21-H" in rules and "C21-P" not in rules


def test_measure_end_through_the_api_names_the_field(person, worker):
    measure = community_measure(person, dt.date(2025, 1, 1))
    client = token_client(worker)
    bad = client.post(f"/api/casework/measures/{measure.pk}/end/", {"outcome": "completed", "on": "2024-01-01"},
                      format="json")
    assert bad.status_code == 400 and "on" in bad.json()
    good = client.post(f"/api/casework/measures/{measure.pk}/end/", {"outcome": "completed", "on": "2028-01-04"},
                       format="json")
    assert good.status_code == 200 and good.json()["state"] == "completed"


def test_children_status_changes_and_incidents_through_the_api(person, worker, orgs):
    client = token_client(worker)
    too_old = client.post("/api/casework/children/", {"person": person.pk, "name": "小明", "birth_date": "1990-01-01",
                                                      "guardianship": "parent"}, format="json")
    assert too_old.status_code == 400 and "birth_date" in too_old.json()
    child = client.post("/api/casework/children/", {"person": person.pk, "name": "小明", "birth_date": "2018-05-01",
                                                    "guardianship": "none"}, format="json")
    assert child.status_code == 201, child.content
    assert child.json()["name"] != "小明" and child.json()["name"].startswith("小")  # read back masked
    assert models.Child.objects.get().guardianship == "none"

    before = person.status
    change = client.post("/api/casework/status-changes/", {"person": person.pk, "to_status": "deceased",
                                                           "on": "2026-01-02", "source": "police",
                                                           "document": "死亡证明"}, format="json")
    assert change.status_code == 201, change.content
    person.refresh_from_db()
    assert person.status == "deceased" and not person.in_control
    assert change.json()["from_status"] == before != "deceased"

    outsider = services.register_person(make_user("wz", "social_worker", "320505001"), name="外区",
                                        id_number=make_id_number("320505", dt.date(1991, 1, 1), 7),
                                        household_area_code="320505001", residence_area_code="320505001")
    body = {"occurred_on": "2026-01-03", "kind": "self_harm", "severity": "serious", "area_code": "320508001"}
    refused = client.post("/api/casework/incidents/", {**body, "persons": [outsider.pk]}, format="json")
    assert refused.status_code == 400 and "persons" in refused.json()
    made = client.post("/api/casework/incidents/", {**body, "persons": [person.pk], "description": "在家中自伤"},
                       format="json")
    assert made.status_code == 201, made.content
    assert made.json()["description"] != "在家中自伤"
    assert models.Incident.objects.get().description == "在家中自伤"  # stored (encrypted) as written
    assert list(models.Incident.objects.get().persons.all()) == [person]
    # a member unit sees neither status history nor incidents
    hrss = make_org("姑苏区人社局2", "320508", "member_unit", sector="hrss", is_member_unit=True)
    member = token_client(make_user("rs3", "member_unit", "320508", org=hrss))
    for endpoint in ("status-changes", "incidents"):
        assert member.get(f"/api/casework/{endpoint}/").json()["count"] == 0, endpoint


def test_member_unit_records_the_help_given_on_its_task_page(client, person, orgs, worker):
    hrss = make_org("姑苏区人社局4", "320508", "member_unit", sector="hrss", is_member_unit=True)
    member = make_user("rs4", "member_unit", "320508", org=hrss)
    referral = services.refer(person, kind="job", need="求职", provider_org=hrss, consent=True)
    services.decide_referral(member, referral, True)
    login_client(client, member)
    page = client.get("/casework/").content.decode()
    assert "求职" in page and f"/casework/referrals/{referral.pk}/decide/" in page
    client.post(f"/casework/referrals/{referral.pk}/decide/", {"outcome": "  "})
    referral.refresh_from_db()
    assert referral.status == "accepted"  # a blank outcome is refused
    # the referring worker cannot record the member unit's outcome
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.complete_referral(worker, referral, "安置")
    client.post(f"/casework/referrals/{referral.pk}/decide/", {"outcome": "已安置公益性岗位"})
    referral.refresh_from_db()
    assert referral.status == "done" and referral.outcome == "已安置公益性岗位" and referral.done_on


def test_offices_are_told_of_break_glass_accesses_awaiting_review(client, person, orgs):
    outsider = make_user("wz2", "social_worker", "320505001")
    grant = services.break_glass(outsider, person, "紧急协查")
    office = make_user("wzoffice", "district_office", "320505")
    login_client(client, office)
    page = client.get("/casework/").content.decode()
    assert "1 次紧急授权访问待您审核" in page or "1 break-glass access waits" in page
    listing = client.get("/casework/break-glass/?reviewed=false").content.decode()
    assert "紧急协查" in listing
    client.post(f"/casework/break-glass/{grant.pk}/review/")
    assert "待您审核" not in client.get("/casework/").content.decode()
    assert "紧急协查" not in client.get("/casework/break-glass/?reviewed=false").content.decode()
    assert "紧急协查" in client.get("/casework/break-glass/?reviewed=true").content.decode()


def test_office_approves_a_pending_manual_level_later(client, person, orgs):
    from casework.risk_service import assess

    worker = make_user("sw5", "social_worker", "320508001")
    office = make_user("office5", "district_office", "320508")
    factors = {"drug_type": "heroin", "severe_addiction": "1"}
    pending = assess(person, factors=factors, manual_level="low", manual_reason="家属监护到位", user=worker)
    person.refresh_from_db()
    assert person.risk_level == pending.computed_level != "low"
    # the worker may not approve its own manual level
    assert token_client(worker).post(f"/api/casework/assessments/{pending.pk}/approve/").status_code in (403, 404)
    login_client(client, office)
    page = client.get("/casework/").content.decode()
    assert "家属监护到位" in page and f"/casework/assessments/{pending.pk}/approve/" in page
    client.post(f"/casework/assessments/{pending.pk}/approve/")
    pending.refresh_from_db()
    person.refresh_from_db()
    assert pending.approved_by == office and pending.level == "low" and person.risk_level == "low"
    assert "家属监护到位" not in client.get("/casework/").content.decode()
    # an older assessment cannot be approved once a newer one replaces it
    older = assess(person, factors=factors, manual_level="medium", manual_reason="复评", user=worker,
                   assessed_on=dt.date(2020, 1, 1))
    answer = token_client(office).post(f"/api/casework/assessments/{older.pk}/approve/")
    assert answer.status_code == 400 and "manual_level" in answer.json()
    person.refresh_from_db()
    assert person.risk_level == "low"  # the back-dated assessment did not replace the newer level


def test_worker_established_hard_overrides_make_the_person_high_risk(client, person, worker):
    login_client(client, worker)
    form = client.get(f"/casework/persons/{person.pk}/add/assessment/").content.decode()
    assert "HO-MENTAL" in form and "HO-ILLNESS" in form
    client.post(f"/casework/persons/{person.pk}/add/assessment/",
                {"factor_drug_type": "cannabis", "factor_years_abstinent": "3", "flags": ["HO-ILLNESS"]})
    assessment = models.RiskAssessment.objects.get(person=person)
    assert assessment.level == "high" and assessment.overrides == ["HO-ILLNESS"]
    answer = token_client(worker).post("/api/casework/assessments/", {
        "person": person.pk, "assessed_on": "2026-11-01", "factors": {"drug_type": "cannabis"},
        "flags": ["HO-UNKNOWN"]}, format="json")
    assert answer.status_code == 400 and "flags" in answer.json()
    made = token_client(worker).post("/api/casework/assessments/", {
        "person": person.pk, "assessed_on": "2026-11-02", "factors": {"drug_type": "cannabis"},
        "flags": ["HO-MENTAL"]}, format="json")
    assert made.status_code == 201 and made.json()["overrides"] == ["HO-MENTAL"]


@pytest.mark.parametrize("path,label", [("measures", "casework.measure"), ("police-tasks", "casework.policereporttask"),
                                        ("referrals", "casework.referral"), ("transfers", "casework.transfer"),
                                        ("incidents", "casework.incident"), ("break-glass", "casework.breakglass")])
def test_every_casework_list_export_needs_a_reason(client, person, orgs, path, label):
    office = make_user("gusu_office6", "district_office", "320508")
    login_client(client, office)
    assert client.get(f"/casework/{path}/?export=xlsx").status_code == 302
    assert client.get(f"/casework/{path}/?export=xlsx&reason=专项检查").status_code == 200
    assert AccessLog.objects.get(event="export", object_type=label).reason == "专项检查"


def test_drug_types_on_the_register_form_and_in_the_ledger(client, orgs):
    import io

    from openpyxl import Workbook

    from casework.imports import PERSONS
    from core import imports as pipeline

    office = make_user("gusu_office7", "district_office", "320508")
    login_client(client, office)
    response = client.post("/casework/persons/register/", {
        "name": "吴九", "id_number": make_id_number("320508", dt.date(1988, 2, 2), 9),
        "household_area_code": "320508001", "residence_area_code": "320508001", "drug_types": ["海洛因", "氯胺酮"]})
    assert response.status_code == 302, response.content.decode()[:2000]
    person = models.Person.objects.get()
    assert person.drug_types == ["海洛因", "氯胺酮"]
    assert "海洛因、氯胺酮" in client.get(f"/casework/persons/{person.pk}/").content.decode()

    def book(rows):
        wb = Workbook()
        wb.active.append(["姓名", "身份证号", "户籍地区划代码", "居住地区划代码", "滥用毒品种类"])
        for row in rows:
            wb.active.append(row)
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()

    ids = [make_id_number("320508", dt.date(1990, 3, 3), n) for n in (11, 12)]
    bad = pipeline.start_import(PERSONS, office, "l.xlsx", book([["甲", ids[0], "320508001", "320508001", "海洛因"],
                                                                 ["乙", ids[1], "320508001", "320508001", "海洛因、冰糖"]]))
    assert [(e["row"], e["column"]) for e in bad.errors] == [(3, "滥用毒品种类")]
    assert "冰糖" in bad.errors[0]["message"]
    good = pipeline.start_import(PERSONS, office, "l2.xlsx", book([["甲", ids[0], "320508001", "320508001",
                                                                    "海洛因，甲基苯丙胺"]]))
    pipeline.commit(good, office)
    assert services.find_by_id_number(ids[0]).drug_types == ["海洛因", "甲基苯丙胺"]


def test_a_late_contact_does_not_fill_a_missed_slot(person):
    measure = community_measure(person, dt.date(2025, 1, 1))
    checkins = list(measure.planned_events.filter(kind="checkin").order_by("due_on")[:3])
    missed, second = checkins[1], checkins[2]
    # the second slot is kept on its due day; the first one was missed and stays missed
    services.record_contact(person, kind="checkin", occurred_on=second.due_on, measure=measure)
    missed.refresh_from_db()
    second.refresh_from_db()
    assert second.status == "done" and second.done_on == second.due_on
    assert missed.status != "done"


def test_schedule_policy_api_reads_for_all_and_writes_for_the_city_only(worker, orgs):
    from conftest import make_user

    city = make_user("sp_city", "city_office", area="320500")
    district = make_user("sp_district", "district_office", area="320508", org=orgs["gusu_office"])
    rows = token_client(worker).get("/api/casework/schedule-policies/", {"measure_kind": "community_treatment"})
    assert rows.status_code == 200 and rows.json()["count"] > 0
    first = rows.json()["results"][0]
    assert "lost_contact_misses" in first
    patch = {"lost_contact_misses": 4}
    assert token_client(district).patch(f"/api/casework/schedule-policies/{first['id']}/", patch,
                                        format="json").status_code == 404
    assert token_client(worker).patch(f"/api/casework/schedule-policies/{first['id']}/", patch,
                                      format="json").status_code == 404
    ok = token_client(city).patch(f"/api/casework/schedule-policies/{first['id']}/", patch, format="json")
    assert ok.status_code == 200 and ok.json()["lost_contact_misses"] == 4
    bad = token_client(city).patch(f"/api/casework/schedule-policies/{first['id']}/",
                                   {"phase_from_month": 30, "phase_to_month": 2}, format="json")
    assert bad.status_code == 400 and "phase_to_month" in bad.json()


def test_a_child_without_a_carer_is_referred_to_civil_affairs_at_once(person, orgs):
    civil = make_org("姑苏区民政局", "320508", sector="civil_affairs", is_member_unit=True)
    make_org("苏州市民政局", "320500", sector="civil_affairs", is_member_unit=True)
    child = services.record_child(person, name="小明", birth_date=dt.date(2018, 5, 1), guardianship="none")
    referral = child.auto_referral
    assert referral.provider_org == civil          # the most local unit covering the person's area
    assert referral.kind == "child_care" and referral.status == "pending" and not referral.consent
    # a second such child does not open a second pending referral; a child with a parent opens none
    again = services.record_child(person, name="小红", birth_date=dt.date(2019, 5, 1), guardianship="none")
    assert again.auto_referral is None and person.referrals.count() == 1
    services.record_child(person, name="小刚", birth_date=dt.date(2020, 5, 1), guardianship="parent")
    assert person.referrals.count() == 1


def test_the_next_risk_review_is_a_planned_task_kept_by_regeneration(person, worker):
    from casework.risk_service import assess

    measure = community_measure(person, dt.date(2025, 1, 1))
    first = assess(person, factors={"drug_type": "cannabis", "years_abstinent": "3"}, user=worker,
                   assessed_on=dt.date(2025, 2, 1))
    review = models.PlannedEvent.objects.get(person=person, kind="assessment")
    assert (review.due_on, review.status, review.measure) == (first.next_review_on, "scheduled", measure)
    services.regenerate_schedules(today=dt.date(2025, 2, 2))
    services.refresh_schedule(measure, today=dt.date(2025, 2, 2))
    assert models.PlannedEvent.objects.filter(person=person, kind="assessment", status="scheduled").count() == 1
    # the next assessment fulfils the review and plans the one after
    second = assess(person, factors={"drug_type": "cannabis", "years_abstinent": "3"}, user=worker,
                    assessed_on=first.next_review_on)
    reviews = models.PlannedEvent.objects.filter(person=person, kind="assessment").order_by("due_on")
    assert [(r.status, r.due_on) for r in reviews] == [("done", first.next_review_on),
                                                       ("scheduled", second.next_review_on)]


def test_correcting_a_contact_date_rematches_the_plan_and_is_audited(client, person, worker):
    from core.models import ChangeLog

    measure = community_measure(person, dt.date(2025, 1, 1))
    first_slot = measure.planned_events.filter(kind="checkin").order_by("due_on").first()
    wrong = first_slot.due_on + dt.timedelta(days=400)          # typed a year off: fills nothing
    contact = services.record_contact(person, kind="checkin", occurred_on=wrong, measure=measure)
    first_slot.refresh_from_db()
    assert first_slot.status != "done"
    login_client(client, worker)
    page = client.get(f"/casework/persons/{person.pk}/")
    assert f"/casework/records/contact/{contact.pk}/correct/" in page.content.decode()
    url = f"/casework/records/contact/{contact.pk}/correct/"
    assert client.post(url, {"kind": "checkin", "occurred_on": first_slot.due_on.isoformat(),
                             "outcome": "met"}).status_code == 400       # no reason
    r = client.post(url, {"kind": "checkin", "occurred_on": first_slot.due_on.isoformat(), "outcome": "met",
                          "reason": "日期录入错误"})
    assert r.status_code == 302
    first_slot.refresh_from_db()
    assert (first_slot.status, first_slot.done_on) == ("done", first_slot.due_on)
    log = ChangeLog.objects.filter(object_type="casework.contactevent", object_id=str(contact.pk),
                                   action="update").latest("seq")
    assert "日期录入错误" in log.message and log.before["occurred_on"] == wrong.isoformat()
    # a member unit or another district cannot correct it
    other = make_user("fix_hq", "social_worker", "320505001")
    login_client(client, other)
    assert client.post(url, {"kind": "checkin", "occurred_on": "2025-01-05", "outcome": "met",
                             "reason": "x"}).status_code == 404


def test_documents_care_plan_and_work_team_on_the_person_file(client, person, worker, orgs, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.models import AccessLog

    settings.MEDIA_ROOT = tmp_path
    measure = services.open_measure(person, "community_treatment", execution_area_code="320508001",
                                    served_on=dt.date(2026, 1, 5))
    login_client(client, worker)
    pdf = SimpleUploadedFile("协议.pdf", b"%PDF-1.4 signed agreement", content_type="application/pdf")
    r = client.post(f"/casework/persons/{person.pk}/add/document/", {
        "kind": "agreement", "title": "社区戒毒协议", "signed_on": "2026-01-08", "file": pdf})
    assert r.status_code == 302, r.content[:500]
    doc = models.CaseDocument.objects.get()
    measure.refresh_from_db()
    assert doc.measure == measure and measure.agreement_signed_on == dt.date(2026, 1, 8) and len(doc.sm3) == 64
    fake = SimpleUploadedFile("x.pdf", b"MZ not a pdf", content_type="application/pdf")
    r = client.post(f"/casework/persons/{person.pk}/add/document/", {
        "kind": "consent", "title": "同意书", "signed_on": "2026-01-08", "file": fake})
    assert models.CaseDocument.objects.count() == 1
    assert "file" in r.context["form"].errors
    download = client.get(f"/casework/documents/{doc.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF")
    assert AccessLog.objects.filter(event="export", object_id=str(person.pk)).exists()
    # care plan: a new plan closes the old one
    for goals in ("稳定就业", "稳定就业并戒断"):
        assert client.post(f"/casework/persons/{person.pk}/add/care_plan/", {
            "needs": ["job", "psychological"], "goals": goals, "review_on": "2026-12-01"}).status_code == 302
    assert list(person.care_plans.values_list("status", flat=True).order_by("pk")) == ["closed", "active"]
    # work team
    assert client.post(f"/casework/persons/{person.pk}/add/team/", {"role": "family", "name": "张母",
                                                                    "phone": "13800000000"}).status_code == 302
    member = measure.team.get()
    page = client.get(f"/casework/persons/{person.pk}/").content.decode()
    assert "张母" in page and "社区戒毒协议" in page and "稳定就业并戒断" in page
    client.post(f"/casework/team/{member.pk}/remove/")
    assert not measure.team.exists()
    # a member unit sees neither the documents nor the team
    member_unit = make_user("mz_doc", "member_unit", "320508", org=orgs["gusu_office"])
    assert not models.CaseDocument.objects.restrict(member_unit, "view").exists()


def test_corrections_care_plans_and_documents_through_the_api(person, worker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    measure = community_measure(person, dt.date(2025, 1, 1))
    api = token_client(worker)
    contact = services.record_contact(person, kind="checkin", occurred_on=dt.date(2025, 2, 1), measure=measure)
    assert api.post(f"/api/casework/contacts/{contact.pk}/correct/", {"occurred_on": "2025-02-02"},
                    format="json").status_code == 400                      # no reason
    r = api.post(f"/api/casework/contacts/{contact.pk}/correct/", {"occurred_on": "2025-02-02",
                                                                    "reason": "补录更正"}, format="json")
    assert r.status_code == 200 and r.json()["occurred_on"] == "2025-02-02"
    plan = api.post("/api/casework/care-plans/", {"person": person.pk, "needs": ["job"], "goals": "就业",
                                                  "review_on": "2030-01-01"}, format="json")
    assert plan.status_code == 201, plan.json()
    bad = api.post("/api/casework/care-plans/", {"person": person.pk, "needs": ["nonsense"], "goals": "x",
                                                 "review_on": "2030-01-01"}, format="json")
    assert bad.status_code == 400 and "needs" in bad.json()
    from django.core.files.uploadedfile import SimpleUploadedFile

    doc = api.post("/api/casework/documents/", {"person": person.pk, "measure": measure.pk, "kind": "consent",
                                                "title": "知情同意书", "signed_on": "2025-01-05",
                                                "file": SimpleUploadedFile("c.png", b"\x89PNG\r\n\x1a\nxx")},
                   format="multipart")
    assert doc.status_code == 201, doc.json()
    assert doc.json()["sm3"] and doc.json()["download"].endswith("/download/")
    team = api.post("/api/casework/team/", {"measure": measure.pk, "role": "volunteer", "name": "志愿者李"},
                    format="json")
    assert team.status_code == 201, team.json()


def test_isolation_facility_move_window_and_escape_arithmetic(client, person, orgs):
    police_site = make_org("苏州市强制隔离戒毒所", "320500", "rehab_center")
    justice_site = make_org("江苏省苏州强制隔离戒毒所(司法)", "320500", "rehab_center")
    decided = dt.date(2025, 1, 10)
    measure = services.open_measure(person, "compulsory_isolation", execution_area_code="320508001",
                                    decided_on=decided)
    assert measure.planned_end_on == dt.date(2027, 1, 10)
    services.move_facility(measure, facility=police_site, authority="police", on=decided)
    with pytest.raises(ValidationError) as exc:           # before three months
        services.move_facility(measure, facility=justice_site, authority="justice", on=dt.date(2025, 4, 9))
    assert "on" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:           # after six months without a reason
        services.move_facility(measure, facility=justice_site, authority="justice", on=dt.date(2025, 7, 11))
    assert "reason" in exc.value.message_dict
    due = services.justice_moves_due(models.Measure.objects.all(), today=dt.date(2025, 7, 11))
    assert [d["late"] for d in due] == [True]
    services.move_facility(measure, facility=justice_site, authority="justice", on=dt.date(2025, 7, 11),
                           reason="司法所床位不足")
    assert services.justice_moves_due(models.Measure.objects.all(), today=dt.date(2025, 8, 1)) == []
    measure.refresh_from_db()
    assert measure.facility == justice_site
    # an escape of 10 days: the end is unknown while open, then moves by 10 days; early release is barred
    services.record_escape(measure, escaped_on=dt.date(2025, 9, 1))
    measure.refresh_from_db()
    person.refresh_from_db()
    assert measure.planned_end_on is None and person.status == "lost_contact"
    services.record_return(measure, returned_on=dt.date(2025, 9, 11))
    measure.refresh_from_db()
    person.refresh_from_db()
    assert measure.planned_end_on == dt.date(2027, 1, 20) and person.status == "compulsory_isolation"
    with pytest.raises(ValidationError):
        services.decide_isolation(measure, early_release_on=dt.date(2026, 3, 1))


def test_medical_custody_needs_grounds_and_plans_reviews(person):
    with pytest.raises(ValidationError) as exc:
        services.open_measure(person, "medical_custody", execution_area_code="320508001",
                              decided_on=dt.date(2026, 1, 1))
    assert "medical_grounds" in exc.value.message_dict
    measure = services.open_measure(person, "medical_custody", execution_area_code="320508001",
                                    decided_on=dt.date(2026, 1, 1), medical_grounds="尿毒症，需定期透析",
                                    review_every_months=6)
    reviews = list(measure.planned_events.filter(kind="assessment").values_list("due_on", flat=True))
    assert reviews[:2] == [dt.date(2026, 7, 1), dt.date(2027, 1, 1)] and len(reviews) == 5
    assert models.Measure.objects.get(pk=measure.pk).medical_grounds == "尿毒症，需定期透析"


def test_isolation_moves_and_escapes_through_the_api(person, orgs):
    office = make_user("iso_office", "district_office", "320508", org=orgs["gusu_office"])
    site = make_org("司法强戒所", "320500", "rehab_center")
    api = token_client(office)
    created = api.post("/api/casework/measures/", {"person": person.pk, "kind": "compulsory_isolation",
                                                   "execution_area_code": "320508001", "decided_on": "2025-01-10"},
                       format="json")
    assert created.status_code == 201, created.json()
    mid = created.json()["id"]
    early = api.post(f"/api/casework/measures/{mid}/facility/", {"facility": site.pk, "authority": "justice",
                                                                 "on": "2025-02-01"}, format="json")
    assert early.status_code == 400 and "on" in early.json()
    ok = api.post(f"/api/casework/measures/{mid}/facility/", {"facility": site.pk, "authority": "justice",
                                                              "on": "2025-05-01"}, format="json")
    assert ok.status_code == 200 and ok.json()["facility"] == site.pk
    assert api.post(f"/api/casework/measures/{mid}/escape/", {"escaped_on": "2025-06-01"},
                    format="json").json()["planned_end_on"] is None
    back = api.post(f"/api/casework/measures/{mid}/return/", {"returned_on": "2025-06-04"}, format="json")
    assert back.json()["planned_end_on"] == "2027-01-13"
    medical = api.post("/api/casework/measures/", {"person": person.pk, "kind": "medical_custody",
                                                   "execution_area_code": "320508001", "decided_on": "2025-03-01"},
                       format="json")
    assert medical.status_code == 400 and "medical_grounds" in medical.json()


def test_morning_reminder_mails_counts_without_personal_data(person, worker, settings):
    from django.core import mail

    from casework.reminders import send_reminders

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    community_measure(person, dt.date(2025, 1, 1))
    services.mark_overdue(timezone.localdate())
    with acting_as(username="test"):
        worker.email = "worker@example.gov.cn"
        worker.save()
        idle = make_user("idle_worker", "social_worker", "320505001")   # another street: nothing waits
        idle.email = "idle@example.gov.cn"
        idle.save()
    result = send_reminders()
    assert result == {"sent": 1, "nothing_waiting": 1}
    [message] = mail.outbox
    assert message.to == ["worker@example.gov.cn"]
    assert "/casework/" in message.body
    assert person.name not in message.body and person.id_number not in message.body


def test_released_from_isolation_waits_for_aftercare_on_the_office_tasks(client, person, orgs):
    office = make_user("ac_office", "district_office", "320508", org=orgs["gusu_office"])
    measure = services.open_measure(person, "compulsory_isolation", execution_area_code="320508001",
                                    decided_on=timezone.localdate() - dt.timedelta(days=730))
    services.end_measure(measure, outcome="released", on=timezone.localdate() - dt.timedelta(days=3))
    login_client(client, office)
    assert [a["person"] for a in client.get("/casework/").context["aftercare"]] == [person]
    services.open_measure(person, "aftercare", execution_area_code="320508001",
                          decided_on=timezone.localdate() - dt.timedelta(days=1))
    assert client.get("/casework/").context["aftercare"] == []


def test_a_late_report_with_a_good_reason_is_accepted(person):
    served = dt.date(2025, 1, 1)                      # report due 2025-01-16
    measure = services.open_measure(person, "community_treatment", execution_area_code="320508001",
                                    served_on=served)
    services.evaluate_rules(measure, today=dt.date(2025, 1, 20))
    measure.refresh_from_db()
    assert measure.state == "refused"
    assert models.PoliceReportTask.objects.filter(measure=measure, rule_id="C14-R").count() == 1
    with pytest.raises(ValidationError) as exc:
        services.record_report(measure, dt.date(2025, 1, 25))
    assert "late_reason" in exc.value.message_dict
    services.record_report(measure, dt.date(2025, 1, 25), late_reason="住院治疗，有医院证明")
    measure.refresh_from_db()
    assert measure.state == "reported" and measure.start_on == dt.date(2025, 1, 25)
    services.evaluate_rules(measure, today=dt.date(2025, 2, 1))
    assert models.PoliceReportTask.objects.filter(measure=measure, rule_id="C14-R").count() == 1  # the old one stays
    # reported late with the reason before the rules ran: no C14-R at all
    other = services.register_person(None, name="李四", id_number=ID_A, household_area_code="320508001",
                                     residence_area_code="320508001")
    m2 = services.open_measure(other, "community_treatment", execution_area_code="320508001", served_on=served)
    services.record_report(m2, dt.date(2025, 1, 18), late_reason="交通中断")
    services.evaluate_rules(m2, today=dt.date(2025, 2, 1))
    assert not models.PoliceReportTask.objects.filter(measure=m2, rule_id="C14-R").exists()


def test_web_test_form_records_hair_segment_substances_and_method(client, person, worker):
    community_measure(person, dt.date(2025, 1, 1))
    login_client(client, worker)
    url = f"/casework/persons/{person.pk}/add/test/"
    bad = client.post(url, {"sample": "urine", "collected_on": "2025-06-01", "result": "negative",
                            "hair_segment_cm": "3", "substances": ["海洛因"], "method": "onsite"})
    assert bad.status_code == 200 and {"hair_segment_cm", "substances"} <= set(bad.context["form"].errors)
    ok = client.post(url, {"sample": "hair", "collected_on": "2025-06-01", "result": "positive",
                           "hair_segment_cm": "3", "substances": ["甲基苯丙胺"], "method": "lab"})
    assert ok.status_code == 302
    test = models.DrugTest.objects.get()
    assert (test.hair_segment_cm, test.substances, test.method) == (3.0, ["甲基苯丙胺"], "lab")
    assert test.window_start is not None                 # the hair window is set from the collection date


def test_the_grid_is_recorded_and_searchable(worker):
    api = token_client(worker)
    r = api.post("/api/casework/persons/", {"name": "王五", "id_number": ID_A, "household_area_code": "320508001",
                                            "residence_area_code": "320508001001", "grid": "平江第3网格"},
                 format="json")
    assert r.status_code == 201 and r.json()["grid"] == "平江第3网格"
    found = api.get("/api/casework/persons/", {"grid": "平江第3网格"}).json()
    assert found["count"] == 1
    assert api.get("/api/casework/persons/", {"grid": "平江第4网格"}).json()["count"] == 0


def test_an_incident_marked_high_risk_raises_the_person_at_once_and_for_a_year(person, worker):
    from casework.risk_service import assess

    measure = community_measure(person, dt.date(2025, 1, 1))
    low = assess(person, factors={"drug_type": "cannabis", "years_abstinent": "3"}, user=worker,
                 assessed_on=timezone.localdate() - dt.timedelta(days=10))
    person.refresh_from_db()
    assert low.level == person.risk_level != "high"
    with acting_as(username="test"):
        incident = models.Incident(occurred_on=timezone.localdate() - dt.timedelta(days=5), kind="harm_others",
                                   severity="serious", area_code="320508001", high_risk_trigger=True)
        incident.save()
        incident.persons.add(person)
    person.refresh_from_db()
    assert person.risk_level == "high"
    assert measure.planned_events.exists()
    again = assess(person, factors={"drug_type": "cannabis", "years_abstinent": "3"}, user=worker)
    assert "HO-INCIDENT" in again.overrides and again.level == "high"
    later = assess(person, factors={"drug_type": "cannabis", "years_abstinent": "3"}, user=worker,
                   assessed_on=timezone.localdate() + dt.timedelta(days=400))
    assert "HO-INCIDENT" not in later.overrides


def test_the_city_puts_its_own_risk_instrument_in_use(client, person, worker, orgs):
    import json

    from casework.risk_service import assess

    city = make_user("ri_city", "city_office", "320500")
    district = make_user("ri_district", "district_office", "320508", org=orgs["gusu_office"])
    definition = {"thresholds": {"high": 10, "medium": 5},
                  "factors": [{"code": "injection", "label": "注射吸毒", "type": "flag", "points": 10}]}
    form = {"code": "SZ-2026", "version": "1", "definition": json.dumps(definition), "in_use": "on",
            "source": "苏禁毒办〔2026〕1号"}
    login_client(client, district)
    assert client.post("/casework/risk-instruments/add/", form).status_code in (400, 403)
    assert not models.RiskInstrument.objects.exists()
    login_client(client, city)
    bad = client.post("/casework/risk-instruments/add/", {**form, "definition": json.dumps(
        {**definition, "thresholds": {"high": 5, "medium": 10}})})
    assert bad.status_code == 400 and not models.RiskInstrument.objects.exists()
    assert client.post("/casework/risk-instruments/add/", form).status_code == 302
    result = assess(person, factors={"injection": "1"}, user=worker)
    assert result.instrument_version == "SZ-2026 1" and result.level == "high"
    client.post("/casework/risk-instruments/add/", {**form, "version": "2"})
    assert list(models.RiskInstrument.objects.filter(in_use=True).values_list("version", flat=True)) == ["2"]


def test_the_city_plans_aftercare_with_its_own_policy_rows(client, person):
    city = make_user("pol_city", "city_office", "320500")
    login_client(client, city)
    r = client.post("/casework/schedule-policies/add/", {
        "measure_kind": "aftercare", "risk_level": "medium", "phase_from_month": 0, "phase_to_month": 12,
        "period_months": 1, "checkins": 0, "tests": 1, "random_tests": 0, "home_visits": 1, "grace_days": 7,
        "lost_contact_misses": 3, "source": "市禁毒办后续照管工作规范（演示）"})
    assert r.status_code == 302, r.content[:300]
    measure = services.open_measure(person, "aftercare", execution_area_code="320508001",
                                    decided_on=dt.date(2026, 1, 5), ordered_years=1)
    services.refresh_schedule(measure, today=dt.date(2026, 1, 5))
    kinds = sorted(set(measure.planned_events.values_list("kind", flat=True)))
    assert kinds == ["home_visit", "test"]
    assert measure.planned_events.filter(kind="test").count() == 12


def test_risk_levels_are_shown_with_the_configured_labels(client, person, worker, settings):
    from casework.risk_service import assess, level_label, put_instrument_in_use

    settings.JINDU_RISK_LABELS = "colour"
    assert level_label("high") == "红" and level_label("low") == "蓝"
    with acting_as(username="test"):
        row = models.RiskInstrument(code="SZ", version="1", definition={
            "thresholds": {"high": 10, "medium": 5}, "labels": {"high": "A类", "medium": "B类", "low": "C类"},
            "factors": [{"code": "injection", "label": "注射吸毒", "type": "flag", "points": 10}]})
        row.save()
        put_instrument_in_use(row)
    assert level_label("high") == "A类"
    assess(person, factors={"injection": "1"}, user=worker)
    login_client(client, worker)
    assert "A类" in client.get(f"/casework/persons/{person.pk}/").content.decode()
