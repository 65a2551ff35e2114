"""Incident counts by grade (DESIGN §4.3), responsibility-weighted and exact."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from tracker.core.exact import exact, to_decimal

COUNTED_GRADES: tuple[str, ...] = ("A", "B", "C", "D")
REPORTED_GRADES: tuple[str, ...] = (*COUNTED_GRADES, "AB")


@dataclass(frozen=True)
class CountedIncident:
    """What counting needs of an incident; the weight = Σ internal shares (1 when none listed)."""

    detected_at: datetime
    grade: str | None
    status: str
    responsibility_weight: float | int | Decimal | Fraction = 1


@dataclass(frozen=True)
class GradeCount:
    """attributed = Σ responsibility weights (exact Decimal); distinct = number of incidents."""

    attributed: Decimal
    distinct: int


def count_incidents(
    incidents: Iterable[CountedIncident], *, since: datetime, until: datetime
) -> dict[str, GradeCount]:
    """Per grade A–D, over non-cancelled incidents detected in [since, until): Σ weight and
    Σ 1; AB = A + B. Every key of REPORTED_GRADES is present."""
    attributed = dict.fromkeys(COUNTED_GRADES, Fraction(0))
    distinct = dict.fromkeys(COUNTED_GRADES, 0)
    for incident in incidents:
        if (
            incident.grade in attributed
            and incident.status != "cancelled"
            and since <= incident.detected_at < until
        ):
            attributed[incident.grade] += exact(incident.responsibility_weight)
            distinct[incident.grade] += 1
    attributed["AB"] = attributed["A"] + attributed["B"]
    distinct["AB"] = distinct["A"] + distinct["B"]
    return {g: GradeCount(to_decimal(attributed[g]), distinct[g]) for g in REPORTED_GRADES}
