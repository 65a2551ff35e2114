"""Events into the outbox: in the transaction of the change, for the channels that want
them, rendered in each channel's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import incident_body
from tracker.clock import utcnow
from tracker.db import database
from tracker.models import Notification
from tracker.schemas import IncidentCreate
from tracker.services.incidents import create_incident
from tracker.services.notifications.delivery import channel_named, rendered
from tracker.services.reports import export_weekly

URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-ROBOT-KEY"


def _channel(name: str, **fields):
    return {"name": name, "kind": "wecom", "url": URL, "events": ["incident.created"], **fields}


@pytest.fixture
def settings_overrides():
    return {
        "base_url": "https://tracker.example",
        "notifications": {
            "channels": [
                _channel(
                    "oncall",
                    events=["incident.created", "incident.graded", "incident.status"],
                ),
                _channel("leads", min_grade="C", lang="en", events=["incident.created"]),
                _channel("weekly", events=["review.weekly"]),
                _channel("triage", events=["incident.draft"]),
            ]
        },
    }


def _said(app, row: Notification):
    """The message the row makes when it is sent."""
    settings = app.extensions["tracker.settings"]
    channel = channel_named(row.channel, settings)
    return rendered(row, channel, settings=settings)


def _outbox(db) -> list[tuple[str, str]]:
    return [(n.channel, n.event) for n in Notification.select().order_by(Notification.id)]


def test_a_new_incident_is_queued_for_every_channel_that_wants_it(app, api, gateway, db):
    api.post("/incidents", incident_body(grade="C", grade_reason="ok"))
    assert _outbox(db) == [("oncall", "incident.created"), ("leads", "incident.created")]
    leads = _said(app, Notification.get(Notification.channel == "leads"))
    assert leads.title == "[C] 卡类型试算准确率未达到预先设定的标准 · open"
    assert "Open the incident" in leads.text


def test_a_channel_with_a_min_grade_does_not_hear_of_a_less_severe_incident(api, gateway, db):
    api.post("/incidents", incident_body(grade="D"))
    assert _outbox(db) == [("oncall", "incident.created")]


def test_an_ungraded_incident_reaches_a_channel_with_a_min_grade(api, gateway, db):
    api.post("/incidents", incident_body())
    assert ("leads", "incident.created") in _outbox(db)


def test_a_regrade_and_a_status_change_in_one_edit_queue_both_events(app, api, incident, db):
    api.patch(
        f"/incidents/{incident['id']}",
        {
            "grade": "C",
            "grade_reason": "影响范围大",
            "status": "resolved",
            "resolved_at": "2024-07-23T10:30:00+08:00",
        },
    )
    events = [e for c, e in _outbox(db) if c == "oncall"]
    assert events == ["incident.created", "incident.graded", "incident.status"]
    graded = _said(app, Notification.get(Notification.event == "incident.graded"))
    assert "未定级 → C级" in graded.text


def test_an_edit_that_changes_neither_grade_nor_status_queues_nothing(api, incident, db):
    api.patch(f"/incidents/{incident['id']}", {"summary": "补充说明"})
    assert [e for _, e in _outbox(db)] == ["incident.created", "incident.created"]


def test_a_change_rolled_back_sends_nothing(app, db, gateway):
    settings = app.extensions["tracker.settings"]
    body = IncidentCreate.model_validate(incident_body())
    with pytest.raises(RuntimeError), database.atomic():
        create_incident(
            body, actor="alice", rules=settings.grading.rules(), now=utcnow(), settings=settings
        )
        raise RuntimeError("the request failed after the write")
    assert _outbox(db) == []


def test_a_refused_incident_queues_nothing(api, gateway, db):
    assert api.post("/incidents", incident_body(title="")).status_code == 422
    assert _outbox(db) == []


def test_the_monday_export_queues_the_weekly_review_and_a_manual_export_does_not(app, db):
    settings = app.extensions["tracker.settings"]
    now = datetime(2024, 7, 29, 1, 0, tzinfo=UTC)
    export_weekly("2024-W30", now=now, settings=settings, actor="alice")
    assert _outbox(db) == []
    export_weekly("2024-W30", now=now, settings=settings, actor="scheduler", announce=True)
    (row,) = Notification.select()
    assert row.event == "review.weekly" and row.subject == "review:2024-W30"
    review = _said(app, row)
    assert "【系统运行数据】" in review.markdown and "【生产事件】" in review.markdown


def test_a_draft_from_alerts_is_heard_as_incident_draft(app, api, gateway, db):
    from tests.api.test_alert_intake import _body

    assert api.post("/alerts/alertmanager", _body(), role="ingest").status_code == 200
    assert _outbox(db) == [("triage", "incident.draft")]
    said = _said(app, Notification.get())
    assert said.title == "【未定级】支付网关错误率升高 · 待确认"
    assert said.text.startswith("告警生成事件草稿，待定级")
