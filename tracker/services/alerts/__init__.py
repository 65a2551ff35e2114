"""Alert intake (DESIGN §9): `intake` turns Alertmanager's notifications into triage drafts
and timeline entries; `triage` is what a person does with a draft."""

from tracker.services.alerts.intake import receive
from tracker.services.alerts.triage import (
    alerts_of,
    dismiss_draft,
    draft_count,
    list_alerts,
    merge_draft,
    received,
)

__all__ = [
    "alerts_of",
    "dismiss_draft",
    "draft_count",
    "list_alerts",
    "merge_draft",
    "receive",
    "received",
]
