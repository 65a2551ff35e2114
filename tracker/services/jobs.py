"""Scheduled work runs once per tick, however many processes and replicas share the database:
the first to claim (job, tick) under a database lock runs it, the others skip. A failure is
recorded (and counted, for /metrics) and the next tick simply runs again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tracker.db import database, exclusive
from tracker.models import JobRun, State

log = logging.getLogger(__name__)

FAILURES = "failures.{job}"


def run_once(
    job: str,
    tick: datetime,
    work: Callable[[], object],
    *,
    runner: str,
    clock: Callable[[], datetime],
) -> str:
    """Run `work` for this tick unless another process has; `skipped`, `succeeded` or
    `failed`. The lock is an advisory lock on PostgreSQL and the write lock on SQLite; the
    claim is a row unique on (job, tick)."""
    with exclusive(database, f"tracker.job.{job}"):
        if JobRun.claimed(job, tick):
            return "skipped"
        run = JobRun.create(job=job, tick=tick, runner=runner, started_at=clock(), status="running")
    try:
        work()
    except Exception as exc:  # a job never takes the process down: record, retry next tick
        log.exception("job %s failed at tick %s", job, tick.isoformat())
        with exclusive(database, f"tracker.job.{job}"):
            _finish(run, "failed", clock(), f"{type(exc).__name__}: {exc}"[:2000])
            _count_failure(job)
        return "failed"
    with database.atomic():
        _finish(run, "succeeded", clock(), "")
    return "succeeded"


def _finish(run: JobRun, status: str, at: datetime, error: str) -> None:
    run.status, run.finished_at, run.error = status, at, error
    run.save()


def _count_failure(job: str) -> None:
    key = FAILURES.format(job=job)
    state = State.get_or_none(State.key == key)
    if state is None:
        State.create(key=key, value="1")
    else:
        state.value = str(int(state.value) + 1)
        state.save()


def failures(job: str) -> int:
    """How many times `job` has failed, ever (a counter: pruning runs never lowers it)."""
    state = State.get_or_none(State.key == FAILURES.format(job=job))
    return 0 if state is None else int(state.value)


def all_failures() -> dict[str, int]:
    """Failures so far of every job that has failed."""
    prefix = FAILURES.format(job="")
    rows = State.select().where(State.key.startswith(prefix))
    return {row.key.removeprefix(prefix): int(row.value) for row in rows}


def prune_runs(*, before: datetime) -> int:
    return JobRun.older_than(before).execute()
