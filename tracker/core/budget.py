"""Error budget and the year's outlook (DESIGN §4.2)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from tracker.core.exact import Number, exact


@dataclass(frozen=True)
class Budget:
    """B in seconds; remaining = 1 − D / B and burn = (D / T) / (1 − o), None when T = 0."""

    budget_seconds: float
    remaining_ratio: float | None
    burn_rate: float | None


@dataclass(frozen=True)
class YearOutlook:
    """Budget minutes left this year, and the availability the rest of the year needs."""

    budget_minutes_left: float
    required_availability_rest: float | None


def _allowed(objective: Number) -> Fraction:
    """1 − o, the share of eligible time the budget allows."""
    o = exact(objective)
    if not 0 < o < 1:
        raise ValueError(f"objective must be strictly between 0 and 1, got {objective}")
    return 1 - o


def error_budget(downtime_seconds: Number, eligible_seconds: Number, objective: Number) -> Budget:
    """B = (1 − o)·T; remaining = 1 − D / B (negative once overspent); burn = (D / T) / (1 − o)."""
    allowed, d, t = _allowed(objective), exact(downtime_seconds), exact(eligible_seconds)
    if t == 0:
        return Budget(budget_seconds=0.0, remaining_ratio=None, burn_rate=None)
    if d == 0:  # nothing burnt (most windows): no division to make
        return Budget(budget_seconds=float(allowed * t), remaining_ratio=1.0, burn_rate=0.0)
    burn = d / t / allowed
    return Budget(
        budget_seconds=float(allowed * t), remaining_ratio=float(1 - burn), burn_rate=float(burn)
    )


def year_outlook(
    downtime_so_far: Number,
    eligible_so_far: Number,
    eligible_rest_of_year: Number,
    objective: Number,
) -> YearOutlook:
    """left = (1 − o)·(T_so_far + T_rest) − D_so_far; required = 1 − left / T_rest.

    `required_availability_rest` is None when no eligible time is left; above 1 when the budget is
    already overspent (the objective can no longer be met); clamped to 0 when even a full outage
    for the rest of the year would stay within budget.
    """
    allowed, d = _allowed(objective), exact(downtime_so_far)
    rest = exact(eligible_rest_of_year)
    left = allowed * (exact(eligible_so_far) + rest) - d
    required = max(Fraction(0), 1 - left / rest) if rest else None
    return YearOutlook(
        budget_minutes_left=float(left / 60),
        required_availability_rest=None if required is None else float(required),
    )
