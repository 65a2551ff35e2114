"""Headers every answer carries: a Content-Security-Policy that lets pages run and load only
this server's files and be framed by no one, no MIME sniffing, no referrer beyond this site,
and nothing cached of what a signed-in person or a token read."""

from __future__ import annotations

from flask import Flask, Response, g, request

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # the budget bars' widths, Swagger UI's layout
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Referrer-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def _secure(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if _private(response):
            response.headers["Cache-Control"] = "no-store"
        return response


def _private(response: Response) -> bool:
    """What a signed-in person or a token read, and every download: never kept by a cache
    (a shared computer's, or a proxy's). Static files may be."""
    if (request.endpoint or "").endswith(".static"):
        return False
    return bool(
        g.get("user")
        or request.headers.get("Authorization")
        or "attachment" in response.headers.get("Content-Disposition", "")
    )
