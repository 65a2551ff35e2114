"""schemathesis against the OpenAPI document: every operation, valid and invalid input, with an
admin token, in-process (WSGI). No 5xx, and every response is documented: its status code,
its content type and its body's schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import incident_body, service_body
from tests.hostile.conftest import sqlite_only
from tracker.app import create_app
from tracker.settings import load_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict:
    """The served document, from an app that never touches its database (tests are generated
    from it at collection time; each runs against its own fresh app)."""
    settings = load_settings(
        environ={}, overrides={"database_url": "sqlite:///:memory:", "secret_key": "openapi-" * 4}
    )
    return create_app(settings).test_client().get("/api/v1/openapi.json").get_json()


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def seeded(api):
    """The service the document's examples name, and incident 1 on it: valid cases succeed."""
    assert api.post("/services", service_body("payment-gateway")).status_code == 201
    body = incident_body(services=["payment-gateway"])
    assert api.post("/incidents", body).status_code == 201


@sqlite_only
@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_documented_responses(case, app, tokens, seeded):
    case.call_and_validate(
        app=app, headers={"Authorization": f"Bearer {tokens['admin']}"}, checks=CHECKS
    )
