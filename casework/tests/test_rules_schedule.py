"""Schedule policies, plans and overdue detection (casework.rules.schedule). Pure Python: ``pytest -p no:django``."""

import time
from collections import Counter
from datetime import date, timedelta

import pytest

from casework.rules import clock
from casework.rules import schedule as s

D = date
CT = "community_treatment"
START = D(2024, 1, 10)
END = clock.planned_end(CT, START)          # 2027-01-10


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


def counts(events):
    return Counter(e.kind for e in events)


def test_example_a_gives_28_checkins_over_three_years_at_default_risk():
    plan = s.plan(CT, START, END)
    checkins = [e for e in plan if e.kind == "checkin"]
    # year 1 H1 every half-month (6 × 2 = 12), H2 monthly (6), year 2 every 2 months (6), year 3 quarterly (4)
    by_phase = Counter(
        "y1h1" if e.due_on < D(2024, 7, 10) else "y1h2" if e.due_on < D(2025, 1, 10)
        else "y2" if e.due_on < D(2026, 1, 10) else "y3" for e in checkins)
    assert by_phase == {"y1h1": 12, "y1h2": 6, "y2": 6, "y3": 4}
    assert len(checkins) == 12 + 6 + 6 + 4 == 28
    # tests per example B: 12 + 6 + 4 = 22; random tests 3 (≥3 per example A); home visits quarterly 12
    assert counts(plan) == {"checkin": 28, "test": 22, "random_test": 3, "home_visit": 12}


def test_slots_and_due_dates():
    plan = s.plan(CT, START, END)
    first, second = [e for e in plan if e.kind == "checkin"][:2]
    # month 1 = [01-10, 02-10) = 31 days, two slots: [01-10, 01-24] and [01-25, 02-09]
    assert (first.from_on, first.due_on, second.from_on, second.due_on) == (
        D(2024, 1, 10), D(2024, 1, 24), D(2024, 1, 25), D(2024, 2, 9))
    assert all(START <= e.from_on <= e.due_on < END for e in plan)
    assert max(e.due_on for e in plan) == D(2027, 1, 9)                # the last day of the term
    assert plan == sorted(plan, key=lambda e: e.due_on)


def test_risk_levels_scale_the_counts():
    assert counts(s.plan(CT, START, END, "high")) == {"checkin": 56, "test": 44, "random_test": 6,
                                                      "home_visit": 24}
    assert counts(s.plan(CT, START, END, "low")) == counts(s.plan(CT, START, END, "medium"))


def test_risk_can_change_over_time():
    # high for the first 6 months (2 × 12 = 24 check-ins), medium afterwards (6 + 6 + 4)
    plan = s.plan(CT, START, END, risk=lambda d: "high" if d < D(2024, 7, 10) else "medium")
    assert counts(plan)["checkin"] == 24 + 6 + 6 + 4


def test_no_events_inside_a_suspension_and_phases_move_with_the_term():
    sus = [(D(2024, 3, 1), D(2024, 5, 1))]                             # 61 days in custody
    end = clock.planned_end(CT, START, suspensions=sus)
    assert end == END + timedelta(days=61)
    plan = s.plan(CT, START, end, suspensions=sus)
    assert not [e for e in plan if D(2024, 3, 1) <= e.due_on < D(2024, 5, 1)]
    assert counts(plan) == counts(s.plan(CT, START, END))               # the whole programme is still done
    assert max(e.due_on for e in plan) == end - timedelta(days=1)
    # the unmoved end would cut the programme short instead
    assert len(s.plan(CT, START, END, suspensions=sus)) < len(plan)


def test_open_suspension_stops_planning():
    plan = s.plan(CT, START, END, suspensions=[(D(2024, 3, 1), None)])
    assert plan and max(e.due_on for e in plan) < D(2024, 3, 1)


def test_nothing_after_an_early_end_and_nothing_for_kinds_without_rows():
    plan = s.plan(CT, START, D(2024, 4, 10))
    assert max(e.due_on for e in plan) < D(2024, 4, 10)
    assert s.plan("aftercare", START, END) == []
    with pytest.raises(ValueError, match="before it starts"):
        s.plan(CT, END, START)
    with pytest.raises(ValueError, match="not one of"):
        s.plan(CT, START, END, "red")


