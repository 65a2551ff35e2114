"""Sign-in by a proxy's header (DESIGN §14): believed only from `trusted_proxies`; the header
from anywhere else is refused outright and logged, whatever else the request says."""

import logging

import pytest

from tests.ui.test_company_sign_in import signed_in_as, users

TRUSTED = {"REMOTE_ADDR": "10.1.2.3"}
OUTSIDER = {"REMOTE_ADDR": "192.0.2.7"}


@pytest.fixture
def settings_overrides():
    return {
        "server": {"trusted_proxy_hops": 1},
        "auth": {
            "proxy": {
                "header": "X-Forwarded-User",
                "groups_header": "X-Forwarded-Groups",
                "trusted_proxies": ["10.0.0.0/8"],
                "role_map": {"payments-oncall": "responder", "sre-leads": "admin"},
            }
        },
    }


def as_proxy(client, name, groups="payments-oncall", peer=TRUSTED):
    client.environ_base.update(peer)
    headers = {"X-Forwarded-User": name, "X-Forwarded-Groups": groups}
    return client.get("/", headers=headers)


def test_a_trusted_proxy_signs_people_in_with_the_role_of_their_groups(app, client):
    answer = as_proxy(client, "zhang.wei@example.com", "payments-oncall, sre-leads")
    assert answer.status_code == 200
    assert "zhang.wei@example.com · 管理员" in answer.get_data(as_text=True)
    user = users(app)["zhang.wei@example.com"]
    assert (user.source, user.role, user.issuer) == ("proxy", "admin", "proxy")


def test_a_new_group_list_changes_the_role_on_the_next_request(app, client):
    as_proxy(client, "li.na", "sre-leads")
    assert "li.na · 值班" in as_proxy(client, "li.na", "payments-oncall").get_data(as_text=True)
    assert users(app)["li.na"].role == "responder"
    refused = as_proxy(client, "li.na", "marketing")
    assert refused.status_code == 403 and "不在任何可使用本系统的组里" in refused.get_data(
        as_text=True
    )


@pytest.mark.parametrize("path", ["/", "/login", "/api/v1/incidents", "/metrics"])
def test_the_header_from_an_untrusted_address_is_refused_and_logged(app, client, path, caplog):
    caplog.set_level(logging.WARNING, logger="tracker.signin")
    client.environ_base.update(OUTSIDER)
    # X-Forwarded-For names a trusted address: it is the peer that counts, not what it says
    headers = {"X-Forwarded-User": "admin", "X-Forwarded-For": "10.1.2.3"}
    answer = client.get(path, headers=headers)
    assert answer.status_code == 403
    assert "sign-in refused (untrusted): a X-Forwarded-User header from 192.0.2.7" in caplog.text
    assert users(app) == {}


def test_an_untrusted_header_is_refused_even_beside_a_valid_session(app, client):
    as_proxy(client, "li.na")
    client.environ_base.update(OUTSIDER)
    answer = client.get("/", headers={"X-Forwarded-User": "someone.else"})
    assert answer.status_code == 403
    assert set(users(app)) == {"li.na"}


def test_without_the_header_a_request_from_outside_is_only_a_stranger(client):
    client.environ_base.update(OUTSIDER)
    assert client.get("/").status_code == 302  # to the sign-in page
    assert signed_in_as(client) is None


def test_another_name_from_the_proxy_is_another_person(app, client):
    as_proxy(client, "li.na")
    page = as_proxy(client, "wang.fang").get_data(as_text=True)
    assert "wang.fang · 值班" in page and "li.na" not in page


@pytest.mark.parametrize("name", ["two words", "a/b", "x" * 255, "tab\there"])
def test_a_header_that_names_nobody_usable_is_refused(app, client, name):
    answer = as_proxy(client, name)
    assert answer.status_code == 401 and users(app) == {}
