"""Documents as files, by format: one table maps (document type, format) to its media type
and renderer, so each adapter (API, UI, CLI, export) renders with one call and a new format
is one entry."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracker.core.summary import Summary, summary_json, summary_markdown
from tracker.core.texts import Lang
from tracker.core.weekly.model import Detail, Review
from tracker.core.weekly.text import as_csv, as_json, markdown


@dataclass(frozen=True)
class Rendered:
    body: str
    media_type: str
    filename: str

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; charset=utf-8"


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


Renderer = Callable[[Any, Lang, Detail], str]
RENDERERS: dict[tuple[type, str], tuple[str, Renderer]] = {
    (Review, "md"): (
        "text/markdown",
        lambda r, lang, detail: markdown(r.report, lang, r.notes(lang), detail),
    ),
    (Review, "json"): (
        "application/json",
        lambda r, lang, detail: _json(
            as_json(r.report, lang, r.notes(lang), r.frozen_at, detail, r.unlogged_dips)
        ),
    ),
    (Review, "csv"): (
        "text/csv",
        lambda r, lang, detail: as_csv(r.report, lang, r.notes(lang), detail),
    ),
    (Summary, "md"): ("text/markdown", lambda s, lang, _detail: summary_markdown(s, lang)),
    (Summary, "json"): ("application/json", lambda s, lang, _detail: _json(summary_json(s, lang))),
}


def formats(kind: type) -> tuple[str, ...]:
    """The formats a document type renders to."""
    return tuple(fmt for (of, fmt) in RENDERERS if of is kind)


def render(document: Review | Summary, fmt: str, lang: Lang, detail: Detail = "title") -> Rendered:
    """A weekly review or a summary as a file: its text, media type and file name
    (`2024-W30.zh.md`, `2024-07.en.json`). KeyError for a format the type lacks."""
    media_type, renderer = RENDERERS[type(document), fmt]
    name = document.report.week if isinstance(document, Review) else document.period
    return Rendered(renderer(document, lang, detail), media_type, f"{name}.{lang}.{fmt}")
