"""条例 Art.20 at every boundary, positive tests, the 15-day refusal and lost contact (casework.rules.violations).
Pure Python: run with ``pytest -p no:django``."""

from datetime import date, timedelta

import pytest

from casework.rules import violations as v
from casework.rules.violations import AbsenceRecord as A, PlannedContact as C, TestRecord as T

D = date
START = D(2024, 1, 10)          # report date = term start
TODAY = D(2024, 12, 31)


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


def sv(tests=(), absences=(), today=TODAY, **kw):
    return v.serious_violations(tests, absences, term_start=START, today=today, **kw)


# --- C20-1: evaded or refused tests, counted together -------------------------------------------------------

def test_two_refusals_are_not_a_serious_violation():
    tests = [T(1, D(2024, 2, 1), "refused"), T(2, D(2024, 3, 1), "evaded"), T(3, D(2024, 4, 1), "negative"),
             T(4, D(2024, 5, 1), "invalid"), T(5, D(2024, 6, 1), "positive")]
    assert sv(tests) == []


def test_third_evaded_or_refused_test_triggers_on_its_date():
    tests = [T(1, D(2024, 2, 1), "evaded"), T(2, D(2024, 3, 1), "evaded"), T(3, D(2024, 4, 1), "refused"),
             T(4, D(2024, 5, 1), "refused")]
    [t] = sv(tests)
    assert (t.kind, t.rule_id, t.on, t.evidence) == ("serious_violation", "C20-1", D(2024, 4, 1), (1, 2, 3))
    assert t.police_report_due == D(2024, 4, 2)                        # default SLA 24 h → 1 day
    assert sv(tests, sla_days=3)[0].police_report_due == D(2024, 4, 4)


def test_refusals_outside_the_term_or_after_today_do_not_count():
    tests = [T(0, D(2024, 1, 9), "refused"),                          # before the report date
             T(1, D(2024, 2, 1), "refused"), T(2, D(2024, 3, 1), "refused"),
             T(3, D(2025, 2, 1), "refused")]                           # after today
    assert sv(tests) == []
    assert sv(tests, today=D(2025, 2, 1))[0].on == D(2025, 2, 1)
    assert sv(tests, today=D(2025, 3, 1), term_end=D(2025, 1, 10)) == []   # third one after the term


# --- C20-2: unauthorised departures ---------------------------------------------------------------------------

def trip(i, left, days, **kw):
    return A(i, left, left + timedelta(days=days), **kw)


def test_two_unauthorised_departures_are_not_enough_three_are():
    two = [trip(1, D(2024, 2, 1), 3), trip(2, D(2024, 3, 1), 4)]
    assert sv(absences=two) == []
    three = two + [trip(3, D(2024, 4, 1), 5)]
    [t] = sv(absences=three)
    # the third trip becomes "擅自" when it reaches 3 days away: 04-01 + 3 = 04-04
    assert (t.rule_id, t.on, t.evidence) == ("C20-2", D(2024, 4, 4), (1, 2, 3))


def test_short_trips_notified_and_authorised_absences_are_excluded():
    short = [trip(i, D(2024, 2, 1) + timedelta(days=10 * i), 2) for i in range(20)]     # 20 × 2 days = 40 days
    assert sv(absences=short) == []
    notified = [trip(i, D(2024, 2, 1) + timedelta(days=20 * i), 12, written_notice=True) for i in range(5)]
    assert sv(absences=notified) == []
    authorised = [trip(i, D(2024, 2, 1) + timedelta(days=20 * i), 12, authorised=True) for i in range(5)]
    assert sv(absences=authorised) == []


def test_three_day_boundary_of_article_19():
    assert not v.is_unauthorised(trip(1, D(2024, 2, 1), 2), TODAY)
    assert v.is_unauthorised(trip(1, D(2024, 2, 1), 3), TODAY)
    # counting both the leaving and the return day makes a 2-night trip 3 days
    assert v.is_unauthorised(trip(1, D(2024, 2, 1), 2), TODAY, inclusive_days=True)


