"""Unlogged dips on the pages (DESIGN §12): the dashboard lists them with 登记事件, which
opens the incident form with the dip's times and a title; the weekly page and JSON carry
the week's."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest

from tests.services.test_dips import PAY_IN, plant
from tests.ui.conftest import edited
from tracker.clock import utcnow
from tracker.core.weekly.model import week_name
from tracker.services import rollup
from tracker.ui.forms import local_text


@pytest.fixture
def settings_overrides():
    return {"payments": {"rates": [PAY_IN]}, "dips": {"min_attempts": 150}}


@pytest.fixture
def outage(app, api, gateway):
    """unionpay at 50% for ten minutes, starting two hours ago (on the minute)."""
    start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=2)
    plant(api, {"unionpay": [start.replace(tzinfo=None).isoformat(timespec="minutes")]})
    with app.app_context():
        rollup.take_snapshot(now=utcnow(), settings=app.extensions["tracker.settings"])
    return start


def _log_link(page):
    links = re.findall(r'<a class="button" href="([^"]+)">登记事件</a>', page)
    return [html.unescape(link) for link in links]


def test_the_dashboard_lists_unlogged_dips_with_a_button_that_fills_the_form(
    app, responder, outage
):
    page = responder.get("/").get_data(as_text=True)
    assert "未登记的成功率下跌" in page and "50.000%" in page and "3600 笔中失败 1000 笔" in page
    unionpay, every = _log_link(page)
    form = responder.get(unionpay).get_data(as_text=True)
    zone = app.extensions["tracker.settings"].zone
    assert 'value="unionpay渠道入金有效成功率下跌至50.000%"' in form
    started = local_text(outage - timedelta(minutes=4), zone)
    ended = local_text(outage + timedelta(minutes=14), zone)
    assert f'name="impact_started_at" value="{started}"' in form
    assert f'name="mitigated_at" value="{ended}"' in form
    assert '<option value="mitigated" selected' in form
    assert "全渠道入金有效成功率下跌至" in responder.get(every).get_data(as_text=True)
    posted = responder.post("/incidents/new", edited(form, {"services": "gateway"}))
    assert posted.status_code == 302
    # the record covers both dips at once, before the next rollup
    assert _log_link(responder.get("/").get_data(as_text=True)) == []
    assert "近 7 天没有未登记的下跌" in responder.get("/").get_data(as_text=True)


def test_a_viewer_sees_the_dips_without_the_button(browser, outage):
    assert browser.sign_in("viewer").status_code == 302
    page = browser.get("/").get_data(as_text=True)
    assert "未登记的成功率下跌" in page and _log_link(page) == []


def test_a_link_with_bad_times_leaves_the_form_as_it_starts(responder):
    form = responder.get("/incidents/new?impact_started_at=yesterday&mitigated_at=2026-13-01")
    text = form.get_data(as_text=True)
    assert form.status_code == 200
    assert 'name="impact_started_at" value=""' in text and '<option value="open" selected' in text


def test_the_weekly_page_and_json_carry_the_week_s_unlogged_dips(app, responder, outage):
    week = week_name(outage, app.extensions["tracker.settings"].zone)
    page = responder.get(f"/report?week={week}").get_data(as_text=True)
    assert 'id="dips"' in page and len(_log_link(page)) == 2  # beside the events
    download = responder.get(f"/report/download?week={week}&format=json")
    dips = json.loads(download.get_data(as_text=True))["unlogged_dips"]
    assert [(d["channel"], d["worst_display"]) for d in dips] == [
        ("unionpay", "50.000%"),
        ("all", "76.190%"),
    ]


@pytest.mark.parametrize("settings_overrides", [{}])
def test_without_dip_below_the_pages_say_nothing_of_dips(responder, api, gateway):
    assert "未登记的成功率下跌" not in responder.get("/").get_data(as_text=True)
