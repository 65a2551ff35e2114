"""The outbox page: admins see every channel and message, and send a failed one again;
nobody sees a channel's URL."""

import pytest

from tests.factories import incident_body
from tracker.db import database
from tracker.models import Notification

KEY = "ROBOT-KEY-NEVER-SHOWN"


@pytest.fixture
def settings_overrides():
    channel = {
        "name": "payments-oncall",
        "kind": "wecom",
        "url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}",
        "events": ["incident.created"],
    }
    return {"notifications": {"channels": [channel]}}


def test_an_admin_sees_the_channels_and_messages_without_their_url(browser, api, gateway):
    api.post("/incidents", incident_body())
    browser.sign_in("admin")
    page = browser.get("/notifications").get_data(as_text=True)
    assert "payments-oncall" in page and "企业微信群机器人" in page and "待发送" in page
    assert KEY not in page and "qyapi" not in page


def test_a_responder_may_not_open_the_outbox(responder):
    assert responder.get("/notifications").status_code == 403


def _stored(app):
    with app.app_context(), database.connection_context():
        return Notification.get()


def test_an_admin_sends_a_failed_message_again(app, browser, api, gateway):
    api.post("/incidents", incident_body())
    with app.app_context(), database.connection_context():
        Notification.update(status="failed", attempts=8, last_error="HTTP 500").execute()
    browser.sign_in("admin")
    assert "重新发送" in browser.get("/notifications").get_data(as_text=True)
    answer = browser.post(f"/notifications/{_stored(app).id}/retry", {})
    assert answer.status_code == 302
    assert (_stored(app).status, _stored(app).attempts) == ("pending", 0)
