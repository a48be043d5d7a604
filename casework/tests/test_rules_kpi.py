"""K01–K13 on a hand-computed fixture (casework.rules.kpi). Each expected number is worked out by hand in the
comment above it. Period: 2024 Q1 = [2024-01-01, 2024-04-01), last day 2024-03-31.
Pure Python: run with ``pytest -p no:django``."""

from datetime import date

import pytest

from casework.rules import kpi as k
from casework.rules.dates import Period

D = date
Q1 = Period.quarter(2024, 1)
CT, CR, CI = "community_treatment", "community_rehab", "compulsory_isolation"


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


def test_period_helpers():
    assert (Q1.start, Q1.end, Q1.last) == (D(2024, 1, 1), D(2024, 4, 1), D(2024, 3, 31))
    assert Period.month(2024, 2).last == D(2024, 2, 29) and Period.year(2024).last == D(2024, 12, 31)


ORDERS = [
    k.Order("o1", "p1", CT, ordered_on=D(2023, 12, 19), served_on=D(2023, 12, 20), reported_on=D(2024, 1, 4)),
    k.Order("o2", "p2", CT, ordered_on=D(2024, 1, 8), served_on=D(2024, 1, 10), reported_on=D(2024, 1, 26),
            agreement_signed_on=D(2024, 1, 27)),
    k.Order("o3", "p3", CR, ordered_on=D(2024, 3, 18), served_on=D(2024, 3, 20)),
    k.Order("o4", "p4", CT, ordered_on=D(2024, 3, 8), served_on=D(2024, 3, 10),
            lawfully_terminated_on=D(2024, 3, 20)),
    k.Order("o5", "p5", CT, ordered_on=D(2023, 11, 30), served_on=D(2023, 12, 1)),
    k.Order("o6", "p6", CI, ordered_on=D(2024, 1, 10), served_on=D(2024, 1, 10)),
    k.Order("o7", "p7", CR, ordered_on=D(2024, 1, 30), served_on=D(2024, 2, 1), reported_on=D(2024, 2, 10),
            agreement_signed_on=D(2024, 2, 12)),
    k.Order("o8", "p8", CT, ordered_on=D(2024, 2, 1), lawfully_terminated_on=D(2024, 2, 20)),
    k.Order("o9", "p9", CT, ordered_on=D(2024, 2, 15), served_on=D(2024, 2, 16), reported_on=D(2024, 2, 18),
            agreement_signed_on=D(2024, 2, 20), lawfully_terminated_on=D(2024, 5, 1)),
]


def test_k01_reporting_rate():
    # due = served + 15: o1 01-04 ✓ reported 01-04 (on the day) → num; o2 01-25, reported 01-26 → den only;
    # o3 04-04 ∉ Q1; o4 03-25, not reported → den; o5 12-16 ∉ Q1; o6 not a community order; o7 02-16, reported
    # 02-10 → num; o8 never served; o9 03-02, reported 02-18 → num.
    # numerator {o1, o7, o9} = 3; denominator {o1, o2, o4, o7, o9} = 5
    assert k.k01(ORDERS, Q1) == (3, 5)
    assert k.k01_ids(ORDERS, Q1) == ({"o1", "o7", "o9"}, {"o1", "o2", "o4", "o7", "o9"})


def test_k02_execution_rate():
    # ordered in Q1: o2, o3, o4, o6 (not community), o7, o8, o9.
    # o4 lawfully terminated 03-20 ≤ report deadline 03-25 → excluded; o8 terminated 02-20 > deadline 02-16
    # (never served: counted from the order date) → stays; o9 terminated 05-01 > deadline → stays.
    # denominator {o2, o3, o7, o8, o9} = 5; agreement signed: o2, o7, o9 → 3
    assert k.k02(ORDERS, Q1) == (3, 5)
    # as of 02-15 only o2 (01-27) and o7 (02-12) had signed → 2
    assert k.k02(ORDERS, Q1, as_of=D(2024, 2, 15)) == (2, 5)


