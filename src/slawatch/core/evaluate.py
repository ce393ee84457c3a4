"""SLO math as pure functions of (state, now): SLIs, attainment, error budget, burn rate, forecasts.

`now` is always a parameter (core never reads a clock). No data is None, never 0 and never NaN: a
silent service has no SLI, and an alert rule must decide what that means, not a division by zero.

Rolling windows follow `ring`'s semantics: [now - W, now), served by the finest level that covers
W, with both ends rounded up to that level's bucket boundaries.

Calendar windows are exact: the period containing `now` (`calendar.period_bounds`) counts every
accepted event stamped in [period start, period end), whatever the zone's offset (+05:30, +05:45,
Lord Howe's +10:30/+11:00): the totals the Finalizer kept for the period plus the fine level's
buckets still open inside it (an event stamped after `now` is possible only within max_future_s).
A period is reported while it ends after the oldest instant the coarsest ring level retains; a
timeslice belongs to the period its start falls in.

Budgeting methods (OpenSLO):
- Occurrences: SLI = good / total events. Good and total are summed separately, never averaged
  (averaging per-bucket ratios is Sloth's known bias).
- Timeslices: SLI = good slices / slices with data. A slice is one bucket of the level whose
  resolution is the slice length; it is good when good / total >= timeslice_target (the objective if
  none is given). For a latency-percentile SLI a slice is good when its pNN <= threshold, decided
  EXACTLY from counts (`finalizer.SliceJudge`).
- RatioTimeslices: SLI = mean of the per-slice ratios good / total over slices with data.
- Which slices a rolling window holds: if the slice level covers W, the slices starting in
  [now - W, now) rounded up to slice boundaries; otherwise the slices whose ROLLUP bucket (hourly)
  starts in [now - W, now) rounded up to rollup boundaries - closed ones from the rollup, open ones
  judged from the slice level's counts - and retained by the rollup.
Burn rate over a window = (1 - SLI) / (1 - objective), with the SLI by the SLO's method
(`burn_rate`: the one place the formula is written).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from slawatch.core.calendar import period_bounds, periods
from slawatch.core.model import BudgetingMethod, CalendarWindow, ComplianceWindow
from slawatch.core.ring import first_bucket_from
from slawatch.core.finalizer import NO_TOTALS
from slawatch.core.plan import slice_seconds
from slawatch.core.slo_state import SloState


Number = TypeVar("Number", float, Fraction)


def burn_rate(sli: Number, objective: Number) -> Number:
    """(1 - SLI) / (1 - objective): 1 spends the budget exactly over the SLO window; never negative.
    Floats for alerts and gauges, Fractions for the exact summary (the same arithmetic for both)."""
    return max(0, 1 - sli) / (1 - objective)


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


def judged_slices(state: SloState, start: float, end: float) -> tuple[int, int, float]:
    """`SliceJudge.columns` over the slices of the slice level serving [start, end): the slices
    before the level's head are judged once per window and kept (`Finalizer.judged`) until one of
    them changes (the level's cold version: a head advance, a late event, an import); the head
    slice is judged every time.
    Decisions come every step (1 s) and a slice lasts a minute or more, so most of them judge one
    slice instead of hundreds. The sums are the same: good slices and slices are integers, and the
    ratio sum adds the head's ratio last, as `sum` over every slice would."""
    fine, finalizer = state.plan.fine, state.finalizer
    judge, level = finalizer.judge, state.ring.level_ring(fine)
    r, head = level.resolution, level.head
    first = max(first_bucket_from(start, r), head - level.capacity + 1)
    last = min(first_bucket_from(end, r) - 1, head)
    if first > last:
        return 0, 0, 0.0
    closed_last = min(last, head - 1)
    if finalizer.judged_version != level.cold_version:
        finalizer.judged.clear()
        finalizer.judged_version = level.cold_version
    closed = finalizer.judged.get((first, closed_last))
    if closed is None:
        closed = judge.columns(*state.ring.bucket_columns(first * r, (closed_last + 1) * r, fine))
        finalizer.judged[(first, closed_last)] = closed
    if last < head:
        return closed
    good_slices, slices, ratio_sum = judge.columns(*state.ring.bucket_columns(head * r, (head + 1) * r, fine))
    return closed[0] + good_slices, closed[1] + slices, closed[2] + ratio_sum


def slice_stats(state: SloState, start: float, end: float) -> SliceStats:
    """Timeslices over [start, end): at the slice level if it covers the span, else per rollup bucket."""
    fine, finalizer = state.plan.fine, state.finalizer
    judge = finalizer.judge
    if state.levels[fine].covers(end - start):
        return SliceStats(*judged_slices(state, start, end))
    rollup = finalizer.rollup
    resolution = rollup.resolution
    first = max(first_bucket_from(start, resolution), rollup.head - rollup.capacity + 1)
    last = min(first_bucket_from(end, resolution) - 1, rollup.head)
    if first > last:
        return SliceStats(0, 0, 0.0)
    closed = rollup.sums(first, last)
    still_open = judged_slices(state, first * resolution, (last + 1) * resolution)
    return SliceStats(closed[0] + still_open[0], closed[1] + still_open[1], closed[2] + still_open[2])


def calendar_good_total(state: SloState, window: CalendarWindow, now: float) -> tuple[float, int]:
    """(good, total) in budgeting units over the whole period containing `now`, exact at its edges."""
    finalizer = state.finalizer
    if finalizer is None or window not in finalizer.totals:
        raise ValueError(f"SLO {state.slo.name!r} does not keep calendar window {window.name!r}")
    index, start, end = periods(window).index_of(now)
    if end <= state.ring.oldest_instant():
        return 0, 0
    kept = finalizer.totals[window].get(index) or NO_TOTALS
    fine = state.plan.fine
    if finalizer.slices:
        good_slices, slices, ratio_sum = judged_slices(state, start, end)
        slices += kept.slices
        if state.slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES:
            return kept.ratio_sum + ratio_sum, slices
        return kept.good_slices + good_slices, slices
    good, bad, _ = state.ring.interval(start, end, fine)
    return kept.good + good, kept.good + kept.bad + good + bad


def _good_and_total(state: SloState, start: float, end: float) -> tuple[float, int]:
    """(good, total) in the SLO's budgeting units: events, good slices, or slice-ratio sums."""
    if slice_seconds(state.slo) is None:
        good, bad, _ = state.ring.interval(start, end)
        return good, good + bad
    slices = slice_stats(state, start, end)
    if state.slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES:
        return slices.ratio_sum, slices.slices
    return slices.good_slices, slices.slices


def interval_sli(state: SloState, start: float, end: float) -> float | None:
    good, total = _good_and_total(state, start, end)
    return good / total if total else None


def sli(state: SloState, window_s: float, now: float) -> float | None:
    """The SLI over [now - window_s, now) by the SLO's budgeting method; None without data."""
    return interval_sli(state, now - window_s, now)


def window_burn_rate(state: SloState, window_s: float, now: float) -> float | None:
    """`burn_rate` over [now - window_s, now); None without data."""
    value = sli(state, window_s, now)
    return None if value is None else burn_rate(value, state.slo.objective)


def percentile(state: SloState, window_s: float, now: float, q: float | None = None) -> float | None:
    """pNN latency (ms) over the window within the sketch's 1 % bound; q defaults to the SLI's.

    The window holds the buckets of the finest sketch tier covering it (`SketchRing.level_for`)
    that start in [now - window_s, now), rounded up as for counts: with the default tiers, 1 min up
    to 30 min windows, 10 min up to 2 h, 1 h up to 1 d, 6 h up to 3 d, 1 d up to 30 d, so the old
    edge is off by less than a sixth of the window (counts: a sixtieth). Over the events it holds,
    the answer is within 1 % of the true sample at rank floor(q (n - 1)), at every tier."""
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
    if isinstance(window, CalendarWindow):
        good, total = calendar_good_total(state, window, now)
    else:
        good, total = _good_and_total(state, start, observed)
    value = good / total if total else None
    met = None if value is None else value >= state.slo.objective
    return Attainment(window, start, end, good, total, value, met)


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
    rate = window_burn_rate(state, burn_window_s, now)
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

    Occurrences: at the observed volume (events per second so far x seconds left; the period's events
    are all it holds, see the module docstring). Timeslices: every slice left has data and is good.
    None before the period has any data, and for occurrences at its first instant: no time has passed
    there, so there is no volume to go by (its events are all stamped ahead of now, within
    max_future_s); assuming "no more events" read one early bad event as an unreachable target."""
    start, end = period_bounds(window, now)
    good, total = calendar_good_total(state, window, now)
    if not total:
        return None
    slice_s = slice_seconds(state.slo)
    if slice_s is None:
        elapsed = now - start
        if elapsed <= 0:
            return None
        expected = total / elapsed * (end - now)
    else:
        expected = max(0, first_bucket_from(end, slice_s) - first_bucket_from(now, slice_s))
    return (good + expected) / (total + expected)
