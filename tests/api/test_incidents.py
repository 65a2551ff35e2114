"""Incidents through the API: every field round-trips, patches, filters, pages, timeline."""

import pytest

from tests.factories import incident_body, service_body

EVERY_FIELD = incident_body(
    summary="银商未下发对账文件，POS 自动结算未执行",
    status="resolved",
    grade="C",
    grade_reason="",
    impact_started_at="2024-07-23T10:00:00+08:00",
    acknowledged_at="2024-07-23T10:06:00+08:00",
    mitigated_at="2024-07-23T10:05:00+08:00",
    resolved_at="2024-07-23T11:00:00+08:00",
    impact_ratio=0.25,
    counts_toward_availability=True,
    responsibility=[
        {"party": "payments", "share": 0.5},
        {"party": "银商", "share": 0.5, "internal": False},
    ],
    root_cause="third_party_channel",
    detection_source="reconciliation",
    location="M6V",
    affected_transactions=8,
    affected_amount="0.08",
    fund_loss="0.00",
    regulatory_level="none",
    postmortem_url="https://wiki.example/postmortems/2024-07-23",
)


def test_an_incident_with_every_field_round_trips(api, gateway):
    created = api.post("/incidents", EVERY_FIELD).get_json()
    read = api.get(f"/incidents/{created['id']}").get_json()
    assert read == created
    assert read["detected_at"] == "2024-07-23T02:04:00Z"
    assert (read["affected_amount"], read["fund_loss"], read["location"]) == ("0.08", "0.00", "M6V")


def test_created_incident_carries_its_derived_fields(api, gateway):
    created = api.post("/incidents", EVERY_FIELD).get_json()
    assert created["attributed_weight"] == 0.5
    assert created["suggested_grade"] == "D"
    assert created["created_by"] == "admin-bot"


def test_impact_start_defaults_to_detection(api, incident):
    assert incident["impact_started_at"] == incident["detected_at"]


def test_patch_changes_only_the_fields_sent(api, incident):
    patched = api.patch(f"/incidents/{incident['id']}", {"grade": "C", "location": "IDC-2"})
    changed = {k for k, v in patched.get_json().items() if incident[k] != v}
    assert patched.status_code == 200
    assert changed == {"grade", "location", "updated_at"}


def test_patch_replaces_services_and_responsibility(api, incident):
    api.post("/services", service_body("ledger", tier=2))
    body = {"services": ["ledger", "gateway"], "responsibility": [{"party": "dba", "share": 0.3}]}
    patched = api.patch(f"/incidents/{incident['id']}", body).get_json()
    assert patched["services"] == ["gateway", "ledger"]
    assert patched["attributed_weight"] == 0.3


def test_a_missing_incident_is_404(api, gateway):
    assert api.get("/incidents/12345").status_code == 404
    assert api.patch("/incidents/12345", {"title": "x"}).status_code == 404


@pytest.fixture
def several(api, gateway):
    api.post("/services", service_body("ledger", tier=2))
    bodies = [
        incident_body(title="gateway timeouts", grade="C"),
        incident_body(
            title="ledger lag",
            services=["ledger"],
            grade="A",
            detected_at="2024-07-24T12:07:00+08:00",
            mitigated_at=None,
        ),
        incident_body(
            title="bank maintenance",
            grade="B",
            status="resolved",
            detected_at="2024-07-25T19:24:00+08:00",
            mitigated_at="2024-07-25T19:33:00+08:00",
            resolved_at="2024-07-25T19:40:00+08:00",
        ),
        incident_body(
            title="probe noise",
            detected_at="2024-07-30T08:00:00+08:00",
            mitigated_at=None,
            counts_toward_availability=False,
        ),
    ]
    return [api.post("/incidents", b).get_json() for b in bodies]


def _titles(response):
    return [i["title"] for i in response.get_json()["items"]]


def test_list_is_newest_first(api, several):
    titles = _titles(api.get("/incidents"))
    assert titles == ["probe noise", "bank maintenance", "ledger lag", "gateway timeouts"]


@pytest.mark.parametrize(
    ("params", "titles"),
    [
        (
            {"since": "2024-07-24T00:00:00+08:00", "until": "2024-07-29T00:00:00+08:00"},
            ["bank maintenance", "ledger lag"],
        ),
        ({"grade": "AB"}, ["bank maintenance", "ledger lag"]),
        ({"grade": "C"}, ["gateway timeouts"]),
        ({"grade": "ungraded"}, ["probe noise"]),
        ({"service": "ledger"}, ["ledger lag"]),
        ({"status": "resolved"}, ["bank maintenance"]),
        ({"q": "TIMEOUT"}, ["gateway timeouts"]),
        ({"grade": "AB", "service": "gateway"}, ["bank maintenance"]),
    ],
)
def test_list_filters(api, several, params, titles):
    assert _titles(api.get("/incidents", **params)) == titles


def test_an_unknown_service_filter_is_a_clear_error(api, several):
    response = api.get("/incidents", service="nope")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "service"


def test_cursor_pages_cover_every_incident_once(api, several):
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/incidents", **params).get_json()
        seen += [i["id"] for i in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == sorted(i["id"] for i in several)


def test_page_numbers_page_too(api, several):
    second = api.get("/incidents", limit=3, page=2).get_json()
    assert [i["title"] for i in second["items"]] == ["gateway timeouts"]
    assert (second["page"], second["next_cursor"]) == (2, None)


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage"},
        {"cursor": "WzFd"},
        {"limit": 201},
        {"limit": 0},
        {"cursor": "WyJ4IiwxXQ", "page": 2},
        {"since": "yesterday"},
        {"sort": "title"},
    ],
    ids=[
        "junk cursor",
        "short cursor",
        "limit too big",
        "limit zero",
        "cursor and page",
        "bad time",
        "unknown parameter",
    ],
)
def test_bad_list_parameters_are_422(api, several, params):
    assert api.get("/incidents", **params).status_code == 422


def test_timeline_entries_are_listed_in_time_order(api, incident):
    path = f"/incidents/{incident['id']}/timeline"
    api.post(path, {"at": "2024-07-23T10:20:00+08:00", "text": "手工结算完成"})
    api.post(path, {"at": "2024-07-23T10:05:00+08:00", "text": "执行手工结算"})
    items = api.get(path).get_json()["items"]
    assert [e["text"] for e in items] == ["执行手工结算", "手工结算完成"]
    assert items[0]["author"] == "admin-bot"


def test_a_timeline_of_a_missing_incident_is_404(api, gateway):
    assert api.get("/incidents/99/timeline").status_code == 404
    assert (
        api.post(
            "/incidents/99/timeline", {"at": "2024-07-23T10:05:00+08:00", "text": "x"}
        ).status_code
        == 404
    )
