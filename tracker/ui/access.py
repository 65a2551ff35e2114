"""账号与令牌 (people and tokens), for admins: who may sign in and how, disabling someone at
once (their sessions end and the API tokens made for them are revoked), and API tokens made
here for the admin making them (shown once, kept only as a digest)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, flash, g, redirect, render_template, request

from tracker.clock import utcnow
from tracker.core.texts import text
from tracker.errors import Invalid
from tracker.schemas import TokenCreate
from tracker.services.tokens import create_token, list_tokens, revoke_token
from tracker.services.users import disable_user, list_users
from tracker.ui import form_errors, lang, needs, ui, validated


def _access_page(errors: dict[str, str] | None = None, values: Any = None, made: str = "") -> str:
    return render_template(
        "access.html",
        people=list_users(),
        tokens=list_tokens(),
        now=utcnow(),
        errors=errors or {},
        values=values or {},
        made=made,
    )


@ui.get("/access")
@needs("admin")
def access_page() -> str:
    return _access_page()


@ui.post("/access/tokens")
@needs("admin")
def token_create() -> tuple[str, int]:
    data: dict[str, Any] = {k: request.form.get(k, "") for k in ("name", "role")}
    days = request.form.get("expires_in_days", "").strip()
    if days:
        data["expires_in_days"] = days
    try:
        wanted = validated(TokenCreate, data)
        now = utcnow()
        expires_at = (
            now + timedelta(days=wanted.expires_in_days) if wanted.expires_in_days else None
        )
        raw = create_token(
            wanted.name,
            wanted.role,
            actor=g.actor,
            now=now,
            expires_at=expires_at,
            created_by=g.user,
        )
    except Invalid as exc:
        return _access_page(form_errors(exc), request.form), 422
    return _access_page(made=raw), 201


@ui.post("/access/tokens/<int:token_id>/revoke")
@needs("admin")
def token_revoke(token_id: int) -> Response:
    revoke_token(token_id, actor=g.actor, now=utcnow())
    flash(text("access.token_revoked", lang()))
    return redirect("/access")


@ui.post("/access/people/<name>/disable")
@needs("admin")
def person_disable(name: str) -> Response:
    revoked = disable_user(name, actor=g.actor, now=utcnow())
    flash(text("access.disabled", lang()).format(name=name, tokens=revoked))
    return redirect("/access")
