"""The product's vocabulary (DESIGN §3) as data: every enumerated value in one place."""

from typing import Literal, get_args

# `triage`: a draft opened from alerts (DESIGN §9), a proposal until a person accepts it.
Status = Literal["triage", "open", "mitigated", "resolved", "closed", "cancelled"]
IncidentGrade = Literal["A", "B", "C", "D"]  # a record that is an incident
Grade = Literal[IncidentGrade, "none"]
RootCause = Literal[
    "change",
    "code_defect",
    "capacity",
    "database",
    "infrastructure",
    "network_carrier",
    "third_party_channel",
    "third_party_cloud",
    "security",
    "data",
    "operator_error",
    "unknown",
]
DetectionSource = Literal[
    "monitoring", "customer_report", "channel_notice", "reconciliation", "inspection", "other"
]
RegulatoryLevel = Literal["none", "general", "larger", "major", "extraordinary"]
Role = Literal["viewer", "ingest", "responder", "admin"]
Outcome = Literal[
    "success", "user", "merchant", "risk", "bank_decline", "channel", "system", "pending", "invalid"
]
Tier = Literal[1, 2, 3]
Direction = Literal["pay_in", "pay_out"]
ListGrade = Literal["A", "B", "C", "D", "AB", "none", "ungraded"]  # what a list filters by
Scope = Literal["final", "first_attempt"]
# What the chat groups hear (DESIGN §10), and where they hear it.
NotificationEvent = Literal[
    "incident.draft",
    "incident.created",
    "incident.graded",
    "incident.status",
    "incident.regulatory_due",
    "followup.overdue",
    "review.weekly",
    "payments.dip_unlogged",
]
# After the incident (DESIGN §11): follow-ups and their priorities; changes awaiting approval.
FollowUpStatus = Literal["open", "in_progress", "done", "wont_do"]
Priority = Literal["high", "medium", "low"]
ChangeStatus = Literal["pending", "approved", "rejected", "withdrawn"]
ChannelKind = Literal["wecom", "dingtalk", "feishu", "slack", "webhook", "email"]
NotificationStatus = Literal["pending", "sent", "failed"]

STATUSES: tuple[str, ...] = get_args(Status)
# Records no figure, report or metric counts: drafts nobody accepted, and the cancelled.
UNCOUNTED_STATUSES: tuple[str, ...] = ("triage", "cancelled")
# Records an alert of their group may still join: not resolved yet.
JOINABLE_STATUSES: tuple[str, ...] = ("triage", "open", "mitigated")
AlertStatus = Literal["firing", "resolved"]
# What became of an alert that arrived (tracker_alerts_received_total{result}).
ALERT_RESULTS: tuple[str, ...] = ("new", "resolved", "repeat", "ignored")
GRADES: tuple[str, ...] = get_args(Grade)
INCIDENT_GRADES: tuple[str, ...] = get_args(IncidentGrade)
ROOT_CAUSES: tuple[str, ...] = get_args(RootCause)
DETECTION_SOURCES: tuple[str, ...] = get_args(DetectionSource)
REGULATORY_LEVELS: tuple[str, ...] = get_args(RegulatoryLevel)
ROLES: tuple[str, ...] = get_args(Role)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
SCOPES: tuple[str, ...] = get_args(Scope)
NOTIFICATION_EVENTS: tuple[str, ...] = get_args(NotificationEvent)
CHANNEL_KINDS: tuple[str, ...] = get_args(ChannelKind)
NOTIFICATION_STATUSES: tuple[str, ...] = get_args(NotificationStatus)
FOLLOW_UP_STATUSES: tuple[str, ...] = get_args(FollowUpStatus)
FOLLOW_UP_OPEN: tuple[str, ...] = ("open", "in_progress")  # what can fall overdue
PRIORITIES: tuple[str, ...] = get_args(Priority)
CHANGE_STATUSES: tuple[str, ...] = get_args(ChangeStatus)
# The fields whose change waits for a second admin when `grading.approval` is on (DESIGN §11).
APPROVED_FIELDS: tuple[str, ...] = ("grade", "responsibility", "regulatory_level")
# Regulatory levels the regulator must hear of within `regulatory.report_within_minutes`.
REPORTED_LEVELS: tuple[str, ...] = ("larger", "major", "extraordinary")

# Grades counted together (DESIGN §4.3): A and B are reported as AB, the major tier.
GRADE_GROUPS: dict[str, tuple[str, ...]] = {"AB": ("A", "B")}
COUNT_GRADES: tuple[str, ...] = (*INCIDENT_GRADES, *GRADE_GROUPS)  # every grade a count has
REPORTED_GRADES: tuple[str, ...] = ("AB", "C", "D")  # the weekly review's line, in its order
SUMMARY_GRADES: tuple[str, ...] = ("AB", "A", "B", "C", "D")  # a summary's rows, AB first
LIST_GRADES: tuple[str, ...] = get_args(ListGrade)

# `all`: the scope of every service (availability), the sum of every channel (rates).
ALL = "all"

# Most severe first; `none` (an event that is not an incident) ranks below D.
SEVERITY: dict[str, int] = {"A": 4, "B": 3, "C": 2, "D": 1, "none": 0}

RESERVED_SERVICE_KEYS = frozenset({ALL})
SERVICE_KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
