"""Buckets into storage: minute rows replaced outcome by outcome, daily totals moved by the
difference, all under one lock so concurrent writers cannot interleave."""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Sequence
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


@dataclass(frozen=True)
class Ready:
    """Buckets with what writing them needs that reads no database, made while the batch
    before is being written (an import makes it on its reading thread): the storage rows'
    columns per set of outcomes written, the UTC hours written and the daily totals the
    outcomes written add up to."""

    buckets: Buckets
    minutes: list[tuple[tuple[int, ...], list[pa.ChunkedArray]]]
    hours: list[datetime]
    added: pa.Table  # day, series, Σ count and Σ fen per outcome written

    @classmethod
    def of(cls, buckets: Buckets) -> Ready:
        masks = buckets.masks()
        minutes = []
        for mask in masks:
            present = PRESENT[mask]
            names = [*SERIES_COLUMNS, *(COUNT_COLUMNS[at] for at in present)]
            part = buckets.table.select(["minute", *names, *(FEN_COLUMNS[at] for at in present)])
            if len(masks) > 1:  # the columns it writes, of the rows that write them
                part = part.filter(pc.equal(buckets.column("written"), mask))
            naive = pc.cast(part.column("minute"), pa.timestamp("s"))
            minutes.append((present, [naive, *part.columns[1:]]))
        written = PRESENT[functools.reduce(operator.or_, masks, 0)]
        return cls(buckets, minutes, buckets.hours(), _daily_sums(buckets.table, written))


def write(ready: Ready, *, zone: ZoneInfo, bounds: Bounds, field: str = "counts") -> None:
    """Write folded buckets (made `Ready`), replacing any stored outcome with the same key, and
    move the daily totals by the difference. Call inside `exclusive(database, LOCK)` so
    concurrent writers cannot interleave between reading the old counts and writing the new."""
    _ensure_daily_zone(zone)
    if len(ready.buckets):
        bounds.check(ready.buckets, field=field)
        _write(ready)


def _write(ready: Ready) -> None:
    """Upsert the minute rows, each with only the outcomes it wrote (rows that wrote the same
    outcomes share one statement), move the day rows by the difference from what was stored,
    and renew the token of every hour written."""
    stored = _stored(ready.buckets)
    for present, columns in ready.minutes:
        PaymentMinute.upsert_many(present, columns)
    PaymentRevision.renew(ready.hours)
    daily = ready.added
    if stored is not None:  # what the outcomes written replace, taken away
        daily = _daily_sums(pa.concat_tables([daily, _replaced(stored)]))
    PaymentDay.add_many(daily.columns)


_DAY_KEYS = ["day", *SERIES_COLUMNS]
_VALUES = [*COUNT_COLUMNS, *FEN_COLUMNS]


def _daily_sums(table: pa.Table, outcomes: Sequence[int] = range(WIDTH)) -> pa.Table:
    """Columns day, direction, channel, scope, *counts, *fens: the sums of `table`'s rows
    (buckets, or daily sums) per local day and series, a null counted as nothing; only the
    `outcomes` are added up (the others are 0)."""
    summed = [*(COUNT_COLUMNS[at] for at in outcomes), *(FEN_COLUMNS[at] for at in outcomes)]
    values = [pc.fill_null(table.column(v), 0) for v in summed]
    keyed = pa.table([*(table.column(k) for k in _DAY_KEYS), *values], names=_DAY_KEYS + summed)
    added = keyed.group_by(_DAY_KEYS).aggregate([(v, "sum") for v in summed])
    zero = pa.repeat(pa.scalar(0, pa.int64()), len(added))
    return pa.table(
        [
            *(added.column(k) for k in _DAY_KEYS),
            *(added.column(f"{v}_sum") if v in summed else zero for v in _VALUES),
        ],
        names=_DAY_KEYS + _VALUES,
    )


def _replaced(stored: pa.Table) -> pa.Table:
    """Stored rows as daily sums to add: each outcome the batch writes, negated (the outcome
    it does not write stays, and so does its share of the day)."""
    mask = stored.column("written")
    replaced = [
        pc.if_else(
            pc.not_equal(pc.bit_wise_and(mask, 1 << at % WIDTH), 0),  # a count, then a fen
            pc.negate(pc.fill_null(stored.column(v), 0)),
            0,
        )
        for at, v in enumerate(_VALUES)
    ]
    return pa.table([*(stored.column(k) for k in _DAY_KEYS), *replaced], names=_DAY_KEYS + _VALUES)


def _stored(buckets: Buckets) -> pa.Table | None:
    """The stored counts and fens of the batch's (minute, series) keys that are stored, with
    the batch's `written` and `day` of each; None if none is (a first import asks once).
    Minutes close together (a file's batch) are read as one stretch, scattered ones by name."""
    earliest, latest = buckets.earliest(), buckets.latest()
    if not PaymentMinute.any_between(earliest, latest):
        return None
    minutes = buckets.minutes()
    if (latest - earliest) // MINUTE < STRETCH_FACTOR * len(minutes):
        rows = PaymentMinute.stored_between(earliest, latest)
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
    if len(old) < len(batch):  # join only the batch's rows at the minutes stored
        at = pc.is_in(batch.column("minute"), value_set=pc.unique(old.column("minute")))
        batch = batch.filter(at)
    return old.join(batch, keys=["minute", *SERIES_COLUMNS], join_type="inner")


_OLD_TYPES = [pa.int64(), pa.string(), pa.string(), pa.string()] + [pa.int64()] * 2 * WIDTH


def folded_until() -> datetime | None:
    """Minutes before this instant (a UTC hour) are kept per hour; None: none are."""
    value = State.value_of(FOLDED_UNTIL)
    return None if value is None else datetime.fromisoformat(value)


def daily_zone() -> str | None:
    """The zone the daily totals are cut in (None before the first write)."""
    return State.value_of(DAILY_ZONE)


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
    types = [pa.date32(), *_OLD_TYPES[1:]]  # day, the series, counts and fens
    if rows:
        PaymentDay.add_many(
            [pa.array(c, t) for c, t in zip(zip(*rows, strict=True), types, strict=True)]
        )
