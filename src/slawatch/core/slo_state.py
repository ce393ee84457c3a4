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
- INVALID: a latency SLI got a latency that is not a finite number >= 0 (NaN, inf, negative).
  The ingest edge refuses these already; the core refuses them too so that it is total.
- TOO_OLD: its bucket has left even the coarsest level of the ring; for a timeslice SLO (and every
  latency-percentile SLO) once its slice has left the slice level, i.e. after SLICE_LATENESS_S at
  least (`plan.SLICE_LATENESS_S`): past that only the slice's verdict is kept (rolled up), so it
  can no longer change.
- Otherwise GOOD, BAD, EXCLUDED (inside a maintenance window: counted apart, not in good/total) or
  NOT_COUNTED (the SLI does not judge it, e.g. a failed call when errors are ignored). An accepted
  event older than the watermark (highest accepted event time) is counted in `late` as well.

Latency percentiles under errors=BAD: a failed call is recorded in the sketch as an infinitely slow
one (`sketch.INFINITE_INDEX`), so a percentile report ranks over exactly the events the SLI judged,
with failures above every latency. A p99 that lands on a failure reads `inf`: the report then says
what the slice verdict says (bad), instead of quoting the latency of the calls that happened to work.

Where the counts live is the SLO's `plan.Plan`; what leaves the fine level is kept by a
`finalizer.Finalizer` (calendar period totals, closed slices' verdicts). See docs/engine.md.

`GroupedSloState` keeps one SloState per group value, at most `max_groups` of them; events of
further groups go to one OVERFLOW_GROUP state and are counted, so cardinality is never unbounded.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from itertools import accumulate, compress
from operator import attrgetter
from enum import IntEnum
from typing import NamedTuple

from slawatch.core.finalizer import Finalizer
from slawatch.core.matching import MISSING_GROUP
from slawatch.core.model import ErrorHandling, Slo, SliKind
from slawatch.core.plan import Plan, plan_for
from slawatch.core.ring import BAD, EXCLUDED, GOOD, BucketRing
from slawatch.core.sketch import SketchRing

DEFAULT_MAX_FUTURE_S = 300.0
OVERFLOW_GROUP = "__overflow__"


class Outcome(IntEnum):
    GOOD = GOOD
    BAD = BAD
    EXCLUDED = EXCLUDED
    NOT_COUNTED = 3
    DUPLICATE = 4
    TOO_OLD = 5
    TOO_FAR_AHEAD = 6
    INVALID = 7

    @property
    def refused(self) -> bool:
        return self in (Outcome.TOO_OLD, Outcome.TOO_FAR_AHEAD, Outcome.INVALID)


_OUT_GOOD, _OUT_BAD, _OUT_EXCLUDED = Outcome.GOOD, Outcome.BAD, Outcome.EXCLUDED
_OUT_NOT_COUNTED, _OUT_DUPLICATE = Outcome.NOT_COUNTED, Outcome.DUPLICATE
_OUT_TOO_OLD, _OUT_TOO_FAR_AHEAD, _OUT_INVALID = Outcome.TOO_OLD, Outcome.TOO_FAR_AHEAD, Outcome.INVALID
_NEG_INF, _INF = -math.inf, math.inf
_TS, _OK = attrgetter("ts"), attrgetter("ok")
_AVAILABILITY, _LATENCY = 0, 1
_ERRORS_COUNT, _ERRORS_IGNORE, _ERRORS_BAD = 0, 1, 2
_ERRORS = {ErrorHandling.COUNT: _ERRORS_COUNT, ErrorHandling.IGNORE: _ERRORS_IGNORE, ErrorHandling.BAD: _ERRORS_BAD}


def seen_before(offsets: dict[int | None, int], partition: int | None, offset: int) -> bool:
    """Whether the record at `offset` of `partition` was applied already (at or below the highest
    offset applied from that partition); if not, it is recorded as applied. The one dedupe check."""
    seen = offsets.get(partition)
    if seen is not None and offset <= seen:
        return True
    offsets[partition] = offset
    return False


class HeadRun(NamedTuple):
    """What `SloState.accept_run` counted: events[start:end], in the head bucket of every level."""

    end: int  # index after the run's last event
    judged: Sequence  # the run's events counted GOOD or BAD, in order (what the contributors see)
    bad: list  # those of them counted BAD


class SloState:
    """Counts of one SLO (one group) in event time, plus the bookkeeping for exactly-once replay."""

    __slots__ = (
        "slo", "plan", "levels", "ring", "sketches", "finalizer", "is_excluded", "max_future_s",
        "watermark", "offsets", "late", "too_old", "too_far_ahead", "duplicates", "not_counted", "invalid",
        "_kind", "_threshold", "_errors", "_keep_level",
    )  # fmt: skip

    def __init__(
        self,
        slo: Slo,
        is_excluded: Callable[[float], bool] | None = None,
        max_future_s: float = DEFAULT_MAX_FUTURE_S,
        plan: Plan | None = None,
    ) -> None:
        self.slo = slo
        self.plan = plan = plan or plan_for(slo)
        self.levels = plan.levels
        self.ring = BucketRing(self.levels)
        self.sketches = SketchRing(plan.sketch_levels) if plan.sketch_levels else None
        self.finalizer = Finalizer(self.ring, plan.fine, slo, plan.rollup) if plan.fine is not None else None
        self._keep_level = plan.fine if plan.rollup is not None else -1  # slices: TOO_OLD once closed
        self.is_excluded = is_excluded
        self.max_future_s = max_future_s
        self.watermark = _NEG_INF
        self.offsets: dict[int, int] = {}
        self.late = self.too_old = self.too_far_ahead = self.duplicates = self.not_counted = self.invalid = 0
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
        if offset is not None and seen_before(self.offsets, partition, offset):
            self.duplicates += 1
            return _OUT_DUPLICATE
        return self.accept(ts, ok, latency_ms, now)

    def accept(self, ts: float, ok: bool, latency_ms: float | None, now: float | None) -> Outcome:
        """`apply` without the offset check (the grouped container checks offsets once for all groups)."""
        if self.refuses_latency(latency_ms):
            self.invalid += 1
            return _OUT_INVALID
        watermark = self.watermark
        reference = now if now is not None and now > watermark else watermark
        if ts > reference + self.max_future_s and reference != _NEG_INF:
            self.too_far_ahead += 1
            return _OUT_TOO_FAR_AHEAD
        if not self.ring.would_keep(ts, self._keep_level):
            self.too_old += 1
            return _OUT_TOO_OLD
        if ts < watermark:
            self.late += 1
        else:
            self.watermark = ts
        which, latency_ms = self.judge(ok, latency_ms)
        if which is _OUT_NOT_COUNTED:
            self.not_counted += 1
            return which
        if self.is_excluded is not None and self.is_excluded(ts):
            which = _OUT_EXCLUDED
        elif latency_ms is not None and self.sketches is not None:
            self.sketches.add(ts, latency_ms)
        self.ring.add(ts, which)
        return which

    def refuses_latency(self, latency_ms: float | None) -> bool:
        """INVALID: a latency SLI refuses NaN, inf and negative latencies (no bucket can hold them)."""
        return self._kind == _LATENCY and latency_ms is not None and not 0.0 <= latency_ms < _INF

    def judge(self, ok: bool, latency_ms: float | None) -> tuple[Outcome, float | None]:
        """The SLI's verdict on a valid event: GOOD, BAD or NOT_COUNTED (the SLI does not judge it),
        and the latency its sketch records (a failed call under errors=BAD ranks above every latency,
        see the module docstring). The one place the classification rules are written."""
        if self._kind == _AVAILABILITY:
            return (_OUT_GOOD if ok else _OUT_BAD), latency_ms
        if not ok and self._errors != _ERRORS_COUNT:
            if self._errors == _ERRORS_IGNORE:
                return _OUT_NOT_COUNTED, None
            return _OUT_BAD, _INF
        if latency_ms is None:
            return _OUT_NOT_COUNTED, None
        return (_OUT_GOOD if latency_ms <= self._threshold else _OUT_BAD), latency_ms

    def accept_run(self, events: Sequence, start: int, span: tuple[float, float]) -> HeadRun:
        """`accept` for events[start:end], the longest run whose event times lie in `span`, in bulk.

        The caller guarantees that `span` lies inside the head bucket of every ring level
        (`BucketRing.head_span`) and no further ahead than `max_future_s`, so no event of the run
        can be too old or too far ahead, and none moves a head: each only bumps the head cells. An
        INVALID latency ends the run (`accept` refuses it)."""
        if self._kind == _AVAILABILITY and self.is_excluded is None:
            return self._accept_availability_run(events, start, span)
        lo, hi = span
        n, end = len(events), start
        watermark, late, not_counted, excluded = self.watermark, 0, 0, 0
        latency_sli, refuses_latency, judge = self._kind == _LATENCY, self.refuses_latency, self.judge
        is_excluded, sketches = self.is_excluded, self.sketches
        judged: list = []
        bad: list = []
        while end < n:
            event = events[end]
            ts, latency_ms = event.ts, event.latency_ms
            if not lo <= ts < hi or (latency_sli and refuses_latency(latency_ms)):
                break
            end += 1
            if ts >= watermark:
                watermark = ts
            else:
                late += 1
            which, latency_ms = judge(event.ok, latency_ms)
            if which is _OUT_NOT_COUNTED:
                not_counted += 1
            elif is_excluded is not None and is_excluded(ts):
                excluded += 1
            else:
                if latency_ms is not None and sketches is not None:
                    sketches.add(ts, latency_ms)
                judged.append(event)
                if which is _OUT_BAD:
                    bad.append(event)
        if end > start:
            self.ring.bump_head(len(judged) - len(bad), len(bad), excluded)
            self.watermark, self.late, self.not_counted = watermark, self.late + late, self.not_counted + not_counted
        return HeadRun(end, judged, bad)

    def _accept_availability_run(self, events: Sequence, start: int, span: tuple[float, float]) -> HeadRun:
        """`accept_run` when every event is judged GOOD or BAD by `ok` alone (`judge`'s first rule)
        and nothing is excluded, the common case: the run's end found in one pass, the rest with
        C-level builtins. An event is late when it is older than every event before it (and the
        watermark); the watermark ends as the largest time seen."""
        lo, hi = span
        end = next((i for i in range(start, len(events)) if not lo <= events[i].ts < hi), len(events))
        if end == start:
            return HeadRun(start, (), [])
        run = events[start:end]
        times = list(map(_TS, run))
        seen = list(accumulate(times, max, initial=self.watermark))  # seen[i]: the watermark before run[i]
        bad = list(compress(run, map(operator.not_, map(_OK, run))))
        self.ring.bump_head(len(run) - len(bad), len(bad), 0)
        self.watermark = seen[-1]
        self.late += sum(map(operator.lt, times, seen))
        return HeadRun(end, run, bad)

    def holds_bad(self) -> bool:
        """Whether the state holds a bad event in any window it serves (the coarsest ring level
        retains them all): without one every SLI is 1, so no burn-rate, budget or breach condition
        can hold."""
        return self.ring.retained(BAD) > 0

    @property
    def counters(self) -> dict[str, int]:
        return {
            "late": self.late,
            "too_old": self.too_old,
            "too_far_ahead": self.too_far_ahead,
            "duplicates": self.duplicates,
            "not_counted": self.not_counted,
            "invalid": self.invalid,
        }


class GroupedSloState:
    """One SloState per group value (customer, region, ...), capped at the SLO's `max_groups`."""

    __slots__ = ("slo", "max_groups", "groups", "overflowed", "offsets", "duplicates", "_options")

    def __init__(
        self,
        slo: Slo,
        is_excluded: Callable[[float], bool] | None = None,
        max_future_s: float = DEFAULT_MAX_FUTURE_S,
        plan: Plan | None = None,
    ) -> None:
        if slo.group_by is None:
            raise ValueError(f"SLO {slo.name!r} has no group_by; use SloState")
        self.slo = slo
        self.max_groups = slo.group_by.max_groups
        self.groups: dict[str, SloState] = {}
        self.overflowed = 0
        self.offsets: dict[int, int] = {}
        self.duplicates = 0
        self._options = (is_excluded, max_future_s, plan or plan_for(slo))  # the plan is shared by every group

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
        if offset is not None and seen_before(self.offsets, partition, offset):
            self.duplicates += 1
            return _OUT_DUPLICATE
        return self.state_for(group).accept(ts, ok, latency_ms, now)

    def held(self, group: str | None) -> SloState | None:
        """The group's state if it has one already (no state is made, nothing is counted)."""
        return self.groups.get(MISSING_GROUP if group is None else group)

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
