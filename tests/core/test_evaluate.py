"""SLIs, attainment, budgets and burn rates equal a brute-force recomputation from raw events."""

from __future__ import annotations

import math

import pytest
from core_strategies import BASE_TS, brute_buckets, brute_calendar, brute_counts, brute_rolling_slices, make_slo
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core import evaluate as ev
from slawatch.core.calendar import period_bounds
from slawatch.core.model import (
    Budgeting,
    BudgetingMethod,
    BurnRateRule,
    CalendarUnit,
    CalendarWindow,
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
    rate = ev.burn_rate(state, window_s, now)
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
        rate = ev.burn_rate(state, 3600, now)
        if rate:
            assert math.isclose(budget.exhausted_in_s, max(0.0, budget.remaining) * period_s / rate)
        else:
            assert budget.exhausted_in_s is None


@settings(max_examples=80, deadline=None)
@given(events, nows)
def test_the_best_possible_attainment_assumes_every_remaining_event_good_at_the_observed_volume(stream, now):
    slo = make_slo(windows=WINDOWS, rules=RULES, objective=OBJECTIVE)
    state, counted = run(slo, stream)
    window = WINDOWS[1]
    start, end = period_bounds(window, now)
    good, total = brute_calendar(state, counted, window, now)
    best = ev.best_possible(state, window, now)
    if not total:
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


def availability(objective=0.999):
    return SloState(make_slo(objective=objective))


def test_no_data_gives_none_for_sli_burn_rate_attainment_and_budget():
    state = availability()
    assert ev.sli(state, 3600, BASE_TS) is None
    assert ev.burn_rate(state, 3600, BASE_TS) is None
    assert ev.attainment(state, RollingWindow(30 * 86400), BASE_TS).sli is None
    assert ev.attainment(state, RollingWindow(30 * 86400), BASE_TS).met is None
    assert ev.budget(state, RollingWindow(30 * 86400), BASE_TS).remaining is None
    assert ev.window_stats(state, 3600, BASE_TS) == ev.WindowStats(0, 0, 0)


def test_a_full_outage_burns_a_30_day_999_budget_in_43_minutes():
    state = availability()
    for second in range(600):
        state.apply(BASE_TS + second, False)
    now = BASE_TS + 600
    assert ev.burn_rate(state, 300, now) == pytest.approx(1000.0)
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
