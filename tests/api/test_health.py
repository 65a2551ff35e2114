"""/healthz and /readyz."""

import pytest

from tracker.app import create_app
from tracker.settings import load_settings


def test_healthz_answers(client):
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()["status"]) == (200, "ok")


def test_readyz_is_ready_on_a_current_schema(client):
    body = client.get("/readyz").get_json()
    assert body == {"status": "ok", "checks": {"database": "ok", "migrations": "current"}}


@pytest.fixture
def unmigrated(tmp_path):
    settings = load_settings(environ={}, overrides={"data_dir": str(tmp_path)})
    return create_app(settings).test_client()


def test_readyz_is_unavailable_while_migrations_are_pending(unmigrated):
    response = unmigrated.get("/readyz")
    assert response.status_code == 503
    assert "0001_initial" in response.get_json()["checks"]["migrations"]


@pytest.fixture
def database_down(tmp_path):
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    settings = load_settings(environ={}, overrides={"database_url": url})
    return create_app(settings).test_client()


def test_with_the_database_down_healthz_still_answers_and_readyz_is_503(database_down):
    assert database_down.get("/healthz").status_code == 200
    assert database_down.get("/readyz").status_code == 503


def test_with_the_database_down_a_request_gets_503_problem(database_down):
    response = database_down.get("/api/v1/services", headers={"Authorization": "Bearer trk_x"})
    assert (response.status_code, response.mimetype) == (503, "application/problem+json")
