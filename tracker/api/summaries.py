"""/reports/monthly and /reports/yearly: a calendar month's or year's figures, Markdown to
paste or JSON."""

from flask import Response

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import settings
from tracker.core.render import render
from tracker.core.summary import Summary
from tracker.schemas import SummaryQuery
from tracker.services import summaries


@api.get("/reports/monthly/<month>")
@endpoint(query=SummaryQuery, tags=("reports",))
def monthly(month: str, query: SummaryQuery) -> Response:
    """A calendar month's figures (`2024-07`): Markdown (default) or JSON."""
    return _rendered(summaries.monthly_summary(month, now=utcnow(), settings=settings()), query)


@api.get("/reports/yearly/<year>")
@endpoint(query=SummaryQuery, tags=("reports",))
def yearly(year: str, query: SummaryQuery) -> Response:
    """A calendar year's figures (`2024`): Markdown (default) or JSON."""
    return _rendered(summaries.yearly_summary(year, now=utcnow(), settings=settings()), query)


def _rendered(summary: Summary, query: SummaryQuery) -> Response:
    rendered = render(summary, query.format, query.lang)
    return Response(rendered.body, content_type=rendered.content_type)
