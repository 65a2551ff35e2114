"""/reports/weekly: the weekly review in the team's own format."""

from flask import Response

from tracker.api.blueprint import api
from tracker.api.context import settings
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.core.render import render
from tracker.schemas import ReportQuery
from tracker.services import reports


@api.get("/reports/weekly/<week>")
@endpoint(query=ReportQuery, tags=("reports",))
def weekly(week: str, query: ReportQuery):
    """The weekly review of an ISO week (`2024-W30`): Markdown to paste, JSON or CSV. A week
    that was exported shows its figures as presented then, with what changed since."""
    review = reports.weekly_review(week, now=utcnow(), settings=settings())
    detail = query.detail or settings().report.event_detail
    rendered = render(review, query.format, query.lang, detail)
    return Response(rendered.body, content_type=rendered.content_type)
