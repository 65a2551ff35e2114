"""The triage queue (DESIGN §9): drafts from alerts wait for a person, who accepts one (a
PATCH of its status and services, as any edit), merges it into an incident already logged,
or dismisses it with a reason."""

from __future__ import annotations

from datetime import datetime

from tracker.core.grading import GradingRules
from tracker.db import database, exclusive
from tracker.errors import Invalid, NotFound
from tracker.models import Alert, Incident, State, TimelineEntry
from tracker.schemas import AlertOut, IncidentOut, IncidentPatch, TimelineCreate
from tracker.services import audit
from tracker.services.alerts.intake import RECEIVED, propose_end
from tracker.services.incidents import add_timeline_entry, get_incident, update_incident
from tracker.settings import Settings


def list_alerts(incident_id: int) -> list[AlertOut]:
    if Incident.get_or_none(Incident.id == incident_id) is None:
        raise NotFound(f"no incident {incident_id}")
    alerts = Alert.of_incidents([incident_id]).get(incident_id, [])
    return [_alert_view(a) for a in alerts]


def alerts_of(incident_ids: list[int]) -> dict[int, list[AlertOut]]:
    """The alerts of each record, for the queue's page."""
    found = Alert.of_incidents(incident_ids)
    return {i: [_alert_view(a) for a in found.get(i, [])] for i in incident_ids}


def draft_count() -> int:
    """Drafts waiting: tracker_incidents_triage, and the queue's count in the navigation."""
    return Incident.drafts().count()


def received() -> dict[str, int]:
    """Alerts received so far by result: tracker_alerts_received_total."""
    return State.counters(RECEIVED.format(result=""))


def _alert_view(alert: Alert) -> AlertOut:
    return AlertOut(
        id=alert.id,
        incident_id=alert.incident_id,
        fingerprint=alert.fingerprint,
        status=alert.status,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
        received_at=alert.received_at,
        last_seen_at=alert.last_seen_at,
    )


def _draft(incident_id: int) -> Incident:
    draft = Incident.get_or_none(Incident.id == incident_id)
    if draft is None:
        raise NotFound(f"no incident {incident_id}")
    if draft.status != "triage":
        raise Invalid.one("id", f"incident {incident_id} is not a draft (it is {draft.status})")
    return draft


def merge_draft(
    draft_id: int,
    into: int,
    *,
    actor: str,
    rules: GradingRules,
    now: datetime,
    settings: Settings,
) -> IncidentOut:
    """The draft's alerts and timeline join incident `into`; the draft is cancelled."""
    with exclusive(database, f"tracker.incident.{draft_id}"):
        _draft(draft_id)
        target = Incident.get_or_none(Incident.id == into)
        if target is None or into == draft_id or target.status in ("triage", "cancelled"):
            raise Invalid.one("into", f"incident {into} is not an incident a draft may join")
        moved = Alert.update(incident=into).where(Alert.incident == draft_id).execute()
        TimelineEntry.update(incident=into).where(TimelineEntry.incident == draft_id).execute()
        audit.record(
            "merge",
            "incident",
            draft_id,
            before={"status": "triage"},
            after={"into": into, "alerts": moved},
            actor=actor,
            now=now,
        )
        update_incident(
            draft_id,
            IncidentPatch(status="cancelled"),
            actor=actor,
            rules=rules,
            now=now,
            settings=settings,
        )
        text = f"合并告警草稿 #{draft_id}（{moved} 条告警）"
        add_timeline_entry(into, TimelineCreate(at=now, text=text), actor=actor, now=now)
        propose_end(into, now=now)
    return get_incident(into, rules=rules, now=now)


def dismiss_draft(
    draft_id: int,
    reason: str,
    *,
    actor: str,
    rules: GradingRules,
    now: datetime,
    settings: Settings,
) -> IncidentOut:
    """Cancel a draft, the reason on its timeline."""
    with database.atomic():
        _draft(draft_id)
        add_timeline_entry(
            draft_id, TimelineCreate(at=now, text=f"忽略告警草稿：{reason}"), actor=actor, now=now
        )
        return update_incident(
            draft_id,
            IncidentPatch(status="cancelled"),
            actor=actor,
            rules=rules,
            now=now,
            settings=settings,
        )
