"""The live state of one SLO (for one group): classify each event, count it in event time.

`SloState.apply` is the hot path, so everything the model says about an event is turned into a few
ints and floats once, at construction; applying an event allocates nothing and never raises for
bad input timing. Instead it returns an `Outcome`, and the caller dead-letters the refused ones:

- DUPLICATE: its offset is at or below the highest already applied for its partition (a replay
  after a crash); nothing changes. Offsets are recorded for refused events too, so a replay makes
  the same decisions.
- TOO_FAR_AHEAD: event time more than `max_future_s` ahead of max(watermark, now). Without this
  guard one event stamped in 2099 would advance the ring and evict every real bucket. `now` is the
  caller's wall clock: passing it keeps a service that was silent for hours from being locked out.
- TOO_OLD: its bucket has left even the coarsest level of the ring.
- Otherwise GOOD, BAD, EXCLUDED (inside a maintenance window: counted apart, not in good/total) or
  NOT_COUNTED (the SLI does not judge it, e.g. a failed call when errors are ignored). An accepted
  event older than the watermark (highest accepted event time) is counted in `late` as well.

`GroupedSloState` keeps one SloState per group value, at most `max_groups` of them; events of
further groups go to one OVERFLOW_GROUP state and are counted, so cardinality is never unbounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import IntEnum

from slawatch.core.model import BudgetingMethod, CalendarUnit, CalendarWindow, ErrorHandling, Slo, SliKind
from slawatch.core.ring import BAD, EXCLUDED, GOOD, BucketRing, Level, plan_levels
from slawatch.core.sketch import SketchRing

DEFAULT_MAX_FUTURE_S = 300.0
DEFAULT_PERCENTILE_SLICE_S = 60  # a latency-percentile SLO judges slices; this one if none is given
CALENDAR_GRACE_S = 86400  # a closed calendar period stays in the ring a day, for late events and its record
OVERFLOW_GROUP = "__overflow__"
MISSING_GROUP = "__missing__"

_HOUR, _DAY = 3600, 86400
_LONGEST_PERIOD_S = {  # longest possible period, DST included
    CalendarUnit.DAY: _DAY + _HOUR,
    CalendarUnit.WEEK: 7 * _DAY + _HOUR,
    CalendarUnit.MONTH: 31 * _DAY + _HOUR,
    CalendarUnit.QUARTER: 92 * _DAY + _HOUR,
    CalendarUnit.YEAR: 366 * _DAY + _HOUR,
}


class Outcome(IntEnum):
    GOOD = GOOD
    BAD = BAD
    EXCLUDED = EXCLUDED
    NOT_COUNTED = 3
    DUPLICATE = 4
    TOO_OLD = 5
    TOO_FAR_AHEAD = 6

    @property
    def refused(self) -> bool:
        return self in (Outcome.TOO_OLD, Outcome.TOO_FAR_AHEAD)


_OUT_GOOD, _OUT_BAD, _OUT_EXCLUDED = Outcome.GOOD, Outcome.BAD, Outcome.EXCLUDED
_OUT_NOT_COUNTED, _OUT_DUPLICATE = Outcome.NOT_COUNTED, Outcome.DUPLICATE
_OUT_TOO_OLD, _OUT_TOO_FAR_AHEAD = Outcome.TOO_OLD, Outcome.TOO_FAR_AHEAD
_NEG_INF = -math.inf
_AVAILABILITY, _LATENCY = 0, 1
_ERRORS_COUNT, _ERRORS_IGNORE, _ERRORS_BAD = 0, 1, 2
_ERRORS = {ErrorHandling.COUNT: _ERRORS_COUNT, ErrorHandling.IGNORE: _ERRORS_IGNORE, ErrorHandling.BAD: _ERRORS_BAD}


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


def plan_for(slo: Slo) -> tuple[tuple[Level, ...], tuple[Level, ...] | None]:
    """(count levels, sketch levels or None): every alert and compliance window of the SLO served.

    Sketch levels leave out the pinned timeslice level: a sketch per 1-minute slice for 30 days
    would be 43,200 sketches, while percentiles over long windows merge hourly ones just as well."""
    spans = [compliance_span_s(w) for w in slo.windows]
    for rule in slo.alerting.burn_rate_rules:
        spans += [rule.long_window_s, rule.short_window_s]
    slice_s = slice_seconds(slo)
    pinned = {slice_s: max(spans)} if slice_s else None
    levels = plan_levels(spans, pinned)
    sketch_levels = plan_levels(spans) if slo.sli.kind is SliKind.LATENCY_PERCENTILE else None
    return levels, sketch_levels


class SloState:
    """Counts of one SLO (one group) in event time, plus the bookkeeping for exactly-once replay."""

    __slots__ = (
        "slo", "levels", "ring", "sketches", "is_excluded", "max_future_s", "watermark", "offsets",
        "late", "too_old", "too_far_ahead", "duplicates", "not_counted",
        "_kind", "_threshold", "_errors",
    )  # fmt: skip

    def __init__(
        self,
        slo: Slo,
        is_excluded: Callable[[float], bool] | None = None,
        max_future_s: float = DEFAULT_MAX_FUTURE_S,
        plan: tuple[tuple[Level, ...], tuple[Level, ...] | None] | None = None,
    ) -> None:
        self.slo = slo
        self.levels, sketch_levels = plan or plan_for(slo)
        self.ring = BucketRing(self.levels)
        self.sketches = SketchRing(sketch_levels) if sketch_levels else None
        self.is_excluded = is_excluded
        self.max_future_s = max_future_s
        self.watermark = _NEG_INF
        self.offsets: dict[int, int] = {}
        self.late = self.too_old = self.too_far_ahead = self.duplicates = self.not_counted = 0
        self._kind = _AVAILABILITY if slo.sli.kind is SliKind.AVAILABILITY else _LATENCY
        threshold = slo.sli.threshold_ms
        if self._kind == _LATENCY and threshold is None:
            raise ValueError(f"SLO {slo.name!r}: a latency SLI needs threshold_ms")
        self._threshold = math.inf if threshold is None else float(threshold)
        self._errors = _ERRORS[slo.sli.errors]

    def apply(
        self,
        ts: float,
        ok: bool,
        latency_ms: float | None = None,
        partition: int | None = None,
        offset: int | None = None,
        now: float | None = None,
    ) -> Outcome:
        """Count one event; see the module docstring for the outcomes."""
        if offset is not None:
            offsets = self.offsets
            seen = offsets.get(partition)
            if seen is not None and offset <= seen:
                self.duplicates += 1
                return _OUT_DUPLICATE
            offsets[partition] = offset
        return self.accept(ts, ok, latency_ms, now)

    def accept(self, ts: float, ok: bool, latency_ms: float | None, now: float | None) -> Outcome:
        """`apply` without the offset check (the grouped container checks offsets once for all groups)."""
        watermark = self.watermark
        reference = now if now is not None and now > watermark else watermark
        if ts > reference + self.max_future_s and reference != _NEG_INF:
            self.too_far_ahead += 1
            return _OUT_TOO_FAR_AHEAD
        if not self.ring.would_keep(ts):
            self.too_old += 1
            return _OUT_TOO_OLD
        if ts < watermark:
            self.late += 1
        else:
            self.watermark = ts
        # Classify: which counter, if any, this event bumps.
        if self._kind == _AVAILABILITY:
            which = _OUT_GOOD if ok else _OUT_BAD
        elif not ok and self._errors != _ERRORS_COUNT:
            if self._errors == _ERRORS_IGNORE:
                self.not_counted += 1
                return _OUT_NOT_COUNTED
            which = _OUT_BAD
            latency_ms = None  # a failed call's latency says nothing about the percentile
        elif latency_ms is None:
            self.not_counted += 1
            return _OUT_NOT_COUNTED
        else:
            which = _OUT_GOOD if latency_ms <= self._threshold else _OUT_BAD
        if self.is_excluded is not None and self.is_excluded(ts):
            which = _OUT_EXCLUDED
        elif latency_ms is not None and self.sketches is not None:
            self.sketches.add(ts, latency_ms)
        self.ring.add(ts, which)
        return which

    @property
    def counters(self) -> dict[str, int]:
        return {
            "late": self.late,
            "too_old": self.too_old,
            "too_far_ahead": self.too_far_ahead,
            "duplicates": self.duplicates,
            "not_counted": self.not_counted,
        }


class GroupedSloState:
    """One SloState per group value (customer, region, ...), capped at the SLO's `max_groups`."""

    __slots__ = ("slo", "max_groups", "groups", "overflowed", "offsets", "duplicates", "_options")

    def __init__(
        self,
        slo: Slo,
        is_excluded: Callable[[float], bool] | None = None,
        max_future_s: float = DEFAULT_MAX_FUTURE_S,
    ) -> None:
        if slo.group_by is None:
            raise ValueError(f"SLO {slo.name!r} has no group_by; use SloState")
        self.slo = slo
        self.max_groups = slo.group_by.max_groups
        self.groups: dict[str, SloState] = {}
        self.overflowed = 0
        self.offsets: dict[int, int] = {}
        self.duplicates = 0
        self._options = (is_excluded, max_future_s, plan_for(slo))  # the plan is shared by every group

    def make_state(self) -> SloState:
        return SloState(self.slo, *self._options)

    def apply(
        self,
        group: str | None,
        ts: float,
        ok: bool,
        latency_ms: float | None = None,
        partition: int | None = None,
        offset: int | None = None,
        now: float | None = None,
    ) -> Outcome:
        if offset is not None:
            seen = self.offsets.get(partition)
            if seen is not None and offset <= seen:
                self.duplicates += 1
                return _OUT_DUPLICATE
            self.offsets[partition] = offset
        return self.state_for(group).accept(ts, ok, latency_ms, now)

    def state_for(self, group: str | None) -> SloState:
        """The group's state, created on first sight; the overflow state once the cap is reached."""
        key = MISSING_GROUP if group is None else group
        state = self.groups.get(key)
        if state is not None:
            return state
        if len(self.groups) < self.max_groups or key == OVERFLOW_GROUP:
            state = self.groups[key] = self.make_state()
            return state
        self.overflowed += 1
        state = self.groups.get(OVERFLOW_GROUP)
        if state is None:
            state = self.groups[OVERFLOW_GROUP] = self.make_state()
        return state
