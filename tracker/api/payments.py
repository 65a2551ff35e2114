"""/payments: per-minute outcome counts in, success rates out."""

from tracker.api.blueprint import api
from tracker.api.context import settings
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.schemas import PaymentCountBatch, RateQuery, RatesOut, Upserted
from tracker.services import payments

TAGS = ("payments",)


def _batch_limit() -> dict[str, int]:
    return {"max_rows": settings().payments.max_batch_rows}


@api.post("/payments/counts")
@endpoint(right="ingest", body=PaymentCountBatch, resp=Upserted, tags=TAGS, context=_batch_limit)
def ingest_counts(body: PaymentCountBatch):
    """Upsert minute buckets all or nothing; a key written again replaces the old count."""
    upserted = payments.ingest(body.counts, zone=settings().zone)
    return Upserted(upserted=upserted)


@api.get("/payments/rates")
@endpoint(query=RateQuery, resp=RatesOut, tags=TAGS)
def rates(query: RateQuery):
    """Every configured success rate over a window (default wtd) or a range."""
    return payments.rates_report(
        window=query.window, since=query.since, until=query.until, channel=query.channel,
        now=utcnow(), definitions=settings().payments.definitions(), zone=settings().zone,
    )  # fmt: skip
