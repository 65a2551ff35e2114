"""People who sign in with the company's account (DESIGN §14), through an OpenID provider or a
signing-in proxy. A person is known by their issuer and subject, the one identifier a provider
never gives to somebody else; their name (`preferred_username`, else e-mail) is what the audit
trail calls them. They are created at their first sign-in, and their role is the one their
groups map to at every sign-in: leaving a group demotes them the next time they come.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tracker.db import database, exclusive
from tracker.errors import Forbidden
from tracker.models import User
from tracker.services import audit
from tracker.services.users import end_sessions, get_user_by_name, new_session_key

log = logging.getLogger("tracker.signin")


@dataclass(frozen=True)
class Person:
    """Who a provider or proxy says is signing in."""

    source: str  # "oidc" or "proxy"
    issuer: str
    subject: str
    name: str
    email: str = ""


class Refused(Forbidden):
    """Company sign-in refused; `reason` names the text that says why (texts `signin.*`)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def refused(reason: str, detail: str) -> Refused:
    """A refusal, logged (never with a code, a token or a secret)."""
    log.warning("sign-in refused (%s): %s", reason, detail)
    return Refused(reason, detail)


def sign_in(person: Person, role: str | None, *, now: datetime, keep_role: bool = False) -> User:
    """The user this person is, created at their first sign-in, their role set to `role`
    (None: no group of theirs maps to a role and there is no default: refused, and a user who
    had a role is signed out everywhere). With `keep_role`, `role` is only a newcomer's and
    a known user keeps the one an admin gave them. Disabled users stay out."""
    with exclusive(database, f"tracker.identity.{person.issuer}.{person.subject}"):
        user = User.get_or_none((User.issuer == person.issuer) & (User.subject == person.subject))
        if user is None:
            return _first_sign_in(person, role, now=now)
        if user.disabled_at is not None:
            raise refused("disabled", f"user {user.name!r} is disabled")
        if keep_role:
            role = user.role
        if role is None:
            end_sessions(user)  # kept: the refusal is raised once this is committed
        elif user.role != role:
            audit.record(
                "update",
                "user",
                user.name,
                before={"role": user.role},
                after={"role": role},
                actor=person.source,
                now=now,
            )
            user.role = role
            user.session_key = new_session_key()  # a new role ends the sessions of the old
        if role is not None:
            user.email = person.email[:254]
            user.signed_in_at = now
            user.save()
    if role is None:
        raise refused("no_role", f"no group of {user.name!r} maps to a role")
    return user


def _first_sign_in(person: Person, role: str | None, *, now: datetime) -> User:
    if role is None:
        raise refused("no_role", f"no group of {person.name!r} maps to a role")
    user = User.get_or_none(User.name == person.name)
    if user is not None and not (user.source == person.source and user.subject is None):
        raise refused(
            "name_taken",
            f"the name {person.name!r} belongs to another user (an admin may hand it over: "
            f"tracker users hand-over {person.name} --to {person.source})",
        )
    if user is not None:  # handed over: the local user's history becomes this person's
        before = {"source": user.source, "role": user.role}
        user.issuer, user.subject, user.role = person.issuer, person.subject, role
        user.email, user.signed_in_at = person.email[:254], now
        user.session_key = new_session_key()
        user.save()
        after = {"source": user.source, "role": role, "issuer": person.issuer}
        audit.record(
            "claim", "user", user.name, before=before, after=after, actor=user.name, now=now
        )
        return user
    user = User.create(
        name=person.name,
        role=role,
        password_hash="",  # signs in only through the company
        created_at=now,
        session_key=new_session_key(),
        source=person.source,
        issuer=person.issuer,
        subject=person.subject,
        email=person.email[:254],
        signed_in_at=now,
    )
    after = {"name": user.name, "role": role, "source": person.source, "issuer": person.issuer}
    audit.record("create", "user", user.name, before=None, after=after, actor=user.name, now=now)
    return user


def hand_over(name: str, source: str, *, actor: str, now: datetime) -> User:
    """Let the next company sign-in under `name` (through `source`) take over this local
    user, history and all; its password stops working and its sessions end now."""
    with database.atomic():
        user = get_user_by_name(name)
        before = {"source": user.source}
        user.source, user.issuer, user.subject, user.password_hash = source, None, None, ""
        end_sessions(user)
        audit.record(
            "hand_over", "user", name, before=before, after={"source": source}, actor=actor, now=now
        )
    return user
