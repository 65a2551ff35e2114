"""Sign-in: one person's typos never lock out another, and a session ends when it should
(signing out, a disabled user, a new role or password, hours idle), a copied cookie too."""

import pytest
from argon2 import PasswordHasher

from tests.ui.conftest import PASSWORD, Browser
from tracker.cli import main
from tracker.clock import utcnow
from tracker.db import database
from tracker.models import LoginAttempt, User
from tracker.services import users as user_service


def _copied(app, browser):
    """Another browser holding a copy of `browser`'s session cookie."""
    thief = Browser(app.test_client())
    cookie = browser.client.get_cookie("session")
    thief.client.set_cookie("session", cookie.value)
    return thief


def test_one_persons_typos_never_lock_out_another_behind_the_same_address(browser):
    for _ in range(5):
        browser.sign_in("made-up-name", "wrong password")
    assert browser.sign_in("made-up-name", "wrong password").status_code == 429
    assert browser.sign_in("responder").status_code == 302


def test_a_name_locks_after_five_failures_from_any_address(app, users):
    def from_address(address):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return Browser(client)

    for k in range(5):
        from_address(f"10.0.0.{k}").sign_in("responder", "wrong password")
    assert from_address("10.0.0.99").sign_in("responder").status_code == 429


def test_an_address_locks_only_after_many_failures(browser):
    for k in range(user_service.ADDRESS_FAILURES):
        browser.sign_in(f"guess-{k}", "wrong password")
    assert browser.sign_in("responder").status_code == 429


def test_a_success_forgives_the_typos_before_it(browser):
    for _ in range(4):
        browser.sign_in("responder", "typo")
    browser.sign_in("responder")
    for _ in range(4):
        browser.sign_in("responder", "typo")
    assert browser.sign_in("responder").status_code == 302


@pytest.mark.parametrize("settings_overrides", [{"server": {"trusted_proxy_hops": 1}}])
def test_behind_a_trusted_proxy_the_address_is_the_clients(browser, app):
    browser.client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    browser.sign_in("responder", "wrong password")
    with app.app_context(), database.connection_context():
        assert [a.address for a in LoginAttempt.select()] == ["203.0.113.7"]


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(browser, app):
    browser.client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    browser.sign_in("responder", "wrong password")
    with app.app_context(), database.connection_context():
        assert [a.address for a in LoginAttempt.select()] == ["127.0.0.1"]


def test_users_unlock_lets_a_locked_out_person_in_at_once(browser, runner):
    for _ in range(5):
        browser.sign_in("responder", "typo")
    result = runner.invoke(main, ["users", "unlock", "responder"])
    assert result.exit_code == 0 and "5 failed sign-ins cleared" in result.output
    assert browser.sign_in("responder").status_code == 302


def test_an_unknown_name_is_checked_against_a_hash_like_a_known_one(browser, monkeypatch):
    checked = []

    class Counting(PasswordHasher):
        def verify(self, hash, password):
            checked.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(user_service, "HASHER", Counting(time_cost=1, memory_cost=8, parallelism=1))
    browser.sign_in("nobody-at-all", "wrong password")
    browser.sign_in("responder", "wrong password")
    assert len(checked) == 2 and all(h.startswith("$argon2") for h in checked)


def test_a_copied_cookie_stops_working_after_sign_out(app, responder):
    thief = _copied(app, responder)
    assert thief.get("/incidents").status_code == 200
    responder.post("/logout", {})
    assert thief.get("/incidents").status_code == 302


@pytest.mark.parametrize("change", ["disable", "set-role", "reset-password"])
def test_disabling_or_a_new_role_or_password_ends_every_session(app, responder, runner, change):
    args = {
        "disable": ["users", "disable", "responder"],
        "set-role": ["users", "set-role", "responder", "viewer"],
        "reset-password": ["users", "reset-password", "responder"],
    }[change]
    result = runner.invoke(main, args, input="a new long password\n")
    assert result.exit_code == 0, result.output
    assert responder.get("/incidents").status_code == 302


def test_a_session_idle_longer_than_session_hours_ends(app, responder):
    with responder.client.session_transaction() as session:
        session["seen"] -= 13 * 3600
    assert responder.get("/incidents").status_code == 302


def test_user_ids_are_never_reused_and_an_old_cookie_names_no_one_new(app, browser, backend):
    browser.sign_in("admin")
    with app.app_context(), database.connection_context():
        gone = User.get(User.name == "admin")
        User.delete().where(User.id == gone.id).execute()  # as by hand, in the database
        newcomer = user_service.create_user(
            "newcomer", "admin", PASSWORD, actor="test", now=utcnow()
        )
    assert newcomer.id != gone.id
    assert browser.get("/incidents").status_code == 302
