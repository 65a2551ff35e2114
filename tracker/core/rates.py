"""Payment success rates (DESIGN §4.5) and how a window splits into whole days and edges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from tracker.core.display import percent
from tracker.core.texts import Lang
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
    dip_below: Fraction | None = None  # minutes below this over the dips window are a dip


@dataclass(frozen=True)
class RateFigure:
    """A success rate as counted: `numerator` successes over `denominator` outcomes not
    excluded, named by its definition (unnamed while it is only arithmetic). Its value is
    None when there is no data, never 100%. The one shape of a rate, everywhere."""

    numerator: int
    denominator: int
    name: str = ""
    label_zh: str = ""
    label_en: str = ""

    @property
    def value(self) -> Fraction | None:
        """numerator / denominator; None when there is no data (never 100%)."""
        return Fraction(self.numerator, self.denominator) if self.denominator else None

    def label(self, lang: Lang) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def named(self, definition: RateDefinition) -> RateFigure:
        return replace(
            self, name=definition.name, label_zh=definition.label_zh, label_en=definition.label_en
        )

    def to_json(self, lang: Lang = "zh") -> dict[str, Any]:
        """Its JSON form: the raw value beside the display string, in `lang`."""
        value = self.value
        return {
            "rate": self.name,
            "label": self.label(lang),
            "value": None if value is None else float(value),
            "display": percent(value, lang=lang),
            "numerator": self.numerator,
            "denominator": self.denominator,
        }


def success_rate(counts: Mapping[str, int], excludes: Iterable[str]) -> RateFigure:
    """Σ count(success) / Σ count(outcome not excluded)."""
    excluded = set(excludes)
    denominator = sum(n for outcome, n in counts.items() if outcome not in excluded)
    numerator = 0 if SUCCESS in excluded else counts.get(SUCCESS, 0)
    return RateFigure(numerator, denominator)


def add_counts(*parts: Mapping[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for outcome, n in part.items():
            total[outcome] = total.get(outcome, 0) + n
    return total


def add_values(*parts: RateFigure) -> RateFigure:
    """One rate over disjoint data (stretches of time, channels) from each part's (of one
    definition): Σ numerators / Σ denominators, since both are sums of counts."""
    total = RateFigure(sum(p.numerator for p in parts), sum(p.denominator for p in parts))
    return (
        replace(parts[0], numerator=total.numerator, denominator=total.denominator)
        if parts
        else total
    )


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
