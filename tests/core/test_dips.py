"""Dips from minute counts (DESIGN §12), against a brute-force oracle that reads the
definition word for word: every minute's trailing window, then the runs of low minutes."""

from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.core.dips import Dip, find_dips, joined


def oracle(successes, attempts, *, window, min_attempts, below, first=0):
    n = len(successes)
    low = []
    for m in range(n):
        span = range(max(0, m - window + 1), m + 1)
        s = sum(successes[i] for i in span)
        a = sum(attempts[i] for i in span)
        low.append(m >= first and a >= min_attempts and a > 0 and Fraction(s, a) < below)
    dips, m = [], 0
    while m < n:
        if not low[m]:
            m += 1
            continue
        last = m
        while last + 1 < n and low[last + 1]:
            last += 1
        worst = min(
            Fraction(
                sum(successes[max(0, i - window + 1) : i + 1]),
                sum(attempts[max(0, i - window + 1) : i + 1]),
            )
            for i in range(m, last + 1)
        )
        start = max(0, m - window + 1)
        tried = sum(attempts[start : last + 1])
        failed = tried - sum(successes[start : last + 1])
        lead = sum(attempts[start:m])
        lead_failed = lead - sum(successes[start:m])
        dips.append(Dip(start, m, last + 1, worst, tried, failed, lead, lead_failed))
        m = last + 1
    return dips


@st.composite
def minutes(draw):
    n = draw(st.integers(0, 60))
    attempts = draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))
    successes = [draw(st.integers(0, a)) for a in attempts]
    return successes, attempts


@settings(max_examples=400)
@given(
    counts=minutes(),
    window=st.integers(1, 8),
    min_attempts=st.integers(0, 150),
    below=st.fractions(min_value=0, max_value=1, max_denominator=1000),
    first=st.integers(0, 10),
)
def test_dips_are_the_runs_of_low_minutes_the_definition_names(
    counts, window, min_attempts, below, first
):
    successes, attempts = counts
    options = dict(window=window, min_attempts=min_attempts, below=below, first=first)
    assert find_dips(successes, attempts, **options) == oracle(successes, attempts, **options)


@settings(max_examples=300)
@given(
    counts=minutes(),
    window=st.integers(1, 8),
    min_attempts=st.integers(1, 150),
    below=st.fractions(min_value=0, max_value=1, max_denominator=1000),
    cuts=st.lists(st.integers(0, 60), max_size=6),
)
def test_dips_found_stretch_by_stretch_and_joined_are_the_dips_of_the_whole(
    counts, window, min_attempts, below, cuts
):
    """How the hour blocks a server remembers add up: each stretch read with the window − 1
    minutes before it, its dips moved to where it starts, then joined."""
    successes, attempts = counts
    options = dict(window=window, min_attempts=min_attempts, below=below)
    bounds = sorted({0, len(successes), *(c for c in cuts if c < len(successes))})
    parts = []
    for start, end in pairwise(bounds):
        lead = max(0, start - window + 1)
        for dip in find_dips(
            successes[lead:end], attempts[lead:end], first=start - lead, **options
        ):
            parts.append(
                Dip(
                    dip.start + lead,
                    dip.first_low + lead,
                    dip.end + lead,
                    dip.worst,
                    dip.attempts,
                    dip.failures,
                    dip.lead_attempts,
                    dip.lead_failures,
                )
            )
    assert joined(parts) == find_dips(successes, attempts, **options)


def test_a_ten_minute_outage_is_one_dip_from_the_window_before_it_to_its_last_low_minute():
    attempts = [100] * 30
    successes = [100] * 10 + [10] * 10 + [100] * 10  # minutes 10–19 at 10%
    (dip,) = find_dips(successes, attempts, window=5, min_attempts=100, below=Fraction(999, 1000))
    # minute 10's window (6–10) is already low; minute 23's (19–23) still holds minute 19
    assert (dip.start, dip.first_low, dip.end) == (6, 10, 24)
    assert dip.worst == Fraction(10, 100)  # minutes 14–19: every window inside the outage
    assert dip.attempts == 18 * 100
    assert dip.failures == 10 * 90


def test_too_few_attempts_in_the_window_is_never_low():
    successes, attempts = [0] * 20, [19] * 20  # 95 attempts in any 5 minutes
    assert find_dips(successes, attempts, window=5, min_attempts=100, below=Fraction(1)) == []
    assert len(find_dips(successes, attempts, window=6, min_attempts=100, below=Fraction(1))) == 1


def test_a_rate_exactly_at_the_threshold_is_not_low():
    assert find_dips([999], [1000], window=1, min_attempts=1, below=Fraction(999, 1000)) == []
    assert find_dips([998], [1000], window=1, min_attempts=1, below=Fraction(999, 1000)) == [
        Dip(0, 0, 1, Fraction(998, 1000), 1000, 2)
    ]


def test_minutes_before_first_only_fill_windows():
    successes, attempts = [0, 0, 100, 100], [100, 100, 100, 100]
    found = find_dips(successes, attempts, window=3, min_attempts=1, below=Fraction(1), first=2)
    assert found == [Dip(0, 2, 4, Fraction(100, 300), 400, 200, 200, 200)]


def test_mismatched_counts_or_an_empty_window_are_refused():
    with pytest.raises(ValueError, match="as long"):
        find_dips([1], [1, 2], window=5, min_attempts=1, below=Fraction(1))
    with pytest.raises(ValueError, match="window"):
        find_dips([1], [1], window=0, min_attempts=1, below=Fraction(1))
