"""/slo (the latest snapshot) and /rollups (take one now)."""

from flask import Response

from tracker.api.blueprint import api
from tracker.api.routing import endpoint, respond
from tracker.clock import utcnow
from tracker.context import settings
from tracker.services import rollup

TAGS = ("slo",)


@api.get("/slo")
@endpoint(tags=TAGS)
def latest() -> Response:
    """The latest rollup snapshot: every figure of every scope, window, rate and grade."""
    return respond(rollup.get_latest().view())


@api.post("/rollups")
@endpoint(right="admin", status=201, tags=TAGS)
def take() -> Response:
    """Compute a snapshot now and return it."""
    snapshot = rollup.take_snapshot(now=utcnow(), settings=settings())
    return respond(snapshot.view(), 201)
