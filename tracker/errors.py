"""Domain errors. Service functions raise them; each adapter turns them into its own shape
(problem+json for HTTP, a message and an exit code for the CLI)."""

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


class TrackerError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class BadRequest(TrackerError):
    status = 400
    title = "Bad request"


class Unauthorized(TrackerError):
    status = 401
    title = "Unauthorized"


class Forbidden(TrackerError):
    status = 403
    title = "Forbidden"


class NotFound(TrackerError):
    status = 404
    title = "Not found"


class Conflict(TrackerError):
    status = 409
    title = "Conflict"


class BatchTooLarge(TrackerError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(TrackerError):
    status = 415
    title = "Unsupported media type"


class Unavailable(TrackerError):
    status = 503
    title = "Service unavailable"


class Invalid(TrackerError):
    status = 422
    title = "Invalid field"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        first = errors[0] if errors else None
        summary = f"{first.field}: {first.message}" if first else "invalid input"
        if len(errors) > 1:
            summary += f" (and {len(errors) - 1} more)"
        super().__init__(detail or summary, errors)

    @classmethod
    def one(cls, name: str, message: str, code: str = "", **params: object) -> Invalid:
        return cls([FieldError(name, message, code, params)])
