"""The incident pages: the list, the form to log one, and one record with its timeline and
audit trail, thin adapters over the incident service."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Response, flash, g, jsonify, redirect, render_template, request

from tracker.clock import utcnow
from tracker.context import grading, settings, zone
from tracker.core.texts import term, text
from tracker.core.vocabulary import (
    DETECTION_SOURCES,
    GRADES,
    LIST_GRADES,
    REGULATORY_LEVELS,
    ROOT_CAUSES,
    STATUSES,
)
from tracker.errors import Invalid, NotFound
from tracker.schemas import (
    AuditQuery,
    FollowUpCreate,
    IncidentCreate,
    IncidentPatch,
    IncidentQuery,
    TimelineCreate,
)
from tracker.services import audit, catalog, followups, incidents
from tracker.ui import csrf, csrf_checked, form_errors, lang, needs, ui, validated
from tracker.ui.aftercare import follow_up_context, follow_up_fields
from tracker.ui.forms import (
    api_values,
    base_of,
    changed,
    local_instant,
    local_text,
    offsets_of,
    shown,
    submitted,
)
from tracker.ui.present import audit_lines

PREFILLED_TIMES = ("impact_started_at", "detected_at", "mitigated_at")


def _choices() -> dict[str, Any]:
    return {
        "services": catalog.list_services(),
        "grades": GRADES,
        "statuses": STATUSES,
        "root_causes": ROOT_CAUSES,
        "sources": DETECTION_SOURCES,
        "regulatory_levels": REGULATORY_LEVELS,
        "offsets_of": lambda value: offsets_of(value, zone()),
        "names": {s.key: s.name for s in catalog.list_services()},
    }


@ui.get("/incidents")
@needs("read")
def incident_list() -> str:
    params = {k: v for k, v in request.args.items() if v and k != "lang"}
    query = validated(IncidentQuery, {"limit": 25, **params})
    page = incidents.list_incidents(query, rules=grading(), now=utcnow())
    services = catalog.list_services()
    return render_template(
        "incidents.html",
        page=page,
        params=params,
        grades=LIST_GRADES,
        statuses=STATUSES,
        services=services,
        names={s.key: s.name for s in services},
    )


def _new_values() -> dict[str, Any]:
    """What the form to log an incident starts with, and what its link fills in: a title
    and times (ISO 8601 with an offset), as the dashboard's 登记事件 of a dip passes them."""
    values = {
        "detected_at": local_text(utcnow(), zone()),
        "status": "open",
        "impact_ratio": "1",
        "counts_toward_availability": "on",
        "root_cause": "unknown",
        "detection_source": "monitoring",
        "regulatory_level": "none",
        "services": [],
        "responsibility": [],
    }
    if title := request.args.get("title", "").strip():
        values["title"] = title[:200]
    for name in PREFILLED_TIMES:
        try:
            moment = datetime.fromisoformat(request.args.get(name, ""))
        except ValueError:
            continue  # a link's bad time leaves the field as it starts
        if moment.tzinfo is not None:
            values[name] = local_text(moment, zone())
    if "mitigated_at" in request.args and values.get("mitigated_at"):
        values["status"] = "mitigated"
    return values


@ui.get("/incidents/new")
@needs("respond")
def incident_new() -> str:
    return render_template("incident_new.html", values=_new_values(), errors={}, **_choices())


@ui.post("/incidents/new")
@csrf.exempt  # checked below: a stale token shows the form again with what was typed
@needs("respond")
def incident_create() -> Response | tuple[str, int]:
    values = submitted(request.form)
    try:
        if not csrf_checked():
            raise Invalid.one("form", "the form expired; save again", "error.stale_form")
        body = validated(IncidentCreate, api_values(values, zone()))
        created = incidents.create_incident(
            body, actor=g.actor, rules=grading(), now=utcnow(), settings=settings()
        )
    except Invalid as exc:
        errors = form_errors(exc)
        page = render_template("incident_new.html", values=values, errors=errors, **_choices())
        return page, 422
    flash(f"{text('created', lang())}：#{created.id} {created.title}")
    return redirect(f"/incidents/{created.id}")


