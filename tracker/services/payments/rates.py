"""Success rates over any window at O(days + edge minutes): whole local days from the daily
totals, the edges from the minute rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from tracker.core.rates import RateDefinition, RateFigure, add_counts, split_by_days, success_rate
from tracker.core.texts import Lang
from tracker.db import replica_reads
from tracker.models import PaymentDay, PaymentMinute
from tracker.schemas import RateOut, RatesOut
from tracker.services.payments.store import daily_zone
from tracker.services.periods import resolve_range


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
    if split.days is None or daily_zone() != zone.key:
        return PaymentMinute.outcome_totals(**series, since=since, until=until)
    parts = [PaymentDay.outcome_totals(**series, first=split.days[0], end=split.days[1])]
    for edge in (split.head, split.tail):
        if edge is not None:
            parts.append(PaymentMinute.outcome_totals(**series, since=edge[0], until=edge[1]))
    return add_counts(*parts)


def channels_between(since: datetime, until: datetime, *, zone: ZoneInfo) -> list[str]:
    """The channels with counts in [since, until), from day rows and edge minutes."""
    split = split_by_days(since, until, zone)
    if split.days is None or daily_zone() != zone.key:
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


def rates_by_channel(
    definitions: Sequence[RateDefinition], *, since: datetime, until: datetime, zone: ZoneInfo
) -> dict[str, list[RateFigure]]:
    """Every configured rate over [since, until) of each channel with counts in it, in name
    order: the same figures as `rates_between` channel by channel, from one query per part
    (days, and each edge) for every channel and series at once."""
    split = split_by_days(since, until, zone)
    if split.days is None or daily_zone() != zone.key:
        parts = [PaymentMinute.totals_by_series(since, until)]
    else:
        parts = [PaymentDay.totals_by_series(*split.days)]
        parts += [PaymentMinute.totals_by_series(*e) for e in (split.head, split.tail) if e]
    totals: dict[tuple[str, str, str], dict[str, int]] = {}
    for part in parts:
        for key, counts in part.items():
            totals[key] = add_counts(totals[key], counts) if key in totals else counts
    channels = sorted({channel for _, channel, _ in totals})
    return {
        channel: [
            success_rate(totals.get((d.direction, channel, d.scope), {}), d.excludes).named(d)
            for d in definitions
        ]
        for channel in channels
    }


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
    with replica_reads():  # a range query tolerates the replica's lag
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
