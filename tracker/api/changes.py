"""/changes: grade, responsibility and regulatory-level changes waiting for a second admin
when `grading.approval` is on (DESIGN §11)."""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import actor, grading, settings
from tracker.schemas import ChangeDecision, ChangeOut, ChangeQuery, Page
from tracker.services import approvals

TAGS = ("changes",)


@api.get("/changes")
@endpoint(query=ChangeQuery, resp=Page[ChangeOut], tags=TAGS)
def list_changes(query: ChangeQuery):
    """Changes newest first, by status (`pending`: waiting) or record."""
    return approvals.list_changes(query)


@api.get("/changes/<int:change_id>")
@endpoint(resp=ChangeOut, tags=TAGS)
def get_change(change_id: int):
    return approvals.get_change(change_id)


@api.post("/changes/<int:change_id>/approve")
@endpoint(right="admin", body=ChangeDecision, resp=ChangeOut, tags=TAGS)
def approve_change(change_id: int, body: ChangeDecision):
    """Apply it: an admin other than its proposer (403 for the proposer, their tokens too)."""
    return approvals.approve(
        change_id, actor=actor(), reason=body.reason, now=utcnow(), rules=grading(),
        settings=settings(),
    )  # fmt: skip


@api.post("/changes/<int:change_id>/reject")
@endpoint(right="admin", body=ChangeDecision, resp=ChangeOut, tags=TAGS)
def reject_change(change_id: int, body: ChangeDecision):
    """Refuse it with a reason: an admin other than its proposer."""
    return approvals.reject(change_id, actor=actor(), reason=body.reason, now=utcnow())


@api.post("/changes/<int:change_id>/withdraw")
@endpoint(right="respond", body=ChangeDecision, resp=ChangeOut, tags=TAGS)
def withdraw_change(change_id: int, body: ChangeDecision):
    """Take one's own proposal back (its proposer only)."""
    return approvals.withdraw(change_id, actor=actor(), reason=body.reason, now=utcnow())
