"""The dashboard: the week at a glance, from the latest snapshot (computed once, read
everywhere), and the records not resolved yet."""

from __future__ import annotations

from flask import render_template

from tracker.clock import utcnow
from tracker.context import grading, settings, zone
from tracker.core.vocabulary import REPORTED_GRADES
from tracker.core.weekly.model import week_name
from tracker.services import catalog, dips, incidents, rollup
from tracker.ui import lang, needs, ui

UNRESOLVED_SHOWN = 8


@ui.get("/")
@needs("read")
def dashboard() -> str:
    snapshot = rollup.find_latest()
    definitions = settings().payments.definitions()
    now = utcnow()
    unresolved, unresolved_total = incidents.unresolved_incidents(
        limit=UNRESOLVED_SHOWN, rules=grading(), now=now
    )
    unlogged = (
        []
        if snapshot is None
        else [d for d in dips.covered(snapshot.unlogged_dips, settings=settings(), now=now)
              if not d.logged]
    )  # fmt: skip
    return render_template(
        "dashboard.html",
        snapshot=snapshot,
        rate_labels={d.name: d.label_zh if lang() == "zh" else d.label_en for d in definitions},
        names={s.key: s.name for s in catalog.list_services()},
        grade_rows=REPORTED_GRADES,
        unresolved=unresolved,
        unresolved_more=unresolved_total - len(unresolved),
        as_of=None if snapshot is None else snapshot.taken_at,
        this_week=week_name(now, zone()),
        watching_dips=bool(dips.watched(settings())),
        unlogged_dips=unlogged,
    )
