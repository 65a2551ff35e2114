"""Headers every answer carries: a Content-Security-Policy that lets pages run and load only
this server's files and be framed by no one, no MIME sniffing, no referrer beyond this site,
and nothing cached of what a signed-in person or a token read."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, g, request


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    """The policy; `form_targets`, other origins a form may lead to (signing out of the
    company's OpenID provider is a form whose answer redirects there)."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",  # the budget bars' widths, Swagger UI's layout
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            " ".join(("form-action 'self'", *form_targets)),
            "frame-ancestors 'none'",
        )
    )


HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Referrer-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    issuer = urlsplit(app.extensions["tracker.settings"].auth.oidc.issuer)
    origins = (f"{issuer.scheme}://{issuer.netloc}",) if issuer.netloc else ()
    headers = {"Content-Security-Policy": content_security_policy(origins), **HEADERS}

    @app.after_request
    def _secure(response: Response) -> Response:
        for name, value in headers.items():
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
