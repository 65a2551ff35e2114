"""The database goes away under a running `tracker serve` and comes back: the server answers
503 meanwhile, never 500, and recovers by itself, scheduler included, without a restart."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from tests.factories import incident_body, service_body
from tests.servers import CLI, admin_token, call, environment, server_group, wait_until
from tracker.clock import utcnow

PROBLEM = "application/problem+json"


def _warm(api: str, token: str) -> None:
    """Concurrent reads, so that every worker holds pooled connections that the outage will
    leave dead."""
    with ThreadPoolExecutor(8) as pool:
        statuses = set(pool.map(lambda _: call(f"{api}/incidents", token=token)[0], range(24)))
    assert statuses == {200}


def _snapshot_since(api: str, token: str, moment: datetime) -> bool:
    status, _, body = call(f"{api}/slo", token=token)
    return status == 200 and datetime.fromisoformat(body["taken_at"]) > moment


def _metric(base: str, name: str) -> float:
    _, _, text = call(f"{base}/metrics")
    values = [line.split()[-1] for line in text.splitlines() if line.startswith(f"{name} ")]
    return float(values[0])


def test_a_database_outage_gets_503s_and_the_server_recovers_by_itself(private_postgres, tmp_path):
    env = environment(tmp_path, database_url=private_postgres.url(), rollup_interval_seconds="5")
    token = admin_token(env)
    log = tmp_path / "serve.log"
    with server_group(env, log=log) as server:
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
        wait_until(
            lambda: "job rollup at tick" in log.read_text(),
            12,
            "a rollup tick to fail in the outage",
        )

        private_postgres.start()
        back = utcnow()
        with ThreadPoolExecutor(8) as pool:
            after = sorted(
                set(
                    pool.map(
                        lambda i: (
                            call(f"{api}/incidents", incident_body(), token=token)[0]
                            if i % 4 == 0
                            else call(f"{api}/incidents", token=token)[0]
                        ),
                        range(40),
                    )
                )
            )
        ready = call(f"{base}/readyz")[0]
        wait_until(lambda: _snapshot_since(api, token, back), 15, "a rollup after the outage")
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


def test_a_scheduler_started_before_the_database_waits_for_it(private_postgres, tmp_path):
    env = environment(tmp_path, database_url=private_postgres.url())
    private_postgres.stop()
    scheduler = subprocess.Popen(
        [*CLI, "scheduler"], env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        waiting = scheduler.stderr.readline()
        private_postgres.start()
        running = next(line for line in scheduler.stderr if "scheduler running" in line)
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=10)
    assert "waiting for the database" in waiting
    assert running.startswith("scheduler running: rollup")