def test_custom_policies():
    rows = [s.Policy("temporary_control", 0, 1, "high", checkins=4, period_months=1, grace_days=1)]
    plan = s.plan("temporary_control", D(2024, 2, 1), D(2024, 3, 1), "high", rows)
    # February 2024 has 29 days: slots end on day 29·k/4 → 02-07, 02-14, 02-21, 02-29
    assert [e.due_on for e in plan] == [D(2024, 2, 7), D(2024, 2, 14), D(2024, 2, 21), D(2024, 2, 29)]
    assert all(e.grace_days == 1 for e in plan)
    with pytest.raises(ValueError):
        s.Policy(CT, 6, 6, "medium")
    with pytest.raises(ValueError):
        s.Policy(CT, 0, 6, "red")


def test_default_policies_are_the_seed_rows_of_one_kind():
    rows = s.default_policies("community_rehab")
    assert len(rows) == 6 * 3 and {r.measure_kind for r in rows} == {"community_rehab"}
    assert s.plan(CT, START, END, policies=list(s.SEED_POLICIES)) == s.plan(CT, START, END)


# --- overdue -----------------------------------------------------------------------------------------------

def test_overdue_after_the_grace_days():
    ev = s.PlannedEvent("checkin", D(2024, 3, 10), D(2024, 3, 1), grace_days=7)
    assert s.overdue([ev], [], today=D(2024, 3, 17)) == []             # last grace day
    assert s.overdue([ev], [], today=D(2024, 3, 18)) == [ev]
    assert s.overdue([ev], [], today=D(2024, 3, 12), grace_days=1) == [ev]   # override


def test_done_inside_the_window_fulfils_once():
    e1 = s.PlannedEvent("checkin", D(2024, 3, 10), D(2024, 3, 1))
    e2 = s.PlannedEvent("checkin", D(2024, 3, 20), D(2024, 3, 11))
    t1 = s.PlannedEvent("test", D(2024, 3, 20), D(2024, 3, 1))
    today = D(2024, 4, 30)
    # one check-in on 03-15 is inside e1's grace (≤ 03-17) and e2's slot: it fulfils only one of them — the one
    # with the earlier deadline (e1) — so e2 stays overdue
    assert s.overdue([e1, e2, t1], [("checkin", D(2024, 3, 15)), ("test", D(2024, 3, 2))], today) == [e2]
    done = [s.DoneEvent("checkin", D(2024, 3, 15)), s.DoneEvent("checkin", D(2024, 3, 16))]
    assert s.overdue([e1, e2], done, today) == []
    assert s.fulfilment([e1, e2], done) == [D(2024, 3, 15), D(2024, 3, 16)]
    # done before the slot opened does not count; done after the grace does not count
    assert s.overdue([e1], [("checkin", D(2024, 2, 28)), ("checkin", D(2024, 3, 18))], today) == [e1]
    # a random test is not a scheduled test
    assert s.overdue([t1], [("random_test", D(2024, 3, 5))], today) == [t1]


# --- bulk and speed -----------------------------------------------------------------------------------------

def test_plan_many_matches_plan():
    starts = [START + timedelta(days=37 * i) for i in range(30)]
    ends = [clock.planned_end(CT, d) for d in starts]
    risks = ["high", "medium", "low"] * 10
    arrays = s.plan_many(CT, starts, ends, risks)
    for i, (st, en, rk) in enumerate(zip(starts, ends, risks)):
        mask = arrays["person"] == i
        got = sorted(zip(arrays["due"][mask].tolist(), arrays["kind"][mask].tolist(), arrays["from"][mask].tolist()))
        want = sorted((e.due_on.toordinal(), s.EVENT_KINDS.index(e.kind), e.from_on.toordinal())
                      for e in s.plan(CT, st, en, rk))
        assert got == want


def test_plans_for_50000_persons_in_a_few_seconds():
    starts = [D(2022, 1, 1) + timedelta(days=i % 1100) for i in range(50_000)]
    ends = [clock.planned_end(CT, d) for d in starts]
    t0 = time.perf_counter()
    total = sum(len(s.plan(CT, st, en, ("high", "medium", "low")[i % 3])) for i, (st, en) in
                enumerate(zip(starts, ends)))
    elapsed = time.perf_counter() - t0
    assert total > 3_000_000
    assert elapsed < 15, f"plan() for 50,000 persons took {elapsed:.1f} s"
    t0 = time.perf_counter()
    arrays = s.plan_many(CT, starts, ends, "medium")
    assert len(arrays["due"]) == 50_000 * 65
    assert time.perf_counter() - t0 < 10