PERSONS = [
    k.Person("P1", D(2020, 1, 1), ((D(2020, 1, 1), CT),), D(2020, 1, 1), (D(2024, 2, 10),)),
    k.Person("P2", D(2019, 5, 1), ((D(2019, 5, 1), CT), (D(2022, 6, 1), "other_social"),
                                   (D(2024, 3, 1), "lost_contact"))),
    k.Person("P3", D(2018, 1, 1), ((D(2018, 1, 1), CI), (D(2019, 1, 1), "other_social"),
                                   (D(2023, 6, 1), "abstinent_3y"))),
    k.Person("P4", D(2021, 1, 1), ((D(2021, 1, 1), CT), (D(2024, 2, 1), "detained")), None, (D(2024, 1, 20),)),
    k.Person("P5", D(2017, 1, 1), ((D(2017, 1, 1), "other_social"), (D(2023, 12, 1), "deceased"))),
    k.Person("P6", D(2024, 2, 15), ((D(2024, 2, 15), CT),), D(2024, 2, 15), (D(2024, 2, 15), D(2024, 3, 10))),
    k.Person("P7", D(2022, 1, 1), ((D(2024, 3, 15), "emigrated"), (D(2022, 1, 1), "maintenance"))),  # unsorted
    k.Person("P8", D(2024, 5, 1), ((D(2024, 5, 1), CT),)),
    k.Person("P9", D(2019, 1, 1), ((D(2019, 1, 1), "imprisoned"),)),
]


def test_status_on():
    p7 = PERSONS[6]
    assert p7.status_on(D(2021, 12, 31)) is None
    assert p7.status_on(D(2024, 3, 14)) == "maintenance" and p7.status_on(D(2024, 3, 15)) == "emigrated"


def test_k03_under_control_rate():
    # status on 03-31: P1 CT, P2 lost_contact, P3 abstinent (out), P4 detained, P5 deceased (out), P6 CT,
    # P7 emigrated (out), P8 not yet registered (out), P9 imprisoned.
    # denominator {P1, P2, P4, P6, P9} = 5; in control = all but the lost P2 = 4 (custody counts as control)
    assert k.k03(PERSONS, Q1) == (4, 5)


VERIFICATIONS = [
    k.Verification("P1", D(2024, 2, 1)),                        # ✓
    k.Verification("P2", D(2024, 1, 15), face_to_face=False),   # phone only: no
    k.Verification("P6", D(2024, 4, 2)),                        # after Q1: no
    k.Verification("P6", D(2023, 12, 30)),                      # before Q1: no
    k.Verification("P4", D(2024, 1, 10)),                       # P4 detained at period end: not in the denominator
]


def test_k04_verification_rate():
    # needs verification on 03-31 (在册, not 羁押/服刑/强戒/戒断三年): P1, P2 (lost), P6 → 3
    # face-to-face in Q1: P1 → 1
    assert k.k04(PERSONS, VERIFICATIONS, Q1) == (1, 3)


ASSESSMENTS = [
    k.AssessmentRec("P1", D(2024, 1, 5), D(2024, 4, 5)),       # valid on 03-31
    k.AssessmentRec("P2", D(2023, 11, 1), D(2024, 6, 1)),      # older one, superseded by the next
    k.AssessmentRec("P2", D(2023, 12, 1), D(2024, 3, 1)),      # latest by period end: expired 03-01
    k.AssessmentRec("P2", D(2024, 4, 10), D(2024, 7, 10)),     # after Q1: ignored
    k.AssessmentRec("P6", D(2024, 2, 20), D(2024, 3, 31)),     # review due on the last day: still valid
    k.AssessmentRec("P9", D(2024, 1, 2), D(2024, 4, 2)),       # P9 in prison: not in the denominator
]


