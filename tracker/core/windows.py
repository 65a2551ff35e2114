"""Named time windows (DESIGN §2): calendar-to-date cut at local midnight, or rolling."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

CALENDAR_WINDOWS: tuple[str, ...] = ("ytd", "qtd", "mtd", "wtd")
ROLLING_WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
WINDOWS: tuple[str, ...] = CALENDAR_WINDOWS + tuple(ROLLING_WINDOWS)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which `day` starts in `zone`."""
    # fold=0 takes the offset before a transition, so a midnight skipped by DST maps to the
    # first local instant of the day and a repeated one to its first occurrence.
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _calendar_start(name: str, today: date) -> date:
    if name == "ytd":
        return date(today.year, 1, 1)
    if name == "qtd":
        return date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    if name == "mtd":
        return today.replace(day=1)
    return today - timedelta(days=today.weekday())  # wtd: ISO weeks start on Monday


def window_bounds(name: str, *, as_of: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, as_of) in UTC; start = local midnight of the period's first day, or as_of − span."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware")
    end = as_of.astimezone(UTC)
    if name in ROLLING_WINDOWS:
        return end - ROLLING_WINDOWS[name], end
    if name in CALENDAR_WINDOWS:
        return local_midnight(_calendar_start(name, as_of.astimezone(zone).date()), zone), end
    raise ValueError(f"unknown window {name!r}; expected one of {', '.join(WINDOWS)}")


def iso_week_bounds(year: int, week: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[Monday 00:00, next Monday 00:00) local, in UTC; ValueError for a week the year lacks."""
    monday = date.fromisocalendar(year, week, 1)
    return local_midnight(monday, zone), local_midnight(monday + timedelta(days=7), zone)


def year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[Jan 1 00:00, next Jan 1 00:00) local, in UTC."""
    return local_midnight(date(year, 1, 1), zone), local_midnight(date(year + 1, 1, 1), zone)
