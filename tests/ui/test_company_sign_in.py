"""Company sign-in through an OpenID provider (DESIGN §14), over HTTP as a browser would go:
against a hostile provider that signs whatever ID token a test asks for (every forged or
replayed answer is refused, logged, and leaves nobody signed in), and against the real
`oidc-provider` with its own login page."""

import logging
import time
import urllib.parse

import pytest
import requests

from tests.hostile.conftest import sqlite_only
from tests.oidc import (
    PEOPLE,
    ROLE_MAP,
    SECRET,
    Forger,
    client,
    path_of,
    provider,
    sign_in_at_provider,
)
from tests.ui.conftest import PASSWORD
from tracker.app import create_app
from tracker.clock import utcnow
from tracker.core.texts import term
from tracker.db import database
from tracker.models import AuditRecord, User
from tracker.services.users import create_user
from tracker.settings import load_settings

CALLBACK = "http://localhost/login/oidc/callback"


def oidc_settings(issuer, **more):
    oidc = {
        "issuer": issuer,
        "client_id": "tracker",
        "client_secret": SECRET,
        "scopes": "openid email profile groups",
        "role_map": ROLE_MAP,
    }
    return {"auth": {"oidc": oidc | more}}


@pytest.fixture
def app_of(database_url, tmp_path):
    """Apps of other settings on the test's database."""
    made = []

    def make(overrides):
        settings = load_settings(
            environ={},
            overrides={"database_url": database_url, "data_dir": str(tmp_path), **overrides},
        )
        made.append(create_app(settings))
        made[-1].config["TESTING"] = True
        return made[-1]

    yield make
    for app in made:
        app.extensions["tracker.db"].close_all() if hasattr(
            app.extensions["tracker.db"], "close_all"
        ) else app.extensions["tracker.db"].close()


@pytest.fixture
def forger():
    with Forger() as running:
        yield running


@pytest.fixture
def settings_overrides(forger):
    return oidc_settings(forger.issuer)


def company_sign_in(client_, forger=None, *, then=None):
    """Start a sign-in, let the provider answer, and hand its answer to tracker (changed by
    `then`, a function of the callback URL, when a test tampers with it)."""
    start = client_.get("/login/oidc")
    assert start.status_code == 302, start.get_data(as_text=True)
    back = requests.get(start.location, allow_redirects=False, timeout=10).headers["Location"]
    return client_.get(path_of(then(back) if then else back))


def signed_in_as(client_):
    """The name the navigation shows, or None when the page is the sign-in page."""
    answer = client_.get("/")
    if answer.status_code != 200:
        return None
    page = answer.get_data(as_text=True)
    start = page.find('<div class="who">')
    return page[start : page.find("</div>", start)] if start >= 0 else None


def users(app):
    with app.app_context(), database.connection_context():
        return {u.name: u for u in User.select()}


def test_a_genuine_token_signs_in_with_the_highest_mapped_role(app, client, forger):
    answer = company_sign_in(client, forger)
    assert answer.status_code == 302 and answer.location == "/"
    assert "alice · 管理员" in signed_in_as(client)  # sre-leads → admin beats payments-oncall
    alice = users(app)["alice"]
    assert (alice.source, alice.role, alice.email) == ("oidc", "admin", "alice@example.com")
    assert (alice.issuer, alice.subject, alice.password_hash) == (forger.issuer, "forged-alice", "")
    with app.app_context(), database.connection_context():
        created = AuditRecord.get(AuditRecord.entity == "user")
    assert (created.action, created.actor, created.entity_id) == ("create", "alice", "alice")


@sqlite_only
def test_the_page_returned_to_is_the_one_asked_for(client, forger):
    client.get("/login/oidc?next=/incidents%3Fstatus%3Dopen")
    back = company_sign_in(client, forger)  # a new start forgets the one before
    assert back.location == "/"
    start = client.get("/login/oidc?next=/incidents")
    answer = requests.get(start.location, allow_redirects=False, timeout=10)
    assert client.get(path_of(answer.headers["Location"])).location == "/incidents"
    start = client.get("/login/oidc?next=//evil.example/")
    answer = requests.get(start.location, allow_redirects=False, timeout=10)
    assert client.get(path_of(answer.headers["Location"])).location == "/"


FORGED = {
    "signed by another key": ({}, "other key"),
    "for another audience": ({"aud": "another-client"}, None),
    "expired": ({"exp": int(time.time()) - 600, "iat": int(time.time()) - 900}, None),
    "issued in the future": ({"iat": int(time.time()) + 900}, None),
    "with another nonce": ({"nonce": "not-the-one-sent"}, None),
    "without a nonce": ({"nonce": None}, None),
    "from another issuer": ({"iss": "https://idp.example.com"}, None),
    "without a subject": ({"sub": None}, None),
    "unsigned (alg none)": ({}, "none"),
}


