"""An edit never loses or changes data the person did not touch; every control takes effect;
every field of every record can be edited in the UI."""

import re

from tests.factories import incident_body
from tests.ui.conftest import edited

DERIVED = {"updated_at", "suggested_grade", "suggested_grade_reason", "attributed_weight"}
TWO_PARTIES = [
    {"party": "payments", "share": 0.5, "internal": True},
    {"party": "银商", "share": 0.5, "internal": False},
]


def _incident(api, **fields):
    body = incident_body(
        acknowledged_at="2024-07-23T10:04:30+08:00",
        mitigated_at="2024-07-23T10:05:10.500000+08:00",
        responsibility=TWO_PARTIES,
        location="M6V",
        **fields,
    )
    return api.post("/incidents", body).get_json()


def _changed(before, after):
    return {k for k in after if k not in DERIVED and before[k] != after[k]}


def test_saving_the_page_keeps_every_responsibility_entry(responder, api, gateway):
    before = _incident(api)
    responder.edit(f"/incidents/{before['id']}", {"location": "M7"})
    after = api.get(f"/incidents/{before['id']}").get_json()
    assert after["responsibility"] == TWO_PARTIES and _changed(before, after) == {"location"}


def test_a_one_field_save_keeps_the_seconds_of_every_time_and_audits_one_field(
    responder, api, gateway
):
    before = _incident(api)
    responder.edit(f"/incidents/{before['id']}", {"location": "M7"})
    after = api.get(f"/incidents/{before['id']}").get_json()
    trail = api.get("/audit", entity="incident", entity_id=str(before["id"])).get_json()["items"]
    assert (after["acknowledged_at"], after["mitigated_at"]) == (
        "2024-07-23T02:04:30Z",
        "2024-07-23T02:05:10.500000Z",
    )
    assert trail[-1]["after"] == {"location": "M7"}


def test_unticking_counts_toward_availability_takes_effect(responder, api, gateway):
    before = _incident(api)
    responder.edit(f"/incidents/{before['id']}", {"counts_toward_availability": None})
    after = api.get(f"/incidents/{before['id']}").get_json()
    assert after["counts_toward_availability"] is False
    assert _changed(before, after) == {"counts_toward_availability"}


def test_parties_are_added_with_a_label_and_removed(responder, api, gateway):
    incident = _incident(api)
    path = f"/incidents/{incident['id']}"
    page = responder.get(path).get_data(as_text=True)
    form = edited(page, {"responsibility-2-party": "网联", "responsibility-2-share": "次责"})
    form["responsibility-2-internal"] = "external"
    form["responsibility-0-remove"] = "on"
    responder.post(path, form)
    after = api.get(f"/incidents/{incident['id']}").get_json()["responsibility"]
    assert after == [TWO_PARTIES[1], {"party": "网联", "share": 0.3, "internal": False}]


def test_a_change_saved_meanwhile_by_someone_else_is_not_undone(responder, api, gateway):
    incident = _incident(api)
    path = f"/incidents/{incident['id']}"
    page = responder.get(path).get_data(as_text=True)  # opened before the other change
    api.patch(path, {"summary": "另一位同事补充的描述"})
    responder.post(path, edited(page, {"location": "M7"}))
    after = api.get(path).get_json()
    assert (after["summary"], after["location"]) == ("另一位同事补充的描述", "M7")


def test_every_field_is_on_the_form_and_saves(responder, api, gateway):
    incident = _incident(api)
    path = f"/incidents/{incident['id']}"
    changes = {
        "affected_transactions": "1200",
        "affected_amount": "80000.50",
        "fund_loss": "8.40",
        "regulatory_level": "general",
        "postmortem_url": "https://wiki.example/pm/1",
        "detection_source": "reconciliation",
        "root_cause": "third_party_channel",
    }
    responder.edit(path, changes)
    after = api.get(path).get_json()
    assert {k: str(after[k]) for k in changes} == changes
    assert after["suggested_grade"] == "C"  # 1,200 transactions and CNY 80,000.50 both reach C


def test_the_live_suggestion_reads_the_money_and_transaction_fields(responder, gateway):
    page = responder.get("/incidents/new").get_data(as_text=True)
    form = edited(page, {"title": "x", "services": "gateway", "affected_transactions": "12000"})
    answer = responder.post("/incidents/suggest", form).get_json()
    assert answer["grade"] == "B" and answer["reason"] == "影响交易12000笔，达到B级标准（≥10000笔）"


def test_a_regrade_clears_the_old_reason_and_the_audit_says_so(api, gateway):
    created = api.post("/incidents", incident_body(grade="none", grade_reason="测试交易")).json
    api.patch(f"/incidents/{created['id']}", {"grade": "D"})
    after = api.get(f"/incidents/{created['id']}").get_json()
    trail = api.get("/audit", entity="incident", entity_id=str(created["id"])).get_json()["items"]
    assert after["grade_reason"] == ""
    assert trail[-1]["before"] == {"grade": "none", "grade_reason": "测试交易"}


