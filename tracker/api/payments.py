"""/payments: per-minute outcome counts in, success rates out."""

from typing import Any

import orjson

from tracker.api.blueprint import api
from tracker.api.routing import endpoint, validate_json
from tracker.clock import utcnow
from tracker.context import settings
from tracker.errors import BatchTooLarge
from tracker.schemas import PaymentCountBatch, RateQuery, RatesOut, Upserted
from tracker.services import payments

TAGS = ("payments",)


def _batch_limit() -> dict[str, int]:
    return {"max_rows": settings().payments.max_batch_rows}


def _batch_rows(raw: bytes, context: dict[str, Any] | None) -> list[Any]:
    """The rows of a batch as JSON gave them; the payment service validates them (a batch of
    10,000 rows costs a fraction of pydantic's time that way, with pydantic's errors). An
    envelope other than `{"counts": [...]}` goes through the model, which names the fault."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None  # pydantic's parser says why (400), or reads what orjson would not (2**64)
    if type(body) is not dict or body.keys() != {"counts"} or type(body["counts"]) is not list:
        return validate_json(PaymentCountBatch, raw, context).counts
    rows = body["counts"]
    limit = (context or {}).get("max_rows")
    if limit is not None and len(rows) > limit:
        raise BatchTooLarge(f"{len(rows)} rows in one batch; send at most {limit}")
    return rows


@api.post("/payments/counts")
@endpoint(
    right="ingest",
    body=PaymentCountBatch,
    parse=_batch_rows,
    resp=Upserted,
    tags=TAGS,
    context=_batch_limit,
)
def ingest_counts(body: list[Any]):
    """Upsert minute buckets all or nothing; a key written again replaces the old count."""
    bounds = payments.Bounds.at(utcnow(), max_channels=settings().payments.max_channels)
    upserted = payments.ingest(body, zone=settings().zone, bounds=bounds)
    return Upserted(upserted=upserted)


@api.get("/payments/rates")
@endpoint(query=RateQuery, resp=RatesOut, tags=TAGS)
def rates(query: RateQuery):
    """Every configured success rate over a window (default wtd) or a range."""
    return payments.rates_report(
        window=query.window, since=query.since, until=query.until, channel=query.channel,
        now=utcnow(), definitions=settings().payments.definitions(), zone=settings().zone,
        lang=query.lang,
    )  # fmt: skip
