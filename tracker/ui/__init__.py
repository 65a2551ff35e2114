"""The web UI: server-rendered pages over the same service functions as the API, signed-in
users with roles, CSRF protection on every form, times in the configured zone, zh and en."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from tracker.clock import utcnow
from tracker.context import zone
from tracker.core.display import count, percent
from tracker.core.readable import age, label, value_text
from tracker.core.texts import LANGS, TEXTS, Lang, term, text
from tracker.db import DATABASE_DOWN
from tracker.errors import Invalid, TrackerError
from tracker.schemas import validation_errors
from tracker.services.alerts import draft_count
from tracker.services.approvals import pending_count
from tracker.services.tokens import may
from tracker.ui.present import errors_by_field

ui = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/ui",
)
csrf = CSRFProtect()


def init_app(app: Flask) -> None:
    """CSRF on every form of the UI (the API uses bearer tokens and is exempt); a token lasts
    as long as the session, so a form left open for hours still saves."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    csrf.exempt(app.blueprints["api"])
    from tracker.ui import (  # noqa: F401
        access,
        aftercare,
        dashboard,
        incidents,
        maintenance,
        notifications,
        reports,
        services,
        signin,
        triage,
    )

    signin.init_app(app)

    app.register_blueprint(ui)
    app.context_processor(_waiting_drafts)
    app.jinja_env.globals.update(
        t=_translate,
        term=_term,
        label=_label,
        percent=percent,
        count=count,
        local=_local,
        age=_age,
        readable=_readable,
    )


def _waiting_drafts() -> dict[str, Any]:
    """How many drafts from alerts and changes for approval wait: the navigation leads with
    each queue while anything is in it."""
    if g.get("role") is None:
        return {"drafts_waiting": 0, "changes_waiting": 0}
    return {"drafts_waiting": draft_count(), "changes_waiting": pending_count()}


def lang() -> Lang:
    return g.get("lang", "zh")


def chosen_lang() -> Lang:
    chosen = request.args.get("lang")
    if chosen in LANGS:
        session["lang"] = chosen
    return session.get("lang", "zh") if session.get("lang") in LANGS else "zh"


def _translate(key: str) -> str:
    return text(key, lang())


def _term(kind: str, value: object) -> str:
    return term(kind, value, lang())


def _label(name: str) -> str:
    return label(name, lang())


def _local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone(zone()).strftime(fmt)


def _readable(name: str, value: object) -> str:
    """A stored (JSON) value as a person reads it, in the page's language and zone."""
    return value_text(name, value, lang(), zone())


def _age(moment: datetime) -> str:
    return age(moment, utcnow(), lang())


def validated(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """Form data through its model, or Invalid naming each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(validation_errors(exc)) from None


def form_errors(exc: Invalid) -> dict[str, str]:
    """What is wrong with each field of a form, in the page's language and zone."""
    return errors_by_field(exc, lang(), zone())


def needs(right: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page that needs a right; the role is checked on every request."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def check(*args: Any, **kwargs: Any) -> Any:
            if not may(g.role, right):
                abort(403, text("forbidden", lang()))
            return view(*args, **kwargs)

        return check

    return decorate


def csrf_checked() -> bool:
    """Check the form's CSRF token in the view (for the views exempt from the automatic
    check): False when the token is stale (another session's, say), so the view can show
    the form again with what was typed instead of losing it. A form without any token was
    not sent by a page of ours: refused (400), as every other form is."""
    if not request.form.get("csrf_token"):
        csrf.protect()  # raises CSRFError: "The CSRF token is missing."
    try:
        csrf.protect()
    except CSRFError:
        return False
    return True


@ui.get("/favicon.ico")
def favicon() -> Response:
    return redirect(url_for("ui.static", filename="favicon.svg"))


def _error_page(status: int, detail: str = "") -> tuple[str, int]:
    """An error as a page in the page's language: what kind of error, and what to do."""
    key = f"http.{status}.detail"
    if (lang() == "zh" and not _is_chinese(detail)) or not detail:
        detail = text(key, lang()) if key in TEXTS else detail
    title = text(f"http.{status}", lang()) if f"http.{status}" in TEXTS else str(status)
    return render_template("error.html", status=status, title=title, detail=detail), status


def _is_chinese(value: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in value)


@ui.errorhandler(TrackerError)
def _tracker_error(exc: TrackerError) -> tuple[str, int]:
    return _error_page(exc.status, exc.detail)


@ui.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    return _error_page(exc.code or 500, exc.description or "")


@ui.errorhandler(DATABASE_DOWN[0])
@ui.errorhandler(DATABASE_DOWN[1])
def _database_error(exc: Exception) -> tuple[str, int]:
    from tracker.api.problems import note_database_error

    kind = note_database_error(exc)
    return _error_page(503, text(f"http.503.{kind}", lang()))
