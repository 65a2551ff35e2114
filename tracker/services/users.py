"""Web UI users: argon2-hashed passwords, sessions that end when they should, and sign-in
throttled per name and, much more loosely, per address."""

from __future__ import annotations

import functools
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tracker.core.vocabulary import ROLES
from tracker.db import database, exclusive
from tracker.errors import Conflict, Invalid, NotFound, TrackerError
from tracker.models import LoginAttempt, User
from tracker.services import audit
from tracker.services.tokens import forget_tokens, revoke_tokens_of

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MIN_PASSWORD = 10
MIN_DISTINCT = 5  # `aaaaaaaaaa` is ten characters and no password
THROTTLE_WINDOW = timedelta(minutes=15)
# One person's name locks after a few tries; an address (behind a proxy, maybe everyone's)
# only after many, so that one person's typos never lock out another.
NAME_FAILURES = 5
ADDRESS_FAILURES = 50


class TooManyAttempts(TrackerError):
    status = 429
    title = "Too many attempts"

    def __init__(self, detail: str, minutes: int) -> None:
        super().__init__(detail)
        self.minutes = minutes


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD or len(set(password.strip())) < MIN_DISTINCT:
        raise Invalid.one(
            "password",
            f"must be at least {MIN_PASSWORD} characters, not only spaces or one repeated",
        )
    return password


def new_session_key() -> str:
    return secrets.token_urlsafe(32)


def create_user(name: str, role: str, password: str, *, actor: str, now: datetime) -> User:
    if not NAME.match(name):
        raise Invalid.one("name", "1 to 64 letters, digits, dots, dashes or underscores")
    if role not in ROLES:
        raise Invalid.one("role", f"must be one of {', '.join(ROLES)}")
    _checked_password(password)
    with database.atomic():
        if User.get_or_none(User.name == name) is not None:
            raise Conflict(f"user {name!r} exists")
        user = User.create(
            name=name,
            role=role,
            password_hash=HASHER.hash(password),
            created_at=now,
            session_key=new_session_key(),
        )
        after = {"name": name, "role": role}
        audit.record("create", "user", name, before=None, after=after, actor=actor, now=now)
    return user


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown names against, so that they take as long as known ones."""
    return HASHER.hash(secrets.token_urlsafe(16))


def sign_in(name: str, password: str, *, address: str, now: datetime) -> User | None:
    """The user, if the password is right; None if not. After NAME_FAILURES failures at a
    name, or ADDRESS_FAILURES from an address, in THROTTLE_WINDOW, refuses (429) unchecked.

    The attempt is counted and written (as failed) in one transaction, under a lock on the
    name, before the password is checked: concurrent guesses each see the ones before them.
    The slow check runs outside the lock and marks the attempt succeeded if it was."""
    name = name.replace("\x00", "\ufffd")[:64]  # no name has U+0000; PostgreSQL cannot store it
    address = address[:64]
    since = now - THROTTLE_WINDOW
    minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
    with exclusive(database, f"tracker.sign_in.{name}"):
        if (
            LoginAttempt.failures_of_name(name, since) >= NAME_FAILURES
            or LoginAttempt.failures_from(address, since) >= ADDRESS_FAILURES
        ):
            raise TooManyAttempts(
                f"too many failed sign-ins; wait {minutes} minutes and try again", minutes
            )
        attempt = LoginAttempt.create(name=name, address=address, at=now, succeeded=False)
    user = User.active(name)
    try:
        ok = HASHER.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not (ok and user):
        return None
    with database.atomic():
        attempt.succeeded = True
        attempt.save()
        user.signed_in_at = now
        if HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = HASHER.hash(password)
        user.save()
    return user


def find_user(user_id: int) -> User | None:
    return User.get_or_none((User.id == user_id) & User.disabled_at.is_null())


def session_user(user_id: object, key: object) -> User | None:
    """The user a session cookie names, if it is still theirs: an active user whose session
    key is the cookie's (signing out, disabling, a new role or password change the key)."""
    if not isinstance(user_id, int) or not isinstance(key, str) or not key:
        return None
    user = find_user(user_id)
    if user is None or not secrets.compare_digest(user.session_key, key):
        return None
    return user


def get_user_by_name(name: str) -> User:
    user = User.get_or_none(User.name == name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    return user


def active_user(name: str) -> User:
    """The user of this name, if they may still sign in (a token is made only for them)."""
    user = get_user_by_name(name)
    if user.disabled_at is not None:
        raise Conflict(f"user {name!r} is disabled")
    return user


def list_users() -> list[User]:
    return list(User.select().order_by(User.name))


def end_sessions(user: User) -> None:
    """Every session of this user ends now (their cookies no longer name them)."""
    user.session_key = new_session_key()
    user.save()


def _change(name: str, action: str, *, actor: str, now: datetime, **fields: object) -> User:
    """Change a user and end their sessions, audited."""
    with database.atomic():
        user = get_user_by_name(name)
        before = {k: _plain(getattr(user, k)) for k in fields if k != "password_hash"}
        for key, value in fields.items():
            setattr(user, key, value)
        end_sessions(user)
        after = {k: _plain(getattr(user, k)) for k in fields if k != "password_hash"}
        audit.record(action, "user", name, before=before, after=after, actor=actor, now=now)
    return user


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def disable_user(name: str, *, actor: str, now: datetime) -> int:
    """The user can no longer sign in, is signed out everywhere at once, and every API token
    made for them is revoked (in the same transaction); returns how many tokens were."""
    with database.atomic():
        user = _change(name, "disable", actor=actor, now=now, disabled_at=now)
        revoked = revoke_tokens_of(user, actor=actor, now=now)
    forget_tokens()
    return revoked


def set_role(name: str, role: str, *, actor: str, now: datetime) -> User:
    if role not in ROLES:
        raise Invalid.one("role", f"must be one of {', '.join(ROLES)}")
    return _change(name, "update", actor=actor, now=now, role=role)


def reset_password(name: str, password: str, *, actor: str, now: datetime) -> User:
    hashed = HASHER.hash(_checked_password(password))
    return _change(name, "reset_password", actor=actor, now=now, password_hash=hashed)


def unlock(name: str, *, actor: str, now: datetime) -> int:
    """Forgive a name's failed sign-ins (a locked-out person may try again at once); returns
    how many were forgiven."""
    with database.atomic():
        cleared = LoginAttempt.clear(name)
        audit.record(
            "unlock", "user", name, before=None, after={"cleared": cleared}, actor=actor, now=now
        )
    return cleared
