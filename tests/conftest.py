"""Fixtures: a fresh app per test on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL runs when it answers at TRACKER_TEST_POSTGRES (default 127.0.0.1:5432); with
CI=true it must answer, otherwise the PostgreSQL half of the suite skips with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import Api, incident_body, service_body
from tracker.app import create_app
from tracker.clock import utcnow
from tracker.db import database, open_database
from tracker.migrate import upgrade
from tracker.models import MODELS
from tracker.services.tokens import create_token
from tracker.settings import load_settings

PG_SERVER = os.environ.get("TRACKER_TEST_POSTGRES", "postgresql://root@127.0.0.1:5432")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ("sqlite", "postgresql")


def _admin_pg() -> peewee.PostgresqlDatabase:
    return peewee.PostgresqlDatabase("postgres", **_pg_params())


def _pg_params() -> dict[str, Any]:
    from playhouse.db_url import parse

    params = parse(PG_SERVER + "/postgres")
    params.pop("database")
    return params


def create_pg_database(name: str) -> str:
    """Create an empty database (dropping any leftover) and return its URL."""
    admin = _admin_pg()
    try:
        admin.connect()
    except peewee.OperationalError as exc:
        reason = f"PostgreSQL is not reachable at {PG_SERVER}: {str(exc).strip()}"
        if IN_CI:
            pytest.fail(f"CI=true needs PostgreSQL: {reason}")
        pytest.skip(reason)
    admin.execute_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute_sql(f'CREATE DATABASE "{name}"')
    admin.close()
    return f"{PG_SERVER}/{name}"


def drop_pg_database(name: str) -> None:
    admin = _admin_pg()
    admin.connect()
    admin.execute_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the session; tests empty it before use."""
    name = f"tracker_test_{os.getpid()}"
    url = create_pg_database(name)
    db = open_database(url)
    upgrade(db)
    db.close_all()
    yield url
    drop_pg_database(name)


def _empty_pg(url: str) -> None:
    db = open_database(url)
    tables = ", ".join(f'"{m._meta.table_name}"' for m in MODELS)
    with db.connection_context():
        db.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    db.close_all()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracker.db'}"
        upgrade(open_database(url))
        return url
    url = request.getfixturevalue("pg_url")
    _empty_pg(url)
    return url


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Tests override this to change settings for their app."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]) -> Iterator[Flask]:
    settings = load_settings(
        environ={},
        overrides={"database_url": database_url, "data_dir": str(tmp_path), **settings_overrides},
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    db = app.extensions["tracker.db"]
    if not db.is_closed():
        db.close()
    if hasattr(db, "close_all"):
        db.close_all()


@pytest.fixture
def db(app: Flask) -> Iterator[peewee.Database]:
    """A connection for tests that read or write the database directly."""
    with app.app_context(), database.connection_context():
        yield app.extensions["tracker.db"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def tokens(app: Flask) -> dict[str, str]:
    """A raw bearer token per role."""
    with app.app_context(), database.connection_context():
        return {
            role: create_token(f"{role}-bot", role, actor="test", now=utcnow())
            for role in ("viewer", "ingest", "responder", "admin")
        }


@pytest.fixture
def api(client: FlaskClient, tokens: dict[str, str]) -> Api:
    return Api(client, tokens)


@pytest.fixture
def gateway(api: Api) -> dict[str, Any]:
    response = api.post("/services", service_body("gateway"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def incident(api: Api, gateway: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/incidents", incident_body())
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def runner(
    app: Flask, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    """The CLI against the same database as `app`."""
    for key in list(os.environ):
        if key.startswith("TRACKER_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TRACKER_DATABASE_URL", database_url)
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path))
    return CliRunner()


@pytest.fixture
def wecom():
    """A local WeCom group robot checking every message against its documented format."""
    from tests.notifications.receivers import Receiver

    with Receiver("wecom") as running:
        yield running
