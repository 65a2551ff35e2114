"""`tracker payments import`: both CSV shapes, all or nothing, never counted twice."""

import gc
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import import_payments, stored_counts
from tracker.cli import main
from tracker.db import database
from tracker.models import PaymentDay, PaymentMinute
from tracker.services.payments import columns as payment_columns
from tracker.services.payments import imports as payment_import

COUNTS = """minute,direction,channel,scope,outcome,count,amount
2024-07-23T10:04:00+08:00,pay_in,unionpay,final,success,999,99900.00
2024-07-23T10:04:00+08:00,pay_in,unionpay,final,system,1,100.00
2024-07-23T10:05:00+08:00,pay_out,icbc,final,success,50,
"""
TRANSACTIONS = """order_id,attempt,created_at,direction,channel,status,reason_code,amount,is_final
o1,1,2024-07-23T10:04:05+08:00,pay_in,unionpay,success,,100.00,true
o2,1,2024-07-23T10:04:59+08:00,pay_in,unionpay,failed,CHANNEL_TIMEOUT,50.00,false
o2,2,2024-07-23T10:05:10+08:00,pay_in,nucc,success,,50.00,true
o3,1,2024-07-23T10:06:00+08:00,pay_in,unionpay,failed,insufficient_funds,10.00,true
o4,1,2024-07-23T10:07:00+08:00,pay_in,unionpay,failed,NEW_CODE_42,10.00,true
"""
WEEK = {"since": "2024-07-22T00:00:00+08:00", "until": "2024-07-29T00:00:00+08:00"}


def _import(runner, tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return runner.invoke(main, ["payments", "import", str(path), "--quiet"])


def _rates(api):
    items = api.get("/payments/rates", **WEEK).get_json()["items"]
    return {i["rate"]: (i["numerator"], i["denominator"]) for i in items}


def test_a_counts_file_imports(runner, api, tmp_path):
    result = _import(runner, tmp_path, COUNTS)
    assert result.exit_code == 0, result.output
    assert _rates(api)["pay_in_effective"] == (999, 1000)
    assert _rates(api)["pay_out_effective"] == (50, 50)


def test_importing_the_same_file_twice_never_double_counts(runner, api, tmp_path):
    _import(runner, tmp_path, COUNTS)
    _import(runner, tmp_path, TRANSACTIONS, "tx.csv")
    before = _rates(api)
    assert _import(runner, tmp_path, COUNTS).exit_code == 0
    assert _import(runner, tmp_path, TRANSACTIONS, "tx.csv").exit_code == 0
    assert _rates(api) == before


def test_transactions_feed_first_attempt_and_final_scopes(runner, api, tmp_path):
    assert _import(runner, tmp_path, TRANSACTIONS).exit_code == 0
    rates = _rates(api)
    # final: o1, o2 (nucc) succeed; o3 is the user's doing; o4's unmapped code counts as ours
    assert rates["pay_in_effective"] == (2, 3)
    # first attempts: o1 succeeds, o2 times out, o3 user, o4 system: success / all
    assert rates["first_attempt"] == (1, 4)


def test_unmapped_reason_codes_are_reported(runner, tmp_path):
    result = _import(runner, tmp_path, TRANSACTIONS)
    assert "unmapped reason code NEW_CODE_42: 1 rows counted as system" in result.output


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        (COUNTS + "2024-07-23T10:06:00+08:00,pay_in,unionpay,final,success,-1,\n", 5, "count"),
        (COUNTS + "2024-07-23T10:06:30+08:00,pay_in,unionpay,final,success,1,\n", 5, "minute"),
        (COUNTS + "2024-07-23T10:06:00+08:00,pay_in,unionpay,final,success\n", 5, "row"),
        (COUNTS.replace("99900.00", "12.345"), 2, "amount"),
        (
            TRANSACTIONS + "o9,1,2024-07-23T10:09:00,pay_in,unionpay,success,,1.00,true\n",
            7,
            "created_at",
        ),
        (
            TRANSACTIONS + "o9,1,2024-07-23T10:09:00+08:00,pay_in,unionpay,lost,,1.00,true\n",
            7,
            "status",
        ),
        (
            TRANSACTIONS + "o9,0,2024-07-23T10:09:00+08:00,pay_in,unionpay,success,,1.00,true\n",
            7,
            "attempt",
        ),
        ("minute,direction,colour\n", 1, "header"),
    ],
    ids=[
        "negative count",
        "not a whole minute",
        "short row",
        "three decimals",
        "naive time",
        "unknown status",
        "attempt zero",
        "unknown header",
    ],
)
def test_a_bad_line_stops_the_import_naming_it_and_stores_nothing(
    app, runner, tmp_path, text, line, field
):
    before = stored_counts(app)
    result = _import(runner, tmp_path, text)
    assert result.exit_code == 2
    assert f"line {line}, field {field}" in result.output
    assert stored_counts(app) == before


