"""How records read on a page: errors and audit trails in the page's language and the
configured zone, never as stored (`2024-07-23T02:04:30Z`, `[{'party': …}]`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tracker.core.readable import label, value_text
from tracker.core.texts import Lang, term
from tracker.errors import FieldError, Invalid
from tracker.schemas import AuditOut


def errors_by_field(exc: Invalid, lang: Lang, zone: ZoneInfo | None = None) -> dict[str, str]:
    """The first message for each field the form shows (`responsibility[1].share` is
    `responsibility`), in `lang`; an error with no field of the form is the form's."""
    errors: dict[str, str] = {}
    for error in exc.errors or [FieldError("form", exc.detail)]:
        errors.setdefault(error.field.split("[")[0].split(".")[0], error.say(lang, zone))
    return errors


@dataclass(frozen=True)
class AuditLine:
    at: str
    actor: str
    action: str
    changes: tuple[tuple[str, str, str], ...]  # (field label, before, after)
    note: str = ""


def audit_lines(records: Iterable[AuditOut], *, lang: Lang, zone: ZoneInfo) -> list[AuditLine]:
    """An audit trail as the incident page shows it: local times, labels, readable values."""
    lines = []
    for record in records:
        before, after = record.before or {}, record.after or {}
        changes = tuple(
            (
                label(name, lang),
                value_text(name, before.get(name), lang, zone),
                value_text(name, value, lang, zone),
            )
            for name, value in after.items()
            if record.action == "update"
        )
        lines.append(
            AuditLine(
                at=record.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                actor=record.actor,
                action=term("audit", record.action, lang),
                changes=changes,
                note="" if record.action == "update" else str(after.get("title", "")),
            )
        )
    return lines
