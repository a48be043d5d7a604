"""Risk assessment (分级分类): a versioned instrument, hard overrides, manual override, review dates.

Basis: three classes 高/中/低 [S2: 禁毒办通〔2016〕37号 via ppfocus / 温州 doc]; Zhejiang scores drug type, degree
of use, behaviour, number of treatments, 戒断时限, family and employment, and labels A/B/C [S: 浙公通字〔2022〕65号].
The real instrument of Jiangsu or the city was **not found** (research §6 Q3). :data:`EXAMPLE_INSTRUMENT` is
therefore an ASSUMPTION [G]: factor list after the Zhejiang description, weights and thresholds invented to be
plausible and easy to edit. Replace it with the office's instrument; keep the old version for old assessments.

Hard overrides force "high" whatever the score [S2: high-risk criteria of 禁毒办通〔2016〕37号, 3 of 6 retrieved]:

=============  =======================================================================================
HO-C20         seriously violated the agreement (any 条例 Art.20 trigger)
HO-REFUSED     refused 社区戒毒 / 社区康复 (incl. no report within 15 days, 条例 Art.14)
HO-SELF-HARM   tendency to suicide or self-harm
HO-MENTAL      mental abnormality / loss of behavioural control
HO-ILLNESS     serious disability or illness so that custody or admission (收押/收戒) is impossible
=============  =======================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable, Mapping, Optional, Union

from .dates import add_months

LEVELS = ("high", "medium", "low")
_RANK = {"low": 0, "medium": 1, "high": 2}

HARD_OVERRIDES = {
    "HO-C20": "严重违反社区戒毒/社区康复协议 (条例第20条)",
    "HO-REFUSED": "拒绝接受社区戒毒/社区康复",
    "HO-SELF-HARM": "有自杀、自伤、自残倾向",
    "HO-MENTAL": "精神异常或行为失控",
    "HO-ILLNESS": "患有严重残疾或疾病，无法收押、收戒",
    "HO-INCIDENT": "近一年内有肇事肇祸行为",
}
# Trigger kinds from :mod:`.violations` that imply an override.
TRIGGER_OVERRIDES = {"serious_violation": "HO-C20", "missed_report": "HO-REFUSED"}

LABEL_SCHEMES = {
    "zh": {"high": "高", "medium": "中", "low": "低"},
    "colour": {"high": "红", "medium": "黄", "low": "蓝"},           # 红/黄/蓝 [S2]
    "abc": {"high": "A", "medium": "B", "low": "C"},                # Zhejiang A/B/C [S]
    "en": {"high": "High", "medium": "Medium", "low": "Low"},
}

REVIEW_MONTHS = 3              # quarterly review [G, research §1.8]
REVIEW_AFTER_TRIGGER_DAYS = 0  # "immediately" after a trigger [G]

EXAMPLE_INSTRUMENT: dict = {
    "code": "JINDU-EXAMPLE",
    "version": "2026.1",
    "status": "assumption — not an official instrument; replace with the office's (research §6 Q3)",
    "thresholds": {"high": 60, "medium": 30},          # score ≥ 60 → high; ≥ 30 → medium; else low
    "factors": [
        {"code": "drug_type", "label": "毒品种类", "type": "choice",
         "points": {"heroin": 15, "methamphetamine": 12, "ketamine": 8, "cannabis": 4, "other": 6}, "missing": 6},
        {"code": "severe_addiction", "label": "吸毒成瘾严重", "type": "flag", "points": 15},
        {"code": "injection", "label": "注射吸毒", "type": "flag", "points": 10},
        {"code": "prior_measures", "label": "既往戒毒次数", "type": "bands",
         "bands": [[0, 0], [1, 5], [2, 10], [3, 15]]},                         # value ≥ lower bound → points
        {"code": "years_abstinent", "label": "戒断时限(年)", "type": "bands",
         "bands": [[0, 20], [1, 10], [2, 5], [3, 0]], "missing": 20},
        {"code": "relapse_after_compulsory", "label": "强戒后复吸", "type": "flag", "points": 15},
        {"code": "drug_crime_record", "label": "涉毒违法犯罪记录", "type": "flag", "points": 10},
        {"code": "no_family_support", "label": "无家庭支持", "type": "flag", "points": 10},
        {"code": "unemployed", "label": "无稳定就业", "type": "flag", "points": 10},
    ],
}


def validate_instrument(instrument: Mapping) -> None:
    """Raise ValueError unless the instrument has a code, a version, unique factors and high > medium."""
    for key in ("code", "version", "factors", "thresholds"):
        if key not in instrument:
            raise ValueError(f"instrument lacks {key!r}")
    codes = [f["code"] for f in instrument["factors"]]
    if len(codes) != len(set(codes)):
        raise ValueError("instrument factor codes must be unique")
    th = instrument["thresholds"]
    if not th["high"] > th["medium"]:
        raise ValueError("the high threshold must be above the medium threshold")
    for f in instrument["factors"]:
        if f["type"] not in ("flag", "choice", "bands"):
            raise ValueError(f"factor {f['code']}: unknown type {f['type']!r}")


def _points(factor: Mapping, value: Any) -> float:
    if value is None:
        return factor.get("missing", 0)
    t = factor["type"]
    if t == "flag":
        return factor["points"] if value else 0
    if t == "choice":
        if value not in factor["points"]:
            raise ValueError(f"factor {factor['code']}: {value!r} is not one of {sorted(factor['points'])}")
        return factor["points"][value]
    if value < factor["bands"][0][0]:
        raise ValueError(f"factor {factor['code']}: {value!r} is below the lowest band {factor['bands'][0][0]}")
    got = 0
    for lower, pts in factor["bands"]:
        if value >= lower:
            got = pts
    return got


def score(instrument: Mapping, answers: Mapping[str, Any]) -> tuple[float, dict[str, float]]:
    """(total, points per factor). Unknown answer keys are an error; a missing answer scores the factor's
    ``missing`` points (conservative for abstinence: 20)."""
    known = {f["code"] for f in instrument["factors"]}
    unknown = set(answers) - known
    if unknown:
        raise ValueError(f"unknown risk factors: {sorted(unknown)}")
    per = {f["code"]: _points(f, answers.get(f["code"])) for f in instrument["factors"]}
    return sum(per.values()), per


def level_for(instrument: Mapping, total: float) -> str:
    """Score → level by the instrument's thresholds (≥ high → high; ≥ medium → medium; else low)."""
    th = instrument["thresholds"]
    return "high" if total >= th["high"] else "medium" if total >= th["medium"] else "low"