def test_k05_assessment_rate():
    # denominator as K04: {P1, P2, P6} = 3; valid: P1, P6 → 2
    assert k.k05(PERSONS, ASSESSMENTS, Q1) == (2, 3)


PLANNED = [
    k.PlannedRec("e1", "P1", "test", D(2024, 1, 15), D(2024, 1, 14)),
    k.PlannedRec("e2", "P1", "test", D(2024, 2, 15)),
    k.PlannedRec("e3", "P2", "test", D(2024, 3, 31), D(2024, 4, 3)),   # done in its grace days after Q1
    k.PlannedRec("e4", "P2", "test", D(2024, 4, 1)),                   # due after Q1
    k.PlannedRec("e5", "P1", "random_test", D(2024, 2, 1), D(2024, 2, 1)),
    k.PlannedRec("e6", "P2", "random_test", D(2024, 3, 1)),
    k.PlannedRec("e7", "P1", "checkin", D(2024, 1, 10), D(2024, 1, 10)),
]


def test_k06_test_completion():
    # tests due in Q1: e1 ✓, e2 ✗, e3 ✓ → 2 / 3; random tests: e5 ✓, e6 ✗ → 1 / 2
    assert k.k06(PLANNED, Q1) == (2, 3)
    assert k.k06(PLANNED, Q1, random=True) == (1, 2)


def test_k07_three_year_abstinence_rate():
    # registered by 03-31: everyone but P8 → 8; status 戒断三年未复吸 on 03-31: P3 → 1
    assert k.k07(PERSONS, Q1) == (1, 8)
    # variant without the dead (P5): 1 / 7
    assert k.k07(PERSONS, Q1, exclude_deceased=True) == (1, 7)


def test_k08_staying_drug_free():
    fus = [
        k.FollowUp("f1", "P1", D(2023, 1, 15)),                               # window ends 01-14 ∈ Q1, clean ✓
        k.FollowUp("f2", "P2", D(2023, 3, 31), (D(2023, 10, 1),)),            # last day 03-30 ∈ Q1, relapsed ✗
        k.FollowUp("f3", "P3", D(2023, 4, 1), (D(2024, 4, 15),)),             # last day 03-31 ∈ Q1, relapse after ✓
        k.FollowUp("f4", "P4", D(2023, 4, 2)),                                # last day 04-01 ∉ Q1
        k.FollowUp("f5", "P5", D(2022, 12, 31)),                              # last day 2023-12-30 ∉ Q1
        k.FollowUp("f6", "P6", D(2023, 2, 1), (D(2022, 12, 1),)),             # relapse before the window ✓
    ]
    # denominator {f1, f2, f3, f6} = 4; clean {f1, f3, f6} = 3
    assert k.k08(fus, Q1) == (3, 4)


def test_k09_relapse_rate():
    # at risk on 01-01 (found before Q1, 在册, not in custody): P1 CT, P2 other, P3 abstinent, P4 CT, P7 maintenance
    # → 5 (P5 dead since 2023-12-01, P6 found in Q1, P8 later, P9 in prison are out)
    # use found in Q1: P1 (02-10), P4 (01-20) → 2  (P6's findings don't count: not at risk at the start)
    assert k.k09(PERSONS, Q1) == (2, 5)


def test_k10_aftercare_rate():
    rel = [
        k.Release("r1", "P1", D(2024, 1, 10), D(2024, 1, 25)),     # 15 days ✓
        k.Release("r2", "P2", D(2024, 2, 1), D(2024, 2, 17)),      # 16 days ✗
        k.Release("r3", "P3", D(2024, 3, 1), D(2024, 2, 25)),      # handed over before release ✓
        k.Release("r4", "P4", D(2024, 3, 20)),                     # none ✗
        k.Release("r5", "P5", D(2024, 4, 1), D(2024, 4, 1)),       # released after Q1
    ]
    assert k.k10(rel, Q1) == (2, 4)
    assert k.k10(rel, Q1, within_days=16) == (3, 4)


