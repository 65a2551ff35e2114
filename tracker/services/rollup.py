"""The rollup (DESIGN §6): every figure as of now, computed once and stored as a snapshot that
/metrics, GET /slo and the dashboard read, so they never disagree and a scrape never computes."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from dataclasses import replace
from datetime import datetime, timedelta

from tracker.core.aftercare import QuotaRow
from tracker.core.availability import Windows, availability_by_window
from tracker.core.budget import Budget, error_budget
from tracker.core.counts import count_incidents
from tracker.core.durations import time_to_by_grade
from tracker.core.rates import RateFigure, add_values
from tracker.core.snapshot import (
    AvailabilityRow,
    CountRow,
    ImpairmentRow,
    RateRow,
    Snapshot,
    TimeToRow,
)
from tracker.core.vocabulary import ALL
from tracker.core.windows import WINDOWS, local_midnight, window_bounds
from tracker.db import database, replica_reads
from tracker.errors import NotFound
from tracker.models import Incident
from tracker.models import Snapshot as StoredSnapshot
from tracker.services import collector, followups, regulatory
from tracker.services.dips import announce, unlogged_in_windows
from tracker.services.payments import rates_by_channel
from tracker.services.slo import graded_since, load_facts
from tracker.settings import Settings

NOW = "now"  # the last second: the impact active at the snapshot's moment
# One rollup at a time in a process: they are CPU-bound, so under the GIL threads computing
# side by side finish no sooner than one after the other, and each holds every fact of the
# year in memory (about 1 KiB an incident) until it is done.
_COMPUTING = threading.Lock()


def compute(*, now: datetime, settings: Settings) -> Snapshot:
    """Every figure of DESIGN §6 as of `now`, read from the replica when there is one that
    keeps up (a rollup tolerates its lag)."""
    with replica_reads():
        return _compute(now=now, settings=settings)


def _compute(*, now: datetime, settings: Settings) -> Snapshot:
    """The facts are read once (their queries do not grow with services or windows) and the
    core computes every window from them."""
    zone = settings.zone
    windows = {name: window_bounds(name, as_of=now, zone=zone) for name in WINDOWS}
    earliest = min(since for since, _ in windows.values())
    facts = load_facts(since=earliest, until=now, settings=settings)
    spans = Windows({**windows, NOW: (now - timedelta(seconds=1), now)})
    quiet = availability_by_window([], [], windows=spans, now=now)  # a scope where nothing was
    budgets: dict[tuple[float, float, float], Budget] = {}
    availability_rows, impairment_rows = [], []
    for scope in facts.scopes:
        impairments, maintenance = facts.impairments_of(scope), facts.maintenance_of(scope)
        results = (
            availability_by_window(impairments, maintenance, windows=spans, now=now)
            if impairments or maintenance
            else quiet
        )
        objective = facts.objectives[scope]
        for window in WINDOWS:
            result = results[window]
            key = (result.downtime_seconds, result.eligible_seconds, objective)
            if key not in budgets:  # quiet scopes of one objective share every budget
                budgets[key] = error_budget(*key)
            budget = budgets[key]
            availability_rows.append(
                AvailabilityRow(
                    scope,
                    window,
                    objective,
                    result.availability,
                    result.downtime_seconds,
                    result.eligible_seconds,
                    budget.remaining_ratio,
                    budget.burn_rate,
                )
            )
        impairment_rows.append(ImpairmentRow(scope, results[NOW].downtime_seconds))
    graded = sorted(graded_since(earliest, now), key=lambda row: row[0].detected_at)
    detected = [counted.detected_at for counted, _ in graded]
    counts, times = [], []
    for window, (since, until) in windows.items():
        inside = graded[bisect_left(detected, since) : bisect_left(detected, until)]
        counted = count_incidents((c for c, _ in inside), since=since, until=until)
        counts += [CountRow(g, window, c.attributed, c.distinct) for g, c in counted.items()]
        timed = [t for _, t in inside]
        times += [
            TimeToRow(g, window, stats.count, stats.p50_seconds, stats.p90_seconds)
            for g, stats in time_to_by_grade(timed, kind="mitigate").items()
        ]
    dip_rows, unlogged = unlogged_in_windows(now=now, settings=settings)
    year = {c.grade: c for c in counts if c.window == "ytd"}
    quotas = tuple(
        QuotaRow(grade, quota, year[grade].attributed) for grade, quota in settings.quotas.items()
    )
    return Snapshot(
        taken_at=now,
        availability=tuple(availability_rows),
        rates=tuple(_rates(windows, now=now, settings=settings)),
        incidents=tuple(counts),
        time_to_mitigate=tuple(times),
        open_incidents=Incident.open_by_grade(),
        impairment=tuple(impairment_rows),
        dips=tuple(dip_rows),
        unlogged_dips=tuple(unlogged),
        follow_ups=followups.counts(now=now, zone=zone),
        regulatory_overdue=regulatory.overdue_count(now=now, settings=settings),
        quotas=tuple(sorted(quotas, key=lambda q: q.grade)),
    )


def _rates(
    windows: dict[str, tuple[datetime, datetime]], *, now: datetime, settings: Settings
) -> list[RateRow]:
    """Every rate per window and channel, `all` first. Rates add up over disjoint stretches
    and over channels, so the stretch since local midnight, which every window but a short
    one ends with, is read once for them all, and `all` is the channels' sum."""
    definitions = settings.payments.definitions()
    zone = settings.zone
    midnight = local_midnight(now.astimezone(zone).date(), zone)
    read: dict[tuple[datetime, datetime], dict[str, list[RateFigure]]] = {}

    def per_channel(since: datetime, until: datetime) -> dict[str, list[RateFigure]]:
        if (since, until) not in read:
            read[since, until] = rates_by_channel(definitions, since=since, until=until, zone=zone)
        return read[since, until]

    rows = []
    for window, (since, until) in windows.items():
        stretches = [(since, midnight), (midnight, until)] if since < midnight < until else []
        found: dict[str, list[list[RateFigure]]] = {}
        for stretch in stretches or [(since, until)]:
            for channel, values in per_channel(*stretch).items():
                found.setdefault(channel, []).append(values)
        channels = {channel: _added(parts) for channel, parts in sorted(found.items())}
        every = (
            _added(list(channels.values()))
            if channels
            else [RateFigure(0, 0).named(d) for d in definitions]
        )
        for channel, figures in [(ALL, every), *channels.items()]:
            rows += [RateRow(window, channel, figure) for figure in figures]
    return rows


