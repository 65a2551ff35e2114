"""The web UI through a test client: sign-in, roles, CSRF, the incident pages."""

FORM = {
    "title": "清结算POS自动结算未执行",
    "services": "gateway",
    "detected_at": "2024-07-23T10:04",
    "mitigated_at": "2024-07-23T10:10",
    "impact_ratio": "0.5",
    "status": "mitigated",
    "grade": "",
    "root_cause": "unknown",
    "detection_source": "monitoring",
    "counts_toward_availability": "on",
}


def test_pages_need_a_sign_in(browser):
    response = browser.get("/incidents")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_a_wrong_password_is_refused(browser):
    assert browser.sign_in("responder", "nope").status_code == 401


def test_sign_ins_are_throttled_after_five_failures(browser):
    for _ in range(5):
        browser.sign_in("responder", "nope")
    assert browser.sign_in("responder").status_code == 429


def test_a_responder_logs_an_incident_through_the_form(responder, api, gateway):
    response = responder.post("/incidents/new", FORM)
    assert response.status_code == 302
    page = responder.get(response.location).get_data(as_text=True)
    assert "清结算POS自动结算未执行" in page and "2024-07-23 10:04" in page


def test_the_form_names_the_bad_field_and_stores_nothing(responder, api, gateway):
    response = responder.post("/incidents/new", FORM | {"mitigated_at": "2024-07-23T09:00"})
    assert response.status_code == 422 and "不能早于影响开始" in response.get_data(as_text=True)
    assert api.get("/incidents").get_json()["items"] == []


def test_a_grade_change_lands_in_the_audit_trail_with_the_user_s_name(responder, api, gateway):
    location = responder.post("/incidents/new", FORM).location
    responder.edit(location, {"grade": "C"})
    trail = api.get("/audit", entity="incident").get_json()["items"]
    assert (trail[-1]["actor"], trail[-1]["after"]) == ("responder", {"grade": "C"})


def test_a_forged_form_without_its_csrf_token_is_refused(responder, api, gateway):
    response = responder.post("/incidents/new", FORM, csrf=False)
    assert response.status_code == 400
    assert api.get("/incidents").get_json()["items"] == []


def test_a_viewer_cannot_log_an_incident(browser, api, gateway):
    browser.sign_in("viewer")
    assert browser.post("/incidents/new", FORM).status_code == 403


def test_the_suggestion_follows_the_form(responder, gateway):
    responder.get("/incidents/new")
    answer = responder.post("/incidents/suggest", FORM | {"mitigated_at": "2024-07-23T11:04"})
    assert answer.get_json()["grade"] == "B"  # 60 min at 0.5 = 30 weighted minutes


def test_a_timeline_note_is_added_by_the_signed_in_user(responder, api, gateway):
    location = responder.post("/incidents/new", FORM).location
    responder.get(location)
    responder.post(f"{location}/timeline", {"text": "执行手工结算"})
    assert "responder" in responder.get(location).get_data(as_text=True)


def test_the_list_filters_and_searches(responder, api, gateway):
    responder.post("/incidents/new", FORM)
    responder.post("/incidents/new", FORM | {"title": "bank timeouts", "grade": "C"})
    page = responder.get("/incidents?grade=C&q=bank").get_data(as_text=True)
    assert "bank timeouts" in page and 'href="/incidents/1"' not in page


def test_the_dashboard_reads_the_latest_snapshot(responder, api, gateway):
    api.post("/rollups", None)
    page = responder.get("/").get_data(as_text=True)
    assert "年度可用性" in page and "100%" in page


def test_the_report_preview_and_its_downloads(responder, gateway):
    page = responder.get("/report?week=2024-W30").get_data(as_text=True)
    download = responder.get("/report/download?week=2024-W30&format=md")
    assert "【系统运行数据】" in page
    assert download.headers["Content-Disposition"] == 'attachment; filename="2024-W30.zh.md"'


def test_english_labels(responder, gateway):
    assert "Incidents" in responder.get("/incidents?lang=en").get_data(as_text=True)


def test_users_create_reads_the_password_from_stdin(runner, api):
    from tracker.cli import main

    result = runner.invoke(
        main, ["users", "create", "oncall", "--role", "responder"], input="a long enough password\n"
    )
    assert result.exit_code == 0, result.output
    assert "user oncall (responder) created" in result.output


def test_an_admin_adds_a_service_and_a_responder_may_not(browser, api):
    browser.sign_in("admin")
    assert (
        browser.post("/services", {"key": "ledger", "name": "Ledger", "tier": "2"}).status_code
        == 302
    )
    assert api.get("/services/ledger").status_code == 200
    browser.sign_in("responder")
    assert browser.post("/services", {"key": "other", "name": "Other"}).status_code == 403


def test_a_responder_announces_maintenance(responder, api, gateway):
    response = responder.post(
        "/maintenance",
        {
            "services": "gateway",
            "starts_at": "2024-07-20T02:00",
            "ends_at": "2024-07-20T04:00",
            "announced_at": "2024-07-18T10:00",
            "reason": "数据库升级",
        },
    )
    assert response.status_code == 302
    window = api.get("/maintenance-windows").get_json()["items"][0]
    assert (window["starts_at"], window["counts_as_maintenance"]) == ("2024-07-19T18:00:00Z", True)


def test_a_bad_maintenance_window_is_refused_naming_the_field(responder, api, gateway):
    response = responder.post(
        "/maintenance",
        {"starts_at": "2024-07-20T04:00", "ends_at": "2024-07-20T02:00", "reason": "x"},
    )
    assert response.status_code == 422 and "ends_at" in response.get_data(as_text=True)
