"""/audit and /maintenance-windows"""

from tracker.api.blueprint import api
from tracker.api.context import actor, settings
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.schemas import (
    AuditOut,
    AuditQuery,
    MaintenanceCreate,
    MaintenanceOut,
    MaintenanceQuery,
    Page,
)
from tracker.services import audit, maintenance


@api.get("/audit")
@endpoint(query=AuditQuery, resp=Page[AuditOut], tags=("audit",))
def list_audit(query: AuditQuery):
    return audit.list_audit(query)


@api.get("/maintenance-windows")
@endpoint(query=MaintenanceQuery, resp=Page[MaintenanceOut], tags=("maintenance",))
def list_windows(query: MaintenanceQuery):
    notice = settings().availability.maintenance_notice_hours
    return maintenance.list_windows(query, notice_hours=notice)


@api.post("/maintenance-windows")
@endpoint(
    right="respond", body=MaintenanceCreate, resp=MaintenanceOut, status=201, tags=("maintenance",)
)
def create_window(body: MaintenanceCreate):
    notice = settings().availability.maintenance_notice_hours
    return maintenance.create_window(body, actor=actor(), now=utcnow(), notice_hours=notice)