@dataclass(frozen=True)
class ManualOverride:
    """A level set by hand: a reason and an approver are both required [G, research §1.8]."""

    level: str
    reason: str
    approved_by: str

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"manual level {self.level!r} is not one of {LEVELS}")
        if not (self.reason or "").strip():
            raise ValueError("a manual risk level needs a reason")
        if not (str(self.approved_by or "")).strip():
            raise ValueError("a manual risk level needs an approver")


@dataclass(frozen=True)
class Assessment:
    instrument_code: str
    instrument_version: str
    score: float
    factor_points: dict
    computed_level: str            # from the score alone
    overrides: tuple               # hard-override codes that applied
    manual: Optional[ManualOverride]
    level: str                     # final level
    assessed_on: date
    next_review_on: date
    missing: tuple = field(default=())


def next_review(assessed_on: date, trigger_dates: Iterable[date] = (), *,
                months: Union[int, Mapping[str, int]] = REVIEW_MONTHS, level: Optional[str] = None,
                after_trigger_days: int = REVIEW_AFTER_TRIGGER_DAYS) -> date:
    """Next review: ``assessed_on + months`` (quarterly by default; ``months`` may be a per-level mapping), or
    earlier — ``after_trigger_days`` (0 = the same day) after any trigger dated after the assessment [G]."""
    m = months[level] if isinstance(months, Mapping) else months
    due = add_months(assessed_on, m)
    later = [d for d in trigger_dates if d > assessed_on]
    if later:
        due = min(due, min(later) + timedelta(days=after_trigger_days))
    return due


def assess(answers: Mapping[str, Any], *, assessed_on: date, instrument: Mapping = EXAMPLE_INSTRUMENT,
           flags: Iterable[str] = (), triggers: Iterable[Any] = (), manual: Optional[ManualOverride] = None,
           review_months: Union[int, Mapping[str, int]] = REVIEW_MONTHS, allow_manual_below_hard: bool = False
           ) -> Assessment:
    """Score ``answers`` with ``instrument``, apply hard overrides and an optional manual override.

    ``flags``: hard-override codes established by the worker (HO-SELF-HARM, HO-MENTAL, HO-ILLNESS, HO-REFUSED…).
    ``triggers``: :class:`.violations.Trigger` objects up to ``assessed_on``; a serious violation adds HO-C20, a
    missed report HO-REFUSED. Any hard override makes the level "high".
    ``manual``: may raise or lower the level, but not below "high" while a hard override applies unless
    ``allow_manual_below_hard`` [G: a rule-based fact must be resolved, not overruled]. Next review per
    :func:`next_review` (triggers dated after the assessment are handled by calling it again).
    """
    validate_instrument(instrument)
    total, per = score(instrument, answers)
    computed = level_for(instrument, total)
    codes = set()
    for f in flags:
        if f not in HARD_OVERRIDES:
            raise ValueError(f"unknown hard override {f!r}; expected one of {sorted(HARD_OVERRIDES)}")
        codes.add(f)
    for t in triggers:
        code = TRIGGER_OVERRIDES.get(getattr(t, "kind", None))
        if code and getattr(t, "on", assessed_on) <= assessed_on:
            codes.add(code)
    level = "high" if codes else computed
    if manual is not None:
        if codes and _RANK[manual.level] < _RANK["high"] and not allow_manual_below_hard:
            raise ValueError(f"hard overrides {sorted(codes)} keep this person at high risk; "
                             "a manual level cannot lower it")
        level = manual.level
    missing = tuple(f["code"] for f in instrument["factors"] if answers.get(f["code"]) is None)
    return Assessment(instrument["code"], instrument["version"], total, per, computed, tuple(sorted(codes)), manual,
                      level, assessed_on, next_review(assessed_on, months=review_months, level=level), missing)


def label(level: str, scheme: str = "zh", schemes: Mapping[str, Mapping[str, str]] = LABEL_SCHEMES) -> str:
    """Display label of a level from a configurable scheme (高/中/低, 红/黄/蓝, A/B/C …)."""
    try:
        return schemes[scheme][level]
    except KeyError:
        raise ValueError(f"no label for level {level!r} in scheme {scheme!r}") from None
