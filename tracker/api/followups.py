"""/follow-ups and /incidents/{id}/follow-ups: the action items of incidents (DESIGN §11)."""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import actor, settings, zone
from tracker.schemas import (
    FollowUpCreate,
    FollowUpOut,
    FollowUpPatch,
    FollowUpQuery,
    ItemList,
    Page,
)
from tracker.services import followups

TAGS = ("follow-ups",)


@api.get("/incidents/<int:incident_id>/follow-ups")
@endpoint(resp=ItemList[FollowUpOut], tags=TAGS)
def incident_follow_ups(incident_id: int):
    """An incident's follow-ups: the open ones first, each by its due date."""
    return followups.follow_ups_of(incident_id, now=utcnow(), zone=zone())


@api.post("/incidents/<int:incident_id>/follow-ups")
@endpoint(right="respond", body=FollowUpCreate, resp=FollowUpOut, status=201, tags=TAGS)
def create_follow_up(incident_id: int, body: FollowUpCreate):
    """Add a follow-up; a draft from alerts or a cancelled record takes none (409)."""
    return followups.create_follow_up(
        incident_id, body, actor=actor(), now=utcnow(), settings=settings()
    )


@api.get("/follow-ups")
@endpoint(query=FollowUpQuery, resp=Page[FollowUpOut], tags=TAGS)
def list_follow_ups(query: FollowUpQuery):
    """Every follow-up by due date (the overdue first); filter by status, owner, overdue."""
    return followups.list_follow_ups(query, now=utcnow(), zone=zone())


@api.patch("/follow-ups/<int:follow_up_id>")
@endpoint(right="respond", body=FollowUpPatch, resp=FollowUpOut, tags=TAGS)
def update_follow_up(follow_up_id: int, body: FollowUpPatch):
    """Change any field; `done` stamps `done_at`."""
    return followups.update_follow_up(
        follow_up_id, body, actor=actor(), now=utcnow(), settings=settings()
    )
