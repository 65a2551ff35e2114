"""The API's way in: a JSON batch of minute counts, folded a column at a time when every
value is canonical (Arrow), else row by row (pydantic names the fault), stored all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from tracker.db import database, exclusive
from tracker.errors import BatchTooLarge, Invalid
from tracker.schemas import PaymentCountBatch, validate_json
from tracker.services.payments.columns import NotCanonical, fold_objects
from tracker.services.payments.rows import BadRow, fold, json_records
from tracker.services.payments.store import LOCK, Bounds, Ready, write


def ingest_json(raw: bytes, *, zone: ZoneInfo, bounds: Bounds, max_rows: int) -> int:
    """A JSON batch (`{"counts": [...]}`) stored all or nothing; returns its rows. More than
    `max_rows` rows is a 413, decided before any row is validated. orjson reads the body and
    the rows go the fast way (a batch of 10,000 costs a fraction of pydantic's time); a body
    of another shape goes through PaymentCountBatch, which names the fault (400, 422)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None  # pydantic's parser says why (400), or reads what orjson would not (2**64)
    rows = body.get("counts") if type(body) is dict else None
    if type(rows) is list and len(rows) > max_rows:
        raise BatchTooLarge(f"{len(rows)} rows in one batch; send at most {max_rows}")
    if type(body) is not dict or body.keys() != {"counts"} or type(rows) is not list:
        rows = validate_json(PaymentCountBatch, raw).counts
    return ingest(rows, zone=zone, bounds=bounds)


def ingest(rows: Sequence[Any], *, zone: ZoneInfo, bounds: Bounds, field: str = "counts") -> int:
    """Validate and upsert a batch of rows as JSON gave them, all or nothing; returns how many
    rows it held. An invalid row is refused naming it (`counts[3].minute`)."""
    try:
        folded = fold_objects(rows, zone=zone)
    except NotCanonical:
        try:
            folded = fold(json_records(rows), zone=zone)
        except BadRow as exc:
            raise Invalid(exc.at(field)) from None
    ready = Ready.of(folded.buckets)  # before the lock: nothing in it reads the database
    with exclusive(database, LOCK):
        write(ready, zone=zone, bounds=bounds, field=field)
    return folded.rows