def test_a_bad_line_after_many_good_chunks_still_stores_nothing(app, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(payment_import, "CHUNK_ROWS", 2)
    monkeypatch.setattr(payment_import, "STAGE_FLUSH_BUCKETS", 1)
    before = stored_counts(app)
    bad = TRANSACTIONS + "o9,1,2024-07-23T10:09:00+08:00,pay_in,unionpay,success,,-1,true\n"
    assert _import(runner, tmp_path, bad).exit_code == 2
    assert stored_counts(app) == before


def test_small_chunks_give_the_same_result_as_one(app, runner, api, tmp_path, monkeypatch):
    _import(runner, tmp_path, TRANSACTIONS)
    whole = _rates(api)
    monkeypatch.setattr(payment_import, "CHUNK_ROWS", 2)
    monkeypatch.setattr(payment_import, "STAGE_FLUSH_BUCKETS", 1)
    _import(runner, tmp_path, TRANSACTIONS)
    assert _rates(api) == whole


def test_a_file_not_canonical_throughout_imports_the_row_way_without_double_counting(
    app, runner, api, tmp_path, monkeypatch
):
    """Arrow writes the canonical first batches, meets a valid row in another form ("+5",
    a space before the offset) and gives way: what it wrote is rolled back, and the row way
    imports the whole file once."""
    monkeypatch.setattr(payment_columns, "BLOCK_BYTES", 64)  # many small batches
    canonical = COUNTS + "2024-07-23T10:06:00+08:00,pay_in,unionpay,final,success,5,\n"
    _import(runner, tmp_path, canonical, name="canonical.csv")
    expected = _rates(api)
    with app.app_context(), database.connection_context():
        PaymentMinute.delete().execute()
        PaymentDay.delete().execute()
    other = COUNTS + "2024-07-23 10:06:00+08:00,pay_in,unionpay,final,success,+5,\n"
    result = _import(runner, tmp_path, other, name="other.csv")
    assert result.exit_code == 0, result.output
    assert _rates(api) == expected


def test_a_bad_line_late_in_a_canonical_file_is_named_and_nothing_is_stored(
    app, runner, tmp_path, monkeypatch
):
    monkeypatch.setattr(payment_columns, "BLOCK_BYTES", 64)
    before = stored_counts(app)
    header, body = COUNTS.split("\n", 1)
    bad = f"{header}\n{body * 3}2024-07-23T10:09:00+08:00,pay_in,unionpay,final,success,-1,\n"
    result = _import(runner, tmp_path, bad)
    assert result.exit_code == 2
    assert "line 11, field count" in result.output
    assert stored_counts(app) == before


def test_a_file_in_time_order_is_written_a_minute_at_a_time_however_its_blocks_cut_it(
    runner, api, tmp_path, monkeypatch
):
    """Blocks of 64 bytes cut every minute's rows apart: each write still holds whole
    minutes (none replaces what the write before it stored), and the rates are the file's."""
    header = COUNTS.split("\n", 1)[0]
    rows = [
        f"2024-07-23T10:{m:02d}:00+08:00,pay_in,unionpay,final,{outcome},{n},1.00"
        for m in range(10)
        for outcome, n in (("success", 90 + m), ("user", 5), ("system", m))
    ]
    text = "\n".join([header, *rows]) + "\n"
    _import(runner, tmp_path, text, name="whole.csv")
    expected = _rates(api)
    monkeypatch.setattr(payment_columns, "BLOCK_BYTES", 64)
    real, written = payment_import.write, []

    def watched(batch, **kwargs):
        written.append(batch.buckets.minutes())
        return real(batch, **kwargs)

    monkeypatch.setattr(payment_import, "write", watched)
    assert _import(runner, tmp_path, text, name="cut.csv").exit_code == 0
    minutes = [m for batch in written for m in batch]
    assert len(written) > 1 and len(minutes) == len(set(minutes)) == 10
    assert _rates(api) == expected


@settings(max_examples=200, deadline=None)
@given(
    minutes=st.lists(st.integers(0, 5), max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=6),
    coded=st.booleans(),
    longest=st.integers(1, 8),
)
def test_whole_minutes_moves_rows_between_batches_but_never_loses_or_reorders_them(
    minutes, cuts, coded, longest
):
    """The rows out are the rows in, in order; a run of one minute up to `longest` rows at
    the end of a batch goes to the next one, so a file in time order never has a minute in
    two batches unless it has more rows than that."""
    import pyarrow as pa

    text = pa.array([f"2024-07-23T10:0{m}:00Z" for m in minutes], pa.string())
    column = text.dictionary_encode() if coded else text
    bounds = sorted({0, len(minutes), *(c for c in cuts if c <= len(minutes))})
    batches = [
        {"minute": column.slice(a, b - a), "row": pa.array(range(a, b))}
        for a, b in itertools.pairwise(bounds)
    ]
    out = list(payment_columns.whole_minutes(iter(batches), longest=longest))
    rows = [r for batch in out for r in batch["row"].to_pylist()]
    assert rows == list(range(len(minutes)))
    seen = [[str(v) for v in batch["minute"].to_pylist()] for batch in out]
    assert [m for batch in seen for m in batch] == text.to_pylist()
    assert all(len(batch["minute"]) for batch in out)
    if minutes == sorted(minutes):
        for before, after in itertools.pairwise(seen):
            if before[-1] == after[0]:  # only a run too long to hold
                assert sum(m == after[0] for m in text.to_pylist()) > longest


def test_a_byte_order_mark_and_crlf_are_fine(runner, api, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + COUNTS.replace("\n", "\r\n").encode())
    assert runner.invoke(main, ["payments", "import", str(path), "--quiet"]).exit_code == 0
    assert _rates(api)["pay_in_effective"] == (999, 1000)


def test_an_import_is_audited(runner, api, tmp_path):
    _import(runner, tmp_path, COUNTS)
    record = api.get("/audit", entity="payment_import").get_json()["items"][0]
    assert (record["after"]["shape"], record["after"]["rows"]) == ("counts", 3)


cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.lists(cells, min_size=1, max_size=8), max_size=5))
def test_arbitrary_rows_are_imported_or_refused_never_half(app, runner, tmp_path, rows):
    text = COUNTS + "\n".join(",".join(row) for row in rows)
    before = stored_counts(app)
    result = _import(runner, tmp_path, text)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert stored_counts(app) == before


