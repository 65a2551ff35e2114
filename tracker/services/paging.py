"""Keyset (cursor) and page-number pagination over a peewee query."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

import peewee

from tracker.errors import Invalid
from tracker.schemas import Page, PageQuery


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, arity: int) -> list[Any]:
    """The values of a cursor; a forged one (another shape, a number beyond 64 bits, which no
    driver can bind) is a 422, never a query."""
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError:
        values = None
    if (
        not isinstance(values, list)
        or len(values) != arity
        or not all(_plain(value) for value in values)
    ):
        raise Invalid.one("cursor", "is not a cursor this server handed out")
    return values


def _plain(value: Any) -> bool:
    """A cursor value: short text, or an integer a 64-bit column holds."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and len(value) <= 64


def paginate(
    query: peewee.ModelSelect,
    paging: PageQuery,
    *,
    key: Callable[[Any], Sequence[Any]],
    after: Callable[[peewee.ModelSelect, list[Any]], peewee.ModelSelect],
    arity: int,
) -> Page[Any]:
    """One page of an ordered query. `key(row)` gives a row's cursor values and
    `after(query, values)` keeps the rows past them."""

    def fetch(past: peewee.ModelSelect | None, offset: int | None, limit: int) -> list[Any]:
        rows = query if past is None else past
        if offset is not None:
            rows = rows.offset(offset)
        return list(rows.limit(limit))

    return paged(
        paging, key=key, arity=arity, read=lambda values: after(query, values), fetch=fetch
    )


def paged(
    paging: PageQuery,
    *,
    key: Callable[[Any], Sequence[Any]],
    arity: int,
    read: Callable[[list[Any]], Any],
    fetch: Callable[[Any, int | None, int], list[Any]],
) -> Page[Any]:
    """One page of rows in a fixed order. `key(row)` gives a row's cursor values; `read(values)`
    reads a cursor's values back (a ValueError or TypeError: a forged cursor, 422);
    `fetch(after, offset, limit)` returns up to `limit` rows past what `read` returned (None
    without a cursor), or from `offset` (None without a page number)."""
    if paging.cursor is not None and paging.page is not None:
        raise Invalid.one("cursor", "give either cursor or page, not both")
    past = None
    if paging.cursor is not None:
        try:
            past = read(decode_cursor(paging.cursor, arity))
        except (ValueError, TypeError):
            raise Invalid.one("cursor", "is not a cursor this server handed out") from None
    offset = None if paging.page is None else (paging.page - 1) * paging.limit
    rows = fetch(past, offset, paging.limit + 1)
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    next_cursor = encode_cursor(key(rows[-1])) if more else None
    return Page.of(rows, paging.limit, next_cursor, paging.page)
