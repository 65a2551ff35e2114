"""Availability over a window (DESIGN §4.1), exact from interval end points."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from tracker.core.exact import exact

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MICROSECONDS_PER_SECOND = 1_000_000

# (start, end, level) in integer microseconds since the epoch.
_Piece = tuple[int, int, Fraction]


@dataclass(frozen=True)
class Impairment:
    """Service impaired at `ratio` over [start, end); end None = still impaired."""

    start: datetime
    end: datetime | None
    ratio: float | Decimal | Fraction

    def __post_init__(self) -> None:
        if not 0 <= self.ratio <= 1:
            raise ValueError(f"ratio must be within [0, 1], got {self.ratio}")


@dataclass(frozen=True)
class Maintenance:
    """Announced maintenance over [start, end): excluded from downtime and eligible time."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class AvailabilityResult:
    """D and T in seconds; availability = 1 − D / T, None when T = 0."""

    downtime_seconds: float
    eligible_seconds: float
    availability: float | None


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}; times must be timezone-aware")
    return (moment - _EPOCH) // _MICROSECOND


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint union of non-empty [start, end) intervals."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _envelope(impairments: list[_Piece]) -> list[_Piece]:
    """u(t) = max ratio active at t, as sorted disjoint pieces with level > 0 (a skyline sweep)."""
    by_start = sorted(impairments, key=lambda p: p[0])
    points = sorted({p[0] for p in impairments} | {p[1] for p in impairments})
    active: list[tuple[Fraction, int]] = []  # max-heap of (−level, end), stale entries popped late
    pieces: list[_Piece] = []
    next_start = 0
    for t, t_next in pairwise(points):
        while next_start < len(by_start) and by_start[next_start][0] <= t:
            _, end, level = by_start[next_start]
            heapq.heappush(active, (-level, end))
            next_start += 1
        while active and active[0][1] <= t:
            heapq.heappop(active)
        if active:
            pieces.append((t, t_next, -active[0][0]))
    return pieces


def _overlap(pieces: list[_Piece], merged: list[tuple[int, int]]) -> Fraction:
    """Σ level × |piece ∩ merged|, both lists sorted and disjoint (a two-pointer walk)."""
    total = Fraction(0)
    j = 0
    for start, end, level in pieces:
        while j < len(merged) and merged[j][1] <= start:
            j += 1
        k = j
        while k < len(merged) and merged[k][0] < end:
            total += level * (min(end, merged[k][1]) - max(start, merged[k][0]))
            k += 1
    return total


def availability(
    impairments: Iterable[Impairment],
    maintenance: Iterable[Maintenance],
    *,
    since: datetime,
    until: datetime,
    now: datetime,
) -> AvailabilityResult:
    """D = ∫ max active ratio dt over [since, until) minus M, T = |[since, until) minus M|,
    availability = 1 − D / T."""
    a, b, now_us = _micros(since), _micros(until), _micros(now)
    if b < a:
        raise ValueError("until must not be before since")
    clipped = []
    for imp in impairments:
        end = min(b, now_us if imp.end is None else _micros(imp.end))
        start, level = max(a, _micros(imp.start)), exact(imp.ratio)
        if start < end and level > 0:
            clipped.append((start, end, level))
    merged = _merge((max(a, _micros(m.start)), min(b, _micros(m.end))) for m in maintenance)
    pieces = _envelope(clipped)
    downtime = sum((lv * (e - s) for s, e, lv in pieces), Fraction(0)) - _overlap(pieces, merged)
    eligible = (b - a) - sum(e - s for s, e in merged)
    return AvailabilityResult(
        downtime_seconds=float(downtime / _MICROSECONDS_PER_SECOND),
        eligible_seconds=eligible / _MICROSECONDS_PER_SECOND,
        availability=float(1 - downtime / eligible) if eligible else None,
    )
