"""SLIs, attainment, budgets and burn rates equal a brute-force recomputation from raw events."""

from __future__ import annotations

import math
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from core_strategies import BASE_TS, brute_buckets, brute_calendar, brute_counts, brute_rolling_slices, make_slo
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slawatch.core import evaluate as ev
from slawatch.core.calendar import local_midnight, period_bounds
from slawatch.core.model import (
    Budgeting,
    BudgetingMethod,
    BurnRateRule,
    CalendarUnit,
    CalendarWindow,
    ErrorHandling,
    RollingWindow,
    Severity,
    SliKind,
)
from slawatch.core.ring import BAD, GOOD
from slawatch.core.sketch import RELATIVE_ACCURACY
from slawatch.core.slo_state import Outcome, SloState

HORIZON_S = 3 * 86400
RULES = (BurnRateRule("fast", Severity.PAGE, 3600, 300, 2.0, 14.4),)
WINDOWS = (RollingWindow(86400), CalendarWindow(CalendarUnit.DAY, time_zone="Europe/London"))
OBJECTIVE = 0.95

events = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=HORIZON_S).map(lambda x: BASE_TS + x),
        st.booleans(),
        st.sampled_from([1.0, 20.0, 99.0, 150.0, 900.0]),
    ),
    max_size=150,
)
nows = st.floats(min_value=HORIZON_S * 0.5, max_value=HORIZON_S * 1.05).map(lambda x: BASE_TS + x)
window_lengths = st.sampled_from([60.0, 300.0, 1234.5, 3600.0, 7200.0, 86400.0])


def run(slo, stream):
    state = SloState(slo, max_future_s=math.inf)
    counted = []
    for ts, ok, latency in stream:
        outcome = state.apply(ts, ok, latency)
        if outcome in (Outcome.GOOD, Outcome.BAD, Outcome.EXCLUDED):
            counted.append((ts, int(outcome), latency))
    return state, counted


def brute_good_total(state, counted, start, end):
    """(good, total) in the SLO's budgeting units over a rolling window, from the raw events."""
    slo = state.slo
    if state.plan.rollup is None:
        level = state.levels[state.ring.level_for(end - start)]
        good, bad, _ = brute_counts([(ts, w) for ts, w, _ in counted], level, start, end)
        return good, good + bad
    good_slices, slices, ratio_sum = brute_rolling_slices(state, counted, start, end)
    if slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES:
        return ratio_sum, slices
    return good_slices, slices


slos = st.sampled_from(
    [
        make_slo(windows=WINDOWS, rules=RULES, objective=OBJECTIVE),
        make_slo(kind=SliKind.LATENCY_THRESHOLD, windows=WINDOWS, rules=RULES, objective=OBJECTIVE),
        make_slo(
            windows=WINDOWS,
            rules=RULES,
            objective=OBJECTIVE,
            budgeting=Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=300, timeslice_target=0.75),
        ),
        make_slo(
            windows=WINDOWS,
            rules=RULES,
            objective=OBJECTIVE,
            budgeting=Budgeting(BudgetingMethod.RATIO_TIMESLICES, timeslice_s=600, timeslice_target=0.75),
        ),
        make_slo(
            kind=SliKind.LATENCY_PERCENTILE,
            windows=WINDOWS,
            rules=RULES,
            objective=OBJECTIVE,
            budgeting=Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=60),
        ),
    ]
)


def close(a, b):
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-12))


@settings(max_examples=120, deadline=None)
@given(slos, events, nows, window_lengths)
def test_sli_and_burn_rate_over_any_window_equal_the_brute_force(slo, stream, now, window_s):
    state, counted = run(slo, stream)
    good, total = brute_good_total(state, counted, now - window_s, now)
    expected_sli = good / total if total else None
    assert close(ev.sli(state, window_s, now), expected_sli)
    rate = ev.window_burn_rate(state, window_s, now)
    assert close(rate, None if expected_sli is None else (1 - expected_sli) / (1 - OBJECTIVE))
    assert rate is None or rate >= 0.0


