"""/audit: every create and change of any record"""

from flask import g

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.schemas import AuditOut, AuditQuery, Page
from tracker.services import audit
from tracker.services.tokens import may


@api.get("/audit")
@endpoint(query=AuditQuery, resp=Page[AuditOut], tags=("audit",))
def list_audit(query: AuditQuery):
    """Every create and change, before and after; tokens' and users' for admins only."""
    return audit.list_audit(query, private=may(g.role, "admin"))
