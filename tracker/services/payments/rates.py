"""Success rates over any window at O(days + edge minutes): whole local days from the daily
totals, the edges from the minute rows (or, in folded history, the hour rows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tracker.core.rates import RateDefinition, RateFigure, add_counts, split_by_days, success_rate
from tracker.core.texts import Lang
from tracker.db import replica_reads
from tracker.models import PaymentDay
from tracker.schemas import RateOut, RatesOut
from tracker.services.payments.fold import fine_parts, widened
from tracker.services.payments.store import daily_zone, folded_until
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
        edges = [(since, until)]
        parts = []
    else:
        edges = [edge for edge in (split.head, split.tail) if edge is not None]
        parts = [PaymentDay.outcome_totals(**series, first=split.days[0], end=split.days[1])]
    for model, first, end in _fine(edges):
        parts.append(model.outcome_totals(**series, since=first, until=end))
    return add_counts(*parts)


def _fine(edges: Sequence[tuple[datetime, datetime]]) -> list[tuple[Any, datetime, datetime]]:
    """Where the counts of stretches shorter than a day are: minutes, or the hours of
    folded history (services/payments/fold)."""
    edge = folded_until()
    return [part for since, until in edges for part in fine_parts(since, until, edge)]


def channels_between(since: datetime, until: datetime, *, zone: ZoneInfo) -> list[str]:
    """The channels with counts in [since, until), from day rows and edge minutes."""
    split = split_by_days(since, until, zone)
    if split.days is None or daily_zone() != zone.key:
        edges, found = [(since, until)], set()
    else:
        edges = [edge for edge in (split.head, split.tail) if edge is not None]
        found = set(PaymentDay.channels_between(*split.days))
    for model, first, end in _fine(edges):
        found.update(model.channels_between(first, end))
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
        edges, parts = [(since, until)], []
    else:
        edges = [edge for edge in (split.head, split.tail) if edge is not None]
        parts = [PaymentDay.totals_by_series(*split.days)]
    parts += [model.totals_by_series(first, end) for model, first, end in _fine(edges)]
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
        counted_since, counted_until, exact_to = counted_bounds(since, until, zone)
    items = [_rate_view(r, lang) for r in rates]
    return RatesOut(
        since=since,
        until=until,
        counted_since=counted_since,
        counted_until=counted_until,
        exact_to=exact_to,
        channel=channel,
        items=items,
    )


def counted_bounds(
    since: datetime, until: datetime, zone: ZoneInfo
) -> tuple[datetime, datetime, str]:
    """The bounds a count over [since, until) really covers, and to what it is exact
    (`minute`, or `hour` when an edge lies in folded history off the hour): whole local days
    are exact from their totals, the other edges are read as `widened` says."""
    split = split_by_days(since, until, zone)
    whole = split.days is not None and daily_zone() == zone.key
    fine_since, fine_until = widened(since, until, folded_until())
    first = since if whole and split.head is None else fine_since
    end = until if whole and split.tail is None else fine_until
    return first, end, "minute" if (first, end) == (since, until) else "hour"


def _rate_view(rate: RateFigure, lang: Lang) -> RateOut:
    return RateOut(**rate.to_json(lang), label_en=rate.label_en)
