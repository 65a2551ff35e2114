"""Scheduled work runs once per tick, however many processes and replicas share the database:
the first to claim (job, tick) under a database lock runs it, the others skip. A failure is
recorded (and counted, for /metrics) and the next tick simply runs again. A run that failed
because the database did not answer is held in memory and recorded once it answers again."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime

from tracker.db import database, exclusive
from tracker.models import JobRun, State

log = logging.getLogger(__name__)

FAILURES = "failures.{job}"
UNRECORDED_LIMIT = 10_000  # runs held per process while the database is down (~14 h of 5 s ticks)


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


def record_failed_run(
    job: str, tick: datetime, error: str, *, runner: str, clock: Callable[[], datetime]
) -> bool:
    """Record, after the fact, a run of `runner` that failed while the database was down:
    the tick's claim (made now if it never was) is marked failed and counted. False, and
    nothing written, if another runner claimed the tick or the run was recorded already."""
    with exclusive(database, f"tracker.job.{job}"):
        run = JobRun.get_or_none((JobRun.job == job) & (JobRun.tick == tick))
        if run is None:
            run = JobRun.create(
                job=job, tick=tick, runner=runner, started_at=clock(), status="running"
            )
        elif run.runner != runner or run.status != "running":
            return False
        _finish(run, "failed", clock(), error[:2000])
        _count_failure(job)
    return True


class Unrecorded:
    """This process's runs that failed without a database to record them in (the newest
    UNRECORDED_LIMIT), until `record` finds it answering again. Safe across threads."""

    def __init__(self) -> None:
        self._runs: deque[tuple[str, datetime, str]] = deque(maxlen=UNRECORDED_LIMIT)
        self._lock = threading.Lock()

    def add(self, job: str, tick: datetime, error: str) -> None:
        with self._lock:
            self._runs.append((job, tick, error))

    def __len__(self) -> int:
        return len(self._runs)

    def record(self, *, runner: str, clock: Callable[[], datetime]) -> int:
        """Write every run held (oldest first); returns how many were counted as failures.
        A run stays held if the database fails again while writing it."""
        counted = 0
        with self._lock:
            while self._runs:
                job, tick, error = self._runs[0]
                counted += record_failed_run(job, tick, error, runner=runner, clock=clock)
                self._runs.popleft()
        return counted


def _finish(run: JobRun, status: str, at: datetime, error: str) -> None:
    run.status, run.finished_at, run.error = status, at, error
    run.save()


def _count_failure(job: str) -> None:
    State.count(FAILURES.format(job=job))


def failures(job: str) -> int:
    """How many times `job` has failed, ever (a counter: pruning runs never lowers it)."""
    value = State.value_of(FAILURES.format(job=job))
    return 0 if value is None else int(value)


def all_failures() -> dict[str, int]:
    """Failures so far of every job that has failed."""
    return State.counters(FAILURES.format(job=""))


def prune_runs(*, before: datetime) -> int:
    return JobRun.older_than(before).execute()
