"""State machines of the measures (pure Python).

The community-order machine follows research §1.3 [G, built on S rules]:

    ordered ─(report ≤ day 15)→ reported → agreement_signed → active ⇄ suspended
    active → transfer_pending → reported (at the new place) → agreement_signed → active
    exits: refused (no report by day 15) · converted (to 强戒) · terminated (收监/强制性教育) · completed (期满)

Sources per edge are in the comments of ``TRANSITIONS``. State codes are lower-case English strings (they
are stored in the database); Chinese labels are in ``STATE_LABELS``.
"""

from __future__ import annotations

from .clock import (AFTERCARE, COMMUNITY_REHAB, COMMUNITY_TREATMENT, COMPULSORY_ISOLATION, KINDS, MAINTENANCE,
                    MEDICAL_CUSTODY, TEMPORARY_CONTROL, VOLUNTARY)

ORDERED = "ordered"
REPORTED = "reported"
AGREEMENT_SIGNED = "agreement_signed"
ACTIVE = "active"
SUSPENDED = "suspended"
TRANSFER_PENDING = "transfer_pending"
COMPLETED = "completed"
REFUSED = "refused"
CONVERTED = "converted"
TERMINATED = "terminated"
# 强制隔离戒毒 / 病残收治
ADMITTED = "admitted"                    # in the police facility (or the designated admitting facility)
JUSTICE_FACILITY = "justice_facility"    # moved to the 司法 facility [S: 条例 Art.27]
MEDICAL_LEAVE = "medical_leave"          # 所外就医, term continues [S: 条例 Art.31]
ESCAPED = "escaped"                      # 脱逃, term paused [S: 条例 Art.32]
HELD_ELSEWHERE = "held_elsewhere"        # in prison/detention, term continues [S: 条例 Art.36]
RELEASED = "released"                    # 解除 (期满 or 提前解除) [S: 条例 Art.34]

STATE_LABELS = {
    ORDERED: "已责令/已决定",
    REPORTED: "已报到",
    AGREEMENT_SIGNED: "已签协议",
    ACTIVE: "执行中",
    SUSPENDED: "中止(羁押)",
    TRANSFER_PENDING: "变更执行地待接收",
    COMPLETED: "期满解除",
    REFUSED: "视为拒绝",
    CONVERTED: "已转强戒/已变更",
    TERMINATED: "终止",
    ADMITTED: "已收治/已入所",
    JUSTICE_FACILITY: "已转司法行政场所",
    MEDICAL_LEAVE: "所外就医",
    ESCAPED: "脱逃",
    HELD_ELSEWHERE: "在其他监管场所",
    RELEASED: "已解除",
}

_COMMUNITY = {
    ORDERED: {REPORTED,            # reported within 15 days [S: Art.14/38]
              REFUSED,             # no report by day 15 → 视为拒绝 [S: Art.14]
              TERMINATED},         # imprisoned before reporting [S: Art.24 by analogy, G]
    REPORTED: {AGREEMENT_SIGNED,   # agreement signed "及时" after the report [S: Art.16]
               SUSPENDED, CONVERTED, TERMINATED},
    AGREEMENT_SIGNED: {ACTIVE, SUSPENDED, CONVERTED, TERMINATED},
    ACTIVE: {SUSPENDED,            # detained/arrested → 中止 [S: Art.24]
             TRANSFER_PENDING,     # execution place changes [S: Art.22]
             COMPLETED,            # 期满解除 [S: Art.23/40]
             CONVERTED,            # 强戒 decided: drug use / serious violation [S: Art.25; 禁毒法 Art.38]
             TERMINATED},          # 收监执行刑罚 / 强制性教育措施 [S: Art.24]
    SUSPENDED: {ACTIVE,            # released → resumes [S: Art.24]
                CONVERTED, TERMINATED},
    TRANSFER_PENDING: {REPORTED,   # reported at the new place within 15 days, new agreement follows [S: Art.22]
                       ACTIVE,     # transfer rejected/cancelled: stays at the old place [G]
                       SUSPENDED, CONVERTED, TERMINATED},
    REFUSED: {CONVERTED,           # 强戒 for refusal [S2: 禁毒法 Art.38(1)]
              REPORTED},           # refusal withdrawn: a good reason (正当理由) accepted [S: Art.14; G]
}

