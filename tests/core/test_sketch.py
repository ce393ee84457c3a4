"""The latency sketch: every quantile within the stated relative error of the true sample."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.sketch import RELATIVE_ACCURACY, LatencySketch

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
