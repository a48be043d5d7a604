"""Demo persons for the casework pillar, with ground truth.

Scale: 300 persons for ``--scale small``, 30,000 for ``--scale city``. Every person is generated
from the seed; a fixed share carries an injected violation whose rule is known (GROUND_TRUTH), so the
rules can be checked against the data: three refused/evaded tests (C20-1), three unauthorised
departures (C20-2), unauthorised absences of 31 days (C20-3), a positive test during the measure
(C21-P) and no report within 15 days (C14-R); boundary cases (two refusals, 30 days away) must not
fire.
"""

import datetime as dt
import random

from django.db import transaction

from core.demo import DEMO_STREET, demo_builder
from geo.models import Division
from orgs.models import Organization
from utilities.identifiers import make_id_number

from . import models, services
from .choices import MeasureKind

SIZES = {"small": 300, "city": 30_000}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强文辉海燕红梅玉兰小红晓东德明春梅国强永刚"
# injected violations: rule → share of community-measure persons
INJECTED = {"C20-1": 0.04, "C20-2": 0.03, "C20-3": 0.03, "C21-P": 0.04, "C14-R": 0.03,
            "boundary-2-refusals": 0.03, "boundary-30-days": 0.03}
TODAY = dt.date(2026, 11, 29)


def _name(rng):
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


@demo_builder(40, "casework")
def build(ctx):
    if models.Person.objects.exists():
        ctx.say("casework: demo persons present")
        return
    rng = random.Random(ctx.seed + 40)
    n = SIZES.get(ctx.scale, 300)
    communities = list(Division.objects.filter(level="community", code__startswith="3205").values_list("code",
                                                                                                      flat=True))
    streets = list(Division.objects.filter(level="street", code__startswith="3205").values_list("code", flat=True))
    demo_street_communities = [c for c in communities if c.startswith(DEMO_STREET)]
    member_units = {o.sector: o for o in Organization.objects.filter(is_member_unit=True, area_code="320508")}
    ground_truth = {}
    seq = 0
    for i in range(n):
        # one in five lives in the demo street so that the demo social worker has a caseload
        residence = rng.choice(demo_street_communities) if i % 5 == 0 and demo_street_communities else \
            rng.choice(communities or streets)
        household = residence if rng.random() < 0.8 else rng.choice(streets)
        seq += 1
        birth = dt.date(rng.randint(1965, 2004), rng.randint(1, 12), rng.randint(1, 28))
        id_number = make_id_number(household[:6], birth, seq % 1000)
        with transaction.atomic():
            try:
                person = services.register_person(None, name=_name(rng), id_number=id_number,
                                                  household_area_code=household, residence_area_code=residence,
                                                  phone=f"13{rng.randint(100000000, 999999999)}",
                                                  drug_types=[rng.choice(["甲基苯丙胺", "海洛因", "氯胺酮", "大麻"])],
                                                  first_found_on=TODAY - dt.timedelta(days=rng.randint(200, 4000)),
                                                  source="police")
            except services.DuplicatePerson:
                continue
            with services.rules_deferred():  # history is entered first; the rules run once, as of TODAY
                injected = _populate(person, rng, residence, member_units)
            if injected:
                ground_truth[person.pk] = injected
    ctx.ground_truth_casework = ground_truth
    _extras(random.Random(ctx.seed + 41), streets, member_units)
    _case_management(random.Random(ctx.seed + 42))
    ctx.say(f"casework: {models.Person.objects.count()} persons, {models.Measure.objects.count()} measures, "
            f"{models.PoliceReportTask.objects.count()} police-report tasks, "
            f"{models.RiskAssessment.objects.count()} assessments, {models.Child.objects.count()} children, "
            f"{models.Incident.objects.count()} incidents, {models.Transfer.objects.count()} transfers")


def _populate(person, rng, residence, member_units):
    roll = rng.random()
    if roll < 0.55:
        kind = MeasureKind.COMMUNITY_TREATMENT if roll < 0.35 else MeasureKind.COMMUNITY_REHAB
        return _community(person, rng, kind, residence, member_units)
    if roll < 0.65:
        services.open_measure(person, MeasureKind.COMPULSORY_ISOLATION, execution_area_code=residence[:6],
                              decided_on=TODAY - dt.timedelta(days=rng.randint(30, 700)), decision_no="强戒决定")
    elif roll < 0.72:
        services.open_measure(person, MeasureKind.MAINTENANCE, execution_area_code=residence,
                              decided_on=TODAY - dt.timedelta(days=rng.randint(30, 1500)))
    elif roll < 0.90:
        services.change_status(person, "abstinent_3y", TODAY - dt.timedelta(days=rng.randint(1, 900)), "police",
                               reason="戒断三年未复吸 confirmed")
    return None


