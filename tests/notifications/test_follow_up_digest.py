"""The daily `followup.overdue` digest (DESIGN §11): one message per owner with overdue
items, once a local day, naming each item, its due date and its record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.notifications.receivers import channel_to
from tracker.services import followups, notifications


@pytest.fixture
def settings_overrides(wecom):
    channel = channel_to(wecom, "followup.overdue")
    return {"notifications": {"channels": [channel]}, "base_url": "https://tracker.example.com"}


def _add(api, incident, owner, due_on, title="补充渠道超时告警"):
    body = {"title": title, "owner": owner, "due_on": due_on}
    assert api.post(f"/incidents/{incident['id']}/follow-ups", body).status_code == 201


def test_each_owner_hears_of_their_overdue_items_once_a_day(app, api, incident, wecom):
    _add(api, incident, "张三", "2026-11-20")
    _add(api, incident, "张三", "2026-11-25", title="复盘会")
    _add(api, incident, "李四", "2026-11-28")
    _add(api, incident, "王五", "2026-12-01")  # due today: not overdue
    settings = app.extensions["tracker.settings"]
    morning = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    with app.app_context():
        assert followups.send_digest(now=morning, settings=settings) == 2
        assert followups.send_digest(now=morning, settings=settings) == 0  # once a day
        sent = notifications.send_pending(now=morning, settings=settings, jitter=lambda: 0.0)
    assert sent.sent == 2 and not wecom.problems
    texts = sorted(r.json["markdown"]["content"] for r in wecom.received)
    zhang, li = texts
    assert zhang.startswith("**改进项逾期提醒：张三 有 2 项已逾期**")
    assert (
        "> 补充渠道超时告警（截止 2026-11-20） · [#" in zhang
        and "复盘会（截止 2026-11-25）" in zhang
    )
    assert "https://tracker.example.com/follow-ups?owner=%E5%BC%A0%E4%B8%89&overdue=true" in zhang
    assert "李四 有 1 项" in li and "王五" not in li + zhang
    next_day = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    with app.app_context():
        assert followups.send_digest(now=next_day, settings=settings) == 3  # 王五 too now
