"""Bearer-token authentication for /api/v1: who is asking, and with which role."""

from __future__ import annotations

from flask import g, request

from tracker.api.blueprint import api
from tracker.clock import utcnow
from tracker.context import settings
from tracker.errors import Unauthorized
from tracker.services.tokens import authenticate

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@api.before_request
def identify() -> None:
    """Set g.actor and g.role, or refuse. A bad token is refused even where anonymous
    reads are allowed; writes always need a token."""
    header = request.headers.get("Authorization", "")
    if not header:
        if request.method in SAFE_METHODS and settings().anonymous_read:
            g.actor, g.role = "anonymous", "viewer"
            return
        raise Unauthorized("send Authorization: Bearer <token>")
    scheme, _, raw = header.partition(" ")
    token = authenticate(raw.strip(), now=utcnow()) if scheme.lower() == "bearer" else None
    if token is None:
        raise Unauthorized("the bearer token is unknown, revoked, expired or malformed")
    g.actor, g.role = token.name, token.role
