"""Company sign-in in a real browser: Chromium goes from tracker's sign-in page through the
real OpenID provider's own login page and back, to the dashboard with the role of its groups;
someone of an unmapped group is refused; signing out signs out at the provider too."""

import json
from contextlib import contextmanager

import pytest

from tests.oidc import PEOPLE, ROLE_MAP, SECRET, client, provider
from tests.servers import environment, free_port, serving
from tests.ui.test_browser import _page, chromium, pytestmark, shot  # noqa: F401  (pytestmark)


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


@pytest.fixture(scope="module")
def company_site(tmp_path_factory):
    """`tracker serve` with company sign-in, and the provider it trusts."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with provider([client(f"{base}/login/oidc/callback", logout_uri=f"{base}/login")]) as issuer:
        env = environment(
            tmp_path_factory.mktemp("company"),
            scheduler_enabled="false",
            base_url=base,
            auth_oidc_issuer=issuer,
            auth_oidc_client_id="tracker",
            auth_oidc_client_secret=SECRET,
            auth_oidc_scopes="openid email profile groups",
            auth_oidc_role_map=json.dumps(ROLE_MAP),
        )
        with serving(env, port=port):
            yield base, issuer


def _sign_in_at_provider(page, login):
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password at all")
    page.click("button[type=submit]")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_engineer_signs_in_with_the_company_account_and_has_the_role_of_their_group(
    browser, company_site, lang
):
    base, issuer = company_site
    context, page = _page(browser, base)
    try:
        page.goto(f"/login?lang={lang}")
        shot(page, f"21-{lang}-sign-in-page")
        page.click("#company-sign-in")
        page.wait_for_url(f"{issuer}/**")
        shot(page, f"22-{lang}-provider-login")
        _sign_in_at_provider(page, "alice")
        page.wait_for_url(f"{base}/")
        role = {"zh": "管理员", "en": "admin"}[lang]
        assert f"alice · {role}" in page.inner_text(".who")
        assert page.locator("nav a[href='/notifications']").count() == 1  # an admin's link
        shot(page, f"23-{lang}-dashboard-after-company-sign-in")
        page.click("nav a[href='/access']")  # 账号与令牌: alice makes a token of her own
        page.fill("input[name=name]", f"alertmanager-{lang}")
        page.click("form[action='/access/tokens'] button.primary")
        assert page.input_value("#new-token").startswith("trk_")
        assert page.locator("table.list tr", has_text=f"alertmanager-{lang}").count() == 1
        shot(page, f"25-{lang}-people-and-tokens")
        page.click(".who button.link")  # 退出: the provider asks to confirm, then back here
        page.wait_for_url(f"{issuer}/**")
        page.click("button[autofocus], button[type=submit]")
        page.wait_for_url(f"{base}/login**")
        page.goto("/")
        page.wait_for_url(f"{base}/login**")
    finally:
        context.close()


@contextmanager
def _signing_in_from(browser, base, path, login):
    """A fresh browser that asks for `path`, is sent to sign in, and signs in as `login`
    at the provider."""
    context, page = _page(browser, base)
    try:
        page.goto(path)
        page.wait_for_url(f"{base}/login?next=**")
        page.click("#company-sign-in")
        _sign_in_at_provider(page, login)
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_someone_of_an_unmapped_group_is_refused_and_shown_why(browser, company_site, lang):
    base, _ = company_site
    with _signing_in_from(browser, base, f"/incidents?lang={lang}", "mallory") as page:
        page.wait_for_url(f"{base}/login/oidc/callback**")
        why = {"zh": "不在任何可使用本系统的组里", "en": "in no group that may use tracker"}
        assert why[lang] in page.inner_text("[role=alert]")
        assert "marketing" in PEOPLE["mallory"]["groups"]
        shot(page, f"24-{lang}-company-sign-in-refused")
        page.goto("/")
        page.wait_for_url(f"{base}/login**")


def test_a_responder_lands_on_the_page_they_asked_for(browser, company_site):
    base, _ = company_site
    with _signing_in_from(browser, base, "/incidents", "bob") as page:
        page.wait_for_url(f"{base}/incidents")
        assert "bob · 值班" in page.inner_text(".who")
