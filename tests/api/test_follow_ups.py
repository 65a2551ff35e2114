"""Follow-ups (DESIGN §11): action items of an incident, overdue from the local day after
they are due, audited; refused on drafts and cancelled records."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import incident_body
from tracker.clock import utcnow
from tracker.models import FollowUp
from tracker.schemas import FollowUpQuery
from tracker.services import followups

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today():
    return utcnow().astimezone(SHANGHAI).date()


def follow_up(api, incident_id, role="responder", **fields):
    body = {"title": "补充渠道超时告警", "owner": "张三", "due_on": today().isoformat(), **fields}
    return api.post(f"/incidents/{incident_id}/follow-ups", body, role=role)


def test_a_follow_up_is_added_listed_and_marked_done(api, incident):
    created = follow_up(api, incident["id"], priority="high", url="https://jira.example/PAY-1")
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert item["status"] == "open" and item["overdue"] is False and item["done_at"] is None
    assert (
        item["incident_title"] == incident["title"] and item["url"] == "https://jira.example/PAY-1"
    )
    listed = api.get(f"/incidents/{incident['id']}/follow-ups").get_json()["items"]
    assert [i["id"] for i in listed] == [item["id"]]
    done = api.patch(f"/follow-ups/{item['id']}", {"status": "done"}, role="responder")
    assert done.get_json()["done_at"] is not None
    reopened = api.patch(f"/follow-ups/{item['id']}", {"status": "in_progress"}, role="responder")
    assert reopened.get_json()["done_at"] is None
    trail = api.get("/audit", entity="follow_up", entity_id=str(item["id"]), role="admin")
    assert [a["action"] for a in trail.get_json()["items"]] == ["create", "update", "update"]


def test_the_list_puts_the_overdue_first_and_filters(api, incident):
    late = follow_up(api, incident["id"], due_on=(today() - timedelta(days=3)).isoformat())
    soon = follow_up(
        api, incident["id"], owner="李四", due_on=(today() + timedelta(days=2)).isoformat()
    )
    late_id, soon_id = late.get_json()["id"], soon.get_json()["id"]
    items = api.get("/follow-ups").get_json()["items"]
    assert [(i["id"], i["overdue"]) for i in items] == [(late_id, True), (soon_id, False)]
    assert [i["id"] for i in api.get("/follow-ups", overdue="true").get_json()["items"]] == [
        late_id
    ]
    assert [i["id"] for i in api.get("/follow-ups", owner="李四").get_json()["items"]] == [soon_id]
    api.patch(f"/follow-ups/{late_id}", {"status": "wont_do"}, role="responder")
    assert api.get("/follow-ups", overdue="true").get_json()["items"] == []  # not open any more


def test_overdue_is_cut_at_local_midnight(app, api, incident, db):
    due = date(2026, 11, 30)
    follow_up(api, incident["id"], due_on=due.isoformat())
    query = FollowUpQuery(overdue=True)
    # 23:59 local on the day it is due is 15:59 UTC; midnight local is 16:00 UTC
    last_minute = datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC)
    midnight = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert followups.list_follow_ups(query, now=last_minute, zone=SHANGHAI).items == []
    (item,) = followups.list_follow_ups(query, now=midnight, zone=SHANGHAI).items
    assert item.overdue
    assert followups.counts(now=last_minute, zone=SHANGHAI) == {"open": 1, "overdue": 0}
    assert followups.counts(now=midnight, zone=SHANGHAI) == {"open": 1, "overdue": 1}
    # in UTC the same moment is still 30 November: the zone decides, not UTC
    assert followups.counts(now=midnight, zone=ZoneInfo("UTC")) == {"open": 1, "overdue": 0}


def test_drafts_and_cancelled_records_take_no_follow_ups(api, gateway):
    draft = api.post("/incidents", incident_body(status="triage")).get_json()
    answer = follow_up(api, draft["id"])
    assert answer.status_code == 409 and "draft" in answer.get_json()["detail"]
    cancelled = api.post("/incidents", incident_body(status="cancelled")).get_json()
    assert follow_up(api, cancelled["id"]).status_code == 409
    assert follow_up(api, 999).status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"due_on": "2026-02-30"}, "due_on"),  # a date that does not exist
        ({"due_on": "2026-13-01"}, "due_on"),
        ({"due_on": "2026-11-30T10:00:00"}, "due_on"),
        ({"due_on": (date.today() + timedelta(days=800)).isoformat()}, "due_on"),
        ({"due_on": "1969-12-31"}, "due_on"),
        ({"owner": "张" * 10_000}, "owner"),
        ({"owner": ""}, "owner"),
        ({"title": "a\x1b[2Jb"}, "title"),
        ({"status": "closed"}, "status"),
        ({"priority": "urgent"}, "priority"),
        ({"url": "javascript:alert(1)"}, "url"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(api, incident, db, fields, field):
    answer = follow_up(api, incident["id"], **fields)
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["errors"][0]["field"] == field
    assert FollowUp.select().count() == 0


def test_a_viewer_reads_but_does_not_write(api, incident):
    assert follow_up(api, incident["id"], role="viewer").status_code == 403
    assert api.get("/follow-ups", role="viewer").status_code == 200


def test_the_cli_lists_follow_ups_and_the_overdue_ones(api, incident, runner):
    from tracker.cli import main

    follow_up(api, incident["id"], due_on=(today() - timedelta(days=1)).isoformat())
    follow_up(api, incident["id"], title="复盘会", owner="李四")
    every = runner.invoke(main, ["follow-ups", "list"])
    assert every.exit_code == 0, every.output
    lines = every.output.splitlines()
    assert len(lines) == 2 and lines[0].endswith("\toverdue") and "复盘会" in lines[1]
    late = runner.invoke(main, ["follow-ups", "list", "--overdue"])
    assert late.output.splitlines() == [lines[0]]
    wrong = runner.invoke(main, ["follow-ups", "list", "--owner", "x" * 300])
    assert wrong.exit_code == 2 and "owner" in wrong.output
