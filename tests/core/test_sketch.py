"""The latency sketch: every quantile within the stated relative error of the true sample."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.ring import Level
from slawatch.core.sketch import RELATIVE_ACCURACY, LatencySketch, SketchRing, plan_sketch_levels

latencies = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=1e-7),
    st.floats(min_value=1e-3, max_value=1e7, allow_nan=False, allow_infinity=False),
)
quantiles = st.floats(min_value=0.0, max_value=1.0)


def exact_lower_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


def sketch_of(values: list[float]) -> LatencySketch:
    sketch = LatencySketch()
    for value in values:
        sketch.add(value)
    return sketch


def within_bound(estimate: float, true: float) -> bool:
    if true <= 1e-6:
        return estimate == 0.0
    return abs(estimate - true) <= RELATIVE_ACCURACY * true * (1 + 1e-9)


@settings(max_examples=300, deadline=None)
@given(st.lists(latencies, min_size=1, max_size=200), quantiles)
def test_every_quantile_is_within_the_stated_relative_error_of_the_true_sample(values, q):
    assert within_bound(sketch_of(values).quantile(q), exact_lower_quantile(values, q))


@settings(max_examples=150, deadline=None)
@given(st.lists(latencies, max_size=100), st.lists(latencies, max_size=100), quantiles)
def test_merging_two_sketches_equals_one_sketch_of_all_the_values(left, right, q):
    merged = sketch_of(left)
    merged.merge(sketch_of(right))
    assert merged == sketch_of(left + right)
    assert merged.count == len(left) + len(right)
    assert merged.quantile(q) == sketch_of(left + right).quantile(q)


@settings(max_examples=150, deadline=None)
@given(st.lists(latencies, max_size=200))
def test_a_sketch_survives_a_round_trip_through_bytes(values):
    sketch = sketch_of(values)
    restored = LatencySketch.from_bytes(sketch.to_bytes())
    assert restored == sketch
    assert restored.to_bytes() == sketch.to_bytes()


def test_an_empty_sketch_has_no_quantile():
    assert LatencySketch().quantile(0.99) is None
    assert LatencySketch().count == 0


def test_zero_latency_lands_in_the_zero_bin_and_reads_back_as_zero():
    sketch = sketch_of([0.0, 0.0, 5.0])
    assert sketch.zero_count == 2
    assert sketch.quantile(0.5) == 0.0
    assert within_bound(sketch.quantile(1.0), 5.0)


def test_add_with_a_count_weighs_the_value_that_many_times():
    weighted = LatencySketch()
    weighted.add(12.0, count=3)
    assert weighted == sketch_of([12.0, 12.0, 12.0])


def test_a_sketch_with_few_distinct_latencies_serialises_small():
    sketch = sketch_of([3.0, 3.0, 40.0] * 1000)
    assert len(sketch.bins) == 2
    assert len(sketch.to_bytes()) <= 24


def test_a_negative_latency_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        LatencySketch().add(-1.0)


def test_a_quantile_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sketch_of([1.0]).quantile(1.5)


def test_an_unknown_sketch_format_is_refused_with_its_number():
    data = bytearray(sketch_of([1.0]).to_bytes())
    data[0] = 99
    with pytest.raises(ValueError, match="format 99 is unknown"):
        LatencySketch.from_bytes(bytes(data))


def test_truncated_sketch_bytes_are_refused():
    with pytest.raises(ValueError, match="truncated"):
        LatencySketch.from_bytes(sketch_of([1.0, 2.0]).to_bytes()[:-1])


def test_infinity_has_a_bin_above_every_latency_and_reads_back_as_infinity():
    sketch = sketch_of([1.0, 1e200, math.inf])
    assert sketch.quantile(1.0) == math.inf
    assert within_bound(sketch.quantile(0.5), 1e200)
    assert LatencySketch.from_bytes(sketch.to_bytes()) == sketch


def test_nan_is_refused_as_not_a_latency():
    with pytest.raises(ValueError, match="non-negative"):
        LatencySketch().add(math.nan)


@settings(max_examples=150, deadline=None)
@given(st.lists(latencies, max_size=100), st.lists(latencies, max_size=50), quantiles)
def test_a_packed_sketch_answers_serialises_and_takes_more_values_as_it_did_unpacked(values, more, q):
    packed, plain = sketch_of(values), sketch_of(values)
    packed.pack()
    assert packed.bins is None  # packed: the bins are arrays, not a dict
    assert packed == plain
    assert packed.quantile(q) == plain.quantile(q)
    assert packed.to_bytes() == plain.to_bytes()
    for value in more:
        packed.add(value)
        plain.add(value)
    assert packed == plain and packed.quantile(q) == plain.quantile(q)


# The tiered sketch ring: every latency stored once, every retained bucket of every tier whole.

TIERS = (Level(60, 5), Level(600, 4), Level(3600, 5))
ring_events = st.lists(
    st.tuples(st.floats(min_value=0, max_value=8 * 3600), st.sampled_from([0.0, 3.0, 40.0, 700.0, math.inf])),
    max_size=150,
)


@settings(max_examples=150, deadline=None)
@given(ring_events, st.integers(0, 2), st.integers(-40, 10), st.integers(0, 40))
def test_a_tier_bucket_merges_exactly_the_events_it_holds_wherever_they_are_stored(events, level, back, length):
    ring = SketchRing(TIERS)
    for ts, latency in events:
        ring.add(ts, latency)
    if not events:
        return
    r, capacity = TIERS[level].resolution_s, TIERS[level].capacity
    head = int(max(ts for ts, _ in events) // TIERS[0].resolution_s) * TIERS[0].resolution_s // r
    first = head + back
    last = first + length
    expected = sketch_of(
        [v for ts, v in events if first <= int(ts // r) <= last and int(ts // r) > head - capacity]
    )
    assert ring.merged(level, first, last) == expected


@settings(max_examples=100, deadline=None)
@given(ring_events)
def test_each_latency_is_stored_once_until_it_leaves_the_coarsest_tier(events):
    ring = SketchRing(TIERS)
    for ts, latency in events:
        ring.add(ts, latency)
    stored = sum(sketch.count for level in range(len(TIERS)) for _, sketch in ring.stored(level))
    if not events:
        assert stored == 0
        return
    coarsest = TIERS[-1]
    head = int(max(ts for ts, _ in events) // 60) * 60 // coarsest.resolution_s
    assert stored == sum(int(ts // coarsest.resolution_s) > head - coarsest.capacity for ts, _ in events)


def test_the_default_30_day_slo_keeps_minutes_for_half_an_hour_and_days_for_the_month():
    spans = (300, 1800, 3600, 7200, 21600, 86400, 3 * 86400, 30 * 86400)
    assert plan_sketch_levels(spans) == (
        Level(60, 32), Level(600, 14), Level(3600, 26), Level(21600, 14), Level(86400, 32)
    )


def test_tiers_that_do_not_nest_are_refused():
    with pytest.raises(ValueError, match="reach further back"):
        SketchRing((Level(60, 100), Level(600, 3)))
    with pytest.raises(ValueError, match="multiple"):
        SketchRing((Level(60, 5), Level(90, 100)))


def test_corrupt_sketch_bytes_are_refused():
    data = bytearray(sketch_of([1.0, 2.0]).to_bytes())
    data[-1] = 0x7F  # the last count step now takes the count below zero
    with pytest.raises(ValueError, match="corrupt"):
        LatencySketch.from_bytes(bytes(data))


@settings(max_examples=100, deadline=None)
@given(ring_events)
def test_once_the_head_moves_every_stored_sketch_but_the_heads_is_packed(events):
    ring = SketchRing(TIERS)
    for ts, latency in events:
        ring.add(ts, latency)
    newest = max((ts for ts, _ in events), default=0.0)
    ring.add(newest + TIERS[0].resolution_s, 5.0)
    head = ring.head(0)
    loose = [(level, bucket) for level in range(len(TIERS)) for bucket, sketch in ring.stored(level)
             if sketch.bins is not None and (level, bucket) != (0, head)]
    assert loose == []
