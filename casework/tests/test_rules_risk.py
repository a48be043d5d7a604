"""Risk instrument, hard and manual overrides, review dates, labels (casework.rules.risk).
Pure Python: run with ``pytest -p no:django``."""

from datetime import date

import pytest

from casework.rules import risk as r
from casework.rules.violations import Trigger

D = date
ON = D(2024, 1, 31)
BOUNDARY = {"code": "TEST", "version": "1", "thresholds": {"high": 60, "medium": 30},
            "factors": [{"code": "x", "type": "bands", "bands": [[0, 0], [29, 29], [30, 30], [59, 59], [60, 60]]}]}


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


def test_example_instrument_scores_by_hand():
    answers = {"drug_type": "methamphetamine", "severe_addiction": True, "injection": False, "prior_measures": 2,
               "years_abstinent": 0.5, "relapse_after_compulsory": False, "drug_crime_record": True,
               "no_family_support": False, "unemployed": True}
    a = r.assess(answers, assessed_on=ON)
    # 12 (meth) + 15 (severe) + 0 + 10 (2 prior measures) + 20 (<1 year abstinent) + 0 + 10 (crime) + 0 + 10 = 77
    assert a.score == 77 and a.computed_level == a.level == "high"
    assert (a.instrument_code, a.instrument_version) == ("JINDU-EXAMPLE", "2026.1")
    assert a.overrides == () and a.manual is None and a.missing == ()


def test_missing_answers_score_their_missing_points():
    a = r.assess({}, assessed_on=ON)
    assert a.score == 6 + 20 and a.level == "low"                      # drug type unknown 6, abstinence unknown 20
    assert "years_abstinent" in a.missing


@pytest.mark.parametrize("x,level", [(29, "low"), (30, "medium"), (59, "medium"), (60, "high")])
def test_thresholds_at_their_boundaries(x, level):
    assert r.assess({"x": x}, assessed_on=ON, instrument=BOUNDARY).level == level


def test_bad_answers_and_instruments():
    with pytest.raises(ValueError, match="unknown risk factors"):
        r.assess({"shoe_size": 42}, assessed_on=ON)
    with pytest.raises(ValueError, match="not one of"):
        r.assess({"drug_type": "tea"}, assessed_on=ON)
    with pytest.raises(ValueError, match="below the lowest band"):
        r.assess({"prior_measures": -1}, assessed_on=ON)
    with pytest.raises(ValueError, match="unique"):
        r.validate_instrument({**BOUNDARY, "factors": BOUNDARY["factors"] * 2})
    with pytest.raises(ValueError, match="above the medium"):
        r.validate_instrument({**BOUNDARY, "thresholds": {"high": 30, "medium": 30}})


@pytest.mark.parametrize("code", sorted(r.HARD_OVERRIDES))
def test_each_hard_override_forces_high(code):
    a = r.assess({"x": 0}, assessed_on=ON, instrument=BOUNDARY, flags=[code])
    assert a.computed_level == "low" and a.level == "high" and a.overrides == (code,)


def test_triggers_force_high_with_their_code():
    sv = Trigger("serious_violation", "C20-1", D(2024, 1, 20), (1, 2, 3), D(2024, 1, 21))
    refusal = Trigger("missed_report", "C14-R", D(2024, 1, 5), (), D(2024, 1, 6))
    positive = Trigger("positive_test", "C21-P", D(2024, 1, 6), (4,), D(2024, 1, 7))
    later = Trigger("serious_violation", "C20-2", D(2024, 2, 20), (5,), D(2024, 2, 21))
    a = r.assess({"x": 0}, assessed_on=ON, instrument=BOUNDARY, triggers=[sv, refusal, positive, later])
    assert a.level == "high" and a.overrides == ("HO-C20", "HO-REFUSED")
    assert r.assess({"x": 0}, assessed_on=ON, instrument=BOUNDARY, triggers=[positive, later]).level == "low"
    with pytest.raises(ValueError, match="unknown hard override"):
        r.assess({"x": 0}, assessed_on=ON, instrument=BOUNDARY, flags=["HO-BAD-MOOD"])


def test_manual_override_needs_reason_and_approver():
    with pytest.raises(ValueError, match="reason"):
        r.ManualOverride("high", "  ", "chief")
    with pytest.raises(ValueError, match="approver"):
        r.ManualOverride("high", "family conflict", "")
    a = r.assess({"x": 0}, assessed_on=ON, instrument=BOUNDARY,
                 manual=r.ManualOverride("high", "family conflict", "chief"))
    assert a.computed_level == "low" and a.level == "high" and a.manual.approved_by == "chief"
    a = r.assess({"x": 60}, assessed_on=ON, instrument=BOUNDARY,
                 manual=r.ManualOverride("medium", "stable job since 2023", "chief"))
    assert a.level == "medium"


def test_manual_override_cannot_lower_a_hard_override_unless_allowed():
    manual = r.ManualOverride("low", "doing well", "chief")
    with pytest.raises(ValueError, match="cannot lower"):
        r.assess({"x": 0}, assessed_on=ON, instrument=BOUNDARY, flags=["HO-MENTAL"], manual=manual)
    a = r.assess({"x": 0}, assessed_on=ON, instrument=BOUNDARY, flags=["HO-MENTAL"], manual=manual,
                 allow_manual_below_hard=True)
    assert a.level == "low" and a.overrides == ("HO-MENTAL",)


def test_next_review_quarterly_and_immediately_after_a_trigger():
    assert r.assess({"x": 0}, assessed_on=ON, instrument=BOUNDARY).next_review_on == D(2024, 4, 30)
    assert r.next_review(ON) == D(2024, 4, 30)
    assert r.next_review(ON, [D(2024, 2, 10)]) == D(2024, 2, 10)            # the day of the trigger
    assert r.next_review(ON, [D(2024, 2, 10)], after_trigger_days=2) == D(2024, 2, 12)
    assert r.next_review(ON, [D(2024, 1, 20)]) == D(2024, 4, 30)            # before the assessment: ignored
    assert r.next_review(ON, [D(2024, 6, 1)]) == D(2024, 4, 30)             # after the quarter: quarter wins
    per_level = {"high": 1, "medium": 3, "low": 6}
    assert r.next_review(ON, months=per_level, level="high") == D(2024, 2, 29)
    a = r.assess({"x": 60}, assessed_on=ON, instrument=BOUNDARY, review_months=per_level)
    assert a.next_review_on == D(2024, 2, 29)


def test_labels_are_configurable():
    assert [r.label(x) for x in r.LEVELS] == ["高", "中", "低"]
    assert [r.label(x, "colour") for x in r.LEVELS] == ["红", "黄", "蓝"]
    assert [r.label(x, "abc") for x in r.LEVELS] == ["A", "B", "C"]
    custom = {"rainbow": {"high": "红码", "medium": "黄码", "low": "绿码"}}
    assert r.label("low", "rainbow", custom) == "绿码"
    with pytest.raises(ValueError, match="no label"):
        r.label("high", "morse")