_COMPULSORY = {
    ORDERED: {ADMITTED, TERMINATED},                                  # TERMINATED = decision revoked [G]
    ADMITTED: {JUSTICE_FACILITY, MEDICAL_LEAVE, ESCAPED, HELD_ELSEWHERE, RELEASED, TERMINATED},
    JUSTICE_FACILITY: {MEDICAL_LEAVE, ESCAPED, HELD_ELSEWHERE, RELEASED, TERMINATED},
    MEDICAL_LEAVE: {ADMITTED, JUSTICE_FACILITY,                       # returns [S: Art.31]
                    CONVERTED,                                        # changed to 社区戒毒 [S: Art.31]
                    RELEASED, ESCAPED},
    ESCAPED: {ADMITTED, JUSTICE_FACILITY, HELD_ELSEWHERE},            # recaptured [S: Art.32]
    HELD_ELSEWHERE: {ADMITTED, JUSTICE_FACILITY, RELEASED},           # [S: Art.36]
}

_VOLUNTARY = {                                                        # [S: 条例 Art.9–10; states G]
    REPORTED: {AGREEMENT_SIGNED, TERMINATED},
    AGREEMENT_SIGNED: {ACTIVE, TERMINATED},
    ACTIVE: {COMPLETED, TERMINATED},
}

_MAINTENANCE = {                                                      # [S: 条例 Art.12; states G]
    REPORTED: {AGREEMENT_SIGNED, TERMINATED},                         # applied; registered + filed with police
    AGREEMENT_SIGNED: {ACTIVE, TERMINATED},
    ACTIVE: {SUSPENDED, COMPLETED, TERMINATED},
    SUSPENDED: {ACTIVE, TERMINATED},
}

_TEMPORARY_CONTROL = {                                                # no legal definition found [G]
    ORDERED: {ACTIVE, TERMINATED},                                    # approved → in force
    ACTIVE: {COMPLETED,                                               # expired
             TERMINATED,                                              # lifted early
             CONVERTED},                                              # escalated to a measure
}

_AFTERCARE = {                                                        # [S2: Jiangsu 司法 aftercare; states G]
    ORDERED: {ACTIVE, REFUSED, TERMINATED},                           # handover from the facility
    ACTIVE: {SUSPENDED, TRANSFER_PENDING, COMPLETED, TERMINATED},
    SUSPENDED: {ACTIVE, TERMINATED},
    TRANSFER_PENDING: {ACTIVE, TERMINATED},
}

_MEDICAL_CUSTODY = {                                                  # [S2: research §1.11; states G]
    ORDERED: {ADMITTED, TERMINATED},
    ADMITTED: {RELEASED, CONVERTED, ESCAPED, TERMINATED},             # CONVERTED = fit for 强戒 admission
    ESCAPED: {ADMITTED, TERMINATED},
}

TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    COMMUNITY_TREATMENT: _COMMUNITY,
    COMMUNITY_REHAB: _COMMUNITY,          # 禁毒法 Art.48 applies the 社区戒毒 rules [S2]
    COMPULSORY_ISOLATION: _COMPULSORY,
    VOLUNTARY: _VOLUNTARY,
    MAINTENANCE: _MAINTENANCE,
    TEMPORARY_CONTROL: _TEMPORARY_CONTROL,
    AFTERCARE: _AFTERCARE,
    MEDICAL_CUSTODY: _MEDICAL_CUSTODY,
}
TRANSITIONS = {k: {s: frozenset(t) for s, t in table.items()} for k, table in TRANSITIONS.items()}

