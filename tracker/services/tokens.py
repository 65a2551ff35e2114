"""API tokens: shown once, stored as a SHA-256 digest (they are random, so no slow hash is
needed), looked up by digest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import peewee

from tracker.core.vocabulary import ROLES
from tracker.db import database
from tracker.errors import Invalid, NotFound
from tracker.models import ApiToken, User
from tracker.services import audit

PREFIX = "trk_"
CACHE_SECONDS = 5
CACHE_SIZE = 1000
# digest → (remembered until, the token): dict operations are atomic under the GIL.
_REMEMBERED: dict[str, tuple[datetime, ApiToken]] = {}

# Which roles may do what: each role includes the rights of `viewer`.
ROLE_RIGHTS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "ingest": frozenset({"read", "ingest"}),
    "responder": frozenset({"read", "respond"}),
    "admin": frozenset({"read", "ingest", "respond", "admin"}),
}


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    name: str,
    role: str,
    *,
    actor: str,
    now: datetime,
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> str:
    """Create a token and return it; only its digest is kept. A token with `expires_at` is
    refused from that moment on; without, it lasts until revoked. `created_by`, the person
    who made it: disabling them revokes it."""
    if role not in ROLES:
        raise Invalid.one("role", f"must be one of {', '.join(ROLES)}")
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid.one("name", "must be 1 to 200 characters")
    if expires_at is not None and expires_at <= now:
        raise Invalid.one("expires_at", "must be in the future")
    raw = PREFIX + secrets.token_urlsafe(32)
    with database.atomic():
        token = ApiToken.create(
            name=name,
            role=role,
            token_hash=digest(raw),
            created_at=now,
            expires_at=expires_at,
            created_by=created_by,
        )
        after = {"name": name, "role": role}
        if expires_at is not None:
            after["expires_at"] = expires_at.isoformat()
        if created_by is not None:
            after["created_by"] = created_by.name
        audit.record("create", "token", token.id, before=None, after=after, actor=actor, now=now)
    return raw


def authenticate(raw: str, *, now: datetime) -> ApiToken | None:
    """The token for a raw bearer value if it is known, not revoked and not expired; or None.
    A token found is remembered for CACHE_SECONDS (never past its expiry): a busy client's
    requests skip the lookup. Revoking forgets every remembered token in this process at
    once; other processes (workers, the CLI) stop accepting it within CACHE_SECONDS."""
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    key = digest(raw)
    remembered = _REMEMBERED.get(key)
    if remembered is not None and now < remembered[0]:
        return remembered[1]
    token = ApiToken.active_by_hash(key, now)
    if token is None:
        _REMEMBERED.pop(key, None)
        return None
    until = now + timedelta(seconds=CACHE_SECONDS)
    if token.expires_at is not None:
        until = min(until, token.expires_at)
    if len(_REMEMBERED) >= CACHE_SIZE:
        _REMEMBERED.clear()  # tokens are few; a flood of distinct ones only costs lookups
    _REMEMBERED[key] = (until, token)
    return token


def forget_tokens() -> None:
    """Forget every remembered token (after a revocation)."""
    _REMEMBERED.clear()


def may(role: str, right: str) -> bool:
    return right in ROLE_RIGHTS.get(role, frozenset())


def list_tokens() -> list[ApiToken]:
    """Every token, newest last, with its creator read in the same query."""
    query = ApiToken.select(ApiToken, User).join(User, peewee.JOIN.LEFT_OUTER)
    return list(query.order_by(ApiToken.id))


def revoke_token(token_id: int, *, actor: str, now: datetime) -> None:
    """A revoked token is refused from the next request on in this process (within
    CACHE_SECONDS in others); revoking twice is harmless."""
    with database.atomic():
        token = ApiToken.get_or_none(ApiToken.id == token_id)
        if token is None:
            raise NotFound(f"no token {token_id}")
        _revoke(token, actor=actor, now=now)
    forget_tokens()  # once committed: a lookup before that could remember it again


def revoke_tokens_of(user: User, *, actor: str, now: datetime) -> int:
    """Revoke every token `user` made (call in the transaction that disables them, then
    forget_tokens); returns how many were still in force."""
    made = ApiToken.select().where((ApiToken.created_by == user) & ApiToken.revoked_at.is_null())
    return sum(_revoke(token, actor=actor, now=now) for token in made)


def _revoke(token: ApiToken, *, actor: str, now: datetime) -> bool:
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    token.save()
    audit.record(
        "revoke",
        "token",
        token.id,
        before={"revoked_at": None},
        after={"revoked_at": now.isoformat()},
        actor=actor,
        now=now,
    )
    return True
