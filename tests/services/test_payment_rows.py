"""The fast ways in for payment counts agree with pydantic, whatever the rows.

`payments.rows.fold` takes canonical values without pydantic and sends anything else to it;
`payments.columns.fold_columns` checks whole columns with Arrow and refuses to judge anything
non-canonical. Neither may accept a row pydantic refuses, refuse one it accepts, or read a
value differently.
"""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tracker.core.vocabulary import OUTCOMES
from tracker.services.payments.columns import NotCanonical, fold_columns, fold_objects
from tracker.services.payments.rows import FIELDS, ROW, BadRow, fold, json_records

ZONE = ZoneInfo("Asia/Shanghai")

minutes = st.one_of(
    st.sampled_from(
        [
            "2024-07-22T10:04:00+08:00",
            "2024-07-22T02:04:00Z",
            "2024-07-21T18:04:00-08:00",
            "2024-07-22T10:04:00.000+08:00",
            "2024-07-22 10:04:00+08:00",
            "2024-07-22T10:04+08:00",
            "2024-07-22T10:04:30+08:00",
            "2024-02-30T00:00:00+08:00",
            "2024-07-22T10:04:00",
            "2024-07-22T10:04:00+24:00",
            " 2024-07-22T10:04:00+08:00",
            "1712345678",
            "",
        ]
    ),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    st.integers(),
    st.none(),
)
directions = st.sampled_from(["pay_in", "pay_out", "PAY_IN", " pay_in", "payin", ""])
channels = st.one_of(
    st.sampled_from(["unionpay", "icbc", "a.b-c_1", " unionpay", "UnionPay", "银联", "", "x" * 65]),
    st.text(max_size=5),
)
scopes = st.sampled_from(["final", "first_attempt", "FINAL", "first-attempt"])
outcomes = st.one_of(st.sampled_from(OUTCOMES), st.sampled_from(["Success", "ok", ""]))
counts = st.one_of(
    st.integers(min_value=-2, max_value=2**63),
    st.sampled_from(["950", "007", "+5", " 5", "5_000", "1e3", "-0", "", "٥", 5.0, 5.5, True]),
)
amounts = st.one_of(
    st.none(),
    st.sampled_from(["12.50", "12.5", "0", "0.00", "01.00", "1.234", "+1", " 1.00", "1e2", ""]),
    st.decimals(min_value=0, max_value=10**6, places=2).map(str),
    st.floats(allow_nan=False, allow_infinity=False),
)
records = st.lists(
    st.tuples(minutes, directions, channels, scopes, outcomes, counts, amounts),
    min_size=1,
    max_size=6,
)
canonical_records = st.lists(
    st.tuples(
        st.integers(0, 3).map(lambda m: f"2024-07-22T10:0{m}:00+08:00"),
        st.sampled_from(["pay_in", "pay_out"]),
        st.sampled_from(["unionpay", "icbc"]),
        st.sampled_from(["final", "first_attempt"]),
        st.sampled_from(OUTCOMES),
        st.integers(0, 10**6).map(str),
        st.one_of(st.just(""), st.decimals(0, 10**6, places=2).map(str)),
    ),
    min_size=1,
    max_size=30,
)


def _as_json(records: list[tuple]) -> list[tuple]:
    """Canonical CSV records as JSON gives them: the count a number, no empty amount."""
    return [(*r[:5], int(r[5]), r[6] or None) for r in records]


def _by_pydantic(record: tuple, blank_amount: bool = True) -> dict | None:
    """What pydantic makes of a row (None: refused); with `blank_amount`, an empty amount is
    "not given" (a CSV cell)."""
    row = dict(zip(FIELDS, record, strict=True))
    if row["amount"] is None or (blank_amount and row["amount"] == ""):
        del row["amount"]
    try:
        valid = ROW.validate_python(row)
    except ValidationError:
        return None
    if valid["minute"].second or valid["minute"].microsecond:
        return None
    return valid


def _bucket_view(buckets) -> dict:
    view = {key: (counts, fens, written, day) for key, counts, fens, written, day in buckets.rows()}
    assert len(view) == len(buckets), "a (minute, series) twice"
    return view


def _expected(records: list[tuple]) -> dict:
    """The buckets the rows make, folded from pydantic's reading of each."""
    buckets: dict = {}
    for record in records:
        valid = _by_pydantic(record)
        minute = valid["minute"]
        key = (
            minute.astimezone(UTC).replace(tzinfo=None),
            valid["direction"],
            valid["channel"],
            valid["scope"],
        )
        day = minute.astimezone(ZONE).date()
        counts, fens, written, _ = buckets.get(key, ([None] * 9, [None] * 9, 0, day))
        at = OUTCOMES.index(valid["outcome"])
        counts[at] = valid["count"]
        amount = valid.get("amount")
        fens[at] = None if amount is None else int(Decimal(amount) * 100)
        buckets[key] = (counts, fens, written | 1 << at, day)
    return buckets


