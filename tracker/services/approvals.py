"""Approvals (DESIGN §11): with `grading.approval` on, a change of a record's grade,
responsibility or regulatory level waits here until an admin other than its proposer
approves or rejects it; the proposer may withdraw it. Every step is audited with both names.

Who is "other than the proposer" is decided by people, not by credentials: a name is the user
or token that acted, and a token counts as the person who created it (the audit trail keeps
who made each token), so nobody approves their own change through a token of theirs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import peewee
from playhouse.shortcuts import model_to_dict

from tracker.db import database, exclusive
from tracker.errors import Conflict, Forbidden, NotFound
from tracker.models import ApiToken, AuditRecord, Incident, PendingChange, User
from tracker.schemas import ChangeOut, ChangeQuery, IncidentPatch, Page
from tracker.services import audit
from tracker.services.paging import paginate


def principals(actor: str) -> set[str]:
    """The people behind a name: itself, and whoever created a token of that name (the user
    it records, and whoever the audit trail says made it)."""
    made = list(
        ApiToken.select(ApiToken.id, User.name)
        .join(User, peewee.JOIN.LEFT_OUTER)
        .where(ApiToken.name == actor)
        .tuples()
    )
    ids, users = [str(i) for i, _ in made], {name for _, name in made if name}
    if not ids:
        return {actor}
    creators = AuditRecord.select(AuditRecord.actor).where(
        (AuditRecord.entity == "token")
        & (AuditRecord.action == "create")
        & AuditRecord.entity_id.in_(ids)
    )
    return {actor, *users, *(c for (c,) in creators.tuples())}


def _same_person(one: str, other: str) -> bool:
    return bool(principals(one) & principals(other))


def waiting_on(incident_id: int) -> PendingChange | None:
    """The change of this record waiting for approval, if any."""
    return PendingChange.get_or_none(
        (PendingChange.incident == incident_id) & (PendingChange.status == "pending")
    )


def propose(
    incident_id: int,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
    actor: str,
    now: datetime,
) -> int:
    """Keep a proposed change (JSON values) of a record; call in the write's transaction.
    One change waits per record at a time: another is a 409 until it is decided."""
    waiting = waiting_on(incident_id)
    if waiting is not None:
        raise Conflict(
            f"change {waiting.id} of incident {incident_id} is waiting for approval: "
            "withdraw it or have it decided first"
        )
    change = PendingChange.create(
        incident=incident_id,
        proposed_by=actor,
        proposed_at=now,
        before=before,
        after=after,
        reason=after.get("grade_reason", ""),
    )
    audit.record(
        "propose",
        "pending_change",
        change.id,
        before=None,
        after=_audited(change),
        actor=actor,
        now=now,
    )
    return change.id


def _audited(change: PendingChange) -> dict[str, Any]:
    return view(change).model_dump(mode="json", exclude={"incident_title"})


def view(change: PendingChange | dict, title: str | None = None) -> ChangeOut:
    values = change if isinstance(change, dict) else model_to_dict(change, recurse=False)
    incident_id = values.get("incident", values.get("incident_id"))
    if title is None:
        title = values.get("incident_title") or Incident.get_by_id(incident_id).title
    return ChangeOut.model_validate({**values, "incident_id": incident_id, "incident_title": title})


def _load(change_id: int) -> PendingChange:
    change = PendingChange.get_or_none(PendingChange.id == change_id)
    if change is None:
        raise NotFound(f"no change {change_id}")
    return change


def get_change(change_id: int) -> ChangeOut:
    return view(_load(change_id))


def list_changes(query: ChangeQuery) -> Page[ChangeOut]:
    """Changes newest first; `status=pending` is the queue of the 待审批 page."""
    titled = (PendingChange, Incident.title.alias("incident_title"))
    rows = PendingChange.select(*titled).join(Incident)
    if query.status is not None:
        rows = rows.where(PendingChange.status == query.status)
    if query.incident_id is not None:
        rows = rows.where(PendingChange.incident == query.incident_id)
    rows = rows.order_by(PendingChange.id.desc()).dicts()
    page = paginate(
        rows,
        query,
        key=lambda r: [r["id"]],
        after=lambda q, v: q.where(PendingChange.id < int(v[0])),
        arity=1,
    )
    return page.map(lambda r: view(r, r["incident_title"]))


def _decide(
    change_id: int, status: str, *, actor: str, reason: str, now: datetime
) -> tuple[PendingChange, dict[str, Any]]:
    change = _load(change_id)
    if change.status != "pending":
        raise Conflict(f"change {change_id} is {change.status} already")
    if status == "withdrawn":
        if not _same_person(actor, change.proposed_by):
            raise Forbidden(f"only {change.proposed_by} may withdraw change {change_id}")
    elif _same_person(actor, change.proposed_by):
        raise Forbidden(
            f"change {change_id} was proposed by {change.proposed_by}: another admin decides it"
        )
    before = _audited(change)
    updated = (
        PendingChange.update(
            status=status, decided_by=actor, decided_at=now, decision_reason=reason
        )
        .where((PendingChange.id == change.id) & (PendingChange.status == "pending"))
        .execute()
    )
    if not updated:  # decided meanwhile by someone else
        raise Conflict(f"change {change_id} was decided meanwhile")
    change = _load(change_id)
    audit.record(
        {"approved": "approve", "rejected": "reject", "withdrawn": "withdraw"}[status],
        "pending_change",
        change.id,
        before=before,
        after=_audited(change),
        actor=actor,
        now=now,
    )
    return change, before


def approve(change_id: int, *, actor: str, reason: str, now: datetime, **context: Any) -> ChangeOut:
    """Apply a change in force, as its approver: the record's own update is audited under
    the approver, the decision under both names. A record changed since the proposal (its
    values are no longer those the proposal saw) is a 409: propose again."""
    from tracker.services.incidents import audited_record, update_incident

    change = _load(change_id)
    with exclusive(database, f"tracker.incident.{change.incident_id}"):
        incident = Incident.get_by_id(change.incident_id)
        current = audited_record(model_to_dict(incident), incident.service_keys())
        stale = [name for name, value in change.before.items() if current[name] != value]
        if stale:
            raise Conflict(
                f"incident {change.incident_id} changed since the proposal "
                f"({', '.join(stale)}): reject it and propose again"
            )
        decided, _ = _decide(change_id, "approved", actor=actor, reason=reason, now=now)
        patch = IncidentPatch.model_validate(decided.after)
        update_incident(change.incident_id, patch, actor=actor, now=now, approved=True, **context)
    return view(decided)


def reject(change_id: int, *, actor: str, reason: str, now: datetime) -> ChangeOut:
    """Refuse a change: the record keeps the values in force."""
    with database.atomic():
        decided, _ = _decide(change_id, "rejected", actor=actor, reason=reason, now=now)
    return view(decided)


def withdraw(change_id: int, *, actor: str, reason: str, now: datetime) -> ChangeOut:
    """The proposer takes their change back."""
    with database.atomic():
        decided, _ = _decide(change_id, "withdrawn", actor=actor, reason=reason, now=now)
    return view(decided)


def pending_count() -> int:
    return PendingChange.select().where(PendingChange.status == "pending").count()
