"""A real streaming replica (DESIGN §13): a private primary, a hot standby made from it with
pg_basebackup -R; reads that tolerate lag go to the standby, skip it while it lags beyond
`database.replica_max_lag_seconds` or is down (counted), and never answer 5xx for it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

import tracker.db
from tests.faults.private_postgres import PrivatePostgres
from tracker.app import create_app
from tracker.clock import utcnow
from tracker.db import database, open_database
from tracker.migrate import upgrade
from tracker.services.tokens import create_token
from tracker.settings import load_settings

MINUTE = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
WEEK = {"since": "2026-11-30T00:00:00Z", "until": "2026-12-01T00:00:00Z"}


@pytest.fixture
def standby(private_postgres):
    replica = PrivatePostgres(private_postgres.bin_dir)
    try:
        replica.follow(private_postgres)
        replica.start()
        yield replica
    finally:
        replica.remove()


def _wait(condition, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _counts(minute, n):
    row = {"direction": "pay_in", "channel": "unionpay", "scope": "final", "count": n}
    return {"counts": [{**row, "minute": minute.isoformat(), "outcome": "success"}]}


def _successes(client, headers):
    answer = client.get("/api/v1/payments/rates", query_string=WEEK, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["items"][0]["numerator"]


def _bypassed(client, headers):
    text = client.get("/metrics").get_data(as_text=True)
    line = next(
        x for x in text.splitlines() if x.startswith("tracker_database_replica_bypassed_total")
    )
    return float(line.split()[-1])


def test_reads_move_to_the_replica_skip_it_when_behind_or_down(
    private_postgres, standby, tmp_path, monkeypatch
):
    monkeypatch.setattr(tracker.db, "REPLICA_CHECK_SECONDS", 0.5)
    primary_url, replica_url = private_postgres.url(), standby.url()
    upgrade(open_database(primary_url))
    overrides = {
        "database_url": primary_url,
        "database_replica_url": replica_url,
        "data_dir": str(tmp_path),
        "database": {"replica_max_lag_seconds": 3},
        "scheduler": {"enabled": False},
    }
    app = create_app(load_settings(environ={}, overrides=overrides))
    with app.app_context(), database.connection_context():
        token = create_token("pusher", "admin", actor="test", now=utcnow())
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    post = client.post("/api/v1/payments/counts", json=_counts(MINUTE, 100), headers=headers)
    assert post.status_code == 200
    _wait(lambda: _successes(client, headers) == 100, "the replica to have the first counts")
    # Replay paused: what the primary writes now, the replica does not have yet.
    standby.sql("SELECT pg_wal_replay_pause()")
    later = MINUTE + timedelta(minutes=1)
    post = client.post("/api/v1/payments/counts", json=_counts(later, 50), headers=headers)
    assert post.status_code == 200
    assert _successes(client, headers) == 100  # read from the replica, which is behind
    assert private_postgres.sql("SELECT count(*) FROM payment_minute") == "2"
    # Beyond replica_max_lag_seconds (3 s) the reads go to the primary, and are counted.
    time.sleep(4)
    assert _successes(client, headers) == 150
    assert _bypassed(client, headers) >= 1
    # Caught up again: the replica serves them again.
    standby.sql("SELECT pg_wal_replay_resume()")
    _wait(lambda: standby.sql("SELECT count(*) FROM payment_minute") == "2", "replay")
    time.sleep(0.6)
    before = _bypassed(client, headers)
    assert _successes(client, headers) == 150 and _bypassed(client, headers) == before
    # The replica down: reads fall back to the primary, no 5xx.
    standby.stop()
    time.sleep(0.6)
    for _ in range(5):
        assert _successes(client, headers) == 150
    assert _bypassed(client, headers) > before
    ready = client.get("/readyz")
    assert ready.status_code == 200  # readiness asks the primary only