@sqlite_only
@pytest.mark.parametrize("forgery", FORGED, ids=list(FORGED))
def test_a_forged_id_token_is_refused_and_logged(app, client, forger, forgery, caplog):
    claims, how = FORGED[forgery]
    forger.forge = claims
    if how == "other key":
        forger.sign_with = forger.other_key()
    if how == "none":
        forger.alg = "none"
    caplog.set_level(logging.WARNING, logger="tracker.signin")
    answer = company_sign_in(client, forger)
    assert answer.status_code == 401
    assert "身份凭证未通过校验" in answer.get_data(as_text=True)
    assert "sign-in refused (id_token)" in caplog.text
    assert signed_in_as(client) is None
    assert users(app) == {}


@sqlite_only
def test_clock_skew_within_the_bound_is_tolerated(app, client, forger):
    now = int(time.time())
    forger.forge = {"iat": now + 40, "exp": now - 40}  # the bound is 60 s
    assert company_sign_in(client, forger).status_code == 302
    assert "alice" in users(app)


@sqlite_only
def test_a_wrong_state_is_refused(app, client, forger, caplog):
    caplog.set_level(logging.WARNING, logger="tracker.signin")

    def other_state(url):
        return url.replace("state=", "state=x")

    answer = company_sign_in(client, forger, then=other_state)
    assert answer.status_code == 401 and "登录请求已失效" in answer.get_data(as_text=True)
    assert "sign-in refused (state)" in caplog.text
    assert signed_in_as(client) is None and users(app) == {}


@sqlite_only
def test_an_answer_started_in_another_browser_is_refused(app, forger):
    """Login CSRF: an attacker's own answer handed to a victim's browser signs nobody in."""
    attacker, victim = app.test_client(), app.test_client()
    start = attacker.get("/login/oidc")
    back = requests.get(start.location, allow_redirects=False, timeout=10).headers["Location"]
    victim.get("/login/oidc")
    assert victim.get(path_of(back)).status_code == 401
    assert signed_in_as(victim) is None and users(app) == {}


def test_a_replayed_answer_and_a_reused_code_are_refused(app, client, forger, caplog):
    caplog.set_level(logging.WARNING, logger="tracker.signin")
    start = client.get("/login/oidc")
    back = requests.get(start.location, allow_redirects=False, timeout=10).headers["Location"]
    assert client.get(path_of(back)).status_code == 302
    other = app.test_client()
    assert other.get(path_of(back)).status_code == 401  # the same answer again: its state is gone
    fresh = other.get("/login/oidc")
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(fresh.location).query)["state"][0]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(back).query)["code"][0]
    reused = other.get(f"/login/oidc/callback?code={code}&state={state}")
    assert reused.status_code == 401 and "sign-in refused (provider)" in caplog.text
    assert signed_in_as(other) is None


@sqlite_only
def test_an_answer_naming_another_issuer_is_refused(app, client, forger):
    answer = company_sign_in(client, forger, then=lambda url: url + "&iss=https%3A%2F%2Fevil")
    assert answer.status_code == 401 and users(app) == {}


def test_a_person_in_no_mapped_group_is_refused_and_nothing_is_created(app, client, forger):
    forger.login = "mallory"
    answer = company_sign_in(client, forger)
    assert answer.status_code == 403
    assert "不在任何可使用本系统的组里" in answer.get_data(as_text=True)
    assert users(app) == {} and signed_in_as(client) is None


@sqlite_only
def test_a_default_role_lets_everyone_else_in(app_of, forger):
    app = app_of(oidc_settings(forger.issuer, default_role="viewer"))
    forger.login = "mallory"
    browser = app.test_client()
    assert company_sign_in(browser, forger).status_code == 302
    assert f"mallory · {term('role', 'viewer', 'zh')}" in signed_in_as(browser)


def test_leaving_a_group_demotes_at_the_next_sign_in(app, client, forger):
    company_sign_in(client, forger)
    before = client.get_cookie("session").value
    forger.groups["alice"] = ["finance"]
    company_sign_in(app.test_client(), forger)
    alice = users(app)["alice"]
    assert alice.role == "viewer"
    with app.app_context(), database.connection_context():
        change = AuditRecord.get(AuditRecord.action == "update")
    assert (change.actor, change.before, change.after) == (
        "oidc",
        {"role": "admin"},
        {"role": "viewer"},
    )
    stale = app.test_client()
    stale.set_cookie("session", before)
    assert signed_in_as(stale) is None  # the admin session of before ended with the role


def test_leaving_every_group_refuses_and_ends_the_sessions(app, client, forger):
    company_sign_in(client, forger)
    assert signed_in_as(client)
    forger.groups["alice"] = []
    assert company_sign_in(app.test_client(), forger).status_code == 403
    assert signed_in_as(client) is None
    assert users(app)["alice"].disabled_at is None  # back when a group is given back
    forger.groups["alice"] = ["payments-oncall"]
    assert company_sign_in(client, forger).status_code == 302
    assert "alice · 值班" in signed_in_as(client)


