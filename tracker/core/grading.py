"""Grading suggestion (DESIGN §4.6): the most severe grade any dimension reaches."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from tracker.core.texts import Lang, term, text
from tracker.core.vocabulary import INCIDENT_GRADES

DIMENSIONS = (
    "weighted_minutes",
    "full_outage_minutes",
    "affected_amount",
    "affected_transactions",
    "fund_loss",
)


@dataclass(frozen=True)
class Threshold:
    """Reached when value ≥ `at` (or > `at` when `strict`)."""

    at: float
    strict: bool = False

    def reached(self, value: float) -> bool:
        return value > self.at if self.strict else value >= self.at

    @classmethod
    def parse(cls, value: float | str) -> Threshold:
        """`60` means at least 60; `"> 0"` means more than 0."""
        if isinstance(value, str):
            text = value.strip()
            if not text.startswith(">"):
                raise ValueError(f'{value!r}: write a number (at least) or "> N" (more than)')
            return cls(float(text[1:]), strict=True)
        return cls(float(value))


@dataclass(frozen=True, eq=False)  # one object per app, hashed by identity: a cache key
class GradingRules:
    """dimension -> grade -> threshold, the regulatory floor, how minutes are weighted, and
    how soon the regulator must hear of a record at a reported level (DESIGN §11)."""

    thresholds: dict[str, dict[str, Threshold]]
    regulatory_floor: dict[str, str]
    tier_weights: dict[int, float]
    full_outage_ratio: float
    report_within_minutes: int = 30


class IncidentFacts(NamedTuple):
    """What the grading rules look at, already read off the record (a tuple: a list page
    makes fifty and looks each up in the suggestions remembered, a third of the cost of a
    frozen dataclass)."""

    impact_started_at: datetime
    impact_ended_at: datetime | None
    impact_ratio: float
    counts_toward_availability: bool
    most_critical_tier: int
    affected_amount: Decimal | None = None
    affected_transactions: int | None = None
    fund_loss: Decimal | None = None
    regulatory_level: str = "none"
    cancelled: bool = False


@dataclass(frozen=True)
class Suggestion:
    grade: str
    dimension: str | None = None
    value: float | str | None = None
    threshold: Threshold | None = None

    @functools.cached_property  # a remembered suggestion is read by every list page
    def reason(self) -> str:
        """What decided it, e.g. `weighted_minutes 10.5 ≥ 3` or `regulatory_level larger`."""
        if self.dimension is None:
            return "no dimension reaches grade D"
        if self.threshold is None:
            return f"{self.dimension} {self.value}"
        sign = ">" if self.threshold.strict else "≥"
        return f"{self.dimension} {_plain(self.value)} {sign} {_plain(self.threshold.at)}"

    def describe(self, lang: Lang) -> str:
        """The reason as a sentence a person reads: 加权影响26.175分钟，达到B级标准（≥15分钟）."""
        if self.dimension is None:
            return text("reason.nothing", lang)
        grade = term("grade", self.grade, lang)
        if self.threshold is None:  # the regulatory floor
            level = term(self.dimension, self.value, lang)
            return text(f"reason.{self.dimension}", lang).format(value=level, grade=grade)
        return text(f"reason.{self.dimension}", lang).format(
            value=_plain(self.value),
            grade=grade,
            sign=">" if self.threshold.strict else "≥",
            threshold=_plain(self.threshold.at),
        )


def _plain(value: float | str | None) -> str:
    """12000.0 → 12000, 10.5 → 10.5, 1e7 → 10000000."""
    if not isinstance(value, float):
        return str(value)
    return format(Decimal(repr(round(value, 3))).normalize(), "f")


def dimension_values(
    facts: IncidentFacts, rules: GradingRules, *, now: datetime
) -> dict[str, float | None]:
    """Each numeric dimension's value; impact still running is counted up to `now`."""
    values: dict[str, float | None] = {
        "affected_amount": _number(facts.affected_amount),
        "affected_transactions": _number(facts.affected_transactions),
        "fund_loss": _number(facts.fund_loss),
        "weighted_minutes": None,
        "full_outage_minutes": None,
    }
    if facts.counts_toward_availability and facts.impact_ratio > 0:
        end = facts.impact_ended_at or now
        minutes = max((end - facts.impact_started_at).total_seconds(), 0.0) / 60
        weight = rules.tier_weights.get(facts.most_critical_tier, min(rules.tier_weights.values()))
        values["weighted_minutes"] = minutes * facts.impact_ratio * weight
        full = facts.impact_ratio >= rules.full_outage_ratio
        values["full_outage_minutes"] = minutes if full else 0.0
    return values


def suggest_grade(facts: IncidentFacts, rules: GradingRules, *, now: datetime) -> Suggestion:
    """The most severe grade any dimension reaches, with the dimension that decided it."""
    if not moves_with_time(
        ended=facts.impact_ended_at is not None, counted=facts.counts_toward_availability
    ):
        return _suggest_once(facts, rules)  # `now` plays no part: a list asks again and again
    return _suggest(facts, rules, now=now)


def moves_with_time(*, ended: bool, counted: bool) -> bool:
    """Whether a record's suggestion can change as time passes (its weighted minutes grow):
    its impact has not ended and counts toward availability."""
    return not ended and counted


@functools.lru_cache(maxsize=4096)  # a few pages of lists; ~3 MiB
def _suggest_once(facts: IncidentFacts, rules: GradingRules) -> Suggestion:
    return _suggest(facts, rules, now=facts.impact_started_at)


def _suggest(facts: IncidentFacts, rules: GradingRules, *, now: datetime) -> Suggestion:
    if facts.cancelled:
        return Suggestion("none")
    values = dimension_values(facts, rules, now=now)
    for grade in INCIDENT_GRADES:
        if rules.regulatory_floor.get(facts.regulatory_level) == grade:
            return Suggestion(grade, "regulatory_level", facts.regulatory_level)
        for dimension, by_grade in rules.thresholds.items():
            value = values.get(dimension)
            threshold = by_grade.get(grade)
            if value is not None and threshold is not None and threshold.reached(value):
                return Suggestion(grade, dimension, value, threshold)
    return Suggestion("none")


def _number(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)
