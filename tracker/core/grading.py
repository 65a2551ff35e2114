"""Grading suggestion (DESIGN §4.6): the most severe grade any dimension reaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tracker.core.vocabulary import INCIDENT_GRADES

TIER_WEIGHTS: dict[int, float] = {1: 1.0, 2: 0.5, 3: 0.1}
FULL_OUTAGE_RATIO = 0.9


@dataclass(frozen=True)
class Threshold:
    """Reached when value ≥ `at` (or > `at` when `strict`)."""

    at: float
    strict: bool = False

    def reached(self, value: float) -> bool:
        return value > self.at if self.strict else value >= self.at


# dimension -> grade -> threshold; the DESIGN §4.6 defaults.
DEFAULT_THRESHOLDS: dict[str, dict[str, Threshold]] = {
    "weighted_minutes": {
        "A": Threshold(60),
        "B": Threshold(15),
        "C": Threshold(3),
        "D": Threshold(0.5),
    },
    "full_outage_minutes": {
        "A": Threshold(30),
        "B": Threshold(10),
        "C": Threshold(2),
        "D": Threshold(0, strict=True),
    },
    "affected_amount": {
        "A": Threshold(50_000_000),
        "B": Threshold(5_000_000),
        "C": Threshold(500_000),
        "D": Threshold(50_000),
    },
    "affected_transactions": {
        "A": Threshold(100_000),
        "B": Threshold(10_000),
        "C": Threshold(1_000),
        "D": Threshold(100),
    },
    "fund_loss": {
        "A": Threshold(1_000_000),
        "B": Threshold(100_000),
        "C": Threshold(10_000),
        "D": Threshold(0, strict=True),
    },
}
DEFAULT_REGULATORY_FLOOR: dict[str, str] = {"major": "A", "extraordinary": "A", "larger": "B"}


@dataclass(frozen=True)
class IncidentFacts:
    """What the grading rules look at, already read off the record."""

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
    dimension: str | None
    value: float | str | None

    @property
    def reason(self) -> str:
        if self.dimension is None:
            return "no dimension reaches grade D"
        return f"{self.dimension} = {self.value}"


def dimension_values(facts: IncidentFacts, *, now: datetime) -> dict[str, float | None]:
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
        weight = TIER_WEIGHTS.get(facts.most_critical_tier, TIER_WEIGHTS[3])
        values["weighted_minutes"] = minutes * facts.impact_ratio * weight
        values["full_outage_minutes"] = minutes if facts.impact_ratio >= FULL_OUTAGE_RATIO else 0.0
    return values


def suggest_grade(
    facts: IncidentFacts,
    *,
    now: datetime,
    thresholds: dict[str, dict[str, Threshold]] = DEFAULT_THRESHOLDS,
    regulatory_floor: dict[str, str] = DEFAULT_REGULATORY_FLOOR,
) -> Suggestion:
    """The most severe grade any dimension reaches, with the dimension that decided it."""
    if facts.cancelled:
        return Suggestion("none", None, None)
    values = dimension_values(facts, now=now)
    for grade in INCIDENT_GRADES:
        if regulatory_floor.get(facts.regulatory_level) == grade:
            return Suggestion(grade, "regulatory_level", facts.regulatory_level)
        for dimension, by_grade in thresholds.items():
            value = values.get(dimension)
            threshold = by_grade.get(grade)
            if value is not None and threshold is not None and threshold.reached(value):
                return Suggestion(grade, dimension, round(value, 3))
    return Suggestion("none", None, None)


def _number(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)
