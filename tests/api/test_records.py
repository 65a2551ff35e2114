"""Services, maintenance windows and the audit trail through the API."""

from tests.factories import incident_body, service_body


def test_services_list_in_tier_order(api):
    api.post("/services", service_body("reports", tier=3))
    api.post("/services", service_body("gateway", tier=1, objective=0.9995))
    items = api.get("/services").get_json()["items"]
    assert [s["key"] for s in items] == ["gateway", "reports"]
    assert items[0]["objective"] == 0.9995


def test_a_service_defaults_to_the_standard_objective(api):
    created = api.post("/services", {"key": "ledger", "name": "Ledger"}).get_json()
    assert (created["objective"], created["tier"], created["description"]) == (0.9999, 2, "")


def test_patching_a_service_records_before_and_after(api, gateway):
    api.patch("/services/gateway", {"objective": 0.999, "name": "Gateway"})
    record = api.get("/audit", entity="service", entity_id="gateway").get_json()["items"][-1]
    assert record["action"] == "update"
    assert (record["before"], record["after"]) == ({"objective": 0.9999}, {"objective": 0.999})


def test_every_incident_change_is_audited_with_before_and_after(api, incident):
    api.patch(f"/incidents/{incident['id']}", {"grade": "C", "status": "mitigated"})
    trail = api.get("/audit", entity="incident", entity_id=str(incident["id"])).get_json()["items"]
    assert [r["action"] for r in trail] == ["create", "update"]
    assert trail[1]["before"] == {"grade": None, "status": "open"}
    assert trail[1]["after"] == {"grade": "C", "status": "mitigated"}


def test_an_audit_record_names_the_actor(api, incident):
    api.patch(f"/incidents/{incident['id']}", {"summary": "x"}, role="responder")
    trail = api.get("/audit", entity="incident").get_json()["items"]
    assert [r["actor"] for r in trail] == ["admin-bot", "responder-bot"]


def test_a_patch_that_changes_nothing_writes_no_audit_record(api, incident):
    api.patch(f"/incidents/{incident['id']}", {"title": incident["title"]})
    trail = api.get("/audit", entity="incident").get_json()["items"]
    assert len(trail) == 1


def test_timeline_entries_are_audited(api, incident):
    api.post(
        f"/incidents/{incident['id']}/timeline",
        {"at": "2024-07-23T10:05:00+08:00", "text": "执行手工结算"},
    )
    record = api.get("/audit", entity="timeline_entry").get_json()["items"][0]
    assert record["after"]["text"] == "执行手工结算"


def test_the_audit_trail_pages_by_cursor(api, gateway):
    for minute in range(5):
        api.post(
            "/incidents",
            incident_body(detected_at=f"2024-07-23T10:0{minute}:00+08:00", mitigated_at=None),
        )
    first = api.get("/audit", limit=4).get_json()
    second = api.get("/audit", limit=4, cursor=first["next_cursor"]).get_json()
    ids = [r["id"] for r in first["items"] + second["items"]]
    assert ids == sorted(set(ids)) and len(ids) >= 6


def test_the_audit_trail_has_no_delete(api, client, incident):
    response = client.delete("/api/v1/audit", headers=api._headers("admin"))
    assert response.status_code == 405


def test_maintenance_announced_in_time_counts(api, gateway):
    body = {
        "services": ["all"],
        "starts_at": "2024-07-20T02:00:00+08:00",
        "ends_at": "2024-07-20T04:00:00+08:00",
        "reason": "database upgrade",
        "announced_at": "2024-07-18T10:00:00+08:00",
    }
    early = api.post("/maintenance-windows", body).get_json()
    late = api.post(
        "/maintenance-windows", {**body, "announced_at": "2024-07-19T10:00:00+08:00"}
    ).get_json()
    assert (early["counts_as_maintenance"], late["counts_as_maintenance"]) == (True, False)


def test_maintenance_windows_list_newest_first_within_a_range(api, gateway):
    for day in (10, 20, 25):
        api.post(
            "/maintenance-windows",
            {
                "services": ["gateway"],
                "starts_at": f"2024-07-{day}T02:00:00+08:00",
                "ends_at": f"2024-07-{day}T03:00:00+08:00",
                "reason": f"day {day}",
                "announced_at": "2024-07-01T00:00:00+08:00",
            },
        )
    items = api.get("/maintenance-windows", since="2024-07-15T00:00:00+08:00").get_json()["items"]
    assert [w["reason"] for w in items] == ["day 25", "day 20"]