@settings(max_examples=120, deadline=None)
@given(slos, events, nows)
def test_attainment_and_budget_of_every_compliance_window_equal_the_brute_force(slo, stream, now):
    state, counted = run(slo, stream)
    for window in slo.windows:
        if isinstance(window, CalendarWindow):
            start, end = period_bounds(window, now)
            period_s = end - start
            good, total = brute_calendar(state, counted, window, now)
        else:
            start, end, period_s = now - window.duration_s, now, window.duration_s
            good, total = brute_good_total(state, counted, start, now)
        attained = ev.attainment(state, window, now)
        assert (attained.good, attained.total) == (pytest.approx(good), total)
        assert close(attained.sli, good / total if total else None)
        budget = ev.budget(state, window, now, burn_window_s=3600)
        if not total:
            assert budget.consumed is None and budget.remaining is None and budget.exhausted_in_s is None
            continue
        allowed = (1 - OBJECTIVE) * total
        assert math.isclose(budget.consumed, (total - good) / allowed)
        assert math.isclose(budget.remaining_minutes, (1 - (total - good) / allowed) * (1 - OBJECTIVE) * period_s / 60)
        rate = ev.window_burn_rate(state, 3600, now)
        if rate:
            assert math.isclose(budget.exhausted_in_s, max(0.0, budget.remaining) * period_s / rate)
        else:
            assert budget.exhausted_in_s is None


FIRST_LONDON_MIDNIGHT_IN_NOWS = BASE_TS + 3 * 86400  # 2026-01-04T00:00Z: London is on UTC in January


@settings(max_examples=80, deadline=None)
@given(events, nows)
@example(stream=[(FIRST_LONDON_MIDNIGHT_IN_NOWS, False, 1.0)], now=FIRST_LONDON_MIDNIGHT_IN_NOWS)
def test_the_best_possible_attainment_assumes_every_remaining_event_good_at_the_observed_volume(stream, now):
    slo = make_slo(windows=WINDOWS, rules=RULES, objective=OBJECTIVE)
    state, counted = run(slo, stream)
    window = WINDOWS[1]
    start, end = period_bounds(window, now)
    good, total = brute_calendar(state, counted, window, now)
    best = ev.best_possible(state, window, now)
    if not total or now == start:  # no data, or no time passed yet: no observed volume
        assert best is None
        return
    expected = total / (now - start) * (end - now)
    assert math.isclose(best, (good + expected) / (total + expected))
    assert best >= good / total - 1e-12


@settings(max_examples=80, deadline=None)
@given(events, nows, window_lengths, st.floats(min_value=0.0, max_value=1.0))
def test_a_percentile_over_any_window_is_within_the_sketch_bound_of_the_exact_one(stream, now, window_s, q):
    slo = make_slo(kind=SliKind.LATENCY_PERCENTILE, windows=WINDOWS, rules=RULES, objective=OBJECTIVE)
    state, counted = run(slo, stream)
    level = state.sketches.levels[state.sketches.level_for(window_s)]
    with_latency = [e for e in counted if e[1] in (GOOD, BAD)]
    buckets = brute_buckets(with_latency, level, now - window_s, now)
    latencies = sorted(e[2] for bucket in buckets.values() for e in bucket)
    estimate = ev.percentile(state, window_s, now, q)
    if not latencies:
        assert estimate is None
        return
    true = latencies[math.floor(q * (len(latencies) - 1))]
    assert abs(estimate - true) <= RELATIVE_ACCURACY * true * (1 + 1e-9)


def test_a_bad_event_stamped_just_after_midnight_does_not_make_the_new_day_unattainable_at_midnight():
    window = WINDOWS[1]
    state = SloState(make_slo(windows=(window,), rules=RULES, objective=OBJECTIVE))
    midnight = FIRST_LONDON_MIDNIGHT_IN_NOWS
    state.apply(midnight + 2.0, False, now=midnight)  # 2 s ahead of the clock: within max_future_s
    assert ev.best_possible(state, window, midnight) is None
    assert ev.best_possible(state, window, midnight + 0.001) == pytest.approx(1.0)


