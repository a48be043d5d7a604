"""Legal clocks: 15-day report, terms, suspension arithmetic, 强戒 bounds, escape, abstinence (casework.rules.clock).
Pure Python: run with ``pytest -p no:django``."""

from datetime import date, timedelta

import pytest

from casework.rules import clock
from casework.rules.dates import Period, add_months, add_years, merge_periods

D = date
CT, CR, CI = "community_treatment", "community_rehab", "compulsory_isolation"


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


# --- dates -------------------------------------------------------------------------------------------------

def test_month_and_year_arithmetic_clamps_to_month_end():
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert add_months(D(2023, 1, 31), 1) == D(2023, 2, 28)
    assert add_months(D(2024, 3, 31), -1) == D(2024, 2, 29)
    assert add_years(D(2024, 2, 29), 1) == D(2025, 2, 28)
    assert add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)


def test_merge_periods_merges_overlapping_and_touching_and_clips():
    spans = merge_periods([(D(2024, 3, 5), D(2024, 3, 21)), (D(2024, 3, 1), D(2024, 3, 11)),
                           (D(2024, 3, 21), D(2024, 3, 25)), (D(2024, 5, 1), D(2024, 5, 2))],
                          clip_start=D(2024, 3, 2))
    assert spans == [(D(2024, 3, 2), D(2024, 3, 25)), (D(2024, 5, 1), D(2024, 5, 2))]


def test_period_inclusive_and_bad_period():
    assert Period.inclusive(D(2024, 3, 1), D(2024, 3, 10)) == Period(D(2024, 3, 1), D(2024, 3, 11))
    with pytest.raises(ValueError, match="before it starts"):
        Period(D(2024, 3, 10), D(2024, 3, 1))


# --- 15-day report clock (条例 Art.14) -----------------------------------------------------------------------

def test_report_due_is_served_plus_15_days():
    assert clock.report_due(D(2024, 3, 1)) == D(2024, 3, 16)


def test_day_15_is_on_time_day_16_is_refusal():
    served = D(2024, 3, 1)
    assert clock.is_refusal(served, D(2024, 3, 16), today=D(2024, 4, 1)) is False      # day 15
    assert clock.is_refusal(served, D(2024, 3, 17), today=D(2024, 4, 1)) is True       # day 16
    assert clock.is_refusal(served, None, today=D(2024, 3, 16)) is False               # still in time
    assert clock.is_refusal(served, None, today=D(2024, 3, 17)) is True                # day 16, no report
    assert clock.is_refusal(served, None, today=D(2024, 3, 17), good_reason=True) is False


def test_report_before_service_is_impossible():
    with pytest.raises(ValueError, match="before the order was served"):
        clock.is_refusal(D(2024, 3, 1), D(2024, 2, 28), today=D(2024, 3, 2))


def test_holidays_push_the_deadline_only_when_given():
    served = D(2024, 9, 16)                                   # due 10-01, a holiday
    assert clock.report_due(served) == D(2024, 10, 1)
    golden_week = [D(2024, 10, d) for d in range(1, 8)]
    assert clock.report_due(served, holidays=golden_week) == D(2024, 10, 8)


def test_other_statutory_deadlines():
    assert clock.transfer_report_due(D(2024, 6, 1)) == D(2024, 6, 16)                 # Art.22
    assert clock.release_notice_due(D(2024, 6, 1)) == D(2024, 6, 8)                   # Art.23/40
    assert clock.decision_due(D(2024, 6, 1)) == D(2024, 6, 8)                         # Art.33
    assert clock.pre_release_notice_by(D(2024, 6, 10)) == D(2024, 6, 7)               # Art.34
    assert clock.justice_transfer_window(D(2024, 1, 31)) == (D(2024, 4, 30), D(2024, 7, 31), D(2025, 1, 31))


# --- terms ---------------------------------------------------------------------------------------------------

