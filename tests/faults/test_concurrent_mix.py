"""Twelve clients at once against a real `tracker serve` (gunicorn workers and the scheduler
process), on the embedded SQLite and on PostgreSQL: incidents logged and edited, payment counts
pushed, rollups asked for and weekly reports read, for twenty seconds. No request is refused
for being concurrent, and everything answered as done is stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2

from tests.factories import service_body
from tests.load import CHANNEL, batch_rows, expected_minutes, run_mix
from tests.payments_stored import daily_totals_add_up, stored_counts_of
from tests.servers import call, environment, serving
from tracker.db import lock_key
from tracker.models import Incident
from tracker.services.payments import LOCK

CLIENTS = 12
SECONDS = 20


def _listed(base: str, token: str) -> set[int]:
    """Every incident id the API lists, page by page."""
    ids, cursor = set(), None
    while True:
        query = "limit=200" + (f"&cursor={cursor}" if cursor else "")
        status, _, page = call(f"{base}/api/v1/incidents?{query}", token=token)
        assert status == 200, page
        ids |= {item["id"] for item in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_twelve_concurrent_clients_get_no_5xx_and_everything_acknowledged_is_stored(
    database_url, db, tokens, tmp_path, app
):
    env = environment(tmp_path / "serve", database_url=database_url, rollup_interval_seconds="5")
    token = tokens["admin"]
    with serving(env) as base:
        status, _, _ = call(f"{base}/api/v1/services", service_body("gateway"), token=token)
        assert status == 201
        outcome = run_mix(base, token=token, service="gateway", clients=CLIENTS, seconds=SECONDS)
        listed = _listed(base, token)

    assert outcome.five_hundreds() == 0, outcome.errors
    assert {kind: set(c) for kind, c in outcome.statuses.items()} == {
        "create": {201},
        "patch": {200},
        "counts": {200},
        "rollup": {201},
        "weekly": {200},
    }
    stored = {i for (i,) in Incident.select(Incident.id).tuples()}
    assert set(outcome.created) <= stored and set(outcome.created) <= listed
    assert stored_counts_of(CHANNEL) == expected_minutes(outcome.batches)
    assert daily_totals_add_up(app.extensions["tracker.settings"].zone)


@contextmanager
def _holding_the_payments_lock(database_url: str) -> Iterator[None]:
    """Another connection holds the lock a payment write takes: SQLite's write lock, or the
    payments advisory lock on PostgreSQL."""
    if database_url.startswith("sqlite"):
        holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:  # a session-level lock, released when the connection closes
        holder = psycopg2.connect(database_url)
        holder.cursor().execute("SELECT pg_advisory_lock(%s)", (lock_key(LOCK),))
    try:
        yield
    finally:
        holder.close()


def test_a_write_that_cannot_get_the_lock_in_time_is_a_503_that_says_so(
    database_url, db, tokens, tmp_path
):
    """A write waits `database.busy_timeout_ms` for a lock another write holds, then gives up
    with a problem that names the cause, counted in /metrics; nothing is stored."""
    env = environment(
        tmp_path / "serve",
        database_url=database_url,
        database_busy_timeout_ms="300",
        scheduler_enabled="false",
    )
    batch = {"counts": batch_rows(0)}
    with serving(env) as base, _holding_the_payments_lock(database_url):
        status, media, body = call(f"{base}/api/v1/payments/counts", batch, token=tokens["ingest"])
        _, _, metrics = call(f"{base}/metrics")
    assert (status, media) == (503, "application/problem+json")
    assert "busy" in body["detail"] and "waited 300 ms" in body["detail"]
    assert "tracker_database_lock_timeouts_total 1.0" in metrics
    assert stored_counts_of(CHANNEL) == {}
