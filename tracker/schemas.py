"""The one set of models that validates input (API and CLI) and describes output; the
OpenAPI document is generated from these."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, NotRequired, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PlainSerializer,
    StrictBool,
    ValidationError,
    field_validator,
    with_config,
)
from typing_extensions import TypedDict

from tracker.core.display import utc_text
from tracker.core.incidents import SHARE_TOLERANCE
from tracker.core.texts import Lang
from tracker.core.vocabulary import (
    RESERVED_SERVICE_KEYS,
    SERVICE_KEY_PATTERN,
    AlertStatus,
    ChangeStatus,
    DetectionSource,
    Direction,
    FollowUpStatus,
    Grade,
    ListGrade,
    NotificationEvent,
    NotificationStatus,
    Outcome,
    Priority,
    RegulatoryLevel,
    Role,
    RootCause,
    Scope,
    Status,
    Tier,
)
from tracker.core.weekly.model import Detail
from tracker.core.windows import WINDOWS
from tracker.errors import BadRequest, FieldError, Invalid


def _decimal_string(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('send amounts as decimal strings, e.g. "1234.50", never as floats')
    if isinstance(value, bool):
        raise ValueError("must be a decimal string")
    return value


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("has more than 2 decimal places")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    Field(ge=0, le=Decimal("10000000000000000"), examples=["1234.50"]),
    AfterValidator(_two_places),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
]


UtcTime = Annotated[datetime, PlainSerializer(utc_text, return_type=str, when_used="json")]


ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _text_time(value: Any) -> Any:
    """A time is ISO 8601 text with an offset; pydantic would read a number, or a numeric
    string, as Unix seconds."""
    if isinstance(value, datetime) or (isinstance(value, str) and ISO_DATE_TIME.match(value)):
        return value
    raise ValueError("give a time as ISO 8601 text with an offset, e.g. 2024-07-23T10:04+08:00")


def _not_bool(value: Any) -> Any:
    """true and false are not numbers here (pydantic would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


NoBool = BeforeValidator(_not_bool)
# DESIGN §3: what is stored lies from 1970 on (and no later than now + 5 minutes, which the
# services check, or two years ahead for maintenance); what a query asks about, within years
# 2 to 9998, so that every window around it stays inside what a datetime can hold.
STORED_FROM = datetime(1970, 1, 1, tzinfo=UTC)
ASKED_FROM, ASKED_UNTIL = datetime(2, 1, 1, tzinfo=UTC), datetime(9998, 12, 31, tzinfo=UTC)


def _between(first: datetime, last: datetime) -> AfterValidator:
    def check(value: datetime) -> datetime:
        if not first <= value <= last:
            raise ValueError(f"must lie between {first:%Y-%m-%d} and {last:%Y-%m-%d}")
        return value

    return AfterValidator(check)


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_text_time),
    _between(STORED_FROM, ASKED_UNTIL),
    Field(examples=["2024-07-23T10:04:00+08:00"]),
]
ServiceKey = Annotated[str, Field(pattern=SERVICE_KEY_PATTERN, examples=["payment-gateway"])]


def field_path(loc: Sequence[Any], prefix: str = "") -> str:
    """pydantic's location as `counts[3].minute`."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def validation_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    """pydantic's errors as field errors: paths like `counts[3].minute`, plain messages."""
    errors = []
    for error in exc.errors(include_url=False):
        message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"]
        message = message.removeprefix("Value error, ")
        code = f"pydantic.{error['type']}"
        if error["type"] == "value_error":  # our own validators: their message names the rule
            code = MESSAGE_CODES.get(message, "")
        params = {k: v for k, v in error.get("ctx", {}).items() if k != "error"}
        errors.append(FieldError(field_path(error["loc"], prefix), message, code, params))
    return errors


