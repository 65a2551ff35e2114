"""Sending the outbox to real local receivers: delivered once, retried with the same
delivery id after failures and hangs, failed after max_attempts, within each channel's rate."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import incident_body
from tests.notifications.receivers import Receiver
from tracker.clock import utcnow
from tracker.models import Notification
from tracker.services import notifications


def _settings(app):
    return app.extensions["tracker.settings"]


def _configured(receiver, **fields):
    return {
        "notifications": {
            "max_attempts": 3,
            "timeout_seconds": 1,
            "channels": [
                {
                    "name": "oncall",
                    "kind": receiver.kind,
                    "url": receiver.url,
                    "events": ["incident.created"],
                    **fields,
                }
            ],
        }
    }


@pytest.fixture
def receiver(request):
    options = getattr(request, "param", {})
    with Receiver("wecom", **options) as running:
        yield running


@pytest.fixture
def settings_overrides(receiver):
    return _configured(receiver)


def _send(app, at, **kwargs):
    return notifications.send_pending(now=at, settings=_settings(app), jitter=lambda: 0.0)


def test_a_queued_message_is_delivered_once_and_marked_sent(app, api, gateway, db, receiver):
    api.post("/incidents", incident_body())
    assert _send(app, utcnow()).sent == 1
    assert _send(app, utcnow() + timedelta(minutes=5)).sent == 0
    (row,) = Notification.select()
    assert row.status == "sent" and len(receiver.received) == 1 and not receiver.problems


@pytest.mark.parametrize("receiver", [{"fail_first": 2}], indirect=True)
def test_a_receiver_failing_twice_gets_the_message_once_under_one_delivery_id(
    app, api, gateway, db, receiver
):
    api.post("/incidents", incident_body())
    now = utcnow()
    results = [_send(app, now + timedelta(seconds=s)) for s in (0, 6, 30)]
    assert [(r.sent, r.retried) for r in results] == [(0, 1), (0, 1), (1, 0)]
    (row,) = Notification.select()
    assert row.status == "sent" and row.attempts == 3 and receiver.attempts == 3
    assert len(receiver.received) == 1


@pytest.mark.parametrize("receiver", [{"fail_first": 10}], indirect=True)
def test_after_max_attempts_a_message_is_failed_and_an_admin_may_send_it_again(
    app, api, gateway, db, receiver
):
    api.post("/incidents", incident_body())
    now = utcnow()
    for minutes in (0, 1, 2, 3):
        _send(app, now + timedelta(minutes=minutes))
    (row,) = Notification.select()
    assert row.status == "failed" and row.attempts == 3 and "HTTP 500" in row.last_error
    retried = api.post(f"/notifications/{row.id}/retry", None)
    assert retried.status_code == 200 and retried.get_json()["status"] == "pending"


@pytest.mark.parametrize("receiver", [{"hang_first": 1, "hang_seconds": 5}], indirect=True)
def test_a_receiver_that_hangs_times_out_and_the_message_is_retried(
    app, api, gateway, db, receiver
):
    api.post("/incidents", incident_body())
    now = utcnow()
    assert _send(app, now).retried == 1
    (row,) = Notification.select()
    assert "timed out" in row.last_error
    assert _send(app, now + timedelta(seconds=10)).sent == 1


def test_the_rate_limit_holds_20_in_a_minute_and_the_21st_waits_for_the_next(
    app, api, gateway, db, receiver
):
    for _ in range(21):
        api.post("/incidents", incident_body())
    now = utcnow()
    assert _send(app, now).sent == 20
    assert _send(app, now + timedelta(seconds=30)).sent == 0
    assert _send(app, now + timedelta(seconds=61)).sent == 1
    assert len(receiver.received) == 21


def test_messages_go_oldest_first(app, api, gateway, db, receiver):
    for title in ("第一", "第二", "第三"):
        api.post("/incidents", incident_body(title=title))
    _send(app, utcnow())
    contents = [r.json["markdown"]["content"] for r in receiver.received]
    assert all(t in c for c, t in zip(contents, ("第一", "第二", "第三"), strict=True))


def test_the_outbox_lists_for_admins_only_and_never_shows_the_url(api, gateway, db, receiver):
    api.post("/incidents", incident_body())
    assert api.get("/notifications", role="responder").status_code == 403
    answer = api.get("/notifications", role="admin")
    item = answer.get_json()["items"][0]
    assert item["channel"] == "oncall" and item["status"] == "pending"
    assert "TESTKEY" not in answer.get_data(as_text=True)


def test_pruning_drops_finished_messages_past_keep_days_with_their_attempts(
    app, api, gateway, db, receiver
):
    from tracker.models import NotificationAttempt

    api.post("/incidents", incident_body())
    api.post("/incidents", incident_body())
    _send(app, utcnow())
    Notification.update(status="pending").where(Notification.id == 2).execute()
    later = utcnow() + timedelta(days=31)
    assert notifications.prune(now=later, settings=_settings(app)) == 1
    assert [n.id for n in Notification.select()] == [2]
    assert NotificationAttempt.select().where(NotificationAttempt.notification == 1).count() == 0
