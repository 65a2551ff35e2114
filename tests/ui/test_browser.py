"""The web UI in a real browser: Playwright driving Debian's Chromium against a real server.
Screenshots of every page land in test-artifacts/screenshots/."""

import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from tests.servers import admin_token, cli, environment, serving

CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() == "true"
SHOTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not IN_CI,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


def _api(url, token, body=None):
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A real `tracker serve` with a responder, an admin token and one service."""
    env = environment(tmp_path_factory.mktemp("site"), scheduler_enabled="false")
    cli(env, "users", "create", "oncall", "--role", "responder", stdin=PASSWORD + "\n")
    token = admin_token(env, "ui-test")
    with serving(env) as base:
        yield from _seeded(base, token)


def _seeded(base, token):
    _api(f"{base}/api/v1/services", token, {"key": "pos-settlement", "name": "POS 结算", "tier": 1})
    _api(f"{base}/api/v1/rollups", token, {})
    yield base, token


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=shutil.which("chromium") or CHROMIUM,
        args=[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="module")
def page(browser, site):
    base, _ = site
    context = browser.new_context(
        base_url=base,
        viewport={"width": 1280, "height": 900},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_sign_in_log_an_incident_and_find_it_everywhere(page, site):
    base, token = site
    page.goto("/login")
    shot(page, "01-login")
    page.fill("input[name=name]", "oncall")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/")
    shot(page, "02-dashboard")
    page.click("a.primary")  # + 登记事件
    page.fill("input[name=title]", "银商对账文件未下发，POS 自动结算未执行")
    page.check("input[name=services][value=pos-settlement]")
    page.fill("input[name=detected_at]", "2024-07-23T10:04")
    page.fill("input[name=mitigated_at]", "2024-07-23T10:34")
    page.fill("input[name=impact_ratio]", "0.5")
    page.wait_for_function("document.getElementById('suggestion').dataset.grade === 'B'")
    shot(page, "03-new-incident")
    page.click("form#incident-form button.primary")
    page.wait_for_url("**/incidents/1")
    shot(page, "04-incident")
    assert "银商对账文件未下发" in page.inner_text("h1")
    page.goto("/incidents")
    shot(page, "05-incidents")
    assert "银商对账文件未下发" in page.inner_text("table.list")
    _api(f"{base}/api/v1/rollups", token, {})
    page.goto("/")
    shot(page, "02b-dashboard-with-the-incident")
    assert page.inner_text('a[href="/incidents?grade=ungraded"]') == "1"


def test_change_the_grade_and_see_the_audit_entry(page):
    page.goto("/incidents/1")
    page.select_option("select[name=grade]", "B")
    page.click("form#incident-form button.primary")
    page.wait_for_url("**/incidents/1")
    shot(page, "06-incident-regraded")
    assert "grade: None → B" in page.inner_text("#audit")


def test_the_weekly_report_preview(page):
    page.goto("/report?week=2024-W30")
    shot(page, "07-report")
    assert "【系统运行数据】" in page.inner_text("pre.report")


def test_the_services_and_maintenance_pages(page):
    page.goto("/services")
    shot(page, "08-services")
    assert "pos-settlement" in page.inner_text("table.list")
    page.goto("/maintenance")
    page.fill("input[name=starts_at]", "2030-01-05T02:00")
    page.fill("input[name=ends_at]", "2030-01-05T04:00")
    page.fill("input[name=reason]", "数据库升级")
    page.click("form button.primary")
    page.wait_for_url("**/maintenance")
    shot(page, "09-maintenance")
    assert "数据库升级" in page.inner_text("table.list")


def test_a_forged_post_without_its_csrf_token_is_refused(page, site):
    response = page.context.request.post(
        "/incidents/new",
        form={"title": "forged", "services": "pos-settlement", "detected_at": "2024-07-23T10:04"},
    )
    assert response.status == 400
    page.goto("/incidents?q=forged")
    assert "forged" not in page.inner_text("table.list")
