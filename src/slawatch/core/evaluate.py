"""SLO math as pure functions of (state, now): SLIs, attainment, error budget, burn rate, forecasts.

`now` is always a parameter (core never reads a clock). No data is None, never 0 and never NaN: a
silent service has no SLI, and an alert rule must decide what that means, not a division by zero.

Windows follow `ring`'s semantics: [now - W, now) (rolling) or [period start, now) (calendar, via
`calendar.period_bounds`), served by the finest ring level that covers the span, with both ends
rounded up to that level's bucket boundaries.

Budgeting methods (OpenSLO):
- Occurrences: SLI = good / total events. Good and total are summed separately, never averaged
  (averaging per-bucket ratios is Sloth's known bias).
- Timeslices: SLI = good slices / slices with data. A slice is one bucket of the level whose
  resolution is the slice length; it is good when good / total >= timeslice_target (the objective if
  none is given). For a latency-percentile SLI a slice is good when its pNN <= threshold, decided
  EXACTLY from counts: with the sketch's rank rule (sample floor(q (n - 1)) of n sorted), pNN <= T
  iff at least floor(q (n - 1)) + 1 of the n latencies are <= T, i.e. good >= floor(q (n-1)) + 1.
- RatioTimeslices: SLI = mean of the per-slice ratios good / total over slices with data.
Burn rate over a window = (1 - SLI) / (1 - objective), with the SLI by the SLO's method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from slawatch.core.calendar import period_bounds
from slawatch.core.model import BudgetingMethod, CalendarWindow, ComplianceWindow, SliKind
from slawatch.core.ring import first_bucket_from
from slawatch.core.slo_state import SloState, slice_seconds


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Event counts over a window; sli = good / total, None without data."""

    good: int
    total: int
    excluded: int

    @property
    def bad(self) -> int:
        return self.total - self.good

    @property
    def sli(self) -> float | None:
        return self.good / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class SliceStats:
    """Timeslices over a window: `slices` counts only slices with data."""

    good_slices: int
    slices: int
    ratio_sum: float  # sum of per-slice good/total, for RatioTimeslices


@dataclass(frozen=True, slots=True)
class Attainment:
    """How a compliance window stands at `now`: the SLI over [start, min(now, end))."""

    window: ComplianceWindow
    start: float
    end: float  # rolling: now; calendar: the period's end
    good: float  # events, good slices, or the sum of slice ratios (RatioTimeslices)
    total: int  # events or slices with data
    sli: float | None
    met: bool | None


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """The error budget of one compliance window; ratios are of the whole budget (1 = all of it)."""

    window: ComplianceWindow
    allowed_bad: float  # (1 - objective) x total, in events (or slices)
    bad: float
    consumed: float | None  # bad / allowed_bad; above 1 when overspent
    remaining: float | None  # 1 - consumed; negative when overspent
    remaining_bad: float | None  # allowed_bad - bad
    total_minutes: float  # (1 - objective) x window length: the budget as minutes of full outage
    remaining_minutes: float | None  # remaining x total_minutes (= remaining_bad / bad-free event rate)
    burn_rate: float | None  # over the burn window passed in
    exhausted_in_s: float | None  # at that burn rate; None when not burning or no data


def interval_stats(state: SloState, start: float, end: float) -> WindowStats:
    good, bad, excluded = state.ring.interval(start, end)
    return WindowStats(good, good + bad, excluded)


def window_stats(state: SloState, window_s: float, now: float) -> WindowStats:
    return interval_stats(state, now - window_s, now)


def slice_stats(state: SloState, start: float, end: float) -> SliceStats:
    """Timeslices over [start, end) at the SLO's slice level."""
    slo = state.slo
    slice_s = slice_seconds(slo)
    level = next(i for i, lv in enumerate(state.levels) if lv.resolution_s == slice_s)
    goods, bads = state.ring.bucket_columns(start, end, level)
    good_slices = slices = 0
    ratio_sum = 0.0
    if slo.sli.kind is SliKind.LATENCY_PERCENTILE:
        q = slo.sli.percentile / 100.0
        for good, bad in zip(goods, bads):
            total = good + bad
            if total:
                slices += 1
                good_slices += good >= math.floor(q * (total - 1)) + 1
                ratio_sum += good / total
    else:
        target = slo.budgeting.timeslice_target if slo.budgeting.timeslice_target is not None else slo.objective
        for good, bad in zip(goods, bads):
            total = good + bad
            if total:
                slices += 1
                ratio_sum += good / total
                good_slices += good / total >= target
    return SliceStats(good_slices, slices, ratio_sum)


