"""After the incident on the pages (DESIGN §11): follow-ups on the incident's page and the
待办 page, the regulator's deadline counting down, the change waiting beside the value in
force with approve and reject for another admin, and the dashboard's quota bars."""

from datetime import timedelta

import pytest

from tests.factories import incident_body
from tests.ui.conftest import PASSWORD
from tracker.clock import utcnow
from tracker.db import database
from tracker.services import rollup
from tracker.services.users import create_user


def _today():
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()


def test_a_follow_up_is_added_from_the_incident_page_and_listed_on_the_to_do_page(
    responder, api, incident
):
    late = (_today() - timedelta(days=2)).isoformat()
    form = {
        "title": "补充渠道超时告警",
        "owner": "张三",
        "due_on": late,
        "priority": "high",
        "url": "",
    }
    assert responder.post(f"/incidents/{incident['id']}/follow-ups", form).status_code == 302
    page = responder.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    assert "补充渠道超时告警" in page and "已逾期" in page and ">高<" in page
    todo = responder.get("/follow-ups").get_data(as_text=True)
    assert '<h2>张三 <span class="tag bad">已逾期 1</span></h2>' in todo
    assert "1 项未完成，其中 1 项已逾期" in todo
    (item,) = api.get("/follow-ups").get_json()["items"]
    saved = responder.post(f"/follow-ups/{item['id']}", {"status": "done", "back": "/follow-ups"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/follow-ups")
    assert "没有未完成的改进项" in responder.get("/follow-ups").get_data(as_text=True)


def test_a_bad_follow_up_shows_the_form_again_with_the_error(responder, incident):
    form = {"title": "复盘会", "owner": "张" * 300, "due_on": "2026-02-30", "priority": "low"}
    answer = responder.post(f"/incidents/{incident['id']}/follow-ups", form)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'value="复盘会"' in text


def test_the_regulatory_deadline_counts_down_until_reported(responder, api, gateway):
    detected = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    body = incident_body(
        detected_at=detected.isoformat(),
        mitigated_at=(detected + timedelta(minutes=1)).isoformat(),
        regulatory_level="larger",
        grade="B",
    )
    record = api.post("/incidents", body).get_json()
    page = responder.get(f"/incidents/{record['id']}").get_data(as_text=True)
    assert 'id="regulatory-deadline"' in page and "监管报送截止" in page
    assert "剩余 19 分钟" in page or "剩余 20 分钟" in page
    api.patch(f"/incidents/{record['id']}", {"regulatory_reported_at": utcnow().isoformat()})
    page = responder.get(f"/incidents/{record['id']}").get_data(as_text=True)
    assert 'id="regulatory-deadline"' not in page


@pytest.mark.parametrize("settings_overrides", [{"grading": {"approval": True}}])
def test_a_change_waits_on_the_page_and_another_admin_approves_it(app, browser, api, incident):
    with app.app_context(), database.connection_context():
        for name in ("alice", "bob"):
            create_user(name, "admin", PASSWORD, actor="test", now=utcnow())
    assert browser.sign_in("alice").status_code == 302
    patched = browser.edit(f"/incidents/{incident['id']}", {"grade": "D"})
    assert patched.status_code == 302
    page = browser.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    assert "待审批的变更" in page and "alice 提议于" in page and "撤回" in page
    assert "/approve" not in page  # not for its proposer
    assert 'href="/changes"' in page and '<span class="count">1</span>' in page
    assert browser.get("/changes").get_data(as_text=True).count("本人提议") == 1
    browser.get("/logout")
    other = browser.__class__(app.test_client())
    assert other.sign_in("bob").status_code == 302
    page = other.get("/changes").get_data(as_text=True)
    assert "/approve" in page and "未定级" in page and "D级" in page
    change = api.get("/changes", status="pending").get_json()["items"][0]
    answer = other.post(f"/changes/{change['id']}/approve", {"reason": "复核一致"})
    assert answer.status_code == 302
    assert api.get(f"/incidents/{incident['id']}").get_json()["grade"] == "D"
    assert "没有待审批的变更" in other.get("/changes").get_data(as_text=True)


@pytest.mark.parametrize("settings_overrides", [{"quotas": {"AB": 0, "C": 2}}])
def test_the_dashboard_shows_what_each_quota_leaves(app, responder, api, gateway):
    now = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    this_year = {
        "detected_at": now.isoformat(),
        "mitigated_at": (now + timedelta(minutes=1)).isoformat(),
    }
    assert api.post("/incidents", incident_body(grade="C", **this_year)).status_code == 201
    with app.app_context():
        rollup.take_snapshot(now=utcnow(), settings=app.extensions["tracker.settings"])
    page = responder.get("/").get_data(as_text=True)
    assert "年度事故配额" in page and "剩余 1" in page and "已用 1 / 配额 2" in page
    assert "已用 0 / 配额 0" in page


@pytest.mark.parametrize("settings_overrides", [{"grading": {"approval": True}}])
def test_the_proposer_cannot_approve_from_a_forged_form(app, browser, api, incident):
    with app.app_context(), database.connection_context():
        create_user("alice", "admin", PASSWORD, actor="test", now=utcnow())
    assert browser.sign_in("alice").status_code == 302
    assert browser.edit(f"/incidents/{incident['id']}", {"grade": "D"}).status_code == 302
    change = api.get("/changes", status="pending").get_json()["items"][0]
    forged = browser.post(f"/changes/{change['id']}/approve", {"reason": "自己批准"})
    assert forged.status_code == 403
    assert api.get(f"/incidents/{incident['id']}").get_json()["grade"] is None
    assert api.get(f"/changes/{change['id']}").get_json()["status"] == "pending"
