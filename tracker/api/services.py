"""/services"""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import actor
from tracker.schemas import ItemList, ServiceCreate, ServiceOut, ServicePatch
from tracker.services import catalog

TAGS = ("services",)


@api.get("/services")
@endpoint(resp=ItemList[ServiceOut], tags=TAGS)
def list_services():
    return catalog.list_services()


@api.post("/services")
@endpoint(right="admin", body=ServiceCreate, resp=ServiceOut, status=201, tags=TAGS)
def create_service(body: ServiceCreate):
    return catalog.create_service(body, actor=actor(), now=utcnow())


@api.get("/services/<key>")
@endpoint(resp=ServiceOut, tags=TAGS)
def get_service(key: str):
    return catalog.get_service(key)


@api.patch("/services/<key>")
@endpoint(right="admin", body=ServicePatch, resp=ServiceOut, tags=TAGS)
def update_service(key: str, body: ServicePatch):
    return catalog.update_service(key, body, actor=actor(), now=utcnow())
