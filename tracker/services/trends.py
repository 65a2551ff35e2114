"""The weekly review's trend: each of the last weeks computed through the same core as the
weekly report, over that week alone."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta

from tracker.charts import chart_language, trend_png
from tracker.core.texts import Lang
from tracker.core.trend import Trend, TrendPoint
from tracker.core.vocabulary import ALL
from tracker.core.weekly.model import YEARS, parse_week
from tracker.core.windows import iso_week_bounds
from tracker.errors import NotFound
from tracker.models import Snapshot
from tracker.services.payments import rates_between
from tracker.services.slo import availability_between, objective_of
from tracker.settings import Settings

TREND_WEEKS = 12
CHARTS_KEPT = 64  # drawn charts a process keeps: weeks × languages people look at


class ChartCache:
    """Drawn trend charts by (week, language, data version), the newest CHARTS_KEPT: a
    chart costs a second of CPU, and the dashboard asks for one on every view. The data
    version is the latest snapshot's, so a chart is as fresh as the figures beside it."""

    def __init__(self) -> None:
        self._charts: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def png(self, week: str, lang: Lang, *, now: datetime, settings: Settings) -> bytes:
        latest = Snapshot.latest()
        key = (week, chart_language(lang), latest.id if latest else 0)
        with self._lock:
            if key in self._charts:
                self._charts.move_to_end(key)
                return self._charts[key]
        png = trend_png(weekly_trend(week, now=now, settings=settings), lang=lang)
        with self._lock:
            self._charts[key] = png
            while len(self._charts) > CHARTS_KEPT:
                self._charts.popitem(last=False)
        return png


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
        if iso.year < YEARS[0]:
            continue  # before the first week a report may show
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
                rates={r.name: None if r.value is None else float(r.value) for r in rates},
            )
        )
    return Trend(
        points=tuple(points),
        rate_labels={d.name: (d.label_zh, d.label_en) for d in definitions},
        objective=objective_of(ALL, settings),
    )