def test_community_treatment_is_three_years_from_the_report_date():
    end = clock.planned_end(CT, D(2024, 1, 10))
    assert end == D(2027, 1, 10)
    assert clock.last_day(end) == D(2027, 1, 9)
    assert clock.planned_end(CT, D(2024, 1, 10), years=3) == end
    assert clock.planned_end(CT, D(2024, 2, 29)) == D(2027, 2, 28)
    with pytest.raises(ValueError, match="3 years by law"):
        clock.planned_end(CT, D(2024, 1, 10), years=2)


def test_community_rehab_is_capped_at_three_years():
    assert clock.planned_end(CR, D(2024, 1, 10), years=2) == D(2026, 1, 10)
    assert clock.planned_end(CR, D(2024, 1, 10)) == D(2027, 1, 10)
    assert clock.planned_end(CR, D(2024, 1, 10), years=5) == D(2027, 1, 10)
    with pytest.raises(ValueError, match="positive"):
        clock.planned_end(CR, D(2024, 1, 10), years=0)


def test_unknown_kind_and_missing_start():
    with pytest.raises(ValueError, match="unknown measure kind"):
        clock.planned_end("house_arrest", D(2024, 1, 1))
    with pytest.raises(ValueError, match="start date"):
        clock.planned_end(CT, None)


def test_measures_without_a_statutory_term():
    assert clock.planned_end("voluntary", D(2024, 1, 1)) is None
    assert clock.planned_end("aftercare", D(2024, 1, 1), years=1) == D(2025, 1, 1)
    assert clock.planned_end("temporary_control", D(2024, 1, 1), term_days=30) == D(2024, 1, 31)
    with pytest.raises(ValueError, match="not both"):
        clock.planned_end("temporary_control", D(2024, 1, 1), years=1, term_days=30)
    with pytest.raises(ValueError, match="set by law"):
        clock.planned_end(CT, D(2024, 1, 1), term_days=30)


def test_conversion_from_compulsory_credits_the_days_served():
    # 条例 Art.31: 200 days of 强戒 already served shorten the 3-year 社区戒毒 term.
    assert clock.planned_end(CT, D(2024, 1, 10), credit_days=200) == D(2027, 1, 10) - timedelta(days=200)
    with pytest.raises(ValueError):
        clock.planned_end(CR, D(2024, 1, 10), credit_days=10)


# --- suspension arithmetic (条例 Art.24) ----------------------------------------------------------------------

def test_one_suspension_moves_the_end_by_its_days():
    # detained 03-01, released 03-11: 10 paused days (03-01 … 03-10); 2027-01-10 + 10 days
    sus = [(D(2024, 3, 1), D(2024, 3, 11))]
    assert clock.planned_end(CT, D(2024, 1, 10), suspensions=sus) == D(2027, 1, 20)


def test_suspension_printed_inclusive_is_entered_with_period_inclusive():
    sus = [Period.inclusive(D(2024, 3, 1), D(2024, 3, 10))]          # "3月1日至3月10日" = 10 days
    assert clock.planned_end(CT, D(2024, 1, 10), suspensions=sus) == D(2027, 1, 20)


def test_overlapping_suspensions_are_merged_not_double_counted():
    # [03-01, 03-11) ∪ [03-05, 03-21) = [03-01, 03-21) = 20 days, not 10 + 16 = 26
    sus = [(D(2024, 3, 1), D(2024, 3, 11)), (D(2024, 3, 5), D(2024, 3, 21))]
    assert clock.planned_end(CT, D(2024, 1, 10), suspensions=sus) == D(2027, 1, 30)
    touching = [(D(2024, 3, 1), D(2024, 3, 11)), (D(2024, 3, 11), D(2024, 3, 21))]
    assert clock.planned_end(CT, D(2024, 1, 10), suspensions=touching) == D(2027, 1, 30)


