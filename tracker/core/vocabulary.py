"""The product's vocabulary (DESIGN §3) as data: every enumerated value in one place."""

from typing import Literal, get_args

Status = Literal["open", "mitigated", "resolved", "closed", "cancelled"]
Grade = Literal["A", "B", "C", "D", "none"]
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

STATUSES: tuple[str, ...] = get_args(Status)
GRADES: tuple[str, ...] = get_args(Grade)
INCIDENT_GRADES: tuple[str, ...] = ("A", "B", "C", "D")
ROOT_CAUSES: tuple[str, ...] = get_args(RootCause)
DETECTION_SOURCES: tuple[str, ...] = get_args(DetectionSource)
REGULATORY_LEVELS: tuple[str, ...] = get_args(RegulatoryLevel)
ROLES: tuple[str, ...] = get_args(Role)
OUTCOMES: tuple[str, ...] = get_args(Outcome)

# Most severe first; `none` (an event that is not an incident) ranks below D.
SEVERITY: dict[str, int] = {"A": 4, "B": 3, "C": 2, "D": 1, "none": 0}

RESERVED_SERVICE_KEYS = frozenset({"all"})
SERVICE_KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
