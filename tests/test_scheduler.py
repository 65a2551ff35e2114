"""Scheduled jobs: once per tick across processes, failures recorded and retried. Two real
replicas sharing one tick: tests/faults/test_two_replicas.py."""

from datetime import UTC, datetime, timedelta

from tracker.app import create_app
from tracker.models import JobRun, Snapshot
from tracker.scheduler import _grid, job_table, run_job
from tracker.services.jobs import Unrecorded, failures, run_once
from tracker.settings import load_settings

TICK = datetime(2026, 11, 23, 1, 2, tzinfo=UTC)


def _clock():
    return datetime.now(UTC)


def test_a_tick_runs_once_however_many_try(db):
    ran = []
    outcomes = [
        run_once("rollup", TICK, lambda: ran.append(1), runner=f"r{i}", clock=_clock)
        for i in range(3)
    ]
    assert outcomes == ["succeeded", "skipped", "skipped"] and ran == [1]


def test_a_failing_job_is_recorded_counted_and_runs_again_next_tick(db):
    def broken():
        raise RuntimeError("database lag")

    assert run_once("rollup", TICK, broken, runner="r", clock=_clock) == "failed"
    assert (
        run_once("rollup", TICK + timedelta(minutes=1), lambda: None, runner="r", clock=_clock)
        == "succeeded"
    )
    failed = JobRun.get(JobRun.tick == TICK)
    assert (failed.status, failed.error, failures("rollup")) == (
        "failed",
        "RuntimeError: database lag",
        1,
    )


def test_with_the_database_down_a_run_fails_and_is_held_for_later(tmp_path):
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    app = create_app(
        load_settings(environ={}, overrides={"database_url": url, "data_dir": str(tmp_path)})
    )
    held = Unrecorded()
    rollup_job = job_table(app.extensions["tracker.settings"])[0]
    assert (run_job(app, rollup_job, held), len(held)) == ("failed", 1)


def test_a_run_held_in_an_outage_is_recorded_once_when_the_database_answers(db):
    replicas = {"a": Unrecorded(), "b": Unrecorded()}
    for held in replicas.values():
        held.add("rollup", TICK, "OperationalError: connection refused")
    counted = [held.record(runner=name, clock=_clock) for name, held in replicas.items()]
    run = JobRun.get(JobRun.tick == TICK)
    assert (counted, failures("rollup"), run.status, run.runner) == ([1, 0], 1, "failed", "a")


def test_job_failures_are_exported_as_counters(client, db):
    def broken():
        raise RuntimeError("boom")

    run_once("weekly_export", TICK, broken, runner="r", clock=_clock)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'tracker_job_failures_total{job="weekly_export"} 1.0' in text
    assert "tracker_rollup_failures_total 0.0" in text


def test_interval_ticks_fall_on_a_grid_shared_by_every_replica():
    tick = _grid(60)
    assert tick(datetime(2026, 11, 23, 1, 2, 59, tzinfo=UTC)) == TICK
    assert tick(datetime(2026, 11, 23, 1, 3, tzinfo=UTC)) == TICK + timedelta(minutes=1)


def test_the_weekly_export_fires_on_monday_at_nine_local(app):
    export = {job.id: job for job in job_table(app.extensions["tracker.settings"])}["weekly_export"]
    sunday = datetime(2024, 7, 28, 12, tzinfo=UTC)
    fire = export.trigger.get_next_fire_time(None, sunday)
    assert fire.isoformat() == "2024-07-29T09:00:00+08:00"


def test_the_rollup_job_takes_a_snapshot(app, db):
    rollup_job = job_table(app.extensions["tracker.settings"])[0]
    assert run_job(app, rollup_job) == "succeeded"
    assert Snapshot.select().count() == 1


def test_the_weekly_export_job_exports_last_week(app, db, tmp_path):
    export = job_table(app.extensions["tracker.settings"])[2]
    assert run_job(app, export) == "succeeded"
    assert list((tmp_path / "exports" / "weekly").glob("*.zh.md"))


def test_a_scheduler_that_skips_a_tick_says_it_skipped(app, db, caplog):
    rollup = next(
        job for job in job_table(app.extensions["tracker.settings"]) if job.id == "rollup"
    )
    caplog.set_level("INFO", logger="tracker.scheduler")
    run_job(app, rollup)
    run_job(app, rollup)  # a second scheduler, the same tick
    said = [r.getMessage() for r in caplog.records if r.name == "tracker.scheduler"]
    assert "ran and succeeded" in said[0] and "skipped: another process" in said[1]
