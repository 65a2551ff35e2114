"""The one shape of a notification: what happened, in the channel's language, ready for any
channel's format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Message:
    """An event as people read it. `delivery` is the same on every attempt at it (receivers
    de-duplicate by it); `markdown` and `text` say the same, `title` in one line; `link` is
    the record's page (None without `base_url`); `incident` is the record as
    `GET /incidents/{id}` answers it, for the signed webhook."""

    event: str
    delivery: str
    at: datetime
    title: str
    markdown: str
    text: str
    link: str | None = None
    incident: dict[str, Any] | None = None
