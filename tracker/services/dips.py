"""Unlogged dips (DESIGN §12): where the success rates fell and no record covers it.

Dips are found hour by hour (UTC hours, each read with the `window − 1` minutes before it)
and the hours' dips joined (`core.dips.joined`, exact). A process remembers each hour's dips
while that hour's revision token and its predecessor's stay as they were (every write of
minutes renews its hours' tokens, in its transaction), so the rollup, which looks at the last
7 days every minute, reads again only the hours written since: the current one, mostly.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import peewee

from tracker.core.dips import Dip, FoundDip, find_dips, joined
from tracker.core.display import utc_text
from tracker.core.notifications.messages import DIP_EVENT
from tracker.core.rates import RateDefinition
from tracker.core.snapshot import DipCountRow
from tracker.core.vocabulary import ALL
from tracker.core.windows import ROLLING_WINDOWS
from tracker.db import replica_reads
from tracker.models import (
    Incident,
    MaintenanceWindow,
    PaymentMinute,
    PaymentRevision,
    State,
    utc_of,
)
from tracker.services import notifications
from tracker.settings import Settings

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
HOUR_MINUTES = 60
MAX_RANGE = timedelta(days=31)  # the most one request asks about (DESIGN §12)
# Hours remembered: two 31-day ranges, so the dashboard's week and a month's report both
# stay warm. An hour's entry holds only its dips (few, mostly none).
KEPT_HOURS = 2 * 31 * 24


def watched(settings: Settings) -> list[RateDefinition]:
    """The rates whose dips are looked for: those with a `dip_below`."""
    return [d for d in settings.payments.definitions() if d.dip_below is not None]


def dips_between(
    since: datetime,
    until: datetime,
    *,
    settings: Settings,
    now: datetime,
    channel: str | None = None,
    rate: str | None = None,
) -> list[FoundDip]:
    """The dips with a low minute in [since, until), of every watched rate (or `rate`) on
    every channel and `all` (or `channel` only), each with what covers it, in time order. A
    dip is whole within the UTC hours the range touches."""
    options = {"settings": settings, "now": now, "channel": channel, "rate": rate}
    with replica_reads():  # dips tolerate the replica's lag
        found, _ = _dips_and_channels(since, until, **options)
    return found


def _dips_and_channels(
    since: datetime,
    until: datetime,
    *,
    settings: Settings,
    now: datetime,
    channel: str | None = None,
    rate: str | None = None,
) -> tuple[list[FoundDip], list[str]]:
    """`dips_between`, and the channels with counts in the hours read, in name order."""
    definitions = [d for d in watched(settings) if rate is None or d.name == rate]
    if not definitions or since >= until:
        return [], []
    first_minute, end_minute = _minute_at_or_after(since), _minute_at_or_after(until)
    first_hour = first_minute.replace(minute=0)
    hours = [first_hour + i * HOUR for i in range(_hours_between(first_hour, end_minute))]
    found, counted = _BLOCKS.dips(hours, definitions, settings)
    low_from, low_until = _position(first_minute), _position(end_minute)
    labels = {d.name: (d.label_zh, d.label_en) for d in definitions}
    dips = [
        FoundDip(
            name,
            *labels[name],
            series_channel,
            _moment(dip.start),
            _moment(dip.end),
            dip.worst,
            dip.attempts,
            dip.failures,
        )
        for (name, series_channel), series in sorted(found.items())
        if channel is None or series_channel == channel
        for dip in series
        if dip.first_low < low_until and dip.end > low_from  # a low minute in the range
    ]
    dips.sort(key=lambda d: (d.started_at, d.rate, d.channel != ALL, d.channel))
    return covered(dips, settings=settings, now=now), sorted(counted)


ROLLUP_WINDOWS = ("1d", "7d")  # tracker_payment_dips_unlogged{window}


def unlogged_in_windows(
    *, now: datetime, settings: Settings
) -> tuple[list[DipCountRow], list[FoundDip]]:
    """What the rollup keeps: how many dips of each watched rate on each channel (and `all`)
    no record covers, with a low minute in the last day and week (every channel with counts
    in the week present, from zero), and those of the week."""
    if not watched(settings):
        return [], []
    week = now - ROLLING_WINDOWS["7d"]
    found, seen = _dips_and_channels(week, now, settings=settings, now=now)
    found = [d for d in found if not d.logged]
    channels = [ALL, *seen]
    rows = []
    for window in ROLLUP_WINDOWS:
        low_from = _minute_at_or_after(now - ROLLING_WINDOWS[window])
        inside = Counter((d.rate, d.channel) for d in found if d.ended_at > low_from)
        rows += [
            DipCountRow(d.name, channel, window, inside[d.name, channel])
            for d in watched(settings)
            for channel in channels
        ]
    return rows, found


def announce(unlogged: Sequence[FoundDip], *, now: datetime, settings: Settings) -> int:
    """Queue `payments.dip_unlogged` for each dip no record has covered within
    `dips.notify_after_minutes` of its first low minute, once: the start of the last dip
    announced is kept per rate and channel. Call in the transaction storing the snapshot."""
    if not any(notifications.wants(c, DIP_EVENT) for c in settings.notifications.channels):
        return 0
    waited = timedelta(
        minutes=settings.dips.window_minutes - 1 + settings.dips.notify_after_minutes
    )
    queued = 0
    for dip in unlogged:
        if dip.logged or dip.started_at + waited > now:
            continue
        key = (
            "dips.announced:"
            + hashlib.sha256(f"{dip.rate}\0{dip.channel}".encode()).hexdigest()[:40]
        )
        last = State.value_of(key)
        started = utc_text(dip.started_at)
        if last is not None and last >= started:
            continue
        queued += notifications.dip_event(dip, now=now, settings=settings)
        State.insert(key=key, value=started).on_conflict(
            conflict_target=[State.key], update={State.value: started}
        ).execute()
    return queued


def covered(dips: Sequence[FoundDip], *, settings: Settings, now: datetime) -> list[FoundDip]:
    """The dips with the records (non-cancelled, drafts too) impaired during them and the
    maintenance windows covering them, each widened by `dips.slack_minutes` on each side."""
    if not dips:
        return []
    slack = timedelta(minutes=settings.dips.slack_minutes)
    low = min(d.started_at for d in dips) - slack
    high = max(d.ended_at for d in dips) + slack
    end = peewee.fn.COALESCE(Incident.mitigated_at, Incident.resolved_at)
    records = (
        Incident.select(
            Incident.id, Incident.impact_started_at, Incident.mitigated_at, Incident.resolved_at
        )
        .where(
            (Incident.status != "cancelled")
            & (Incident.impact_started_at < high)
            & (end.is_null() | (end > Incident.mitigated_at.db_value(low)))
        )
        .tuples()
    )
    spans = [
        (utc_of(start) - slack, (utc_of(mitigated or resolved) or now) + slack, rid)
        for rid, start, mitigated, resolved in records
    ]
    windows = [
        (w.starts_at - slack, w.ends_at + slack, w.id)
        for w in MaintenanceWindow.overlapping(low, high).where(
            MaintenanceWindow.cancelled_at.is_null()
        )
    ]
    return [
        replace(
            d,
            incident_ids=tuple(
                sorted(i for s, e, i in spans if s < d.ended_at and e > d.started_at)
            ),
            maintenance_ids=tuple(
                sorted(i for s, e, i in windows if s <= d.started_at and e >= d.ended_at)
            ),
        )
        for d in dips
    ]


def _minute_at_or_after(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + MINUTE


def _hours_between(first_hour: datetime, end_minute: datetime) -> int:
    return -(-int((end_minute - first_hour) / MINUTE) // HOUR_MINUTES)


def _position(moment: datetime) -> int:
    """A whole UTC minute as minutes since 1970."""
    return int(moment.timestamp()) // 60


def _moment(position: int) -> datetime:
    return datetime.fromtimestamp(position * 60, UTC)


Found = dict[tuple[str, str], list[Dip]]  # (rate, channel or `all`) → its dips, in time order


@dataclass(frozen=True)
class _Hour:
    """What an hour of minutes showed: its dips, and the channels with counts in it."""

    found: Found
    channels: frozenset[str]


class _Blocks:
    """The dips of each UTC hour, remembered under the revision tokens they were found with
    (the hour's and the one before's, whose last minutes fill its first windows)."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[int, datetime], tuple[tuple, _Hour]] = OrderedDict()
        self._options: dict[tuple, int] = {}  # what the dips were found with → a short key
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()

    def dips(
        self, hours: Sequence[datetime], definitions: Sequence[RateDefinition], settings: Settings
    ) -> tuple[Found, frozenset[str]]:
        """Every dip of these consecutive hours, joined across them, and the channels with
        counts in them."""
        found_with = (
            settings.dips.window_minutes,
            settings.dips.min_attempts,
            tuple((d.name, d.direction, d.scope, d.excludes, d.dip_below) for d in definitions),
        )
        with self._lock:
            options = self._options.setdefault(found_with, len(self._options))
        tokens = PaymentRevision.tokens(hours[0] - HOUR, hours[-1] + HOUR)
        wanted = {hour: (tokens.get(hour - HOUR), tokens.get(hour)) for hour in hours}
        per_hour: dict[datetime, _Hour] = {}
        with self._lock:
            for hour in hours:
                kept = self._kept.get((options, hour))
                # an hour never written holds nothing any write told us of: read it again
                if kept is not None and kept[0] == wanted[hour] and wanted[hour][1] is not None:
                    self._kept.move_to_end((options, hour))
                    per_hour[hour] = kept[1]
        missing = [hour for hour in hours if hour not in per_hour]
        for stretch in _stretches(missing):
            for hour, found in _read_hours(stretch, definitions, settings).items():
                per_hour[hour] = found
                with self._lock:
                    self._kept[(options, hour)] = (wanted[hour], found)
                    self._kept.move_to_end((options, hour))
                    while len(self._kept) > KEPT_HOURS:
                        self._kept.popitem(last=False)
        whole: dict[tuple[str, str], list[Dip]] = {}
        channels: set[str] = set()
        for hour in hours:
            read = per_hour[hour]
            channels |= read.channels
            for key, dips in read.found.items():
                whole.setdefault(key, []).extend(dips)
        return {key: joined(dips) for key, dips in whole.items()}, frozenset(channels)


