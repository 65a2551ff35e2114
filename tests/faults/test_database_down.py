"""The database goes away under a running `tracker serve` and comes back: the server answers
503 meanwhile, never 500, and recovers by itself, scheduler included, without a restart."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from tests.factories import incident_body, service_body
from tests.servers import CLI, call, environment, server_group, wait_until
from tracker.app import create_app
from tracker.clock import utcnow
from tracker.db import database
from tracker.migrate import upgrade
from tracker.services.tokens import create_token
from tracker.settings import load_settings

PROBLEM = "application/problem+json"


def _migrated(url: str, data_dir: Path) -> str:
    """Migrate the database and return an admin token for it (in-process: no CLI start-up)."""
    app = create_app(
        load_settings(environ={}, overrides={"database_url": url, "data_dir": str(data_dir)})
    )
    db = app.extensions["tracker.db"]
    upgrade(db)
    with app.app_context(), database.connection_context():
        token = create_token("ops", "admin", actor="test", now=utcnow())
    db.close_all()
    return token


def _warm(api: str, token: str) -> None:
    """Concurrent reads, so that every worker holds pooled connections that the outage will
    leave dead."""
    with ThreadPoolExecutor(8) as pool:
        statuses = set(pool.map(lambda _: call(f"{api}/incidents", token=token)[0], range(24)))
    assert statuses == {200}


def _read_and_write(api: str, token: str, requests: int) -> list[int]:
    """The distinct statuses of `requests` concurrent calls, one write in four."""

    def one(i: int) -> int:
        if i % 4 == 0:
            return call(f"{api}/incidents", incident_body(), token=token)[0]
        return call(f"{api}/incidents", token=token)[0]

    with ThreadPoolExecutor(8) as pool:
        return sorted(set(pool.map(one, range(requests))))


def _snapshot_since(api: str, token: str, moment: datetime) -> bool:
    status, _, body = call(f"{api}/slo", token=token)
    return status == 200 and datetime.fromisoformat(body["taken_at"]) > moment


def _metric(base: str, name: str) -> float:
    _, _, text = call(f"{base}/metrics")
    values = [line.split()[-1] for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(values[0])


def test_a_database_outage_gets_503s_and_the_server_recovers_by_itself(private_postgres, tmp_path):
    env = environment(tmp_path, database_url=private_postgres.url(), rollup_interval_seconds="5")
    token = _migrated(private_postgres.url(), tmp_path)
    log, late_log = tmp_path / "serve.log", tmp_path / "late-scheduler.log"
    with server_group(env, log=log) as server, late_log.open("w") as late_output:
        base, api = server.base, f"{server.base}/api/v1"
        assert call(f"{api}/services", service_body("gateway"), token=token)[0] == 201
        _warm(api, token)
        wait_until(lambda: "scheduler running" in log.read_text(), 15, "the scheduler to start")

        private_postgres.stop()
        down = {
            "healthz": call(f"{base}/healthz")[:2],
            "readyz": call(f"{base}/readyz")[:2],
            "write": call(f"{api}/incidents", incident_body(), token=token)[:2],
            "read": call(f"{api}/incidents", token=token)[:2],
        }
        # Another replica's scheduler starting in the outage must wait for the database.
        late = subprocess.Popen(
            [*CLI, "scheduler"], env=env, stderr=late_output, start_new_session=True
        )
        try:
            wait_until(lambda: "job rollup at tick" in log.read_text(), 12, "a tick to fail")
            wait_until(lambda: "waiting for the database" in late_log.read_text(), 15, "a wait")

            private_postgres.start()
            back = utcnow()
            after = _read_and_write(api, token, 40)
            ready = call(f"{base}/readyz")[0]
            wait_until(lambda: _snapshot_since(api, token, back), 15, "a rollup after the outage")
            wait_until(lambda: "scheduler running" in late_log.read_text(), 15, "the late one")
        finally:
            late.terminate()
            late.wait(timeout=10)
        stored = call(f"{api}/incidents", token=token)[2]["items"]
        failures = _metric(base, "tracker_rollup_failures_total")

    assert down == {
        "healthz": (200, "application/json"),
        "readyz": (503, PROBLEM),
        "write": (503, PROBLEM),
        "read": (503, PROBLEM),
    }
    assert (ready, after, len(stored)) == (200, [200, 201], 10)
    assert failures >= 1