def availability(objective=0.999):
    return SloState(make_slo(objective=objective))


def test_no_data_gives_none_for_sli_burn_rate_attainment_and_budget():
    state = availability()
    assert ev.sli(state, 3600, BASE_TS) is None
    assert ev.window_burn_rate(state, 3600, BASE_TS) is None
    assert ev.attainment(state, RollingWindow(30 * 86400), BASE_TS).sli is None
    assert ev.attainment(state, RollingWindow(30 * 86400), BASE_TS).met is None
    assert ev.budget(state, RollingWindow(30 * 86400), BASE_TS).remaining is None
    assert ev.window_stats(state, 3600, BASE_TS) == ev.WindowStats(0, 0, 0)


def test_a_full_outage_burns_a_30_day_999_budget_in_43_minutes():
    state = availability()
    for second in range(600):
        state.apply(BASE_TS + second, False)
    now = BASE_TS + 600
    assert ev.window_burn_rate(state, 300, now) == pytest.approx(1000.0)
    status = ev.budget(state, RollingWindow(30 * 86400), now, burn_window_s=300)
    assert status.total_minutes == pytest.approx(43.2)
    assert status.exhausted_in_s == 0.0  # 600 bad of 600 events: already overspent
    assert status.remaining < 0


def test_at_burn_rate_two_half_a_30_day_budget_lasts_seven_and_a_half_days():
    state = availability(objective=0.99)
    for second in range(3000):
        state.apply(BASE_TS + second, True)
    for second in range(3000, 4000):
        state.apply(BASE_TS + second, second % 50 != 0)  # 2 % bad: burn rate 2
    now = BASE_TS + 4000
    status = ev.budget(state, RollingWindow(30 * 86400), now, burn_window_s=1000)
    assert status.burn_rate == pytest.approx(2.0)
    assert status.consumed == pytest.approx(0.5)  # 20 bad of 40 allowed
    assert status.remaining_bad == pytest.approx(20.0)
    assert status.exhausted_in_s == pytest.approx(7.5 * 86400)


def test_a_healthy_service_is_not_burning_and_has_no_exhaustion_forecast():
    state = availability()
    state.apply(BASE_TS, True)
    status = ev.budget(state, RollingWindow(30 * 86400), BASE_TS + 1)
    assert status.burn_rate == 0.0
    assert status.exhausted_in_s is None
    assert status.remaining == 1.0


def test_excluded_events_are_reported_but_do_not_count_in_the_sli():
    state = SloState(make_slo(), is_excluded=lambda t: t < BASE_TS + 10)
    state.apply(BASE_TS + 1, False)
    state.apply(BASE_TS + 20, True)
    assert ev.window_stats(state, 300, BASE_TS + 30) == ev.WindowStats(good=1, total=1, excluded=1)
    assert ev.sli(state, 300, BASE_TS + 30) == 1.0


def test_a_percentile_of_a_state_without_sketches_is_refused():
    with pytest.raises(ValueError, match="not a percentile SLI"):
        ev.percentile(availability(), 300, BASE_TS)


# Calendar periods in zones whose offsets are not whole hours: edges at :30 and :45 past the UTC hour.
ODD_ZONES = ("Asia/Kolkata", "Australia/Adelaide", "Asia/Kathmandu", "Australia/Lord_Howe")
EDGE_DATES = (date(2026, 1, 1), date(2026, 4, 1), date(2026, 5, 1), date(2026, 10, 1), date(2026, 11, 1))


def odd_zone_slos(zone: str):
    windows = (CalendarWindow(CalendarUnit.MONTH, time_zone=zone), CalendarWindow(CalendarUnit.DAY, time_zone=zone))
    return [
        make_slo(windows=windows, rules=RULES, objective=OBJECTIVE),
        make_slo(
            windows=windows,
            rules=RULES,
            objective=OBJECTIVE,
            budgeting=Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=300, timeslice_target=0.75),
        ),
        make_slo(
            windows=windows,
            rules=RULES,
            objective=OBJECTIVE,
            budgeting=Budgeting(BudgetingMethod.RATIO_TIMESLICES, timeslice_s=3600, timeslice_target=0.75),
        ),
    ]