def _added(parts: list[list[RateFigure]]) -> list[RateFigure]:
    """Each definition's rate over all the parts."""
    return [add_values(*values) for values in zip(*parts, strict=True)]


def take_snapshot(*, now: datetime, settings: Settings) -> Snapshot:
    """Compute and store a snapshot; returns it with its id and cost (the computing, not the
    wait for another rollup of this process to finish)."""
    with _COMPUTING, collector.paused():
        started = time.perf_counter()
        snapshot = compute(now=now, settings=settings)
        took = time.perf_counter() - started
    with database.atomic():
        stored = StoredSnapshot.create(taken_at=now, duration_seconds=took, data=snapshot.to_json())
        announce(snapshot.unlogged_dips, now=now, settings=settings)
    return replace(snapshot, id=stored.id, duration_seconds=took)


def _read(stored: StoredSnapshot) -> Snapshot:
    return Snapshot.from_json(stored.data, id=stored.id, duration_seconds=stored.duration_seconds)


def find_latest() -> Snapshot | None:
    """The latest snapshot, or None before the first rollup."""
    stored = StoredSnapshot.latest()
    return None if stored is None else _read(stored)


def get_latest() -> Snapshot:
    stored = StoredSnapshot.latest()
    if stored is None:
        raise NotFound("no snapshot yet: the rollup has not run (tracker rollup)")
    return _read(stored)


def prune_snapshots(*, now: datetime, settings: Settings) -> int:
    """Delete snapshots older than `rollup.keep_hours`, always keeping the latest."""
    cutoff = now - timedelta(hours=settings.rollup.keep_hours)
    latest = StoredSnapshot.latest()
    query = StoredSnapshot.older_than(cutoff)
    if latest is not None:
        query = query.where(StoredSnapshot.id != latest.id)
    return query.execute()
