"""Payment success rates (DESIGN §4.5) and how a window splits into whole days and edges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from tracker.core.windows import local_midnight

SUCCESS = "success"


@dataclass(frozen=True)
class RateDefinition:
    """A configured rate: success over every outcome it does not exclude."""

    name: str
    label_zh: str
    label_en: str
    direction: str
    scope: str
    excludes: frozenset[str]


@dataclass(frozen=True)
class RateValue:
    numerator: int
    denominator: int

    @property
    def value(self) -> Fraction | None:
        """numerator / denominator; None when there is no data (never 100%)."""
        return Fraction(self.numerator, self.denominator) if self.denominator else None


def success_rate(counts: Mapping[str, int], excludes: Iterable[str]) -> RateValue:
    """Σ count(success) / Σ count(outcome not excluded)."""
    excluded = set(excludes)
    denominator = sum(n for outcome, n in counts.items() if outcome not in excluded)
    numerator = 0 if SUCCESS in excluded else counts.get(SUCCESS, 0)
    return RateValue(numerator, denominator)


def add_counts(*parts: Mapping[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for outcome, n in part.items():
            total[outcome] = total.get(outcome, 0) + n
    return total


def add_values(*parts: RateValue) -> RateValue:
    """One rate over disjoint data (stretches of time, channels) from each part's:
    Σ numerators / Σ denominators, since both are sums of counts."""
    return RateValue(sum(p.numerator for p in parts), sum(p.denominator for p in parts))


@dataclass(frozen=True)
class DaySplit:
    """[since, until) as minutes before the first local midnight, whole local days
    [first_day, end_day), and minutes from the last local midnight on."""

    head: tuple[datetime, datetime] | None
    days: tuple[date, date] | None
    tail: tuple[datetime, datetime] | None


def split_by_days(since: datetime, until: datetime, zone: ZoneInfo) -> DaySplit:
    """Whole local days come from daily totals, the edges from minute buckets: a window
    costs O(days + edge minutes), not O(minutes)."""
    first = since.astimezone(zone).date()
    if local_midnight(first, zone) < since:
        first += timedelta(days=1)
    end = until.astimezone(zone).date()
    start_of_days, end_of_days = local_midnight(first, zone), local_midnight(end, zone)
    if first >= end:
        return DaySplit((since, until) if since < until else None, None, None)
    head = (since, start_of_days) if since < start_of_days else None
    tail = (end_of_days, until) if end_of_days < until else None
    return DaySplit(head, (first, end), tail)


def day_of(minute: datetime, zone: ZoneInfo) -> date:
    """The local day a minute bucket belongs to."""
    return minute.astimezone(zone).date()
