"""The outbox page (admins): the channels, and every message with how sending it went; a
failed one can be sent again."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request

from tracker.clock import utcnow
from tracker.context import settings
from tracker.core.texts import text
from tracker.core.vocabulary import NOTIFICATION_STATUSES
from tracker.schemas import NotificationQuery
from tracker.services import notifications
from tracker.ui import lang, needs, ui, validated

PAGE_SIZE = 100


@ui.get("/notifications")
@needs("admin")
def notifications_page() -> str:
    chosen = request.args.get("status")
    status = chosen if chosen in NOTIFICATION_STATUSES else None
    query = validated(
        NotificationQuery,
        {"status": status, "limit": PAGE_SIZE, "cursor": request.args.get("cursor") or None},
    )
    return render_template(
        "notifications.html",
        page=notifications.list_notifications(query, lang=lang()),
        status=status,
        statuses=NOTIFICATION_STATUSES,
        channels=settings().notifications.channels,
        pending=notifications.pending(),
    )


@ui.post("/notifications/<int:notification_id>/retry")
@needs("admin")
def notification_retry(notification_id: int) -> Response:
    notifications.retry(notification_id, now=utcnow())
    flash(text("retried", lang()))
    return redirect("/notifications")
