"""Who may do what: each role against each write endpoint, and the token rules."""

import pytest

from tests.factories import incident_body, service_body, stored_counts
from tracker.models import ApiToken
from tracker.services.tokens import digest

MAINTENANCE = {
    "services": ["all"],
    "starts_at": "2024-07-20T02:00:00+08:00",
    "ends_at": "2024-07-20T04:00:00+08:00",
    "reason": "upgrade",
    "announced_at": "2024-07-18T10:00:00+08:00",
}
WRITES = {
    "create service": ("post", "/services", service_body("ledger")),
    "update service": ("patch", "/services/gateway", {"name": "Gateway 2"}),
    "create incident": ("post", "/incidents", incident_body()),
    "update incident": ("patch", "/incidents/{id}", {"summary": "bank timeout"}),
    "add timeline entry": (
        "post",
        "/incidents/{id}/timeline",
        {"at": "2024-07-23T10:06:00+08:00", "text": "rolled back"},
    ),
    "create maintenance window": ("post", "/maintenance-windows", MAINTENANCE),
}
ALLOWED = {
    "viewer": set(),
    "ingest": set(),
    "responder": {
        "create incident",
        "update incident",
        "add timeline entry",
        "create maintenance window",
    },
    "admin": set(WRITES),
}
MATRIX = [(role, write) for role in ALLOWED for write in WRITES]


@pytest.mark.parametrize(("role", "write"), MATRIX, ids=[f"{r}-{w}" for r, w in MATRIX])
def test_role_against_write_endpoint(app, api, incident, role, write):
    method, path, body = WRITES[write]
    before = stored_counts(app)
    response = getattr(api, method)(path.format(id=incident["id"]), body, role=role)
    if write in ALLOWED[role]:
        assert response.status_code in (200, 201), response.get_json()
    else:
        assert response.status_code == 403
        assert stored_counts(app) == before


@pytest.mark.parametrize("write", sorted(WRITES))
def test_anonymous_writes_are_refused(app, api, incident, write):
    method, path, body = WRITES[write]
    before = stored_counts(app)
    assert getattr(api, method)(path.format(id=incident["id"]), body, role=None).status_code == 401
    assert stored_counts(app) == before


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_every_role_reads(api, incident, role):
    assert api.get("/incidents", role=role).status_code == 200
    assert api.get("/audit", role=role).status_code == 200


def test_anonymous_reads_are_refused_by_default(api, incident):
    assert api.get("/incidents", role=None).status_code == 401


@pytest.mark.parametrize("settings_overrides", [{"anonymous_read": True}])
def test_anonymous_reads_when_configured_but_never_writes(api, gateway, settings_overrides):
    assert api.get("/services", role=None).status_code == 200
    assert api.post("/incidents", incident_body(), role=None).status_code == 401


@pytest.mark.parametrize("settings_overrides", [{"anonymous_read": True}])
def test_a_bad_token_is_refused_even_where_anonymous_reads_are_allowed(client, settings_overrides):
    response = client.get("/api/v1/services", headers={"Authorization": "Bearer trk_forged"})
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer trk_nope", "Basic dXNlcjpwdw==", "trk_x"])
def test_malformed_or_unknown_credentials_are_refused(client, tokens, header):
    assert client.get("/api/v1/services", headers={"Authorization": header}).status_code == 401


def test_tokens_are_stored_hashed(db, tokens):
    stored = {t.token_hash for t in ApiToken.select()}
    assert not stored & set(tokens.values())
    assert digest(tokens["admin"]) in stored


def test_a_revoked_token_is_refused(app, api, runner, tokens):
    from tracker.cli import main

    token_id = next(i + 1 for i, r in enumerate(tokens) if r == "admin")
    assert runner.invoke(main, ["tokens", "revoke", str(token_id)]).exit_code == 0
    assert api.get("/services", role="admin").status_code == 401


def test_a_token_revoked_by_another_process_is_refused_within_the_cache_seconds(app, db, tokens):
    """Another process revokes straight in the database: this one remembers the token for
    at most CACHE_SECONDS, never past its expiry."""
    from datetime import UTC, datetime, timedelta

    from tracker.services.tokens import CACHE_SECONDS, authenticate

    now = datetime.now(UTC)
    raw = tokens["viewer"]
    assert authenticate(raw, now=now) is not None
    ApiToken.update(revoked_at=now).where(ApiToken.token_hash == digest(raw)).execute()
    assert authenticate(raw, now=now + timedelta(seconds=CACHE_SECONDS - 1)) is not None
    assert authenticate(raw, now=now + timedelta(seconds=CACHE_SECONDS)) is None


def test_a_remembered_token_is_refused_once_it_expires(app, db):
    from datetime import UTC, datetime, timedelta

    from tracker.services.tokens import authenticate, create_token

    now = datetime.now(UTC)
    raw = create_token("short", "viewer", actor="t", now=now, expires_at=now + timedelta(seconds=2))
    assert authenticate(raw, now=now) is not None
    assert authenticate(raw, now=now + timedelta(seconds=2)) is None
