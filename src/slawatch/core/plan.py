"""Where one SLO's counts live: ring levels, sketch tiers, and where closed data goes (`plan_for`).

Every alert and compliance window of the SLO must be served exactly, with as few buckets as that
allows; the plan is part of the state's definition (`core.definition`), so a catalogue edit that
changes it re-lays the state out (`core.relayout`). See docs/engine.md for the layouts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from slawatch.core.model import BudgetingMethod, CalendarUnit, CalendarWindow, Slo, SliKind
from slawatch.core.ring import SLACK_BUCKETS, Level, plan_levels
from slawatch.core.sketch import plan_sketch_levels

DEFAULT_PERCENTILE_SLICE_S = 60  # a latency-percentile SLO judges slices; this one if none is given
CALENDAR_GRACE_S = 86400  # a closed calendar period stays in the ring a day, for late events and its record
SLICE_LATENESS_S = 6 * 3600  # a slice stays open to late events at least this long, then only its verdict counts
ROLLUP_RESOLUTION_S = 3600  # closed slices are summed per hour (rounded up to a multiple of the slice length)
CALENDAR_EDGE_RESOLUTION_S = 60  # calendar edges (local midnights) fall on whole minutes in every zone since 1972
_HOUR, _DAY = 3600, 86400
_LONGEST_PERIOD_S = {  # longest possible period, DST included
    CalendarUnit.DAY: _DAY + _HOUR,
    CalendarUnit.WEEK: 7 * _DAY + _HOUR,
    CalendarUnit.MONTH: 31 * _DAY + _HOUR,
    CalendarUnit.QUARTER: 92 * _DAY + _HOUR,
    CalendarUnit.YEAR: 366 * _DAY + _HOUR,
}



def compliance_span_s(window) -> float:
    """How far back a compliance window can reach (calendar: its longest period plus grace)."""
    if isinstance(window, CalendarWindow):
        return _LONGEST_PERIOD_S[window.unit] * window.count + CALENDAR_GRACE_S
    return float(window.duration_s)


def slice_seconds(slo: Slo) -> int | None:
    """The timeslice length the SLO is judged by, or None for occurrences budgeting."""
    if slo.budgeting.method is not BudgetingMethod.OCCURRENCES:
        return slo.budgeting.timeslice_s or DEFAULT_PERCENTILE_SLICE_S
    if slo.sli.kind is SliKind.LATENCY_PERCENTILE:
        return DEFAULT_PERCENTILE_SLICE_S
    return None


@dataclass(frozen=True, slots=True)
class Plan:
    """The storage layout of one SLO: count levels, sketch levels, and where closed data goes.

    `fine` is the index (in `levels`) of the level whose evicted buckets the Finalizer keeps: the
    slice level of a timeslice SLO, else the finest level when the SLO has calendar windows, else
    None. `rollup` is the coarse level of closed slice verdicts (timeslice SLOs only)."""

    levels: tuple[Level, ...]
    sketch_levels: tuple[Level, ...] | None
    fine: int | None
    rollup: Level | None


def plan_for(slo: Slo) -> Plan:
    """Every alert and compliance window of the SLO served, with as few buckets as exactness allows.

    Timeslice SLOs keep counts at the slice length only for the last SLICE_LATENESS_S (or longer if
    an alert window needs it); older slices live on as verdicts per ROLLUP_RESOLUTION_S bucket.
    Sketch tiers are planned apart (`sketch.plan_sketch_levels`): 1 min for the last half hour up to
    1 d for the month, each latency stored once."""
    spans = [compliance_span_s(w) for w in slo.windows]
    for rule in slo.alerting.burn_rate_rules:
        spans += [rule.long_window_s, rule.short_window_s]
    slice_s = slice_seconds(slo)
    has_calendar = any(isinstance(w, CalendarWindow) for w in slo.windows)
    pinned: dict[int, float] = {}
    if slice_s:
        pinned[slice_s] = SLICE_LATENESS_S
    elif has_calendar and CALENDAR_EDGE_RESOLUTION_S % plan_levels(spans)[0].resolution_s:
        pinned[CALENDAR_EDGE_RESOLUTION_S] = 3600  # a fine level whose buckets never straddle an edge
    levels = plan_levels(spans, pinned or None)
    sketch_levels = plan_sketch_levels(spans) if slo.sli.kind is SliKind.LATENCY_PERCENTILE else None
    fine = rollup = None
    if slice_s:
        fine = next(i for i, lv in enumerate(levels) if lv.resolution_s == slice_s)
        resolution = slice_s * max(1, math.ceil(ROLLUP_RESOLUTION_S / slice_s))
        rollup = Level(resolution, math.ceil(max(spans) / resolution) + SLACK_BUCKETS)
    elif has_calendar:
        fine = 0
    return Plan(levels, sketch_levels, fine, rollup)
