"""The OpenAPI 3.1 document is generated from the models that validate requests."""

import pytest
from openapi_spec_validator import validate

from tracker.schemas import IncidentCreate


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_api_route_is_documented(app, document):
    documented = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops
    }
    routes = {
        (rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}"), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("openapi.json")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == documented


def test_the_incident_schema_is_the_validation_model(document):
    schema = document["components"]["schemas"]["IncidentCreate"]
    assert set(schema["properties"]) == set(IncidentCreate.model_fields)
    assert set(schema["required"]) == {"title", "services", "detected_at"}


def test_errors_are_documented_as_problems(document):
    responses = document["paths"]["/api/v1/incidents"]["post"]["responses"]
    assert {"201", "400", "401", "403", "413", "415", "422"} <= set(responses)
    assert responses["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith(
        "/Problem"
    )
