"""/reports/monthly and /reports/yearly: a calendar month's or year's figures, Markdown to
paste or JSON."""

import json

from flask import Response

from tracker.api.blueprint import api
from tracker.api.context import settings
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.core.summary import Summary, summary_json, summary_markdown
from tracker.schemas import SummaryQuery
from tracker.services import summaries

MEDIA = {"md": "text/markdown", "json": "application/json"}


@api.get("/reports/monthly/<month>")
@endpoint(query=SummaryQuery, tags=("reports",))
def monthly(month: str, query: SummaryQuery) -> Response:
    """A calendar month's figures (`2024-07`): Markdown (default) or JSON."""
    return _render(summaries.monthly_summary(month, now=utcnow(), settings=settings()), query)


@api.get("/reports/yearly/<year>")
@endpoint(query=SummaryQuery, tags=("reports",))
def yearly(year: str, query: SummaryQuery) -> Response:
    """A calendar year's figures (`2024`): Markdown (default) or JSON."""
    return _render(summaries.yearly_summary(year, now=utcnow(), settings=settings()), query)


def _render(summary: Summary, query: SummaryQuery) -> Response:
    if query.format == "json":
        body = json.dumps(summary_json(summary, query.lang), ensure_ascii=False)
    else:
        body = summary_markdown(summary, query.lang)
    return Response(body, content_type=f"{MEDIA[query.format]}; charset=utf-8")
