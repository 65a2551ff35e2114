"""/reports/weekly/{week}/chart.png: the weekly review's trend chart."""

from __future__ import annotations

from typing import Literal

from flask import Response, current_app
from pydantic import Field

from tracker.api.blueprint import api
from tracker.api.context import settings
from tracker.api.routing import endpoint
from tracker.charts import chart_language
from tracker.clock import utcnow
from tracker.schemas import Input


class ChartQuery(Input):
    lang: Literal["zh", "en"] = Field(
        "zh", description="zh (default) or en; zh falls back to en where no Chinese font exists"
    )


@api.get("/reports/weekly/<week>/chart.png")
@endpoint(query=ChartQuery, tags=("reports",))
def weekly_chart(week: str, query: ChartQuery) -> Response:
    """Availability and success rates over the 12 ISO weeks ending with `week`, as a PNG."""
    charts = current_app.extensions["tracker.charts"]
    png = charts.png(week, query.lang, now=utcnow(), settings=settings())
    response = Response(png, mimetype="image/png")
    response.headers["Content-Language"] = chart_language(query.lang)
    return response