def validate_json(model: type[BaseModel], raw: bytes) -> Any:
    """A JSON body through its model: 400 if it is not JSON, 422 naming each bad field."""
    try:
        # pydantic parses the JSON itself: no intermediate Python objects for big batches
        return model.model_validate_json(raw)
    except ValidationError as exc:
        malformed = [e for e in exc.errors(include_url=False) if e["type"] == "json_invalid"]
        if malformed:
            raise BadRequest(f"the body is not valid JSON: {malformed[0]['msg']}") from None
        raise Invalid(validation_errors(exc)) from None


class RawJson:
    """A value written as JSON before (an item of a list page), embedded as it is."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text


def json_bytes(value: Any) -> bytes:
    """UTF-8 JSON as the API writes it, by orjson (several times faster on list pages); the
    standard library writes what orjson will not (an integer past 64 bits). A UTC datetime
    is written as `utc_text` writes it (ISO 8601 with `Z`, microseconds only when there are
    any); `RawJson` as it is."""
    try:
        return orjson.dumps(
            value, default=_fragment, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
        )
    except TypeError:
        return json.dumps(value, ensure_ascii=False, default=_plain_json).encode()


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, RawJson):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _plain_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, RawJson):
        return json.loads(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def Omittable(**constraints: Any) -> Any:
    """A patch field: may be left out, may not be null (unless its type says so)."""
    return Field(None, json_schema_extra=_no_default, **constraints)


NUL_MESSAGE = "must not contain NUL characters (U+0000)"
CONTROL_MESSAGE = "must not contain control characters other than newline and tab"
# C0 and C1 controls but newline and tab: an escape sequence in a title would clear a terminal
# or write its clipboard when printed, and a NUL PostgreSQL cannot store at all.
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# Messages of this module's validators, by the code the UI says them with.
MESSAGE_CODES = {
    "shares must sum to at most 1": "error.shares",
    NUL_MESSAGE: "pydantic.control_characters",
    CONTROL_MESSAGE: "pydantic.control_characters",
    "lists a service twice": "error.service_twice",
}


def _no_controls(value: Any) -> Any:
    """Refuse control characters in text as input everywhere, on every backend (DESIGN §3)."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and (found := CONTROLS.search(text)):
            raise ValueError(NUL_MESSAGE if found.group() == "\x00" else CONTROL_MESSAGE)
    return value


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return _no_controls(value)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---- people and tokens -----------------------------------------------------------------------


