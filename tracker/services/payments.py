"""Payment counts: minute buckets with daily totals kept in step, and success rates over any
window at O(days + edge minutes)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
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
from tracker.errors import Invalid
from tracker.models import PaymentCount, PaymentDaily, State
from tracker.schemas import PaymentCountRow, RateOut, RatesOut

log = logging.getLogger(__name__)

LOCK = "tracker.payments"
DAILY_ZONE = "payment_daily_zone"
KEY_LOOKUP_CHUNK = 500


# One minute of one series and outcome: (minute (aware), direction, channel, scope, outcome,
# count, amount in fen or None). Plain tuples: ingestion makes millions of them.
Bucket = tuple[datetime, str, str, str, str, int, int | None]
WHOLE_MINUTE = "must be the start of a whole minute (seconds = 0)"


def ingest(rows: Sequence[PaymentCountRow], *, zone: ZoneInfo) -> int:
    """Upsert a batch all or nothing; returns how many rows it held."""
    with exclusive(database, LOCK):
        upsert_buckets(buckets_from(rows), zone=zone)
    return len(rows)


def upsert_buckets(buckets: Iterable[Bucket], *, zone: ZoneInfo) -> None:
    """Write buckets, replacing any stored with the same key, and move the daily totals by the
    difference. Call inside `exclusive(database, LOCK)` so concurrent writers cannot interleave
    between reading the old counts and writing the new."""
    _ensure_daily_zone(zone)
    minutes: dict[datetime, tuple[datetime, date]] = {}  # aware → (naive UTC, local day)
    latest: dict[tuple, tuple[int, int | None, tuple]] = {}
    for minute, direction, channel, scope, outcome, count, fen in buckets:
        known = minutes.get(minute)
        if known is None:
            known = minutes[minute] = (_naive(minute), day_of(minute, zone))
        # within a batch, the last row of a key wins
        latest[(known[0], direction, channel, scope, outcome)] = (
            count,
            fen,
            (known[1], direction, channel, scope, outcome),
        )
    if not latest:
        return
    old = _stored(latest)
    daily_counts: dict[tuple, int] = defaultdict(int)
    daily_fen: dict[tuple, int] = defaultdict(int)
    rows = [(*key, count, fen) for key, (count, fen, _) in latest.items()]
    for key, (count, fen, day_key) in latest.items():
        if old and key in old:
            before_count, before_fen = old[key]
            daily_counts[day_key] += count - before_count
            daily_fen[day_key] += (fen or 0) - before_fen
        else:
            daily_counts[day_key] += count
            if fen:
                daily_fen[day_key] += fen
    PaymentCount.upsert_many(rows)
    PaymentDaily.add_many(
        [(*k, n, daily_fen.get(k, 0)) for k, n in daily_counts.items() if n or daily_fen.get(k)]
    )


def _naive(minute: datetime) -> datetime:
    return minute.astimezone(UTC).replace(tzinfo=None)


def _fen(amount: Decimal | None) -> int:
    return 0 if amount is None else int(amount.scaleb(2))


def fen_of(amount: str | None) -> int | None:
    """ "12.5" → 1250: an amount already checked to have at most two places, in fen."""
    if amount is None:
        return None
    whole, _, cents = amount.partition(".")
    return int(whole) * 100 + int(cents.ljust(2, "0") or 0)


def _stored(latest: dict[tuple, tuple]) -> dict[tuple, tuple[int, int]]:
    """The stored (count, fen) of every key (naive UTC minute first) in the batch, looked up
    series by series."""
    minutes: dict[tuple[str, str, str], set[datetime]] = defaultdict(set)
    for minute, direction, channel, scope, _ in latest:
        minutes[(direction, channel, scope)].add(minute)
    stored = {}
    for (direction, channel, scope), wanted in minutes.items():
        ordered = sorted(wanted)
        for start in range(0, len(ordered), KEY_LOOKUP_CHUNK):
            chunk = ordered[start : start + KEY_LOOKUP_CHUNK]
            rows = PaymentCount.existing(direction, channel, scope, chunk[0], chunk[-1])
            for minute, outcome, count, amount in rows:
                key = (_naive(minute), direction, channel, scope, outcome)
                if key in latest:
                    stored[key] = (count, _fen(amount))
    return stored


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
    PaymentDaily.add_many([(*k, n, f) for k, (n, f) in daily.items() if n or f])


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


def buckets_from(rows: Iterable[PaymentCountRow], *, field: str = "counts") -> Iterator[Bucket]:
    """Validated rows as buckets; a minute that is not whole is refused naming its row."""
    checked: set[datetime] = set()
    for index, row in enumerate(rows):
        minute = row["minute"]
        if minute not in checked:
            if minute.second or minute.microsecond:
                raise Invalid.one(f"{field}[{index}].minute", WHOLE_MINUTE)
            checked.add(minute)
        amount = row.get("amount")
        yield (
            minute,
            row["direction"],
            row["channel"],
            row["scope"],
            row["outcome"],
            row["count"],
            None if amount is None else fen_of(amount),
        )
