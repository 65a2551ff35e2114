"""Signed-in browsers (Flask test clients) per role."""

import re

import pytest

from tracker.clock import utcnow
from tracker.db import database
from tracker.services.users import create_user

PASSWORD = "correct horse battery"


def csrf_from(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


class Browser:
    """A test client that signs in, and posts forms with their CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, path, **kwargs):
        response = self.client.get(path, **kwargs)
        if response.mimetype == "text/html":
            found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
            self.token = found[1] if found else self.token
        return response

    def post(self, path, data, csrf=True):
        data = dict(data)
        if csrf:
            data.setdefault(
                "csrf_token", self.token or csrf_from(self.get("/login").get_data(as_text=True))
            )
        return self.client.post(path, data=data)

    def sign_in(self, name, password=PASSWORD):
        self.get("/login")
        response = self.post("/login", {"name": name, "password": password})
        self.get("/login")  # a new session, a new CSRF token
        return response


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """argon2 with its cheapest parameters: the same code path, a hundredth of the time."""
    from argon2 import PasswordHasher

    from tracker.services import users

    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def users(app):
    with app.app_context(), database.connection_context():
        for role in ("viewer", "ingest", "responder", "admin"):
            create_user(role, role, PASSWORD, actor="test", now=utcnow())
    return PASSWORD


@pytest.fixture
def browser(app, users):
    return Browser(app.test_client())


@pytest.fixture
def responder(browser):
    assert browser.sign_in("responder").status_code == 302
    return browser