# --- C20-3: unauthorised days adding up to MORE than 30 ---------------------------------------------------------

def test_thirty_days_away_is_not_a_violation_thirty_one_is():
    assert sv(absences=[trip(1, D(2024, 3, 1), 30)]) == []
    [t] = sv(absences=[trip(1, D(2024, 3, 1), 31)])
    assert (t.rule_id, t.on, t.evidence) == ("C20-3", D(2024, 4, 1), (1,))   # 03-01 + 31 days


def test_cumulative_days_across_absences():
    a1 = trip(1, D(2024, 3, 1), 15)
    assert sv(absences=[a1, trip(2, D(2024, 5, 1), 15)]) == []               # 15 + 15 = 30
    [t] = sv(absences=[a1, trip(2, D(2024, 5, 1), 16)])                       # 15 + 16 = 31
    assert (t.rule_id, t.on, t.evidence) == ("C20-3", D(2024, 5, 17), (1, 2))


def test_open_absence_counts_up_to_today():
    away = [A(1, D(2024, 3, 1), None)]
    assert sv(absences=away, today=D(2024, 3, 31)) == []                      # 30 days so far
    [t] = sv(absences=away, today=D(2024, 4, 1))                              # 31 days
    assert (t.rule_id, t.on) == ("C20-3", D(2024, 4, 1))


def test_three_long_departures_fire_both_absence_limbs_once_each():
    absences = [trip(1, D(2024, 2, 1), 10), trip(2, D(2024, 3, 1), 10), trip(3, D(2024, 4, 1), 11)]
    got = {t.rule_id: t.on for t in sv(absences=absences)}
    # C20-2: third departure reaches 3 days on 04-04; C20-3: 10 + 10 + 11 = 31 reached on 04-12
    assert got == {"C20-2": D(2024, 4, 4), "C20-3": D(2024, 4, 12)}


def test_duplicate_and_overlapping_records_are_not_double_counted():
    absences = [trip(1, D(2024, 3, 1), 20), trip(2, D(2024, 3, 1), 20), trip(3, D(2024, 3, 11), 20)]
    # union = 03-01 … 03-30 = 30 days; two distinct departure dates only
    assert sv(absences=absences) == []


def test_absence_before_the_term_is_clipped():
    absences = [A(1, D(2023, 12, 20), D(2024, 2, 1))]                     # 43 days away, 22 inside the term
    assert sv(absences=absences) == []


def test_impossible_absence():
    with pytest.raises(ValueError, match="before leaving"):
        sv(absences=[A(1, D(2024, 3, 10), D(2024, 3, 1))])


# --- C21: positive tests; hair window ---------------------------------------------------------------------------

def test_positive_urine_during_the_order():
    [t] = v.positive_triggers([T(7, D(2024, 5, 1), "positive")], term_start=START, today=TODAY)
    assert (t.kind, t.rule_id, t.on, t.evidence, t.police_report_due) == (
        "positive_test", "C21-P", D(2024, 5, 1), (7,), D(2024, 5, 2))


def test_hair_positive_whose_window_starts_before_the_order_needs_police_review():
    tests = [T(1, D(2024, 3, 10), "positive", sample="hair"),           # window from 2023-09-10: before the order
             T(2, D(2024, 7, 10), "positive", sample="hair"),           # window from 2024-01-10 = start: counts
             T(3, D(2024, 8, 1), "negative", sample="hair")]
    got = v.positive_triggers(tests, term_start=START, today=TODAY)
    assert [(t.kind, t.rule_id, t.evidence) for t in got] == [
        ("needs_police_review", "C21-H", (1,)), ("positive_test", "C21-P", (2,))]


def test_recorded_window_start_overrides_the_default_and_short_urine_window():
    tests = [T(1, D(2024, 9, 1), "positive", sample="hair", window_start=D(2024, 1, 1))]
    assert v.positive_triggers(tests, term_start=START, today=TODAY)[0].kind == "needs_police_review"
    # urine reflects about a week: a positive 3 days after reporting may show use before the order
    tests = [T(2, D(2024, 1, 13), "positive", sample="urine")]
    assert v.positive_triggers(tests, term_start=START, today=TODAY)[0].kind == "needs_police_review"