def test_suspension_spanning_the_original_end():
    # term [2020-01-01, 2023-01-01); detained 2022-12-01 … released 2023-02-01 = 62 days.
    # 31 days (Dec 2022) were still to serve; they resume on 2023-02-01 → last day 2023-03-03, end 2023-03-04
    # = 2023-01-01 + 62 days.
    sus = [(D(2022, 12, 1), D(2023, 2, 1))]
    end = clock.planned_end(CT, D(2020, 1, 1), suspensions=sus)
    assert end == D(2023, 3, 4) == D(2023, 1, 1) + timedelta(days=62)
    full_term = (D(2023, 1, 1) - D(2020, 1, 1)).days
    assert clock.days_served(D(2020, 1, 1), end, sus) == full_term == 1096


def test_suspension_after_expiry_is_ignored_and_chained_suspensions_extend():
    start = D(2020, 1, 1)
    assert clock.planned_end(CT, start, suspensions=[(D(2023, 1, 1), D(2023, 2, 1))]) == D(2023, 1, 1)
    # the first pause moves the end to 2023-01-11; the second begins on 2023-01-05, before that, so it counts too
    sus = [(D(2021, 5, 1), D(2021, 5, 11)), (D(2023, 1, 5), D(2023, 1, 20))]
    assert clock.planned_end(CT, start, suspensions=sus) == D(2023, 1, 1) + timedelta(days=10 + 15)


def test_suspension_partly_before_the_start_is_clipped():
    sus = [(D(2019, 12, 20), D(2020, 1, 5))]                          # only 2020-01-01 … 01-04 count: 4 days
    assert clock.planned_end(CT, D(2020, 1, 1), suspensions=sus) == D(2023, 1, 5)


def test_open_suspension_leaves_the_end_unknown():
    assert clock.planned_end(CT, D(2024, 1, 10), suspensions=[(D(2024, 3, 1), None)]) is None


def test_impossible_suspension_is_rejected():
    with pytest.raises(ValueError, match="before it starts"):
        clock.planned_end(CT, D(2024, 1, 10), suspensions=[(D(2024, 3, 11), D(2024, 3, 1))])


def test_days_served():
    start = D(2024, 1, 10)
    assert clock.days_served(start, start) == 0
    assert clock.days_served(start, D(2024, 1, 20)) == 10
    sus = [(D(2024, 1, 12), D(2024, 1, 15))]
    assert clock.days_served(start, D(2024, 1, 20), sus) == 7
    assert clock.days_served(start, D(2024, 1, 20), [(D(2024, 1, 12), None)]) == 2     # still detained


def test_transfers_do_not_pause_there_is_no_parameter_for_them():
    # 条例 Art.22: "连续计算" — the term is the same with or without a transfer.
    assert clock.planned_end(CT, D(2024, 1, 10)) == D(2027, 1, 10)


# --- 强制隔离戒毒 -------------------------------------------------------------------------------------------

def test_compulsory_isolation_is_two_years_from_the_decision():
    assert clock.planned_end(CI, D(2024, 5, 1)) == D(2026, 5, 1)
    with pytest.raises(ValueError, match="2 years by law"):
        clock.planned_end(CI, D(2024, 5, 1), years=3)


def test_compulsory_extension_at_most_one_year():
    decided = D(2024, 5, 1)                                            # 2-year end 2026-05-01
    assert clock.planned_end(CI, decided, extension_days=365) == D(2027, 5, 1)
    with pytest.raises(ValueError, match="1-year maximum"):
        clock.planned_end(CI, decided, extension_days=366)
    # a leap year in the extension year allows 366 days
    assert clock.planned_end(CI, D(2025, 3, 1), extension_days=366) == D(2028, 3, 1)
    with pytest.raises(ValueError, match="1-year maximum"):
        clock.planned_end(CI, D(2025, 3, 1), extension_days=367)
    with pytest.raises(ValueError, match="negative"):
        clock.planned_end(CI, decided, extension_days=-1)


