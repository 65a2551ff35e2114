"""hypothesis on both importers (counts and transactions, CSV and Parquet): any garbled file is
imported or refused with a line (a Parquet row) and a field, a refused file changes no table,
and a valid file imported twice leaves the same totals as imported once."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.factories import import_payments
from tracker.db import database
from tracker.models import MODELS, AuditRecord, PaymentRevision
from tracker.services.payments.imports import (
    COUNTS_COLUMNS,
    TRANSACTION_COLUMNS,
    ImportFailed,
)

BOUNDED = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

MINUTES = [f"2024-07-23T10:0{m}:00+08:00" for m in range(4)] + ["2024-07-23T02:05:00Z"]
CHANNELS = ["unionpay", "nucc", "icbc"]
VALID_COUNT_CELLS = {
    "minute": st.sampled_from(MINUTES),
    "direction": st.sampled_from(["pay_in", "pay_out"]),
    "channel": st.sampled_from(CHANNELS),
    "scope": st.sampled_from(["final", "first_attempt"]),
    "outcome": st.sampled_from(["success", "user", "channel", "system", "pending"]),
    "count": st.integers(0, 10**6).map(str),
    "amount": st.one_of(st.just(""), st.decimals(0, 10**6, places=2).map(str)),
}
VALID_TRANSACTION_CELLS = {
    "order_id": st.text("abc123", min_size=1, max_size=4),
    "attempt": st.integers(1, 3).map(str),
    "created_at": st.sampled_from([m.replace(":00+", ":17+") for m in MINUTES[:4]]),
    "direction": VALID_COUNT_CELLS["direction"],
    "channel": VALID_COUNT_CELLS["channel"],
    "status": st.sampled_from(["success", "failed", "pending", "declined", "PAID"]),
    "reason_code": st.sampled_from(["", "INSUFFICIENT_FUNDS", "CHANNEL_TIMEOUT", "NEW_CODE"]),
    "amount": st.decimals(0, 10**6, places=2).map(str),
    "is_final": st.sampled_from(["true", "false"]),
}
SHAPES = {
    "counts": ((*COUNTS_COLUMNS, "amount"), VALID_COUNT_CELLS),
    "transactions": (TRANSACTION_COLUMNS, VALID_TRANSACTION_CELLS),
}
JUNK = st.one_of(
    st.sampled_from(
        [
            *("", " ", '"', '""', "nan", "inf", "-1", "1e309", "1.005", "9" * 40, "\x00", "true"),
            *("2024-07-23T10:04:00", "2024-07-23T10:04:30+08:00", "9999-12-31T23:59:00+14:00"),
            *("'; DROP TABLE payment_minute; --", "<script>", "ＰＡＹ_ＩＮ", "a,b", 'x"y', "a\nb"),
        ]
    ),
    st.text(max_size=12),
)


def _file(header, lines):
    """CSV text: quoting left to the generated cells, so some rows are malformed on purpose."""
    return ("\n".join([",".join(header), *(",".join(line) for line in lines)]) + "\n").encode()


def _import(app, data: bytes):
    with app.app_context(), database.connection_context():
        return import_payments(app, io.BytesIO(data), name="fuzz.csv")


def _tables(app, *, audit: bool = True):
    """Every row of every table: what a refused import must leave exactly as it was. Without
    `audit`, the data alone: not the audit trail nor the hours' revision tokens, which every
    write renews (an import made twice wrote twice)."""
    models = [m for m in MODELS if audit or m not in (AuditRecord, PaymentRevision)]
    with app.app_context(), database.connection_context():
        return {m._meta.table_name: sorted(map(repr, m.select().tuples())) for m in models}


def _garbled(shape):
    """Files of valid rows, rows with one junk cell, and lines of random characters."""
    header, cells = SHAPES[shape]
    valid = st.tuples(*(cells[c] for c in header))
    one_junk_cell = st.tuples(st.integers(0, len(header) - 1), JUNK, valid).map(
        lambda t: (*t[2][: t[0]], t[1], *t[2][t[0] + 1 :])
    )
    noise = st.text(max_size=30).map(lambda text: (text,))
    mixed = st.one_of(valid, one_junk_cell, noise)
    return st.one_of(
        st.lists(valid, min_size=1, max_size=6), st.lists(mixed, min_size=1, max_size=6)
    )


def _assert_imported_or_refused_cleanly(app, header, lines, raw_tail=b""):
    before = _tables(app)
    data = _file(header, lines) + raw_tail
    try:
        _import(app, data)
    except ImportFailed as failed:
        event(f"refused: {failed.errors[0].field.split(': ')[-1]}")
        assert 1 <= failed.line <= data.count(b"\n") + 1 and failed.errors[0].field
        assert f"line {failed.line}" in failed.detail
        assert _tables(app) == before
    else:
        event("imported")


@BOUNDED
@given(lines=_garbled("counts"), tail=st.just(b"") | st.binary(max_size=8))
def test_garbled_counts_files_are_imported_or_refused_naming_line_and_field(app, lines, tail):
    _assert_imported_or_refused_cleanly(app, SHAPES["counts"][0], lines, tail)


@BOUNDED
@given(lines=_garbled("transactions"), tail=st.just(b"") | st.binary(max_size=8))
def test_garbled_transaction_files_are_imported_or_refused_naming_line_and_field(app, lines, tail):
    _assert_imported_or_refused_cleanly(app, SHAPES["transactions"][0], lines, tail)


def _valid(shape):
    header, cells = SHAPES[shape]
    return st.lists(st.tuples(*(cells[c] for c in header)), min_size=1, max_size=12)


@BOUNDED
@given(shape=st.sampled_from(sorted(SHAPES)), data=st.data())
def test_a_valid_file_imported_twice_leaves_the_totals_of_once(app, shape, data):
    lines = data.draw(_valid(shape))
    _import(app, _file(SHAPES[shape][0], lines))
    once = _tables(app, audit=False)
    _import(app, _file(SHAPES[shape][0], lines))
    assert _tables(app, audit=False) == once


# ---- Parquet ---------------------------------------------------------------------------------

TYPES = {
    "text": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "naive time": pa.timestamp("us"),
    "zoned time": pa.timestamp("us", tz="Asia/Shanghai"),
    "decimal": pa.decimal128(20, 3),
}


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _typed(kind: str, values: list[str]) -> pa.Array:
    """Cells as a column of another type: what they read as, or null."""

    def read(value: str):
        try:
            if kind == "int":
                return int(value) if abs(int(value)) < 2**63 else None
            if kind == "float":
                return float(value)
            if kind == "bool":
                return value == "true"
            if kind in ("naive time", "zoned time"):
                return datetime.fromisoformat(value).replace(tzinfo=None)
            if kind == "decimal":
                number = Decimal(value)
                return number.quantize(Decimal("0.001")) if abs(number) < 10**16 else None
        except (ValueError, ArithmeticError):
            return None
        return value

    return pa.array([read(v) for v in values], type=TYPES[kind])


def _parquet_tables(shape):
    """Tables of valid and junk cells, each column of some type (text, numbers, times with
    and without a zone, decimals), some columns left out or renamed."""
    header, cells = SHAPES[shape]
    cell = st.one_of(*(cells[c] for c in header), JUNK)
    return st.tuples(
        st.lists(st.tuples(*(st.one_of(cells[c], JUNK) for c in header)), min_size=1, max_size=5),
        st.lists(st.sampled_from(sorted(TYPES)), min_size=len(header), max_size=len(header)),
        st.sampled_from(["all columns", "one missing", "one renamed"]),
        cell,
    )


def _assert_parquet_imported_or_refused_cleanly(app, data: bytes, rows: int):
    before = _tables(app)
    try:
        _import(app, data)
    except ImportFailed as failed:
        event(f"refused: {failed.errors[0].field.split(': ')[-1]}")
        assert 0 <= failed.line <= rows and failed.errors[0].field
        assert failed.line == 0 or f"row {failed.line}" in failed.detail
        assert _tables(app) == before
    else:
        event("imported")


@BOUNDED
@given(shape=st.sampled_from(sorted(SHAPES)), drawn=st.data())
def test_garbled_parquet_files_are_imported_or_refused_naming_row_and_field(app, shape, drawn):
    header, _ = SHAPES[shape]
    lines, kinds, columns, _ = drawn.draw(_parquet_tables(shape))
    names = list(header)
    arrays = [_typed(kind, [line[k] for line in lines]) for k, kind in enumerate(kinds)]
    if columns == "one missing":
        del names[-1], arrays[-1]
    elif columns == "one renamed":
        names[0] = "colour"
    _assert_parquet_imported_or_refused_cleanly(
        app, _parquet(pa.table(arrays, names=names)), len(lines)
    )


@BOUNDED
@given(shape=st.sampled_from(sorted(SHAPES)), data=st.data())
def test_cut_or_flipped_parquet_bytes_are_refused_whole_or_imported(app, shape, data):
    header = SHAPES[shape][0]
    lines = data.draw(_valid(shape))
    whole = _parquet(
        pa.table([[line[k] for line in lines] for k in range(len(header))], names=list(header))
    )
    at = data.draw(st.integers(4, len(whole) - 1))
    damaged = data.draw(
        st.sampled_from([whole[:at], whole[:at] + bytes([whole[at] ^ 0xFF]) + whole[at + 1 :]])
    )
    _assert_parquet_imported_or_refused_cleanly(app, damaged, len(lines))


def test_a_parquet_column_name_that_is_not_utf8_refuses_the_file_whole(app):
    """Found by the test above: a byte flipped in the footer's column names."""
    header = SHAPES["counts"][0]
    row = ("2024-07-23T10:00:00+08:00", "pay_in", "unionpay", "final", "success", "0", "")
    whole = _parquet(pa.table([[cell] for cell in row], names=list(header)))
    at = whole.index(b"\x18\x06amount%") + 2  # the schema element of the last column
    damaged = whole[:at] + b"\x9e" + whole[at + 1 :]
    before = _tables(app)
    try:
        _import(app, damaged)
    except ImportFailed as failed:
        assert failed.line == 0 and "not a readable Parquet file" in failed.detail
    else:
        raise AssertionError("a damaged Parquet file was imported")
    assert _tables(app) == before