class TokenCreate(Input):
    """An API token an admin makes on the 账号与令牌 page (for themselves: it is revoked when
    they are disabled)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    role: Role
    expires_in_days: Annotated[int, Field(ge=1, le=36_500)] | None = None


# ---- services --------------------------------------------------------------------------------


class ServiceCreate(Input):
    key: ServiceKey
    name: str = Field(min_length=1, max_length=200)
    tier: Tier = Field(2, description="1 moves money, 2 supports it, 3 internal")
    objective: float = Field(0.9999, gt=0, lt=1, description="Availability objective")
    description: str = Field("", max_length=10000)

    @field_validator("key")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_SERVICE_KEYS:
            raise ValueError(f"{value!r} is reserved")
        return value


class ServicePatch(Input):
    name: str = Omittable(min_length=1, max_length=200)
    tier: Tier = Omittable()
    objective: float = Omittable(gt=0, lt=1)
    description: str = Omittable(max_length=10000)


class ServiceOut(Output):
    key: str
    name: str
    tier: int
    objective: float
    description: str
    created_at: UtcTime
    updated_at: UtcTime


# ---- incidents -------------------------------------------------------------------------------


class Responsibility(Input):
    party: str = Field(min_length=1, max_length=200, examples=["payments team"])
    share: Annotated[float, NoBool] = Field(
        ge=0, le=1, description="全责 1, 主责 0.7, 同责 0.5, 次责 0.3, 无责 0"
    )
    internal: StrictBool = True


def _shares_at_most_one(entries: list[Responsibility]) -> list[Responsibility]:
    if sum(e.share for e in entries) > 1 + SHARE_TOLERANCE:
        raise ValueError("shares must sum to at most 1")
    return entries


def _distinct(keys: list[str]) -> list[str]:
    if len(set(keys)) != len(keys):
        raise ValueError("lists a service twice")
    return keys


ResponsibilityList = Annotated[
    list[Responsibility], Field(max_length=50), AfterValidator(_shares_at_most_one)
]
ServiceKeys = Annotated[
    list[ServiceKey], Field(min_length=1, max_length=100), AfterValidator(_distinct)
]
PostmortemUrl = Annotated[HttpUrl, Field(max_length=2000)]
MAX_ROW_ID = 2**31 - 1  # a SERIAL column's largest id: a larger one would overflow the driver
RowId = Annotated[int, NoBool, Field(ge=1, le=MAX_ROW_ID)]


class IncidentFields(Input):
    """Every writable incident field; shared by create and patch."""

    title: str = Field(min_length=1, max_length=200)
    summary: str = Field("", max_length=10000)
    services: ServiceKeys
    status: Status = "open"
    grade: Grade | None = Field(None, description="null = not graded yet; none = not an incident")
    grade_reason: str = Field("", max_length=10000)
    impact_started_at: Instant | None = Field(None, description="Defaults to detected_at")
    detected_at: Instant
    acknowledged_at: Instant | None = None
    mitigated_at: Instant | None = Field(None, description="Customer impact ended")
    resolved_at: Instant | None = None
    impact_ratio: Annotated[float, NoBool] = Field(1.0, ge=0, le=1)
    counts_toward_availability: StrictBool = True
    responsibility: ResponsibilityList = Field(default_factory=list)
    root_cause: RootCause = "unknown"
    detection_source: DetectionSource = "monitoring"
    location: str = Field("", max_length=200)
    affected_transactions: Annotated[int, NoBool] | None = Field(None, ge=0, le=2**62)
    affected_amount: Amount | None = None
    fund_loss: Amount | None = None
    regulatory_level: RegulatoryLevel = "none"
    postmortem_url: PostmortemUrl | None = None
    regulatory_reported_at: Instant | None = Field(
        None, description="When the regulator was told (DESIGN §11)"
    )


class IncidentCreate(IncidentFields):
    pass


class IncidentPatch(IncidentFields):
    """Any writable field; fields left out keep their value."""

    title: str = Omittable(min_length=1, max_length=200)
    summary: str = Omittable(max_length=10000)
    services: ServiceKeys = Omittable()
    status: Status = Omittable()
    grade_reason: str = Omittable(max_length=10000)
    detected_at: Instant = Omittable()
    impact_ratio: Annotated[float, NoBool] = Omittable(ge=0, le=1)
    counts_toward_availability: StrictBool = Omittable()
    responsibility: ResponsibilityList = Omittable()
    root_cause: RootCause = Omittable()
    detection_source: DetectionSource = Omittable()
    location: str = Omittable(max_length=200)
    regulatory_level: RegulatoryLevel = Omittable()

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as Python values."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class IncidentRecord(Output):
    """An incident's stored fields (what the audit trail compares)."""

    id: int
    title: str
    summary: str
    services: list[str]
    status: Status
    grade: Grade | None
    grade_reason: str
    impact_started_at: UtcTime
    detected_at: UtcTime
    acknowledged_at: UtcTime | None
    mitigated_at: UtcTime | None
    resolved_at: UtcTime | None
    impact_ratio: float
    counts_toward_availability: bool
    responsibility: list[Responsibility]
    root_cause: RootCause
    detection_source: DetectionSource
    location: str
    affected_transactions: int | None
    affected_amount: Amount | None
    fund_loss: Amount | None
    regulatory_level: RegulatoryLevel
    postmortem_url: str | None
    regulatory_reported_at: UtcTime | None = None
    created_at: UtcTime
    updated_at: UtcTime
    created_by: str
    alerts_resolved_at: UtcTime | None = Field(
        None, description="A draft from alerts: when its last alert resolved (a proposal)"
    )


