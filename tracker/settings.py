"""Settings: shipped TOML defaults, then the TRACKER_CONFIG file, then TRACKER_* variables.

The schema below is the single declaration of every setting: its type, its rule and its help
text. Defaults live in ``config/tracker.toml``; a test keeps the README's table in step.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tomllib
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tracker.core.grading import DIMENSIONS, GradingRules, Threshold
from tracker.core.rates import RateDefinition
from tracker.core.signin import mapped_role
from tracker.core.texts import Lang
from tracker.core.transactions import OutcomeMap
from tracker.core.vocabulary import (
    ChannelKind,
    Direction,
    IncidentGrade,
    NotificationEvent,
    Outcome,
    RegulatoryLevel,
    Role,
    Scope,
)
from tracker.core.weekly.model import Detail

Dimension = Literal[DIMENSIONS]  # type: ignore[valid-type]

SHIPPED_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
SHIPPED_SETTINGS = SHIPPED_CONFIG_DIR / "tracker.toml"
# Tables that ship in files of their own, each read as one section of the settings.
SHIPPED_SECTIONS = {
    "grading": SHIPPED_CONFIG_DIR / "grading.toml",
    "payments": SHIPPED_CONFIG_DIR / "payments.toml",
    "outcomes": SHIPPED_CONFIG_DIR / "outcomes.toml",
}
ENV_PREFIX = "TRACKER_"
ENV_CONFIG_FILE = "TRACKER_CONFIG"
# Not a setting: the folder prometheus_client's multiprocess mode reads, which `tracker serve`
# sets for its workers before any of them imports prometheus_client.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


MIN_SECRET_BYTES = 32
MIN_KEEP_MINUTES_DAYS = 35
SECRETS = frozenset(
    {
        "secret_key",
        "metrics_token",
        "database_url",
        "database_replica_url",
        "auth.oidc.client_secret",
    }
)  # never echoed
SECRET_TABLES = ("notifications.channels",)  # tables holding secrets: no value of theirs echoed


class SettingsError(Exception):
    """A setting is unknown or has a bad value; start-up stops with this message."""


def _named_once(items: list[Any], what: str) -> list[Any]:
    """`items` when no two share a `name`."""
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise ValueError(f"two {what} share a name")
    return items


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = Field(description="Address `tracker serve` binds to")
    port: int = Field(ge=1, le=65535, description="Port `tracker serve` listens on")
    workers: int = Field(ge=1, le=64, description="gunicorn worker processes")
    request_read_seconds: float = Field(
        gt=0,
        le=600,
        description="A request must arrive whole within this many seconds of its first byte "
        "(a slow client holds a worker thread that long at most)",
    )
    trusted_proxy_hops: int = Field(
        ge=0,
        le=10,
        description="Proxies in front that set X-Forwarded-For; the client address is read "
        "through this many (0: none trusted)",
    )


class DatabaseSettings(_Section):
    busy_timeout_ms: int = Field(
        ge=0,
        description="How long a write waits for a lock another write holds before it gives "
        "up with a 503 (ms; SQLite's busy timeout, PostgreSQL's lock_timeout)",
    )
    replica_max_lag_seconds: float = Field(
        gt=0,
        le=86400,
        description="Reads that tolerate lag skip the replica while it is further behind the "
        "primary than this (or down)",
    )


class _RoleMapping(_Section):
    """How a company account's groups become a tracker role: the highest mapped role wins."""

    role_map: dict[Annotated[str, Field(min_length=1, max_length=256)], Role] = Field(
        description='Group (claim value) → role, e.g. `{ "sre-leads" = "admin" }`'
    )
    default_role: Role | Literal[""] = Field(
        description="Role of someone in no mapped group; empty refuses them"
    )

    def role_of(self, groups: Iterable[str]) -> str | None:
        return mapped_role(groups, self.role_map, self.default_role or None)


class OidcSettings(_RoleMapping):
    issuer: str = Field(
        pattern=r"^(https://[^\s]+|http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/[^\s]*)?)?$",
        description="OpenID provider (discovery at `<issuer>/.well-known/openid-configuration`;"
        " https, or http on loopback); empty: no company sign-in",
    )
    client_id: str = Field(max_length=256, description="This client's id at the provider")
    client_secret: SecretStr = Field(max_length=1024, description="This client's secret")
    scopes: str = Field(
        pattern=r"(^|\s)openid(\s|$)", description="Scopes asked for (must include `openid`)"
    )
    roles_claim: str = Field(
        pattern=r"^[A-Za-z0-9_:/.-]{1,200}$",
        description="Claim holding the groups; dotted for nested (`realm_access.roles`)",
    )
    clock_skew_seconds: int = Field(
        ge=0, le=300, description="ID tokens are accepted this far outside their times"
    )

    @model_validator(mode="after")
    def _complete(self) -> OidcSettings:
        if self.issuer and not self.client_id:
            raise ValueError("client_id is needed with an issuer")
        return self