_BLOCKS = _Blocks()


def forget() -> None:
    """Drop every remembered hour (benchmarks measure the reading)."""
    _BLOCKS.clear()


def _stretches(hours: Sequence[datetime]) -> Iterable[list[datetime]]:
    """Consecutive hours grouped, so that each stretch is read in one query per series."""
    stretch: list[datetime] = []
    for hour in hours:
        if stretch and hour != stretch[-1] + HOUR:
            yield stretch
            stretch = []
        stretch.append(hour)
    if stretch:
        yield stretch


def _read_hours(
    hours: Sequence[datetime], definitions: Sequence[RateDefinition], settings: Settings
) -> dict[datetime, _Hour]:
    """The dips of each of these consecutive hours, from one read of their minutes (and the
    `window − 1` before them) per direction and scope."""
    window, floor = settings.dips.window_minutes, settings.dips.min_attempts
    lead = window - 1
    base = _position(hours[0]) - lead  # position 0 of the minute lists
    size = len(hours) * HOUR_MINUTES + lead
    found: dict[datetime, Found] = {hour: {} for hour in hours}
    counted: dict[datetime, set[str]] = {hour: set() for hour in hours}
    by_series: dict[tuple[str, str], list[RateDefinition]] = {}
    for definition in definitions:
        by_series.setdefault((definition.direction, definition.scope), []).append(definition)
    for (direction, scope), rates in by_series.items():
        minutes = _minute_counts(
            direction, scope, rates, base=base, size=size, until=hours[-1] + HOUR
        )
        for channel, columns in minutes.items():
            for at, definition in enumerate(rates):
                successes, attempts = columns[2 * at], columns[2 * at + 1]
                for index, hour in enumerate(hours):
                    start = index * HOUR_MINUTES  # the hour's lead minutes start here
                    piece = slice(start, start + HOUR_MINUTES + lead)
                    dips = find_dips(
                        successes[piece],
                        attempts[piece],
                        window=window,
                        min_attempts=floor,
                        below=definition.dip_below,
                        first=lead,
                    )
                    if dips:
                        offset = base + start
                        found[hour][definition.name, channel] = [_moved(d, offset) for d in dips]
                    if channel != ALL and any(attempts[start + lead : start + lead + HOUR_MINUTES]):
                        counted[hour].add(channel)
    return {hour: _Hour(found[hour], frozenset(counted[hour])) for hour in hours}


