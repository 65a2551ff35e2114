"""The weekly review (DESIGN §7) as data: the week's figures and events, which week a moment
falls in, and the week as it was presented (frozen) with what changed since."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from tracker.core.counts import GradeCount
from tracker.core.dips import FoundDip
from tracker.core.rates import RateFigure

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{1,2})$")  # the team writes 2024-W2
EVENT_GAP = "    "  # the seeds put four spaces between the time and the title
YEARS = (2, 9998)  # of a report: its windows (and a 12-week trend) stay within datetime's
Detail = Literal["title", "summary"]  # what follows each event: its title, or its story too


def parse_week(text: str) -> tuple[int, int]:
    """`2024-W30` → (2024, 30); ValueError for anything else or a week the year lacks."""
    match = WEEK_PATTERN.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO week like 2024-W30")
    year, week = int(match[1]), int(match[2])
    if not YEARS[0] <= year <= YEARS[1]:
        raise ValueError(f"{text!r}: a week of the years {YEARS[0]} to {YEARS[1]}")
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year} has no ISO week {week}") from None
    return year, week


def week_name(moment: datetime, zone: ZoneInfo) -> str:
    """The ISO week a moment falls in, in `zone`: `2024-W30`."""
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Event:
    id: int
    detected_at: datetime
    title: str
    grade: str | None
    status: str
    services: tuple[str, ...]
    weight: str = "1"  # attributed weight, as the shortest decimal
    impact_started_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    summary: str = ""
    postmortem_url: str | None = None

    @property
    def times(self) -> tuple[datetime | None, ...]:
        return (self.impact_started_at, self.detected_at, self.mitigated_at, self.resolved_at)


@dataclass(frozen=True)
class WeeklyReport:
    """Rates over the ISO week; availability of `all` and incident counts year to date, as of
    the week's end (or now, for the current week); the week's events in time order."""

    week: str
    since: datetime
    until: datetime
    as_of: datetime
    zone: ZoneInfo
    rates: tuple[RateFigure, ...]
    availability: float | None
    downtime_seconds: float
    eligible_seconds: float
    counts: dict[str, GradeCount]
    events: tuple[Event, ...]


@dataclass(frozen=True)
class Review:
    """The week as presented: frozen at its first export, with what changed since."""

    report: WeeklyReport
    restated: dict[str, list[str]]  # lang → notes
    frozen_at: datetime | None
    # what the rates saw in the week that no record covers, as of now (never frozen: a record
    # logged after the review covers its dip)
    unlogged_dips: tuple[FoundDip, ...] = ()

    def notes(self, lang: str) -> list[str]:
        return self.restated.get(lang, [])


def last_week(now: datetime, zone: ZoneInfo) -> str:
    """The ISO week before the one `now` is in: what a review is of, by default."""
    return week_name(now - timedelta(days=7), zone)
