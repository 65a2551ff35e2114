"""Signed-in browsers (Flask test clients) per role."""

import re
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

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
        data = MultiDict(data)
        if csrf:
            data.setdefault(
                "csrf_token", self.token or csrf_from(self.get("/login").get_data(as_text=True))
            )
        return self.client.post(path, data=data)

    def edit(self, path, changes, form_id="incident-form"):
        """Open the page, change some fields of its form as a person would, save it."""
        page = self.get(path).get_data(as_text=True)
        return self.post(path, edited(page, changes, form_id))

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


class _FormReader(HTMLParser):
    """The fields one form of a page would post, as a browser would: inputs with their
    values (ticked boxes only), selected options, textareas."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.fields, self.in_template = form_id, False, [], False
        self._select = self._textarea = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        self.in_template = self.in_template or tag == "template"
        if not self.inside or self.in_template:  # a <template>'s fields are never posted
            return
        if tag == "option" and self._select is not None:
            self._options.append((attrs.get("value", ""), "selected" in attrs))
        if "name" not in attrs:
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            value = attrs.get("value", "on" if kind == "checkbox" else "")
            self.fields.append((attrs["name"], value))
        elif tag == "select":
            self._select, self._options = attrs["name"], []
        elif tag == "textarea":
            self._textarea = [attrs["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template = False
        elif tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, on in self._options if on] or [v for v, _ in self._options[:1]]
            self.fields += [(self._select, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append(tuple(self._textarea))
            self._textarea = None


def form_fields(html: str, form_id: str = "incident-form") -> list[tuple[str, str]]:
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.fields


def edited(html: str, changes: dict, form_id: str = "incident-form") -> MultiDict:
    """What a browser posts after the person changed `changes` (a name → value, a list of
    values, or None to untick) on the form as the page shows it."""
    fields = MultiDict(form_fields(html, form_id))
    for name, value in changes.items():
        fields.poplist(name)
        for one in value if isinstance(value, list) else [] if value is None else [value]:
            fields.add(name, one)
    return fields