class IncidentOut(IncidentRecord):
    """An incident as read: its fields and what is computed from them as of now."""

    suggested_grade: Grade
    suggested_grade_reason: str
    attributed_weight: float
    regulatory_deadline: UtcTime | None = Field(
        None, description="When the regulator must have heard of it (a reported level only)"
    )
    pending_change_id: int | None = Field(
        None,
        description="In a write's answer: the change of grade, responsibility or regulatory "
        "level it proposed, waiting for approval (/changes/{id}); the record shows the values "
        "in force",
    )


# ---- after the incident (DESIGN §11) --------------------------------------------------------


class FollowUpCreate(Input):
    title: str = Field(min_length=1, max_length=200)
    owner: str = Field(min_length=1, max_length=200, description="Who does it")
    due_on: date = Field(description="Local date it is due; overdue from the day after")
    status: FollowUpStatus = "open"
    priority: Priority = "medium"
    url: PostmortemUrl | None = Field(None, description="The ticket")


class FollowUpPatch(Input):
    """Any field; fields left out keep their value."""

    title: str = Omittable(min_length=1, max_length=200)
    owner: str = Omittable(min_length=1, max_length=200)
    due_on: date = Omittable()
    status: FollowUpStatus = Omittable()
    priority: Priority = Omittable()
    url: PostmortemUrl | None = Omittable()

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class FollowUpOut(Output):
    id: int
    incident_id: int
    incident_title: str
    title: str
    owner: str
    due_on: date
    status: FollowUpStatus
    priority: Priority
    url: str | None
    done_at: UtcTime | None
    overdue: bool = Field(description="Open or in progress and due before today (local)")
    created_at: UtcTime
    updated_at: UtcTime
    created_by: str


class ChangeDecision(Input):
    reason: str = Field(min_length=1, max_length=2000, description="Why (both steps say why)")


class ChangeOut(Output):
    id: int
    incident_id: int
    incident_title: str
    proposed_by: str
    proposed_at: UtcTime
    before: dict[str, Any] = Field(description="The values in force when it was proposed")
    after: dict[str, Any] = Field(description="The values it proposes")
    reason: str
    status: ChangeStatus
    decided_by: str | None
    decided_at: UtcTime | None
    decision_reason: str


class TimelineCreate(Input):
    at: Instant
    text: str = Field(min_length=1, max_length=10000)


class TimelineOut(Output):
    id: int
    incident_id: int
    at: UtcTime
    text: str
    author: str


class IncidentMerge(Input):
    into: RowId = Field(description="The incident the draft joins")


class DraftDismiss(Input):
    reason: str = Field(min_length=1, max_length=2000)


# ---- alert intake (DESIGN §9) ----------------------------------------------------------------

GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert still firing


def _rfc3339(value: Any) -> Any:
    """Alertmanager's times are RFC 3339 text (nanoseconds are cut to microseconds)."""
    if isinstance(value, str) and RFC3339.match(value):
        return value
    raise ValueError("must be an RFC 3339 time, e.g. 2024-07-23T02:04:00.123Z")


def _zero_time_is_none(value: Any) -> Any:
    return None if value in (GO_ZERO_TIME, "", None) else value


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
AlertTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339), _between(STORED_FROM, ASKED_UNTIL)]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL's text and jsonb hold no U+0000
LabelName = Annotated[str, Field(min_length=1, max_length=256, pattern=NO_NUL)]
Labels = dict[LabelName, Annotated[str, Field(max_length=4096, pattern=NO_NUL)]]
Annotations = dict[LabelName, Annotated[str, Field(max_length=65_536, pattern=NO_NUL)]]