def _week_of_counts():
    """Every 30 minutes of 2024-W30 for three channels: rows and the totals they make."""
    from datetime import datetime, timedelta

    start = datetime.fromisoformat("2024-07-22T00:00:00+08:00")
    rows = []
    for step in range(7 * 48):
        minute = (start + timedelta(minutes=30 * step)).isoformat()
        for channel in ("unionpay", "nucc", "icbc"):
            for direction in ("pay_in", "pay_out"):
                for scope in ("final", "first_attempt"):
                    for outcome, n in (
                        ("success", 900 + step % 13),
                        ("system", step % 3),
                        ("user", 7),
                        ("pending", 2),
                    ):
                        rows.append((minute, direction, channel, scope, outcome, n))
    return rows


def _expected(rows, rate, channel, since, until):
    excludes = {
        "pay_in_effective": {"user", "merchant", "risk", "bank_decline", "pending", "invalid"},
        "pay_out_effective": {"user", "merchant", "risk", "bank_decline", "pending", "invalid"},
        "first_attempt": {"pending", "invalid"},
    }[rate]
    direction = "pay_out" if rate == "pay_out_effective" else "pay_in"
    scope = "first_attempt" if rate == "first_attempt" else "final"
    kept = [
        r
        for r in rows
        if r[1] == direction
        and r[3] == scope
        and since <= r[0] < until
        and channel in ("all", r[2])
        and r[4] not in excludes
    ]
    return sum(r[5] for r in kept if r[4] == "success"), sum(r[5] for r in kept)


