"""Events as the chat groups read them, and when a failed message is tried again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.core.notifications.backoff import LONGEST_SECONDS, retry_delay
from tracker.core.notifications.events import Event
from tracker.core.notifications.messages import incident_message, message_of, review_message

SH = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 30, 6, 3, tzinfo=UTC)
INCIDENT = {
    "id": 12,
    "title": "银联代付通道超时",
    "grade": "B",
    "status": "mitigated",
    "services": ["pay-out", "gateway"],
    "impact_started_at": "2026-11-30T05:58:00Z",
    "detected_at": "2026-11-30T06:00:00Z",
    "mitigated_at": "2026-11-30T06:20:00Z",
    "resolved_at": None,
}


def _message(event="incident.created", before=None, lang="zh", base_url="https://t.example"):
    return incident_message(
        event,
        INCIDENT,
        delivery="d-1",
        at=AT,
        actor="alice",
        before=before,
        lang=lang,
        zone=SH,
        base_url=base_url,
    )


def test_an_incident_message_names_grade_title_services_local_times_status_and_link():
    message = _message()
    assert message.title == "【B级】银联代付通道超时 · 已止损"
    assert "pay-out、gateway" in message.markdown and "2026-11-30 13:58:00" in message.markdown
    assert message.link == "https://t.example/incidents/12" and message.link in message.text


def test_a_regrade_says_the_grade_before_and_after_and_who_changed_it():
    message = _message("incident.graded", before={"grade": "C", "status": "mitigated"})
    assert "定级：C级 → B级" in message.text
    assert "操作人：alice" in message.text


def test_a_status_change_says_the_status_before_and_after_in_english_too():
    message = _message("incident.status", before={"grade": "B", "status": "open"}, lang="en")
    assert "Status: open → mitigated" in message.text


def test_without_a_base_url_a_message_has_no_link():
    assert _message(base_url="").link is None


def test_the_weekly_review_carries_its_sections_and_the_link_to_the_full_report():
    sections = "## 【系统运行数据】\n\n- 可用性：99.990%\n\n## 【生产事件】\n\n- 无\n"
    message = review_message(
        "2026-W48", sections, delivery="d-2", at=AT, lang="zh", base_url="https://t.example"
    )
    assert message.markdown.startswith("## 【系统运行数据】")
    assert "【生产事件】" in message.text and message.link.endswith("/report?week=2026-W48")


def test_an_event_reads_back_from_its_json_as_it_was():
    event = Event("incident.graded", AT, actor="alice", incident=INCIDENT, before={"grade": "C"})
    assert Event.from_json(event.to_json()) == event


def test_an_event_makes_the_message_of_its_kind_in_the_channel_s_language():
    event = Event("incident.created", AT, actor="alice", incident=INCIDENT)
    message = message_of(event, delivery="d-3", lang="en", zone=SH, base_url="")
    assert message.title == "[B] 银联代付通道超时 · mitigated" and message.delivery == "d-3"


@given(st.integers(1, 200), st.floats(0, 1, exclude_max=True))
def test_a_retry_waits_between_half_and_all_of_its_step_and_never_past_an_hour(attempts, jitter):
    step = min(10 * 2 ** min(attempts - 1, 64), LONGEST_SECONDS)
    delay = retry_delay(attempts, jitter).total_seconds()
    assert step / 2 <= delay <= step


@given(st.integers(1, 30))
def test_each_retry_waits_at_least_as_long_as_the_one_before(attempts):
    assert retry_delay(attempts + 1, 0.0) >= retry_delay(attempts, 0.0)


def test_retry_delay_refuses_an_attempt_that_was_not_made():
    with pytest.raises(ValueError):
        retry_delay(0, 0.5)
    assert retry_delay(1, 0.0) == timedelta(seconds=5)
