"""The services pages: list, add and edit the services availability is measured for."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, redirect, render_template, request

from tracker.clock import utcnow
from tracker.core.texts import text
from tracker.errors import Invalid
from tracker.schemas import ServiceCreate, ServicePatch
from tracker.services import catalog, rollup
from tracker.ui import form_errors, lang, needs, ui, validated

SERVICE_FIELDS = ("name", "tier", "objective", "description")


def _services_page(errors: dict[str, str] | None = None, values: Any = None) -> str:
    snapshot = rollup.find_latest()
    ytd = {r.service: r for r in snapshot.availability_in("ytd")} if snapshot else {}
    return render_template(
        "services.html",
        services=catalog.list_services(),
        ytd=ytd,
        errors=errors or {},
        values=values or {},
    )


def _service_values(form: Any, names: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {name: form.get(name, "").strip() for name in names if name in form}
    if data.get("tier", "").isdigit():
        data["tier"] = int(data["tier"])  # a select's value is text; the model's tier a number
    return data


@ui.get("/services")
@needs("read")
def services_page() -> str:
    return _services_page()


@ui.post("/services")
@needs("admin")
def service_create() -> Response | tuple[str, int]:
    data = _service_values(request.form, ("key", *SERVICE_FIELDS))
    try:
        catalog.create_service(validated(ServiceCreate, data), actor=g.actor, now=utcnow())
    except Invalid as exc:
        return _services_page(form_errors(exc), request.form), 422
    return redirect("/services")


@ui.get("/services/<key>")
@needs("read")
def service_page(key: str) -> str:
    service = catalog.get_service(key)
    return render_template("service.html", service=service, values=service.model_dump(), errors={})


@ui.post("/services/<key>")
@needs("admin")
def service_update(key: str) -> Response | tuple[str, int]:
    service = catalog.get_service(key)
    data = _service_values(request.form, SERVICE_FIELDS)
    try:
        catalog.update_service(key, validated(ServicePatch, data), actor=g.actor, now=utcnow())
    except Invalid as exc:
        errors = form_errors(exc)
        page = render_template("service.html", service=service, values=request.form, errors=errors)
        return page, 422
    flash(text("saved", lang()))
    return redirect("/services")
