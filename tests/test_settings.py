"""Settings: shipped defaults, a user file, TRACKER_* variables; bad ones stop start-up."""

from pathlib import Path

import pytest

from tracker.settings import (
    SettingsError,
    env_name,
    load_settings,
    setting_names,
    settings_table,
    shipped_defaults,
)

README = Path(__file__).resolve().parent.parent / "README.md"


def test_shipped_defaults_load():
    settings = load_settings(environ={})
    assert (settings.timezone, settings.availability.objective) == ("Asia/Shanghai", 0.9999)
    assert settings.effective_database_url.endswith("/var/tracker.db")


def test_every_setting_has_a_shipped_default_and_no_default_is_undeclared():
    assert set(shipped_defaults()) == {name for name, _ in setting_names()}


def test_environment_variables_override_single_settings():
    environ = {
        "TRACKER_TIMEZONE": "UTC",
        "TRACKER_AVAILABILITY_OBJECTIVE": "0.999",
        "TRACKER_ANONYMOUS_READ": "true",
        "TRACKER_SECRET_KEY": "1234567890" * 4,  # digits, still text
    }
    settings = load_settings(environ=environ)
    assert (settings.timezone, settings.availability.objective) == ("UTC", 0.999)
    assert settings.anonymous_read is True and settings.secret_key == "1234567890" * 4


def test_a_user_file_overrides_the_shipped_defaults(tmp_path):
    (tmp_path / "mine.toml").write_text("[server]\nport = 9000\n")
    settings = load_settings(environ={"TRACKER_CONFIG": str(tmp_path / "mine.toml")})
    assert (settings.server.port, settings.server.workers) == (9000, 2)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TRACKER_TIMEZONE": "Mars/Olympus"}, "timezone"),
        ({"TRACKER_AVAILABILITY_OBJECTIVE": "1.5"}, "availability.objective"),
        ({"TRACKER_SERVER_PORT": "eighty"}, "server.port"),
        ({"TRACKER_DATABASE_URL": "mysql://x/y"}, "database_url"),
        ({"TRACKER_COLOUR": "blue"}, "TRACKER_COLOUR"),
        ({"TRACKER_CONFIG": "/no/such/file.toml"}, "TRACKER_CONFIG"),
    ],
)
def test_a_bad_or_unknown_setting_stops_start_up_naming_it(environ, named):
    with pytest.raises(SettingsError, match=named.replace(".", r"\.")):
        load_settings(environ=environ)


def test_an_unknown_setting_in_a_user_file_is_named_with_the_file(tmp_path):
    (tmp_path / "mine.toml").write_text("[availability]\nobjectiv = 0.99\n")
    with pytest.raises(SettingsError, match=r"availability\.objectiv: unknown setting.*mine\.toml"):
        load_settings(environ={"TRACKER_CONFIG": str(tmp_path / "mine.toml")})


def test_a_bad_value_names_where_it_came_from():
    with pytest.raises(SettingsError, match=r"from TRACKER_SERVER_WORKERS"):
        load_settings(environ={"TRACKER_SERVER_WORKERS": "0"})


def test_environment_names_are_unambiguous():
    names = [env_name(name) for name, _ in setting_names()]
    assert len(names) == len(set(names))


def test_the_readme_settings_table_is_in_step_with_the_code():
    assert settings_table() in README.read_text(encoding="utf-8")


def test_the_cli_refuses_to_start_on_a_bad_setting(monkeypatch):
    from click.testing import CliRunner

    from tracker.cli import main

    monkeypatch.setenv("TRACKER_TIMEZONE", "Nowhere/Special")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code != 0 and "timezone" in result.output


def _channel(**fields):
    return {"name": "oncall", "kind": "wecom", "events": ["incident.created"], **fields}


