"""Role escalation: no token or UI user gets past its role, whatever it sends; CSRF is on."""

import pytest
from flask import Flask

from tests.factories import incident_body, stored_counts
from tests.hostile.conftest import sqlite_only
from tests.oidc import PERSON_OF_ROLE, Forger
from tests.ui.conftest import Browser
from tests.ui.test_company_sign_in import company_sign_in, oidc_settings
from tracker.db import database
from tracker.models import User
from tracker.services.tokens import may

ROLES = ("viewer", "ingest", "responder", "admin")
PATH_VALUES = {
    "key": "gateway",
    "incident_id": "1",
    "window_id": "1",
    "notification_id": "1",
    "follow_up_id": "1",
    "change_id": "1",
}


def _guarded_routes(app):
    """(method, path, right) of every API route that needs more than `read`, from the routes."""
    for rule in app.url_map.iter_rules():
        spec = getattr(app.view_functions[rule.endpoint], "endpoint_spec", None)
        if spec is not None and spec.right != "read":
            path = rule.rule.replace("<int:", "<")
            for name, value in PATH_VALUES.items():
                path = path.replace(f"<{name}>", value)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield method, path, spec.right


@sqlite_only
def test_every_guarded_endpoint_refuses_every_role_without_its_right(app, client, tokens, incident):
    before = stored_counts(app)
    routes = list(_guarded_routes(app))
    let_through = [
        (role, method, path)
        for method, path, right in routes
        for role in ROLES
        if not may(role, right)
        and client.open(
            path, method=method, json={}, headers={"Authorization": f"Bearer {tokens[role]}"}
        ).status_code
        != 403
    ]
    assert {right for *_, right in routes} == {"admin", "respond", "ingest"}
    assert let_through == []
    assert stored_counts(app) == before


@sqlite_only
def test_no_api_route_makes_tokens_or_users_or_changes_a_role(app, client, tokens, gateway):
    before = stored_counts(app)
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    tries = [
        (method, path)
        for path in ("/tokens", "/tokens/1", "/users", "/users/viewer", "/me", "/roles")
        for method in ("POST", "PUT", "PATCH")
    ]
    answers = {
        client.open(f"/api/v1{p}", method=m, json={"role": "admin"}, headers=headers).status_code
        for m, p in tries
    }
    assert answers <= {404, 405}
    assert stored_counts(app) == before


@sqlite_only
def test_a_body_cannot_claim_a_role_or_an_author(app, api, gateway):
    before = stored_counts(app)
    claim = incident_body(role="admin", created_by="admin", id=1)
    refused = api.post("/incidents", claim, role="responder")
    assert refused.status_code == 422
    assert {e["field"] for e in refused.get_json()["errors"]} == {"role", "created_by", "id"}
    assert stored_counts(app) == before


ADMIN_FORMS = {
    "/services": {"key": "ledger", "name": "Ledger", "tier": "1"},
    "/access/tokens": {"name": "mine", "role": "admin"},
    "/access/people/admin/disable": {},
    "/access/tokens/1/revoke": {},
}
RESPONDER_FORMS = {
    "/incidents/new": {"title": "x", "services": "gateway", "detected_at": "2024-07-23T10:04"},
    "/incidents/1": {"title": "taken over"},
    "/incidents/1/timeline": {"text": "note"},
    "/maintenance": {
        "reason": "x",
        "starts_at": "2024-07-20T02:00",
        "ends_at": "2024-07-20T04:00",
        "announced_at": "2024-07-18T10:00",
    },
}


@sqlite_only
@pytest.mark.parametrize("role", ["viewer", "ingest", "responder"])
def test_a_ui_session_cannot_post_forms_above_its_role(app, browser, incident, role):
    browser.sign_in(role)
    before = stored_counts(app)
    forms = ADMIN_FORMS | ({} if role == "responder" else RESPONDER_FORMS)
    answers = {path: browser.post(path, data).status_code for path, data in forms.items()}
    assert answers == dict.fromkeys(forms, 403)
    assert stored_counts(app) == before


@pytest.fixture(scope="module")
def forger():
    with Forger() as running:
        yield running


@pytest.fixture
def settings_overrides(forger):
    """Company sign-in beside the local users: the matrix runs for both."""
    return oidc_settings(forger.issuer)


@sqlite_only
@pytest.mark.parametrize("role", ["viewer", "ingest", "responder"])
def test_a_company_account_cannot_post_forms_above_its_role(app, forger, incident, role):
    browser = Browser(app.test_client())
    forger.login = PERSON_OF_ROLE[role]
    assert company_sign_in(browser.client, forger).status_code == 302
    assert f"{forger.login} · " in browser.get("/").get_data(as_text=True)
    before = stored_counts(app)
    forms = ADMIN_FORMS | ({} if role == "responder" else RESPONDER_FORMS)
    answers = {path: browser.post(path, data).status_code for path, data in forms.items()}
    assert answers == dict.fromkeys(forms, 403)
    assert stored_counts(app) == before


@sqlite_only
def test_a_company_admin_may_post_the_admin_forms(app, forger):
    browser = Browser(app.test_client())
    forger.login = PERSON_OF_ROLE["admin"]
    company_sign_in(browser.client, forger)
    browser.get("/")
    assert browser.post("/services", ADMIN_FORMS["/services"]).status_code in (302, 303)


@sqlite_only
def test_a_demoted_user_loses_the_right_on_the_next_request(app, browser, gateway):
    browser.sign_in("responder")
    with app.app_context(), database.connection_context():
        User.update(role="viewer").where(User.name == "responder").execute()
    assert browser.post("/incidents/new", RESPONDER_FORMS["/incidents/new"]).status_code == 403


@sqlite_only
def test_an_admin_form_without_its_csrf_token_is_refused(app, browser):
    browser.sign_in("admin")
    before = stored_counts(app)
    assert browser.post("/services", ADMIN_FORMS["/services"], csrf=False).status_code == 400
    assert stored_counts(app) == before


@sqlite_only
def test_a_session_cookie_signed_with_another_key_signs_no_one_in(app, users):
    forger = Flask("forger")
    forger.secret_key = "not the server's key"
    admin_id = 4  # the fixture makes admin fourth
    cookie = forger.session_interface.get_signing_serializer(forger).dumps({"user_id": admin_id})
    client = app.test_client()
    client.set_cookie("session", cookie)
    response = client.get("/services")
    assert response.status_code == 302 and response.location.startswith("/login")
