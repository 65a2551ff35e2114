"""What a send comes back with: an `Answer`, or a `DeliveryError` whose text says why in words
of tracker's own and never carries a secret (the URL's key or token, the signing secret)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit

EXCERPT_CHARS = 200
HIDDEN = "***"


@dataclass(frozen=True)
class Answer:
    """A channel took the message: its status (HTTP, or 250 for SMTP) and a short excerpt of
    what it said, secrets scrubbed."""

    status: int
    body: str


class DeliveryError(Exception):
    """A channel did not take the message (refused, failed, unreachable or too slow)."""


def hidden_values(url: str, secret: str, extra: Iterable[str] = ()) -> list[str]:
    """Everything that must not be shown: the URL, its path and every part of it (robot ids
    and tokens live in paths too), its query values, the secret, and `extra` (signatures)."""
    parts = urlsplit(url)
    values = {url, url.split("?", 1)[0], parts.path, parts.password or "", secret, *extra}
    values |= {value for _, value in parse_qsl(parts.query)}
    values |= {segment for segment in parts.path.split("/") if len(segment) >= 8}
    values |= {quote(value, safe="") for value in values}
    return sorted((v for v in values if v and v != "/"), key=len, reverse=True)


def scrub(text: str, hidden: Iterable[str]) -> str:
    """`text` with every hidden value replaced (longest first, so no part of one survives)."""
    for value in hidden:
        text = text.replace(value, HIDDEN)
    return text


def excerpt(text: str, hidden: Iterable[str]) -> str:
    """A short one-line excerpt of what a service answered, scrubbed before it is cut."""
    flat = " ".join(scrub(text, hidden).split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"
