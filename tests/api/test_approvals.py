"""Approvals, maker–checker (DESIGN §11): with grading.approval on, a grade, responsibility
or regulatory-level change waits for an admin other than its proposer (their tokens count as
them), and figures use the values in force until it is approved."""

import pytest

from tests.factories import incident_body
from tracker.clock import utcnow
from tracker.core.weekly.model import week_name
from tracker.db import database
from tracker.models import Incident
from tracker.services import reports
from tracker.services.tokens import create_token
from tracker.services.users import create_user

PEOPLE = {"alice": "alice", "alice-ci": "alice", "bob": "bob", "carol": "carol"}


@pytest.fixture
def settings_overrides():
    return {"grading": {"approval": True}}


@pytest.fixture
def people(app, api):
    """Admin tokens of people: alice (two tokens), bob, carol; each token made by its person."""
    with app.app_context(), database.connection_context():
        for name, person in PEOPLE.items():
            api.tokens[name] = create_token(name, "admin", actor=person, now=utcnow())
    return api


@pytest.fixture
def record(api, gateway):
    created = api.post("/incidents", incident_body())
    assert created.status_code == 201
    assert created.get_json()["pending_change_id"] is None  # nothing approved to hold back
    return created.get_json()


def propose(api, incident_id, role="alice", **fields):
    answer = api.patch(f"/incidents/{incident_id}", fields, role=role)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def decide(api, change_id, verb, role, reason="复核一致"):
    return api.post(f"/changes/{change_id}/{verb}", {"reason": reason}, role=role)


def test_a_grade_change_waits_and_the_record_keeps_the_grade_in_force(people, record):
    answer = propose(people, record["id"], grade="D", grade_reason="", summary="补充描述")
    assert answer["grade"] is None and answer["summary"] == "补充描述"  # the rest applies
    change_id = answer["pending_change_id"]
    (change,) = people.get("/changes", status="pending").get_json()["items"]
    assert change["id"] == change_id and change["proposed_by"] == "alice"
    assert change["before"] == {"grade": None} and change["after"] == {"grade": "D"}
    assert people.get(f"/incidents/{record['id']}").get_json()["grade"] is None
    approved = decide(people, change_id, "approve", "bob")
    assert approved.status_code == 200, approved.get_json()
    assert (
        approved.get_json()["status"] == "approved" and approved.get_json()["decided_by"] == "bob"
    )
    assert people.get(f"/incidents/{record['id']}").get_json()["grade"] == "D"
    trail = people.get("/audit", entity="pending_change", entity_id=str(change_id), role="admin")
    steps = [(a["action"], a["actor"]) for a in trail.get_json()["items"]]
    assert steps == [("propose", "alice"), ("approve", "bob")]
    approve_entry = trail.get_json()["items"][1]["after"]
    assert (approve_entry["proposed_by"], approve_entry["decided_by"]) == ("alice", "bob")


@pytest.mark.parametrize("approver", ["alice", "alice-ci"])
def test_the_proposer_cannot_approve_or_reject_through_any_token_of_theirs(
    people, record, approver
):
    change_id = propose(people, record["id"], grade="D")["pending_change_id"]
    for verb in ("approve", "reject"):
        answer = decide(people, change_id, verb, approver)
        assert answer.status_code == 403 and "another admin" in answer.get_json()["detail"]
    assert people.get(f"/changes/{change_id}").get_json()["status"] == "pending"


def test_a_token_made_for_the_proposer_on_the_command_line_counts_as_them(app, people, record):
    """A token an operator made for alice (`tokens create --user alice`) is alice's, though
    the audit trail names the operator as its maker."""
    with app.app_context(), database.connection_context():
        alice = create_user("alice", "admin", "long enough pw", actor="test", now=utcnow())
        people.tokens["alice-bot"] = create_token(
            "alice-bot", "admin", actor="cli:ops", now=utcnow(), created_by=alice
        )
    change_id = propose(people, record["id"], grade="D")["pending_change_id"]
    answer = decide(people, change_id, "approve", "alice-bot")
    assert answer.status_code == 403 and "another admin" in answer.get_json()["detail"]
    assert decide(people, change_id, "approve", "bob").status_code == 200


def test_only_the_proposer_withdraws(people, record):
    change_id = propose(people, record["id"], regulatory_level="major")["pending_change_id"]
    assert decide(people, change_id, "withdraw", "bob").status_code == 403
    assert decide(people, change_id, "withdraw", "alice-ci").get_json()["status"] == "withdrawn"
    assert decide(people, change_id, "approve", "bob").status_code == 409  # decided already
    assert people.get(f"/incidents/{record['id']}").get_json()["regulatory_level"] == "none"


def test_one_change_waits_per_record(people, record):
    propose(people, record["id"], grade="D")
    again = people.patch(f"/incidents/{record['id']}", {"grade": "C"}, role="bob")
    assert again.status_code == 409 and "waiting for approval" in again.get_json()["detail"]


def test_a_change_proposed_on_a_record_changed_since_is_not_applied(app, people, record):
    change_id = propose(people, record["id"], responsibility=[{"party": "银联", "share": 0.5}])[
        "pending_change_id"
    ]
    with app.app_context(), database.connection_context():  # changed behind the proposal
        Incident.update(responsibility=[{"party": "网联", "share": 1, "internal": False}]).where(
            Incident.id == record["id"]
        ).execute()
    answer = decide(people, change_id, "approve", "bob")
    assert answer.status_code == 409 and "changed since the proposal" in answer.get_json()["detail"]


