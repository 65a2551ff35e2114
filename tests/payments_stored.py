"""What the payment tables hold, read back for the tests that check writes against it."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from tracker.core.rates import day_of
from tracker.models import COUNT_COLUMNS, SERIES_COLUMNS, PaymentDay, PaymentMinute


def stored_between(since: datetime | None = None, until: datetime | None = None) -> dict:
    """Stored counts of minutes in [since, until] (all, without bounds), keyed by (minute,
    direction, channel, scope, outcome)."""
    stored = {}
    columns = [PaymentMinute.minute, *(getattr(PaymentMinute, c) for c in SERIES_COLUMNS)]
    counts = [getattr(PaymentMinute, c) for c in COUNT_COLUMNS]
    query = PaymentMinute.select(*columns, *counts)
    if since is not None:
        query = query.where(PaymentMinute.minute.between(since, until))
    for minute, direction, channel, scope, *values in query.tuples():
        for column, value in zip(COUNT_COLUMNS, values, strict=True):
            if value is not None:
                stored[(minute, direction, channel, scope, column.removesuffix("_count"))] = value
    return stored


def stored_counts_of(channel: str) -> dict[tuple[datetime, str], dict[str, int]]:
    """(minute, direction) → {outcome: count} of one channel's stored minutes."""
    found: dict[tuple[datetime, str], dict[str, int]] = {}
    for (minute, direction, stored_channel, _scope, outcome), n in stored_between().items():
        if stored_channel == channel:
            found.setdefault((minute, direction), {})[outcome] = n
    return found


def daily_totals_add_up(zone: ZoneInfo) -> bool:
    """Every daily total equals the sum of its minutes (zero totals aside)."""
    from_minutes: Counter = Counter()
    for (minute, *series, outcome), count in stored_between().items():
        from_minutes[(day_of(minute, zone), *series, outcome)] += count
    days: Counter = Counter()
    columns = [PaymentDay.day, *(getattr(PaymentDay, c) for c in SERIES_COLUMNS)]
    counts = [getattr(PaymentDay, c) for c in COUNT_COLUMNS]
    for day, *rest in PaymentDay.select(*columns, *counts).tuples():
        series, values = rest[:3], rest[3:]
        for column, value in zip(COUNT_COLUMNS, values, strict=True):
            days[(day, *series, column.removesuffix("_count"))] += value or 0
    return _nonzero(from_minutes) == _nonzero(days)


def _nonzero(counts: Counter) -> dict:
    return {key: n for key, n in counts.items() if n != 0}  # a negative total must show
