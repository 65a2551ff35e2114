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
    """The weekly review of an ISO week (`2024-W30`): Markdown to paste, JSON or CSV. A week
    that was exported shows its figures as presented then, with what changed since."""
    review = reports.weekly_review(week, now=utcnow(), settings=settings())
    notes = review.notes(query.lang)
    if query.format == "json":
        data = as_json(review.report, query.lang, notes, review.frozen_at)
        body = json.dumps(data, ensure_ascii=False)
    else:
        body = (markdown if query.format == "md" else as_csv)(review.report, query.lang, notes)
    return Response(body, content_type=f"{MEDIA[query.format]}; charset=utf-8")
