"""Buckets into storage: minute rows replaced outcome by outcome, daily totals moved by the
difference, all under one lock so concurrent writers cannot interleave."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
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
MINUTE = timedelta(minutes=1)
STRETCH_FACTOR = 4  # a batch's minutes read as one stretch when it is at most this much longer


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
        latest = buckets.latest().replace(tzinfo=UTC)
        if latest > self.latest:
            raise Invalid.one(f"{at}minute", f"{utc_text(latest)} is in the future")
        folded = folded_until()
        earliest = buckets.earliest().replace(tzinfo=UTC)
        if folded is not None and earliest < folded:
            raise Invalid.one(
                f"{at}minute",
                f"{utc_text(earliest)} is in history kept per hour (minutes before "
                f"{utc_text(folded)} are folded, payments.keep_minutes_days): counts that old "
                "can no longer be replaced",
            )
        channels = buckets.channels()
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
    if len(buckets):
        bounds.check(buckets, field=field)
        _write(buckets)


def _write(buckets: Buckets) -> None:
    """Upsert the minute rows, each with only the outcomes it wrote (rows that wrote the same
    outcomes share one statement), move the day rows by the difference from what was stored,
    and renew the token of every hour written."""
    stored = _stored(buckets)
    masks = buckets.masks()
    for mask in masks:
        part = buckets if len(masks) == 1 else buckets.written_as(mask)
        present = PRESENT[mask]
        columns = [part.naive(), *(part.column(c) for c in SERIES_COLUMNS)]
        columns += [part.column(COUNT_COLUMNS[at]) for at in present]
        columns += [part.column(FEN_COLUMNS[at]) for at in present]
        PaymentMinute.upsert_many(present, _lists(columns))
    PaymentRevision.renew(buckets.hours())
    PaymentDay.add_many(_daily(buckets, stored))


def _lists(columns: list[pa.ChunkedArray]) -> list[list]:
    """Arrow columns as lists of Python values (timestamps as their text)."""
    return [
        (pc.cast(c, pa.string()) if pa.types.is_timestamp(c.type) else c).to_pylist()
        for c in columns
    ]


def _daily(buckets: Buckets, stored: pa.Table | None) -> list[list]:
    """Columns day, direction, channel, scope, *counts, *fens to add to the daily totals:
    each outcome written, less what it replaces."""
    keys, values = ["day", *SERIES_COLUMNS], [*COUNT_COLUMNS, *FEN_COLUMNS]
    written = [pc.fill_null(buckets.column(v), 0) for v in values]
    parts = [pa.table([*(buckets.column(k) for k in keys), *written], names=keys + values)]
    if stored is not None:  # what the outcomes written replace, taken away
        mask = stored.column("written")
        replaced = [
            pc.if_else(
                pc.not_equal(pc.bit_wise_and(mask, 1 << at % WIDTH), 0),  # a count, then a fen
                pc.negate(pc.fill_null(stored.column(v), 0)),
                0,
            )
            for at, v in enumerate(values)
        ]
        parts.append(pa.table([*(stored.column(k) for k in keys), *replaced], names=keys + values))
    added = pa.concat_tables(parts).group_by(keys).aggregate([(v, "sum") for v in values])
    return _lists([added.column(k) for k in keys] + [added.column(f"{v}_sum") for v in values])


def _stored(buckets: Buckets) -> pa.Table | None:
    """The stored counts and fens of the batch's (minute, series) keys that are stored, with
    the batch's `written` and `day` of each; None if none is (a first import asks once).
    Minutes close together (a file's batch) are read as one stretch, scattered ones by name."""
    earliest, latest = buckets.earliest(), buckets.latest()
    if not PaymentMinute.any_between(earliest, latest):
        return None
    minutes = buckets.minutes()
    if (latest - earliest) // MINUTE < STRETCH_FACTOR * len(minutes):
        rows = list(PaymentMinute.stored_between(earliest, latest))
    else:
        rows = []
        for start in range(0, len(minutes), KEY_LOOKUP_CHUNK):
            rows.extend(PaymentMinute.stored_at(minutes[start : start + KEY_LOOKUP_CHUNK]))
    if not rows:
        return None
    old = pa.table(
        [
            pa.array([int(minute.timestamp()) for minute in column], pa.int64())
            if k == 0
            else pa.array(column, _OLD_TYPES[k])
            for k, column in enumerate(zip(*rows, strict=True))
        ],
        names=["minute", *SERIES_COLUMNS, *COUNT_COLUMNS, *FEN_COLUMNS],
    )
    batch = buckets.table.select(["minute", *SERIES_COLUMNS, "written", "day"])
    return old.join(batch, keys=["minute", *SERIES_COLUMNS], join_type="inner")


_OLD_TYPES = [pa.int64(), pa.string(), pa.string(), pa.string()] + [pa.int64()] * 2 * WIDTH


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
    rows = [(*key, *counts, *fens) for key, (counts, fens) in daily.items()]
    PaymentDay.add_many(list(zip(*rows, strict=True)))
