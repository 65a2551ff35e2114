"""Bearer tokens under attack: forged, revoked and expired tokens are refused with a 401
problem; `tracker tokens create --expires-in DAYS` makes a token that lapses."""

import secrets
from datetime import timedelta

import pytest

from tests.hostile.conftest import sqlite_only
from tracker.cli import main
from tracker.clock import utcnow
from tracker.db import database
from tracker.errors import Invalid
from tracker.services.tokens import create_token, revoke_token

FORGED = {
    "random trk_ value": lambda real: f"Bearer trk_{secrets.token_urlsafe(32)}",
    "wrong prefix": lambda real: "Bearer tkn_" + real.removeprefix("trk_"),
    "one character changed": lambda real: f"Bearer {real[:-1]}{'A' if real[-1] != 'A' else 'B'}",
    "truncated": lambda real: f"Bearer {real[:-1]}",
    "real token plus a suffix": lambda real: f"Bearer {real}x",
    "overlong": lambda real: f"Bearer {real}{'a' * 10_000}",
    "non-ASCII": lambda real: "Bearer trk_ключ".encode().decode("latin-1"),
    "SQL in the token": lambda real: "Bearer trk_' OR '1'='1",
    "empty Bearer": lambda real: "Bearer ",
    "real token, Basic scheme": lambda real: f"Basic {real}",
    "real token, no scheme": lambda real: real,
}


def _get(client, authorization):
    return client.get("/api/v1/services", headers={"Authorization": authorization})


def _refused(response):
    return (
        response.status_code == 401
        and response.mimetype == "application/problem+json"
        and response.headers.get("WWW-Authenticate") == "Bearer"
        and response.get_json(force=True)["status"] == 401
    )


@sqlite_only
def test_forged_tokens_are_refused_as_problems(client, tokens):
    accepted = [
        name for name, forge in FORGED.items() if not _refused(_get(client, forge(tokens["admin"])))
    ]
    assert accepted == []


def test_a_revoked_token_works_until_the_next_request(app, client, tokens):
    assert _get(client, f"Bearer {tokens['admin']}").status_code == 200
    with app.app_context(), database.connection_context():
        revoke_token(4, actor="test", now=utcnow())  # the fixture makes admin's token fourth
    assert _refused(_get(client, f"Bearer {tokens['admin']}"))
    assert _get(client, f"Bearer {tokens['viewer']}").status_code == 200


def _token(app, *, created_ago: timedelta, lasting: timedelta) -> str:
    then = utcnow() - created_ago
    with app.app_context(), database.connection_context():
        return create_token("temp", "admin", actor="test", now=then, expires_at=then + lasting)


def test_a_token_is_accepted_until_it_expires_then_refused(app, client):
    live = _token(app, created_ago=timedelta(days=1), lasting=timedelta(days=1, minutes=1))
    expired = _token(app, created_ago=timedelta(days=1), lasting=timedelta(days=1, minutes=-1))
    assert _get(client, f"Bearer {live}").status_code == 200
    assert _refused(refused := _get(client, f"Bearer {expired}"))
    assert "expired" in refused.get_json()["detail"]


@sqlite_only
def test_tokens_create_expires_in_days_and_list_shows_when(app, runner, client):
    args = ["tokens", "create", "--name", "ci", "--role", "viewer", "--expires-in", "7"]
    created = runner.invoke(main, args)
    _token(app, created_ago=timedelta(days=2), lasting=timedelta(days=1))
    assert _get(client, f"Bearer {created.output.strip()}").status_code == 200
    listed = runner.invoke(main, ["tokens", "list"]).output.splitlines()
    in_a_week = f"expires {utcnow() + timedelta(days=7):%Y-%m-%d}"
    assert [line.split("  ")[-1] for line in listed if in_a_week in line] == ["ci"]
    assert [line.split("  ")[-1] for line in listed if "expired" in line] == ["temp"]


@sqlite_only
def test_tokens_create_refuses_a_bad_lifetime_and_stores_nothing(runner):
    for days in ("0", "-1", "1.5", "nan", "soon", "99999"):
        args = ["tokens", "create", "--name", "x", "--role", "admin", "--expires-in", days]
        result = runner.invoke(main, args)
        assert (result.exit_code, "--expires-in" in result.output) == (2, True), days
    assert runner.invoke(main, ["tokens", "list"]).output == ""


@sqlite_only
def test_an_expiry_that_is_not_in_the_future_is_refused(app):
    now = utcnow()
    with app.app_context(), database.connection_context(), pytest.raises(Invalid) as refused:
        create_token("x", "admin", actor="test", now=now, expires_at=now)
    assert refused.value.errors[0].field == "expires_at"


def test_disabling_a_user_revokes_every_token_made_for_them_at_once(app, runner, client):
    runner.invoke(main, ["users", "create", "lead", "--role", "admin"], input="long enough pw\n")
    made = [
        runner.invoke(
            main, ["tokens", "create", "--name", f"bot{i}", "--role", "ingest", "--user", "lead"]
        ).output.strip()
        for i in range(2)
    ]
    other = runner.invoke(main, ["tokens", "create", "--name", "ci", "--role", "viewer"])
    assert all(_get(client, f"Bearer {raw}").status_code == 200 for raw in made)
    listed = runner.invoke(main, ["tokens", "list"]).output
    assert listed.count("(made by lead)") == 2
    disabled = runner.invoke(main, ["users", "disable", "lead"])
    assert "2 of their tokens revoked" in disabled.output
    assert all(_refused(_get(client, f"Bearer {raw}")) for raw in made)  # in this process: now
    assert _get(client, f"Bearer {other.output.strip()}").status_code == 200
    with app.app_context(), database.connection_context():
        from tracker.models import AuditRecord

        revoked = AuditRecord.select().where(AuditRecord.action == "revoke").count()
    assert revoked == 2


@sqlite_only
def test_a_token_is_made_only_for_a_user_who_may_sign_in(runner):
    runner.invoke(main, ["users", "create", "gone", "--role", "admin"], input="long enough pw\n")
    runner.invoke(main, ["users", "disable", "gone"])
    for name in ("gone", "nobody"):
        args = ["tokens", "create", "--name", "x", "--role", "admin", "--user", name]
        result = runner.invoke(main, args)
        assert result.exit_code != 0 and name in result.output
    assert runner.invoke(main, ["tokens", "list"]).output == ""
