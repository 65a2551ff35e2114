"""Payment counts: minute buckets with daily totals kept in step, and success rates over any
window at O(days + edge minutes)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from zoneinfo import ZoneInfo

from peewee import EXCLUDED

from tracker.core.display import percent
from tracker.core.rates import (
    RateDefinition,
    RateValue,
    add_counts,
    day_of,
    split_by_days,
    success_rate,
)
from tracker.core.windows import resolve_range
from tracker.db import database, exclusive
from tracker.models import PaymentCount, PaymentDaily, State
from tracker.schemas import PaymentCountIn, RateOut, RatesOut

log = logging.getLogger(__name__)

LOCK = "tracker.payments"
DAILY_ZONE = "payment_daily_zone"
CHUNK = 1000  # rows per multi-row INSERT (SQLite allows 32766 parameters)
KEY_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Bucket:
    """One minute of one series and outcome; `minute` is aware UTC."""

    minute: datetime
    direction: str
    channel: str
    scope: str
    outcome: str
    count: int
    amount: Decimal | None = None

    @property
    def key(self) -> tuple[datetime, str, str, str, str]:
        return (self.minute, self.direction, self.channel, self.scope, self.outcome)


def ingest(buckets: Sequence[Bucket], *, zone: ZoneInfo) -> int:
    """Upsert a batch all or nothing; returns how many rows it held."""
    with exclusive(database, LOCK):
        upsert_buckets(buckets, zone=zone)
    return len(buckets)


def upsert_buckets(buckets: Iterable[Bucket], *, zone: ZoneInfo) -> None:
    """Write buckets, replacing any stored with the same key, and move the daily totals by the
    difference. Call inside `exclusive(database, LOCK)` so concurrent writers cannot interleave
    between reading the old counts and writing the new."""
    _ensure_daily_zone(zone)
    latest = {b.key: b for b in buckets}  # within a batch, the last row of a key wins
    if not latest:
        return
    old = _stored(latest)
    daily: dict[tuple[date, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for key, bucket in latest.items():
        before_count, before_amount = old.get(key, (0, None))
        total = daily[(day_of(bucket.minute, zone), *key[1:])]
        total[0] += bucket.count - before_count
        total[1] += _fen(bucket.amount) - _fen(before_amount)
    for chunk in _chunks(latest.values(), CHUNK):
        PaymentCount.insert_many(
            [
                (b.minute, b.direction, b.channel, b.scope, b.outcome, b.count, b.amount)
                for b in chunk
            ],
            fields=_COUNT_FIELDS,
        ).on_conflict(
            conflict_target=_COUNT_KEY,
            update={PaymentCount.count: EXCLUDED.count, PaymentCount.amount: EXCLUDED.amount},
        ).execute()
    _add_daily(daily)


_COUNT_KEY = [
    PaymentCount.minute,
    PaymentCount.direction,
    PaymentCount.channel,
    PaymentCount.scope,
    PaymentCount.outcome,
]
_COUNT_FIELDS = [*_COUNT_KEY, PaymentCount.count, PaymentCount.amount]
_DAILY_KEY = [
    PaymentDaily.day,
    PaymentDaily.direction,
    PaymentDaily.channel,
    PaymentDaily.scope,
    PaymentDaily.outcome,
]


def _fen(amount: Decimal | None) -> int:
    return 0 if amount is None else int(amount.scaleb(2))


def _chunks(items: Iterable[Bucket], size: int) -> Iterator[list[Bucket]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _stored(latest: dict[tuple, Bucket]) -> dict[tuple, tuple[int, Decimal | None]]:
    """The stored (count, amount) of every key in the batch, looked up series by series."""
    minutes: dict[tuple[str, str, str], set[datetime]] = defaultdict(set)
    for minute, direction, channel, scope, _ in latest:
        minutes[(direction, channel, scope)].add(minute)
    stored = {}
    for (direction, channel, scope), wanted in minutes.items():
        ordered = sorted(wanted)
        for start in range(0, len(ordered), KEY_LOOKUP_CHUNK):
            chunk = ordered[start : start + KEY_LOOKUP_CHUNK]
            for row in PaymentCount.existing(direction, channel, scope, chunk[0], chunk[-1]):
                key = (row.minute, direction, channel, scope, row.outcome)
                if key in latest:
                    stored[key] = (row.count, row.amount)
    return stored


def _add_daily(daily: dict[tuple[date, str, str, str, str], list[int]]) -> None:
    rows = [(*key, count, fen) for key, (count, fen) in daily.items() if count or fen]
    for start in range(0, len(rows), CHUNK):
        PaymentDaily.insert_many(
            [(*r[:6], Decimal(r[6]).scaleb(-2)) for r in rows[start : start + CHUNK]],
            fields=[*_DAILY_KEY, PaymentDaily.count, PaymentDaily.amount],
        ).on_conflict(
            conflict_target=_DAILY_KEY,
            update={
                PaymentDaily.count: PaymentDaily.count + EXCLUDED.count,
                PaymentDaily.amount: PaymentDaily.amount + EXCLUDED.amount,
            },
        ).execute()


def _daily_zone() -> str | None:
    state = State.get_or_none(State.key == DAILY_ZONE)
    return None if state is None else state.value


def _ensure_daily_zone(zone: ZoneInfo) -> None:
    """Daily totals are cut at local midnight; if the configured zone changed, recut them."""
    current = _daily_zone()
    if current == zone.key:
        return
    if current is not None:
        log.warning("time zone changed from %s to %s: rebuilding daily totals", current, zone.key)
        rebuild_daily_totals(zone)
    State.insert(key=DAILY_ZONE, value=zone.key).on_conflict(
        conflict_target=[State.key], update={State.value: EXCLUDED.value}
    ).execute()


def rebuild_daily_totals(zone: ZoneInfo) -> None:
    """Recompute every daily total from the minute buckets, cut in `zone`."""
    PaymentDaily.delete().execute()
    daily: dict[tuple[date, str, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    query = PaymentCount.select().order_by(PaymentCount.minute)
    for row in query.iterator():
        total = daily[
            (day_of(row.minute, zone), row.direction, row.channel, row.scope, row.outcome)
        ]
        total[0] += row.count
        total[1] += _fen(row.amount)
    _add_daily(daily)


# ---- rates -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    definition: RateDefinition
    value: RateValue


def outcome_totals(
    *,
    direction: str,
    scope: str,
    channel: str | None,
    since: datetime,
    until: datetime,
    zone: ZoneInfo,
) -> dict[str, int]:
    """Σ count per outcome over [since, until): whole local days from the daily totals, the
    edges from the minute buckets (only minutes, if the totals were cut in another zone)."""
    series = {"direction": direction, "scope": scope, "channel": channel}
    split = split_by_days(since, until, zone)
    if split.days is None or _daily_zone() != zone.key:
        return PaymentCount.outcome_totals(**series, since=since, until=until)
    parts = [PaymentDaily.outcome_totals(**series, first=split.days[0], end=split.days[1])]
    for edge in (split.head, split.tail):
        if edge is not None:
            parts.append(PaymentCount.outcome_totals(**series, since=edge[0], until=edge[1]))
    return add_counts(*parts)


def rates_between(
    definitions: Sequence[RateDefinition],
    *,
    since: datetime,
    until: datetime,
    channel: str | None,
    zone: ZoneInfo,
) -> list[Rate]:
    """Every configured rate over [since, until) for one channel (None: all channels)."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    rates = []
    for definition in definitions:
        series = (definition.direction, definition.scope)
        if series not in totals:
            totals[series] = outcome_totals(
                direction=definition.direction,
                scope=definition.scope,
                channel=channel,
                since=since,
                until=until,
                zone=zone,
            )
        rates.append(Rate(definition, success_rate(totals[series], definition.excludes)))
    return rates


def rates_report(
    *,
    window: str | None,
    since: datetime | None,
    until: datetime | None,
    channel: str,
    now: datetime,
    definitions: Sequence[RateDefinition],
    zone: ZoneInfo,
) -> RatesOut:
    """Every configured rate over a window (default `wtd`) or range, for a channel or `all`."""
    since, until, _ = resolve_range(
        window=window, since=since, until=until, now=now, zone=zone, default="wtd"
    )
    rates = rates_between(
        definitions,
        since=since,
        until=until,
        channel=None if channel == "all" else channel,
        zone=zone,
    )
    return RatesOut(since=since, until=until, channel=channel, items=[_rate_view(r) for r in rates])


def _rate_view(rate: Rate) -> RateOut:
    value = rate.value.value
    return RateOut(
        rate=rate.definition.name,
        label=rate.definition.label_zh,
        label_en=rate.definition.label_en,
        value=None if value is None else float(value),
        display=percent(value, lang="en"),
        numerator=rate.value.numerator,
        denominator=rate.value.denominator,
    )


def buckets_from(rows: Iterable[PaymentCountIn]) -> list[Bucket]:
    return [
        Bucket(r.minute, r.direction, r.channel, r.scope, r.outcome, r.count, r.amount)
        for r in rows
    ]
