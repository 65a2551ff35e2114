"""The `tracker` command over the same services as the API."""

import json

import pytest

from tests.factories import incident_body
from tracker.cli import main
from tracker.db import database
from tracker.models import Incident
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


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_incidents_add_takes_every_field(runner, gateway):
    created = _json(
        runner.invoke(
            main,
            [
                "incidents", "add", "--json",
                "--title", "银商对账文件未下发", "--service", "gateway",
                "--detected-at", "2024-07-23T10:04:00+08:00",
                "--acknowledged-at", "2024-07-23T10:04:30+08:00",
                "--mitigated-at", "2024-07-23T10:05:00+08:00",
                "--root-cause", "third_party_channel", "--detection-source", "reconciliation",
                "--responsibility", "payments=0.5", "--responsibility", "银商=同责:external",
                "--affected-transactions", "8", "--affected-amount", "0.08",
                "--fund-loss", "0.00", "--regulatory-level", "general",
                "--postmortem-url", "https://wiki.example/pm/1",
                "--counts-toward-availability", "false",
            ],
        )
    )  # fmt: skip
    assert created["responsibility"][1] == {"party": "银商", "share": 0.5, "internal": False}
    assert (created["affected_amount"], created["regulatory_level"]) == ("0.08", "general")
    assert (created["acknowledged_at"], created["counts_toward_availability"]) == (
        "2024-07-23T02:04:30Z",
        False,
    )


def test_incidents_update_changes_only_the_fields_given(runner, incident):
    updated = _json(
        runner.invoke(
            main, ["incidents", "update", str(incident["id"]), "--location", "M7", "--json"]
        )
    )
    assert updated["location"] == "M7" and updated["title"] == incident["title"]


def test_incidents_update_clears_a_time_given_empty(runner, incident):
    args = ["incidents", "update", str(incident["id"]), "--mitigated-at", "", "--json"]
    assert _json(runner.invoke(main, args))["mitigated_at"] is None


def test_incidents_resolve_now_or_at_a_time(runner, incident):
    args = ["incidents", "resolve", str(incident["id"]), "--at", "2024-07-23T10:30:00+08:00"]
    resolved = _json(runner.invoke(main, [*args, "--json"]))
    assert (resolved["status"], resolved["resolved_at"]) == ("resolved", "2024-07-23T02:30:00Z")


def test_incidents_list_since_a_date_means_local_midnight(runner, incident):
    on_the_day = _json(
        runner.invoke(main, ["incidents", "list", "--since", "2024-07-23", "--json"])
    )
    next_day = _json(runner.invoke(main, ["incidents", "list", "--since", "2024-07-24", "--json"]))
    assert (len(on_the_day["items"]), len(next_day["items"])) == (1, 0)


def test_incidents_show_prints_local_times_and_plain_values(runner, gateway, api):
    body = incident_body(responsibility=[{"party": "银商", "share": 0.5, "internal": False}])
    created = api.post("/incidents", body).get_json()
    shown = runner.invoke(main, ["incidents", "show", str(created["id"])]).output
    assert "Detected: 2024-07-23 10:04:00" in shown and "Services: gateway" in shown
    assert "银商 0.5 (external)" in shown and "None" not in shown and "[" not in shown


def test_incidents_show_never_sends_a_terminal_escape(runner, incident, app):
    """A record stored before control characters were refused still prints harmlessly."""
    with app.app_context(), database.connection_context():
        Incident.update(summary="清屏\x1b[2J").where(Incident.id == incident["id"]).execute()
    shown = runner.invoke(main, ["incidents", "show", str(incident["id"])]).output
    assert "\x1b" not in shown and "\\x1b[2J" in shown


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["report", "weekly", "--week", "2024-30"], "--week: '2024-30' is not an ISO week"),
        (["report", "weekly", "--week", "2024-W53"], "--week: 2024 has no ISO week 53"),
        (["report", "monthly", "--period", "2024"], "--period: '2024' is not a month"),
        (["report", "yearly", "--period", "2024-07"], "--period: '2024-07' is not a year"),
    ],
    ids=["week form", "week 53", "month", "year"],
)
def test_a_bad_period_exits_2_with_one_message(runner, app, args, said):
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and result.output.count("\n") == 1 and said in result.output


def test_a_field_error_is_said_once(runner, gateway):
    args = ["--title", "x", "--service", "nope", "--detected-at", "2024-07-23T10:00:00+08:00"]
    result = runner.invoke(main, ["incidents", "add", *args])
    assert result.output == "error: services[0]: no service 'nope'\n"


def test_a_time_in_a_message_is_in_the_configured_zone(runner, gateway):
    args = ["--title", "x", "--service", "gateway", "--detected-at", "2099-01-01T10:00:00+08:00"]
    result = runner.invoke(main, ["incidents", "add", *args])
    assert "2099-01-01 10:00:00" in result.output


@pytest.mark.parametrize(("kind", "form"), [("monthly", "2024-07"), ("yearly", "2024")])
def test_summary_help_describes_the_command_and_names_its_own_form(runner, kind, form):
    text = runner.invoke(main, ["report", kind, "--help"]).output
    other = {"monthly": "2024 for a year", "yearly": "2024-07"}[kind]
    assert form in text and other not in text and "summary of a calendar" in text


def test_users_list_disable_and_reset_password(runner, app):
    runner.invoke(
        main, ["users", "create", "oncall", "--role", "responder"], input="long enough pw\n"
    )
    disabled = runner.invoke(main, ["users", "disable", "oncall"])
    listed = runner.invoke(main, ["users", "list"]).output
    reset = runner.invoke(main, ["users", "reset-password", "oncall"], input="another long pw\n")
    assert disabled.exit_code == 0 and "oncall" in listed and "disabled" in listed
    assert reset.exit_code == 0 and "password of oncall reset" in reset.output
