"""Incident counts by grade (DESIGN §4.3), responsibility-weighted and exact."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from tracker.core.exact import exact, to_decimal
from tracker.core.vocabulary import (
    COUNT_GRADES,
    GRADE_GROUPS,
    INCIDENT_GRADES,
    UNCOUNTED_STATUSES,
)


@dataclass(frozen=True, slots=True)
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
    """Per grade A–D, over incidents (neither drafts nor cancelled) detected in [since,
    until): Σ weight and Σ 1; a group (AB) is the sum of its grades. Every key of
    COUNT_GRADES is present."""
    attributed = dict.fromkeys(INCIDENT_GRADES, Fraction(0))
    whole = dict.fromkeys(INCIDENT_GRADES, 0)  # integer weights (most are 1), added as ints
    distinct = dict.fromkeys(INCIDENT_GRADES, 0)
    for incident in incidents:
        if (
            incident.grade in attributed
            and incident.status not in UNCOUNTED_STATUSES
            and since <= incident.detected_at < until
        ):
            weight = exact(incident.responsibility_weight)
            if weight.denominator == 1:
                whole[incident.grade] += weight.numerator
            else:
                attributed[incident.grade] += weight
            distinct[incident.grade] += 1
    for grade, n in whole.items():
        attributed[grade] += n
    for group, members in GRADE_GROUPS.items():
        attributed[group] = sum((attributed[g] for g in members), Fraction(0))
        distinct[group] = sum(distinct[g] for g in members)
    return {g: GradeCount(to_decimal(attributed[g]), distinct[g]) for g in COUNT_GRADES}
