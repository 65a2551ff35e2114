"""Times are stored as naive UTC and read back as aware UTC, whatever form the text has."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tracker.models import UTCDateTimeField

FIELD = UTCDateTimeField()
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
)


@given(moments)
def test_a_time_reads_back_as_the_aware_utc_moment_it_was(moment):
    stored = FIELD.db_value(moment)
    assert FIELD.python_value(str(stored)) == moment
    assert FIELD.python_value(str(stored)).tzinfo is not None


@given(moments, st.integers(-14 * 60, 14 * 60))
def test_text_that_carries_an_offset_keeps_it(moment, minutes):
    zone = timezone(timedelta(minutes=minutes))
    text = moment.astimezone(zone).isoformat()
    assert FIELD.python_value(text) == moment


def test_text_in_another_form_is_still_read():
    assert FIELD.python_value("2024-07-23 10:04") == datetime(2024, 7, 23, 10, 4, tzinfo=UTC)
    assert FIELD.python_value("2024-07-23T02:04:00Z") == datetime(2024, 7, 23, 2, 4, tzinfo=UTC)
