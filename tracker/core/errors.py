"""What is wrong with one field of some input: the core's rules say it this way, and every
adapter turns it into its own shape (a problem document's `errors`, a form's messages, a CLI
line)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from tracker.core.texts import TEXTS, Lang, term, text


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field: the message (English, as the API says it), and a code
    with the values it names, from which the web UI says it in the page's language."""

    field: str
    message: str
    code: str = ""
    params: Mapping[str, object] = field(default_factory=dict)

    def say(self, lang: Lang, zone: ZoneInfo | None = None) -> str:
        """The message in `lang` when its code has a text (else as the API says it); times
        in `zone`, the zone people read them in."""
        if not self.code or self.code not in TEXTS:
            return self.message
        params = {key: _shown(key, value, lang, zone) for key, value in self.params.items()}
        try:
            return text(self.code, lang).format(**params)
        except (KeyError, IndexError):
            return self.message


def _shown(key: str, value: object, lang: Lang, zone: ZoneInfo | None) -> object:
    if key == "other" and str(value) in TEXTS:
        return text(str(value), lang)  # another field, by its label
    if key in ("grade", "suggested"):
        return term("grade", value, lang)
    if key == "status":
        return term("status", value, lang)
    if isinstance(value, datetime):
        moment = value.astimezone(zone) if zone is not None else value
        return moment.strftime("%Y-%m-%d %H:%M:%S%z" if zone is None else "%Y-%m-%d %H:%M:%S")
    return value
