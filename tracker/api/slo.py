"""/slo: availability and error budgets."""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import settings
from tracker.schemas import AvailabilityOut, AvailabilityQuery
from tracker.services import slo

TAGS = ("slo",)


@api.get("/slo/availability")
@endpoint(query=AvailabilityQuery, resp=AvailabilityOut, tags=TAGS)
def availability(query: AvailabilityQuery):
    """Availability, downtime, eligible time and error budget of a service or `all`, over a
    named window (default ytd) or a [since, until) range."""
    report = slo.availability_report(
        query.service, window=query.window, since=query.since, until=query.until,
        now=utcnow(), settings=settings(),
    )  # fmt: skip
    return slo.availability_view(report)
