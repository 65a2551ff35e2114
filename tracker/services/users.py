"""Web UI users: argon2-hashed passwords, and sign-in throttled per name and per address."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tracker.core.vocabulary import ROLES
from tracker.db import database
from tracker.errors import Conflict, Invalid, TrackerError
from tracker.models import LoginAttempt, User
from tracker.services import audit

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MIN_PASSWORD = 10
THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_FAILURES = 5


class TooManyAttempts(TrackerError):
    status = 429
    title = "Too many attempts"


def create_user(name: str, role: str, password: str, *, actor: str, now: datetime) -> User:
    if not NAME.match(name):
        raise Invalid.one("name", "1 to 64 letters, digits, dots, dashes or underscores")
    if role not in ROLES:
        raise Invalid.one("role", f"must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise Invalid.one("password", f"must be at least {MIN_PASSWORD} characters")
    with database.atomic():
        if User.get_or_none(User.name == name) is not None:
            raise Conflict(f"user {name!r} exists")
        user = User.create(
            name=name, role=role, password_hash=HASHER.hash(password), created_at=now
        )
        audit.record(
            "create",
            "user",
            name,
            before=None,
            after={"name": name, "role": role},
            actor=actor,
            now=now,
        )
    return user


def sign_in(name: str, password: str, *, address: str, now: datetime) -> User | None:
    """The user, if the password is right; None if not. After THROTTLE_FAILURES failures in
    THROTTLE_WINDOW for this name or from this address, refuses (429) without checking."""
    name = name.replace("\x00", "\ufffd")  # no name has U+0000, and PostgreSQL cannot store it
    if LoginAttempt.failures_since(now - THROTTLE_WINDOW, name=name, address=address) >= (
        THROTTLE_FAILURES
    ):
        raise TooManyAttempts("too many failed sign-ins; wait 15 minutes and try again")
    user = User.active(name)
    ok = False
    if user is not None:
        try:
            ok = HASHER.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    with database.atomic():
        LoginAttempt.create(name=name[:64], address=address[:64], at=now, succeeded=ok)
        if ok and HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = HASHER.hash(password)
            user.save()
    return user if ok else None


def get_user(user_id: int) -> User | None:
    return User.get_or_none((User.id == user_id) & User.disabled_at.is_null())
