"""Diversion-detection rules R01–R31 (research/precursors.md §4) over :class:`facts.Facts`. Plain Python.

``run(facts, rule_ids=None)`` evaluates the registered rules and returns their hits sorted by rule and key;
``capture_rules()`` lists the rules that answer at capture time (they may set ``block``).
"""

from __future__ import annotations

from collections.abc import Iterable

from . import operations, patterns, permits  # noqa: F401  (registration)
from .base import HIGH, LOW, MEDIUM, PARAMS, REGISTRY, Hit, RuleSpec, param
from .facts import Facts

__all__ = ["HIGH", "LOW", "MEDIUM", "PARAMS", "REGISTRY", "Hit", "RuleSpec", "param", "run", "capture_rules",
           "rule_ids"]


def rule_ids() -> list[str]:
    return sorted(REGISTRY)


def capture_rules() -> list[str]:
    return sorted(rid for rid, spec in REGISTRY.items() if spec.capture_time)


def run(facts: Facts, rule_ids: Iterable[str] | None = None) -> list[Hit]:
    wanted = sorted(REGISTRY) if rule_ids is None else list(rule_ids)
    unknown = [r for r in wanted if r not in REGISTRY]
    if unknown:
        raise KeyError(f"unknown rule id(s): {', '.join(unknown)}")
    hits: list[Hit] = []
    for rid in wanted:
        hits.extend(REGISTRY[rid].func(facts))
    hits.sort(key=lambda h: (h.rule_id, h.key))
    return hits
