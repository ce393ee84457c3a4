"""Bucket rings: every window sum equals a brute-force count over the raw events."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.ring import (
    BAD,
    EXCLUDED,
    GOOD,
    SLACK_BUCKETS,
    BucketRing,
    Level,
    SliceRollup,
    first_bucket_from,
    plan_levels,
)

from core_strategies import BASE_TS, event_times, instants

HORIZON_S = 4000.0
SMALL_LEVELS = (Level(1, 23), Level(7, 31), Level(50, 40))  # small, so eviction happens a lot

streams = st.lists(st.tuples(event_times(HORIZON_S), st.sampled_from((GOOD, BAD, EXCLUDED))), max_size=150)


def brute_force(events, level: Level, start: float, end: float) -> tuple[int, int, int]:
    """Events whose bucket starts in [start, end) and is still retained by the level."""
    r = level.resolution_s
    if not events:
        return (0, 0, 0)
    head = max(int(ts // r) for ts, _ in events)
    first, last = first_bucket_from(start, r), first_bucket_from(end, r) - 1
    sums = [0, 0, 0]
    for ts, which in events:
        bucket = int(ts // r)
        if first <= bucket <= last and bucket > head - level.capacity:
            sums[which] += 1
    return tuple(sums)


def ring_of(events, levels=SMALL_LEVELS) -> BucketRing:
    ring = BucketRing(levels)
    for ts, which in events:
        ring.add(ts, which)
    return ring


@settings(max_examples=250, deadline=None)
@given(streams, instants(HORIZON_S), st.floats(min_value=0.5, max_value=2000.0))
def test_every_rolling_window_sum_equals_the_brute_force_count(events, now, window_s):
    ring = ring_of(events)
    level = ring.level_for(window_s)
    assert ring.window(now, window_s) == brute_force(events, ring.levels[level], now - window_s, now)


@settings(max_examples=150, deadline=None)
@given(streams, instants(HORIZON_S), instants(HORIZON_S), st.integers(0, 2))
def test_every_interval_at_every_level_equals_the_brute_force_count(events, a, b, level):
    ring = ring_of(events)
    start, end = min(a, b), max(a, b)
    assert ring.interval(start, end, level) == brute_force(events, ring.levels[level], start, end)


@settings(max_examples=100, deadline=None)
@given(streams, st.integers(0, 2))
def test_exporting_and_importing_a_level_keeps_every_bucket(events, level):
    ring = ring_of(events)
    twin = BucketRing(SMALL_LEVELS)
    head, columns = ring.export_level(level)
    twin.import_level(level, head, columns)
    assert twin.export_level(level) == (head, columns)
    span = SMALL_LEVELS[level].span_s
    for start in (BASE_TS - 10, BASE_TS + 500.5, BASE_TS + 3000):
        assert twin.interval(start, start + span, level) == ring.interval(start, start + span, level)


def test_an_event_older_than_every_level_is_not_kept():
    ring = BucketRing((Level(10, 6),))
    assert ring.add(BASE_TS + 100, GOOD)
    assert not ring.would_keep(BASE_TS + 49)
    assert not ring.add(BASE_TS + 49, GOOD)
    assert ring.would_keep(BASE_TS + 50)
    assert ring.add(BASE_TS + 50, BAD)
    assert ring.interval(BASE_TS, BASE_TS + 200, level=0) == (1, 1, 0)


def test_a_late_event_still_inside_the_ring_counts_in_its_own_bucket():
    ring = BucketRing((Level(10, 6),))
    ring.add(BASE_TS + 55, GOOD)
    ring.add(BASE_TS + 21, BAD)
    assert ring.interval(BASE_TS + 20, BASE_TS + 30) == (0, 1, 0)
    assert ring.interval(BASE_TS + 30, BASE_TS + 60) == (1, 0, 0)


def test_a_window_keeps_the_partial_bucket_that_contains_now():
    ring = BucketRing((Level(10, 60),))
    ring.add(BASE_TS + 101.0, BAD)
    assert ring.window(BASE_TS + 101.5, 30) == (0, 1, 0)


def test_an_event_exactly_at_now_falls_outside_the_window_when_now_is_a_bucket_boundary():
    ring = BucketRing((Level(10, 60),))
    ring.add(BASE_TS + 100.0, BAD)
    assert ring.window(BASE_TS + 100.0, 30) == (0, 0, 0)


def test_an_empty_ring_sums_to_zero():
    assert BucketRing(SMALL_LEVELS).window(BASE_TS, 60) == (0, 0, 0)


def test_a_span_no_level_covers_is_refused_naming_the_longest_level():
    with pytest.raises(ValueError, match="longest spans 2000 s"):
        BucketRing(SMALL_LEVELS).level_for(5000)


def test_levels_must_be_ordered_finest_first():
    with pytest.raises(ValueError, match="finest first"):
        BucketRing((Level(60, 10), Level(10, 10)))


def test_the_default_30_day_plan_uses_10_s_1_min_and_1_h_levels_sized_by_their_longest_window():
    alert_windows = (300, 1800, 3600, 7200, 6 * 3600, 86400, 3 * 86400)
    levels = plan_levels(alert_windows + (30 * 86400,))
    assert levels == (
        Level(10, 180 + SLACK_BUCKETS),
        Level(60, 1440 + SLACK_BUCKETS),
        Level(3600, 720 + SLACK_BUCKETS),
    )


def test_a_pinned_resolution_gets_a_level_spanning_its_window():
    levels = plan_levels((300,), pinned={300: 86400})
    assert levels == (Level(10, 30 + SLACK_BUCKETS), Level(300, 288 + SLACK_BUCKETS))


# Counts of any size: the columns start narrow and are rebased or widened as counts need.
WEIGHTS = st.sampled_from((1, 3, 2**14, 2**16 - 1, 2**16, 2**31, 2**32 + 5, 2**40))
weighted_streams = st.lists(
    st.tuples(event_times(HORIZON_S), st.sampled_from((GOOD, BAD, EXCLUDED)), WEIGHTS), max_size=80
)


def weighted_brute_force(events, level: Level, start: float, end: float) -> tuple[int, int, int]:
    """`brute_force` with a count per event."""
    r = level.resolution_s
    if not events:
        return (0, 0, 0)
    head = max(int(ts // r) for ts, _, _ in events)
    first, last = first_bucket_from(start, r), first_bucket_from(end, r) - 1
    sums = [0, 0, 0]
    for ts, which, count in events:
        if first <= int(ts // r) <= last and int(ts // r) > head - level.capacity:
            sums[which] += count
    return tuple(sums)


@settings(max_examples=200, deadline=None)
@given(weighted_streams, instants(HORIZON_S), instants(HORIZON_S), st.integers(0, 2))
def test_counts_of_any_size_sum_exactly_at_every_level(events, a, b, level):
    ring = BucketRing(SMALL_LEVELS)
    for ts, which, count in events:
        ring.add(ts, which, count)
    start, end = min(a, b), max(a, b)
    assert ring.interval(start, end, level) == weighted_brute_force(events, ring.levels[level], start, end)


@settings(max_examples=150, deadline=None)
@given(weighted_streams, st.lists(st.tuples(WEIGHTS, WEIGHTS, WEIGHTS), max_size=5))
def test_bump_head_counts_as_adding_each_event_in_the_head_span(events, bumps):
    bulk, one_by_one = BucketRing(SMALL_LEVELS), BucketRing(SMALL_LEVELS)
    for ts, which, count in events:
        bulk.add(ts, which, count)
        one_by_one.add(ts, which, count)
    start, end = bulk.head_span()
    for good, bad, excluded in bumps if start < end else ():
        bulk.bump_head(good, bad, excluded)
        for which, count in ((GOOD, good), (BAD, bad), (EXCLUDED, excluded)):
            one_by_one.add(start, which, count)
    for level in range(len(SMALL_LEVELS)):
        assert bulk.export_level(level) == one_by_one.export_level(level)


def test_a_ring_holds_no_column_for_a_counter_it_has_not_counted():
    ring = BucketRing(SMALL_LEVELS)
    assert ring.column_bytes() == 0
    ring.add(BASE_TS, GOOD)
    assert ring.column_bytes() == 2 * sum(level.capacity for level in SMALL_LEVELS)  # one 16-bit column a level
    assert ring.interval(BASE_TS - 100, BASE_TS + 100, 0) == (1, 0, 0)


def test_a_column_widens_when_a_count_outgrows_it_and_keeps_every_count():
    ring = BucketRing((Level(10, 6),))
    ring.add(BASE_TS, BAD, 5)
    ring.add(BASE_TS + 10, BAD, 2**40)
    ring.add(BASE_TS + 1, BAD, 7)  # late: bumps every cell from its bucket to the head
    assert ring.column_bytes() == 8 * 6
    assert ring.interval(BASE_TS, BASE_TS + 10) == (0, 12, 0)
    assert ring.interval(BASE_TS, BASE_TS + 20) == (0, 12 + 2**40, 0)


def test_a_column_rebased_past_its_typecode_keeps_its_window_sums_and_says_it_evicted():
    ring = BucketRing((Level(10, 6),))
    for k in range(40):  # 200,000 events, far past 16 bits, while the level retains only 30,000
        ring.add(BASE_TS + 10 * k, GOOD, 5_000)
    assert ring.column_bytes() == 2 * 6  # still 16 bits a cell: rebased, not widened
    assert ring.interval(BASE_TS, BASE_TS + 400, 0) == (6 * 5_000, 0, 0)
    assert ring.interval(BASE_TS + 380, BASE_TS + 390, 0) == (5_000, 0, 0)
    assert ring.level_ring(0).base[GOOD] > 0  # engine.exact_counts reads this: something was evicted


def test_a_negative_count_is_refused_as_not_a_count_of_events():
    with pytest.raises(ValueError, match="count is >= 0"):
        BucketRing(SMALL_LEVELS).add(BASE_TS, GOOD, -1)


def test_a_slice_rollup_bucket_holding_more_slices_than_16_bits_count_keeps_them_all():
    rollup = SliceRollup(Level(10**6, 3))
    rollup.advance(5)
    for n in range(70_000):
        rollup.add(5, n % 2, 0.5)
    assert rollup.sums(0, 5) == (35_000, 70_000, 35_000.0)
