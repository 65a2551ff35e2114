"""Alertmanager's webhook into the ledger (DESIGN §9). Firing alerts of a group open a
triage draft, or join the group's record not resolved yet; every alert that fires or
resolves gets a timeline entry. An alert is (fingerprint, startsAt): repeats, HA copies and
retries add nothing, and a group is taken under a lock of its own, so copies racing into two
replicas make one alert and one draft. Nothing from an alert sets a grade or `mitigated_at`:
when the last alert of a record resolves, its `alerts_resolved_at` proposes the end."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from peewee import chunked
from playhouse.shortcuts import model_to_dict

from tracker.core.vocabulary import ALERT_RESULTS, JOINABLE_STATUSES
from tracker.db import database, exclusive
from tracker.errors import BatchTooLarge, Invalid
from tracker.models import Alert, Incident, IncidentService, Service, State, TimelineEntry
from tracker.schemas import AlertIn, AlertmanagerWebhook, AlertsReceived
from tracker.services import audit, notifications
from tracker.services.incidents import audited_record, incident_view
from tracker.settings import AlertSettings, Settings

TITLE_LENGTH = 200  # Incident.title
ROWS_PER_INSERT = 500  # 12 columns each: well under the parameters a statement may bind
RECEIVED = "alerts.received.{result}"  # tracker_alerts_received_total{result}


@dataclass
class _Tally:
    results: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ALERT_RESULTS, 0))
    incidents: set[int] = field(default_factory=set)


def check_size(body: AlertmanagerWebhook, *, settings: Settings) -> None:
    most = settings.alerts.max_per_request
    if len(body.alerts) > most:
        raise BatchTooLarge(f"{len(body.alerts)} alerts in one notification; at most {most}")


def group_hash(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


def ignored(alert: AlertIn, rules: Mapping[str, list[str]]) -> bool:
    """The alert has a label value `alerts.ignore` drops."""
    return any(alert.labels.get(label) in values for label, values in rules.items())


def named_services(alerts: list[AlertIn], config: AlertSettings) -> list[Service]:
    """The services the alerts name through `alerts.service_label` and `service_map`, those
    that exist, in order."""
    named = []
    for alert in alerts:
        value = alert.labels.get(config.service_label)
        if value:
            key = config.service_map.get(value, value)
            if key not in named:
                named.append(key)
    known = {s.key: s for s in Service.by_keys(named)}
    return [known[key] for key in named if key in known]


def receive(
    body: AlertmanagerWebhook, *, actor: str, now: datetime, settings: Settings
) -> AlertsReceived:
    """Take one notification: all of it or, on an error, none of it."""
    check_size(body, settings=settings)
    if any(a.endsAt is not None and a.endsAt < a.startsAt for a in body.alerts):
        at = next(i for i, a in enumerate(body.alerts) if a.endsAt and a.endsAt < a.startsAt)
        raise Invalid.one(f"alerts[{at}].endsAt", "must not be before startsAt")
    tally = _Tally()
    kept = []
    for alert in body.alerts:
        if ignored(alert, settings.alerts.ignore):
            tally.results["ignored"] += 1
        else:
            kept.append(alert)
    hashed = group_hash(body.groupKey)
    with exclusive(database, f"tracker.alerts.{hashed}"):
        if kept:
            _take_group(body, kept, hashed, tally, actor=actor, now=now, settings=settings)
        for result, n in tally.results.items():
            if n:
                State.count(RECEIVED.format(result=result), n)
    return AlertsReceived(alerts=len(body.alerts), incidents=sorted(tally.incidents))


def _take_group(
    body: AlertmanagerWebhook,
    alerts: list[AlertIn],
    hashed: str,
    tally: _Tally,
    *,
    actor: str,
    now: datetime,
    settings: Settings,
) -> None:
    known = Alert.known((a.fingerprint, a.startsAt) for a in alerts)
    fresh = [a for a in alerts if (a.fingerprint, a.startsAt) not in known]
    record = Alert.record_of_group(hashed, JOINABLE_STATUSES)
    firing = [a for a in fresh if a.status == "firing"]
    if record is None and fresh:
        record = _open_draft(body, firing or fresh, actor=actor, now=now, settings=settings)
    touched: set[int] = set()
    rows, notes = [], []  # written a statement each, not a row at a time: storms are large
    for alert in fresh:
        assert record is not None
        rows.append(
            {
                "fingerprint": alert.fingerprint,
                "starts_at": alert.startsAt,
                "ends_at": alert.endsAt if alert.status == "resolved" else None,
                "status": alert.status,
                "group_hash": hashed,
                "group_key": body.groupKey,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "generator_url": alert.generatorURL,
                "incident": record.id,
                "received_at": now,
                "last_seen_at": now,
            }
        )
        notes.append(_note(record.id, alert, "fired", alert.startsAt, actor=actor, now=now))
        if alert.status == "resolved":
            ended = alert.endsAt or now
            notes.append(_note(record.id, alert, "resolved", ended, actor=actor, now=now))
            tally.results["resolved"] += 1
        tally.results["new"] += 1
        touched.add(record.id)
    for batch in chunked(rows, ROWS_PER_INSERT):
        Alert.insert_many(batch).execute()
    repeated = []
    for alert in alerts:
        stored = known.get((alert.fingerprint, alert.startsAt))
        if stored is None:
            continue
        if stored.status == "firing" and alert.status == "resolved":
            stored.status, stored.ends_at, stored.last_seen_at = "resolved", alert.endsAt, now
            stored.save()
            ended = alert.endsAt or now
            notes.append(_note(stored.incident_id, alert, "resolved", ended, actor=actor, now=now))
            tally.results["resolved"] += 1
        else:
            repeated.append(stored.id)
            tally.results["repeat"] += 1
        touched.add(stored.incident_id)
    for batch in chunked(repeated, ROWS_PER_INSERT):
        Alert.update(last_seen_at=now).where(Alert.id.in_(batch)).execute()
    for batch in chunked(notes, ROWS_PER_INSERT):
        TimelineEntry.insert_many(batch).execute()
    for incident_id in touched:
        propose_end(incident_id, now=now)
    tally.incidents |= touched


def _open_draft(
    body: AlertmanagerWebhook,
    alerts: list[AlertIn],
    *,
    actor: str,
    now: datetime,
    settings: Settings,
) -> Incident:
    """A triage draft for the group: never graded, its services named by the alerts."""
    started = min(a.startsAt for a in alerts)
    title = (
        body.commonAnnotations.get("summary")
        or body.groupLabels.get("alertname")
        or alerts[0].labels.get("alertname")
        or body.groupKey
    )
    incident = Incident.create(
        title=title.strip()[:TITLE_LENGTH] or "alert",
        summary=body.commonAnnotations.get("description", ""),
        status="triage",
        grade=None,
        detection_source="monitoring",
        impact_started_at=started,
        detected_at=started,
        created_at=now,
        updated_at=now,
        created_by=actor,
    )
    services = named_services(alerts, settings.alerts)
    IncidentService.insert_many(
        [{"incident": incident.id, "service": s.id} for s in services]
    ).execute()
    stored, keys = model_to_dict(incident, recurse=False), [s.key for s in services]
    audit.record(
        "create",
        "incident",
        incident.id,
        before=None,
        after=audited_record(stored, keys),
        actor=actor,
        now=now,
    )
    tiers = {s.key: s.tier for s in services}
    view = incident_view(stored, keys, tiers, rules=settings.rules(), now=now)
    record = view.model_dump(mode="json")  # as GET /incidents/{id} answers it: the webhook's
    notifications.incident_event("incident.draft", record, actor=actor, now=now, settings=settings)
    return incident


def _note(
    incident_id: int, alert: AlertIn, what: str, at: datetime, *, actor: str, now: datetime
) -> dict[str, object]:
    """`告警触发：PaymentErrors — summary`: a timeline entry of the record, to insert."""
    name = alert.labels.get("alertname", alert.fingerprint)
    summary = alert.annotations.get("summary", "")
    verb = "告警触发" if what == "fired" else "告警恢复"
    text = f"{verb}：{name}" + (f" — {summary}" if summary else "")
    return {
        "incident": incident_id,
        "at": min(at, now),
        "text": text[:10000],
        "author": actor,
        "created_at": now,
    }


def propose_end(incident_id: int, *, now: datetime) -> None:
    """When every alert of the record has resolved, the latest `endsAt` is the proposed end
    of impact; one still firing clears it."""
    alerts = Alert.of_incidents([incident_id]).get(incident_id, [])
    ends = [a.ends_at for a in alerts if a.ends_at is not None]
    done = bool(alerts) and all(a.status == "resolved" for a in alerts)
    proposed = max(ends) if done and ends else None
    current = Incident.select(Incident.alerts_resolved_at).where(Incident.id == incident_id)
    if current.scalar() != proposed:
        Incident.update(alerts_resolved_at=proposed).where(Incident.id == incident_id).execute()