def test_a_disabled_user_stays_out(app, client, forger, runner):
    from tracker.cli import main

    company_sign_in(client, forger)
    assert runner.invoke(main, ["users", "disable", "alice"]).exit_code == 0
    assert signed_in_as(client) is None
    answer = company_sign_in(client, forger)
    assert answer.status_code == 403 and "已停用" in answer.get_data(as_text=True)


def test_a_local_name_is_taken_over_only_after_an_admin_hands_it_over(app, client, forger, runner):
    from tracker.cli import main
    from tracker.services import users as user_service

    with app.app_context(), database.connection_context():
        local = create_user("alice", "responder", PASSWORD, actor="test", now=utcnow())
    answer = company_sign_in(client, forger)
    assert answer.status_code == 403 and "本地账号" in answer.get_data(as_text=True)
    handed = runner.invoke(main, ["users", "hand-over", "alice"])
    assert handed.exit_code == 0, handed.output
    assert company_sign_in(client, forger).status_code == 302
    alice = users(app)["alice"]
    assert (alice.id, alice.source, alice.role, alice.subject) == (
        local.id,
        "oidc",
        "admin",
        "forged-alice",
    )
    with app.app_context(), database.connection_context():
        assert user_service.sign_in("alice", PASSWORD, address="t", now=utcnow()) is None


@sqlite_only
def test_a_provider_that_is_down_leaves_the_sign_in_page_with_a_clear_message(app, forger):
    forger.close()
    answer = app.test_client().get("/login/oidc")
    assert answer.status_code == 503
    assert "暂时连不上企业账号服务" in answer.get_data(as_text=True)


@sqlite_only
def test_a_discovery_document_of_another_issuer_is_not_believed(app, client, forger):
    forger.metadata = lambda: {**Forger.metadata(forger), "issuer": "https://idp.example.com"}
    assert client.get("/login/oidc").status_code == 503
    assert users(app) == {}


@sqlite_only
def test_the_sign_in_page_offers_both_ways_in_both_languages(client):
    zh = client.get("/login").get_data(as_text=True)
    assert "企业账号登录" in zh and "或使用本地账号" in zh and 'name="password"' in zh
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in with the company account" in en


# ---- against the real oidc-provider ------------------------------------------------------------


@pytest.fixture
def real_provider():
    with provider([client(CALLBACK)]) as issuer:
        yield issuer


def test_the_real_provider_signs_bob_in_with_the_groups_of_its_userinfo(app_of, real_provider):
    app = app_of(oidc_settings(real_provider))
    browser = app.test_client()
    start = browser.get("/login/oidc")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(start.location).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = sign_in_at_provider(start.location, "bob", CALLBACK)
    assert browser.get(path_of(back)).location == "/"
    assert "bob · 值班" in signed_in_as(browser)  # payments-oncall → responder
    assert browser.get(path_of(back)).status_code == 401  # the same answer twice: refused
    bob = users(app)["bob"]
    assert (bob.issuer, bob.subject) == (real_provider, "bob")


def test_the_real_provider_refuses_a_code_used_once(app_of, real_provider, caplog):
    caplog.set_level(logging.WARNING, logger="tracker.signin")
    app = app_of(oidc_settings(real_provider))
    first, second = app.test_client(), app.test_client()
    back = sign_in_at_provider(first.get("/login/oidc").location, "carol", CALLBACK)
    assert first.get(path_of(back)).status_code == 302
    fresh = second.get("/login/oidc")
    state = urllib.parse.parse_qs(urllib.parse.urlsplit(fresh.location).query)["state"][0]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(back).query)["code"][0]
    assert second.get(f"/login/oidc/callback?code={code}&state={state}").status_code == 401
    assert "sign-in refused (provider): invalid_grant" in caplog.text
    assert signed_in_as(second) is None


def test_signing_out_signs_out_at_the_real_provider_too(app_of, real_provider):
    app = app_of(oidc_settings(real_provider))
    browser = app.test_client()
    back = sign_in_at_provider(browser.get("/login/oidc").location, "alice", CALLBACK)
    browser.get(path_of(back))
    page = browser.get("/").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    out = browser.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302 and out.location.startswith(f"{real_provider}/session/end")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(out.location).query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/login"]
    assert query["id_token_hint"] and query["client_id"] == ["tracker"]
    assert signed_in_as(browser) is None
    shown = requests.get(out.location, timeout=10)
    assert shown.status_code == 200 and "logout" in shown.text.lower()
    assert PEOPLE["alice"]["groups"]


@sqlite_only
def test_a_huge_id_token_is_not_kept_in_the_session_cookie(app, forger):
    """Entra ID lists every group in the ID token: kept in the session it would make the
    cookie too big for browsers, which then drop it."""
    forger.forge = {"groups": ["sre-leads", *(f"group-{i:04}-{'x' * 30}" for i in range(200))]}
    browser = app.test_client()
    assert company_sign_in(browser, forger).status_code == 302
    assert len(browser.get_cookie("session").value) < 4096
    assert signed_in_as(browser)
