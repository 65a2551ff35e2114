"""What changed in a week since it was frozen: figures as `C级 0.5 → 1`, then the week's
incidents regraded, reattributed, retimed, added or withdrawn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.core.display import count, percent
from tracker.core.texts import Lang, term, text
from tracker.core.vocabulary import REPORTED_GRADES
from tracker.core.weekly.model import Event, WeeklyReport


def restatements(frozen: WeeklyReport, current: WeeklyReport, lang: Lang = "zh") -> list[str]:
    """What changed since the week was frozen: figures as `C级 0.5 → 1`, then the week's
    incidents regraded, reattributed, retimed, added or withdrawn."""
    moved = []
    before = {r.name: r for r in frozen.rates}
    for rate in current.rates:
        if rate.name in before:
            moved.append((rate.label(lang), before[rate.name].value, rate.value, percent))
    moved.append(
        (text("weekly.availability", lang), frozen.availability, current.availability, percent)
    )
    for grade in REPORTED_GRADES:
        label = term("grade", grade, lang)
        moved.append(
            (label, frozen.counts[grade].attributed, current.counts[grade].attributed, count)
        )
    notes = []
    for label, was, now, shown in moved:
        a, b = (percent(v, lang=lang) if shown is percent else count(v) for v in (was, now))
        if a != b:
            notes.append(text("restate.figure", lang).format(label=label, before=a, after=b))
    return notes + _event_notes(frozen.events, current.events, lang)


def _event_notes(frozen: Sequence[Event], current: Sequence[Event], lang: Lang) -> list[str]:
    def note(key: str, **values: Any) -> str:
        return text(f"restate.{key}", lang).format(**values)

    notes = []
    was = {e.id: e for e in frozen}
    now = {e.id: e for e in current}
    for event in current:
        old = was.get(event.id)
        if old is None:
            notes.append(note("added", id=event.id))
            continue
        if old.grade != event.grade:
            a, b = (term("grade", g, lang) for g in (old.grade, event.grade))
            notes.append(note("regraded", id=event.id, before=a, after=b))
        if old.weight != event.weight:
            notes.append(note("reattributed", id=event.id, before=old.weight, after=event.weight))
        if old.times != event.times:
            notes.append(note("retimed", id=event.id))
    notes += [note("withdrawn", id=i) for i in was if i not in now]
    return notes
