"""One SLO's state: classification, refusals with reasons, exactly-once replay, capped groups."""

from __future__ import annotations

import math

import pytest
from core_strategies import BASE_TS, make_slo
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.model import ErrorHandling, GroupBy, GroupDimension, RollingWindow, SliKind
from slawatch.core.ring import BAD, EXCLUDED, GOOD, first_bucket_from
from slawatch.core.slo_state import OVERFLOW_GROUP, GroupedSloState, Outcome, SloState

SMALL_WINDOWS = (RollingWindow(4 * 86400),)  # with no alert rules: one 1-hour level of 98 buckets
EXCLUDED_SPAN = (BASE_TS + 3 * 86400, BASE_TS + 3 * 86400 + 7200)


def in_maintenance(t: float) -> bool:
    return EXCLUDED_SPAN[0] <= t < EXCLUDED_SPAN[1]


def reference_run(slo, events, max_future_s, excluded=in_maintenance):
    """A plain re-statement of the rules in slo_state's docstring, over a list."""
    plan = SloState(slo).plan
    keeper = plan.levels[plan.fine] if plan.rollup is not None else plan.levels[-1]  # slices: the slice level
    r, capacity = keeper.resolution_s, keeper.capacity
    watermark, head, seen = -math.inf, None, {}
    outcomes, counted, late = [], [], 0
    for ts, ok, latency, partition, offset, now in events:
        if partition in seen and offset <= seen[partition]:
            outcomes.append(Outcome.DUPLICATE)
            continue
        seen[partition] = offset
        if slo.sli.kind is not SliKind.AVAILABILITY and latency is not None and not 0 <= latency < math.inf:
            outcomes.append(Outcome.INVALID)
            continue
        reference = max(watermark, now)
        if ts > reference + max_future_s:
            outcomes.append(Outcome.TOO_FAR_AHEAD)
            continue
        if head is not None and int(ts // r) <= head - capacity:
            outcomes.append(Outcome.TOO_OLD)
            continue
        late += ts < watermark
        watermark = max(watermark, ts)
        errors = slo.sli.errors
        if slo.sli.kind is SliKind.AVAILABILITY:
            which = GOOD if ok else BAD
        elif not ok and errors is ErrorHandling.IGNORE:
            which = None
        elif not ok and errors is ErrorHandling.BAD:
            which = BAD
        elif latency is None:
            which = None
        else:
            which = GOOD if latency <= slo.sli.threshold_ms else BAD
        if which is None:
            outcomes.append(Outcome.NOT_COUNTED)
            continue
        if excluded(ts):
            which = EXCLUDED
        outcomes.append(Outcome(which))
        counted.append((ts, which))
        head = max(head if head is not None else -math.inf, int(ts // r))
    return outcomes, counted, late


streams = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=8 * 86400).map(lambda x: BASE_TS + x),
        st.booleans(),
        st.one_of(st.none(), st.sampled_from([0.0, 50.0, 100.0, 100.5, 2000.0, math.inf, math.nan, -1.0])),
        st.integers(0, 2),  # partition
        st.integers(0, 40),  # offset (repeats and regressions are replays)
        st.floats(min_value=-86400, max_value=9 * 86400).map(lambda x: BASE_TS + x),  # wall clock
    ),
    max_size=120,
)


