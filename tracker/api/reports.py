"""/reports/weekly: the weekly review in the team's own format, and its trend chart."""

from flask import Response, current_app

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.charts import chart_language
from tracker.clock import utcnow
from tracker.context import settings
from tracker.core.render import render
from tracker.schemas import ChartQuery, ReportQuery
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


@api.get("/reports/weekly/<week>/chart.png")
@endpoint(query=ChartQuery, tags=("reports",))
def weekly_chart(week: str, query: ChartQuery) -> Response:
    """Availability and success rates over the 12 ISO weeks ending with `week`, as a PNG."""
    charts = current_app.extensions["tracker.charts"]
    png = charts.png(week, query.lang, now=utcnow(), settings=settings())
    response = Response(png, mimetype="image/png")
    response.headers["Content-Language"] = chart_language(query.lang)
    return response
