"""The weekly review's trend: each of the last weeks computed through the same core as the
weekly report, over that week alone."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tracker.core.trend import Trend, TrendPoint
from tracker.core.weekly import parse_week
from tracker.core.windows import iso_week_bounds
from tracker.errors import NotFound
from tracker.services.maintenance import ALL
from tracker.services.payments import rates_between
from tracker.services.slo import availability_between, objective_of
from tracker.settings import Settings

TREND_WEEKS = 12


def weekly_trend(
    week: str, *, weeks: int = TREND_WEEKS, now: datetime, settings: Settings
) -> Trend:
    """`week` and the `weeks − 1` before it, oldest first: each week's availability of `all`
    and every configured rate over [its Monday, min(next Monday, now))."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    try:
        year, number = parse_week(week)
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    zone = settings.zone
    if iso_week_bounds(year, number, zone)[0] > now:
        raise NotFound(f"{week} has not started yet")
    definitions = settings.payments.definitions()
    last_monday = date.fromisocalendar(year, number, 1)
    points = []
    for back in range(weeks - 1, -1, -1):
        iso = (last_monday - timedelta(weeks=back)).isocalendar()
        since, until = iso_week_bounds(iso.year, iso.week, zone)
        as_of = min(until, now)
        rates = rates_between(definitions, since=since, until=as_of, channel=None, zone=zone)
        availability = availability_between(
            ALL, since=since, until=as_of, now=now, settings=settings
        ).result.availability
        points.append(
            TrendPoint(
                week=f"{iso.year}-W{iso.week:02d}",
                since=since,
                availability=availability,
                rates={
                    r.definition.name: None if r.value.value is None else float(r.value.value)
                    for r in rates
                },
            )
        )
    return Trend(
        points=tuple(points),
        rate_labels={d.name: (d.label_zh, d.label_en) for d in definitions},
        objective=objective_of(ALL, settings),
    )
