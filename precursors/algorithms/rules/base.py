"""Rule registry and the alert record the rules emit (research/precursors.md §4). Plain Python, no Django.

A rule is a function ``(facts) -> Iterable[Hit]`` registered with :func:`rule`. Each hit names the rule, its
severity (H/M/L), the party it is about, a stable ``key`` (so re-running the rules updates one alert instead of
raising a new one each night), a message, the evidence (event ids, permit numbers, filing ids) and ``block`` when
the platform should flag the transaction at capture time (the capture still stores it; research §4 "block=true").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .facts import Facts

HIGH, MEDIUM, LOW = "H", "M", "L"
SEVERITY_ORDER = {LOW: 0, MEDIUM: 1, HIGH: 2}


@dataclass(slots=True)
class Hit:
    rule_id: str
    severity: str
    party_id: str | None
    key: str                                   # stable dedup key within the rule, e.g. the transaction id
    message: str
    evidence: tuple[str, ...] = ()             # event ids first; then permit numbers, filing or inspection ids
    block: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        return f"{self.rule_id}:{self.key}"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    id: str
    title: str                                 # Chinese title shown in the UI
    title_en: str
    severity: str                              # default severity (a hit may raise or lower it)
    capture_time: bool                         # evaluated on each captured transaction (can block)
    params: tuple[str, ...]                    # names of the parameters it reads (see rules.defaults.PARAMS)
    func: Callable[[Facts], Iterable[Hit]]


REGISTRY: dict[str, RuleSpec] = {}


def rule(rule_id: str, title: str, title_en: str, severity: str, *, capture_time: bool = False,
         params: tuple[str, ...] = ()):
    """Register a rule function under its ID."""

    def deco(func):
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} registered twice")
        REGISTRY[rule_id] = RuleSpec(rule_id, title, title_en, severity, capture_time, params, func)
        return func

    return deco


def raise_to(severity: str, other: str) -> str:
    return other if SEVERITY_ORDER[other] > SEVERITY_ORDER[severity] else severity


@dataclass(frozen=True, slots=True)
class ParamSpec:
    name: str
    default: Any
    unit: str
    source: str                                # legal source or "local policy"
    tag: str                                   # research confidence: V (seen), M (memory), U (uncertain)
    description: str


PARAMS: dict[str, ParamSpec] = {}


def define_param(name: str, default: Any, unit: str, source: str, tag: str, description: str) -> None:
    """Declare a rule parameter with its default, source and research confidence tag. The Django layer stores
    effective-dated overrides; ``Facts.params`` carries the values in force (missing names use the default)."""
    if name in PARAMS and PARAMS[name].default != default:
        raise ValueError(f"parameter {name} declared twice with different defaults")
    PARAMS[name] = ParamSpec(name, default, unit, source, tag, description)


def param(facts: Facts, name: str) -> Any:
    """The value in force: the facts' override, else the declared default."""
    if name in facts.params:
        return facts.params[name]
    return PARAMS[name].default
