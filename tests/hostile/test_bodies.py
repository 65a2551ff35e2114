"""Hostile bodies and URIs: too big, too deep, too long, odd unicode. Each gets a clear
problem (or is stored exactly as sent), never a 500, never half-written data."""

import json
import urllib.error
import urllib.request

from tests.factories import incident_body, stored_counts
from tests.hostile.conftest import sqlite_only
from tests.servers import admin_token, environment, serving

WRITES = ("/services", "/incidents", "/incidents/1/timeline", "/maintenance-windows")


def _post(client, token, path, data):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return client.post(f"/api/v1{path}", data=data, headers=headers)


def _problem(response, status):
    body = response.get_json(force=True)
    return (response.status_code, response.mimetype, body["status"]) == (
        status,
        "application/problem+json",
        status,
    )


@sqlite_only
def test_an_oversized_body_is_a_413_problem_on_every_write(app, client, tokens, incident):
    before = stored_counts(app)
    big = json.dumps({"title": "x" * 5_000_000}).encode()  # over max_body_bytes (4 MiB)
    refused = [p for p in WRITES if _problem(_post(client, tokens["admin"], p, big), 413)]
    assert refused == list(WRITES)
    assert stored_counts(app) == before


@sqlite_only
def test_json_nested_100k_deep_is_a_400_problem(app, client, tokens, incident):
    before = stored_counts(app)
    bodies = [b"[" * 100_000, b'{"a":' * 100_000, b'{"counts": ' + b"[" * 100_000]
    answers = {_problem(_post(client, tokens["admin"], p, b), 400) for p in WRITES for b in bodies}
    assert answers == {True}
    assert stored_counts(app) == before


def test_a_title_at_the_limit_is_stored_and_one_over_is_a_422(api, gateway):
    at_limit = "标" * 199 + "😀"  # 200 characters, 4 bytes the last
    assert api.post("/incidents", incident_body(title=at_limit)).get_json()["title"] == at_limit
    over = api.post("/incidents", incident_body(title=at_limit + "x"))
    assert _problem(over, 422) and over.get_json()["errors"][0]["field"] == "title"


UNICODE = {
    "emoji with joiners": "👩‍👩‍👧‍👦 支付失败 🔥",
    "right to left": "תקלה בתשלום \u202eevil\u202c عطل",
    "combining marks": "Z\u0351\u0344a\u0310\u0356l\u0358g\u0314o\u0350 e\u0301",
    "astral plane": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱",
    "zero width": "a\u200bb\ufeffc",
}


def test_unicode_titles_are_stored_verbatim(api, gateway):
    ids = [
        api.post("/incidents", incident_body(title=t)).get_json()["id"] for t in UNICODE.values()
    ]
    stored = [api.get(f"/incidents/{i}").get_json()["title"] for i in ids]
    assert stored == list(UNICODE.values())


def test_a_nul_character_is_refused_naming_the_field_on_every_backend(app, api, gateway):
    before = stored_counts(app)
    refused = api.post("/incidents", incident_body(title="a\x00b"))
    assert _problem(refused, 422) and refused.get_json()["errors"][0]["field"] == "title"
    assert _problem(api.get("/incidents", q="\x00"), 422)
    assert stored_counts(app) == before


@sqlite_only
def test_an_overlong_uri_is_a_414_problem_in_process(client, tokens):
    response = client.get(
        "/api/v1/incidents",
        query_string={"q": "x" * 9000},
        headers={"Authorization": f"Bearer {tokens['viewer']}"},
    )
    assert _problem(response, 414)


def _fetch(url, headers=None):
    """(status, content type, problem type or None) of a GET."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], None
    except urllib.error.HTTPError as exc:
        kind = exc.headers["Content-Type"]
        body = json.loads(exc.read()) if kind == "application/problem+json" else {}
        return exc.code, kind, body.get("type")


@sqlite_only
def test_requests_the_server_itself_refuses_are_problems_too(database_url, tmp_path):
    """gunicorn refuses an overlong request line or header before the app sees it; it does
    so with a problem document, like every other error (not its own HTML page)."""
    env = environment(tmp_path, database_url=database_url, scheduler_enabled="false")
    admin_token(env)
    with serving(env, workers=1) as base:
        long_uri = _fetch(f"{base}/api/v1/incidents?q={'x' * 20_000}")
        fits = _fetch(f"{base}/api/v1/incidents?q={'x' * 5000}")
        long_header = _fetch(
            f"{base}/api/v1/services", {"Authorization": "Bearer trk_" + "a" * 9000}
        )
        fair_header = _fetch(
            f"{base}/api/v1/services", {"Authorization": "Bearer trk_" + "a" * 5000}
        )
    problem = "application/problem+json"
    assert long_uri == (414, problem, "urn:tracker:problem:uri-too-long")
    assert fits == (401, problem, "urn:tracker:problem:unauthorized")
    assert long_header == (431, problem, "urn:tracker:problem:request-header-fields-too-large")
    assert fair_header == (401, problem, "urn:tracker:problem:unauthorized")


def test_a_nul_in_the_sign_in_form_is_a_wrong_name_not_a_500(app, browser):
    before = stored_counts(app)["app_user"]
    response = browser.post("/login", {"name": "adm\x00in", "password": "x\x00y"})
    assert response.status_code == 401
    assert stored_counts(app)["app_user"] == before