def test_a_week_pushed_by_api_and_imported_by_csv_gives_exact_rates(api, runner, tmp_path):
    from datetime import datetime

    rows = _week_of_counts()
    half = len(rows) // 2
    for start in range(0, half, 5000):
        batch = [
            dict(
                zip(("minute", "direction", "channel", "scope", "outcome", "count"), r, strict=True)
            )
            for r in rows[start : min(start + 5000, half)]
        ]
        assert api.post("/payments/counts", {"counts": batch}, role="ingest").status_code == 200
    text = "minute,direction,channel,scope,outcome,count\n" + "\n".join(
        ",".join(map(str, r)) for r in rows[half:]
    )
    assert _import(runner, tmp_path, text).exit_code == 0
    parsed = [(datetime.fromisoformat(r[0]), *r[1:]) for r in rows]
    for since, until in (
        ("2024-07-22T00:00:00+08:00", "2024-07-29T00:00:00+08:00"),
        ("2024-07-23T10:17:00+08:00", "2024-07-26T03:45:00+08:00"),
        ("2024-07-24T00:00:00+08:00", "2024-07-24T06:00:00+08:00"),
    ):
        for channel in ("all", "unionpay", "nucc", "icbc"):
            got = api.get("/payments/rates", since=since, until=until, channel=channel)
            window = (datetime.fromisoformat(since), datetime.fromisoformat(until))
            for item in got.get_json()["items"]:
                expected = _expected(parsed, item["rate"], channel, *window)
                assert (item["numerator"], item["denominator"]) == expected


# ---- Parquet, and the column way of transactions ---------------------------------------------


def _parquet_of(text: str, path, types: dict | None = None):
    """The CSV text as a Parquet file with typed columns, as a data platform exports it."""
    import io

    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    table = pa_csv.read_csv(
        io.BytesIO(text.encode()),
        convert_options=pa_csv.ConvertOptions(column_types=types or {}, strings_can_be_null=True),
    )
    pq.write_table(table, path)
    return path


def _typed_transactions():
    import pyarrow as pa

    return {
        "order_id": pa.string(),
        "attempt": pa.int32(),
        "created_at": pa.timestamp("ms", tz="Asia/Shanghai"),
        "reason_code": pa.string(),
        "amount": pa.decimal128(12, 2),
        "is_final": pa.bool_(),
    }


def test_a_parquet_file_of_transactions_imports_as_its_csv_does(runner, api, tmp_path):
    assert _import(runner, tmp_path, TRANSACTIONS).exit_code == 0
    from_csv = _rates(api)
    path = _parquet_of(TRANSACTIONS, tmp_path / "tx.parquet", _typed_transactions())
    result = runner.invoke(main, ["payments", "import", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "5 transactions rows" in result.output
    assert "unmapped reason code NEW_CODE_42: 1 rows" in result.output
    assert _rates(api) == from_csv


def test_a_parquet_file_of_counts_imports(runner, api, tmp_path):
    import pyarrow as pa

    types = {"minute": pa.timestamp("s", tz="UTC"), "amount": pa.decimal128(12, 2)}
    path = _parquet_of(COUNTS, tmp_path / "counts.parquet", types)
    assert runner.invoke(main, ["payments", "import", str(path), "--quiet"]).exit_code == 0
    assert _rates(api)["pay_in_effective"] == (999, 1000)
    assert _rates(api)["pay_out_effective"] == (50, 50)


@pytest.mark.parametrize(
    ("text", "types", "row", "field"),
    [
        (TRANSACTIONS.replace("o3,1,", "o3,0,"), None, 4, "attempt"),
        (
            TRANSACTIONS.replace(
                "+08:00,pay_in,unionpay,failed,insufficient", ",pay_in,unionpay,failed,insufficient"
            ),
            None,
            4,
            "created_at",
        ),
        (
            TRANSACTIONS.replace(",lost,", ",x,").replace("NEW_CODE_42,10.00", "NEW_CODE_42,1.005"),
            None,
            5,
            "amount",
        ),
        (COUNTS.replace("system,1,", "system,-1,"), None, 2, "count"),
    ],
    ids=["attempt zero", "a time without its zone", "three decimals", "negative count"],
)
def test_a_bad_parquet_row_stops_the_import_naming_row_and_field(
    app, runner, tmp_path, text, types, row, field
):
    before = stored_counts(app)
    path = _parquet_of(text, tmp_path / "bad.parquet", types)
    result = runner.invoke(main, ["payments", "import", str(path), "--quiet"])
    assert result.exit_code == 2, result.output
    assert f"row {row}, field {field}" in result.output
    assert stored_counts(app) == before


def test_a_parquet_file_without_a_zone_on_its_times_is_refused(app, runner, tmp_path):
    import pyarrow as pa

    types = {**_typed_transactions(), "created_at": pa.timestamp("ms")}
    path = _parquet_of(TRANSACTIONS.replace("+08:00", ""), tmp_path / "naive.parquet", types)
    result = runner.invoke(main, ["payments", "import", str(path), "--quiet"])
    assert result.exit_code == 2
    assert "row 1, field created_at" in result.output


def test_a_file_that_only_starts_like_parquet_is_refused_whole(app, runner, tmp_path):
    path = tmp_path / "fake.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 64)
    result = runner.invoke(main, ["payments", "import", str(path), "--quiet"])
    assert result.exit_code == 2
    assert "field file: not a readable Parquet file" in result.output


_TX_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["o1", "o-2", "x_3"]),
        st.sampled_from(["1", "2", "1000"]),
        st.sampled_from(
            [
                "2024-07-23T10:04:05+08:00",
                "2024-07-23T10:04:59.999999+08:00",
                "2024-07-23T02:05:00Z",
                "2024-07-22T23:59:59-01:00",
            ]
        ),
        st.sampled_from(["pay_in", "pay_out"]),
        st.sampled_from(["unionpay", "nucc"]),
        st.sampled_from(["success", "PAID", "failed", "declined", "pending"]),
        st.sampled_from(["", "INSUFFICIENT_FUNDS", "channel_timeout", "NEW_CODE"]),
        st.decimals(0, 10**6, places=2).map(str),
        st.sampled_from(["true", "false"]),
    ),
    min_size=1,
    max_size=40,
)


