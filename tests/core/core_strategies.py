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
