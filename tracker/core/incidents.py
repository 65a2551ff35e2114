"""Rules of an incident record (DESIGN §3, §4.3) over plain values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from tracker.core.errors import FieldError
from tracker.core.exact import exact
from tracker.core.vocabulary import SEVERITY

FUTURE_TOLERANCE = timedelta(minutes=5)
TIME_FIELDS = (
    "impact_started_at",
    "detected_at",
    "acknowledged_at",
    "mitigated_at",
    "resolved_at",
    "regulatory_reported_at",
)
# (earlier, later): `earlier` may not come after `later`. Detection may follow mitigation.
ORDER = (
    ("impact_started_at", "detected_at"),
    ("detected_at", "acknowledged_at"),
    ("impact_started_at", "mitigated_at"),
    ("impact_started_at", "resolved_at"),
    ("detected_at", "resolved_at"),
    ("acknowledged_at", "resolved_at"),
    ("mitigated_at", "resolved_at"),
    ("detected_at", "regulatory_reported_at"),  # the regulator hears of what was detected
)
STATUS_NEEDS = {"mitigated": "mitigated_at", "resolved": "resolved_at", "closed": "resolved_at"}
SHARE_TOLERANCE = 1e-9


def time_errors(times: Mapping[str, datetime | None], *, now: datetime) -> list[FieldError]:
    """Timestamp order: impact ≤ detected ≤ acknowledged, impact ≤ mitigated, every time ≤
    resolved, none more than five minutes ahead of `now`."""
    errors = []
    latest = now + FUTURE_TOLERANCE
    for field in TIME_FIELDS:
        value = times.get(field)
        if value is not None and value > latest:
            errors.append(
                FieldError(
                    field,
                    f"is in the future ({value.isoformat()})",
                    "error.future",
                    {"value": value},
                )
            )
    for earlier, later in ORDER:
        a, b = times.get(earlier), times.get(later)
        if a is not None and b is not None and a > b:
            errors.append(
                FieldError(
                    later, f"must not be before {earlier}", "error.before", {"other": earlier}
                )
            )
    return errors


def status_errors(status: str, times: Mapping[str, datetime | None]) -> list[FieldError]:
    """`mitigated` needs `mitigated_at`; `resolved` and `closed` need `resolved_at`."""
    needed = STATUS_NEEDS.get(status)
    if needed and times.get(needed) is None:
        return [
            FieldError(
                needed,
                f"is required when status is {status}",
                "error.needs_time",
                {"status": status},
            )
        ]
    return []


def grade_reason_errors(grade: str | None, suggested: str, reason: str) -> list[FieldError]:
    """A grade below the suggestion must say why."""
    if grade is not None and SEVERITY[grade] < SEVERITY[suggested] and not reason.strip():
        return [
            FieldError(
                "grade_reason",
                f"is required when grade {grade} is lower than the suggested grade {suggested}",
                "error.grade_reason",
                {"grade": grade, "suggested": suggested},
            )
        ]
    return []


def attributed_weight(responsibility: Iterable[Mapping[str, Any]]) -> Fraction:
    """Σ share of internal responsibility entries, exactly; 1 when the list is empty."""
    entries = list(responsibility)
    if not entries:
        return Fraction(1)
    return sum((exact(e["share"]) for e in entries if e.get("internal", True)), Fraction(0))
