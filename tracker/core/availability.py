"""Availability over a window (DESIGN §4.1), exact from interval end points."""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from tracker.core.exact import exact

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MICROSECONDS_PER_SECOND = 1_000_000

# (start, end, rank of the level) in integer microseconds since the epoch.
_Piece = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Impairment:
    """Service impaired at `ratio` over [start, end); end None = still impaired."""

    start: datetime
    end: datetime | None
    ratio: float | Decimal | Fraction
    # [start, end) in microseconds since the epoch: an impairment is read by every window
    # and scope it touches, so it is converted once.
    span: tuple[int, int | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.ratio <= 1:
            raise ValueError(f"ratio must be within [0, 1], got {self.ratio}")
        span = _micros(self.start), None if self.end is None else _micros(self.end)
        object.__setattr__(self, "span", span)


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


def _clip(
    impairments: Iterable[Impairment], a: int, b: int, now_us: int
) -> tuple[list[_Piece], list[Fraction]]:
    """The impairments inside [a, b) (open ones to now) as (start, end, rank), the rank
    indexing the distinct levels in ascending order: the sweep compares and sums integers,
    and each level is multiplied once at the end."""
    spans, levels = [], {}
    for imp in impairments:
        first, last = imp.span
        end = min(b, now_us if last is None else last)
        start = max(a, first)
        if start < end:
            if imp.ratio not in levels:
                levels[imp.ratio] = exact(imp.ratio)
            spans.append((start, end, imp.ratio))
    ordered = sorted({level for level in levels.values() if level > 0})
    rank_of_level = {level: rank for rank, level in enumerate(ordered)}
    rank = {ratio: rank_of_level.get(level) for ratio, level in levels.items()}
    return [(s, e, rank[r]) for s, e, r in spans if rank[r] is not None], ordered


def _envelope(impairments: list[_Piece]) -> list[_Piece]:
    """u(t) = the highest level active at t, as sorted disjoint pieces (a skyline sweep)."""
    by_start = sorted(impairments, key=lambda p: p[0])
    if all(p[1] <= q[0] for p, q in pairwise(by_start)):  # most scopes: apart, nothing to sweep
        return by_start
    points = sorted({p[0] for p in impairments} | {p[1] for p in impairments})
    active: list[tuple[int, int]] = []  # max-heap of (−rank, end), stale entries popped late
    pieces: list[_Piece] = []
    next_start = 0
    for t, t_next in pairwise(points):
        while next_start < len(by_start) and by_start[next_start][0] <= t:
            _, end, rank = by_start[next_start]
            heapq.heappush(active, (-rank, end))
            next_start += 1
        while active and active[0][1] <= t:
            heapq.heappop(active)
        if active:
            pieces.append((t, t_next, -active[0][0]))
    return pieces


def _weighted(spans: Iterable[tuple[int, int]], levels: list[Fraction]) -> Fraction:
    """Σ level × microseconds over (microseconds, rank) spans, the integers of each level
    added first."""
    totals = [0] * len(levels)
    for micros, rank in spans:
        totals[rank] += micros
    weighted = [level * micros for level, micros in zip(levels, totals, strict=True) if micros]
    return sum(weighted[1:], weighted[0]) if weighted else Fraction(0)


def _overlap(pieces: list[_Piece], merged: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(|piece ∩ merged|, rank) of pieces and maintenance, both sorted and disjoint (a
    two-pointer walk)."""
    spans = []
    j = 0
    for start, end, rank in pieces:
        while j < len(merged) and merged[j][1] <= start:
            j += 1
        k = j
        while k < len(merged) and merged[k][0] < end:
            spans.append((min(end, merged[k][1]) - max(start, merged[k][0]), rank))
            k += 1
    return spans


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
    if until < since:
        raise ValueError("until must not be before since")
    windows = {"": (since, until)}
    return availability_by_window(impairments, maintenance, windows=windows, now=now)[""]


class Windows:
    """Named windows [since, until) as microseconds, converted once for the many sweeps
    (one per scope) that read them."""

    def __init__(self, spans: Mapping[str, tuple[datetime, datetime]]) -> None:
        self.micros = {name: (_micros(a), _micros(b)) for name, (a, b) in spans.items()}
        for name, (a, b) in self.micros.items():
            if b < a:
                raise ValueError(f"window {name}: until must not be before since")


def availability_by_window(
    impairments: Iterable[Impairment],
    maintenance: Iterable[Maintenance],
    *,
    windows: Windows | Mapping[str, tuple[datetime, datetime]],
    now: datetime,
) -> dict[str, AvailabilityResult]:
    """`availability` over each window, from one sweep: the impact envelope u(t) and the
    merged maintenance are built once over the windows' span, then each window takes its
    part of them. Equal, window by window, to computing each on its own."""
    spans = (windows if isinstance(windows, Windows) else Windows(windows)).micros
    if not spans:
        return {}
    a = min(lo for lo, _ in spans.values())
    b = max(hi for _, hi in spans.values())
    clipped, levels = _clip(impairments, a, b, _micros(now))
    pieces = _envelope(clipped)
    ends = [end for _, end, _ in pieces]  # pieces are sorted and disjoint: so are their ends
    merged = _merge((max(a, _micros(m.start)), min(b, _micros(m.end))) for m in maintenance)
    results = {}
    for name, (lo, hi) in spans.items():
        part = pieces[bisect_right(ends, lo) : bisect_left(ends, hi) + 1]
        part = [(max(s, lo), min(e, hi), rank) for s, e, rank in part if s < hi and e > lo]
        kept = [(max(s, lo), min(e, hi)) for s, e in merged if s < hi and e > lo]
        eligible = (hi - lo) - sum(e - s for s, e in kept)
        if not part:  # most windows of most services: nothing happened
            results[name] = AvailabilityResult(
                0.0, eligible / _MICROSECONDS_PER_SECOND, 1.0 if eligible else None
            )
            continue
        downtime = _weighted(((e - s, rank) for s, e, rank in part), levels)
        if kept:  # maintenance takes its share of the impact out
            downtime -= _weighted(_overlap(part, kept), levels)
        # Floats of the exact ratios by integer division, which rounds correctly as
        # float(Fraction) does, without Fraction's arithmetic.
        over, under = downtime.numerator, downtime.denominator
        results[name] = AvailabilityResult(
            downtime_seconds=over / (under * _MICROSECONDS_PER_SECOND),
            eligible_seconds=eligible / _MICROSECONDS_PER_SECOND,
            availability=(under * eligible - over) / (under * eligible) if eligible else None,
        )
    return results