def _minute_counts(
    direction: str,
    scope: str,
    rates: Sequence[RateDefinition],
    *,
    base: int,
    size: int,
    until: datetime,
) -> dict[str, list[list[int]]]:
    """channel (and `all`) → per rate, its successes and attempts per minute from `base`."""
    positions: dict[Any, int] = {}  # a stored minute → its position (many rows share one)
    columns: dict[str, list[list[int]]] = {}
    every = [[0] * size for _ in range(2 * len(rates))]
    rows = PaymentMinute.counted_by_minute(
        direction=direction,
        scope=scope,
        since=_moment(base),
        until=until,
        excludes=[d.excludes for d in rates],
    )
    if len(rates) == 1:  # the common case, without a loop per rate
        won_all, tried_all = every
        for stored, channel, won, tried in rows:
            at = positions.get(stored)
            if at is None:
                at = positions[stored] = _position(utc_of(stored)) - base
            series = columns.get(channel)
            if series is None:
                series = columns[channel] = [[0] * size, [0] * size]
            series[0][at] = won
            series[1][at] = tried
            won_all[at] += won
            tried_all[at] += tried
    else:
        for stored, channel, *sums in rows:
            at = positions.get(stored)
            if at is None:
                at = positions[stored] = _position(utc_of(stored)) - base
            series = columns.get(channel)
            if series is None:
                series = columns[channel] = [[0] * size for _ in sums]
            for column, value, total in zip(series, sums, every, strict=True):
                column[at] = value
                total[at] += value
    if columns:
        columns[ALL] = every
    return columns


def _moved(dip: Dip, offset: int) -> Dip:
    return Dip(
        dip.start + offset,
        dip.first_low + offset,
        dip.end + offset,
        dip.worst,
        dip.attempts,
        dip.failures,
        dip.lead_attempts,
        dip.lead_failures,
    )