INITIAL_STATE = {
    COMMUNITY_TREATMENT: ORDERED, COMMUNITY_REHAB: ORDERED, COMPULSORY_ISOLATION: ORDERED,
    VOLUNTARY: REPORTED, MAINTENANCE: REPORTED, TEMPORARY_CONTROL: ORDERED, AFTERCARE: ORDERED,
    MEDICAL_CUSTODY: ORDERED,
}

# States in which the term's clock runs (for community kinds: SUSPENDED pauses it [S: Art.24]; for 强戒 only
# an escape does [S: Art.32]; TRANSFER_PENDING keeps running [S: Art.22]).
CLOCK_RUNNING = {
    COMMUNITY_TREATMENT: frozenset({REPORTED, AGREEMENT_SIGNED, ACTIVE, TRANSFER_PENDING}),
    COMMUNITY_REHAB: frozenset({REPORTED, AGREEMENT_SIGNED, ACTIVE, TRANSFER_PENDING}),
    COMPULSORY_ISOLATION: frozenset({ADMITTED, JUSTICE_FACILITY, MEDICAL_LEAVE, HELD_ELSEWHERE}),
}


class InvalidTransition(ValueError):
    """A state change the machine of that measure kind does not allow."""

    def __init__(self, kind: str, from_state: str, to_state: str, reason: str = ""):
        self.kind, self.from_state, self.to_state = kind, from_state, to_state
        allowed = sorted(allowed_next(kind, from_state)) if kind in TRANSITIONS else []
        msg = (f"{KINDS.get(kind, kind)}: cannot go from {from_state!r} ({STATE_LABELS.get(from_state, '?')}) "
               f"to {to_state!r} ({STATE_LABELS.get(to_state, '?')})")
        if reason:
            msg += f": {reason}"
        msg += f"; allowed from {from_state!r}: {', '.join(allowed) or 'none (final state)'}"
        super().__init__(msg)


def states(kind: str) -> frozenset[str]:
    """Every state used by the machine of ``kind``."""
    table = TRANSITIONS[kind]
    return frozenset(table) | frozenset(s for targets in table.values() for s in targets)


def final_states(kind: str) -> frozenset[str]:
    """States with no way out (completed, converted, terminated, released). ``refused`` is not final: it may
    still convert to 强戒 or be withdrawn."""
    table = TRANSITIONS[kind]
    return frozenset(s for s in states(kind) if not table.get(s))


def allowed_next(kind: str, from_state: str) -> frozenset[str]:
    """States reachable in one step from ``from_state``."""
    if kind not in TRANSITIONS:
        raise ValueError(f"unknown measure kind {kind!r}")
    return TRANSITIONS[kind].get(from_state, frozenset())


def can_transition(kind: str, from_state: str, to_state: str) -> bool:
    """True when the machine of ``kind`` allows ``from_state → to_state`` (never a self-loop)."""
    return kind in TRANSITIONS and to_state in TRANSITIONS[kind].get(from_state, ())


def transition(kind: str, from_state: str, to_state: str) -> str:
    """Return ``to_state`` if allowed, else raise :class:`InvalidTransition` naming both states."""
    if kind not in TRANSITIONS:
        raise ValueError(f"unknown measure kind {kind!r}")
    if not can_transition(kind, from_state, to_state):
        reason = ""
        if from_state not in states(kind):
            reason = f"{from_state!r} is not a state of this measure"
        elif to_state not in states(kind):
            reason = f"{to_state!r} is not a state of this measure"
        raise InvalidTransition(kind, from_state, to_state, reason)
    return to_state


def clock_runs(kind: str, state: str) -> bool:
    """Whether the term runs in ``state`` (community: not while SUSPENDED; 强戒: not while ESCAPED)."""
    running = CLOCK_RUNNING.get(kind)
    if running is None:
        return state in (ACTIVE, ADMITTED)
    return state in running
