"""/alerts/alertmanager: Alertmanager's (and Grafana's) webhook opens triage drafts;
/incidents/{id}/alerts, /merge and /dismiss: what the triage queue shows and does."""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import actor, grading, settings
from tracker.schemas import (
    AlertmanagerWebhook,
    AlertOut,
    AlertsReceived,
    DraftDismiss,
    IncidentMerge,
    IncidentOut,
    ItemList,
)
from tracker.services import alerts

TAGS = ("alerts",)


@api.post("/alerts/alertmanager")
@endpoint(right="ingest", body=AlertmanagerWebhook, resp=AlertsReceived, tags=TAGS)
def alertmanager(body: AlertmanagerWebhook):
    """Alertmanager's webhook (version 4): firing alerts open a draft or join their group's
    record; the same alert sent again adds nothing."""
    return alerts.receive(body, actor=actor(), now=utcnow(), settings=settings())


@api.get("/incidents/<int:incident_id>/alerts")
@endpoint(resp=ItemList[AlertOut], tags=TAGS)
def list_alerts(incident_id: int):
    """The alerts that opened or joined a record."""
    return alerts.list_alerts(incident_id)


@api.post("/incidents/<int:incident_id>/merge")
@endpoint(right="respond", body=IncidentMerge, resp=IncidentOut, tags=TAGS)
def merge(incident_id: int, body: IncidentMerge):
    """Merge a draft into an incident already logged: its alerts and timeline move there,
    and the draft is cancelled."""
    return alerts.merge_draft(
        incident_id, body.into, actor=actor(), rules=grading(), now=utcnow(), settings=settings()
    )


@api.post("/incidents/<int:incident_id>/dismiss")
@endpoint(right="respond", body=DraftDismiss, resp=IncidentOut, tags=TAGS)
def dismiss(incident_id: int, body: DraftDismiss):
    """Dismiss a draft: cancelled, with the reason on its timeline."""
    return alerts.dismiss_draft(
        incident_id, body.reason, actor=actor(), rules=grading(), now=utcnow(), settings=settings()
    )
