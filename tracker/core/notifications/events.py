"""What happened, as the outbox keeps it until it is sent (DESIGN §10): the facts of the
moment, rendered into each channel's message at send time, in that channel's language."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    """`kind` is a NotificationEvent. An incident event holds the record as it was
    (`incident`: what the messages show of it, the whole record where a format sends it)
    and, for a change, the changed fields' values `before` it; `review.weekly` holds the
    week and its Markdown sections; `payments.dip_unlogged` the dip."""

    kind: str
    at: datetime
    actor: str = ""
    incident: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    week: str | None = None
    sections: str | None = None
    dip: dict[str, Any] | None = None  # `payments.dip_unlogged`: the dip as a snapshot keeps it
    owner: str | None = None  # `followup.overdue`: whose items
    items: list[dict[str, Any]] | None = None  # ... and what they are (id, title, due, record)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in data.items() if v is not None} | {"at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(**{**data, "at": datetime.fromisoformat(data["at"])})
