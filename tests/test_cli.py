"""The `tracker` command over the same services as the API."""

import json

import pytest

from tests.factories import incident_body
from tracker.cli import main
from tracker.services.tokens import PREFIX


def test_tokens_create_prints_the_token_alone(runner, api):
    result = runner.invoke(main, ["tokens", "create", "--name", "ops", "--role", "responder"])
    token = result.output.strip()
    assert result.exit_code == 0 and token.startswith(PREFIX) and "\n" not in token
    headers = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/incidents", headers=headers).status_code == 200


def test_tokens_create_refuses_an_unknown_role(runner):
    result = runner.invoke(main, ["tokens", "create", "--name", "ops", "--role", "root"])
    assert result.exit_code == 2 and "role" in result.output


def test_incidents_add_then_show(runner, gateway):
    added = runner.invoke(
        main,
        [
            "incidents",
            "add",
            "--title",
            "出口带宽被打满",
            "--service",
            "gateway",
            "--detected-at",
            "2024-07-23T10:42:00+08:00",
            "--impact-ratio",
            "0.2",
            "--json",
        ],
    )
    created = json.loads(added.output)
    shown = runner.invoke(main, ["incidents", "show", str(created["id"]), "--json"])
    assert added.exit_code == 0 and shown.exit_code == 0
    assert json.loads(shown.output)["title"] == "出口带宽被打满"


def test_incidents_add_reads_every_field_from_json(runner, gateway, tmp_path):
    path = tmp_path / "incident.json"
    path.write_text(json.dumps(incident_body(grade="C", location="M6V")), encoding="utf-8")
    result = runner.invoke(main, ["incidents", "add", "--from-json", str(path), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["location"] == "M6V"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--title", "x", "--service", "gateway"], "detected_at"),
        (
            ["--title", "x", "--service", "gateway", "--detected-at", "2024-07-23T10:00:00"],
            "detected_at",
        ),
        (
            ["--title", "x", "--service", "nope", "--detected-at", "2024-07-23T10:00:00+08:00"],
            "services[0]",
        ),
    ],
    ids=["missing time", "naive time", "unknown service"],
)
def test_incidents_add_names_the_bad_field_and_stores_nothing(runner, gateway, api, args, named):
    result = runner.invoke(main, ["incidents", "add", *args])
    assert result.exit_code == 2 and named in result.output
    assert api.get("/incidents").get_json()["items"] == []


def test_incidents_list_prints_local_times(runner, incident):
    result = runner.invoke(main, ["incidents", "list"])
    assert result.exit_code == 0
    assert "2024-07-23 10:04" in result.output and "卡类型试算" in result.output


def test_incidents_list_filters(runner, incident):
    result = runner.invoke(main, ["incidents", "list", "--grade", "A", "--json"])
    assert json.loads(result.output)["items"] == []


def test_incidents_show_of_a_missing_incident_fails(runner, gateway):
    result = runner.invoke(main, ["incidents", "show", "42"])
    assert result.exit_code == 1 and "no incident 42" in result.output


def test_db_upgrade_reports_a_current_schema(runner, app):
    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0 and "current" in result.output