class ProxySettings(_RoleMapping):
    header: str = Field(
        pattern=r"^([A-Za-z0-9-]{1,100})?$",
        description="Request header a signing-in proxy sets to the user's name "
        "(`X-Forwarded-User`); empty: off",
    )
    groups_header: str = Field(
        pattern=r"^([A-Za-z0-9-]{1,100})?$",
        description="Header with the user's groups, comma-separated (mapped by `role_map`)",
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        max_length=100,
        description="Networks the proxy connects from; the header from anywhere else is refused",
    )

    @model_validator(mode="after")
    def _trusted_somewhere(self) -> ProxySettings:
        if self.header and not self.trusted_proxies:
            raise ValueError("header sign-in needs trusted_proxies")
        return self

    def trusts(self, address: str) -> bool:
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(peer in network for network in self.trusted_proxies)


class AuthSettings(_Section):
    session_hours: float = Field(
        gt=0, le=24 * 90, description="A session ends after this many hours without a request"
    )
    session_cookie_secure: bool = Field(description="Send the session cookie over HTTPS only")
    local: bool = Field(description="Sign-in with a local name and password (the form)")
    oidc: OidcSettings
    proxy: ProxySettings

    @model_validator(mode="after")
    def _some_way_in(self) -> AuthSettings:
        if not (self.local or self.oidc.issuer or self.proxy.header):
            raise ValueError("with local = false, set auth.oidc.issuer or auth.proxy.header")
        return self


class ReportSettings(_Section):
    event_detail: Detail = Field(
        description="Weekly events as titles, or with their summary and record link"
    )


class AvailabilitySettings(_Section):
    objective: float = Field(gt=0, lt=1, description="Availability objective of scope `all`")
    maintenance_notice_hours: float = Field(
        ge=0, description="Maintenance counts only if announced this many hours before it starts"
    )


class SchedulerSettings(_Section):
    enabled: bool = Field(description="`tracker serve` also runs the scheduled jobs")


class RollupSettings(_Section):
    interval_seconds: int = Field(ge=5, le=86400, description="Seconds between rollups")
    keep_hours: float = Field(gt=0, description="Snapshots older than this are pruned")


class GradingSettings(_Section):
    full_outage_ratio: float = Field(gt=0, le=1, description="Impact ratio that counts as full")
    tier_weights: dict[Annotated[int, Field(ge=1, le=3)], Annotated[float, Field(ge=0)]] = Field(
        description="Weight of impaired minutes by the most critical tier affected"
    )
    thresholds: dict[Dimension, dict[IncidentGrade, float | str]] = Field(
        description='Per dimension and grade: a number (at least) or `"> N"` (more than)'
    )
    regulatory_floor: dict[RegulatoryLevel, IncidentGrade] = Field(
        description="The lowest grade a regulatory level allows"
    )
    approval: bool = Field(
        description="A change of grade, responsibility or regulatory level waits for a second "
        "admin (maker–checker, DESIGN §11)"
    )

    @field_validator("thresholds")
    @classmethod
    def _parse_thresholds(cls, value: dict[str, dict[str, float | str]]) -> dict:
        for dimension, by_grade in value.items():
            for grade, threshold in by_grade.items():
                try:
                    Threshold.parse(threshold)
                except ValueError as exc:
                    raise ValueError(f"{dimension}.{grade}: {exc}") from None
        return value

    def rules(self, report_within_minutes: int = 30) -> GradingRules:
        return GradingRules(
            thresholds={
                dimension: {grade: Threshold.parse(v) for grade, v in by_grade.items()}
                for dimension, by_grade in self.thresholds.items()
            },
            regulatory_floor=dict(self.regulatory_floor),
            tier_weights=dict(self.tier_weights),
            full_outage_ratio=self.full_outage_ratio,
            report_within_minutes=report_within_minutes,
        )