@settings(max_examples=200, deadline=None)
@given(
    streams,
    st.sampled_from(list(SliKind)),
    st.sampled_from(list(ErrorHandling)),
    st.sampled_from([60.0, 3600.0, 86400.0]),
)
def test_every_outcome_counter_and_window_sum_matches_a_plain_reference(events, kind, errors, max_future_s):
    slo = make_slo(kind=kind, errors=errors, windows=SMALL_WINDOWS, rules=())
    state = SloState(slo, is_excluded=in_maintenance, max_future_s=max_future_s)
    outcomes = [state.apply(*event) for event in events]
    expected, counted, late = reference_run(slo, events, max_future_s)
    assert outcomes == expected
    assert state.late == late
    assert state.duplicates == expected.count(Outcome.DUPLICATE)
    assert state.too_old == expected.count(Outcome.TOO_OLD)
    assert state.too_far_ahead == expected.count(Outcome.TOO_FAR_AHEAD)
    assert state.invalid == expected.count(Outcome.INVALID)
    for index, level in enumerate(state.levels):
        r = level.resolution_s
        head = max((int(ts // r) for ts, _ in counted), default=0)
        for days in range(0, 9):
            start, end = BASE_TS + days * 86400, BASE_TS + (days + 1) * 86400
            first, last = first_bucket_from(start, r), first_bucket_from(end, r) - 1
            sums = [0, 0, 0]
            for ts, which in counted:
                if first <= int(ts // r) <= last and int(ts // r) > head - level.capacity:
                    sums[which] += 1
            assert state.ring.interval(start, end, index) == tuple(sums)


def availability_state(**kwargs) -> SloState:
    return SloState(make_slo(windows=SMALL_WINDOWS, rules=()), **kwargs)


def test_an_event_older_than_the_ring_is_refused_as_too_old():
    state = availability_state()
    assert state.apply(BASE_TS + 10 * 86400, True) is Outcome.GOOD
    assert state.apply(BASE_TS, True) is Outcome.TOO_OLD
    assert state.too_old == 1
    assert Outcome.TOO_OLD.refused


def test_an_event_too_far_ahead_of_the_watermark_is_refused_and_does_not_move_it():
    state = availability_state(max_future_s=300)
    state.apply(BASE_TS, True)
    assert state.apply(BASE_TS + 301, True) is Outcome.TOO_FAR_AHEAD
    assert state.watermark == BASE_TS
    assert state.apply(BASE_TS + 299, True) is Outcome.GOOD


def test_the_wall_clock_lets_a_service_resume_after_a_long_silence():
    state = availability_state(max_future_s=300)
    state.apply(BASE_TS, True)
    assert state.apply(BASE_TS + 7200, True, now=BASE_TS + 7200.5) is Outcome.GOOD


def test_a_late_event_inside_the_ring_is_counted_and_measured_as_late():
    state = availability_state()
    state.apply(BASE_TS + 7200, True)
    assert state.apply(BASE_TS + 60, False) is Outcome.BAD
    assert state.late == 1
    assert state.ring.interval(BASE_TS, BASE_TS + 3600) == (0, 1, 0)


def test_a_replayed_offset_is_a_duplicate_and_changes_nothing():
    state = availability_state()
    assert state.apply(BASE_TS, False, partition=3, offset=17) is Outcome.BAD
    assert state.apply(BASE_TS, False, partition=3, offset=17) is Outcome.DUPLICATE
    assert state.apply(BASE_TS, False, partition=3, offset=5) is Outcome.DUPLICATE
    assert state.apply(BASE_TS, False, partition=4, offset=5) is Outcome.BAD
    assert state.offsets == {3: 17, 4: 5}
    assert state.ring.interval(BASE_TS, BASE_TS + 3600) == (0, 2, 0)


def test_an_event_in_a_maintenance_window_is_counted_as_excluded_not_in_good_or_total():
    state = availability_state(is_excluded=in_maintenance)
    assert state.apply(EXCLUDED_SPAN[0] + 1, False) is Outcome.EXCLUDED
    assert state.ring.interval(EXCLUDED_SPAN[0], EXCLUDED_SPAN[1]) == (0, 0, 1)


@pytest.mark.parametrize(
    ("errors", "ok", "latency", "outcome"),
    [
        (ErrorHandling.COUNT, False, 10.0, Outcome.GOOD),
        (ErrorHandling.COUNT, True, 101.0, Outcome.BAD),
        (ErrorHandling.IGNORE, False, 10.0, Outcome.NOT_COUNTED),
        (ErrorHandling.BAD, False, 10.0, Outcome.BAD),
        (ErrorHandling.BAD, False, None, Outcome.BAD),
        (ErrorHandling.COUNT, True, None, Outcome.NOT_COUNTED),
        (ErrorHandling.COUNT, True, 100.0, Outcome.GOOD),
    ],
)
def test_a_latency_threshold_sli_judges_failed_calls_by_its_error_handling(errors, ok, latency, outcome):
    slo = make_slo(kind=SliKind.LATENCY_THRESHOLD, errors=errors, windows=SMALL_WINDOWS, rules=())
    assert SloState(slo).apply(BASE_TS, ok, latency) is outcome


def test_a_latency_percentile_state_keeps_sketches_of_the_latencies():
    state = SloState(make_slo(kind=SliKind.LATENCY_PERCENTILE, windows=SMALL_WINDOWS, rules=()))
    for latency in (10.0, 20.0, 30.0):
        state.apply(BASE_TS + 5, True, latency)
    assert state.sketches.merged(0, 0, 2**40).count == 3


@pytest.mark.parametrize("kind", [SliKind.LATENCY_THRESHOLD, SliKind.LATENCY_PERCENTILE])
@pytest.mark.parametrize("latency", [math.inf, -math.inf, math.nan, -0.5])
def test_a_latency_that_is_not_a_finite_non_negative_number_is_refused_as_invalid_and_moves_nothing(kind, latency):
    state = SloState(make_slo(kind=kind, windows=SMALL_WINDOWS, rules=()))
    assert state.apply(BASE_TS, True, latency) is Outcome.INVALID
    assert Outcome.INVALID.refused
    assert state.invalid == 1 and state.watermark == -math.inf
    assert state.ring.interval(BASE_TS - 3600, BASE_TS + 3600) == (0, 0, 0)


def test_an_availability_sli_ignores_the_latency_it_does_not_judge():
    assert availability_state().apply(BASE_TS, True, math.nan) is Outcome.GOOD


def test_a_latency_sli_without_a_threshold_is_refused_at_construction():
    slo = make_slo(kind=SliKind.LATENCY_THRESHOLD, threshold_ms=None, windows=SMALL_WINDOWS, rules=())
    with pytest.raises(ValueError, match="threshold_ms"):
        SloState(slo)


def grouped(max_groups: int) -> GroupedSloState:
    slo = make_slo(windows=SMALL_WINDOWS, rules=(), group_by=GroupBy(GroupDimension.CUSTOMER, max_groups))
    return GroupedSloState(slo)


def test_groups_beyond_the_cap_share_one_counted_overflow_group():
    state = grouped(max_groups=2)
    for customer in ("acme", "globex", "initech", "umbrella", "acme"):
        state.apply(customer, BASE_TS, True)
    assert sorted(state.groups) == [OVERFLOW_GROUP, "acme", "globex"]
    assert state.overflowed == 2
    assert state.groups[OVERFLOW_GROUP].ring.interval(BASE_TS, BASE_TS + 3600) == (2, 0, 0)
    assert state.groups["acme"].ring.interval(BASE_TS, BASE_TS + 3600) == (2, 0, 0)


def test_a_grouped_state_skips_replayed_offsets_across_all_its_groups():
    state = grouped(max_groups=5)
    assert state.apply("acme", BASE_TS, True, partition=0, offset=9) is Outcome.GOOD
    assert state.apply("globex", BASE_TS, True, partition=0, offset=9) is Outcome.DUPLICATE
    assert state.duplicates == 1


def test_a_grouped_state_needs_an_slo_with_group_by():
    with pytest.raises(ValueError, match="no group_by"):
        GroupedSloState(make_slo())
