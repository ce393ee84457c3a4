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
