"""Time to detect, mitigate and resolve (DESIGN §4.4): count, p50 and p90 by nearest rank."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal, TypeVar

from tracker.core.vocabulary import COUNT_GRADES, GRADE_GROUPS, INCIDENT_GRADES

Kind = Literal["detect", "mitigate", "resolve"]
# kind -> the time that ends it; every kind starts at impact_started_at.
END_FIELDS: dict[str, str] = {
    "detect": "detected_at",
    "mitigate": "mitigated_at",
    "resolve": "resolved_at",
}
T = TypeVar("T")


def _end_field(kind: str) -> str:
    if kind not in END_FIELDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(END_FIELDS)}")
    return END_FIELDS[kind]


@dataclass(frozen=True, slots=True)
class TimedIncident:
    """The times of an incident; impact_started_at None means it began when detected."""

    grade: str | None
    detected_at: datetime
    impact_started_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None

    def seconds_to(self, kind: Kind) -> float | None:
        """`<kind>` end time − impact_started_at in seconds; None when the end is not set."""
        end = getattr(self, _end_field(kind))
        start = self.impact_started_at or self.detected_at
        return None if end is None else (end - start).total_seconds()


@dataclass(frozen=True)
class DurationStats:
    """How many incidents had both times, and the p50 and p90 of their durations."""

    count: int
    p50_seconds: float | None
    p90_seconds: float | None


def nearest_rank(ordered: Sequence[T], q: Fraction) -> T:
    """The ⌈q·n⌉-th smallest of `ordered` (sorted, non-empty), 0 < q ≤ 1."""
    # q is a Fraction: in binary floats 0.55 × 100 is 55.00000000000001, whose ceiling is 56.
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def time_to(incidents: Iterable[TimedIncident], *, kind: Kind) -> DurationStats:
    """Over incidents with both times: count and nearest-rank p50, p90 of end − impact start."""
    _end_field(kind)
    seconds = sorted(s for i in incidents if (s := i.seconds_to(kind)) is not None)
    if not seconds:
        return DurationStats(count=0, p50_seconds=None, p90_seconds=None)
    return DurationStats(
        count=len(seconds),
        p50_seconds=nearest_rank(seconds, Fraction(1, 2)),
        p90_seconds=nearest_rank(seconds, Fraction(9, 10)),
    )


def time_to_by_grade(incidents: Iterable[TimedIncident], *, kind: Kind) -> dict[str, DurationStats]:
    """time_to per grade A–D and for AB = A ∪ B; other grades are left out, every key present."""
    by_grade: dict[str, list[TimedIncident]] = {g: [] for g in INCIDENT_GRADES}
    for incident in incidents:
        if incident.grade in by_grade:
            by_grade[incident.grade].append(incident)
    for group, members in GRADE_GROUPS.items():
        by_grade[group] = [i for g in members for i in by_grade[g]]
    return {g: time_to(by_grade[g], kind=kind) for g in COUNT_GRADES}