def _community(person, rng, kind, residence, member_units):
    served = TODAY - dt.timedelta(days=rng.randint(20, 1000))
    measure = services.open_measure(person, kind, execution_area_code=residence, served_on=served,
                                    decision_no=f"社戒{served:%Y}{person.pk:05d}")
    scenario = None
    r = rng.random()
    cumulative = 0.0
    for name, share in INJECTED.items():
        cumulative += share
        if r < cumulative:
            scenario = name
            break
    if scenario == "C14-R":
        services.evaluate_rules(measure, today=TODAY)
        return "C14-R"
    reported = served + dt.timedelta(days=rng.randint(1, 14))
    services.record_report(measure, reported, agreement_signed_on=reported + dt.timedelta(days=rng.randint(0, 5)))
    days_in = (TODAY - reported).days
    # routine contacts and negative tests, most of the plan done
    for planned in list(measure.planned_events.filter(due_on__lte=TODAY)):
        if rng.random() < 0.97:
            on = planned.due_on + dt.timedelta(days=rng.randint(0, 3))
            if planned.kind in ("test", "random_test"):
                services.record_test(person, measure=measure, sample="urine", collected_on=on, result="negative",
                                     random=planned.kind == "random_test")
            else:
                services.record_contact(person, kind="checkin" if planned.kind == "checkin" else "home_visit",
                                        occurred_on=on, measure=measure)
    start = reported + dt.timedelta(days=10)
    if scenario in ("C20-1", "boundary-2-refusals") and days_in > 60:
        for j in range(3 if scenario == "C20-1" else 2):
            services.record_test(person, measure=measure, sample="urine", collected_on=start + dt.timedelta(days=15 * j),
                                 result="refused" if j % 2 == 0 else "evaded")
    elif scenario == "C20-2" and days_in > 60:
        for j in range(3):
            left = start + dt.timedelta(days=15 * j)
            services.record_absence(measure, left_on=left, returned_on=left + dt.timedelta(days=4))
    elif scenario in ("C20-3", "boundary-30-days") and days_in > 60:
        days = 31 if scenario == "C20-3" else 30
        services.record_absence(measure, left_on=start, returned_on=start + dt.timedelta(days=days))
    elif scenario == "C21-P" and days_in > 30:
        services.record_test(person, measure=measure, sample="urine", collected_on=start, result="positive",
                             legal_effect=True, substances=["甲基苯丙胺"])
    else:
        scenario = None
    services.evaluate_rules(measure, today=TODAY)
    if rng.random() < 0.15 and member_units:
        sector = rng.choice([s for s in ("civil_affairs", "hrss") if s in member_units] or list(member_units))
        services.refer(person, kind="dibao" if sector == "civil_affairs" else "job",
                       need="生活困难" if sector == "civil_affairs" else "求职", provider_org=member_units[sector],
                       consent=True, on=TODAY - dt.timedelta(days=rng.randint(1, 60)))
    return scenario


def _extras(rng, streets, member_units):
    """The rest of a caseload, from its own random stream so the ground truth above stays as it is:
    risk assessments, 强戒 early releases followed by aftercare (K10, K08), minor children (a child
    without a carer is referred to civil affairs), incidents (K15) and transfers waiting for the
    receiving office (K12, my tasks)."""
    from users.models import User

    from .risk_service import assess

    requester = User.objects.filter(username="city").first()  # the demo city office asks on behalf of streets
    open_community = list(models.Measure.objects.filter(
        kind__in=[MeasureKind.COMMUNITY_TREATMENT, MeasureKind.COMMUNITY_REHAB],
        state__in=["ordered", "reported", "active"]).select_related("person"))
    for measure in open_community:
        person = measure.person
        with transaction.atomic():
            if rng.random() < 0.6:
                assess(person, factors={"drug_type": rng.choice(["heroin", "methamphetamine", "ketamine", "cannabis"]),
                                        "years_abstinent": str(rng.choice([0, 1, 3]))},
                       assessed_on=TODAY - dt.timedelta(days=rng.randint(1, 150)))
            if rng.random() < 0.12:
                guardianship = rng.choice(["parent", "parent", "relative", "none"])
                child = services.record_child(person, name=_name(rng), guardianship=guardianship,
                                              birth_date=TODAY - dt.timedelta(days=rng.randint(400, 17 * 365)),
                                              needs="事实无人抚养" if guardianship == "none" else "")
                if child.guardianship == "none" and child.auto_referral is None and "civil_affairs" in member_units:
                    services.refer(person, kind="child_care", need="子女事实无人抚养",
                                   provider_org=member_units["civil_affairs"], consent=True,
                                   on=TODAY - dt.timedelta(days=rng.randint(1, 30)))
            if rng.random() < 0.03:
                incident = models.Incident(occurred_on=TODAY - dt.timedelta(days=rng.randint(1, 300)),
                                           kind=rng.choice(["self_harm", "harm_others", "drug_driving", "public_safety"]),
                                           severity=rng.choice(["minor", "minor", "serious", "major"]),
                                           area_code=measure.execution_area_code, description="演示事件")
                incident.save()
                incident.persons.add(person)
            if rng.random() < 0.02 and measure.state == "active" and requester is not None:
                others = [s for s in streets if s[:6] != measure.execution_area_code[:6]]
                if others:
                    asked = TODAY - dt.timedelta(days=rng.randint(0, 60))
                    transfer = services.request_transfer(requester, person, rng.choice(others), "工作调动，居住地变更",
                                                         on=asked)
                    if asked < TODAY - dt.timedelta(days=10):  # older requests were accepted; most reported in time
                        decided = asked + dt.timedelta(days=rng.randint(1, 5))
                        services.decide_transfer(requester, transfer, True, on=decided)
                        if rng.random() < 0.8:
                            services.record_report(measure, decided + dt.timedelta(days=rng.randint(1, 14)))
    for measure in models.Measure.objects.filter(kind=MeasureKind.COMPULSORY_ISOLATION, state="admitted",
                                                 start_on__lte=TODAY - dt.timedelta(days=400)):
        if rng.random() < 0.5:
            continue
        released = measure.start_on + dt.timedelta(days=366 + rng.randint(0, (TODAY - measure.start_on).days - 367))
        with transaction.atomic():
            services.decide_isolation(measure, early_release_on=released)
            services.end_measure(measure, outcome="released", on=released, reason="提前解除强制隔离戒毒")
            if rng.random() < 0.9:  # most are taken into aftercare, a few late or not at all
                services.open_measure(measure.person, MeasureKind.AFTERCARE,
                                      execution_area_code=measure.person.residence_area_code,
                                      decided_on=min(TODAY, released + dt.timedelta(days=rng.randint(0, 20))))


