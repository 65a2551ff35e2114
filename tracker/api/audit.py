"""/audit: every create and change of any record"""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.schemas import AuditOut, AuditQuery, Page
from tracker.services import audit


@api.get("/audit")
@endpoint(query=AuditQuery, resp=Page[AuditOut], tags=("audit",))
def list_audit(query: AuditQuery):
    return audit.list_audit(query)