class AlertIn(BaseModel):
    """One alert of Alertmanager's webhook (version 4); Grafana's extra fields are kept."""

    model_config = ConfigDict(extra="allow")

    status: AlertStatus
    labels: Labels
    annotations: Annotations = Field(default_factory=dict)
    startsAt: AlertTime
    endsAt: Annotated[AlertTime | None, BeforeValidator(_zero_time_is_none)] = None
    generatorURL: str = Field("", max_length=4096, pattern=NO_NUL)
    fingerprint: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._:-]+$")


class AlertmanagerWebhook(BaseModel):
    """Alertmanager's webhook body, version 4 (Grafana's contact point sends the same)."""

    model_config = ConfigDict(extra="allow")

    version: str = "4"
    groupKey: str = Field(min_length=1, max_length=8192, pattern=NO_NUL)
    truncatedAlerts: int = Field(0, ge=0)
    status: AlertStatus
    receiver: str = Field("", max_length=1024)
    groupLabels: Labels = Field(default_factory=dict)
    commonLabels: Labels = Field(default_factory=dict)
    commonAnnotations: Annotations = Field(default_factory=dict)
    externalURL: str = Field("", max_length=4096)
    alerts: list[AlertIn]


class AlertsReceived(BaseModel):
    alerts: int = Field(description="Alerts in the notification")
    incidents: list[int] = Field(description="The records they opened or joined")


class AlertOut(Output):
    id: int
    incident_id: int
    fingerprint: str
    status: AlertStatus
    starts_at: UtcTime
    ends_at: UtcTime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str
    received_at: UtcTime
    last_seen_at: UtcTime


# ---- maintenance, audit, tokens --------------------------------------------------------------


MaintenanceServices = Annotated[
    list[str], Field(min_length=1, max_length=100), AfterValidator(_distinct)
]


class MaintenanceCreate(Input):
    services: MaintenanceServices = Field(
        description='Service keys, or ["all"]', examples=[["all"]]
    )
    starts_at: Instant
    ends_at: Instant
    reason: str = Field(min_length=1, max_length=2000)
    announced_at: Instant


class MaintenancePatch(Input):
    """Any field of a window; fields left out keep their value."""

    services: MaintenanceServices = Omittable()
    starts_at: Instant = Omittable()
    ends_at: Instant = Omittable()
    reason: str = Omittable(min_length=1, max_length=2000)
    announced_at: Instant = Omittable()

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class MaintenanceOut(Output):
    id: int
    services: list[str]
    starts_at: UtcTime
    ends_at: UtcTime
    reason: str
    announced_at: UtcTime
    counts_as_maintenance: bool = Field(
        description="Announced early enough (and not cancelled) to be removed from availability"
    )
    created_at: UtcTime
    created_by: str
    cancelled_at: UtcTime | None = Field(description="When it was called off; null: it stands")
    cancelled_by: str | None


class AuditOut(Output):
    id: int
    at: UtcTime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class NotificationOut(Output):
    """A message of the outbox: where it goes, what it says in a line, how sending it went
    (never the channel's URL or secret)."""

    id: int
    delivery: str
    channel: str
    event: NotificationEvent
    subject: str
    title: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: UtcTime
    last_error: str
    created_at: UtcTime
    sent_at: UtcTime | None


# ---- queries and pages -----------------------------------------------------------------------


def _plus_from_query(value: Any) -> Any:
    """An unencoded `+` in a query string arrives as a space; put it back for offsets."""
    if isinstance(value, str) and "T" in value and " " in value:
        return value.replace(" ", "+")
    return value


QueryInstant = Annotated[
    AwareDatetime,
    BeforeValidator(_text_time),
    BeforeValidator(_plus_from_query),
    _between(ASKED_FROM, ASKED_UNTIL),
]


class PageQuery(Input):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the last page")
    page: int | None = Field(None, ge=1, le=1_000_000, description="1-based page number")


class IncidentQuery(PageQuery):
    since: QueryInstant | None = Field(None, description="detected_at ≥ since")
    until: QueryInstant | None = Field(None, description="detected_at < until")
    grade: ListGrade | None = None
    service: ServiceKey | None = None
    status: Status | None = None
    q: str | None = Field(
        None, min_length=1, max_length=100, description="Search text (as written: % and _ too)"
    )


