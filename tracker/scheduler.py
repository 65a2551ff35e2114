"""The scheduler (APScheduler 3): the jobs as data, each run once per tick across every
process that runs a scheduler, thanks to `services.jobs.run_once`."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from tracker.clock import utcnow
from tracker.core.weekly.model import last_week
from tracker.core.windows import local_midnight
from tracker.db import DATABASE_DOWN, database
from tracker.services import followups, jobs, notifications, regulatory, reports, rollup
from tracker.services.payments.fold import fold
from tracker.settings import Settings

log = logging.getLogger(__name__)
GRID = datetime(2000, 1, 1, tzinfo=UTC)  # interval ticks fall on multiples from here
OUTCOMES = {
    "succeeded": "ran and succeeded",
    "failed": "ran and failed (recorded; the next tick runs again)",
    "skipped": "skipped: another process has run this tick",
}


@dataclass(frozen=True)
class Job:
    id: str
    trigger: BaseTrigger
    tick: Callable[[datetime], datetime]  # the tick a moment belongs to
    work: Callable[[datetime, Settings], object]


def _grid(seconds: float) -> Callable[[datetime], datetime]:
    def tick(now: datetime) -> datetime:
        steps = (now - GRID) // timedelta(seconds=seconds)
        return GRID + steps * timedelta(seconds=seconds)

    return tick


def _rollup(now: datetime, settings: Settings) -> object:
    return rollup.take_snapshot(now=now, settings=settings)


def _prune(now: datetime, settings: Settings) -> object:
    cutoff = now - timedelta(hours=settings.rollup.keep_hours)
    return (
        rollup.prune_snapshots(now=now, settings=settings),
        jobs.prune_runs(before=cutoff),
        notifications.prune(now=now, settings=settings),
        fold(now=now, keep_days=settings.payments.keep_minutes_days).to_json(),
    )


def _notify(now: datetime, settings: Settings) -> object:
    return notifications.send_pending(now=now, settings=settings)


def _weekly_export(now: datetime, settings: Settings) -> object:
    week = last_week(now, settings.zone)
    return reports.export_weekly(week, now=now, settings=settings, actor="scheduler", announce=True)


def _regulatory(now: datetime, settings: Settings) -> object:
    return regulatory.warn_due(now=now, settings=settings)


def _follow_up_digest(now: datetime, settings: Settings) -> object:
    return followups.send_digest(now=now, settings=settings)


def _day_start(settings: Settings) -> Callable[[datetime], datetime]:
    def tick(now: datetime) -> datetime:
        return local_midnight(now.astimezone(settings.zone).date(), settings.zone)

    return tick


def _week_start(settings: Settings) -> Callable[[datetime], datetime]:
    def tick(now: datetime) -> datetime:
        local = now.astimezone(settings.zone).date()
        return local_midnight(local - timedelta(days=local.weekday()), settings.zone)

    return tick


def job_table(settings: Settings) -> tuple[Job, ...]:
    """Every scheduled job: the rollup, pruning (snapshots, job runs, sent notifications, and
    folding old payment minutes into hours), the Monday 09:00 export, the daily
    digest of overdue follow-ups, the regulator's deadlines, and sending what the
    notification outbox holds."""
    interval = settings.rollup.interval_seconds
    every = settings.notifications.interval_seconds
    hour, minute = settings.follow_ups.hour_minute
    return (
        Job("rollup", IntervalTrigger(seconds=interval, start_date=GRID), _grid(interval), _rollup),
        Job("prune", IntervalTrigger(hours=1, start_date=GRID), _grid(3600), _prune),
        Job(
            "weekly_export",
            CronTrigger(day_of_week="mon", hour=9, minute=0, timezone=settings.zone),
            _week_start(settings),
            _weekly_export,
        ),
        Job(
            "follow_up_digest",
            CronTrigger(hour=hour, minute=minute, timezone=settings.zone),
            _day_start(settings),
            _follow_up_digest,
        ),
        Job("regulatory", IntervalTrigger(minutes=1, start_date=GRID), _grid(60), _regulatory),
        Job("notify", IntervalTrigger(seconds=every, start_date=GRID), _grid(every), _notify),
    )


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(app: Flask, job: Job, unrecorded: jobs.Unrecorded | None = None) -> str:
    """One firing: claim the tick, run the work, record how it went. With the database down
    nothing can be claimed or recorded: the failure waits in `unrecorded` until a later
    firing finds the database back and records it first."""
    settings = app.extensions["tracker.settings"]
    now = utcnow()
    tick = job.tick(now)
    try:
        with app.app_context(), database.connection_context():
            if unrecorded:
                unrecorded.record(runner=runner_name(), clock=utcnow)
            outcome = jobs.run_once(
                job.id, tick, lambda: job.work(now, settings), runner=runner_name(), clock=utcnow
            )
        log.info("job %s at tick %s: %s", job.id, tick.isoformat(), OUTCOMES[outcome])
        return outcome
    except DATABASE_DOWN as exc:
        error = f"{type(exc).__name__}: {str(exc).strip()}"
        log.warning("job %s at tick %s: the database does not answer: %s", job.id, tick, error)
        if unrecorded is not None:
            unrecorded.add(job.id, tick, error)
        return "failed"


def build(app: Flask, scheduler_class: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """A scheduler with every job: coalesced, one instance at a time, a generous misfire
    grace, explicit ids, and a listener so that an error is logged, never fatal."""
    settings = app.extensions["tracker.settings"]
    scheduler = scheduler_class(
        timezone=settings.zone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    unrecorded = jobs.Unrecorded()
    for job in job_table(settings):
        scheduler.add_job(
            run_job,
            trigger=job.trigger,
            args=(app, job, unrecorded),
            id=job.id,
            name=job.id,
            replace_existing=True,
        )
    scheduler.add_listener(_on_error, EVENT_JOB_ERROR)
    # APScheduler says "executed successfully" of every firing, a skipped tick too; run_job
    # says what each firing did instead.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    return scheduler


def _on_error(event: JobExecutionEvent) -> None:
    # run_job records the jobs' own failures, and the database's; this catches the rest
    log.error("scheduled job %s could not run: %s", event.job_id, event.exception)
