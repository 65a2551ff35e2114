"""/payments: per-minute outcome counts in, success rates out."""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import settings
from tracker.schemas import PaymentCountBatch, RateQuery, RatesOut, Upserted
from tracker.services import payments

TAGS = ("payments",)


@api.post("/payments/counts")
@endpoint(right="ingest", body=PaymentCountBatch, raw_body=True, resp=Upserted, tags=TAGS)
def ingest_counts(body: bytes):
    """Upsert minute buckets all or nothing; a key written again replaces the old count."""
    config = settings()
    bounds = payments.Bounds.at(utcnow(), max_channels=config.payments.max_channels)
    max_rows = config.payments.max_batch_rows
    upserted = payments.ingest_json(body, zone=config.zone, bounds=bounds, max_rows=max_rows)
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
