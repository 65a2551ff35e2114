"""Regulatory deadlines and yearly grade quotas (DESIGN §11): the deadline on the record,
the overdue count, the warnings before and at it, and what a quota leaves."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import incident_body
from tests.notifications.receivers import channel_to
from tracker.clock import utcnow
from tracker.services import notifications, regulatory, rollup, summaries


@pytest.fixture
def settings_overrides(wecom):
    channel = channel_to(wecom, "incident.regulatory_due")
    return {"notifications": {"channels": [channel]}, "quotas": {"AB": 0, "C": 2}}


def _record(api, detected, **fields):
    mitigated = (detected + timedelta(minutes=1)).isoformat()  # one minute at 0.5: D at most
    body = incident_body(detected_at=detected.isoformat(), mitigated_at=mitigated, **fields)
    response = api.post("/incidents", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_reported_level_carries_its_deadline_and_counts_overdue_until_reported(app, api, gateway):
    detected = utcnow().replace(microsecond=0) - timedelta(minutes=40)
    serious = _record(api, detected, regulatory_level="larger", grade="B")
    assert (
        serious["regulatory_deadline"] == (detected + timedelta(minutes=30)).isoformat()[:-6] + "Z"
    )
    assert _record(api, detected, regulatory_level="general")["regulatory_deadline"] is None
    settings = app.extensions["tracker.settings"]
    with app.app_context():
        assert rollup.take_snapshot(now=utcnow(), settings=settings).regulatory_overdue == 1
    reported = (detected + timedelta(minutes=35)).isoformat()
    patched = api.patch(f"/incidents/{serious['id']}", {"regulatory_reported_at": reported})
    assert patched.status_code == 200, patched.get_json()
    with app.app_context():
        assert rollup.take_snapshot(now=utcnow(), settings=settings).regulatory_overdue == 0
        year = summaries.yearly_summary(str(detected.year), now=utcnow(), settings=settings)
    (late,) = year.reported_late
    assert late.incident_id == serious["id"]


def test_a_report_before_the_detection_is_refused(api, gateway):
    detected = utcnow().replace(microsecond=0) - timedelta(minutes=40)
    body = incident_body(
        detected_at=detected.isoformat(),
        mitigated_at=None,
        regulatory_level="major",
        regulatory_reported_at=(detected - timedelta(minutes=1)).isoformat(),
    )
    answer = api.post("/incidents", body)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.get_json()["errors"]] == ["regulatory_reported_at"]


def test_the_deadline_across_the_utc_day_boundary(app, api, gateway, db):
    detected = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)  # due 00:20 the next UTC day
    _record(api, detected, regulatory_level="extraordinary", grade="A")
    settings = app.extensions["tracker.settings"]
    before = datetime(2026, 12, 1, 0, 19, 59, tzinfo=UTC)
    at = datetime(2026, 12, 1, 0, 20, tzinfo=UTC)
    assert regulatory.overdue_count(now=before, settings=settings) == 0
    assert regulatory.overdue_count(now=at, settings=settings) == 1


def test_warnings_go_out_ten_minutes_before_and_at_the_deadline_once_each(app, api, gateway, wecom):
    detected = datetime(2026, 11, 30, 23, 50, tzinfo=UTC)
    _record(api, detected, regulatory_level="larger", grade="B", title="银联代付通道超时")
    settings = app.extensions["tracker.settings"]

    def warn(at):
        with app.app_context():
            queued = regulatory.warn_due(now=at, settings=settings)
            notifications.send_pending(now=at, settings=settings, jitter=lambda: 0.0)
        return queued

    assert warn(datetime(2026, 12, 1, 0, 9, 59, tzinfo=UTC)) == 0
    assert warn(datetime(2026, 12, 1, 0, 10, tzinfo=UTC)) == 1
    assert warn(datetime(2026, 12, 1, 0, 15, tzinfo=UTC)) == 0
    assert warn(datetime(2026, 12, 1, 0, 20, tzinfo=UTC)) == 1
    assert warn(datetime(2026, 12, 1, 1, 0, tzinfo=UTC)) == 0
    soon, passed = (r.json["markdown"]["content"] for r in wecom.received)
    assert soon.startswith("**监管报送即将到期：【B级】银联代付通道超时")
    assert "> 报送截止：2026-12-01 08:20:00" in soon and "> 监管级别：较大" in soon
    assert passed.startswith("**监管报送已超时：")


def test_a_quota_leaves_what_the_year_has_not_used_negative_once_exceeded(app, api, gateway):
    now = utcnow()
    for share in ("1", "0.5"):
        body = {"responsibility": [{"party": "我方", "share": share}], "grade": "C"}
        _record(api, now - timedelta(hours=2), **body)
    _record(api, now - timedelta(hours=1), grade="A", title="全站不可用")
    settings = app.extensions["tracker.settings"]
    with app.app_context():
        snapshot = rollup.take_snapshot(now=utcnow(), settings=settings)
    assert {q.grade: str(q.remaining) for q in snapshot.quotas} == {"AB": "-1", "C": "0.5"}
    with app.app_context():
        year = summaries.yearly_summary(str(now.year), now=utcnow(), settings=settings)
    assert "| AB | 0 | 1 | -1 |" in summaries_markdown(year)


def summaries_markdown(summary):
    from tracker.core.summary import summary_markdown

    return summary_markdown(summary, "zh")


@pytest.mark.parametrize(
    "reported", ["2999-01-01T00:00:00Z", "2026-02-30T10:00:00+08:00", "yesterday", 1733000000]
)
def test_a_report_time_that_cannot_be_is_refused(api, gateway, reported):
    detected = utcnow().replace(microsecond=0) - timedelta(minutes=40)
    body = incident_body(detected_at=detected.isoformat(), mitigated_at=None)
    body["regulatory_reported_at"] = reported
    answer = api.post("/incidents", body)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.get_json()["errors"]] == ["regulatory_reported_at"]
