"""/incidents and their timelines"""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import actor, grading, settings
from tracker.schemas import (
    IncidentCreate,
    IncidentOut,
    IncidentPatch,
    IncidentQuery,
    ItemList,
    Page,
    TimelineCreate,
    TimelineOut,
)
from tracker.services import incidents

TAGS = ("incidents",)


@api.get("/incidents")
@endpoint(query=IncidentQuery, resp=Page[IncidentOut], tags=TAGS)
def list_incidents(query: IncidentQuery):
    return incidents.list_incidents_json(query, rules=grading(), now=utcnow())


@api.post("/incidents")
@endpoint(right="respond", body=IncidentCreate, resp=IncidentOut, status=201, tags=TAGS)
def create_incident(body: IncidentCreate):
    return incidents.create_incident(
        body, actor=actor(), rules=grading(), now=utcnow(), settings=settings()
    )


@api.get("/incidents/<int:incident_id>")
@endpoint(resp=IncidentOut, tags=TAGS)
def get_incident(incident_id: int):
    return incidents.get_incident(incident_id, rules=grading(), now=utcnow())


@api.patch("/incidents/<int:incident_id>")
@endpoint(right="respond", body=IncidentPatch, resp=IncidentOut, tags=TAGS)
def update_incident(incident_id: int, body: IncidentPatch):
    return incidents.update_incident(
        incident_id, body, actor=actor(), rules=grading(), now=utcnow(), settings=settings()
    )


@api.get("/incidents/<int:incident_id>/timeline")
@endpoint(resp=ItemList[TimelineOut], tags=TAGS)
def list_timeline(incident_id: int):
    return incidents.list_timeline(incident_id)


@api.post("/incidents/<int:incident_id>/timeline")
@endpoint(right="respond", body=TimelineCreate, resp=TimelineOut, status=201, tags=TAGS)
def add_timeline_entry(incident_id: int, body: TimelineCreate):
    return incidents.add_timeline_entry(incident_id, body, actor=actor(), now=utcnow())
