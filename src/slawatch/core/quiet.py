"""When a quiet SLO's decision can next change: the instants the engine must decide at while no event arrives.

Time slides for a service that sends nothing: its windows empty and its alerts resolve, as Prometheus
evaluates a rule at every interval whether or not samples came. Deciding every instant for every quiet
SLO would cost a full evaluation per SLO per second, so the engine decides at the instants this module
names and knows nothing can change in between.

With no new event, every reading a decision takes (`policies.Policy`) is a sum over the buckets that
start in [D - w, D) (`ring`'s rounding rule). As D moves on, buckets only leave such a window (none
enter: nothing is after the head), so a reading changes only when its first counted bucket, starting
at s, leaves: at the first D > s + w. Besides those, conditions that depend on D itself:
- a calendar period ends: attainment, budget and the SLA conditions roll over;
- a contract's best possible attainment (observed volume x time left) falls below the objective;
- a calendar forecast's horizon (period end - D) passes the forecast exhaustion;
- timeslice windows longer than the slice level are judged per rollup bucket: each rollup edge.
Between two consecutive such instants every condition is constant, so deciding only there gives the
notices deciding at every instant would. Every instant here is rounded DOWN to the decision grid (one
decision too early at worst, never one too late).
"""

from __future__ import annotations

import math

from slawatch.core import evaluate as ev
from slawatch.core.calendar import period_bounds
from slawatch.core.model import CalendarWindow
from slawatch.core.policies import Policy
from slawatch.core.ring import first_bucket_from
from slawatch.core.plan import ROLLUP_RESOLUTION_S, slice_seconds
from slawatch.core.slo_state import SloState

NEVER = math.inf


def next_change(state: SloState, policy: Policy, after: float, step: float) -> float:
    """The first decision instant after `after` (a multiple of `step`) at which a condition of this
    state could differ from its value at `after` if no event arrives; NEVER if none can."""
    if state.watermark >= after:
        return after + step  # events not yet seen by a decision enter the windows: decide at once
    earliest = NEVER
    for window_s in policy.rolling_windows:
        found = _window_exit(state, policy, window_s, after, earliest)
        if found is not None and found < earliest:
            earliest = found
    for window in state.slo.windows:
        if isinstance(window, CalendarWindow):
            found = _calendar_change(state, policy, window, after)
            if found is not None and found < earliest:
                earliest = found
    if earliest == NEVER:
        return NEVER
    return max(math.floor(earliest / step) * step, after + step)


def _window_exit(state: SloState, policy: Policy, window_s: float, after: float, before: float = NEVER) -> float | None:
    """When the first counted bucket of the window at `after` leaves it; None when the window is
    empty, or when it cannot leave before `before` (not even its first bucket, were it counted: the
    ring is then not searched)."""
    if policy.slices and not state.levels[state.plan.fine].covers(window_s):
        # Judged per rollup bucket (evaluate.slice_stats): the window's first rollup bucket leaves
        # at its start + window, whatever it holds.
        rollup = state.finalizer.rollup.resolution if state.finalizer is not None else ROLLUP_RESOLUTION_S
        first = -int(-(after - window_s) // rollup)
        return first * rollup + window_s
    level = policy.level(state, window_s)
    resolution = state.levels[level].resolution_s
    if first_bucket_from(after - window_s, resolution) * resolution + window_s >= before:
        return None
    start = state.ring.first_counted_start(after - window_s, after, level)
    return None if start is None else start + window_s


def _calendar_change(state: SloState, policy: Policy, window: CalendarWindow, after: float) -> float | None:
    """The period's end, or earlier: when the contract becomes unattainable or the forecast's horizon
    passes the exhaustion, both of which move with the instant itself."""
    start, end = period_bounds(window, after)
    found = [end]
    if state.slo.contractual:
        found.append(_unattainable_from(state, window, start, end, after))
    if window is policy.primary and state.slo.alerting.forecast:
        status = ev.budget(state, window, after, burn_window_s=policy.fwin)
        if status.exhausted_in_s is not None:
            found.append(end - status.exhausted_in_s)
    return min((x for x in found if x is not None and x > after), default=None)


def _unattainable_from(state: SloState, window: CalendarWindow, start: float, end: float, after: float) -> float | None:
    """The instant `evaluate.best_possible` falls below the objective, or None if it never will.

    best(D) = (good + e(D)) / (total + e(D)), e(D) the traffic still expected; e only shrinks, so best
    only falls, and it is below the objective once e(D) < E* = (objective x total - good) / (1 - objective)."""
    good, total = ev.calendar_good_total(state, window, after)
    objective = state.slo.objective
    if not total:
        return None
    needed = (objective * total - good) / (1.0 - objective)  # E*
    if needed <= 0:
        return None
    slice_s = slice_seconds(state.slo)
    if slice_s is None:
        # e(D) = total / (D - start) x (end - D) < E*  <=>  D > (total x end + E* x start) / (total + E*)
        return (total * end + needed * start) / (total + needed)
    return end - (needed + 1.0) * slice_s  # slices left < E*, a slice early
