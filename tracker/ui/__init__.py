"""The web UI: server-rendered pages over the same service functions as the API, signed-in
users with roles, CSRF protection on every form, times in the configured zone, zh and en."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFProtect

from tracker.clock import utcnow
from tracker.core.display import count, percent
from tracker.errors import TrackerError
from tracker.services.tokens import may
from tracker.services.users import TooManyAttempts, get_user, sign_in
from tracker.ui.labels import label

ui = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/ui",
)
csrf = CSRFProtect()
LANGS = ("zh", "en")


def init_app(app: Flask) -> None:
    """CSRF on every form of the UI (the API uses bearer tokens and is exempt)."""
    csrf.init_app(app)
    csrf.exempt(app.blueprints["api"])
    from tracker.ui import pages  # noqa: F401  (routes)

    app.register_blueprint(ui)
    app.jinja_env.globals.update(t=_translate, percent=percent, count=count, local=_local)


def _lang() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGS:
        session["lang"] = chosen
    return session.get("lang", "zh")


def _translate(key: str) -> str:
    return label(key, g.get("lang", "zh"))


def _local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return ""
    return moment.astimezone(zone()).strftime(fmt)


def zone() -> ZoneInfo:
    return current_app.extensions["tracker.settings"].zone


@ui.before_request
def _identify() -> Response | None:
    g.lang = _lang()
    user = get_user(session["user_id"]) if "user_id" in session else None
    g.user = user
    if user is not None:
        g.actor, g.role = user.name, user.role
    if user is None and request.endpoint not in ("ui.login", "ui.login_post", "ui.static"):
        return redirect(url_for("ui.login", next=request.full_path))
    return None


def needs(right: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page that needs a right; the role is checked on every request."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def check(*args: Any, **kwargs: Any) -> Any:
            if not may(g.role, right):
                abort(403, label("forbidden", g.lang))
            return view(*args, **kwargs)

        return check

    return decorate


@ui.get("/login")
def login() -> str:
    return render_template("login.html")


@ui.post("/login")
def login_post() -> Response | tuple[str, int]:
    name = request.form.get("name", "").strip()
    try:
        user = sign_in(
            name, request.form.get("password", ""), address=request.remote_addr or "?", now=utcnow()
        )
    except TooManyAttempts as exc:
        return render_template("login.html", error=exc.detail, name=name), 429
    if user is None:
        return render_template("login.html", error=label("bad_sign_in", g.lang), name=name), 401
    session.clear()
    session["user_id"], session["lang"] = user.id, g.lang
    target = request.args.get("next", "")
    # Only a path on this site: browsers read `/\host` like `//host`, another site.
    local = target.startswith("/") and not target.startswith(("//", "/\\"))
    return redirect(target if local and "\\" not in target else "/")


@ui.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("ui.login"))


@ui.errorhandler(TrackerError)
def _tracker_error(exc: TrackerError) -> tuple[str, int]:
    return render_template("error.html", error=exc), exc.status


__all__ = ["flash", "needs", "ui", "zone"]
