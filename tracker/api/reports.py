"""/reports: the weekly review in the team's own format."""

import json

from flask import Response

from tracker.api.blueprint import api
from tracker.api.context import settings
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.core.weekly import as_csv, as_json, markdown
from tracker.schemas import ReportQuery
from tracker.services import reports

MEDIA = {"md": "text/markdown", "json": "application/json", "csv": "text/csv"}


@api.get("/reports/weekly/<week>")
@endpoint(query=ReportQuery, tags=("reports",))
def weekly(week: str, query: ReportQuery):
    """The weekly review of an ISO week (`2024-W30`): Markdown to paste, JSON or CSV."""
    report = reports.weekly_report(week, now=utcnow(), settings=settings())
    if query.format == "json":
        body = json.dumps(as_json(report, query.lang), ensure_ascii=False)
    else:
        body = (markdown if query.format == "md" else as_csv)(report, query.lang)
    return Response(body, content_type=f"{MEDIA[query.format]}; charset=utf-8")
