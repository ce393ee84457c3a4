"""Shared hypothesis strategies: event streams with disorder, late and very old events."""

from __future__ import annotations

from hypothesis import strategies as st

BASE_TS = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a round instant to build streams around


def event_times(horizon_s: float) -> st.SearchStrategy[float]:
    """Event times in [BASE_TS, BASE_TS + horizon_s), sometimes exactly on a whole second."""
    fractional = st.floats(min_value=0.0, max_value=horizon_s, exclude_max=True).map(lambda x: BASE_TS + x)
    whole = st.integers(min_value=0, max_value=int(horizon_s) - 1).map(lambda x: BASE_TS + x)
    return st.one_of(fractional, whole)


def instants(horizon_s: float) -> st.SearchStrategy[float]:
    """Query instants from a little before the stream to a little after it."""
    return st.floats(min_value=-horizon_s * 0.1, max_value=horizon_s * 1.3).map(lambda x: BASE_TS + x)


def make_slo(
    kind=None,
    errors=None,
    windows=None,
    rules=None,
    budgeting=None,
    threshold_ms=100.0,
    percentile=None,
    objective=0.99,
    group_by=None,
):
    """One valid SLO to start from; each test changes only what it is about."""
    from slawatch.core.alert_windows import default_rules
    from slawatch.core.model import (
        AlertPolicy,
        Budgeting,
        ErrorHandling,
        EventMatch,
        RollingWindow,
        Sli,
        SliKind,
        Slo,
    )

    kind = kind or SliKind.AVAILABILITY
    windows = windows or (RollingWindow(30 * 86400),)
    return Slo(
        name="checkout-slo",
        match=EventMatch(service="checkout"),
        sli=Sli(
            kind=kind,
            threshold_ms=None if kind is SliKind.AVAILABILITY else threshold_ms,
            percentile=percentile if percentile is not None else (99.0 if kind is SliKind.LATENCY_PERCENTILE else None),
            errors=errors or ErrorHandling.COUNT,
        ),
        objective=objective,
        windows=windows,
        alerting=AlertPolicy(burn_rate_rules=default_rules(30 * 86400) if rules is None else rules),
        budgeting=budgeting or Budgeting(),
        group_by=group_by,
    )


