"""What a hostile or careless client could do, and what holds now: each test names the attack,
then the defence. Half-sent requests: test_slow_clients.py; sessions: tests/ui/test_sessions.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import threading
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from http.cookiejar import CookieJar

import pytest

from tests.factories import incident_body, service_body, stored_counts
from tests.hostile.conftest import sqlite_only
from tests.servers import call, cli, environment, serving
from tests.ui.conftest import PASSWORD, edited
from tracker.app import create_app
from tracker.cli import main
from tracker.db import database
from tracker.models import Incident
from tracker.services import incidents as incident_service
from tracker.settings import load_settings

# ---- 2: every label of every metric is from a bounded set ---------------------------------


@sqlite_only
def test_made_up_http_methods_are_counted_as_other_not_as_new_series(client):
    for k in range(50):
        client.open("/api/v1/incidents", method=f"X{k}")
    text = client.get("/metrics").get_data(as_text=True)
    methods = set(re.findall(r'tracker_http_requests_total\{method="([^"]+)"', text))
    assert methods <= {"GET", "other"} and "other" in methods


# ---- 3: no redirect off the site after sign-in --------------------------------------------


@sqlite_only
@pytest.mark.parametrize(
    "target", ["/%09/evil.example/phish", "/%0a/evil.example", "/%0d/evil.example", "/%5Cevil"]
)
def test_a_control_character_in_next_never_leads_off_the_site(browser, target):
    browser.get("/login")
    response = browser.client.post(
        f"/login?next={target}",
        data={"name": "viewer", "password": PASSWORD, "csrf_token": browser.token},
    )
    assert (response.status_code, response.location) == (302, "/")


# ---- 4: distinct channels are capped -------------------------------------------------------


def _row(channel, minute="2024-07-23T10:04:00+08:00"):
    return {
        "minute": minute,
        "direction": "pay_in",
        "channel": channel,
        "scope": "final",
        "outcome": "success",
        "count": 1,
    }


@pytest.mark.parametrize("settings_overrides", [{"payments": {"max_channels": 3}}])
def test_a_row_adding_one_channel_too_many_is_refused_naming_it(app, api):
    api.post("/payments/counts", {"counts": [_row("a"), _row("b")]}, role="ingest")
    before = stored_counts(app)
    refused = api.post("/payments/counts", {"counts": [_row("c"), _row("d")]}, role="ingest")
    unchanged = stored_counts(app) == before
    again = api.post("/payments/counts", {"counts": [_row("a"), _row("c")]}, role="ingest")
    assert refused.status_code == 422 and "'d' would be channel 4" in refused.json["detail"]
    assert refused.json["errors"][0]["field"] == "counts.channel"
    assert unchanged and again.status_code == 200


def test_a_minute_in_the_future_is_refused(app, api):
    response = api.post(
        "/payments/counts", {"counts": [_row("a", "2099-01-01T00:00:00Z")]}, role="ingest"
    )
    assert response.status_code == 422 and "in the future" in response.json["detail"]


# ---- 5: concurrent guesses are counted before any is checked --------------------------------


def _guess(base: str) -> int:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    form = urllib.parse.urlencode({"csrf_token": token, "name": "oncall", "password": "guess"})
    try:
        opener.open(f"{base}/login", data=form.encode(), timeout=30)
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def test_forty_concurrent_guesses_at_one_name_check_at_most_five(database_url, tmp_path):
    env = environment(tmp_path, database_url=database_url, scheduler_enabled="false")
    cli(env, "users", "create", "oncall", "--role", "responder", stdin=PASSWORD + "\n")
    with serving(env) as base:
        answers: list[int] = []
        threads = [threading.Thread(target=lambda: answers.append(_guess(base))) for _ in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers.count(401) <= 5 and answers.count(401) + answers.count(429) == 40


# ---- 7: a weak secret key --------------------------------------------------------------------


@sqlite_only
def test_a_short_secret_key_stops_start_up_without_saying_it(runner, monkeypatch, backend):
    monkeypatch.setenv("TRACKER_SECRET_KEY", "x9q")
    result = runner.invoke(main, ["rollup"])
    assert result.exit_code == 1 and "at least 32 bytes" in result.output
    assert "x9q" not in result.output


# ---- 8: instants at the edges of time ---------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"impact_started_at": "0001-01-01T00:00:00+08:00"},
        {"detected_at": "9999-12-31T23:59:59-14:00"},
        {"detected_at": "1969-12-31T23:59:59Z", "mitigated_at": None},
    ],
    ids=["year 1", "year 9999", "before 1970"],
)
def test_an_incident_time_outside_the_stored_range_is_a_422(api, gateway, fields):
    response = api.post("/incidents", incident_body(**fields))
    assert response.status_code == 422 and response.json["errors"][0]["field"] in fields


@sqlite_only
@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/incidents", {"since": "0001-01-01T00:00:00Z"}),
        ("/audit", {"since": "0001-01-01T00:00:00Z"}),
        ("/maintenance-windows", {"since": "0001-01-01T00:00:00Z"}),
        ("/slo/availability", {"since": "0001-01-01T00:00:00Z"}),
        ("/payments/rates", {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T00:00:00Z"}),
    ],
)
def test_a_query_instant_outside_years_2_to_9998_is_a_422(api, gateway, path, params):
    assert api.get(path, **params).status_code == 422


@sqlite_only
@pytest.mark.parametrize("week", ["0001-W01", "9999-W52"])
def test_a_week_at_the_edges_of_time_is_a_404_in_the_api_and_the_ui(api, browser, gateway, week):
    browser.sign_in("viewer")
    answers = (
        api.get(f"/reports/weekly/{week}").status_code,
        api.get(f"/reports/weekly/{week}/chart.png").status_code,
        browser.get(f"/report?week={week}").status_code,
        browser.get(f"/chart.png?week={week}").status_code,
    )
    assert answers == (404, 404, 404, 404)


@sqlite_only
def test_the_first_week_there_is_charts_what_it_can(api, gateway):
    assert api.get("/reports/weekly/0002-W01/chart.png").status_code == 200


@pytest.mark.parametrize("settings_overrides", [{"timezone": "America/New_York"}])
def test_a_replica_in_another_zone_lists_the_oldest_records(browser, api, gateway):
    api.post("/incidents", incident_body(detected_at="1970-01-01T00:00:00Z", mitigated_at=None))
    browser.sign_in("viewer")
    assert browser.get("/incidents").status_code == 200


# ---- 9: security headers ---------------------------------------------------------------------


@sqlite_only
def test_every_answer_says_what_a_browser_may_do_with_it(browser, api, gateway):
    browser.sign_in("viewer")
    answers = [
        browser.get("/"),
        browser.get("/report/download?week=2024-W30&format=md"),
        api.get("/incidents"),
        browser.client.get("/api/docs/"),
    ]
    for answer in answers:
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
    assert [a.headers.get("Cache-Control") for a in answers[:3]] == ["no-store"] * 3
    assert browser.get("/static/ui/tracker.css").headers.get("Cache-Control") != "no-store"


@sqlite_only
def test_the_api_docs_load_no_script_from_another_site(client):
    page = client.get("/api/docs/").get_data(as_text=True)
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert sources and all(src.startswith("/") for src in sources)


@sqlite_only
@pytest.mark.parametrize("settings_overrides", [{"auth": {"session_cookie_secure": True}}])
def test_the_session_cookie_can_be_https_only(browser):
    response = browser.sign_in("viewer")
    assert "Secure" in response.headers["Set-Cookie"]


# ---- 10: terminal escapes ------------------------------------------------------------------


@pytest.mark.parametrize(
    "title", ["清屏\x1b[2J", "剪贴板\x1b]52;c;ZXZpbA==\x07", "C1\x9b31m"], ids=["CSI", "OSC", "C1"]
)
def test_a_control_character_in_text_is_refused_naming_the_field(api, gateway, title):
    response = api.post("/incidents", incident_body(title=title))
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "title"


def test_newlines_and_tabs_are_text(api, gateway):
    response = api.post("/incidents", incident_body(summary="第一行\n\t第二行"))
    assert response.status_code == 201 and response.json["summary"] == "第一行\n\t第二行"


def test_an_escape_stored_before_the_rule_never_reaches_the_markdown(app, api, gateway):
    created = api.post("/incidents", incident_body(title="旧记录")).json
    with app.app_context(), database.connection_context():
        Incident.update(title="旧\x1b[2J记录").where(Incident.id == created["id"]).execute()
    text = api.get("/reports/weekly/2024-W30").get_data(as_text=True)
    assert "\x1b" not in text and "旧\ufffd[2J记录" in text


# ---- 11 and 12: cursors and search text ------------------------------------------------------


def _cursor(values):
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@sqlite_only
@pytest.mark.parametrize(
    ("path", "values"),
    [("/incidents", ["2026-01-01T00:00:00", 2**64]), ("/audit", [2**70]), ("/audit", [True])],
)
def test_a_forged_cursor_is_a_422(api, gateway, path, values):
    assert api.get(path, cursor=_cursor(values)).status_code == 422


def test_percent_and_underscore_are_searched_as_written(api, gateway):
    for title in ("成功率100%", "a_b 通道", "ab 通道"):
        api.post("/incidents", incident_body(title=title))
    found = {q: [i["title"] for i in api.get("/incidents", q=q).json["items"]] for q in ("%", "_")}
    assert found == {"%": ["成功率100%"], "_": ["a_b 通道"]}


# ---- 13: a search is bounded -------------------------------------------------------------------


@sqlite_only
def test_a_search_longer_than_100_characters_is_a_422(api, gateway):
    response = api.get("/incidents", q="x" * 101)
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "q"


def test_a_search_that_runs_too_long_is_stopped_with_a_422(app, api, gateway, monkeypatch):
    at = datetime(2024, 7, 23, 2, tzinfo=UTC)
    rows = [
        {
            "title": f"incident {i}",
            "summary": "s" * 200,
            "impact_started_at": at,
            "detected_at": at,
            "created_at": at,
            "updated_at": at,
            "created_by": "test",
        }
        for i in range(20_000)
    ]
    with app.app_context(), database.connection_context(), database.atomic():
        for start in range(0, len(rows), 1000):
            Incident.insert_many(rows[start : start + 1000]).execute()
    monkeypatch.setattr(incident_service, "SEARCH_SECONDS", 0.001)
    response = api.get("/incidents", q="nowhere to be found")
    assert response.status_code == 422 and "narrow it" in response.json["detail"]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_serves_a_search_from_trigram_indexes(db):
    indexes = {
        name
        for (name,) in db.execute_sql(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'incident' AND indexdef LIKE %s",
            ("%gin_trgm_ops%",),
        )
    }
    assert indexes == {"incident_title_trgm", "incident_summary_trgm", "incident_location_trgm"}


# ---- 14: the chart is drawn once per week, language and data --------------------------------


@sqlite_only
def test_the_trend_chart_is_drawn_once_per_week_language_and_snapshot(api, gateway, monkeypatch):
    from tracker.services import trends

    drawn = []
    real = trends.trend_png
    monkeypatch.setattr(trends, "trend_png", lambda *a, **k: drawn.append(1) or real(*a, **k))
    api.post("/rollups", None)
    for _ in range(3):
        api.get("/reports/weekly/2024-W30/chart.png")
    api.post("/rollups", None)
    api.get("/reports/weekly/2024-W30/chart.png")
    assert len(drawn) == 2


# ---- 15: a form opened long ago still saves --------------------------------------------------


@sqlite_only
def test_a_form_opened_two_hours_ago_still_saves(app, browser, api, gateway, monkeypatch):
    import itsdangerous.timed
    from itsdangerous import URLSafeTimedSerializer

    browser.sign_in("responder")
    page = browser.get("/incidents/new").get_data(as_text=True)
    with browser.client.session_transaction() as session:
        raw = session["csrf_token"]
    real = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() - 7200)
    old = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
    monkeypatch.setattr(itsdangerous.timed.time, "time", real)
    form = edited(page, {"title": "两小时前打开的表单", "services": "gateway", "csrf_token": old})
    assert browser.post("/incidents/new", form).status_code == 302


# ---- 16: the audit of tokens and users -------------------------------------------------------


@sqlite_only
def test_only_admins_read_the_audit_of_tokens_and_users(api, runner):
    runner.invoke(
        main, ["users", "create", "oncall", "--role", "viewer"], input="a long password\n"
    )
    seen = {
        role: {r["entity"] for r in api.get("/audit", role=role).json["items"]}
        for role in ("viewer", "ingest", "admin")
    }
    asked = api.get("/audit", role="viewer", entity="token").status_code
    assert seen["viewer"] == seen["ingest"] == set() and seen["admin"] == {"token", "user"}
    assert asked == 403


# ---- 17: passwords ---------------------------------------------------------------------------


@sqlite_only
@pytest.mark.parametrize("password", [" " * 10, "a" * 12, "short"])
def test_a_password_that_is_no_password_is_refused(runner, app, password):
    result = runner.invoke(main, ["users", "create", "oncall", "--role", "viewer"], input=password)
    assert result.exit_code == 2 and "password" in result.output


# ---- 18: local times the clocks skip or show twice ------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"timezone": "America/New_York"}])
def test_a_local_time_the_clocks_skip_is_refused_and_one_they_show_twice_is_chosen(
    browser, api, gateway
):
    browser.sign_in("responder")
    form = {"title": "夏令时", "services": "gateway", "status": "open"}
    skipped = browser.post("/incidents/new", form | {"detected_at": "2024-03-10T02:30:00"})
    twice = browser.post("/incidents/new", form | {"detected_at": "2024-11-03T01:30:00"})
    chosen = browser.post(
        "/incidents/new",
        form | {"detected_at": "2024-11-03T01:30:00", "detected_at_offset": "-05:00"},
    )
    assert (skipped.status_code, twice.status_code, chosen.status_code) == (422, 422, 302)
    assert "没有这个本地时间" in skipped.get_data(as_text=True)
    assert 'name="detected_at_offset"' in twice.get_data(as_text=True)
    assert api.get("/incidents").json["items"][0]["detected_at"] == "2024-11-03T06:30:00Z"


# ---- 19: a tier change does not re-grade history --------------------------------------------


def test_a_tier_change_never_makes_an_unrelated_save_fail(api):
    api.post("/services", service_body("gateway", tier=3))
    body = incident_body(mitigated_at="2024-07-23T10:34:00+08:00", grade="D")
    created = api.post("/incidents", body).json  # 30 min at 0.5 on tier 3: D
    api.patch("/services/gateway", {"tier": 1})  # the same impact is now a B
    location = api.patch(f"/incidents/{created['id']}", {"location": "M6V"})
    same_grade = api.patch(f"/incidents/{created['id']}", {"grade": "D"})
    regraded = api.patch(f"/incidents/{created['id']}", {"grade": "C"})
    assert (location.status_code, same_grade.status_code, regraded.status_code) == (200, 200, 422)


# ---- 20 and 21: files on disk ------------------------------------------------------------------


def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path):
    from tracker.migrate import upgrade

    settings = load_settings(environ={}, overrides={"data_dir": str(tmp_path / "fresh")})
    app = create_app(settings)
    upgrade(app.extensions["tracker.db"])
    mode = stat.S_IMODE(os.stat(tmp_path / "fresh" / "tracker.db").st_mode)
    assert mode == 0o600 and stat.S_IMODE(os.stat(tmp_path / "fresh").st_mode) == 0o700


def test_a_second_server_on_one_data_folder_keeps_the_first_ones_metrics(tmp_path):
    env = environment(tmp_path, scheduler_enabled="false")
    with serving(env) as first:
        for _ in range(5):
            call(f"{first}/healthz")
        with serving(env):
            _, _, text = call(f"{first}/metrics")
    counted = re.search(
        r'tracker_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)', text
    )
    assert counted and float(counted[1]) >= 5
