"""The audit trail: every create and change of any record, with before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracker.errors import Forbidden
from tracker.models import AuditRecord
from tracker.schemas import AuditOut, AuditQuery, Page
from tracker.services.paging import paginate


def record(
    action: str,
    entity: str,
    entity_id: int | str,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actor: str,
    now: datetime,
) -> None:
    """Append one audit record; call inside the transaction that makes the change."""
    AuditRecord.create(
        at=now,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )


def record_update(
    entity: str,
    entity_id: int | str,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
    actor: str,
    now: datetime,
    action: str = "update",
) -> bool:
    """Record only the fields that changed; records nothing (and returns False) when none did."""
    changed = sorted(k for k in after if before.get(k) != after[k])
    if not changed:
        return False
    record(
        action,
        entity,
        entity_id,
        before={k: before.get(k) for k in changed},
        after={k: after[k] for k in changed},
        actor=actor,
        now=now,
    )
    return True


# Who holds which token and sign-in: for admins only (names, roles, the OS user of the CLI).
PRIVATE_ENTITIES = ("token", "user")


def list_audit(query: AuditQuery, *, private: bool = False) -> Page[AuditOut]:
    """Audit records in the order they were written; those of tokens and users only when
    `private` (an admin asks)."""
    if query.entity in PRIVATE_ENTITIES and not private:
        raise Forbidden(f"the audit of {query.entity} records is for admins")
    rows = AuditRecord.filtered(
        entity=query.entity, entity_id=query.entity_id, since=query.since
    ).order_by(AuditRecord.id)
    if not private:
        rows = rows.where(AuditRecord.entity.not_in(PRIVATE_ENTITIES))
    page = paginate(
        rows,
        query,
        key=lambda r: [r.id],
        after=lambda q, values: q.where(AuditRecord.id > int(values[0])),
        arity=1,
    )
    return page.map(AuditOut.model_validate)
