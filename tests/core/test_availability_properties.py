from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tracker.core.availability import Impairment, Maintenance, availability

BASE = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = 2_000  # seconds: small enough for a per-second reference


def moment(seconds: int) -> datetime:
    return BASE + timedelta(seconds=seconds)


offsets = st.integers(0, SPAN)
ratios = st.one_of(st.sampled_from([0.0, 0.1, 0.25, 0.4, 0.5, 1.0]), st.floats(0, 1))


@st.composite
def impairments(draw) -> Impairment:
    start = draw(offsets)
    end = draw(st.one_of(st.none(), st.integers(start, SPAN)))
    return Impairment(moment(start), None if end is None else moment(end), draw(ratios))


@st.composite
def maintenances(draw) -> Maintenance:
    start = draw(offsets)
    return Maintenance(moment(start), moment(draw(st.integers(start, SPAN))))


@st.composite
def windows(draw) -> tuple[datetime, datetime]:
    since = draw(offsets)
    return moment(since), moment(draw(st.integers(since, SPAN)))


def compute(imps, maint, bounds, now=None):
    now = now or moment(SPAN)
    return availability(imps, maint, since=bounds[0], until=bounds[1], now=now)


@given(st.lists(impairments()), st.lists(maintenances()), windows(), offsets)
def test_availability_stays_between_zero_and_one(imps, maint, bounds, now):
    result = compute(imps, maint, bounds, moment(now))
    assert 0 <= result.downtime_seconds <= result.eligible_seconds
    assert result.availability is None or 0 <= result.availability <= 1


@given(st.lists(impairments()), impairments(), st.lists(maintenances()), windows())
def test_adding_an_impairment_never_raises_availability(imps, extra, maint, bounds):
    before = compute(imps, maint, bounds)
    after = compute([*imps, extra], maint, bounds)
    assert after.downtime_seconds >= before.downtime_seconds
    assert before.availability is None or after.availability <= before.availability


@given(st.lists(impairments()), st.lists(maintenances()), windows(), st.randoms())
def test_incident_order_is_irrelevant(imps, maint, bounds, rng):
    shuffled_imps, shuffled_maint = rng.sample(imps, len(imps)), rng.sample(maint, len(maint))
    assert compute(shuffled_imps, shuffled_maint, bounds) == compute(imps, maint, bounds)


@given(st.lists(impairments()), st.lists(maintenances()), st.lists(offsets, min_size=3, max_size=3))
def test_splitting_a_window_conserves_downtime_and_eligible_time(imps, maint, cuts):
    a, b, c = (moment(s) for s in sorted(cuts))
    whole, left, right = (compute(imps, maint, w) for w in [(a, c), (a, b), (b, c)])
    assert math.isclose(
        whole.downtime_seconds, left.downtime_seconds + right.downtime_seconds, abs_tol=1e-9
    )
    assert whole.eligible_seconds == left.eligible_seconds + right.eligible_seconds


def seconds(t: datetime) -> int:
    return int((t - BASE).total_seconds())


@given(impairments(), st.data())
def test_impairment_inside_a_larger_ratio_one_adds_nothing(outer, data):
    end = SPAN if outer.end is None else seconds(outer.end)
    start = data.draw(st.integers(seconds(outer.start), end))
    inner_end, ratio = data.draw(st.integers(start, end)), data.draw(st.floats(0, outer.ratio))
    inner = Impairment(moment(start), moment(inner_end), ratio)
    window = (BASE, moment(SPAN))
    assert compute([outer, inner], [], window) == compute([outer], [], window)


@given(st.lists(impairments(), max_size=6), st.lists(maintenances(), max_size=3), windows())
def test_sweep_matches_a_second_by_second_reference(imps, maint, bounds):
    downtime, eligible = Fraction(0), 0
    for s in range(seconds(bounds[0]), seconds(bounds[1])):
        t = moment(s)
        if any(m.start <= t < m.end for m in maint):
            continue
        eligible += 1
        active = [i.ratio for i in imps if i.start <= t < (i.end or moment(SPAN))]
        downtime += Fraction(repr(max(active, default=0.0)))
    result = compute(imps, maint, bounds)
    assert result.eligible_seconds == eligible
    assert result.downtime_seconds == float(downtime)


@given(
    st.lists(impairments()),
    st.lists(maintenances()),
    st.dictionaries(st.sampled_from(["ytd", "7d", "1h", "now"]), windows(), max_size=4),
    offsets,
)
def test_one_sweep_for_every_window_equals_each_window_on_its_own(imps, maint, spans, now):
    from tracker.core.availability import availability_by_window

    swept = availability_by_window(imps, maint, windows=spans, now=moment(now))
    assert swept == {
        name: compute(imps, maint, bounds, moment(now)) for name, bounds in spans.items()
    }