def _case_management(rng):
    """The day-to-day file beyond the events, from a third random stream: member units accept most referrals and
    complete some, workers draw care plans and staff work teams, and 强戒 persons move to a 司法 facility
    (one escapes and returns)."""
    from users.models import User

    for referral in models.Referral.objects.filter(status="pending").select_related("provider_org"):
        unit_user = User.objects.filter(org=referral.provider_org, is_active=True).first()
        if unit_user is None or rng.random() < 0.3:
            continue
        decided = min(TODAY, referral.referred_on + dt.timedelta(days=rng.randint(1, 10)))
        with transaction.atomic():
            services.decide_referral(unit_user, referral, accept=True, on=decided)
            if rng.random() < 0.5 and decided < TODAY:
                services.complete_referral(unit_user, referral, outcome="已落实帮扶（演示）",
                                           on=min(TODAY, decided + dt.timedelta(days=rng.randint(1, 30))))
    for person in models.Person.objects.filter(referrals__isnull=False).distinct()[:200]:
        if rng.random() < 0.5:
            kinds = sorted(set(person.referrals.values_list("kind", flat=True)))
            services.draw_care_plan(person, needs=kinds, goals="稳定生活，保持操守", actions="按转介落实帮扶",
                                    review_on=TODAY + dt.timedelta(days=rng.randint(30, 180)),
                                    drawn_on=TODAY - dt.timedelta(days=rng.randint(1, 60)))
    for measure in models.Measure.objects.filter(kind__in=["community_treatment", "community_rehab"],
                                                 state__in=["reported", "active"])[:300]:
        with transaction.atomic():
            services.add_team_member(measure, role="worker", name="专职人员" + _name(rng)[:1])
            services.add_team_member(measure, role="police", name="社区民警" + _name(rng)[:1])
            if rng.random() < 0.5:
                services.add_team_member(measure, role="family", name="家属")
    sites = []
    for name in ("苏州市公安局强制隔离戒毒所", "江苏省苏州强制隔离戒毒所"):   # police, then justice (司法行政)
        site = Organization.objects.filter(name=name, area_code="320500").first()
        if site is None:
            site = Organization(name=name, type="rehab_center", area_code="320500")
            site.save(audit_message="demo facility")
        sites.append(site)
    police_site, justice_site = sites
    escaped = False
    for measure in models.Measure.objects.filter(kind="compulsory_isolation", state="admitted"):
        with transaction.atomic():
            services.move_facility(measure, facility=police_site, authority="police", on=measure.start_on)
            earliest, latest, _limit = services._clock().justice_transfer_window(measure.start_on)
            on = earliest + dt.timedelta(days=rng.randint(0, (latest - earliest).days))
            if on <= TODAY:
                services.move_facility(measure, facility=justice_site, authority="justice", on=on)
            if not escaped and on + dt.timedelta(days=60) < TODAY:
                services.record_escape(measure, escaped_on=on + dt.timedelta(days=30))
                services.record_return(measure, returned_on=on + dt.timedelta(days=41))
                escaped = True
