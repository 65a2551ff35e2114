"""Every error as application/problem+json (RFC 9457), whatever raised it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, RequestURITooLarge

from tracker.context import settings
from tracker.db import DATABASE_DOWN, lock_timed_out
from tracker.errors import FieldError, TrackerError

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
MAX_URI_BYTES = 8190  # as gunicorn's limit_request_line: the same line whoever serves the app
SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    414: "uri-too-long",
    417: "expectation-failed",
    415: "unsupported-media-type",
    422: "invalid-field",
    429: "too-many-requests",
    431: "request-header-fields-too-large",
    500: "internal-error",
    501: "not-implemented",
    503: "unavailable",
}


def problem(
    status: int,
    title: str,
    detail: str,
    errors: Iterable[FieldError] = (),
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """A problem document; `extensions` are extra members (RFC 9457 §3.2)."""
    return Response(
        problem_text(status, title, detail, errors, extensions),
        status=status,
        mimetype=MEDIA_TYPE,
        headers=headers,
    )


def problem_text(
    status: int,
    title: str,
    detail: str,
    errors: Iterable[FieldError] = (),
    extensions: dict[str, Any] | None = None,
) -> str:
    """The JSON of a problem document (also written by the server for requests it refuses
    before the app sees them)."""
    body = {
        "type": f"urn:tracker:problem:{SLUGS.get(status, 'error')}",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [{"field": e.field, "message": e.message} for e in errors],
        **(extensions or {}),
    }
    return json.dumps(body, ensure_ascii=False)


def database_down(extensions: dict[str, Any] | None = None) -> Response:
    """503: the database does not answer (nothing was changed); retry shortly."""
    return problem(
        503,
        "Service unavailable",
        "the database is not answering; retry shortly",
        headers={"Retry-After": "5"},
        extensions=extensions,
    )


def database_busy() -> Response:
    """503: a write waited `database.busy_timeout_ms` for a lock another write held, and gave
    up (nothing was changed); retry."""
    waited = settings().database.busy_timeout_ms
    return problem(
        503,
        "Database busy",
        f"the database is busy: this write waited {waited} ms for the lock another write held "
        "and gave up; nothing was changed, retry",
        headers={"Retry-After": "1"},
    )


def note_database_error(exc: Exception) -> str:
    """Log a database error and say which it is: `busy` (a write gave up waiting for a lock,
    counted in tracker_database_lock_timeouts_total) or `down` (no answer)."""
    if lock_timed_out(exc):
        log.warning("database busy: a write gave up waiting for its lock: %s", exc)
        current_app.extensions["tracker.lock_timeouts"].inc()
        return "busy"
    log.warning("database unavailable: %s", str(exc).strip())
    return "down"


def uri_bytes(environ: dict[str, Any]) -> int:
    """The length of the request target: its path (as WSGI decoded it) and query string."""
    path = environ.get("PATH_INFO", "").encode("latin-1", "replace")
    return len(path) + 1 + len(environ.get("QUERY_STRING", "").encode("latin-1", "replace"))


def init_app(app: Flask) -> None:
    @app.before_request
    def _uri_not_too_long() -> None:
        """414 for an overlong URI under any WSGI server (under `tracker serve`, gunicorn
        refuses the request line first, with the same problem)."""
        if uri_bytes(request.environ) > MAX_URI_BYTES:
            raise RequestURITooLarge(f"the URI is longer than {MAX_URI_BYTES} bytes")

    @app.errorhandler(TrackerError)
    def _tracker_error(exc: TrackerError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(exc.status, exc.title, exc.detail, exc.errors, headers=headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        headers = dict(exc.get_headers()) if status in (401, 405) else {}
        headers.pop("Content-Type", None)
        return problem(status, exc.name, exc.description or exc.name, headers=headers)

    @app.errorhandler(DATABASE_DOWN[0])
    @app.errorhandler(DATABASE_DOWN[1])
    def _database_down(exc: Exception) -> Response:
        return database_busy() if note_database_error(exc) == "busy" else database_down()

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "Internal error", "the server failed; the error is logged")
