"""The maintenance pages: announce, edit and call off maintenance windows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, flash, g, redirect, render_template, request

from tracker.clock import utcnow
from tracker.context import settings, zone
from tracker.core.texts import text
from tracker.errors import Invalid
from tracker.schemas import MaintenanceCreate, MaintenancePatch, MaintenanceQuery
from tracker.services import catalog, maintenance
from tracker.ui import form_errors, lang, needs, ui, validated
from tracker.ui.forms import local_instant, local_text

WINDOW_TIMES = ("starts_at", "ends_at", "announced_at")


def _notice() -> float:
    return settings().availability.maintenance_notice_hours


def _window_values(form: Any) -> dict[str, Any]:
    """The form's window as the API's fields: local times with the zone's offset."""
    data: dict[str, Any] = {"services": form.getlist("services") or ["all"]}
    data["reason"] = form.get("reason", "").strip()
    errors = []
    for name in WINDOW_TIMES:
        value = form.get(name, "").strip()
        if not value and name == "announced_at":
            value = local_text(utcnow(), zone())
        try:
            data[name] = local_instant(name, value, zone(), form.get(f"{name}_offset", ""))
        except Invalid as exc:
            errors += exc.errors
    if errors:
        raise Invalid(errors)
    return data


def _maintenance_page(errors: dict[str, str] | None = None, values: Any = None) -> str:
    windows = maintenance.list_windows(MaintenanceQuery(limit=100), notice_hours=_notice())
    return render_template(
        "maintenance.html",
        windows=windows.items,
        errors=errors or {},
        values=values or {},
        services=catalog.list_services(),
        names={s.key: s.name for s in catalog.list_services()},
    )


@ui.get("/maintenance")
@needs("read")
def maintenance_page() -> str:
    return _maintenance_page()


@ui.post("/maintenance")
@needs("respond")
def maintenance_create() -> Response | tuple[str, int]:
    try:
        body = validated(MaintenanceCreate, _window_values(request.form))
        maintenance.create_window(body, actor=g.actor, now=utcnow(), notice_hours=_notice())
    except Invalid as exc:
        return _maintenance_page(form_errors(exc), request.form), 422
    return redirect("/maintenance")


def _window_shown(window: Any) -> dict[str, Any]:
    """A window as its form shows it."""
    return {
        "services": [] if window.services == ["all"] else window.services,
        "reason": window.reason,
        **{name: local_text(getattr(window, name), zone()) for name in WINDOW_TIMES},
    }


def _window_page(window_id: int, errors: dict[str, str] | None = None, values: Any = None) -> str:
    window = maintenance.get_window(window_id, notice_hours=_notice())
    shown = _window_shown(window)
    return render_template(
        "maintenance_window.html",
        window=window,
        values=values or shown,
        errors=errors or {},
        services=catalog.list_services(),
    )


@ui.get("/maintenance/<int:window_id>")
@needs("read")
def maintenance_window(window_id: int) -> str:
    return _window_page(window_id)


@ui.post("/maintenance/<int:window_id>")
@needs("respond")
def maintenance_update(window_id: int) -> Response | tuple[str, int]:
    shown = _window_shown(maintenance.get_window(window_id, notice_hours=_notice()))
    try:
        data = _window_values(request.form)
        untouched = [  # saved as they are, to the microsecond: not sent
            name
            for name in WINDOW_TIMES
            if request.form.get(name, "").strip() and _same_time(request.form[name], shown[name])
        ]
        if sorted(request.form.getlist("services")) == sorted(shown["services"]):
            untouched.append("services")
        patch = validated(MaintenancePatch, {k: v for k, v in data.items() if k not in untouched})
        maintenance.update_window(
            window_id, patch, actor=g.actor, now=utcnow(), notice_hours=_notice()
        )
    except Invalid as exc:
        return _window_page(window_id, form_errors(exc), request.form), 422
    flash(text("saved", lang()))
    return redirect("/maintenance")


def _same_time(a: str, b: str) -> bool:
    try:
        return datetime.fromisoformat(a) == datetime.fromisoformat(b)
    except ValueError:
        return False


@ui.post("/maintenance/<int:window_id>/cancel")
@needs("respond")
def maintenance_cancel(window_id: int) -> Response:
    maintenance.cancel_window(window_id, actor=g.actor, now=utcnow(), notice_hours=_notice())
    flash(text("cancelled", lang()))
    return redirect("/maintenance")