@ui.post("/incidents/suggest")
@needs("read")
def incident_suggest() -> Response:
    """The suggested grade for the form as it stands (the form asks as you type)."""
    data = api_values(submitted(request.form), zone()) if request.form else {}
    data.update(title=data.get("title") or "-", grade=None, grade_reason="")
    try:
        suggestion = incidents.suggest(
            validated(IncidentCreate, data), rules=grading(), now=utcnow()
        )
    except (Invalid, NotFound):
        return jsonify({"grade": None, "reason": ""})
    reason, grade = suggestion.describe(lang()), term("grade", suggestion.grade, lang())
    shown_as = f"→ {grade}（{reason}）" if lang() == "zh" else f"→ {grade} ({reason})"
    return jsonify({"grade": suggestion.grade, "reason": reason, "shown": shown_as})


@ui.get("/incidents/<int:incident_id>")
@needs("read")
def incident_page(incident_id: int) -> str:
    return _incident_page(incident_id)


def _incident_page(
    incident_id: int,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
    note: dict[str, str] | None = None,
    follow_up_errors: dict[str, str] | None = None,
    draft: dict[str, Any] | None = None,
) -> str:
    """The record, its form (`values`, or as stored), its follow-ups and the change of it
    waiting for approval, timeline and audit trail."""
    now = utcnow()
    incident = incidents.get_incident(incident_id, rules=grading(), now=now)
    stored = shown(incident, zone())
    trail = audit.list_audit(AuditQuery(entity="incident", entity_id=str(incident_id), limit=200))
    return render_template(
        "incident.html",
        incident=incident,
        suggestion=incidents.suggestion_of(incident, rules=grading(), now=now),
        values=values or stored,
        base=json.dumps(base or stored, ensure_ascii=False),
        errors=errors or {},
        note=note or {"at": local_text(now, zone()), "text": ""},
        timeline=incidents.list_timeline(incident_id),
        trail=audit_lines(trail.items, lang=lang(), zone=zone()),
        follow_up_errors=follow_up_errors or {},
        draft=draft or {"priority": "medium"},
        now=now,
        **follow_up_context(incident_id),
        **_choices(),
    )


@ui.post("/incidents/<int:incident_id>")
@csrf.exempt  # checked below: a stale token shows the form again with what was typed
@needs("respond")
def incident_update(incident_id: int) -> Response | tuple[str, int]:
    """Save what the person changed, and only that (see tracker.ui.forms)."""
    values, base = submitted(request.form), None
    try:
        base = base_of(request.form)
        if not csrf_checked():
            raise Invalid.one("form", "the form expired; save again", "error.stale_form")
        patch = validated(IncidentPatch, api_values(changed(base, values), zone()))
        incidents.update_incident(
            incident_id, patch, actor=g.actor, rules=grading(), now=utcnow(), settings=settings()
        )
    except Invalid as exc:
        errors = form_errors(exc)
        return _incident_page(incident_id, errors, values, base), 422
    flash(text("saved", lang()))
    return redirect(f"/incidents/{incident_id}")


@ui.post("/incidents/<int:incident_id>/follow-ups")
@needs("respond")
def incident_follow_up(incident_id: int) -> Response | tuple[str, int]:
    """A follow-up added from the record's page; a bad one shows the page again, as typed."""
    values = follow_up_fields(request.form)
    try:
        body = validated(FollowUpCreate, values)
        followups.create_follow_up(
            incident_id, body, actor=g.actor, now=utcnow(), settings=settings()
        )
    except Invalid as exc:
        page = _incident_page(incident_id, follow_up_errors=form_errors(exc), draft=values)
        return page, 422
    flash(text("follow_up.added", lang()))
    return redirect(f"/incidents/{incident_id}#follow-ups")


@ui.post("/incidents/<int:incident_id>/timeline")
@needs("respond")
def incident_note(incident_id: int) -> Response | tuple[str, int]:
    note = {"at": request.form.get("at", ""), "text": request.form.get("text", "")}
    try:
        at = local_instant("at", note["at"], zone()) if note["at"] else utcnow().isoformat()
        entry = validated(TimelineCreate, {"at": at, "text": note["text"]})
        incidents.add_timeline_entry(incident_id, entry, actor=g.actor, now=utcnow())
    except Invalid as exc:
        return _incident_page(incident_id, form_errors(exc), note=note), 422
    return redirect(f"/incidents/{incident_id}#timeline")
