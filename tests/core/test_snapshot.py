"""Snapshots: versioned, lossless (every query and the bytes themselves), small, replay-safe."""

from __future__ import annotations

import math

import pytest
from core_strategies import BASE_TS, busy_percentile_state, make_slo
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core import evaluate as ev
from slawatch.core.model import (
    Budgeting,
    BudgetingMethod,
    BurnRateRule,
    CalendarUnit,
    CalendarWindow,
    ErrorHandling,
    GroupBy,
    GroupDimension,
    RollingWindow,
    Severity,
    SliKind,
)
from slawatch.core.slo_state import GroupedSloState, Outcome, SloState
from slawatch.core.snapshot import grouped_from_bytes, grouped_to_bytes, state_from_bytes, state_to_bytes

RULES = (BurnRateRule("fast", Severity.PAGE, 3600, 300, 2.0, 14.4),)
WINDOWS = (RollingWindow(86400), CalendarWindow(CalendarUnit.DAY))
ODD_WINDOWS = (RollingWindow(86400), CalendarWindow(CalendarUnit.MONTH, time_zone="Asia/Kathmandu"))
SLOS = [
    make_slo(windows=WINDOWS, rules=RULES),
    make_slo(kind=SliKind.LATENCY_PERCENTILE, windows=WINDOWS, rules=RULES),
    make_slo(
        kind=SliKind.LATENCY_THRESHOLD,
        windows=WINDOWS,
        rules=RULES,
        budgeting=Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=300, timeslice_target=0.8),
    ),
    make_slo(
        windows=ODD_WINDOWS,
        rules=RULES,
        budgeting=Budgeting(BudgetingMethod.RATIO_TIMESLICES, timeslice_s=60, timeslice_target=0.8),
    ),
    make_slo(kind=SliKind.LATENCY_PERCENTILE, errors=ErrorHandling.BAD, windows=ODD_WINDOWS, rules=RULES),
]

streams = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=4 * 86400).map(lambda x: BASE_TS + x),
        st.booleans(),
        st.sampled_from([None, 0.0, 5.0, 99.0, 250.0]),
        st.integers(0, 1),
        st.integers(0, 30),
    ),
    max_size=120,
)


def apply_all(state, events):
    for ts, ok, latency, partition, offset in events:
        state.apply(ts, ok, latency, partition, offset, now=BASE_TS + 2 * 86400)


def answers(state: SloState, now: float) -> tuple:
    """Every query the evaluator offers, at a few windows."""
    out = [state.watermark, dict(state.offsets), state.counters]
    for window_s in (60.0, 300.0, 3600.0, 86400.0):
        out += [ev.window_stats(state, window_s, now), ev.sli(state, window_s, now)]
        if state.sketches is not None:
            out.append(ev.percentile(state, window_s, now))
    for window in state.slo.windows:
        out += [ev.attainment(state, window, now), ev.budget(state, window, now)]
    return tuple(out)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(SLOS), streams, streams, st.floats(min_value=86400, max_value=2.2 * 86400))
def test_a_restored_state_answers_every_query_alike_and_keeps_doing_so(slo, before, after, offset_now):
    now = BASE_TS + offset_now
    state = SloState(slo)
    apply_all(state, before)
    data = state_to_bytes(state)
    restored = state_from_bytes(data, slo)
    assert state_to_bytes(restored) == data
    assert answers(restored, now) == answers(state, now)
    apply_all(state, after)
    apply_all(restored, after)
    assert answers(restored, now) == answers(state, now)
    assert state_to_bytes(restored) == state_to_bytes(state)


