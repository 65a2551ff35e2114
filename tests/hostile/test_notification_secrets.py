"""A channel's URL carries its robot's key, and a signing secret signs its messages: neither
shows in a log line, an API answer, a page, an error message or the CLI's output, whatever
the receiver answers (the failing receivers echo the request's path and query back)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from tests.factories import incident_body
from tests.notifications.receivers import Receiver
from tracker.cli import main
from tracker.clock import utcnow
from tracker.services import notifications
from tracker.settings import SettingsError, load_settings

SECRET = "SEC-signing-secret-that-must-stay-hidden"


@pytest.fixture(params=["wecom", "dingtalk", "webhook"])
def receiver(request):
    with Receiver(request.param, secret=SECRET, fail_first=1) as running:
        yield running


def _channel(receiver, url=None):
    return {
        "name": "oncall",
        "kind": receiver.kind,
        "url": url or receiver.url,
        "secret": SECRET,
        "events": ["incident.created"],
    }


@pytest.fixture
def settings_overrides(receiver):
    return {"notifications": {"channels": [_channel(receiver)]}}


def _hidden(receiver) -> tuple[str, ...]:
    return (receiver.key, SECRET)


def test_a_failed_and_a_retried_send_log_no_secret_and_the_outbox_shows_none(
    app, api, gateway, db, receiver, caplog
):
    caplog.set_level(logging.DEBUG)
    api.post("/incidents", incident_body())
    settings = app.extensions["tracker.settings"]
    now = utcnow()
    first = notifications.send_pending(now=now, settings=settings, jitter=lambda: 0.0)
    later = now + timedelta(minutes=1)
    second = notifications.send_pending(now=later, settings=settings, jitter=lambda: 0.0)
    assert (first.retried, second.sent) == (1, 1)
    outbox = api.get("/notifications", role="admin").get_data(as_text=True)
    for secret in _hidden(receiver):
        assert secret not in caplog.text and secret not in outbox
    assert "HTTP 500" in caplog.text  # said, without what it must not say


def test_the_cli_test_command_says_why_a_send_failed_without_the_key(runner, monkeypatch, receiver):
    monkeypatch.setenv("ROBOT_URL", receiver.url)
    channels = [_channel(receiver, url="env:ROBOT_URL")]
    monkeypatch.setenv("TRACKER_NOTIFICATIONS_CHANNELS", json.dumps(channels))
    failed = runner.invoke(main, ["notifications", "test", "oncall"])
    delivered = runner.invoke(main, ["notifications", "test", "oncall"])
    assert failed.exit_code == 1 and "HTTP 500" in failed.output
    assert delivered.exit_code == 0 and "delivered" in delivered.output
    for secret in _hidden(receiver):
        assert secret not in failed.output + delivered.output


def test_a_bad_channel_setting_is_refused_without_echoing_its_url(receiver):
    channel = _channel(receiver, url=f"ftp://example.com/?key={receiver.key}")
    with pytest.raises(SettingsError) as refused:
        load_settings({}, overrides={"notifications": {"channels": [channel]}})
    assert "url must start with" in str(refused.value)
    assert receiver.key not in str(refused.value) and SECRET not in str(refused.value)