def test_compulsory_early_release_only_after_one_year():
    decided = D(2024, 5, 1)
    assert clock.planned_end(CI, decided, early_release_on=D(2025, 5, 1)) == D(2025, 5, 1)
    with pytest.raises(ValueError, match="before one year"):
        clock.planned_end(CI, decided, early_release_on=D(2025, 4, 30))
    with pytest.raises(ValueError, match="not before the end"):
        clock.planned_end(CI, decided, early_release_on=D(2026, 5, 1))
    with pytest.raises(ValueError, match="both extended and released early"):
        clock.planned_end(CI, decided, extension_days=30, early_release_on=D(2025, 6, 1))
    with pytest.raises(ValueError, match="Art.38"):
        clock.planned_end(CI, decided, early_release_on=D(2025, 6, 1), early_release_barred=True)


def test_escape_time_does_not_count_and_bars_early_release():
    decided = D(2024, 5, 1)
    escape = [(D(2025, 1, 1), D(2025, 1, 31))]                         # 30 days at large
    assert clock.planned_end(CI, decided, escape_periods=escape) == D(2026, 5, 31)
    assert clock.planned_end(CI, decided, extension_days=10, escape_periods=escape) == D(2026, 6, 10)
    assert clock.planned_end(CI, decided, escape_periods=[(D(2025, 1, 1), None)]) is None
    with pytest.raises(ValueError, match="Art.32"):
        clock.planned_end(CI, decided, early_release_on=D(2025, 6, 1), escape_periods=escape)
    assert clock.days_served(decided, D(2025, 5, 1), escape_periods=escape) == 365 - 30


def test_compulsory_is_not_suspended_and_community_has_no_compulsory_options():
    with pytest.raises(ValueError, match="continuously"):
        clock.planned_end(CI, D(2024, 5, 1), suspensions=[(D(2025, 1, 1), D(2025, 2, 1))])
    with pytest.raises(ValueError, match="extension only applies"):
        clock.planned_end(CT, D(2024, 5, 1), extension_days=10)
    with pytest.raises(ValueError, match="early release only applies"):
        clock.planned_end(CT, D(2024, 5, 1), early_release_on=D(2025, 6, 1))
    with pytest.raises(ValueError, match="escape periods only apply"):
        clock.planned_end(CR, D(2024, 5, 1), escape_periods=[(D(2025, 1, 1), D(2025, 2, 1))])


# --- 戒断三年未复吸 (条例 Art.7, research §1.9) -------------------------------------------------------------

def test_abstinence_eligible_on_and_after_exactly_three_years():
    a = clock.abstinence(D(2021, 3, 1), releases=[D(2021, 6, 15)], today=D(2024, 6, 14))
    assert a == (D(2021, 6, 15), False, D(2024, 6, 15))
    assert clock.abstinence(D(2021, 3, 1), [D(2021, 6, 15)], today=D(2024, 6, 15)).eligible is True
    assert clock.abstinence(D(2021, 3, 1), [D(2021, 6, 15)], today=D(2024, 6, 16)).eligible is True


def test_a_later_positive_finding_restarts_the_clock():
    a = clock.abstinence(D(2020, 1, 1), positive_findings=[D(2022, 1, 1)], today=D(2024, 6, 1))
    assert a.abstinent_since == D(2022, 1, 1) and not a.eligible and a.eligible_on == D(2025, 1, 1)


def test_abstinence_leap_day_and_bad_input():
    assert clock.abstinence(D(2020, 2, 29), today=D(2023, 2, 28)) == (D(2020, 2, 29), True, D(2023, 2, 28))
    with pytest.raises(ValueError, match="at least one"):
        clock.abstinence(None, today=D(2024, 1, 1))
    with pytest.raises(ValueError, match="after today"):
        clock.abstinence(D(2024, 2, 1), today=D(2024, 1, 1))