def test_positive_before_the_order_is_ignored():
    assert v.positive_triggers([T(1, D(2024, 1, 1), "positive")], term_start=START, today=TODAY) == []


# --- C14-R: 15-day report -------------------------------------------------------------------------------------

def test_missed_report_on_day_16():
    served = D(2024, 3, 1)
    assert v.missed_report_trigger(served, None, today=D(2024, 3, 16)) is None
    t = v.missed_report_trigger(served, None, today=D(2024, 3, 17), evidence=("order-9",))
    assert (t.kind, t.rule_id, t.on, t.evidence, t.police_report_due) == (
        "missed_report", "C14-R", D(2024, 3, 17), ("order-9",), D(2024, 3, 18))
    assert v.missed_report_trigger(served, D(2024, 3, 16), today=D(2024, 4, 1)) is None
    assert v.missed_report_trigger(served, D(2024, 3, 17), today=D(2024, 4, 1)).on == D(2024, 3, 17)
    assert v.missed_report_trigger(served, None, today=D(2024, 4, 1), good_reason=True) is None


# --- L01: lost contact -------------------------------------------------------------------------------------------

def contacts(done=(None, None, None, None)):
    dues = [D(2024, 2, 1), D(2024, 3, 1), D(2024, 4, 1), D(2024, 5, 1)]
    return [C(i, d, done_on) for i, (d, done_on) in enumerate(zip(dues, done))]


def test_three_consecutive_missed_contacts_is_lost_contact():
    [t] = v.lost_contact_triggers(contacts(), today=D(2024, 6, 1))
    # the third (due 04-01) is overdue from 04-01 + 7 grace + 1 = 04-09
    assert (t.kind, t.rule_id, t.on, t.evidence) == ("lost_contact", "L01", D(2024, 4, 9), (0, 1, 2))
    assert v.lost_contact_triggers(contacts(), today=D(2024, 4, 8)) == []
    assert v.lost_contact_triggers(contacts(), today=D(2024, 6, 1), n=4)[0].on == D(2024, 5, 9)


def test_a_contact_made_breaks_the_run_even_late():
    assert v.lost_contact_triggers(contacts((None, D(2024, 3, 2), None, None)), today=D(2024, 6, 1)) == []
    # contact 1 made late (03-20) but before the run could fire: still reachable
    assert v.lost_contact_triggers(contacts((None, D(2024, 3, 20), None, None)), today=D(2024, 6, 1)) == []


# --- evaluate() ----------------------------------------------------------------------------------------------------

def test_evaluate_combines_and_sorts():
    tests = [T(1, D(2024, 2, 1), "refused"), T(2, D(2024, 2, 2), "refused"), T(3, D(2024, 2, 3), "evaded"),
             T(4, D(2024, 1, 20), "positive", sample="urine")]
    got = v.evaluate(kind="community_rehab", start_on=START, served_on=D(2024, 1, 1), reported_on=START,
                     tests=tests, absences=[trip(9, D(2024, 3, 1), 31)], today=TODAY)
    assert [(t.rule_id, t.on) for t in got] == [("C21-P", D(2024, 1, 20)), ("C20-1", D(2024, 2, 3)),
                                                ("C20-3", D(2024, 4, 1))]


def test_evaluate_before_reporting_only_checks_the_deadline():
    got = v.evaluate(kind="community_treatment", start_on=None, served_on=D(2024, 3, 1), reported_on=None,
                     tests=[T(1, D(2024, 3, 5), "refused")], today=D(2024, 3, 20), order_id=42)
    assert [(t.rule_id, t.evidence) for t in got] == [("C14-R", (42,))]


def test_evaluate_other_measures_only_lost_contact():
    got = v.evaluate(kind="aftercare", start_on=START, tests=[T(1, D(2024, 5, 1), "positive")],
                     contacts=contacts(), today=D(2024, 6, 1))
    assert [t.rule_id for t in got] == ["L01"]
