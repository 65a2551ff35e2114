"""账号与令牌: an admin sees who may sign in and how, disables someone at once (sessions end,
their tokens are revoked) and makes API tokens recorded as theirs."""

import re

from tests.ui.conftest import PASSWORD, Browser
from tracker.clock import utcnow
from tracker.db import database
from tracker.models import ApiToken
from tracker.services.users import create_user


def _admin(app, users):
    browser = Browser(app.test_client())
    assert browser.sign_in("admin").status_code == 302
    return browser


def test_an_admin_makes_a_token_shown_once_and_recorded_as_theirs(app, users, client):
    admin = _admin(app, users)
    made = admin.post("/access/tokens", {"name": "alertmanager", "role": "ingest"})
    page = made.get_data(as_text=True)
    assert made.status_code == 201 and "令牌只显示这一次" in page
    raw = re.search(r'id="new-token" readonly value="(trk_[^"]+)"', page)[1]
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/services", headers=headers).status_code == 200
    with app.app_context(), database.connection_context():
        token = ApiToken.get(ApiToken.name == "alertmanager")
        assert token.created_by.name == "admin" and token.role == "ingest"
    again = admin.get("/access").get_data(as_text=True)
    assert raw not in again and "alertmanager" in again


def test_a_bad_token_form_names_the_field_and_makes_nothing(app, users):
    admin = _admin(app, users)
    for data, field in (
        ({"name": "", "role": "admin"}, "name"),
        ({"name": "x", "role": "root"}, "role"),
        ({"name": "x", "role": "admin", "expires_in_days": "0"}, "expires_in_days"),
        ({"name": "x", "role": "admin", "expires_in_days": "soon"}, "expires_in_days"),
    ):
        answer = admin.post("/access/tokens", data)
        assert answer.status_code == 422, field
    with app.app_context(), database.connection_context():
        assert ApiToken.select().count() == 0


def test_disabling_someone_here_ends_their_sessions_and_revokes_their_tokens(app, users, client):
    lead = Browser(app.test_client())
    lead.sign_in("admin")
    made = lead.post("/access/tokens", {"name": "lead-bot", "role": "admin"})
    raw = re.search(r'value="(trk_[^"]+)"', made.get_data(as_text=True))[1]
    other = _admin(app, users)  # a second session of the same admin
    with app.app_context(), database.connection_context():
        create_user("second", "admin", PASSWORD, actor="test", now=utcnow())
    second = Browser(app.test_client())
    second.sign_in("second")
    answer = second.post("/access/people/admin/disable", {})
    assert answer.status_code == 302
    assert "已停用 admin" in second.get("/access").get_data(as_text=True)
    assert lead.get("/").status_code == 302 and other.get("/").status_code == 302
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/services", headers=headers).status_code == 401


def test_the_page_reads_in_both_languages(app, users):
    admin = _admin(app, users)
    zh = admin.get("/access").get_data(as_text=True)
    assert "账号与令牌" in zh and "本地账号" in zh and "新建令牌" in zh
    en = admin.get("/access?lang=en").get_data(as_text=True)
    assert "People &amp; tokens" in en and "New token" in en