around_an_edge = st.one_of(
    st.floats(min_value=-3 * 86400, max_value=3 * 86400),
    st.sampled_from([-1.0, -0.5, 0.0, 0.25, 59.5, 1799.0, 1800.0, 2700.0, 3599.5]),  # on and near the edge
)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(ODD_ZONES),
    st.integers(0, 2),
    st.sampled_from(EDGE_DATES),
    st.lists(st.tuples(around_an_edge, st.booleans()), max_size=120),
    st.lists(around_an_edge, min_size=1, max_size=4),
)
def test_calendar_attainment_in_half_and_quarter_hour_zones_counts_exactly_the_events_inside_the_period(
    zone, which_slo, edge_date, stream, nows
):
    slo = odd_zone_slos(zone)[which_slo]
    edge = local_midnight(edge_date, ZoneInfo(zone))
    state, counted = run(slo, [(edge + dt, ok, 10.0) for dt, ok in stream])
    for now in nows:
        for window in slo.windows:
            good, total = brute_calendar(state, counted, window, edge + now)
            attained = ev.attainment(state, window, edge + now)
            assert (attained.good, attained.total) == (pytest.approx(good), total)
            status = ev.budget(state, window, edge + now)
            assert status.bad == pytest.approx(total - good)


def test_a_kolkata_month_counts_an_event_ten_minutes_after_its_half_past_utc_start():
    window = CalendarWindow(CalendarUnit.MONTH, time_zone="Asia/Kolkata")
    state = SloState(make_slo(windows=(window,), rules=RULES), max_future_s=math.inf)
    start = local_midnight(date(2026, 2, 1), ZoneInfo("Asia/Kolkata"))  # 2026-01-31T18:30Z
    state.apply(start - 600, False)  # January in Kolkata, same UTC hour
    state.apply(start + 600, True)  # February in Kolkata, same UTC hour
    attained = ev.attainment(state, window, start + 20 * 86400)
    assert (attained.good, attained.total) == (1, 1)
    january = ev.attainment(state, window, start - 1)
    assert (january.good, january.total) == (0, 1)


def test_a_lord_howe_period_is_exact_on_both_of_its_offsets():
    zone = "Australia/Lord_Howe"  # +11:00 in summer, +10:30 in winter
    window = CalendarWindow(CalendarUnit.MONTH, time_zone=zone)
    for first_day in (date(2026, 1, 1), date(2026, 5, 1)):
        state = SloState(make_slo(windows=(window,), rules=RULES), max_future_s=math.inf)
        start = local_midnight(first_day, ZoneInfo(zone))
        for dt in (-1.0, 0.0, 1799.0):
            state.apply(start + dt, dt >= 0)
        attained = ev.attainment(state, window, start + 25 * 86400)
        assert (attained.good, attained.total) == (2, 2)


# Timeslices roll up: closed slices live on as hourly verdicts, and a late event cannot change them.
def test_a_late_event_for_a_closed_slice_is_refused_as_too_old_and_the_verdict_stands():
    slo = make_slo(budgeting=Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=60, timeslice_target=0.9))
    state = SloState(slo)
    state.apply(BASE_TS + 30, False)
    state.apply(BASE_TS + 2 * 86400, True, now=BASE_TS + 2 * 86400)  # the first slice is closed by now
    assert state.apply(BASE_TS + 31, True) is Outcome.TOO_OLD
    stats = ev.slice_stats(state, BASE_TS, BASE_TS + 3 * 86400)
    assert (stats.good_slices, stats.slices) == (1, 2)


