"""History that stays cheap (DESIGN §13): minute rows older than `payments.keep_minutes_days`
folded into one row per UTC hour and series, a day at a time, each day in one transaction
under the payments lock (its hours added, its minutes deleted, the boundary moved on), so an
interrupted fold leaves every minute either still a minute or already in its hour.

Daily totals are untouched (they are sums of the same counts). Before the boundary counts are
read by the hour: a window edge there is counted to the hour (`widened`), and a write there is
refused, since its minutes are no longer there to replace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import peewee

from tracker.db import database, exclusive, is_postgres
from tracker.models import (
    COUNT_COLUMNS,
    FEN_COLUMNS,
    SERIES_COLUMNS,
    PaymentHour,
    PaymentMinute,
    PaymentRevision,
    State,
    utc_of,
)
from tracker.services.payments.store import FOLDED_UNTIL, LOCK, folded_until

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Folded:
    """What a fold did: minute rows folded into hour rows, and the boundary after it."""

    minutes: int
    hours: int
    until: datetime | None

    def to_json(self) -> dict[str, object]:
        until = None if self.until is None else self.until.isoformat()
        return {"minutes": self.minutes, "hours": self.hours, "until": until}


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def widened(since: datetime, until: datetime, edge: datetime | None) -> tuple[datetime, datetime]:
    """The stretch [since, until) really counts when read below a day, history before `edge`
    (`folded_until()`) being folded: an end inside it widens to the hours it touches;
    elsewhere the stretch is exact to the minute."""
    if edge is None or since >= edge:
        return since, until
    return floor_hour(since), ceil_hour(until) if until < edge else until


def fine_parts(
    since: datetime, until: datetime, edge: datetime | None
) -> list[tuple[type, datetime, datetime]]:
    """Where the counts of [since, until) below a day are, history before `edge` being
    folded: (model, since, until) of its hours (widened to the hours the stretch touches)
    and of the minutes after it."""
    if edge is None or since >= edge:
        return [(PaymentMinute, since, until)]
    first, end = widened(since, until, edge)
    parts: list[tuple[type, datetime, datetime]] = [(PaymentHour, first, min(end, edge))]
    if until > edge:
        parts.append((PaymentMinute, edge, until))
    return parts


def fold(*, now: datetime, keep_days: int) -> Folded:
    """Fold every minute older than `keep_days` days (0: none) into its hour."""
    if keep_days <= 0:
        return Folded(0, 0, folded_until())
    cutoff = floor_hour(now - timedelta(days=keep_days))
    oldest = utc_of(PaymentMinute.select(peewee.fn.MIN(PaymentMinute.minute)).scalar())
    start = floor_hour(oldest) if oldest is not None and oldest < cutoff else cutoff
    minutes = hours = 0
    while True:
        end = min(start + timedelta(days=1), cutoff)
        with exclusive(database, LOCK):
            if start < end:  # else nothing has aged: only the boundary moves on
                moved = _fold_between(start, end)
                minutes, hours = minutes + moved[0], hours + moved[1]
            boundary = folded_until()
            if boundary is None or boundary < end:
                _set_folded_until(end)
        if end >= cutoff:
            return Folded(minutes, hours, max(end, boundary or end))
        start = end


def _fold_between(start: datetime, end: datetime) -> tuple[int, int]:
    """Add the minutes of [start, end) to their hours and delete them; (minutes, hours)."""
    db = PaymentMinute._meta.database
    in_range = (PaymentMinute.minute >= start) & (PaymentMinute.minute < end)
    hour = (
        peewee.fn.date_trunc("hour", PaymentMinute.minute)
        if is_postgres(db)
        else peewee.fn.strftime("%Y-%m-%d %H:00:00", PaymentMinute.minute)
    )
    series = [getattr(PaymentMinute, c) for c in SERIES_COLUMNS]
    sums = [
        peewee.fn.SUM(peewee.fn.COALESCE(getattr(PaymentMinute, c), 0))
        for c in (*COUNT_COLUMNS, *FEN_COLUMNS)
    ]
    grouped = PaymentMinute.select(hour, *series, *sums).where(in_range).group_by(hour, *series)
    totals = [getattr(PaymentHour, c) for c in (*COUNT_COLUMNS, *FEN_COLUMNS)]
    target = [PaymentHour.hour, *(getattr(PaymentHour, c) for c in SERIES_COLUMNS), *totals]
    hours = grouped.count()
    (
        PaymentHour.insert_from(grouped, target)
        .on_conflict(
            conflict_target=[PaymentHour.hour, *target[1:4]],
            update={t: t + peewee.EXCLUDED[t.column_name] for t in totals},
        )
        .execute()
    )
    folded = PaymentMinute.delete().where(in_range).execute()
    PaymentRevision.delete().where(
        (PaymentRevision.hour >= start) & (PaymentRevision.hour < end)
    ).execute()
    return folded, hours


def _set_folded_until(moment: datetime) -> None:
    State.insert(key=FOLDED_UNTIL, value=moment.isoformat()).on_conflict(
        conflict_target=[State.key], update={State.value: peewee.EXCLUDED.value}
    ).execute()