def _good_and_total(state: SloState, start: float, end: float) -> tuple[float, int]:
    """(good, total) in the SLO's budgeting units: events, good slices, or slice-ratio sums."""
    method = state.slo.budgeting.method
    if slice_seconds(state.slo) is None:
        stats = interval_stats(state, start, end)
        return stats.good, stats.total
    slices = slice_stats(state, start, end)
    if method is BudgetingMethod.RATIO_TIMESLICES:
        return slices.ratio_sum, slices.slices
    return slices.good_slices, slices.slices


def interval_sli(state: SloState, start: float, end: float) -> float | None:
    good, total = _good_and_total(state, start, end)
    return good / total if total else None


def sli(state: SloState, window_s: float, now: float) -> float | None:
    """The SLI over [now - window_s, now) by the SLO's budgeting method; None without data."""
    return interval_sli(state, now - window_s, now)


def burn_rate(state: SloState, window_s: float, now: float) -> float | None:
    """(1 - SLI) / (1 - objective) over the window: 1 spends the budget exactly over the SLO window."""
    value = sli(state, window_s, now)
    if value is None:
        return None
    return max(0.0, 1.0 - value) / (1.0 - state.slo.objective)


def percentile(state: SloState, window_s: float, now: float, q: float | None = None) -> float | None:
    """pNN latency (ms) over the window within the sketch's 1 % bound; q defaults to the SLI's."""
    if state.sketches is None:
        raise ValueError(f"SLO {state.slo.name!r} keeps no latency sketches (not a percentile SLI)")
    if q is None:
        q = state.slo.sli.percentile / 100.0
    start = now - window_s
    level = state.sketches.level_for(window_s)
    resolution = state.sketches.levels[level].resolution_s
    first, last = first_bucket_from(start, resolution), first_bucket_from(now, resolution) - 1
    return state.sketches.merged(level, first, last).quantile(q)


def compliance_interval(window: ComplianceWindow, now: float) -> tuple[float, float, float]:
    """(start, end, observed end) of a compliance window at now."""
    if isinstance(window, CalendarWindow):
        start, end = period_bounds(window, now)
        return start, end, now
    return now - window.duration_s, now, now


def attainment(state: SloState, window: ComplianceWindow, now: float) -> Attainment:
    start, end, observed = compliance_interval(window, now)
    good, total = _good_and_total(state, start, observed)
    value = good / total if total else None
    met = None if value is None else value >= state.slo.objective
    return Attainment(window, start, end, good, total, value, met)


def attainments(state: SloState, now: float) -> tuple[Attainment, ...]:
    return tuple(attainment(state, window, now) for window in state.slo.windows)


def budget(state: SloState, window: ComplianceWindow, now: float, burn_window_s: float = 3600) -> BudgetStatus:
    """The error budget of `window` at now, and when it runs out at the burn rate over `burn_window_s`."""
    objective = state.slo.objective
    att = attainment(state, window, now)
    allowed = (1.0 - objective) * att.total
    bad = att.total - att.good
    consumed = bad / allowed if att.total else None
    remaining = None if consumed is None else 1.0 - consumed
    period_s = att.end - att.start if isinstance(window, CalendarWindow) else float(window.duration_s)
    total_minutes = (1.0 - objective) * period_s / 60.0
    rate = burn_rate(state, burn_window_s, now)
    exhausted_in = None
    if remaining is not None and rate is not None and rate > 0.0:
        exhausted_in = max(0.0, remaining) * period_s / rate
    return BudgetStatus(
        window=window,
        allowed_bad=allowed,
        bad=bad,
        consumed=consumed,
        remaining=remaining,
        remaining_bad=None if remaining is None else allowed - bad,
        total_minutes=total_minutes,
        remaining_minutes=None if remaining is None else remaining * total_minutes,
        burn_rate=rate,
        exhausted_in_s=exhausted_in,
    )


def best_possible(state: SloState, window: CalendarWindow, now: float) -> float | None:
    """The highest SLI the current calendar period can still end with, if all that is left is good.

    Occurrences: at the observed volume (events per second so far x seconds left). Timeslices: every
    slice left has data and is good. None before the period has any data."""
    start, end = period_bounds(window, now)
    good, total = _good_and_total(state, start, now)
    if not total:
        return None
    slice_s = slice_seconds(state.slo)
    if slice_s is None:
        elapsed = now - start
        expected = total / elapsed * (end - now) if elapsed > 0 else 0.0
    else:
        expected = max(0, first_bucket_from(end, slice_s) - first_bucket_from(now, slice_s))
    return (good + expected) / (total + expected)
