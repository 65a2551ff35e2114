"""Buckets into storage: minute rows replaced outcome by outcome, daily totals moved by the
difference, all under one lock so concurrent writers cannot interleave."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from peewee import EXCLUDED

from tracker.core.display import utc_text
from tracker.core.incidents import FUTURE_TOLERANCE
from tracker.core.rates import day_of
from tracker.errors import Invalid
from tracker.models import (
    COUNT_COLUMNS,
    FEN_COLUMNS,
    SERIES_COLUMNS,
    PaymentChannel,
    PaymentDay,
    PaymentHour,
    PaymentMinute,
    PaymentRevision,
    State,
)
from tracker.services.payments.buckets import PRESENT, WIDTH, Buckets

log = logging.getLogger(__name__)

LOCK = "tracker.payments"
DAILY_ZONE = "payment_daily_zone"
FOLDED_UNTIL = "payments.folded_until"  # minutes before this instant are hours now (fold)
KEY_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Bounds:
    """What a write may store (DESIGN §3): minutes up to `latest` (now + 5 minutes), and new
    channels while there are fewer than `max_channels`."""

    latest: datetime
    max_channels: int

    @classmethod
    def at(cls, now: datetime, *, max_channels: int) -> Bounds:
        return cls(now + FUTURE_TOLERANCE, max_channels)

    def check(self, buckets: Buckets, *, field: str) -> None:
        """Refuse (422, nothing written) a minute ahead of `latest` or one channel too many;
        new channels are registered."""
        at = f"{field}." if field else ""
        latest = max(key[0] for key in buckets).replace(tzinfo=UTC)
        if latest > self.latest:
            raise Invalid.one(f"{at}minute", f"{utc_text(latest)} is in the future")
        folded = folded_until()
        earliest = min(key[0] for key in buckets).replace(tzinfo=UTC)
        if folded is not None and earliest < folded:
            raise Invalid.one(
                f"{at}minute",
                f"{utc_text(earliest)} is in history kept per hour (minutes before "
                f"{utc_text(folded)} are folded, payments.keep_minutes_days): counts that old "
                "can no longer be replaced",
            )
        channels = {key[2] for key in buckets}
        new = sorted(channels - PaymentChannel.known(channels))
        if not new:
            return
        room = self.max_channels - PaymentChannel.select().count()
        if len(new) > room:
            raise Invalid.one(
                f"{at}channel",
                f"{new[max(room, 0)]!r} would be channel {self.max_channels + 1}; at most "
                f"payments.max_channels ({self.max_channels}) channels are kept",
            )
        PaymentChannel.insert_many(
            [(name, self.latest - FUTURE_TOLERANCE) for name in new],
            fields=[PaymentChannel.name, PaymentChannel.first_seen],
        ).execute()


def write(buckets: Buckets, *, zone: ZoneInfo, bounds: Bounds, field: str = "counts") -> None:
    """Write folded buckets, replacing any stored outcome with the same key, and move the daily
    totals by the difference. Call inside `exclusive(database, LOCK)` so concurrent writers
    cannot interleave between reading the old counts and writing the new."""
    _ensure_daily_zone(zone)
    if buckets:
        bounds.check(buckets, field=field)
        _write(buckets)


def _write(buckets: Buckets) -> None:
    """Upsert the minute rows, each with only the outcomes it wrote (rows that wrote the same
    outcomes share one statement), move the day rows by the difference from what was stored,
    and renew the token of every hour written."""
    old = _stored(buckets)
    by_outcomes: dict[int, list[tuple]] = {}
    daily: dict[tuple, tuple[list[int], list[int]]] = {}
    for key, bucket in buckets.items():
        counts, fens, present, day = bucket.counts, bucket.fens, PRESENT[bucket.written], bucket.day
        by_outcomes.setdefault(bucket.written, []).append(
            (*key, *[counts[at] for at in present], *[fens[at] for at in present])
        )
        day_key = (day, *key[1:])
        total = daily.get(day_key) or daily.setdefault(day_key, ([0] * WIDTH, [0] * WIDTH))
        before = old.get(key)
        for at in present:
            total[0][at] += counts[at] - (before[0][at] or 0 if before else 0)
            total[1][at] += (fens[at] or 0) - (before[1][at] or 0 if before else 0)
    for outcomes, rows in by_outcomes.items():
        PaymentMinute.upsert_many(PRESENT[outcomes], rows)
    minutes = {key[0] for key in buckets}  # a few per thousand buckets: replace() those only
    PaymentRevision.renew({minute.replace(minute=0) for minute in minutes})
    PaymentDay.add_many([(*key, *counts, *fens) for key, (counts, fens) in daily.items()])


def _naive(minute: datetime) -> datetime:
    return minute.astimezone(UTC).replace(tzinfo=None)


def _stored(wide: Buckets) -> dict[tuple, tuple[tuple, tuple]]:
    """The stored (counts, fens) of every (naive minute, series) in the batch, looked up by
    the batch's distinct minutes."""
    minutes = sorted({key[0] for key in wide})
    stored = {}
    for start in range(0, len(minutes), KEY_LOOKUP_CHUNK):
        rows = PaymentMinute.stored_at(minutes[start : start + KEY_LOOKUP_CHUNK])
        for minute, direction, channel, scope, *values in rows:
            key = (_naive(minute), direction, channel, scope)
            if key in wide:
                stored[key] = (tuple(values[:WIDTH]), tuple(values[WIDTH:]))
    return stored


def folded_until() -> datetime | None:
    """Minutes before this instant (a UTC hour) are kept per hour; None: none are."""
    state = State.get_or_none(State.key == FOLDED_UNTIL)
    return None if state is None else datetime.fromisoformat(state.value)


def daily_zone() -> str | None:
    """The zone the daily totals are cut in (None before the first write)."""
    state = State.get_or_none(State.key == DAILY_ZONE)
    return None if state is None else state.value


def _ensure_daily_zone(zone: ZoneInfo) -> None:
    """Daily totals are cut at local midnight; if the configured zone changed, recut them."""
    current = daily_zone()
    if current == zone.key:
        return
    if current is not None:
        log.warning("time zone changed from %s to %s: rebuilding daily totals", current, zone.key)
        rebuild_daily_totals(zone)
    State.insert(key=DAILY_ZONE, value=zone.key).on_conflict(
        conflict_target=[State.key], update={State.value: EXCLUDED.value}
    ).execute()


def rebuild_daily_totals(zone: ZoneInfo) -> None:
    """Recompute every daily total from the minute rows and the hours of folded history, cut
    in `zone` (an hour of folded history goes to the day it starts in: exact in every zone
    whose midnight falls on a UTC hour)."""
    PaymentDay.delete().execute()
    daily: dict[tuple, tuple[list[int], list[int]]] = {}
    for model, period in ((PaymentHour, "hour"), (PaymentMinute, "minute")):
        columns = [
            getattr(model, c) for c in (period, *SERIES_COLUMNS, *COUNT_COLUMNS, *FEN_COLUMNS)
        ]
        for moment, direction, channel, scope, *values in model.select(*columns).tuples():
            key = (day_of(moment, zone), direction, channel, scope)
            total = daily.get(key) or daily.setdefault(key, ([0] * WIDTH, [0] * WIDTH))
            for at in range(WIDTH):
                total[0][at] += values[at] or 0
                total[1][at] += values[WIDTH + at] or 0
    PaymentDay.add_many([(*key, *counts, *fens) for key, (counts, fens) in daily.items()])
