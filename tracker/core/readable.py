"""Values as a person reads them, in Chinese or English: labels, stored values (times in the
reader's zone, responsibility as `银商 0.5（外部）`, words of the vocabulary), and ages. The
web UI and the command line say them alike."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tracker.core.display import count
from tracker.core.texts import TEXTS, Lang, term, text

# Stored fields whose values are words of the vocabulary: the kind `term` names them by.
TERMS = {
    "status": "status",
    "grade": "grade",
    "root_cause": "root_cause",
    "detection_source": "detection_source",
    "regulatory_level": "regulatory_level",
    "role": "role",
    "tier": "tier",
}
# 全责, 主责, 同责, 次责 and 无责: the shares the team writes responsibility in.
SHARE_WORDS = {TEXTS[f"share.{n}"][0]: n for n in ("1", "0.7", "0.5", "0.3", "0")}


def label(name: str, lang: Lang) -> str:
    """A field's label; a name the texts lack shows as it is."""
    return text(name, lang) if name in TEXTS else name


def value_text(name: str, value: Any, lang: Lang, zone: ZoneInfo) -> str:
    """A stored value (as the audit trail keeps it: JSON) as a person reads it."""
    if name == "grade":
        return term("grade", value, lang)  # None is a value too: 未定级
    if value is None or value == "" or value == []:
        return text("empty", lang)
    if isinstance(value, bool):
        return text(f"bool.{str(value).lower()}", lang)
    if name in TERMS:
        return term(TERMS[name], value, lang)
    if name == "responsibility" and isinstance(value, list):
        return text("joiner", lang).join(_entry(e, lang) for e in value if isinstance(e, Mapping))
    if isinstance(value, list):
        return text("list_joiner", lang).join(str(v) for v in value)
    if isinstance(value, str) and name.endswith(("_at", "_deadline")):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return count(value)
    return str(value)


def _entry(entry: Mapping[str, Any], lang: Lang) -> str:
    """`银商 0.5（外部）`: a responsibility entry."""
    side = text("party.internal" if entry.get("internal", True) else "party.external", lang)
    share = count(entry.get("share", 0))
    return text("party.entry", lang).format(party=entry.get("party", ""), share=share, side=side)


def age(since: datetime, now: datetime, lang: Lang) -> str:
    """How long ago: `25分钟`, `3小时12分钟`, `2天4小时` (en `25 min`, `3 h 12 min`, `2 d 4 h`)."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return text("age.days", lang).format(d=days, h=hours)
    if hours:
        return text("age.hours", lang).format(h=hours, m=minutes)
    return text("age.minutes", lang).format(m=minutes)
