"""The pages: dashboard, incidents (list, new, one), thin adapters over the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app, flash, g, jsonify, redirect, render_template, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from tracker.clock import utcnow
from tracker.core.vocabulary import DETECTION_SOURCES, GRADES, ROOT_CAUSES, STATUSES
from tracker.core.weekly import week_name
from tracker.errors import FieldError, Invalid, NotFound
from tracker.schemas import (
    AuditQuery,
    IncidentCreate,
    IncidentPatch,
    IncidentQuery,
    MaintenanceCreate,
    MaintenanceQuery,
    ServiceCreate,
    TimelineCreate,
    validation_errors,
)
from tracker.services import audit, catalog, incidents, maintenance, reports, rollup
from tracker.ui import needs, ui, zone

TIME_FIELDS = ("impact_started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")


def _settings() -> Any:
    return current_app.extensions["tracker.settings"]


def _rules() -> Any:
    return current_app.extensions["tracker.grading"]


@ui.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    return render_template("error.html", error=exc), exc.code or 500


# ---- dashboard -------------------------------------------------------------------------------


@ui.get("/")
@needs("read")
def dashboard() -> str:
    """The week at a glance, from the latest snapshot (computed once, read everywhere)."""
    snapshot = rollup.latest_figures()
    labels = {
        d.name: (d.label_zh if g.lang == "zh" else d.label_en)
        for d in _settings().payments.definitions()
    }
    as_of = None if snapshot is None else datetime.fromtimestamp(snapshot["taken_at_unix"], UTC)
    return render_template(
        "dashboard.html",
        snapshot=snapshot,
        rate_labels=labels,
        as_of=as_of,
        this_week=week_name(utcnow(), zone()),
    )


# ---- incidents -------------------------------------------------------------------------------


@ui.get("/incidents")
@needs("read")
def incident_list() -> str:
    params = {k: v for k, v in request.args.items() if v and k != "lang"}
    try:
        query = IncidentQuery.model_validate({"limit": 25, **params})
    except ValidationError as exc:
        raise Invalid(validation_errors(exc)) from None
    page = incidents.list_incidents(query, rules=_rules(), now=utcnow())
    return render_template(
        "incidents.html",
        page=page,
        params=params,
        grades=GRADES,
        statuses=STATUSES,
        services=catalog.list_services(),
    )


def _form_values(form: Any, *, partial: bool) -> dict[str, Any]:
    """The HTML form as the API's JSON: local datetime-local values get the zone's offset."""
    data: dict[str, Any] = {}
    for name in (
        "title",
        "summary",
        "status",
        "grade",
        "grade_reason",
        "root_cause",
        "detection_source",
        "location",
        "impact_ratio",
    ):
        value = form.get(name)
        if value is not None and (value != "" or name in ("summary", "grade_reason", "location")):
            data[name] = value
    if data.get("grade") == "":
        data["grade"] = None
    for name in TIME_FIELDS:
        value = form.get(name)
        if value:
            try:
                data[name] = datetime.fromisoformat(value).replace(tzinfo=zone()).isoformat()
            except ValueError:
                data[name] = value  # let validation name it
        elif value == "" and partial and name != "detected_at":
            data[name] = None
    services = form.getlist("services")
    if services or not partial:
        data["services"] = services
    if "counts_toward_availability" in form or not partial:
        data["counts_toward_availability"] = form.get("counts_toward_availability") == "on"
    party = form.get("party", "").strip()
    if party:
        data["responsibility"] = [
            {
                "party": party,
                "share": form.get("share") or "1",
                "internal": form.get("internal") == "on",
            }
        ]
    elif "party" in form and partial:
        data["responsibility"] = []
    return data


def _validated(model: Any, data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(validation_errors(exc)) from None


def _choices() -> dict[str, Any]:
    return {
        "services": catalog.list_services(),
        "grades": GRADES,
        "statuses": STATUSES,
        "root_causes": ROOT_CAUSES,
        "sources": DETECTION_SOURCES,
    }


@ui.get("/incidents/new")
@needs("respond")
def incident_new() -> str:
    now = utcnow().astimezone(zone()).strftime("%Y-%m-%dT%H:%M")
    return render_template(
        "incident_new.html", values={"detected_at": now}, errors={}, **_choices()
    )


@ui.post("/incidents/new")
@needs("respond")
def incident_create() -> Response | tuple[str, int]:
    try:
        body = _validated(IncidentCreate, _form_values(request.form, partial=False))
        created = incidents.create_incident(body, actor=g.actor, rules=_rules(), now=utcnow())
    except Invalid as exc:
        return render_template(
            "incident_new.html", values=request.form, errors=_by_field(exc), **_choices()
        ), 422
    flash(f"#{created.id} {created.title}")
    return redirect(f"/incidents/{created.id}")


@ui.post("/incidents/suggest")
@needs("read")
def incident_suggest() -> Response:
    """The suggested grade for the form as it stands (the new-incident page asks as you type)."""
    data = _form_values(request.form, partial=False)
    data.setdefault("title", "-")
    data["grade"] = None
    try:
        suggestion = incidents.suggest(
            _validated(IncidentCreate, data), rules=_rules(), now=utcnow()
        )
    except (Invalid, NotFound):
        return jsonify({"grade": None, "reason": ""})
    return jsonify({"grade": suggestion.grade, "reason": suggestion.reason})


def _by_field(exc: Invalid) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors or [FieldError("form", exc.detail)]:
        errors.setdefault(error.field.split("[")[0].split(".")[0], error.message)
    return errors


@ui.get("/incidents/<int:incident_id>")
@needs("read")
def incident_page(incident_id: int) -> str:
    return _incident_page(incident_id)


def _incident_page(incident_id: int, errors: dict[str, str] | None = None) -> str:
    incident = incidents.get_incident(incident_id, rules=_rules(), now=utcnow())
    trail = audit.list_audit(
        AuditQuery(entity="incident", entity_id=str(incident_id), limit=200)
    ).items
    return render_template(
        "incident.html",
        incident=incident,
        errors=errors or {},
        timeline=incidents.list_timeline(incident_id),
        trail=trail,
        **_choices(),
    )


@ui.post("/incidents/<int:incident_id>")
@needs("respond")
def incident_update(incident_id: int) -> Response | tuple[str, int]:
    try:
        patch = _validated(IncidentPatch, _form_values(request.form, partial=True))
        incidents.update_incident(incident_id, patch, actor=g.actor, rules=_rules(), now=utcnow())
    except Invalid as exc:
        return _incident_page(incident_id, _by_field(exc)), 422
    return redirect(f"/incidents/{incident_id}")


@ui.post("/incidents/<int:incident_id>/timeline")
@needs("respond")
def incident_note(incident_id: int) -> Response | tuple[str, int]:
    data = {"text": request.form.get("text", ""), "at": utcnow().isoformat()}
    try:
        incidents.add_timeline_entry(
            incident_id, _validated(TimelineCreate, data), actor=g.actor, now=utcnow()
        )
    except Invalid as exc:
        return _incident_page(incident_id, _by_field(exc)), 422
    return redirect(f"/incidents/{incident_id}#timeline")


@ui.get("/chart.png")
@needs("read")
def chart() -> Response:
    from tracker.charts import trend_png
    from tracker.services.trends import weekly_trend

    week = request.args.get("week") or week_name(utcnow(), zone())
    png = trend_png(weekly_trend(week, now=utcnow(), settings=_settings()), lang=g.lang)
    return Response(png, mimetype="image/png")


# ---- the weekly report -----------------------------------------------------------------------


@ui.get("/report")
@needs("read")
def report() -> str:
    week = request.args.get("week") or week_name(utcnow() - timedelta(days=7), zone())
    review = reports.weekly_review(week, now=utcnow(), settings=_settings())
    from tracker.core.weekly import markdown

    return render_template(
        "report.html",
        week=review.report.week,
        text=markdown(review.report, g.lang, review.notes(g.lang)),
    )


@ui.get("/report/download")
@needs("read")
def report_download() -> Response:
    import json

    from tracker.core.weekly import as_csv, as_json, markdown

    week = request.args.get("week", "")
    fmt = request.args.get("format", "md")
    review = reports.weekly_review(week, now=utcnow(), settings=_settings())
    notes = review.notes(g.lang)
    if fmt == "json":
        body, kind = (
            json.dumps(
                as_json(review.report, g.lang, notes, review.frozen_at),
                ensure_ascii=False,
                indent=2,
            ),
            "application/json",
        )
    elif fmt == "csv":
        body, kind = as_csv(review.report, g.lang, notes), "text/csv"
    else:
        fmt, body, kind = "md", markdown(review.report, g.lang, notes), "text/markdown"
    name = f"{review.report.week}.{g.lang}.{fmt}"
    return Response(
        body,
        content_type=f"{kind}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---- services and maintenance ----------------------------------------------------------------


@ui.get("/services")
@needs("read")
def services_page() -> str:
    snapshot = rollup.latest_figures() or {"availability": []}
    ytd = {r["service"]: r for r in snapshot["availability"] if r["window"] == "ytd"}
    return render_template(
        "services.html", services=catalog.list_services(), ytd=ytd, errors={}, values={}
    )


@ui.post("/services")
@needs("admin")
def service_create() -> Response | tuple[str, int]:
    data: dict[str, Any] = {k: v for k, v in request.form.items() if k != "csrf_token" and v}
    if data.get("tier", "").isdigit():
        data["tier"] = int(data["tier"])  # a select's value is text; the model's tier is a number
    try:
        catalog.create_service(_validated(ServiceCreate, data), actor=g.actor, now=utcnow())
    except Invalid as exc:
        return render_template(
            "services.html",
            services=catalog.list_services(),
            ytd={},
            errors=_by_field(exc),
            values=request.form,
        ), 422
    return redirect("/services")


@ui.get("/maintenance")
@needs("read")
def maintenance_page() -> str:
    notice = _settings().availability.maintenance_notice_hours
    windows = maintenance.list_windows(MaintenanceQuery(limit=100), notice_hours=notice).items
    return render_template(
        "maintenance.html", windows=windows, errors={}, values={}, services=catalog.list_services()
    )


@ui.post("/maintenance")
@needs("respond")
def maintenance_create() -> Response | tuple[str, int]:
    form = request.form
    data: dict[str, Any] = {
        "services": form.getlist("services") or ["all"],
        "reason": form.get("reason", ""),
    }
    for name in ("starts_at", "ends_at", "announced_at"):
        value = form.get(name) or (
            utcnow().astimezone(zone()).strftime("%Y-%m-%dT%H:%M") if name == "announced_at" else ""
        )
        try:
            data[name] = datetime.fromisoformat(value).replace(tzinfo=zone()).isoformat()
        except ValueError:
            data[name] = value
    notice = _settings().availability.maintenance_notice_hours
    try:
        maintenance.create_window(
            _validated(MaintenanceCreate, data), actor=g.actor, now=utcnow(), notice_hours=notice
        )
    except Invalid as exc:
        windows = maintenance.list_windows(MaintenanceQuery(limit=100), notice_hours=notice)
        return render_template(
            "maintenance.html",
            windows=windows.items,
            errors=_by_field(exc),
            values=form,
            services=catalog.list_services(),
        ), 422
    return redirect("/maintenance")