def test_k11_police_report_handling():
    trig = [
        k.TriggerRec("t1", "serious_violation", D(2024, 1, 10), D(2024, 1, 11), D(2024, 1, 11)),   # ✓
        k.TriggerRec("t2", "positive_test", D(2024, 2, 1), D(2024, 2, 2), D(2024, 2, 3)),          # late ✗
        k.TriggerRec("t3", "missed_report", D(2024, 3, 31), D(2024, 4, 1), D(2024, 4, 1)),         # ✓
        k.TriggerRec("t4", "needs_police_review", D(2024, 2, 10), D(2024, 2, 11)),                 # not counted
        k.TriggerRec("t5", "lost_contact", D(2024, 2, 11), D(2024, 2, 12)),                        # not counted
        k.TriggerRec("t6", "serious_violation", D(2024, 4, 1), D(2024, 4, 2)),                     # after Q1
        k.TriggerRec("t7", "positive_test", D(2024, 3, 5), D(2024, 3, 6)),                         # not reported ✗
    ]
    # denominator {t1, t2, t3, t7} = 4; on time {t1, t3} = 2
    assert k.k11(trig, Q1) == (2, 4)


def test_k12_transfer_acceptance():
    tr = [
        k.TransferRec("x1", "P1", D(2024, 1, 5), D(2024, 1, 8), D(2024, 1, 20)),     # due 01-20 ✓
        k.TransferRec("x2", "P2", D(2024, 2, 1), D(2024, 2, 3), D(2024, 2, 17)),     # due 02-16, reported late ✗
        k.TransferRec("x3", "P3", D(2024, 2, 10)),                                   # rejected ✗
        k.TransferRec("x4", "P4", D(2024, 3, 1), cancelled=True),                    # cancelled: out
        k.TransferRec("x5", "P5", D(2024, 3, 25), D(2024, 4, 2), D(2024, 4, 5)),     # due 04-09 ✓
        k.TransferRec("x6", "P6", D(2023, 12, 30), D(2024, 1, 2), D(2024, 1, 3)),    # initiated before Q1
        k.TransferRec("x7", "P7", D(2024, 3, 10), D(2024, 3, 30), D(2024, 3, 12)),   # due 03-25, accepted late ✗
    ]
    # denominator {x1, x2, x3, x5, x7} = 5; on time {x1, x5} = 2
    assert k.k12(tr, Q1) == (2, 5)


def test_k13_assistance_coverage():
    needs = [
        k.Need("P1", D(2023, 10, 1)),
        k.Need("P1", D(2024, 2, 1)),                               # same person: counted once
        k.Need("P2", D(2024, 3, 31)),
        k.Need("P3", D(2023, 1, 1), closed_on=D(2023, 12, 31)),    # closed before Q1
        k.Need("P4", D(2024, 4, 2)),                               # identified after Q1
        k.Need("P6", D(2024, 2, 20), closed_on=D(2024, 3, 1)),
    ]
    help_ = [
        k.Assistance("P1", "done", D(2024, 2, 1)),                 # ✓
        k.Assistance("P2", "accepted"),                            # not done
        k.Assistance("P3", "done", D(2024, 2, 2)),                 # P3 has no open need
        k.Assistance("P6", "done", D(2024, 4, 3)),                 # after Q1
        k.Assistance("P6", "done", D(2023, 12, 1)),                # before Q1
    ]
    # denominator {P1, P2, P6} = 3; assisted in Q1 {P1} = 1
    assert k.k13(needs, help_, Q1) == (1, 3)


def test_registry_and_numerator_subset_of_denominator():
    assert sorted(k.KPIS) == [f"K{i:02d}" for i in range(1, 14)]
    num, den = k.k09_ids(PERSONS, Q1)
    assert num <= den and (len(num), len(den)) == k.k09(PERSONS, Q1)
    assert k.KPIS["K03"][0] == "在控率" and k.KPIS["K03"][1] is k.k03
