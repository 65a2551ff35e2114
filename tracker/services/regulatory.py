"""Regulatory deadlines (DESIGN §11): a record at 较大 (larger) or worse must reach the
regulator within `regulatory.report_within_minutes` of its detection; `incident.regulatory_due`
goes out 10 minutes before the deadline and again when it passes unreported."""

from __future__ import annotations

from datetime import datetime, timedelta

import peewee
from playhouse.shortcuts import model_to_dict

from tracker.core.aftercare import DUE_WARNING, LateReport, report_deadline, reported_late
from tracker.core.vocabulary import REPORTED_LEVELS
from tracker.db import database
from tracker.models import Incident, State, service_keys_by_incident
from tracker.services import notifications
from tracker.settings import Settings

WARNED = "regulatory.warned"  # State key prefix: the incidents warned of, by phase


def _unreported() -> peewee.ModelSelect:
    return Incident.select().where(
        Incident.regulatory_level.in_(REPORTED_LEVELS)
        & Incident.regulatory_reported_at.is_null()
        & (Incident.status != "cancelled")
    )


def overdue_count(*, now: datetime, settings: Settings) -> int:
    """Records past their deadline and not reported yet."""
    within = timedelta(minutes=settings.regulatory.report_within_minutes)
    return _unreported().where(Incident.detected_at <= now - within).count()


def reported_late_between(
    since: datetime, until: datetime, *, settings: Settings
) -> list[LateReport]:
    """The records detected in [since, until) that reached the regulator after their
    deadline, in detection order."""
    within = settings.regulatory.report_within_minutes
    rows = (
        Incident.detected_between(since, until)
        .where(
            Incident.regulatory_level.in_(REPORTED_LEVELS)
            & Incident.regulatory_reported_at.is_null(False)
            & (Incident.status != "cancelled")
        )
        .order_by(Incident.detected_at, Incident.id)
    )
    late = []
    for row in rows:
        deadline = report_deadline(row.regulatory_level, row.detected_at, within)
        if reported_late(deadline, row.regulatory_reported_at):
            late.append(LateReport(row.id, row.title, deadline, row.regulatory_reported_at))
    return late


def warn_due(*, now: datetime, settings: Settings) -> int:
    """Queue `incident.regulatory_due` for each unreported record whose deadline is 10
    minutes off or has passed: once per record and phase. Returns how many were queued."""
    from tracker.services.incidents import incident_view

    within = timedelta(minutes=settings.regulatory.report_within_minutes)
    rules = settings.rules()
    queued = 0
    with database.atomic():
        rows = list(_unreported().where(Incident.detected_at <= now - within + DUE_WARNING))
        keys = service_keys_by_incident([r.id for r in rows])
        for row in rows:
            phase = "passed" if row.detected_at + within <= now else "soon"
            key = f"{WARNED}.{row.id}.{phase}"
            if State.value_of(key) is not None:
                continue
            view = incident_view(model_to_dict(row), keys.get(row.id, []), {}, rules=rules, now=now)
            queued += notifications.incident_event(
                "incident.regulatory_due",
                view.model_dump(mode="json"),
                actor="scheduler",
                now=now,
                settings=settings,
            )
            State.insert(key=key, value=now.isoformat()).on_conflict_ignore().execute()
    return queued