def test_an_incident_created_with_a_grade_starts_ungraded_until_approved(people, gateway):
    created = people.post(
        "/incidents", incident_body(grade="D", regulatory_level="general"), role="alice"
    )
    body = created.get_json()
    assert created.status_code == 201 and body["grade"] is None
    assert body["regulatory_level"] == "none" and body["pending_change_id"] is not None
    change = people.get(f"/changes/{body['pending_change_id']}").get_json()
    assert change["after"] == {"grade": "D", "regulatory_level": "general"}


def test_a_draft_is_graded_freely_but_accepting_it_with_a_grade_waits(people, gateway):
    draft = people.post("/incidents", incident_body(status="triage"), role="alice").get_json()
    assert propose(people, draft["id"], grade="D")["grade"] == "D"  # a draft counts nowhere
    accepted = propose(people, draft["id"], status="open", grade="C", grade_reason="")
    assert accepted["status"] == "open" and accepted["grade"] == "D"
    assert accepted["pending_change_id"] is not None


def test_a_rejected_change_leaves_figures_and_the_frozen_week_untouched(app, people, record):
    settings = app.extensions["tracker.settings"]
    now = utcnow()
    week = week_name(record_detected(record), settings.zone)
    with app.app_context(), database.connection_context():
        before = reports.weekly_review(week, now=now, settings=settings)
    change_id = propose(people, record["id"], grade="A")["pending_change_id"]
    with app.app_context(), database.connection_context():
        waiting = reports.weekly_review(week, now=utcnow(), settings=settings)
    assert waiting.report.counts == before.report.counts  # the value in force counts
    assert decide(people, change_id, "reject", "carol", reason="证据不足").status_code == 200
    with app.app_context(), database.connection_context():
        after = reports.weekly_review(week, now=utcnow(), settings=settings)
    assert after.report.counts == before.report.counts and after.restated == before.restated
    assert people.get(f"/changes/{change_id}").get_json()["decision_reason"] == "证据不足"


def test_an_approved_change_of_a_frozen_week_shows_as_a_restatement(app, people, record):
    settings = app.extensions["tracker.settings"]
    week = week_name(record_detected(record), settings.zone)
    with app.app_context(), database.connection_context():
        reports.export_weekly(week, now=utcnow(), settings=settings, actor="lead")
    change_id = propose(people, record["id"], grade="C")["pending_change_id"]
    assert decide(people, change_id, "approve", "bob").status_code == 200
    with app.app_context(), database.connection_context():
        review = reports.weekly_review(week, now=utcnow(), settings=settings)
    assert review.frozen_at is not None and review.notes("zh")


def record_detected(record):
    from datetime import datetime

    return datetime.fromisoformat(record["detected_at"].replace("Z", "+00:00"))


def _write_routes(app):
    """(method, path) of every API route that writes, from the routes."""
    for rule in app.url_map.iter_rules():
        spec = getattr(app.view_functions[rule.endpoint], "endpoint_spec", None)
        if spec is None or spec.right == "read":
            continue
        path = rule.rule.replace("<int:incident_id>", "1").replace("<int:", "<")
        for method in rule.methods - {"HEAD", "OPTIONS", "GET"}:
            yield method, path.replace("<change_id>", "1").replace("<follow_up_id>", "1")


def test_no_route_applies_a_grade_responsibility_or_regulatory_change_without_approval(
    app, client, people, record
):
    """Every write route is sent a body setting all three (and what each route needs);
    afterwards no record holds any of them, and each change that waits is pending."""
    wanted = {
        "grade": "A",
        "grade_reason": "",
        "regulatory_level": "major",
        "responsibility": [{"party": "我方", "share": 0.5}],
    }
    bodies = [wanted, {**incident_body(), **wanted}, {**wanted, "status": "open"}]
    headers = {"Authorization": f"Bearer {people.tokens['alice']}"}
    accepted = set()
    for method, path in _write_routes(app):
        for body in bodies:
            answer = client.open(path, method=method, json=body, headers=headers)
            if answer.status_code < 300:
                accepted.add((method, path))
            if (method, path) == ("PATCH", "/api/v1/incidents/1") and answer.status_code == 409:
                accepted.add((method, path))  # its first body made a change that waits
    assert {("PATCH", "/api/v1/incidents/1"), ("POST", "/api/v1/incidents")} <= accepted
    with app.app_context(), database.connection_context():
        held = [
            (i.id, i.grade, i.regulatory_level, i.responsibility)
            for i in Incident.select()
            if i.grade == "A" or i.regulatory_level == "major" or i.responsibility
        ]
    assert held == []


@pytest.mark.parametrize("reason", ["", " ", "x" * 2001, "a\x00b"])
def test_a_decision_without_a_fit_reason_is_refused_and_decides_nothing(people, record, reason):
    change_id = propose(people, record["id"], grade="D")["pending_change_id"]
    answer = decide(people, change_id, "approve", "bob", reason=reason)
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "reason"
    assert people.get(f"/changes/{change_id}").get_json()["status"] == "pending"


def test_an_unknown_change_is_a_404(people):
    assert decide(people, 999, "approve", "bob").status_code == 404


def test_an_incident_id_beyond_any_row_is_refused_not_overflowed(people):
    answer = people.get("/changes", incident_id=str(2**128))
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "incident_id"
