"""Payment counts: minute buckets with daily totals kept in step, and success rates over any
window at O(days + edge minutes)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from peewee import EXCLUDED

from tracker.core.display import utc_text
from tracker.core.incidents import FUTURE_TOLERANCE
from tracker.core.rates import (
    RateDefinition,
    RateFigure,
    add_counts,
    day_of,
    split_by_days,
    success_rate,
)
from tracker.core.texts import Lang
from tracker.db import database, exclusive
from tracker.errors import BatchTooLarge, Invalid
from tracker.models import (
    COUNT_COLUMNS,
    FEN_COLUMNS,
    SERIES_COLUMNS,
    PaymentChannel,
    PaymentDay,
    PaymentMinute,
    State,
)
from tracker.schemas import PaymentCountBatch, RateOut, RatesOut, validate_json
from tracker.services.payment_columns import NotCanonical, fold_objects
from tracker.services.payment_rows import WIDTH, BadRow, Buckets, fold, json_records
from tracker.services.periods import resolve_range

log = logging.getLogger(__name__)

LOCK = "tracker.payments"
DAILY_ZONE = "payment_daily_zone"
KEY_LOOKUP_CHUNK = 500
# The outcome positions set in a bitmask of written outcomes.
PRESENT = [tuple(at for at in range(WIDTH) if mask >> at & 1) for mask in range(1 << WIDTH)]


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


def ingest_json(raw: bytes, *, zone: ZoneInfo, bounds: Bounds, max_rows: int) -> int:
    """A JSON batch (`{"counts": [...]}`) stored all or nothing; returns its rows. More than
    `max_rows` rows is a 413, decided before any row is validated. orjson reads the body and
    the rows go the fast way (a batch of 10,000 costs a fraction of pydantic's time); a body
    of another shape goes through PaymentCountBatch, which names the fault (400, 422)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None  # pydantic's parser says why (400), or reads what orjson would not (2**64)
    rows = body.get("counts") if type(body) is dict else None
    if type(rows) is list and len(rows) > max_rows:
        raise BatchTooLarge(f"{len(rows)} rows in one batch; send at most {max_rows}")
    if type(body) is not dict or body.keys() != {"counts"} or type(rows) is not list:
        rows = validate_json(PaymentCountBatch, raw).counts
    return ingest(rows, zone=zone, bounds=bounds)


def ingest(rows: Sequence[Any], *, zone: ZoneInfo, bounds: Bounds, field: str = "counts") -> int:
    """Validate and upsert a batch of rows as JSON gave them, all or nothing; returns how many
    rows it held. An invalid row is refused naming it (`counts[3].minute`)."""
    try:
        folded = fold_objects(rows, zone=zone)
    except NotCanonical:
        try:
            folded = fold(json_records(rows), zone=zone)
        except BadRow as exc:
            raise Invalid(exc.at(field)) from None
    with exclusive(database, LOCK):
        write(folded.buckets, zone=zone, bounds=bounds, field=field)
    return folded.rows


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
    outcomes share one statement), and move the day rows by the difference from what was
    stored."""
    old = _stored(buckets)
    by_outcomes: dict[int, list[tuple]] = {}
    daily: dict[tuple, tuple[list[int], list[int]]] = {}
    for key, (counts, fens, written, day) in buckets.items():
        present = PRESENT[written]
        by_outcomes.setdefault(written, []).append(
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
    """Recompute every daily total from the minute rows, cut in `zone`."""
    PaymentDay.delete().execute()
    daily: dict[tuple, tuple[list[int], list[int]]] = {}
    columns = [
        getattr(PaymentMinute, c) for c in ("minute", *SERIES_COLUMNS, *COUNT_COLUMNS, *FEN_COLUMNS)
    ]
    for minute, direction, channel, scope, *values in PaymentMinute.select(*columns).tuples():
        key = (day_of(minute, zone), direction, channel, scope)
        total = daily.get(key) or daily.setdefault(key, ([0] * WIDTH, [0] * WIDTH))
        for at in range(WIDTH):
            total[0][at] += values[at] or 0
            total[1][at] += values[WIDTH + at] or 0
    PaymentDay.add_many([(*key, *counts, *fens) for key, (counts, fens) in daily.items()])


# ---- rates -----------------------------------------------------------------------------------


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
        return PaymentMinute.outcome_totals(**series, since=since, until=until)
    parts = [PaymentDay.outcome_totals(**series, first=split.days[0], end=split.days[1])]
    for edge in (split.head, split.tail):
        if edge is not None:
            parts.append(PaymentMinute.outcome_totals(**series, since=edge[0], until=edge[1]))
    return add_counts(*parts)


def channels_between(since: datetime, until: datetime, *, zone: ZoneInfo) -> list[str]:
    """The channels with counts in [since, until), from day rows and edge minutes."""
    split = split_by_days(since, until, zone)
    if split.days is None or _daily_zone() != zone.key:
        return PaymentMinute.channels_between(since, until)
    found = set(PaymentDay.channels_between(*split.days))
    for edge in (split.head, split.tail):
        if edge is not None:
            found.update(PaymentMinute.channels_between(*edge))
    return sorted(found)


def rates_between(
    definitions: Sequence[RateDefinition],
    *,
    since: datetime,
    until: datetime,
    channel: str | None,
    zone: ZoneInfo,
) -> list[RateFigure]:
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
        rates.append(success_rate(totals[series], definition.excludes).named(definition))
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
    lang: Lang = "zh",
) -> RatesOut:
    """Every configured rate over a window (default `wtd`) or range, for a channel or `all`;
    labels and display in `lang`."""
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
    items = [_rate_view(r, lang) for r in rates]
    return RatesOut(since=since, until=until, channel=channel, items=items)


def _rate_view(rate: RateFigure, lang: Lang) -> RateOut:
    return RateOut(**rate.to_json(lang), label_en=rate.label_en)
