"""Company sign-in, the part that is only reading: which role a person's groups give them, and
what to call them. The same rules serve OpenID Connect claims and a signing-in proxy's headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tracker.core.vocabulary import ROLES

# The highest mapped role wins: each later role is trusted with more.
RANK = {role: rank for rank, role in enumerate(ROLES)}
# A name as the audit trail shows it: printable, no spaces or slashes (it is part of a page's
# path), at most 254 characters (an e-mail address at its longest).
EXTERNAL_NAME = re.compile(r"^[^\s\x00-\x1f\x7f/\\]{1,254}$")


def mapped_role(
    groups: Iterable[str], role_map: Mapping[str, str], default_role: str | None
) -> str | None:
    """The highest role any of the groups maps to, else the default (None: refused)."""
    roles = [role_map[group] for group in groups if group in role_map]
    if not roles:
        return default_role
    return max(roles, key=RANK.__getitem__)


def claim_values(claims: Mapping[str, Any], path: str) -> list[str]:
    """The values at a claim (dotted for nested: Keycloak's `realm_access.roles`), as
    strings: a list of them, or one string (some providers send a single group bare)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return []
        value = value[part]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def has_claim(claims: Mapping[str, Any], path: str) -> bool:
    """Whether the (dotted) claim is there at all, even empty."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True


def person_name(claims: Mapping[str, Any]) -> str | None:
    """What the audit trail calls someone: `preferred_username`, else their e-mail address;
    None when neither is a usable name."""
    for key in ("preferred_username", "email"):
        value = claims.get(key)
        if isinstance(value, str) and EXTERNAL_NAME.match(value.strip()):
            return value.strip()
    return None


def header_groups(value: str) -> list[str]:
    """Groups a proxy sends in one header, comma-separated."""
    return [group.strip() for group in value.split(",") if group.strip()]