class RateSettings(_Section):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    label_zh: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    direction: Direction
    scope: Scope
    excludes: list[Outcome]
    dip_below: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Minutes where this rate, over `dips.window_minutes`, is below this are a "
        "dip (DESIGN §12); absent: no dips of this rate are looked for",
    )


class PaymentSettings(_Section):
    max_batch_rows: int = Field(ge=1, le=1_000_000, description="Largest payment-count batch")
    max_channels: int = Field(
        ge=1,
        le=10_000,
        description="Most distinct payment channels kept; a row adding one more is a 422",
    )
    rates: list[RateSettings] = Field(min_length=1, description="Success-rate definitions")
    keep_minutes_days: int = Field(
        ge=0,
        le=36_500,
        description="Minute counts older than this many days are folded into hourly ones "
        "(0: every minute is kept); at least 35, for the dips' 31 days",
    )

    @field_validator("keep_minutes_days")
    @classmethod
    def _room_for_dips(cls, days: int) -> int:
        if 0 < days < MIN_KEEP_MINUTES_DAYS:
            raise ValueError(
                f"0 (keep every minute) or at least {MIN_KEEP_MINUTES_DAYS}: dips are found "
                "in up to 31 days of minutes"
            )
        return days

    @field_validator("rates")
    @classmethod
    def _unique_names(cls, rates: list[RateSettings]) -> list[RateSettings]:
        return _named_once(rates, "rates")

    def definitions(self) -> list[RateDefinition]:
        return [
            RateDefinition(
                r.name,
                r.label_zh,
                r.label_en,
                r.direction,
                r.scope,
                frozenset(r.excludes),
                None if r.dip_below is None else Fraction(str(r.dip_below)),
            )
            for r in self.rates
        ]


class OutcomeSettings(_Section):
    default: Outcome = Field(description="Outcome of a failure whose reason code is unmapped")
    statuses: dict[str, Outcome | Literal["by_reason"]] = Field(
        description="Transaction status → outcome, or `by_reason` to use the reason code"
    )
    codes: dict[str, Outcome] = Field(description="Failure reason code → outcome")

    def outcome_map(self) -> OutcomeMap:
        return OutcomeMap(
            statuses={k.lower(): v for k, v in self.statuses.items()},
            codes={k.upper(): v for k, v in self.codes.items()},
            default=self.default,
        )


# What a channel hears when it names no events: DESIGN §10's example, the on-call group's day.
DEFAULT_EVENTS = (
    "incident.draft",
    "incident.created",
    "incident.graded",
    "incident.status",
    "review.weekly",
)
ENV_REFERENCE = "env:"  # a channel's url or secret read from this environment variable


