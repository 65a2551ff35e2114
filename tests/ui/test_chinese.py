"""Chinese means Chinese: every page in `lang=zh`, filled with records that use every value of
the vocabulary, shows none of them in English (nor Python's `None`, `True`, or a stored UTC
time)."""

import re
from html.parser import HTMLParser

import pytest

from tests.factories import incident_body, service_body
from tracker.clock import utcnow
from tracker.core.vocabulary import (
    DETECTION_SOURCES,
    REGULATORY_LEVELS,
    ROLES,
    ROOT_CAUSES,
    STATUSES,
)
from tracker.db import database
from tracker.services.users import create_user

# Words a page must never show in Chinese: the vocabulary's stored values, and Python's.
ENGLISH = {
    *STATUSES,
    *ROOT_CAUSES,
    *DETECTION_SOURCES,
    *REGULATORY_LEVELS,
    *ROLES,
    "ungraded",
    "internal",
    "external",
    "None",
    "True",
    "False",
    "no data",
    "min",
}
STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?Z")


class _Visible(HTMLParser):
    """The text a person sees: no tags, attributes, scripts, styles or templates."""

    def __init__(self):
        super().__init__()
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style", "template", "datalist")

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style", "template", "datalist")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible(html):
    reader = _Visible()
    reader.feed(html)
    return " ".join(" ".join(reader.parts).split())


def english_in(html):
    """English words of the vocabulary shown on a page, and stored times."""
    seen = visible(html)
    words = {w for w in ENGLISH if re.search(rf"(?<![\w/-]){re.escape(w)}(?![\w/-])", seen)}
    return words | set(STORED_TIME.findall(seen) and ["a stored UTC time"])


@pytest.fixture
def records(api, gateway):
    """Incidents in every status, root cause, detection source and regulatory level, edited
    (so their audit trails hold every kind of value), and a maintenance window."""
    api.post("/services", service_body("ledger", tier=3))
    ids = []
    for k, status in enumerate(("open", "mitigated", "resolved", "closed", "cancelled")):
        body = incident_body(
            title=f"事件{k}",
            status=status,
            resolved_at="2024-07-23T11:00:00+08:00",
            root_cause=ROOT_CAUSES[k],
            detection_source=DETECTION_SOURCES[k],
            regulatory_level=REGULATORY_LEVELS[k],
            responsibility=[{"party": "银商", "share": 0.5, "internal": False}],
        )
        ids.append(api.post("/incidents", body).get_json()["id"])
    api.patch(
        f"/incidents/{ids[0]}",
        {
            "grade": "none",
            "root_cause": "code_defect",
            "counts_toward_availability": False,
            "acknowledged_at": "2024-07-23T10:04:30+08:00",
            "responsibility": [{"party": "payments", "share": 1}],
        },
    )
    api.patch(f"/incidents/{ids[1]}", {"grade": "C", "status": "resolved"})
    window = {
        "services": ["gateway"],
        "starts_at": "2024-07-20T02:00:00+08:00",
        "ends_at": "2024-07-20T04:00:00+08:00",
        "announced_at": "2024-07-18T10:00:00+08:00",
        "reason": "数据库升级",
    }
    api.post("/maintenance-windows", window)
    api.post("/rollups", None)
    return ids


@pytest.fixture
def zhang(app, users):
    """An admin whose name is no English word (the suite's users are named for their roles)."""
    with app.app_context(), database.connection_context():
        create_user("zhangsan", "admin", users, actor="test", now=utcnow())
    return "zhangsan"


def test_no_page_in_chinese_shows_an_english_value(browser, records, zhang):
    browser.sign_in(zhang)
    pages = [
        "/",
        "/incidents",
        "/incidents?status=cancelled",
        "/incidents/new",
        *(f"/incidents/{i}" for i in records),
        "/report?week=2024-W30",
        "/report?week=2024-W30&detail=summary",
        "/services",
        "/services/gateway",
        "/maintenance",
        "/maintenance/1",
        "/incidents/999",
    ]
    shown = {path: english_in(browser.get(path).get_data(as_text=True)) for path in pages}
    assert {path: words for path, words in shown.items() if words} == {}


def test_the_error_pages_and_the_sign_in_throttle_speak_chinese(browser, records):
    browser.sign_in("viewer")
    forbidden = browser.get("/incidents/new")
    missing = browser.get("/incidents/999")
    for _ in range(5):
        browser.sign_in("nobody-1", "wrong password")
    throttled = browser.sign_in("nobody-1", "wrong password")
    assert (forbidden.status_code, missing.status_code, throttled.status_code) == (403, 404, 429)
    assert "无权限" in visible(forbidden.get_data(as_text=True))
    assert "没有这个页面或记录" in visible(missing.get_data(as_text=True))
    assert "登录失败次数过多，请15分钟后再试" in visible(throttled.get_data(as_text=True))


def test_the_english_pages_speak_english(browser, records, zhang):
    browser.sign_in(zhang)
    page = visible(browser.get(f"/incidents/{records[0]}?lang=en").get_data(as_text=True))
    assert "Status: open" in page and "Grade : ungraded → not an incident" in page
