"""The weekly report page (preview and downloads) and the trend chart."""

from __future__ import annotations

from flask import Response, current_app, render_template, request

from tracker.clock import utcnow
from tracker.context import settings, zone
from tracker.core.render import formats, render
from tracker.core.weekly.model import Review, last_week, week_name
from tracker.errors import NotFound
from tracker.services import dips, reports
from tracker.ui import lang, needs, ui

DETAILS = ("title", "summary")


def _detail() -> str:
    chosen = request.args.get("detail")
    return chosen if chosen in DETAILS else settings().report.event_detail


@ui.get("/report")
@needs("read")
def report() -> str:
    week = request.args.get("week") or last_week(utcnow(), zone())
    review = reports.weekly_review(week, now=utcnow(), settings=settings())
    return render_template(
        "report.html",
        week=review.report.week,
        detail=_detail(),
        details=DETAILS,
        text=render(review, "md", lang(), _detail()).body,
        watching_dips=bool(dips.watched(settings())),
        unlogged_dips=review.unlogged_dips,
    )


@ui.get("/report/download")
@needs("read")
def report_download() -> Response:
    fmt = request.args.get("format", "md")
    if fmt not in formats(Review):
        raise NotFound(f"no format {fmt[:20]!r}")
    review = reports.weekly_review(request.args.get("week", ""), now=utcnow(), settings=settings())
    rendered = render(review, fmt, lang(), _detail())
    return Response(
        rendered.body,
        content_type=rendered.content_type,
        headers={"Content-Disposition": f'attachment; filename="{rendered.filename}"'},
    )


@ui.get("/chart.png")
@needs("read")
def chart() -> Response:
    week = request.args.get("week") or week_name(utcnow(), zone())
    charts = current_app.extensions["tracker.charts"]
    return Response(
        charts.png(week, lang(), now=utcnow(), settings=settings()), mimetype="image/png"
    )