class _Unseekable:
    """A stream that cannot be read twice: the import takes the row way at once."""

    def __init__(self, data: bytes) -> None:
        import io

        self.inner = io.BytesIO(data)

    def __iter__(self):
        return iter(self.inner)

    def seekable(self) -> bool:
        return False


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_TX_ROWS)
def test_transactions_the_column_way_store_what_the_row_way_stores(app, rows):
    """The oracle is the row way (pydantic and OutcomeMap.classify row by row): Arrow's
    checks, classification and sums by minute must store exactly the same buckets, days and
    unmapped codes."""
    import io

    header = "order_id,attempt,created_at,direction,channel,status,reason_code,amount,is_final"
    data = ("\n".join([header, *(",".join(r) for r in rows)]) + "\n").encode()
    config = app.extensions["tracker.settings"]
    stored = []
    for stream in (io.BytesIO(data), _Unseekable(data)):
        with app.app_context(), database.connection_context():
            PaymentMinute.delete().execute()
            PaymentDay.delete().execute()
            summary = import_payments(app, stream, name="tx.csv")
            tables = [
                sorted(m.select(*(f for f in m._meta.sorted_fields if f.name != "id")).tuples())
                for m in (PaymentMinute, PaymentDay)
            ]
            stored.append((summary.rows, summary.buckets, summary.unmapped_codes, tables))
    column_way, row_way = stored
    assert column_way == row_way
    # and the first import did go the column way: every value here is canonical
    from tracker.services.payments.columns import Classifier, csv_batches, fold_transactions

    for batch, _ in csv_batches(io.BytesIO(data), header.split(",")):
        columns = {name: batch.column(name) for name in batch.schema.names}
        fold_transactions(columns, Classifier(config.outcomes.outcome_map()))


def test_the_collector_is_paused_while_a_file_is_imported_and_resumed_after(
    runner, tmp_path, monkeypatch
):
    """A week's file makes millions of short-lived values (the rows SQLite binds), enough to
    set off full collections of the whole process: the import pauses the collector and gives
    it back, also when it refuses the file."""
    real, seen = payment_import.write, []

    def watched(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(payment_import, "write", watched)
    assert _import(runner, tmp_path, COUNTS).exit_code == 0
    assert seen and not any(seen) and gc.isenabled()
    assert _import(runner, tmp_path, COUNTS.replace(",999,", ",-1,")).exit_code == 2
    assert gc.isenabled()