@settings(max_examples=300, deadline=None)
@given(records=records, blank=st.booleans())
def test_the_row_fold_accepts_exactly_what_pydantic_accepts(records, blank):
    refused_rows = (i for i, r in enumerate(records) if _by_pydantic(r, blank) is None)
    first_refused = next(refused_rows, None)
    if first_refused is not None:
        with pytest.raises(BadRow) as refused:
            fold(records, zone=ZONE, blank_amount=blank)
        assert refused.value.index == first_refused
        assert refused.value.errors
    else:
        folded = fold(records, zone=ZONE, blank_amount=blank)
        assert folded.rows == len(records)
        assert _bucket_view(folded.buckets) == _expected(records)


def _columns(records: list[tuple]) -> dict:
    return {
        name: pa.array([str(r[at]) for r in records], type=pa.string())
        for at, name in enumerate(FIELDS)
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.one_of(records, canonical_records))
def test_the_column_fold_never_reads_a_row_otherwise_than_pydantic(records):
    """Arrow folds only canonical batches; what it folds is what pydantic would make."""
    text_records = [tuple("" if v is None else str(v) for v in r) for r in records]
    try:
        folded = fold_columns(_columns(text_records), zone=ZONE, blank_amount=True)
    except NotCanonical:
        return
    assert all(_by_pydantic(r) is not None for r in text_records)
    assert _bucket_view(folded.buckets) == _expected(text_records)


def _objects(records: list[tuple]) -> list[dict]:
    """JSON rows: an amount of None is left out."""
    return [
        {k: v for k, v in zip(FIELDS, r, strict=True) if k != "amount" or v is not None}
        for r in records
    ]


json_like = st.lists(
    st.tuples(
        minutes,
        directions,
        channels,
        scopes,
        outcomes,
        counts,
        st.one_of(st.none(), st.sampled_from(["12.50", "12.5", "0", "01.00", " 1.00", ""])),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.one_of(json_like, canonical_records.map(_as_json)))
def test_a_json_batch_folded_by_columns_is_read_as_pydantic_reads_it(records):
    try:
        folded = fold_objects(_objects(records), zone=ZONE)
    except NotCanonical:
        return
    assert all(_by_pydantic(r) is not None for r in records)
    assert _bucket_view(folded.buckets) == _expected(records)


@settings(max_examples=50, deadline=None)
@given(records=canonical_records)
def test_canonical_batches_take_the_column_way(records):
    from_csv = fold_columns(_columns(records), zone=ZONE, blank_amount=True)
    from_json = fold_objects(_objects(_as_json(records)), zone=ZONE)
    assert from_csv.rows == from_json.rows == len(records)
    assert _bucket_view(from_csv.buckets) == _bucket_view(from_json.buckets)


def test_a_later_row_of_the_same_key_wins_in_both_folds():
    first = ("2024-07-22T10:04:00+08:00", "pay_in", "icbc", "final", "success", "5", "1.00")
    again = (*first[:5], "7", "")
    for folded in (
        fold([first, again], zone=ZONE, blank_amount=True),
        fold_columns(_columns([first, again]), zone=ZONE, blank_amount=True),
    ):
        ((_, counts, fens, _, _),) = folded.buckets.rows()
        assert (counts[0], fens[0]) == (7, None)


def test_json_rows_with_missing_or_unknown_members_get_pydantics_errors():
    good = {
        "minute": "2024-07-22T10:04:00+08:00",
        "direction": "pay_in",
        "channel": "icbc",
        "scope": "final",
        "outcome": "success",
        "count": 1,
    }
    missing = {k: v for k, v in good.items() if k != "count"}
    unknown = {**good, "colour": "red"}
    for rows, field in (([good, missing], "count"), ([good, unknown], "colour"), ([7], "")):
        with pytest.raises(BadRow) as refused:
            fold(json_records(rows), zone=ZONE)
        assert refused.value.errors[0].field == field


def test_an_empty_amount_is_not_given_in_a_csv_cell_but_invalid_in_json():
    record = ("2024-07-22T10:04:00+08:00", "pay_in", "icbc", "final", "success", 1, "")
    ((_, counts, fens, _, _),) = fold([record], zone=ZONE, blank_amount=True).buckets.rows()
    assert (counts[0], fens[0]) == (1, None)
    with pytest.raises(BadRow) as refused:
        fold(json_records(_objects([record])), zone=ZONE)
    assert refused.value.errors[0].field == "amount"


def test_a_minute_is_cut_into_the_local_day_of_the_zone():
    late = ("2024-07-22T23:59:00+08:00", "pay_in", "icbc", "final", "success", "1", "")
    utc_late = ("2024-07-22T16:00:00Z", "pay_in", "icbc", "final", "success", "1", "")
    days = {
        day
        for folded in (
            fold([late, utc_late], zone=ZONE, blank_amount=True),
            fold_columns(_columns([late, utc_late]), zone=ZONE, blank_amount=True),
        )
        for _, _, _, _, day in folded.buckets.rows()
    }
    assert days == {datetime(2024, 7, 22).date(), datetime(2024, 7, 23).date()}