def test_a_regrade_below_the_suggestion_asks_for_a_new_reason(api, gateway):
    created = api.post("/incidents", incident_body(grade="D")).json
    response = api.patch(f"/incidents/{created['id']}", {"grade": "none"})
    kept = api.patch(f"/incidents/{created['id']}", {"grade": "none", "grade_reason": "演练"})
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "grade_reason"
    assert kept.json["grade_reason"] == "演练"


def test_a_timeline_note_keeps_the_time_it_was_given(responder, api, incident):
    path = f"/incidents/{incident['id']}"
    responder.get(path)
    responder.post(f"{path}/timeline", {"at": "2024-07-23T10:05:30", "text": "执行手工结算"})
    entry = api.get(f"{path}/timeline").get_json()["items"][0]
    assert (entry["at"], entry["text"]) == ("2024-07-23T02:05:30Z", "执行手工结算")


def test_a_form_whose_token_went_stale_is_shown_again_with_what_was_typed(responder, gateway):
    page = responder.get("/incidents/new").get_data(as_text=True)
    form = edited(page, {"title": "写了很久的事件描述", "services": "gateway"})
    form["csrf_token"] = "stale-" + form["csrf_token"][6:]
    response = responder.post("/incidents/new", form)
    shown = response.get_data(as_text=True)
    assert response.status_code == 422 and "表单已过期" in shown
    assert 'value="写了很久的事件描述"' in shown


def test_the_audit_trail_reads_in_local_time_and_plain_values(responder, api, gateway):
    incident = _incident(api)
    api.patch(f"/incidents/{incident['id']}", {"responsibility": [{"party": "银商", "share": 1}]})
    page = responder.get(f"/incidents/{incident['id']}").get_data(as_text=True)
    change = re.search(r"<strong>定责</strong>：(.*?)</div>", page)[1]
    assert change == "payments 0.5（内部）；银商 0.5（外部） → 银商 1（内部）"
    assert "T" not in re.findall(r'<td class="nowrap">(\d{4}-\d\d-\d\d[^<]*)</td>', page)[0]


def test_services_are_edited_in_the_ui(browser, api, gateway):
    browser.sign_in("admin")
    page = browser.get("/services/gateway").get_data(as_text=True)
    assert "名称" in page and "用户名" not in page
    response = browser.post(
        "/services/gateway", {"name": "支付网关", "tier": "2", "objective": "0.999"}
    )
    service = api.get("/services/gateway").get_json()
    assert response.status_code == 302
    assert (service["name"], service["tier"], service["objective"]) == ("支付网关", 2, 0.999)


def _window(api, **fields):
    body = {
        "services": ["gateway"],
        "starts_at": "2024-07-20T02:00:00+08:00",
        "ends_at": "2024-07-20T04:00:00+08:00",
        "announced_at": "2024-07-18T10:00:00+08:00",
        "reason": "数据库升级",
        **fields,
    }
    return api.post("/maintenance-windows", body).get_json()


def test_a_maintenance_window_is_edited_in_the_ui(responder, api, gateway):
    window = _window(api)
    page = responder.get(f"/maintenance/{window['id']}").get_data(as_text=True)
    form = edited(
        page, {"ends_at": "2024-07-20T05:00:00", "reason": "数据库升级（延长）"}, "window-form"
    )
    responder.post(f"/maintenance/{window['id']}", form)
    after = api.get(f"/maintenance-windows/{window['id']}").get_json()
    assert (after["ends_at"], after["reason"]) == ("2024-07-19T21:00:00Z", "数据库升级（延长）")
    assert after["starts_at"] == window["starts_at"]


def test_a_cancelled_maintenance_window_no_longer_counts(responder, api, gateway):
    window = _window(api)
    responder.get("/maintenance")
    responder.post(f"/maintenance/{window['id']}/cancel", {})
    after = api.get(f"/maintenance-windows/{window['id']}").get_json()
    assert (after["counts_as_maintenance"], after["cancelled_by"]) == (False, "responder")
    assert "已取消" in responder.get("/maintenance").get_data(as_text=True)


def test_the_dashboard_lists_the_unresolved_incidents_with_grade_and_age(responder, api, gateway):
    body = incident_body(
        title="出金通道超时", grade="C", grade_reason="影响有限", mitigated_at=None
    )
    assert api.post("/incidents", body).status_code == 201
    api.post("/rollups", None)
    page = responder.get("/").get_data(as_text=True)
    listed = re.search(r'<ul class="unresolved">(.*?)</ul>', page, re.S)[1]
    assert "出金通道超时" in listed and "C级" in listed and "已持续" in listed


def test_the_dashboard_shows_service_names_and_grade_rows_in_order(responder, api, gateway):
    api.patch("/services/gateway", {"name": "支付网关"})
    api.post("/rollups", None)
    page = responder.get("/").get_data(as_text=True)
    rows = re.findall(r"<tr><th>(AB级|C级|D级)</th>", page)
    assert "支付网关" in page and rows == ["AB级", "C级", "D级"]
    assert "定责计数" in page and "起数" in page


def test_the_favicon_is_served(browser):
    icon = browser.get("/static/ui/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert browser.get("/favicon.ico").status_code == 302
