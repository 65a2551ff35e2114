"""/payments: per-minute outcome counts in, success rates out."""

from tracker.api.blueprint import api
from tracker.api.routing import endpoint
from tracker.clock import utcnow
from tracker.context import settings
from tracker.core.display import utc_text
from tracker.errors import Invalid
from tracker.schemas import DipQuery, DipsOut, PaymentCountBatch, RateQuery, RatesOut, Upserted
from tracker.services import dips, payments
from tracker.services.periods import resolve_range

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


@api.get("/payments/dips")
@endpoint(query=DipQuery, resp=DipsOut, tags=TAGS)
def payment_dips(query: DipQuery):
    """Where a rate with `dip_below` fell below it over `dips.window_minutes` (DESIGN §12),
    per channel and for all channels, with the records and maintenance covering each; a
    window (default 1d) or a range of at most 31 days. Dips are whole within the UTC hours
    the range touches."""
    config, now = settings(), utcnow()
    since, until, _ = resolve_range(
        window=query.window, since=query.since, until=query.until, now=now, zone=config.zone,
        default="1d",
    )  # fmt: skip
    if until - since > dips.MAX_RANGE:
        raise Invalid.one("until", "a request covers at most 31 days")
    folded = payments.folded_until()
    if folded is not None and since < folded:
        raise Invalid.one(
            "since",
            f"minutes before {utc_text(folded)} are folded into hours "
            "(payments.keep_minutes_days); dips are found in minutes",
        )
    names = [d.name for d in dips.watched(config)]
    if query.rate is not None and query.rate not in names:
        known = ", ".join(names) or "none: set dip_below on a rate in payments.toml"
        raise Invalid.one("rate", f"no dips are looked for of {query.rate!r} (rates: {known})")
    found = dips.dips_between(
        since, until, settings=config, now=now, channel=query.channel, rate=query.rate
    )
    items = [d.to_json(query.lang) for d in found if not (query.unlogged and d.logged)]
    return DipsOut(since=since, until=until, items=items)