def brute_counts(counted, level, start: float, end: float) -> tuple[int, int, int]:
    """(good, bad, excluded) of raw (ts, which) events per ring semantics: the bucket starts in
    [start, end) and is still retained (newer than head - capacity)."""
    r = level.resolution_s
    sums = [0, 0, 0]
    if not counted:
        return (0, 0, 0)
    head = max(int(ts // r) for ts, _ in counted)
    first, last = -int(-start // r), -int(-end // r) - 1
    for ts, which in counted:
        bucket = int(ts // r)
        if first <= bucket <= last and bucket > head - level.capacity:
            sums[which] += 1
    return tuple(sums)


def brute_buckets(counted, level, start: float, end: float) -> dict[int, list]:
    """Raw (ts, which, extra...) events grouped by retained bucket serving [start, end)."""
    r = level.resolution_s
    if not counted:
        return {}
    head = max(int(event[0] // r) for event in counted)
    first, last = -int(-start // r), -int(-end // r) - 1
    buckets: dict[int, list] = {}
    for event in counted:
        bucket = int(event[0] // r)
        if first <= bucket <= last and bucket > head - level.capacity:
            buckets.setdefault(bucket, []).append(event)
    return buckets


def brute_slice_verdicts(state, slices: dict[int, list]) -> tuple[int, int, float]:
    """(good slices, slices with data, ratio sum) of raw (ts, which, latency) events grouped by slice,
    judged by the definitions in evaluate's docstring. Percentile: the exact lower quantile against
    the threshold, a bad event (slower than it, or failed under errors=BAD) ranked above it."""
    import math

    slo = state.slo
    good_slices, count, ratio_sum = 0, 0, 0.0
    for events in slices.values():
        judged = [e for e in events if e[1] in (0, 1)]
        if not judged:
            continue
        count += 1
        ratio = sum(e[1] == 0 for e in judged) / len(judged)
        ratio_sum += ratio
        if slo.sli.percentile is not None:
            latencies = sorted(math.inf if e[1] == 1 else e[2] for e in judged)
            q = slo.sli.percentile / 100.0
            good_slices += latencies[math.floor(q * (len(latencies) - 1))] <= slo.sli.threshold_ms
        else:
            target = slo.budgeting.timeslice_target
            good_slices += ratio >= (target if target is not None else slo.objective)
    return good_slices, count, ratio_sum


def brute_rolling_slices(state, counted, start: float, end: float) -> tuple[int, int, float]:
    """Slices a rolling window [start, end) holds: at the slice level if it covers the span, else
    those whose rollup bucket starts in the rounded-up window and is retained by the rollup."""
    fine = state.levels[state.plan.fine]
    if fine.covers(end - start):
        return brute_slice_verdicts(state, brute_buckets(counted, fine, start, end))
    s, rollup = fine.resolution_s, state.plan.rollup
    if not counted:
        return 0, 0, 0.0
    top = max(int(e[0] // s) for e in counted) * s // rollup.resolution_s
    first, last = -int(-start // rollup.resolution_s), -int(-end // rollup.resolution_s) - 1
    slices: dict[int, list] = {}
    for event in counted:
        k = int(event[0] // s)
        j = k * s // rollup.resolution_s
        if first <= j <= last and j > top - rollup.capacity:
            slices.setdefault(k, []).append(event)
    return brute_slice_verdicts(state, slices)


def brute_calendar(state, counted, window, now: float) -> tuple[float, int]:
    """(good, total) in budgeting units of the calendar period containing `now`: every accepted event
    (or slice, by its start) in [period start, period end), while the period ends after the oldest
    instant the coarsest level retains."""
    from slawatch.core.calendar import period_bounds
    from slawatch.core.model import BudgetingMethod

    start, end = period_bounds(window, now)
    coarsest = state.levels[-1]
    if not counted:
        return 0, 0
    head = max(int(e[0] // coarsest.resolution_s) for e in counted)
    if end <= (head - coarsest.capacity + 1) * coarsest.resolution_s:
        return 0, 0
    if state.plan.rollup is None:
        inside = [e for e in counted if start <= e[0] < end]
        good = sum(e[1] == 0 for e in inside)
        return good, good + sum(e[1] == 1 for e in inside)
    s = state.levels[state.plan.fine].resolution_s
    slices: dict[int, list] = {}
    for event in counted:
        k = int(event[0] // s)
        if start <= k * s < end:
            slices.setdefault(k, []).append(event)
    good_slices, count, ratio_sum = brute_slice_verdicts(state, slices)
    if state.slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES:
        return ratio_sum, count
    return good_slices, count


def busy_percentile_state(events_per_s: int = 50, days: int = 31, median_ms: float = 100.0, sigma: float = 0.6):
    """A 30-day p99 <= 800 ms SLO (1-minute slices) after `days` of `events_per_s` log-normal latencies.

    With sigma 0.6 the latencies of a month span ~3 decades (3 ms to 3 s). Bulk-loaded, since 134 M
    single events would take minutes: per bucket the count of every sketch bin is drawn from a
    Poisson law around its expected value (what independent events give), and added with one
    weighted call per bin, per minute for the last 3 hours (what the minute and 10-minute tiers
    keep) and per hour before (merging is exact, so the state is the same as event by event).
    The counts get good / bad per 10 s from the same law."""
    import math
    import random

    from slawatch.core.model import SliKind
    from slawatch.core.sketch import GAMMA, bin_index, bin_value
    from slawatch.core.slo_state import SloState

    rng = random.Random(20260101)
    mu, log_gamma = math.log(median_ms), math.log(GAMMA)

    def poisson(lam: float) -> int:
        if lam < 30:
            limit, k, p = math.exp(-lam), 0, rng.random()
            while p > limit:
                k, p = k + 1, p * rng.random()
            return k
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))

    def cdf(index: int) -> float:  # P(latency <= gamma^index)
        return 0.5 * (1.0 + math.erf((index * log_gamma - mu) / (sigma * math.sqrt(2.0))))

    low, high = bin_index(math.exp(mu - 7 * sigma)), bin_index(math.exp(mu + 7 * sigma))
    shape = [(bin_value(i), cdf(i) - cdf(i - 1)) for i in range(low, high + 1)]
    state = SloState(make_slo(kind=SliKind.LATENCY_PERCENTILE, threshold_ms=800.0), max_future_s=math.inf)
    p_bad = 1.0 - cdf(bin_index(800.0))
    end = BASE_TS + days * 86400
    for t in range(int(BASE_TS), int(end), 10):
        bad = poisson(10 * events_per_s * p_bad)
        state.ring.add(t, 0, 10 * events_per_s - bad)
        state.ring.add(t, 1, bad)
    t, recent = BASE_TS, end - 3 * 3600
    while t < end:
        step = 60 if t >= recent else 3600
        for value, p in shape:
            count = poisson(step * events_per_s * p)
            if count:
                state.sketches.add(t, value, count)
        t += step
    state.watermark = end - 1
    return state
