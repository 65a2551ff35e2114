"""The weekly review's trend: availability and success rates week by week, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracker.core.texts import Lang


@dataclass(frozen=True)
class TrendPoint:
    """One ISO week: availability of `all` over that week alone and each configured rate over
    it (rate name → value); None where the week has no data."""

    week: str
    since: datetime
    availability: float | None
    rates: dict[str, float | None]

    @property
    def number(self) -> int:
        """The week's number within its ISO year: 30 for `2024-W30`."""
        return int(self.week.rsplit("W", 1)[1])

    @property
    def year(self) -> int:
        """The ISO year the week belongs to."""
        return int(self.week.split("-", 1)[0])


@dataclass(frozen=True)
class Trend:
    """Consecutive weeks, oldest first; `rate_labels` maps each rate name, in configured order,
    to its (zh, en) labels; `objective` is the availability objective of `all`, if known."""

    points: tuple[TrendPoint, ...]
    rate_labels: dict[str, tuple[str, str]]
    objective: float | None = None

    def label(self, rate: str, lang: Lang) -> str:
        """A rate's label in `lang`."""
        zh, en = self.rate_labels[rate]
        return zh if lang == "zh" else en

    @property
    def first_week(self) -> str:
        return self.points[0].week

    @property
    def last_week(self) -> str:
        return self.points[-1].week