class ChannelSettings(_Section):
    """One place the team hears events (DESIGN §10). `url` and `secret` may be `env:NAME`,
    read from the environment at start-up; both are secrets (the URL carries the robot's key)
    and are never shown."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: ChannelKind
    url: SecretStr
    secret: SecretStr = SecretStr("")
    events: list[NotificationEvent] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS), min_length=1
    )
    min_grade: IncidentGrade | None = None
    lang: Lang = "zh"
    rate_per_minute: int = Field(default=20, ge=1, le=100_000)  # robots allow 20
    mention: list[str] = Field(default_factory=list)  # wecom: mobiles @-mentioned (a text message)
    to: list[str] = Field(default_factory=list)  # email: recipients
    sender: str = "tracker@localhost"  # email: the From address

    @field_validator("url", "secret", mode="before")
    @classmethod
    def _from_environment(cls, value: Any, info: ValidationInfo) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str) or not raw.startswith(ENV_REFERENCE):
            return value
        name = raw.removeprefix(ENV_REFERENCE)
        environ = (info.context or {}).get("environ", os.environ)
        if name not in environ:
            raise ValueError(f"the environment has no {name} (named by {raw})")
        return environ[name]

    @model_validator(mode="after")
    def _complete(self) -> ChannelSettings:
        url = self.url.get_secret_value()
        wanted = ("smtp://",) if self.kind == "email" else ("https://", "http://")
        if not url.startswith(wanted):
            raise ValueError(f"{self.kind} channel {self.name}: url must start with {wanted[0]}")
        if self.kind == "email" and not self.to:
            raise ValueError(f"email channel {self.name}: `to` names no recipient")
        return self


class AlertSettings(_Section):
    service_label: str = Field(
        min_length=1, description="The alert label that names the affected service"
    )
    service_map: dict[str, str] = Field(
        description="That label's value → service key (a value that is a key maps to itself)"
    )
    ignore: dict[str, list[str]] = Field(
        description="Alerts whose label has one of these values are counted and dropped, e.g. "
        '`severity = ["info"]`'
    )
    max_per_request: int = Field(
        ge=1, le=100_000, description="Most alerts one webhook call may carry (more: 413)"
    )


class FollowUpSettings(_Section):
    remind_at: str = Field(
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Local time (HH:MM) of the daily digest of overdue follow-ups",
    )

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.remind_at.split(":")
        return int(hour), int(minute)


class RegulatorySettings(_Section):
    report_within_minutes: int = Field(
        ge=1,
        le=7 * 1440,
        description="A record at a reported level (较大 and worse) must reach the regulator "
        "within this many minutes of its detection",
    )


class DipSettings(_Section):
    window_minutes: int = Field(
        ge=1,
        le=60,
        description="A minute is low when the rate over this many minutes ending "
        "with it is below the rate's `dip_below`",
    )
    min_attempts: int = Field(
        ge=1, description="Attempts those minutes must hold for them to be low at all"
    )
    slack_minutes: int = Field(
        ge=0, le=1440, description="A record or maintenance window this near a dip covers it"
    )
    notify_after_minutes: int = Field(
        ge=0,
        le=10080,
        description="`payments.dip_unlogged` goes out when a dip has waited "
        "this long with no record covering it",
    )


class NotificationSettings(_Section):
    interval_seconds: int = Field(
        ge=1, le=3600, description="Seconds between sends of what the outbox holds"
    )
    max_attempts: int = Field(
        ge=1, le=100, description="Attempts at a message before it is marked failed"
    )
    timeout_seconds: float = Field(
        gt=0, le=120, description="A channel's answer must come within this many seconds"
    )
    keep_days: float = Field(
        gt=0, description="Sent and failed messages older than this are pruned from the outbox"
    )
    channels: list[ChannelSettings] = Field(
        description="Where events are sent: `[[notifications.channels]]` tables (DESIGN §10)"
    )

    @field_validator("channels")
    @classmethod
    def _unique_names(cls, channels: list[ChannelSettings]) -> list[ChannelSettings]:
        return _named_once(channels, "channels")


class Settings(_Section):
    database_url: str = Field(
        description="peewee database URL; empty means SQLite at `<data_dir>/tracker.db`"
    )
    database_replica_url: str = Field(
        description="A PostgreSQL streaming replica for reads that tolerate lag (reports, "
        "ranges, dips, the rollup's reads); empty: every read goes to the primary"
    )
    data_dir: Path = Field(description="Folder for the SQLite database and report exports")
    secret_key: str = Field(description="Signs session cookies; set a long random value")
    timezone: str = Field(description="IANA zone that calendar windows are cut in")
    anonymous_read: bool = Field(description="Allow GET requests without a token")
    max_body_bytes: int = Field(ge=1024, description="Largest accepted request body (bytes)")
    metrics_token: str = Field(description="If set, /metrics needs `Authorization: Bearer` it")
    base_url: str = Field(
        pattern=r"^(https?://[^\s]+)?$",
        description="Where people open tracker (`https://tracker.example.com`): links in "
        "notifications; empty sends none",
    )
    server: ServerSettings
    database: DatabaseSettings
    auth: AuthSettings
    availability: AvailabilitySettings
    scheduler: SchedulerSettings
    rollup: RollupSettings
    report: ReportSettings
    grading: GradingSettings
    payments: PaymentSettings
    outcomes: OutcomeSettings
    notifications: NotificationSettings
    alerts: AlertSettings
    dips: DipSettings
    follow_ups: FollowUpSettings
    regulatory: RegulatorySettings
    quotas: dict[Literal["AB", "C", "D"], Annotated[int, Field(ge=0, le=100_000)]] = Field(
        description="Incidents allowed per calendar year by grade, responsibility-weighted, "
        "e.g. `AB = 0` (the key result 事故数AB级0次)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        """A short key can be found by trying (a 3-character one took 18 s from a cookie)."""
        if value and len(value.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"must be at least {MIN_SECRET_BYTES} bytes; leave it empty to have one made "
                "and kept in the data folder"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ValueError("must start with sqlite://, postgres:// or postgresql://")
        return value

    @field_validator("database_replica_url")
    @classmethod
    def _postgres_replica(cls, value: str) -> str:
        if value and not value.startswith(("postgres://", "postgresql://")):
            raise ValueError("must start with postgres:// or postgresql:// (a streaming replica)")
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'tracker.db'}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def rules(self) -> GradingRules:
        """The rules of a record: grading, and the regulator's deadline."""
        return self.grading.rules(self.regulatory.report_within_minutes)


