"""One test pins the problem+json shape for every error source (DESIGN §5)."""

import pytest

from tests.factories import incident_body, service_body

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def _raw_post(data, content_type="application/json"):
    """A POST of raw bytes, for bodies the JSON helper cannot send."""

    def send(api, client):
        headers = {"Authorization": f"Bearer {api.tokens['admin']}", "Content-Type": content_type}
        return client.post("/api/v1/services", data=data, headers=headers)

    return send


ERROR_SOURCES = {
    400: _raw_post(b"{not json"),
    401: lambda api, client: api.get("/incidents", role=None),
    403: lambda api, client: api.post("/services", service_body("x"), role="viewer"),
    404: lambda api, client: api.get("/incidents/999"),
    409: lambda api, client: api.post("/services", service_body("gateway")),
    413: _raw_post(b"{" + b" " * 5_000_000 + b"}"),
    415: _raw_post("key=x", "application/x-www-form-urlencoded"),
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
