"""Measure state machines (casework.rules.states). Pure Python: run with ``pytest -p no:django``."""

import pytest

from casework.rules import states as s
from casework.rules.clock import KINDS


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs pytest-django; these tests need nothing."""
    yield


def test_community_happy_path_with_suspension_and_transfer():
    path = [s.ORDERED, s.REPORTED, s.AGREEMENT_SIGNED, s.ACTIVE, s.SUSPENDED, s.ACTIVE, s.TRANSFER_PENDING,
            s.REPORTED, s.AGREEMENT_SIGNED, s.ACTIVE, s.COMPLETED]
    for kind in ("community_treatment", "community_rehab"):
        state = path[0]
        for nxt in path[1:]:
            state = s.transition(kind, state, nxt)
        assert state == s.COMPLETED


@pytest.mark.parametrize("frm,to", [
    (s.ORDERED, s.REFUSED), (s.REFUSED, s.CONVERTED), (s.ACTIVE, s.CONVERTED), (s.SUSPENDED, s.TERMINATED),
    (s.ACTIVE, s.TERMINATED), (s.TRANSFER_PENDING, s.ACTIVE), (s.REFUSED, s.REPORTED),
])
def test_community_exits_allowed(frm, to):
    assert s.can_transition("community_treatment", frm, to)


@pytest.mark.parametrize("frm,to", [
    (s.ORDERED, s.ACTIVE),            # must report and sign first
    (s.ORDERED, s.COMPLETED),
    (s.COMPLETED, s.ACTIVE),          # final
    (s.ACTIVE, s.ACTIVE),             # no self-loop
    (s.REFUSED, s.ACTIVE),
    (s.SUSPENDED, s.COMPLETED),       # the clock is paused while suspended: it cannot expire
    (s.ACTIVE, s.ESCAPED),            # not a community state
])
def test_community_invalid_transitions_name_both_states(frm, to):
    assert not s.can_transition("community_treatment", frm, to)
    with pytest.raises(s.InvalidTransition) as e:
        s.transition("community_treatment", frm, to)
    assert repr(frm) in str(e.value) and repr(to) in str(e.value)
    assert e.value.from_state == frm and e.value.to_state == to
    assert isinstance(e.value, ValueError)


def test_compulsory_machine():
    k = "compulsory_isolation"
    state = s.ORDERED
    for nxt in (s.ADMITTED, s.JUSTICE_FACILITY, s.MEDICAL_LEAVE, s.JUSTICE_FACILITY, s.ESCAPED, s.ADMITTED,
                s.HELD_ELSEWHERE, s.JUSTICE_FACILITY, s.RELEASED):
        state = s.transition(k, state, nxt)
    assert s.can_transition(k, s.MEDICAL_LEAVE, s.CONVERTED)           # Art.31 → 社区戒毒
    assert not s.can_transition(k, s.ESCAPED, s.RELEASED)              # recapture first (Art.32)
    assert not s.can_transition(k, s.ADMITTED, s.SUSPENDED)            # 强戒 is never suspended (Art.36)
    with pytest.raises(s.InvalidTransition, match="not a state of this measure"):
        s.transition(k, s.ADMITTED, s.SUSPENDED)


def test_every_kind_has_a_machine_labels_and_an_initial_state():
    for kind in KINDS:
        assert kind in s.TRANSITIONS and s.INITIAL_STATE[kind] in s.states(kind)
        for state in s.states(kind):
            assert state in s.STATE_LABELS
        for state in s.states(kind) - s.final_states(kind):
            assert s.allowed_next(kind, state)


def test_final_states_and_clock():
    assert s.final_states("community_treatment") == {s.COMPLETED, s.CONVERTED, s.TERMINATED}
    assert s.clock_runs("community_treatment", s.TRANSFER_PENDING)    # Art.22: continuous
    assert not s.clock_runs("community_treatment", s.SUSPENDED)       # Art.24: paused
    assert s.clock_runs("compulsory_isolation", s.HELD_ELSEWHERE)     # Art.36: continuous
    assert not s.clock_runs("compulsory_isolation", s.ESCAPED)        # Art.32: not counted


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown measure kind"):
        s.transition("house_arrest", s.ORDERED, s.ACTIVE)
    assert not s.can_transition("house_arrest", s.ORDERED, s.ACTIVE)
