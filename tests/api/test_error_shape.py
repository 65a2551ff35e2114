"""One test pins the problem+json shape for every error source (DESIGN §5)."""

import pytest

from tests.factories import incident_body, service_body

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def _malformed(api, client):
    return client.post(
        "/api/v1/services",
        data=b"{not json",
        headers={
            "Authorization": f"Bearer {api.tokens['admin']}",
            "Content-Type": "application/json",
        },
    )


def _too_large(api, client):
    return client.post(
        "/api/v1/services",
        data=b"{" + b" " * 5_000_000 + b"}",
        headers={
            "Authorization": f"Bearer {api.tokens['admin']}",
            "Content-Type": "application/json",
        },
    )


def _not_json(api, client):
    return client.post(
        "/api/v1/services",
        data="key=x",
        headers={
            "Authorization": f"Bearer {api.tokens['admin']}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


ERROR_SOURCES = {
    400: _malformed,
    401: lambda api, client: api.get("/incidents", role=None),
    403: lambda api, client: api.post("/services", service_body("x"), role="viewer"),
    404: lambda api, client: api.get("/incidents/999"),
    409: lambda api, client: api.post("/services", service_body("gateway")),
    413: _too_large,
    415: _not_json,
    422: lambda api, client: api.post("/incidents", incident_body(impact_ratio=2)),
}


@pytest.mark.parametrize("status", sorted(ERROR_SOURCES))
def test_every_error_is_problem_json(api, client, gateway, status):
    response = ERROR_SOURCES[status](api, client)
    body = response.get_json(force=True)
    assert (response.status_code, response.mimetype) == (status, "application/problem+json")
    assert set(body) == PROBLEM_KEYS and body["status"] == status
    assert body["type"].startswith("urn:tracker:problem:") and body["detail"]


def test_invalid_field_names_the_field(api, gateway):
    body = api.post("/incidents", incident_body(impact_ratio=2)).get_json()
    assert [e["field"] for e in body["errors"]] == ["impact_ratio"]


def test_unauthorized_asks_for_a_bearer_token(api):
    response = api.get("/incidents", role=None)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_route_and_wrong_method_are_problems_too(api, client):
    assert client.get("/api/v1/nothing-here").mimetype == "application/problem+json"
    response = client.delete("/api/v1/services", headers=api._headers("admin"))
    assert (response.status_code, response.mimetype) == (405, "application/problem+json")
