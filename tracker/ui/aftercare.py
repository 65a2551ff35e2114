"""After the incident (DESIGN §11) on the pages: follow-ups (on the incident's page and the
待办 page) and changes waiting for approval (a badge on the incident's page and the 待审批
page), thin adapters over the follow-up and approval services."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, redirect, render_template, request

from tracker.clock import utcnow
from tracker.context import grading, settings, zone
from tracker.core.texts import text
from tracker.core.vocabulary import FOLLOW_UP_OPEN, FOLLOW_UP_STATUSES, PRIORITIES
from tracker.errors import Invalid
from tracker.schemas import (
    ChangeDecision,
    ChangeOut,
    ChangeQuery,
    FollowUpPatch,
    FollowUpQuery,
)
from tracker.services import approvals, followups
from tracker.ui import form_errors, lang, needs, ui, validated

FOLLOW_UP_FIELDS = ("title", "owner", "due_on", "priority", "status", "url")


def follow_up_context(incident_id: int) -> dict[str, Any]:
    """What the incident page shows of its follow-ups and its change waiting for approval."""
    waiting = approvals.waiting_on(incident_id)
    change = None if waiting is None else approvals.view(waiting)
    return {
        "follow_ups": followups.follow_ups_of(incident_id, now=utcnow(), zone=zone()),
        "follow_up_statuses": FOLLOW_UP_STATUSES,
        "priorities": PRIORITIES,
        "change": change,
        "may_decide": change is not None and _may_decide(change),
        "may_withdraw": change is not None and _proposed_by_me(change),
    }


def _proposed_by_me(change: ChangeOut) -> bool:
    return bool(approvals.principals(g.actor) & approvals.principals(change.proposed_by))


def _may_decide(change: ChangeOut) -> bool:
    return g.role == "admin" and not _proposed_by_me(change)


def follow_up_fields(form: Any) -> dict[str, Any]:
    """A follow-up form's values, as its API body takes them."""
    values = {name: form.get(name, "").strip() for name in FOLLOW_UP_FIELDS if name in form}
    if values.get("url") == "":
        values["url"] = None
    return values


@ui.post("/follow-ups/<int:follow_up_id>")
@needs("respond")
def follow_up_save(follow_up_id: int) -> Response:
    """A follow-up's status (or any field the form carries) changed from a list."""
    back = request.form.get("back", "/follow-ups")
    if not back.startswith("/") or back.startswith("//"):
        back = "/follow-ups"
    try:
        patch = validated(FollowUpPatch, follow_up_fields(request.form))
        followups.update_follow_up(
            follow_up_id, patch, actor=g.actor, now=utcnow(), settings=settings()
        )
    except Invalid as exc:
        flash(text("joiner", lang()).join(form_errors(exc).values()))
        return redirect(back)
    flash(text("saved", lang()))
    return redirect(back)


@ui.get("/follow-ups")
@needs("read")
def follow_ups_page() -> str:
    """待办: the follow-ups not done, by owner, the overdue first."""
    args = {k: v for k, v in request.args.items() if v and k in ("owner", "status", "overdue")}
    query = validated(FollowUpQuery, {"limit": 200, **args})
    statuses = FOLLOW_UP_OPEN if query.status is None else None  # by default: what is to do
    items = followups.list_follow_ups(query, now=utcnow(), zone=zone(), statuses=statuses).items
    owners: dict[str, list[Any]] = {}
    for item in sorted(items, key=lambda i: (not i.overdue, i.owner, i.due_on, i.id)):
        owners.setdefault(item.owner, []).append(item)
    ordered = sorted(owners.items(), key=lambda kv: (not any(i.overdue for i in kv[1]), kv[0]))
    return render_template(
        "follow_ups.html",
        owners=ordered,
        params=args,
        statuses=FOLLOW_UP_STATUSES,
        total=len(items),
        overdue=sum(i.overdue for i in items),
    )


@ui.get("/changes")
@needs("read")
def changes_page() -> str:
    """待审批: the changes waiting, each beside the values in force, and the last decided."""
    waiting = approvals.list_changes(ChangeQuery(status="pending", limit=200)).items
    decided = [
        c for c in approvals.list_changes(ChangeQuery(limit=30)).items if c.status != "pending"
    ]
    return render_template(
        "changes.html",
        waiting=waiting,
        decided=decided,
        may_decide={c.id: _may_decide(c) for c in waiting},
        mine={c.id: _proposed_by_me(c) for c in waiting},
    )


def _decision(change_id: int, verb: str) -> Response:
    incident = request.form.get("incident", "")
    back = f"/incidents/{incident}" if incident.isdigit() else "/changes"
    try:
        body = validated(ChangeDecision, {"reason": request.form.get("reason", "").strip()})
        context = {"actor": g.actor, "reason": body.reason, "now": utcnow()}
        if verb == "approve":
            approvals.approve(change_id, rules=grading(), settings=settings(), **context)
        elif verb == "reject":
            approvals.reject(change_id, **context)
        else:
            approvals.withdraw(change_id, **context)
    except Invalid as exc:
        flash(text("joiner", lang()).join(form_errors(exc).values()))
        return redirect(back)
    flash(text(f"change.{verb}", lang()))
    return redirect(back)


@ui.post("/changes/<int:change_id>/approve")
@needs("admin")
def change_approve(change_id: int) -> Response:
    return _decision(change_id, "approve")


@ui.post("/changes/<int:change_id>/reject")
@needs("admin")
def change_reject(change_id: int) -> Response:
    return _decision(change_id, "reject")


@ui.post("/changes/<int:change_id>/withdraw")
@needs("respond")
def change_withdraw(change_id: int) -> Response:
    return _decision(change_id, "withdraw")
