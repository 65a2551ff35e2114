"""`payments.dip_unlogged` (DESIGN §12): a dip nobody logged within notify_after_minutes
reaches the channels that want it, once, with the link that logs it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.notifications.receivers import channel_to
from tests.services.test_dips import PAY_IN, at, plant, record
from tracker.models import Notification
from tracker.services import notifications, rollup


@pytest.fixture
def settings_overrides(wecom):
    channel = channel_to(wecom, "payments.dip_unlogged")
    return {
        "payments": {"rates": [PAY_IN]},
        "dips": {"min_attempts": 150, "notify_after_minutes": 15},
        "notifications": {"channels": [channel]},
        "base_url": "https://tracker.example.com",
    }


def _roll(app, now):
    settings = app.extensions["tracker.settings"]
    with app.app_context():
        rollup.take_snapshot(now=now, settings=settings)
        return notifications.send_pending(now=now, settings=settings, jitter=lambda: 0.0)


def test_a_dip_nobody_logged_is_announced_once_after_the_wait(app, api, gateway, wecom):
    plant(api, {"unionpay": ["2026-11-24T06:00"]})
    # the unionpay dip's first low minute is 06:00 (all channels: 06:01): 15 minutes later
    assert _roll(app, at("2026-11-24T06:14")).sent == 0
    assert _roll(app, at("2026-11-24T06:15")).sent == 1  # unionpay; `all` a minute later
    assert _roll(app, at("2026-11-24T06:16")).sent == 1
    assert _roll(app, at("2026-11-24T06:30")).sent == 0  # never twice
    first = wecom.received[0].json["markdown"]["content"]
    assert first.startswith("**成功率下跌未登记事件：unionpay渠道入金有效成功率下跌至50.000%**")
    assert "> 时段：2026-11-24 13:56 – 14:14 (Asia/Shanghai)" in first
    assert "> 失败笔数：3600 笔中失败 1000 笔" in first
    link = first.rsplit("(", 1)[1].rstrip(")")
    assert link.startswith("https://tracker.example.com/incidents/new?")
    asked = parse_qs(urlsplit(link).query)
    assert asked["impact_started_at"] == ["2026-11-24T05:56:00Z"]
    assert asked["mitigated_at"] == ["2026-11-24T06:14:00Z"]
    assert not wecom.problems


def test_a_dip_logged_in_time_is_not_announced(app, api, gateway, wecom):
    plant(api, {"unionpay": ["2026-11-24T06:00"]})
    record(api, gateway, "2026-11-24T06:00", "2026-11-24T06:12")
    assert _roll(app, at("2026-11-24T06:40")).sent == 0
    with app.app_context():
        assert Notification.select().count() == 0
