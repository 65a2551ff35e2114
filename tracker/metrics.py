"""/metrics (DESIGN §6): a per-app registry; the figures come from the latest snapshot, read
fresh on every scrape (a scrape never computes), and HTTP request metrics add up across
gunicorn workers through prometheus_client's multiprocess mode when it is on."""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from tracker import __version__
from tracker.context import settings
from tracker.core.snapshot import Snapshot
from tracker.core.vocabulary import ALERT_RESULTS
from tracker.db import BYPASSED, database
from tracker.errors import Unauthorized
from tracker.models import State
from tracker.services import alerts, notifications
from tracker.services.jobs import all_failures
from tracker.services.notifications.delivery import RESULTS
from tracker.services.rollup import find_latest
from tracker.settings import MULTIPROCESS_ENV, Settings

# name, help, labels (as they appear in the snapshot rows), the snapshot field
AVAILABILITY_GAUGES = (
    ("tracker_availability_ratio", "Availability: 1 - downtime / eligible time", "availability"),
    (
        "tracker_downtime_seconds",
        "Impact-weighted downtime, maintenance excluded",
        "downtime_seconds",
    ),
    (
        "tracker_error_budget_remaining_ratio",
        "1 - downtime / error budget (negative: overspent)",
        "error_budget_remaining_ratio",
    ),
    (
        "tracker_error_budget_burn_rate",
        "(downtime / eligible time) / (1 - objective)",
        "error_budget_burn_rate",
    ),
)


STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class SnapshotCollector:
    """Builds fresh metric families from the latest snapshot on every collect()."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def describe(self) -> list[Metric]:
        return []  # families depend on the data; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        build = GaugeMetricFamily(
            "tracker_build_info", "Build of the running tracker", labels=["version"]
        )
        build.add_metric([__version__], 1)
        yield build
        with self.app.app_context(), database.connection_context():
            snapshot = find_latest()
            failed = all_failures()
            sent, pending = notifications.counts(), notifications.pending()
            drafts, received = alerts.draft_count(), alerts.received()
            bypassed = State.value_of(BYPASSED)
        rollup_failures = CounterMetricFamily(
            "tracker_rollup_failures", "Scheduled rollups that failed"
        )
        rollup_failures.add_metric([], failed.get("rollup", 0))
        yield rollup_failures
        job_failures = CounterMetricFamily(
            "tracker_job_failures", "Scheduled job runs that failed", labels=["job"]
        )
        for job, n in sorted(failed.items()):
            job_failures.add_metric([job], n)
        yield job_failures
        yield from notification_families(self.app.extensions["tracker.settings"], sent, pending)
        yield from alert_families(drafts, received)
        replica = CounterMetricFamily(
            "tracker_database_replica_bypassed",
            "Reads that tolerate lag sent to the primary: the replica was down or behind",
        )
        replica.add_metric([], int(bypassed) if bypassed else 0)
        yield replica
        if snapshot is None:
            return
        yield from families(snapshot)


def notification_families(
    settings: Settings, sent: dict[tuple[str, str], int], pending: dict[str, int]
) -> Iterator[Metric]:
    """How sending has gone per channel and result (every configured channel and result
    present, from zero), and what waits in the outbox."""
    names = sorted({c.name for c in settings.notifications.channels} | {c for c, _ in sent})
    total = CounterMetricFamily(
        "tracker_notifications",
        "Attempts at sending notifications, by channel and result (sent, retried, failed)",
        labels=["channel", "result"],
    )
    waiting = GaugeMetricFamily(
        "tracker_notifications_pending",
        "Notifications waiting in the outbox to be sent",
        labels=["channel"],
    )
    for name in names:
        for result in RESULTS:
            total.add_metric([name, result], sent.get((name, result), 0))
        waiting.add_metric([name], pending.get(name, 0))
    yield total
    yield waiting


def alert_families(drafts: int, received: dict[str, int]) -> Iterator[Metric]:
    """Drafts from alerts waiting for a person, and what arrived from Alertmanager."""
    triage = GaugeMetricFamily(
        "tracker_incidents_triage", "Drafts opened from alerts, waiting to be triaged"
    )
    triage.add_metric([], drafts)
    yield triage
    total = CounterMetricFamily(
        "tracker_alerts_received",
        "Alerts received from Alertmanager, by what became of them",
        labels=["result"],
    )
    for result in ALERT_RESULTS:
        total.add_metric([result], received.get(result, 0))
    yield total


def families(snapshot: Snapshot) -> Iterator[Metric]:
    """DESIGN §6's gauges from a snapshot; a figure with no data is left out."""
    for name, help_text, field in AVAILABILITY_GAUGES:
        family = GaugeMetricFamily(name, help_text, labels=["service", "window"])
        for row in snapshot.availability:
            if getattr(row, field) is not None:
                family.add_metric([row.service, row.window], getattr(row, field))
        yield family
    objective = GaugeMetricFamily(
        "tracker_availability_objective_ratio", "Availability objective", labels=["service"]
    )
    for service, value in sorted({(r.service, r.objective) for r in snapshot.availability}):
        objective.add_metric([service], value)
    yield objective
    rates = GaugeMetricFamily(
        "tracker_payment_success_ratio",
        "Payment success rate: success / outcomes not excluded",
        labels=["rate", "channel", "window"],
    )
    for row in snapshot.rates:
        if row.value is not None:
            rates.add_metric([row.rate, row.channel, row.window], row.value)
    yield rates
    follow_ups = GaugeMetricFamily(
        "tracker_follow_ups",
        "Follow-ups open (or in progress), and those overdue",
        labels=["state"],
    )
    for state in ("open", "overdue"):
        follow_ups.add_metric([state], snapshot.follow_ups.get(state, 0))
    yield follow_ups
    overdue = GaugeMetricFamily(
        "tracker_regulatory_reports_overdue",
        "Records at a reported regulatory level past their deadline and not reported",
    )
    overdue.add_metric([], snapshot.regulatory_overdue)
    yield overdue
    quota = GaugeMetricFamily(
        "tracker_incident_quota_remaining",
        "Incidents the year's quota still allows, responsibility-weighted (negative: exceeded)",
        labels=["grade"],
    )
    for row in snapshot.quotas:
        quota.add_metric([row.grade], float(row.remaining))
    yield quota
    unlogged = GaugeMetricFamily(
        "tracker_payment_dips_unlogged",
        "Dips of a success rate below its dip_below that no record or maintenance covers",
        labels=["rate", "channel", "window"],
    )
    for row in snapshot.dips:
        unlogged.add_metric([row.rate, row.channel, row.window], row.unlogged)
    yield unlogged
    attributed = GaugeMetricFamily(
        "tracker_incidents",
        "Incidents by detection time, responsibility-weighted",
        labels=["grade", "window"],
    )
    distinct = GaugeMetricFamily(
        "tracker_incidents_distinct", "Incidents by detection time", labels=["grade", "window"]
    )
    for row in snapshot.incidents:
        attributed.add_metric([row.grade, row.window], float(row.attributed))
        distinct.add_metric([row.grade, row.window], row.distinct)
    yield attributed
    yield distinct
    unresolved = GaugeMetricFamily(
        "tracker_incidents_open", "Incidents not resolved yet", labels=["grade"]
    )
    for grade, n in snapshot.open_incidents.items():
        unresolved.add_metric([grade], n)
    yield unresolved
    mitigate = GaugeMetricFamily(
        "tracker_incident_time_to_mitigate_seconds",
        "Time from impact start to mitigation (nearest rank)",
        labels=["grade", "window", "stat"],
    )
    for row in snapshot.time_to_mitigate:
        for stat, seconds in (("p50", row.p50_seconds), ("p90", row.p90_seconds)):
            if seconds is not None:
                mitigate.add_metric([row.grade, row.window, stat], seconds)
    yield mitigate
    impairment = GaugeMetricFamily(
        "tracker_impairment_ratio",
        "Largest impact ratio active now (0 in maintenance); averaged for burn rates",
        labels=["service"],
    )
    for row in snapshot.impairment:
        impairment.add_metric([row.service], row.ratio)
    yield impairment
    taken_at = snapshot.taken_at.timestamp()
    taken = GaugeMetricFamily(
        "tracker_snapshot_timestamp_seconds", "When the snapshot served was taken (Unix time)"
    )
    taken.add_metric([], taken_at)
    yield taken
    success = GaugeMetricFamily(
        "tracker_rollup_last_success_timestamp_seconds",
        "When the last rollup succeeded (Unix time)",
    )
    success.add_metric([], taken_at)
    yield success
    duration = GaugeMetricFamily("tracker_rollup_duration_seconds", "How long the last rollup took")
    duration.add_metric([], snapshot.duration_seconds or 0.0)
    yield duration


