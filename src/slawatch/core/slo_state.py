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
  least: past that only the slice's verdict is kept (rolled up), so it can no longer change.
- Otherwise GOOD, BAD, EXCLUDED (inside a maintenance window: counted apart, not in good/total) or
  NOT_COUNTED (the SLI does not judge it, e.g. a failed call when errors are ignored). An accepted
  event older than the watermark (highest accepted event time) is counted in `late` as well.

Latency percentiles under errors=BAD: a failed call is recorded in the sketch as an infinitely slow
one (`sketch.INFINITE_INDEX`), so a percentile report ranks over exactly the events the SLI judged,
with failures above every latency. A p99 that lands on a failure reads `inf`: the report then says
what the slice verdict says (bad), instead of quoting the latency of the calls that happened to work.

What leaves the fine level is kept by a `Finalizer` (a ring sink): per calendar period totals
(events, or closed slices' verdicts) so a calendar period is exact at its edges whatever the zone's
offset, and for timeslice SLOs a `SliceRollup` of verdicts per hour, so a month of 1-minute slices
is ~750 coarse buckets instead of 43,200 minute buckets. See docs/engine.md.

`GroupedSloState` keeps one SloState per group value, at most `max_groups` of them; events of
further groups go to one OVERFLOW_GROUP state and are counted, so cardinality is never unbounded.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from itertools import compress, repeat
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from slawatch.core.calendar import periods
from slawatch.core.matching import MISSING_GROUP
from slawatch.core.model import BudgetingMethod, CalendarUnit, CalendarWindow, ErrorHandling, Slo, SliKind
from slawatch.core.ring import BAD, EMPTY_HEAD, EXCLUDED, GOOD, SLACK_BUCKETS, BucketRing, Level, SliceRollup, plan_levels
from slawatch.core.sketch import SketchRing, plan_sketch_levels

DEFAULT_MAX_FUTURE_S = 300.0
DEFAULT_PERCENTILE_SLICE_S = 60  # a latency-percentile SLO judges slices; this one if none is given
CALENDAR_GRACE_S = 86400  # a closed calendar period stays in the ring a day, for late events and its record
SLICE_LATENESS_S = 6 * 3600  # a slice stays open to late events at least this long, then only its verdict counts
ROLLUP_RESOLUTION_S = 3600  # closed slices are summed per hour (rounded up to a multiple of the slice length)
CALENDAR_EDGE_RESOLUTION_S = 60  # calendar edges (local midnights) fall on whole minutes in every zone since 1972
OVERFLOW_GROUP = "__overflow__"

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
    INVALID = 7

    @property
    def refused(self) -> bool:
        return self in (Outcome.TOO_OLD, Outcome.TOO_FAR_AHEAD, Outcome.INVALID)


_OUT_GOOD, _OUT_BAD, _OUT_EXCLUDED = Outcome.GOOD, Outcome.BAD, Outcome.EXCLUDED
_OUT_NOT_COUNTED, _OUT_DUPLICATE = Outcome.NOT_COUNTED, Outcome.DUPLICATE
_OUT_TOO_OLD, _OUT_TOO_FAR_AHEAD, _OUT_INVALID = Outcome.TOO_OLD, Outcome.TOO_FAR_AHEAD, Outcome.INVALID
_NEG_INF, _INF = -math.inf, math.inf
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


class SliceJudge:
    """Turns one slice's (good, total) counts into its verdict, by the SLO's method and SLI.

    Timeslices: good when good / total >= timeslice target (the objective if none is given).
    Latency percentile: good when pNN <= threshold, decided exactly from counts: with the sketch's
    rank rule (sample floor(q (n - 1)) of n sorted), pNN <= T iff good >= floor(q (n - 1)) + 1."""

    __slots__ = ("q", "target")

    def __init__(self, slo: Slo) -> None:
        self.q = slo.sli.percentile / 100.0 if slo.sli.kind is SliKind.LATENCY_PERCENTILE else None
        target = slo.budgeting.timeslice_target
        self.target = target if target is not None else slo.objective

    def good(self, good: int, total: int) -> int:
        if self.q is not None:
            return int(good >= math.floor(self.q * (total - 1)) + 1)
        return int(good / total >= self.target)

    def columns(self, goods: list[int], bads: list[int]) -> tuple[int, int, float]:
        """(good slices, slices with data, ratio sum) over per-slice count columns; `map` and
        `compress` keep a day of 1-minute slices at C speed (the rule is `good` above)."""
        totals = list(map(operator.add, goods, bads))
        goods, totals = list(compress(goods, totals)), list(compress(totals, totals))
        ratios = list(map(operator.truediv, goods, totals))
        if self.q is not None:
            needed = map(operator.add, map(math.floor, map(self.q.__mul__, map((-1).__add__, totals))), repeat(1))
            good_slices = sum(map(operator.ge, goods, needed))
        else:
            good_slices = sum(map(self.target.__le__, ratios))
        return good_slices, len(totals), sum(ratios)


# Per calendar period totals: events (good, bad, excluded) and closed slices (good, count, ratio sum).
P_GOOD, P_BAD, P_EXCLUDED, P_GOOD_SLICES, P_SLICES, P_RATIOS = range(6)


class Finalizer:
    """The sink of the fine level: keeps what leaves it, so nothing counted is ever lost too early.

    - Calendar periods: each bucket leaving the fine level (and each event too late for it) is added
      to the totals of the period containing the bucket's start, per calendar window. The fine level
      is 10 s, 1 min or the slice length, and calendar edges fall on whole minutes, so a bucket never
      straddles an edge (a slice that does belongs to the period it starts in). A period's totals are
      kept while the period ends after the oldest instant the coarsest level retains.
    - Timeslices: each closed slice with data is judged once and added to `rollup`.
    """

    __slots__ = ("ring", "resolution", "calendars", "totals", "rollup", "judge", "slices")

    def __init__(self, ring: BucketRing, fine: int, slo: Slo, rollup: Level | None) -> None:
        self.ring = ring
        self.resolution = ring.levels[fine].resolution_s
        windows = dict.fromkeys(w for w in slo.windows if isinstance(w, CalendarWindow))
        self.calendars = tuple(periods(w) for w in windows)
        self.totals: dict[CalendarWindow, dict[int, list]] = {w: {} for w in windows}
        self.rollup = SliceRollup(rollup) if rollup is not None else None
        self.slices = slice_seconds(slo) is not None
        self.judge = SliceJudge(slo) if self.slices else None
        ring.attach(fine, self)

    def period_totals(self, calendar, t: float) -> list:
        index = calendar.index_of(t)[0]
        by_index = self.totals[calendar.window]
        totals = by_index.get(index)
        if totals is None:
            totals = by_index[index] = [0, 0, 0, 0, 0, 0.0]
            self.prune()
        return totals

    def prune(self) -> None:
        """Forget periods that ended before the oldest instant the ring retains."""
        oldest = self.ring.oldest_instant()
        for calendar in self.calendars:
            by_index = self.totals[calendar.window]
            for index in [i for i in by_index if calendar.bounds_of_index(i)[1] <= oldest]:
                del by_index[index]

    def advancing(self, level, head: int) -> None:
        """The fine level is about to make `head` its head: keep the buckets it will evict."""
        rollup = self.rollup
        if rollup is not None:
            top = head * self.resolution // rollup.resolution
            if top > rollup.head:
                rollup.advance(top)
        if level.head == EMPTY_HEAD:
            return
        first, last = level.head - level.capacity + 1, min(level.head, head - level.capacity)
        if first > last:
            return
        self.close(level, first, last)

    def close(self, level, first: int, last: int) -> None:
        """Keep buckets first..last of `level` (a ring level at the slice length, or one whose
        buckets never straddle a calendar edge): each slice judged into the rollup and its periods,
        or each bucket's counts added to its periods. Called as they leave the fine level, and when
        a restored state hands over the fine buckets its new layout no longer keeps (`relayout`)."""
        rollup, r = self.rollup, level.resolution
        goods, bads = level.column(GOOD, first, last), level.column(BAD, first, last)
        if self.slices:
            judge = self.judge.good
            for bucket, good, bad in zip(range(first, last + 1), goods, bads):
                total = good + bad
                if total:
                    verdict, ratio = judge(good, total), good / total
                    rollup.add(bucket * r // rollup.resolution, verdict, ratio)
                    for calendar in self.calendars:
                        totals = self.period_totals(calendar, bucket * r)
                        totals[P_GOOD_SLICES] += verdict
                        totals[P_SLICES] += 1
                        totals[P_RATIOS] += ratio
            return
        excluded = level.column(EXCLUDED, first, last)
        for bucket, counts in zip(range(first, last + 1), zip(goods, bads, excluded)):
            if any(counts):
                for calendar in self.calendars:
                    totals = self.period_totals(calendar, bucket * r)
                    for which, count in enumerate(counts):
                        totals[which] += count

    def late(self, bucket: int, which: int, count: int) -> None:
        """An event too late for the fine level (still kept by a coarser one): straight to its period."""
        for calendar in self.calendars:
            self.period_totals(calendar, bucket * self.resolution)[which] += count


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
        and nothing is excluded: the common case, in a tight loop."""
        lo, hi = span
        n, end = len(events), start
        watermark, late = self.watermark, 0
        bad: list = []
        while end < n:
            event = events[end]
            ts = event.ts
            if not lo <= ts < hi:
                break
            end += 1
            if ts >= watermark:
                watermark = ts
            else:
                late += 1
            if not event.ok:
                bad.append(event)
        if end == start:
            return HeadRun(start, (), bad)
        self.ring.bump_head(end - start - len(bad), len(bad), 0)
        self.watermark = watermark
        if late:
            self.late += late
        return HeadRun(end, events[start:end], bad)

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