def test_a_channel_url_is_read_from_the_environment_it_names_and_never_shown():
    environ = {"ROBOT": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K-123"}
    overrides = {"notifications": {"channels": [_channel(url="env:ROBOT")]}}
    (channel,) = load_settings(environ, overrides=overrides).notifications.channels
    assert channel.url.get_secret_value().endswith("key=K-123")
    assert "K-123" not in repr(channel)


def test_a_channel_naming_an_unset_variable_says_which():
    overrides = {"notifications": {"channels": [_channel(url="env:NOT_SET")]}}
    with pytest.raises(SettingsError, match="the environment has no NOT_SET"):
        load_settings({}, overrides=overrides)


def test_two_channels_may_not_share_a_name_and_email_needs_recipients():
    url = "https://example.com/hook"
    twice = {"notifications": {"channels": [_channel(url=url), _channel(url=url)]}}
    with pytest.raises(SettingsError, match="two channels share a name"):
        load_settings({}, overrides=twice)
    mail = {"notifications": {"channels": [_channel(kind="email", url="smtp://127.0.0.1:25")]}}
    with pytest.raises(SettingsError, match="names no recipient"):
        load_settings({}, overrides=mail)


def test_a_channel_that_names_no_events_hears_every_incident_event_and_the_review():
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K"
    channel = {"name": "oncall", "kind": "wecom", "url": url}
    overrides = {"notifications": {"channels": [channel]}}
    (loaded,) = load_settings({}, overrides=overrides).notifications.channels
    assert loaded.events == [
        "incident.draft",
        "incident.created",
        "incident.graded",
        "incident.status",
        "review.weekly",
    ]


SECRET = "sso-client-secret-never-shown"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TRACKER_AUTH_OIDC_ISSUER": "http://idp.example.com"}, "auth.oidc.issuer"),
        ({"TRACKER_AUTH_OIDC_ISSUER": "https://idp.example.com"}, "client_id is needed"),
        ({"TRACKER_AUTH_OIDC_SCOPES": "email profile"}, "auth.oidc.scopes"),
        ({"TRACKER_AUTH_OIDC_ROLE_MAP": '{"sre": "root"}'}, "auth.oidc.role_map.sre"),
        ({"TRACKER_AUTH_OIDC_CLOCK_SKEW_SECONDS": "3600"}, "auth.oidc.clock_skew_seconds"),
        ({"TRACKER_AUTH_PROXY_HEADER": "X-Forwarded-User"}, "needs trusted_proxies"),
        ({"TRACKER_AUTH_PROXY_TRUSTED_PROXIES": '["10.0.0.300/8"]'}, "trusted_proxies.0"),
        ({"TRACKER_AUTH_LOCAL": "false"}, "set auth.oidc.issuer or auth.proxy.header"),
    ],
)
def test_a_sign_in_setting_that_cannot_work_stops_start_up_without_showing_the_secret(
    environ, message
):
    with pytest.raises(SettingsError, match=message) as stopped:
        load_settings(environ={"TRACKER_AUTH_OIDC_CLIENT_SECRET": SECRET, **environ})
    assert SECRET not in str(stopped.value)


def test_company_sign_in_settings_load_from_the_environment():
    settings = load_settings(
        environ={
            "TRACKER_AUTH_OIDC_ISSUER": "https://login.example.com/realms/pay",
            "TRACKER_AUTH_OIDC_CLIENT_ID": "tracker",
            "TRACKER_AUTH_OIDC_CLIENT_SECRET": "12345678",  # digits stay text
            "TRACKER_AUTH_OIDC_ROLES_CLAIM": "realm_access.roles",
            "TRACKER_AUTH_OIDC_ROLE_MAP": '{"sre": "admin", "oncall": "responder"}',
            "TRACKER_AUTH_LOCAL": "false",
        }
    )
    oidc = settings.auth.oidc
    assert oidc.client_secret.get_secret_value() == "12345678"
    assert SECRET not in repr(settings) and "12345678" not in repr(settings)
    assert oidc.role_of(["oncall", "sre", "other"]) == "admin"
    assert oidc.role_of(["other"]) is None