def init_app(app: Flask) -> None:
    """The registry, the request metrics and the /metrics route of one app."""
    disable_created_metrics()  # no *_created series: promtool and dashboards do not want them
    multiprocess = os.environ.get(MULTIPROCESS_ENV)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(app))  # type: ignore[arg-type]
    # In multiprocess mode the request metrics live in files that every worker writes;
    # MultiProcessCollector adds them up at scrape time.
    request_registry = None if multiprocess else registry
    if multiprocess:
        MultiProcessCollector(registry, path=multiprocess)
    requests = Counter(
        "tracker_http_requests",
        "HTTP requests answered",
        ["method", "route", "status"],
        registry=request_registry,
    )
    latency = Histogram(
        "tracker_http_request_duration_seconds",
        "HTTP request duration",
        ["method", "route", "status"],
        registry=request_registry,
    )
    app.extensions["tracker.lock_timeouts"] = Counter(
        "tracker_database_lock_timeouts",
        "Writes that gave up waiting for a database lock (answered 503)",
        registry=request_registry,
    )
    app.extensions["tracker.metrics"] = registry

    @app.before_request
    def _start() -> None:
        g.tracker_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.get("tracker_started")
        if started is not None:
            # Every label from a bounded set: a made-up method would be a new series for good.
            method = request.method if request.method in STANDARD_METHODS else "other"
            route = request.url_rule.rule if request.url_rule else "unmatched"
            labels = (method, route, str(response.status_code))
            requests.labels(*labels).inc()
            latency.labels(*labels).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        token = settings().metrics_token
        if token:
            scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(raw.strip(), token):
                raise Unauthorized("/metrics needs Authorization: Bearer <metrics_token>")
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