def test_replaying_the_whole_input_after_a_restore_counts_nothing_twice():
    slo = SLOS[0]
    events = [(BASE_TS + i, i % 7 != 0, None, i % 2, i // 2) for i in range(100)]
    state = SloState(slo)
    apply_all(state, events)
    restored = state_from_bytes(state_to_bytes(state), slo)
    outcomes = {restored.apply(ts, ok, lat, p, o) for ts, ok, lat, p, o in events}
    assert outcomes == {Outcome.DUPLICATE}
    assert ev.window_stats(restored, 3600, BASE_TS + 100) == ev.WindowStats(good=85, total=100, excluded=0)


def test_a_grouped_state_round_trips_with_its_groups_offsets_and_overflow():
    slo = make_slo(windows=WINDOWS, rules=RULES, group_by=GroupBy(GroupDimension.CUSTOMER, 2))
    state = GroupedSloState(slo)
    for i, customer in enumerate(["acme", "globex", "initech", None, "acme"]):
        state.apply(customer, BASE_TS + i, i % 2 == 0, partition=0, offset=i)
    data = grouped_to_bytes(state)
    restored = grouped_from_bytes(data, slo)
    assert grouped_to_bytes(restored) == data
    assert list(restored.groups) == list(state.groups)
    assert (restored.overflowed, restored.offsets) == (2, {0: 4})
    for name, group in state.groups.items():
        assert answers(restored.groups[name], BASE_TS + 10) == answers(group, BASE_TS + 10)


def busy_30_day_state(events_per_bucket: int) -> SloState:
    """The default 30-day availability SLO with every bucket of every level filled."""
    state = SloState(make_slo())
    start = BASE_TS
    for hour in range(31 * 24):
        state.ring.add(start + hour * 3600, 0, events_per_bucket)
    for second in range(0, 86400, 10):
        t = start + 30 * 86400 + second
        state.ring.add(t, 0, events_per_bucket)
        state.ring.add(t, 1, 3)
    return state


def test_a_busy_30_day_availability_slo_snapshots_well_under_64_kib():
    assert len(state_to_bytes(busy_30_day_state(10_000))) < 20 * 1024


def test_even_with_every_column_in_64_bits_a_30_day_slo_fits_in_64_kib():
    state = busy_30_day_state(2**33)
    state.ring.add(BASE_TS + 31 * 86400 - 5, 1, 2**33)
    state.ring.add(BASE_TS + 31 * 86400 - 5, 2, 2**33)
    assert len(state_to_bytes(state)) <= 64 * 1024


def busy_30_day_timeslice_state(events_per_slice: int) -> SloState:
    """A 30-day 1-minute timeslice SLO with every slice of the month filled, a quarter of them bad."""
    slo = make_slo(budgeting=Budgeting(BudgetingMethod.RATIO_TIMESLICES, timeslice_s=60, timeslice_target=0.99))
    state = SloState(slo, max_future_s=math.inf)
    for minute in range(31 * 1440):
        state.ring.add(BASE_TS + minute * 60, 0, events_per_slice)  # ring.add as the state does, faster
        state.ring.add(BASE_TS + minute * 60, 1, minute % 4 == 0)
    return state


def test_a_busy_30_day_one_minute_timeslice_slo_snapshots_under_64_kib_and_round_trips():
    state = busy_30_day_timeslice_state(60_000)
    data = state_to_bytes(state)
    assert len(data) <= 64 * 1024
    restored = state_from_bytes(data, state.slo)
    now = BASE_TS + 31 * 86400
    assert answers(restored, now) == answers(state, now)
    assert ev.attainment(restored, state.slo.windows[0], now).total == 30 * 1440


def test_an_unknown_format_version_is_refused_with_a_clear_error():
    data = bytearray(state_to_bytes(SloState(SLOS[0])))
    data[3] = 9
    with pytest.raises(ValueError, match="format 9 is unknown; this build reads format 3"):
        state_from_bytes(bytes(data), SLOS[0])


def test_bytes_that_are_not_a_snapshot_are_refused():
    with pytest.raises(ValueError, match="bad magic"):
        state_from_bytes(b"{}\x00\x00\x00", SLOS[0])


def test_a_truncated_snapshot_is_refused():
    state = SloState(SLOS[0])
    state.apply(BASE_TS, True)
    with pytest.raises(ValueError, match="truncated"):
        state_from_bytes(state_to_bytes(state)[:-5], SLOS[0])


def test_a_snapshot_of_an_slo_whose_windows_changed_is_refused_naming_both_plans():
    data = state_to_bytes(SloState(SLOS[0]))
    with pytest.raises(ValueError, match="windows changed"):
        state_from_bytes(data, make_slo())


def test_a_grouped_snapshot_is_not_read_as_a_single_state():
    slo = make_slo(group_by=GroupBy(GroupDimension.REGION, 3))
    with pytest.raises(ValueError, match="expected 1"):
        state_from_bytes(grouped_to_bytes(GroupedSloState(slo)), slo)


def test_an_empty_state_round_trips_with_no_watermark():
    restored = state_from_bytes(state_to_bytes(SloState(SLOS[1])), SLOS[1])
    assert restored.watermark == -math.inf
    assert ev.sli(restored, 300, BASE_TS) is None


def test_a_busy_30_day_percentile_slo_snapshots_within_64_kib_and_round_trips():
    state = busy_percentile_state(events_per_s=50, sigma=0.6)  # a month of 3 ms .. 3 s latencies at 50/s
    data = state_to_bytes(state)
    assert len(data) <= 64 * 1024
    restored = state_from_bytes(data, state.slo)
    assert state_to_bytes(restored) == data
    now = state.watermark
    for window_s in (300.0, 3600.0, 86400.0, 3 * 86400.0, 30 * 86400.0):
        assert ev.percentile(restored, window_s, now) == ev.percentile(state, window_s, now)
    month = state.sketches.merged(4, 0, 2**40)
    assert month.count >= 29 * 86400 * 50 * 0.99  # the days the month window holds are all there


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SLOS), st.lists(streams, min_size=1, max_size=5))
def test_snapshots_taken_between_batches_equal_a_fresh_encoding(slo, batches):
    """The per-level encodings kept between snapshots (only the head bucket is re-encoded while
    events come in order) never show: each snapshot equals that of a state restored from it, which
    has nothing kept."""
    state = SloState(slo)
    for batch in batches:
        half = len(batch) // 2
        apply_all(state, sorted(batch[:half], key=lambda e: e[0]) + batch[half:])  # in order, then anything
        data = state_to_bytes(state)
        assert state_to_bytes(state_from_bytes(data, slo)) == data
