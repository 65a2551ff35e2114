"""Two real `tracker serve` replicas on one PostgreSQL database, written to concurrently from
both sides: no 5xx, every write with exactly its audit record, no update lost, and every
scheduled job run once per tick between them."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.factories import incident_body, service_body
from tests.servers import call, environment, replicas, wait_until
from tracker.clock import utcnow
from tracker.models import AuditRecord, Incident, JobRun, Snapshot

WRITERS = 4
ROUNDS = 6
SHARED_FIELDS = ("title", "summary", "location", "grade_reason")  # one per writer
INTERVAL = 5  # seconds between rollups


def _rollups() -> list[JobRun]:
    return list(JobRun.select().where(JobRun.job == "rollup").order_by(JobRun.tick))


def _firings(log: Path) -> int:
    """How many times the replicas' schedulers fired the rollup, run or skipped."""
    return sum("job rollup at tick" in line for line in log.read_text().splitlines())


def _ran_since(moment: datetime, log: Path) -> bool:
    """A rollup tick after `moment` is done, and some firing was skipped."""
    runs = _rollups()
    done = any(r.tick > moment and r.status == "succeeded" for r in runs)
    return done and _firings(log) > len(runs)


def _replayed(records: list[AuditRecord]) -> tuple[dict, list[str]]:
    """An incident's audit trail replayed: its state after the last record, and every field
    whose `before` did not match what the trail said it was (an update someone lost)."""
    state, mismatches = dict(records[0].after), []
    for record in records[1:]:
        mismatches += [f for f, value in record.before.items() if state.get(f) != value]
        state.update(record.after)
    return state, mismatches


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_replicas_under_concurrent_writes_keep_every_audit_record_and_run_jobs_once(
    database_url, db, tokens, tmp_path
):
    envs = [
        environment(
            tmp_path / name, database_url=database_url, rollup_interval_seconds=str(INTERVAL)
        )
        for name in ("a", "b")
    ]
    token = tokens["responder"]

    def writer(k: int) -> list[tuple[int | None, dict, int]]:
        """Writer k's calls as (incident id or None for a create, body, status): creates
        through one replica, patches through the other, its own field of the shared one."""
        done, field = [], SHARED_FIELDS[k]
        for i in range(ROUNDS):
            status, _, body = call(
                f"{bases[(k + i) % 2]}/api/v1/incidents", incident_body(), token=token
            )
            done.append((None, body, status))
            if status != 201:
                continue
            for target, change in (
                (body["id"], {"summary": f"own {k}-{i}"}),
                (shared, {field: f"{field} {k}-{i}"}),
            ):
                url = f"{bases[(k + i + 1) % 2]}/api/v1/incidents/{target}"
                done.append((target, change, call(url, change, token=token, method="PATCH")[0]))
        return done

    log = tmp_path / "replicas.log"
    with replicas(envs, workers=1, log=log) as servers:
        bases = [server.base for server in servers]
        gateway = call(
            f"{bases[0]}/api/v1/services", service_body("gateway"), token=tokens["admin"]
        )
        status, _, body = call(f"{bases[1]}/api/v1/incidents", incident_body(), token=token)
        assert (gateway[0], status) == (201, 201)
        shared = body["id"]
        with ThreadPoolExecutor(WRITERS) as pool:
            calls = [c for done in pool.map(writer, range(WRITERS)) for c in done]
        wait_until(
            lambda: log.read_text().count("scheduler running") == 2, 20, "both schedulers to run"
        )
        both = utcnow()
        wait_until(lambda: _ran_since(both, log), 3 * INTERVAL, "a rollup tick with both running")

    created = [body["id"] for target, body, status in calls if target is None and status == 201]
    patched = Counter(target for target, _, status in calls if target and status == 200)
    last = {}  # shared field → the value its writer last had accepted
    for target, change, status in calls:
        if target == shared and status == 200:
            last.update(change)
    runs = _rollups()
    ticks = [run.tick for run in runs]
    trails = {
        incident_id: list(
            AuditRecord.filtered(
                entity="incident", entity_id=str(incident_id), since=None
            ).order_by(AuditRecord.id)
        )
        for incident_id in [shared, *created]
    }
    state, lost = _replayed(trails[shared])
    stored = Incident.get_by_id(shared)

    assert {status for *_, status in calls} == {200, 201} and len(created) == WRITERS * ROUNDS
    assert all(
        [r.action for r in trail] == ["create"] + ["update"] * patched[incident_id]
        for incident_id, trail in trails.items()
    )
    assert (lost, {f: state[f] for f in last}, {f: getattr(stored, f) for f in last}) == (
        [],
        last,
        last,
    )
    assert ticks == [ticks[0] + timedelta(seconds=INTERVAL * n) for n in range(len(runs))]
    assert {run.status for run in runs} == {"succeeded"} and Snapshot.select().count() == len(runs)
    assert _firings(log) > len(runs)  # the replicas both fired; a tick ran once between them
