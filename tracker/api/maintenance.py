"""/maintenance-windows: announced time that availability does not count"""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import actor, settings
from tracker.schemas import (
    MaintenanceCreate,
    MaintenanceOut,
    MaintenancePatch,
    MaintenanceQuery,
    Page,
)
from tracker.services import maintenance

TAGS = ("maintenance",)


def _notice() -> float:
    return settings().availability.maintenance_notice_hours


@api.get("/maintenance-windows")
@endpoint(query=MaintenanceQuery, resp=Page[MaintenanceOut], tags=TAGS)
def list_windows(query: MaintenanceQuery):
    return maintenance.list_windows(query, notice_hours=_notice())


@api.post("/maintenance-windows")
@endpoint(right="respond", body=MaintenanceCreate, resp=MaintenanceOut, status=201, tags=TAGS)
def create_window(body: MaintenanceCreate):
    return maintenance.create_window(body, actor=actor(), now=utcnow(), notice_hours=_notice())


@api.get("/maintenance-windows/<int:window_id>")
@endpoint(resp=MaintenanceOut, tags=TAGS)
def get_window(window_id: int):
    return maintenance.get_window(window_id, notice_hours=_notice())


@api.patch("/maintenance-windows/<int:window_id>")
@endpoint(right="respond", body=MaintenancePatch, resp=MaintenanceOut, tags=TAGS)
def update_window(window_id: int, body: MaintenancePatch):
    """Change any field of a window that stands; the rules are checked again."""
    return maintenance.update_window(
        window_id, body, actor=actor(), now=utcnow(), notice_hours=_notice()
    )


@api.post("/maintenance-windows/<int:window_id>/cancel")
@endpoint(right="respond", resp=MaintenanceOut, tags=TAGS)
def cancel_window(window_id: int):
    """Call a window off: it takes no more time out of availability."""
    return maintenance.cancel_window(window_id, actor=actor(), now=utcnow(), notice_hours=_notice())