AuditEntity = Literal[
    "service",
    "incident",
    "timeline_entry",
    "maintenance_window",
    "token",
    "payment_import",
    "weekly_review",
    "user",
    "follow_up",
    "pending_change",
]


class AuditQuery(PageQuery):
    entity: AuditEntity | None = None
    entity_id: str | None = Field(None, max_length=64)
    since: QueryInstant | None = None


class FollowUpQuery(PageQuery):
    status: FollowUpStatus | None = None
    owner: str | None = Field(None, min_length=1, max_length=200)
    overdue: bool | None = Field(None, description="true: only the overdue ones")


class ChangeQuery(PageQuery):
    status: ChangeStatus | None = None
    incident_id: RowId | None = None


class NotificationQuery(PageQuery):
    status: NotificationStatus | None = None
    channel: str | None = Field(None, max_length=64)


class MaintenanceQuery(PageQuery):
    since: QueryInstant | None = Field(None, description="windows ending after since")
    until: QueryInstant | None = Field(None, description="windows starting before until")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: what the services return and the API documents."""

    items: list[T]
    limit: int
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at end")
    page: int | None = None

    @classmethod
    def of(cls, items: list[Any], limit: int, next_cursor: str | None, page: int | None) -> Page:
        """A page of items already made (no validation again)."""
        return cls.model_construct(items=items, limit=limit, next_cursor=next_cursor, page=page)

    def map(self, fn: Callable[[Any], Any]) -> Page:
        return Page.of([fn(item) for item in self.items], self.limit, self.next_cursor, self.page)


class ItemList(BaseModel, Generic[T]):
    items: list[T]


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list)


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


# ---- SLO -------------------------------------------------------------------------------------

WindowName = Literal[WINDOWS]  # type: ignore[valid-type]


class AvailabilityQuery(Input):
    service: str = Field("all", max_length=63, description="A service key, or `all`")
    window: WindowName | None = Field(None, description="A named window ending now")
    since: QueryInstant | None = Field(None, description="Start of a range (instead of window)")
    until: QueryInstant | None = Field(None, description="End of the range; default now")


class ErrorBudgetOut(Output):
    budget_seconds: float = Field(description="(1 − objective) × eligible time")
    remaining_ratio: float | None = Field(description="1 − downtime / budget; negative: overspent")
    burn_rate: float | None = Field(description="(downtime / eligible) / (1 − objective)")


class YearOutlookOut(Output):
    budget_minutes_left: float = Field(description="Budget minutes left this year")
    required_availability: float | None = Field(
        description="Availability the rest of the year needs to still meet the objective"
    )


class AvailabilityOut(Output):
    service: str
    window: WindowName | None
    since: UtcTime
    until: UtcTime
    objective: float
    availability: float | None = Field(description="1 − downtime / eligible; null: no data")
    availability_display: str = Field(description="Truncated to 3 places, e.g. 99.998%")
    downtime_seconds: float
    eligible_seconds: float
    error_budget: ErrorBudgetOut
    year: YearOutlookOut | None = Field(description="For window ytd only")


# ---- payments --------------------------------------------------------------------------------

CHANNEL_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
Channel = Annotated[str, Field(pattern=CHANNEL_PATTERN, examples=["unionpay"])]


# Checked as text (fast on big batches) and turned into fen by the payment service.
FEN_AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$"
FenAmount = Annotated[
    str,
    Field(
        pattern=FEN_AMOUNT_PATTERN,
        examples=["1234.50"],
        description="CNY as a decimal string, at most two places",
    ),
]


@with_config(ConfigDict(extra="forbid", str_strip_whitespace=True))
class PaymentCountRow(TypedDict):
    """One minute bucket. A TypedDict, not a model: batches of 10,000 validate twice as fast."""

    minute: Annotated[Instant, Field(description="Bucket start, a whole minute (seconds = 0)")]
    direction: Direction
    channel: Channel
    scope: Annotated[Scope, Field(description="final: the order's outcome")]
    outcome: Outcome
    count: Annotated[int, NoBool, Field(ge=0, le=2**62)]
    amount: NotRequired[FenAmount | None]


class PaymentCountBatch(Input):
    counts: list[PaymentCountRow] = Field(
        description="At most payments.max_batch_rows rows (more is a 413)"
    )


class Upserted(BaseModel):
    upserted: int


class RateQuery(Input):
    window: WindowName | None = Field(None, description="A named window ending now")
    since: QueryInstant | None = Field(None, description="Start of a range (instead of window)")
    until: QueryInstant | None = Field(None, description="End of the range; default now")
    channel: Channel | Literal["all"] = "all"
    lang: Lang = Field("zh", description="Language of `label` and `display`")


class RateOut(BaseModel):
    rate: str
    label: str = Field(description="The rate's label in `lang` (default zh)")
    label_en: str
    value: float | None = Field(description="numerator / denominator; null: no data")
    display: str = Field(description="Truncated to 3 places, e.g. 99.994% (无数据 / no data)")
    numerator: int
    denominator: int


class RatesOut(BaseModel):
    since: UtcTime
    until: UtcTime
    counted_since: UtcTime = Field(
        description="Where the counts really start: `since`, or the hour before it when it "
        "lies in history folded into hours (payments.keep_minutes_days)"
    )
    counted_until: UtcTime = Field(description="Where the counts really end (likewise)")
    exact_to: Literal["minute", "hour"] = Field(
        description="`hour` when an edge of the range lies in folded history off the hour"
    )
    channel: str
    items: list[RateOut]


class DipQuery(Input):
    window: WindowName | None = Field(None, description="A named window ending now (default 1d)")
    since: QueryInstant | None = Field(None, description="Start of a range (instead of window)")
    until: QueryInstant | None = Field(None, description="End of the range; default now")
    channel: Channel | Literal["all"] | None = Field(
        None, description="One channel, or `all` (their sum); absent: every channel and `all`"
    )
    rate: str | None = Field(None, max_length=63, description="One rate (one with dip_below)")
    unlogged: bool = Field(False, description="Only the dips no record or maintenance covers")
    lang: Lang = Field("zh", description="Language of `label` and `worst_display`")


class DipOut(BaseModel):
    rate: str
    label: str = Field(description="The rate's label in `lang`")
    channel: str = Field(description="A channel, or `all`")
    started_at: UtcTime = Field(description="window − 1 minutes before its first low minute")
    ended_at: UtcTime = Field(description="The end of its last low minute (exclusive)")
    worst_value: float = Field(description="The lowest rate over the window of a low minute")
    worst_display: str
    attempts: int = Field(description="Counted attempts in [started_at, ended_at)")
    failures: int = Field(description="Counted attempts that did not succeed")
    incident_ids: list[int] = Field(description="Records impaired during it (± the slack)")
    maintenance_ids: list[int] = Field(description="Maintenance windows covering it (± slack)")
    logged: bool = Field(description="A record or maintenance window covers it")


class DipsOut(BaseModel):
    since: UtcTime
    until: UtcTime
    items: list[DipOut]


# ---- reports ---------------------------------------------------------------------------------


class SummaryQuery(Input):
    format: Literal["md", "json"] = Field("md", description="md (default) or json")
    lang: Lang = Field("zh", description="zh (default) or en")


class ChartQuery(Input):
    lang: Lang = Field(
        "zh", description="zh (default) or en; zh falls back to en where no Chinese font exists"
    )


class ReportQuery(SummaryQuery):
    format: Literal["md", "json", "csv"] = Field("md", description="md (default), json or csv")
    detail: Detail | None = Field(
        None,
        description="What follows each event: its title, or its summary and record link too "
        "(default: the `report.event_detail` setting)",
    )
