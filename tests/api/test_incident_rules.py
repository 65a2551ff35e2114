"""Every rule of DESIGN §3: a violating request gets 422 naming the field and stores nothing."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import incident_body, service_body, stored_counts


def _without(field):
    body = incident_body()
    del body[field]
    return body


def _soon(minutes):
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


# (rule, body, field the error names)
CREATE_VIOLATIONS = [
    ("title is required", _without("title"), "title"),
    ("title is not empty", incident_body(title=""), "title"),
    ("title is at most 200 characters", incident_body(title="x" * 201), "title"),
    ("summary is at most 10000 characters", incident_body(summary="x" * 10001), "summary"),
    ("services are required", _without("services"), "services"),
    ("at least one service", incident_body(services=[]), "services"),
    ("each service must exist", incident_body(services=["gateway", "nope"]), "services[1]"),
    ("a service key has the key shape", incident_body(services=["Bad Key"]), "services[0]"),
    ("a service is listed once", incident_body(services=["gateway", "gateway"]), "services"),
    ("status is one of five", incident_body(status="done"), "status"),
    (
        "mitigated needs mitigated_at",
        incident_body(status="mitigated", mitigated_at=None),
        "mitigated_at",
    ),
    ("resolved needs resolved_at", incident_body(status="resolved"), "resolved_at"),
    ("closed needs resolved_at", incident_body(status="closed"), "resolved_at"),
    ("grade is A-D or none", incident_body(grade="E"), "grade"),
    (
        "grade below the suggestion needs a reason",
        incident_body(grade="none", mitigated_at="2024-07-23T10:44:00+08:00"),
        "grade_reason",
    ),
    ("detected_at is required", _without("detected_at"), "detected_at"),
    ("timestamps carry an offset", incident_body(detected_at="2024-07-23T10:04:00"), "detected_at"),
    (
        "impact starts before detection",
        incident_body(impact_started_at="2024-07-23T10:05:00+08:00"),
        "detected_at",
    ),
    (
        "acknowledged after detection",
        incident_body(acknowledged_at="2024-07-23T10:03:00+08:00"),
        "acknowledged_at",
    ),
    (
        "mitigated after the impact started",
        incident_body(mitigated_at="2024-07-23T10:00:00+08:00"),
        "mitigated_at",
    ),
    (
        "resolved after every other time",
        incident_body(resolved_at="2024-07-23T10:04:30+08:00"),
        "resolved_at",
    ),
    (
        "nothing more than five minutes ahead",
        incident_body(detected_at=_soon(10), mitigated_at=None),
        "detected_at",
    ),
    ("impact_ratio is at least 0", incident_body(impact_ratio=-0.1), "impact_ratio"),
    ("impact_ratio is at most 1", incident_body(impact_ratio=1.5), "impact_ratio"),
    (
        "counts_toward_availability is a boolean",
        incident_body(counts_toward_availability="maybe"),
        "counts_toward_availability",
    ),
    (
        "a share is at most 1",
        incident_body(responsibility=[{"party": "us", "share": 1.5}]),
        "responsibility[0].share",
    ),
    (
        "a share is at least 0",
        incident_body(responsibility=[{"party": "us", "share": -1}]),
        "responsibility[0].share",
    ),
    (
        "shares sum to at most 1",
        incident_body(
            responsibility=[{"party": "us", "share": 0.7}, {"party": "bank", "share": 0.5}]
        ),
        "responsibility",
    ),
    (
        "a responsible party is named",
        incident_body(responsibility=[{"share": 1}]),
        "responsibility[0].party",
    ),
    ("root_cause is from the list", incident_body(root_cause="gremlins"), "root_cause"),
    (
        "detection_source is from the list",
        incident_body(detection_source="psychic"),
        "detection_source",
    ),
    (
        "affected_transactions is at least 0",
        incident_body(affected_transactions=-1),
        "affected_transactions",
    ),
    ("affected_amount is at least 0", incident_body(affected_amount="-1.00"), "affected_amount"),
    ("amounts are never floats", incident_body(affected_amount=12.5), "affected_amount"),
    ("amounts have at most 2 places", incident_body(affected_amount="1.005"), "affected_amount"),
    ("amounts are numbers", incident_body(fund_loss="lots"), "fund_loss"),
    ("fund_loss is at least 0", incident_body(fund_loss="-0.01"), "fund_loss"),
    (
        "regulatory_level is from the list",
        incident_body(regulatory_level="huge"),
        "regulatory_level",
    ),
    ("postmortem_url is http(s)", incident_body(postmortem_url="ftp://wiki/x"), "postmortem_url"),
    ("postmortem_url is a URL", incident_body(postmortem_url="see wiki"), "postmortem_url"),
    ("unknown fields are refused", incident_body(severity="high"), "severity"),
    ("read-only id is refused", incident_body(id=7), "id"),
    ("a time is text, not Unix seconds", incident_body(detected_at=0), "detected_at"),
    (
        "a count is not a boolean",
        incident_body(affected_transactions=False),
        "affected_transactions",
    ),
    ("a ratio is not a boolean", incident_body(impact_ratio=True), "impact_ratio"),
    ("read-only suggested_grade is refused", incident_body(suggested_grade="A"), "suggested_grade"),
    ("read-only created_by is refused", incident_body(created_by="mallory"), "created_by"),
]


@pytest.mark.parametrize(
    ("body", "field"), [c[1:] for c in CREATE_VIOLATIONS], ids=[c[0] for c in CREATE_VIOLATIONS]
)
def test_a_violating_incident_is_refused_and_nothing_is_stored(app, api, gateway, body, field):
    before = stored_counts(app)
    response = api.post("/incidents", body)
    assert response.status_code == 422, response.get_json()
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert stored_counts(app) == before


PATCH_VIOLATIONS = [
    (
        "detection after resolution",
        {
            "resolved_at": "2024-07-23T10:30:00+08:00",
            "status": "resolved",
            "detected_at": "2024-07-23T11:00:00+08:00",
        },
        "resolved_at",
    ),
    ("resolving without resolved_at", {"status": "resolved"}, "resolved_at"),
    (
        "clearing mitigated_at of a mitigated incident",
        {"status": "mitigated", "mitigated_at": None},
        "mitigated_at",
    ),
    ("title may not be null", {"title": None}, "title"),
    ("services may not be emptied", {"services": []}, "services"),
    (
        "impact start moved after mitigation",
        {
            "impact_started_at": "2024-07-23T10:06:00+08:00",
            "detected_at": "2024-07-23T10:06:00+08:00",
        },
        "mitigated_at",
    ),
    (
        "downgrading below the suggestion without a reason",
        {"grade": "none", "mitigated_at": "2024-07-23T11:04:00+08:00"},
        "grade_reason",
    ),
    ("a naive timestamp", {"acknowledged_at": "2024-07-23T10:10:00"}, "acknowledged_at"),
    ("an unknown field", {"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(
    ("patch", "field"), [c[1:] for c in PATCH_VIOLATIONS], ids=[c[0] for c in PATCH_VIOLATIONS]
)
def test_a_violating_patch_is_refused_and_changes_nothing(app, api, incident, patch, field):
    before = (stored_counts(app), api.get(f"/incidents/{incident['id']}").get_json())
    response = api.patch(f"/incidents/{incident['id']}", patch)
    assert response.status_code == 422, response.get_json()
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert (stored_counts(app), api.get(f"/incidents/{incident['id']}").get_json()) == before


def test_detection_may_come_after_mitigation(api, gateway):
    body = incident_body(
        impact_started_at="2024-07-23T09:00:00+08:00",
        mitigated_at="2024-07-23T09:30:00+08:00",
        detection_source="reconciliation",
    )
    assert api.post("/incidents", body).status_code == 201


def test_a_grade_below_the_suggestion_is_kept_with_a_reason(api, gateway):
    body = incident_body(
        grade="none", grade_reason="probe traffic only", mitigated_at="2024-07-23T10:44:00+08:00"
    )
    response = api.post("/incidents", body)
    assert response.status_code == 201
    assert (response.get_json()["grade"], response.get_json()["suggested_grade"]) == ("none", "B")


SERVICE_VIOLATIONS = [
    ("the key has the key shape", service_body("Gateway"), "key"),
    ("the key is at most 63 characters", service_body("a" * 64), "key"),
    ("all is reserved", service_body("all"), "key"),
    ("tier is 1, 2 or 3", service_body("x", tier=4), "tier"),
    ("objective is above 0", service_body("x", objective=0), "objective"),
    ("objective is below 1", service_body("x", objective=1), "objective"),
    ("name is required", {"key": "x"}, "name"),
]


@pytest.mark.parametrize(
    ("body", "field"), [c[1:] for c in SERVICE_VIOLATIONS], ids=[c[0] for c in SERVICE_VIOLATIONS]
)
def test_a_violating_service_is_refused_and_nothing_is_stored(app, api, body, field):
    before = stored_counts(app)
    response = api.post("/services", body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert stored_counts(app) == before


def test_a_service_key_cannot_be_changed(api, gateway):
    response = api.patch("/services/gateway", {"key": "other"})
    assert response.status_code == 422
    assert api.get("/services/gateway").status_code == 200


def test_a_duplicate_service_is_a_conflict(app, api, gateway):
    before = stored_counts(app)
    assert api.post("/services", service_body("gateway")).status_code == 409
    assert stored_counts(app) == before


MAINTENANCE_VIOLATIONS = [
    ("ends after it starts", {"ends_at": "2024-07-20T01:00:00+08:00"}, "ends_at"),
    ("services exist", {"services": ["nope"]}, "services[0]"),
    ("all stands alone", {"services": ["all", "gateway"]}, "services"),
    ("times carry an offset", {"starts_at": "2024-07-20T02:00:00"}, "starts_at"),
    ("a reason is given", {"reason": ""}, "reason"),
]


@pytest.mark.parametrize(
    ("fields", "field"),
    [c[1:] for c in MAINTENANCE_VIOLATIONS],
    ids=[c[0] for c in MAINTENANCE_VIOLATIONS],
)
def test_a_violating_maintenance_window_is_refused(app, api, gateway, fields, field):
    body = {
        "services": ["gateway"],
        "starts_at": "2024-07-20T02:00:00+08:00",
        "ends_at": "2024-07-20T04:00:00+08:00",
        "reason": "database upgrade",
        "announced_at": "2024-07-18T10:00:00+08:00",
        **fields,
    }
    before = stored_counts(app)
    response = api.post("/maintenance-windows", body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert stored_counts(app) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"at": "2024-07-23T10:10:00", "text": "x"}, "at"),
        ({"at": "2024-07-23T10:10:00+08:00", "text": ""}, "text"),
        ({"at": _soon(30), "text": "x"}, "at"),
    ],
    ids=["naive time", "empty text", "in the future"],
)
def test_a_violating_timeline_entry_is_refused(app, api, incident, body, field):
    before = stored_counts(app)
    response = api.post(f"/incidents/{incident['id']}/timeline", body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.get_json()["errors"]]
    assert stored_counts(app) == before


@pytest.mark.parametrize(
    "settings_overrides", [{"grading": {"thresholds": {"weighted_minutes": {"D": 100}}}}]
)
def test_grading_thresholds_come_from_settings(api, gateway, settings_overrides):
    created = api.post("/incidents", incident_body()).get_json()
    assert created["suggested_grade"] == "none"


def test_the_suggestion_names_the_dimension_that_decided_it(api, gateway):
    created = api.post("/incidents", incident_body(affected_transactions=12_000)).get_json()
    assert created["suggested_grade"] == "B"
    assert created["suggested_grade_reason"] == "affected_transactions 12000 ≥ 10000"
