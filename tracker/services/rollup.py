"""The rollup (DESIGN §6): every figure as of now, computed once and stored as a snapshot that
/metrics, GET /slo and the dashboard read, so they never disagree and a scrape never computes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from tracker.core.display import count, utc_text
from tracker.core.rates import RateValue, add_values
from tracker.core.windows import WINDOWS, local_midnight, window_bounds
from tracker.db import database
from tracker.errors import NotFound
from tracker.models import Incident, Snapshot
from tracker.services.payments import channels_between, rates_between
from tracker.services.slo import (
    availability_between,
    availability_in_window,
    incident_counts,
    scopes,
    time_to,
)
from tracker.settings import Settings


def compute(*, now: datetime, settings: Settings) -> dict[str, Any]:
    """Every figure of DESIGN §6 as of `now`, as JSON-ready data."""
    windows = {name: window_bounds(name, as_of=now, zone=settings.zone) for name in WINDOWS}
    return {
        "taken_at": utc_text(now),
        "availability": [
            _availability(scope, window, now=now, settings=settings)
            for scope in scopes()
            for window in WINDOWS
        ],
        "rates": _rates(windows, now=now, settings=settings),
        "incidents": [
            {
                "grade": grade,
                "window": window,
                "attributed": count(c.attributed),
                "distinct": c.distinct,
            }
            for window, (since, until) in windows.items()
            for grade, c in incident_counts(since=since, until=until).items()
        ],
        "time_to_mitigate": [
            {
                "grade": grade,
                "window": window,
                "count": stats.count,
                "p50_seconds": stats.p50_seconds,
                "p90_seconds": stats.p90_seconds,
            }
            for window, (since, until) in windows.items()
            for grade, stats in time_to(since=since, until=until, kind="mitigate").items()
        ],
        "open_incidents": Incident.open_by_grade(),
        "impairment": [
            {"service": scope, "ratio": impairment_now(scope, now=now, settings=settings)}
            for scope in scopes()
        ],
    }


def impairment_now(scope: str, *, now: datetime, settings: Settings) -> float:
    """u(now): the largest impact ratio active on `scope` right now (0 in valid maintenance).
    Prometheus averages it over any window for the short burn-rate windows the snapshot's
    named windows do not have."""
    second = availability_between(
        scope, since=now - timedelta(seconds=1), until=now, now=now, settings=settings
    )
    return second.result.downtime_seconds


def _availability(scope: str, window: str, *, now: datetime, settings: Settings) -> dict:
    report = availability_in_window(scope, window, now=now, settings=settings)
    result, budget = report.result, report.budget
    return {
        "service": scope,
        "window": window,
        "objective": report.objective,
        "availability": result.availability,
        "downtime_seconds": result.downtime_seconds,
        "eligible_seconds": result.eligible_seconds,
        "error_budget_remaining_ratio": budget.remaining_ratio,
        "error_budget_burn_rate": budget.burn_rate,
    }


def _rates(
    windows: dict[str, tuple[datetime, datetime]], *, now: datetime, settings: Settings
) -> list[dict]:
    """Every rate per window and channel, `all` first. Rates add up over disjoint stretches
    and over channels, so the stretch since local midnight, which every window but a short
    one ends with, is read once for them all, and `all` is the channels' sum."""
    definitions = settings.payments.definitions()
    zone = settings.zone
    midnight = local_midnight(now.astimezone(zone).date(), zone)
    read: dict[tuple[datetime, datetime], dict[str, list[RateValue]]] = {}

    def per_channel(since: datetime, until: datetime) -> dict[str, list[RateValue]]:
        if (since, until) not in read:
            read[since, until] = {
                channel: [
                    rate.value
                    for rate in rates_between(
                        definitions, since=since, until=until, channel=channel, zone=zone
                    )
                ]
                for channel in channels_between(since, until, zone=zone)
            }
        return read[since, until]

    rows = []
    for window, (since, until) in windows.items():
        stretches = [(since, midnight), (midnight, until)] if since < midnight < until else []
        found: dict[str, list[list[RateValue]]] = {}
        for stretch in stretches or [(since, until)]:
            for channel, values in per_channel(*stretch).items():
                found.setdefault(channel, []).append(values)
        channels = {channel: _added(parts) for channel, parts in sorted(found.items())}
        every = (
            _added(list(channels.values())) if channels else [RateValue(0, 0)] * len(definitions)
        )
        for channel, values in [("all", every), *channels.items()]:
            for definition, value in zip(definitions, values, strict=True):
                rows.append(
                    {
                        "rate": definition.name,
                        "channel": channel,
                        "window": window,
                        "value": None if value.value is None else float(value.value),
                        "numerator": value.numerator,
                        "denominator": value.denominator,
                    }
                )
    return rows


def _added(parts: list[list[RateValue]]) -> list[RateValue]:
    """Each definition's rate over all the parts."""
    return [add_values(*values) for values in zip(*parts, strict=True)]


def snapshot_view(snapshot: Snapshot) -> dict[str, Any]:
    """What GET /slo and POST /rollups answer."""
    return {"id": snapshot.id, "duration_seconds": snapshot.duration_seconds, **snapshot.data}


def take_snapshot(*, now: datetime, settings: Settings) -> Snapshot:
    """Compute and store a snapshot; returns it."""
    started = time.perf_counter()
    data = compute(now=now, settings=settings)
    with database.atomic():
        return Snapshot.create(
            taken_at=now, duration_seconds=time.perf_counter() - started, data=data
        )


def latest_figures() -> dict[str, Any] | None:
    """The latest snapshot's figures with its time and cost, for /metrics; None before the
    first rollup."""
    snapshot = Snapshot.latest()
    if snapshot is None:
        return None
    return {
        **snapshot.data,
        "taken_at_unix": snapshot.taken_at.timestamp(),
        "duration_seconds": snapshot.duration_seconds,
    }


def latest_snapshot() -> Snapshot:
    snapshot = Snapshot.latest()
    if snapshot is None:
        raise NotFound("no snapshot yet: the rollup has not run (tracker rollup)")
    return snapshot


def prune_snapshots(*, now: datetime, settings: Settings) -> int:
    """Delete snapshots older than `rollup.keep_hours`, always keeping the latest."""
    cutoff = now - timedelta(hours=settings.rollup.keep_hours)
    latest = Snapshot.latest()
    query = Snapshot.older_than(cutoff)
    if latest is not None:
        query = query.where(Snapshot.id != latest.id)
    return query.execute()
