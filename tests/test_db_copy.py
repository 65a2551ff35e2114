"""`tracker db copy --to postgresql://…` (DESIGN §13): every table with its ids, audit and
frozen weeks; the same answers from both databases afterwards; a non-empty target refused;
killed mid-copy, the target keeps no rows and the copy runs again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import incident_body
from tests.servers import environment
from tracker.app import create_app
from tracker.clock import utcnow
from tracker.db import database, open_database
from tracker.services import reports, rollup
from tracker.services.copying import held_rows
from tracker.services.payments import fold
from tracker.services.users import create_user
from tracker.settings import load_settings

WEEK = "2024-W30"


@pytest.fixture
def backend():
    return "sqlite"  # the source; the target is PostgreSQL


@pytest.fixture
def settings_overrides():
    return {"grading": {"approval": True}}


@pytest.fixture
def target(request):
    name = f"tracker_copy_{os.getpid()}_{request.node.name[:20].lower()}".replace("[", "_")
    url = create_pg_database(name.replace("]", ""))
    yield url
    open_database(url).close_all()
    drop_pg_database(name.replace("]", ""))


@pytest.fixture
def everything(app, api, gateway):
    """A database holding every kind of record."""
    settings = app.extensions["tracker.settings"]
    with app.app_context(), database.connection_context():
        create_user("lead", "admin", "correct horse battery", actor="test", now=utcnow())
    first = api.post("/incidents", incident_body(grade="C", grade_reason="")).get_json()
    second = api.post("/incidents", incident_body(title="银联代付通道超时")).get_json()
    api.post(f"/incidents/{first['id']}/timeline", {"at": first["detected_at"], "text": "已止损"})
    item = {"title": "补告警", "owner": "张三", "due_on": "2024-08-01"}
    api.post(f"/incidents/{first['id']}/follow-ups", item)
    rows = [
        {"minute": f"2024-07-23T10:0{m}:00+08:00", "direction": "pay_in", "channel": "unionpay",
         "scope": "final", "outcome": outcome, "count": n, "amount": "12.50"}
        for m in range(5) for outcome, n in (("success", 999), ("system", 1))
    ]  # fmt: skip
    assert api.post("/payments/counts", {"counts": rows}, role="ingest").status_code == 200
    old = [{**row, "minute": row["minute"].replace("07-23", "06-10")} for row in rows]
    assert api.post("/payments/counts", {"counts": old}, role="ingest").status_code == 200
    with app.app_context(), database.connection_context():  # June's minutes become hours
        fold(now=datetime(2024, 7, 20, tzinfo=UTC), keep_days=35)
    window = {"services": ["all"], "starts_at": "2024-07-24T02:00:00+08:00",
              "ends_at": "2024-07-24T03:00:00+08:00", "reason": "割接",
              "announced_at": "2024-07-20T00:00:00+08:00"}  # fmt: skip
    assert api.post("/maintenance-windows", window).status_code == 201
    with app.app_context(), database.connection_context():
        reports.export_weekly(WEEK, now=utcnow(), settings=settings, actor="lead")
    # after the freeze: a change (waiting for approval) and a restatement of the frozen week
    api.patch(f"/incidents/{second['id']}", {"summary": "补充", "grade": "D"})
    with app.app_context(), database.connection_context():
        rollup.take_snapshot(now=utcnow(), settings=settings)
    return first, second


def answers(app, api):
    paths = [
        "/incidents", "/incidents/1", "/incidents/2", "/incidents/1/timeline",
        "/incidents/1/follow-ups", "/follow-ups", "/changes", "/services",
        "/maintenance-windows", f"/reports/weekly/{WEEK}?format=json",
        "/reports/monthly/2024-07?format=json",
        "/slo/availability?since=2024-07-01T00:00:00Z&until=2024-08-01T00:00:00Z",
        "/payments/rates?since=2024-07-22T00:00:00%2B08:00&until=2024-07-29T00:00:00%2B08:00",
        "/payments/rates?since=2024-06-10T02:01:00Z&until=2024-06-10T02:03:00Z",  # folded
    ]  # fmt: skip
    found = {}
    for path in paths:
        response = api.client.get(f"/api/v1{path}", headers=api._headers("admin"))
        assert response.status_code == 200, (path, response.get_json())
        found[path] = response.get_data(as_text=True)
    audit = api.client.get("/api/v1/audit?limit=200", headers=api._headers("admin")).get_json()
    found["audit"] = audit["items"]
    slo = api.client.get("/api/v1/slo", headers=api._headers("admin")).get_json()
    found["slo"] = {k: v for k, v in slo.items() if k != "duration_seconds"}
    return found


def _copy(env, url):
    return subprocess.run(
        [sys.executable, "-m", "tracker", "db", "copy", "--to", url],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _env(app, tmp_path):
    settings = app.extensions["tracker.settings"]
    return environment(tmp_path, database_url=settings.effective_database_url)


def test_a_copy_answers_every_question_as_the_original_did(app, api, everything, target, tmp_path):
    before = answers(app, api)
    done = _copy(_env(app, tmp_path), target)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("equal")
    overrides = {"database_url": target, "data_dir": str(tmp_path), "grading": {"approval": True}}
    copied = create_app(load_settings(environ={}, overrides=overrides))
    from tests.factories import Api

    after = answers(copied, Api(copied.test_client(), api.tokens))
    assert after == before
    source = open_database(app.extensions["tracker.settings"].effective_database_url)
    copy = open_database(target)
    with source.connection_context(), copy.connection_context():
        assert held_rows(copy) == held_rows(source)
    # the sequences run past the copied ids: the next record is number 3
    created = Api(copied.test_client(), api.tokens).post("/incidents", incident_body())
    assert created.status_code == 201 and created.get_json()["id"] == 3


def test_a_target_holding_rows_is_refused_and_left_alone(app, api, everything, target, tmp_path):
    env = _env(app, tmp_path)
    assert _copy(env, target).returncode == 0
    again = _copy(env, target)
    assert again.returncode == 2 and "not empty" in again.stderr and "incident (2)" in again.stderr


def test_a_copy_killed_midway_leaves_the_target_empty_and_runs_again(
    app, api, gateway, target, tmp_path
):
    db = app.extensions["tracker.db"]
    with app.app_context(), database.connection_context():  # enough minutes to copy for a while
        db.execute_sql(
            "WITH RECURSIVE m(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM m WHERE i < 99999) "
            "INSERT INTO payment_minute (minute, direction, channel, scope, success_count) "
            "SELECT datetime('2024-01-01', '+' || i || ' minutes'), 'pay_in', 'unionpay', "
            "'final', 1000 FROM m"
        )
    env = _env(app, tmp_path)
    copying = subprocess.Popen(
        [sys.executable, "-m", "tracker", "db", "copy", "--to", target],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    copy = open_database(target)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until the copy is writing payment minutes
        with copy.connection_context():
            busy = copy.execute_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE query ILIKE 'INSERT INTO \"payment_minute\"%%'"
            ).fetchone()[0]
        if busy:
            break
        time.sleep(0.05)
    assert busy, "the copy never reached the payment minutes"
    os.kill(copying.pid, signal.SIGKILL)
    copying.wait(timeout=30)
    time.sleep(0.5)  # the server notices the closed connection and rolls back
    with copy.connection_context():
        assert held_rows(copy) == {}
    done = _copy(env, target)
    assert done.returncode == 0, done.stderr
    with copy.connection_context():
        assert held_rows(copy)["payment_minute"] == 100_000
    copy.close_all()
