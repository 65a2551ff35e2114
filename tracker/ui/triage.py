"""The triage queue (DESIGN §9): drafts opened from alerts, each with its alerts, to accept
(services, status, times; the grade comes later, on the incident's page), merge into an
incident already logged, or dismiss with a reason."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, redirect, render_template, request

from tracker.clock import utcnow
from tracker.context import grading, settings, zone
from tracker.core.texts import text
from tracker.errors import Invalid
from tracker.schemas import IncidentPatch, IncidentQuery
from tracker.services import alerts, catalog, incidents
from tracker.ui import form_errors, lang, needs, ui, validated
from tracker.ui.forms import api_values, local_text

ACCEPT_STATUSES = ("open", "mitigated", "resolved")
TIMES = ("impact_started_at", "mitigated_at", "resolved_at")


def _queue_page(errors: dict[int, dict[str, str]] | None = None, status: int = 200) -> Any:
    now = utcnow()
    drafts = incidents.list_incidents(
        IncidentQuery(status="triage", limit=100), rules=grading(), now=now
    ).items
    drafts = sorted(drafts, key=lambda d: (d.detected_at, d.id))
    open_ones = incidents.list_incidents(IncidentQuery(limit=100), rules=grading(), now=now).items
    page = render_template(
        "triage.html",
        drafts=drafts,
        alerts=alerts.alerts_of([d.id for d in drafts]),
        targets=[i for i in open_ones if i.status not in ("triage", "cancelled")],
        services=(services := catalog.list_services()),
        names={s.key: s.name for s in services},
        statuses=ACCEPT_STATUSES,
        errors=errors or {},
        times={d.id: {n: local_text(getattr(d, n), zone()) for n in TIMES} for d in drafts},
        proposed={d.id: local_text(d.alerts_resolved_at, zone()) for d in drafts},
    )
    return page, status


@ui.get("/triage")
@needs("read")
def triage_page() -> Any:
    return _queue_page()


def _failed(draft_id: int, exc: Invalid) -> Any:
    return _queue_page({draft_id: form_errors(exc)}, 422)


@ui.post("/triage/<int:draft_id>/accept")
@needs("respond")
def triage_accept(draft_id: int) -> Response | Any:
    form = request.form
    values: dict[str, Any] = {"status": form.get("status", "open")}
    values["services"] = form.getlist("services")
    for name in TIMES:
        if form.get(name, "").strip():
            values[name] = form[name].strip()
    try:
        patch = validated(IncidentPatch, api_values(values, zone()))
        incidents.update_incident(
            draft_id, patch, actor=g.actor, rules=grading(), now=utcnow(), settings=settings()
        )
    except Invalid as exc:
        return _failed(draft_id, exc)
    flash(text("draft_accepted", lang()))
    return redirect(f"/incidents/{draft_id}")


@ui.post("/triage/<int:draft_id>/merge")
@needs("respond")
def triage_merge(draft_id: int) -> Response | Any:
    try:
        into = int(request.form.get("into", "0") or 0)
    except ValueError:
        into = 0
    try:
        merged = alerts.merge_draft(
            draft_id, into, actor=g.actor, rules=grading(), now=utcnow(), settings=settings()
        )
    except Invalid as exc:
        return _failed(draft_id, exc)
    flash(text("draft_merged", lang()))
    return redirect(f"/incidents/{merged.id}")


@ui.post("/triage/<int:draft_id>/dismiss")
@needs("respond")
def triage_dismiss(draft_id: int) -> Response | Any:
    reason = request.form.get("reason", "").strip()
    try:
        if not reason:
            raise Invalid.one("reason", "say why the draft is dismissed", "error.dismiss_reason")
        alerts.dismiss_draft(
            draft_id, reason, actor=g.actor, rules=grading(), now=utcnow(), settings=settings()
        )
    except Invalid as exc:
        return _failed(draft_id, exc)
    flash(text("draft_dismissed", lang()))
    return redirect("/triage")
