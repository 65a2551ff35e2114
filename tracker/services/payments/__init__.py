"""Payments: per-minute outcome counts in, success rates out.

Read top to bottom:

- `buckets`: what every way in folds rows into: long rows (a minute, series and outcome
  each) pivoted once into `Buckets`, an Arrow table of storage rows; and the one conversion
  of amounts to fen.
- `rows`: rows checked one at a time, cheaply and, if that fails, by pydantic, which names
  the fault; `columns`: rows checked a column at a time with Arrow (each distinct value
  once), for batches whose every value is canonical (counts, and transactions added up by
  minute).
- `ingest`: the API's JSON batches; `imports`: CSV and Parquet files of counts or
  transactions, all or nothing.
- `store`: buckets made `Ready` off the database's critical path (an import does it on its
  reading thread), then written a column at a time (outcomes replaced, daily totals moved
  by the difference): bound in rows of VALUES on SQLite, COPYed on PostgreSQL.
- `fold`: minutes older than `payments.keep_minutes_days` folded into hours.
- `rates`: success rates over any window from daily totals and edge minutes (or hours).
"""

from tracker.services.payments.fold import Folded, fold
from tracker.services.payments.imports import ImportFailed, ImportSummary, import_file
from tracker.services.payments.ingest import ingest, ingest_json
from tracker.services.payments.rates import (
    channels_between,
    outcome_totals,
    rates_between,
    rates_by_channel,
    rates_report,
)
from tracker.services.payments.store import (
    DAILY_ZONE,
    LOCK,
    Bounds,
    folded_until,
    rebuild_daily_totals,
    write,
)

__all__ = [
    "DAILY_ZONE",
    "LOCK",
    "Bounds",
    "Folded",
    "ImportFailed",
    "ImportSummary",
    "channels_between",
    "fold",
    "folded_until",
    "import_file",
    "ingest",
    "ingest_json",
    "outcome_totals",
    "rates_between",
    "rates_by_channel",
    "rates_report",
    "rebuild_daily_totals",
    "write",
]
