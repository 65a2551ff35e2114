"""Domain errors. Service functions raise them; each adapter turns them into its own shape
(problem+json for HTTP, a message and an exit code for the CLI)."""

from __future__ import annotations

from tracker.core.errors import FieldError


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


__all__ = ["FieldError"]