def setting_names(model: type[BaseModel] = Settings, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf setting as (dotted name, pydantic field info)."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, _Section):
            yield from setting_names(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info


def env_name(dotted: str) -> str:
    return ENV_PREFIX + dotted.replace(".", "_").upper()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"{ENV_CONFIG_FILE}: no such file {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    *sections, leaf = dotted.split(".")
    for section in sections:
        target = target.setdefault(section, {})
    target[leaf] = value


def _env_value(raw: str) -> Any:
    """Environment values are JSON when they parse as JSON (numbers, true/false), else text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    by_env = {env_name(dotted): dotted for dotted, _ in setting_names()}
    overrides: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_CONFIG_FILE:
            continue
        if key not in by_env:
            raise SettingsError(f"{key}: unknown setting")
        dotted = by_env[key]
        text_settings = {*SECRETS, "timezone"}
        value = raw if dotted in text_settings else _env_value(raw)
        _set_dotted(overrides, dotted, value)
    return overrides


def _describe(exc: ValidationError, sources: dict[str, str]) -> str:
    lines = []
    for error in exc.errors():
        dotted = ".".join(str(part) for part in error["loc"])
        origin = sources.get(dotted, "")
        if error["type"] == "extra_forbidden":
            lines.append(f"{dotted}: unknown setting{origin}")
        elif error["type"] == "missing":
            lines.append(f"{dotted}: missing{origin}")
        elif (
            dotted in SECRETS
            or dotted.startswith(SECRET_TABLES)
            or isinstance(error.get("input"), Mapping)  # a section's rule: it may hold secrets
        ):
            lines.append(f"{dotted}: {error['msg'].removeprefix('Value error, ')}{origin}")
        else:
            lines.append(f"{dotted}: {error['msg']} (got {error.get('input')!r}){origin}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Layer shipped defaults, the TRACKER_CONFIG file, TRACKER_* variables and overrides."""
    environ = os.environ if environ is None else environ
    data = _shipped()
    sources = {dotted: "" for dotted, _ in setting_names()}
    user_file = environ.get(ENV_CONFIG_FILE)
    if user_file:
        user = _read_toml(Path(user_file))
        data = _merge(data, user)
        for dotted in _dotted_keys(user):
            sources[dotted] = f" [from {user_file}]"
    env = _env_overrides(environ)
    for dotted in _dotted_keys(env):
        sources[dotted] = f" [from {env_name(dotted)}]"
    data = _merge(_merge(data, env), overrides or {})
    try:
        return Settings.model_validate(data, context={"environ": environ})
    except ValidationError as exc:
        raise SettingsError(_describe(exc, sources)) from None


def _dotted_keys(data: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted names of the settings in `data`; a table-valued setting is one name."""
    tables = {name for name, info in setting_names() if _is_table(info)}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and dotted not in tables:
            yield from _dotted_keys(value, f"{dotted}.")
        else:
            yield dotted


def _is_table(info: Any) -> bool:
    return getattr(info.annotation, "__origin__", None) in (dict, list)


def _shipped() -> dict[str, Any]:
    data = _read_toml(SHIPPED_SETTINGS)
    for section, path in SHIPPED_SECTIONS.items():
        data[section] = _read_toml(path)
    return data


def shipped_defaults() -> dict[str, Any]:
    """The shipped default of every setting, by dotted name (for docs and tests)."""
    data = _shipped()
    defaults = {}
    for dotted in _dotted_keys(data):
        value: Any = data
        for part in dotted.split("."):
            value = value[part]
        defaults[dotted] = value
    return defaults


def settings_table() -> str:
    """The README's settings table, generated from the schema and the shipped defaults."""
    defaults = shipped_defaults()
    rows = ["| setting | environment variable | default | what it does |", "|---|---|---|---|"]
    for dotted, info in setting_names():
        section = dotted.split(".")[0]
        if _is_table(info) and section in SHIPPED_SECTIONS:
            default = f"see `config/{SHIPPED_SECTIONS[section].name}`"
        else:
            default = f"`{json.dumps(defaults.get(dotted), ensure_ascii=False)}`"
        rows.append(f"| `{dotted}` | `{env_name(dotted)}` | {default} | {info.description} |")
    return "\n".join(rows)