def test_a_30_day_one_minute_timeslice_attainment_sums_hourly_verdicts_not_minutes():
    slo = make_slo(budgeting=Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=60, timeslice_target=0.5))
    state = SloState(slo, max_future_s=math.inf)
    for minute in range(30 * 1440):
        state.apply(BASE_TS + minute * 60 + 1, minute % 3 != 0)  # every third slice bad
    now = BASE_TS + 30 * 86400
    attained = ev.attainment(state, slo.windows[0], now)
    assert (attained.good, attained.total) == (28800, 43200)
    assert state.finalizer.rollup.level.resolution_s == 3600
    assert max(level.capacity for level in state.levels) < 2000  # no level of 43,200 minutes


# Under errors=BAD a failed call is bad whatever its latency: percentiles rank it above every latency.
@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=HORIZON_S).map(lambda x: BASE_TS + x),
            st.booleans(),
            st.sampled_from([1.0, 20.0, 99.0, 150.0, 900.0]),
        ),
        max_size=150,
    ),
    nows,
    window_lengths,
    st.floats(min_value=0.0, max_value=1.0),
)
def test_under_errors_bad_a_percentile_ranks_failed_calls_above_every_latency(stream, now, window_s, q):
    slo = make_slo(kind=SliKind.LATENCY_PERCENTILE, errors=ErrorHandling.BAD, windows=WINDOWS, rules=RULES)
    state = SloState(slo, max_future_s=math.inf)
    counted = [(ts, ok, latency) for ts, ok, latency in stream if state.apply(ts, ok, latency) in (Outcome.GOOD, Outcome.BAD)]
    level = state.sketches.levels[state.sketches.level_for(window_s)]
    buckets = brute_buckets(counted, level, now - window_s, now)
    latencies = sorted(latency if ok else math.inf for bucket in buckets.values() for _, ok, latency in bucket)
    estimate = ev.percentile(state, window_s, now, q)
    if not latencies:
        assert estimate is None
        return
    true = latencies[math.floor(q * (len(latencies) - 1))]
    assert estimate == true if true == math.inf else abs(estimate - true) <= RELATIVE_ACCURACY * true * (1 + 1e-9)


def test_under_errors_bad_two_failed_calls_in_a_hundred_make_the_p99_infinite_like_the_slice_verdict():
    slo = make_slo(kind=SliKind.LATENCY_PERCENTILE, errors=ErrorHandling.BAD, windows=WINDOWS, rules=RULES)
    state = SloState(slo)
    for i in range(98):
        state.apply(BASE_TS + i * 0.5, True, 10.0)
    state.apply(BASE_TS + 50, False, 5.0)  # fast failures: still bad
    state.apply(BASE_TS + 51, False, None)
    assert ev.percentile(state, 300, BASE_TS + 60) == math.inf
    assert ev.percentile(state, 300, BASE_TS + 60, q=0.5) == pytest.approx(10.0, rel=RELATIVE_ACCURACY)
    stats = ev.slice_stats(state, BASE_TS, BASE_TS + 60)
    assert (stats.good_slices, stats.slices) == (0, 1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 4 * 3600), st.booleans(), st.floats(0, 900)), min_size=1, max_size=80),
       st.sampled_from([BudgetingMethod.TIMESLICES, BudgetingMethod.RATIO_TIMESLICES]))
def test_judged_slices_kept_between_decisions_equal_judging_every_slice_again(steps, method):
    """The closed slices a window judged are kept until one changes (late events, a head advance):
    after every event, each window reads exactly what judging all its slices afresh gives."""
    slo = make_slo(budgeting=Budgeting(method, timeslice_s=60, timeslice_target=0.75))
    state = SloState(slo)
    fine = state.plan.fine
    for offset, ok, lateness in steps:
        state.apply(BASE_TS + offset - lateness, ok, now=BASE_TS + 4 * 3600)
        now = state.watermark + 1
        for window_s in (300, 3600, 6 * 3600):
            fresh = state.finalizer.judge.columns(*state.ring.bucket_columns(now - window_s, now, fine))
            assert ev.judged_slices(state, now - window_s, now) == fresh
