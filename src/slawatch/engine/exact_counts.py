"""Counts over (lo, at] (or [lo, at]) from the bucket rings, and whether they are PROVABLY exact.

The rings keep counts per bucket [k r, (k+1) r) (`core.ring`), so an interval whose edges fall
inside buckets cannot always be counted exactly. These functions count the buckets that serve the
interval best and prove, from what the state holds, when those counts are the interval's:

- Served buckets: the first that starts at or after `lo` through the one holding `at`, so an event
  stamped exactly at `at` counts. `Edges.served` is that range [s, e) of event time, clipped to
  what the store retains: the counts are always exactly those of `served`.
- Start exact: the store retains the bucket holding `lo`, and that bucket is empty (then counting
  it or not is the same), or `lo` is inclusive and on its boundary. A bucket older than the store
  retains is known to be empty only with `complete` history (the state counted every event since
  it was created, no checkpoint restored, as in replay): the level that keeps every accepted event
  then proves, by its count of what it evicted (`base`) and its sums, that nothing came before.
- End exact: no event after `at` can share the bucket holding `at`: the state's watermark (highest
  accepted event time) is at or before `at`, or that bucket is empty.
The finest level retaining the start's bucket is used: its edge buckets are the smallest.

Timeslices: a slice is judged on its events inside the window; the same rules (a bucket is a
slice, or an hourly rollup bucket for slices that have left the slice level) make that exact.
Calendar windows are [period start, at], with the engine's rule that a slice belongs to the period
its start falls in; the Finalizer's period totals keep them exact at the start edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from slawatch.core.calendar import periods
from slawatch.core.model import BudgetingMethod, CalendarWindow
from slawatch.core.ring import EMPTY_HEAD, BucketRing, bucket_index, first_bucket_from
from slawatch.core.finalizer import NO_TOTALS
from slawatch.core.slo_state import SloState

# Why counts are not exact (`Edges.why`).
START_CUT = "start_inside_a_bucket_with_events"
START_GONE = "start_older_than_retained"
END_SHARED = "events_after_at_may_share_its_bucket"
END_GONE = "at_older_than_the_fine_level"
PERIOD_GONE = "period_no_longer_kept"
FLOAT_RATIOS = "closed_slices_ratio_sums_kept_as_floats"


@dataclass(frozen=True, slots=True)
class Edges:
    """Which event time the counts cover ([served[0], served[1])), and whether that is the interval."""

    exact: bool
    resolution_s: int
    served: tuple[float, float]
    why: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EventCounts:
    good: int
    bad: int
    excluded: int  # inside exclusion (maintenance) windows: never in good or bad
    edges: Edges

    @property
    def total(self) -> int:
        return self.good + self.bad


@dataclass(frozen=True, slots=True)
class SliceCounts:
    good: Fraction  # good slices, or (RatioTimeslices) the sum of the slices' good / total
    total: int  # slices with data
    edges: Edges


@dataclass(frozen=True, slots=True)
class _Store:
    """A bucketed store as `_cut` sees it: resolution, oldest retained bucket, which buckets hold data."""

    resolution: int
    oldest: int | None  # None: the store has seen nothing
    has_data: Callable[[int], bool]
    empty_before_oldest: bool = False  # provably no event before the oldest retained bucket


def _cut(store: _Store, lo: float, inclusive: bool, at: float, watermark: float) -> tuple[int, int, Edges]:
    """Buckets first..last serving the interval from lo to at, and their Edges (module docstring)."""
    r = store.resolution
    first, last, edge = first_bucket_from(lo, r), bucket_index(at, r), bucket_index(lo, r)
    why = []
    if store.oldest is not None and edge < store.oldest:
        if not store.empty_before_oldest:
            why.append(START_GONE)
    elif not (inclusive and edge * r == lo) and store.has_data(edge):
        why.append(START_CUT)
    if watermark > at and store.has_data(last):
        why.append(END_SHARED)
    if store.oldest is not None:
        first = max(first, store.oldest)
    return first, last, Edges(not why, r, (first * r, (last + 1) * r), tuple(why))


def _nothing_before(state: SloState, t: float, complete: bool) -> bool:
    """Whether provably no event was accepted before t (module docstring: needs complete history).
    The level every accepted event reaches is the one `SloState.accept` checks (TOO_OLD otherwise):
    the slice level of a timeslice SLO, else the coarsest."""
    if not complete:
        return False
    ring = state.ring
    keep = state.plan.fine if state.plan.rollup is not None else len(ring.levels) - 1
    if any(ring.level_ring(keep).base):
        return False
    head = ring.head(keep)
    if head is None:
        return True
    r = ring.levels[keep].resolution_s
    return not any(ring.interval((head - ring.levels[keep].capacity + 1) * r, t, keep))


def _ring_store(state: SloState, level: int, complete: bool) -> _Store:
    ring = state.ring
    r = ring.levels[level].resolution_s
    head = ring.head(level)
    oldest = None if head is None else head - ring.levels[level].capacity + 1
    return _Store(r, oldest, lambda k: any(ring.interval(k * r, (k + 1) * r, level)),
                  oldest is not None and _nothing_before(state, oldest * r, complete))


def _finest_keeping(ring: BucketRing, t: float) -> int:
    """The finest level that retains the bucket holding t (else the coarsest)."""
    return next((i for i in range(len(ring.levels)) if ring.would_keep(t, i)), len(ring.levels) - 1)


def window_events(state: SloState, lo: float, at: float, inclusive: bool = False,
                  complete: bool = False) -> EventCounts:
    """Events over (lo, at] ([lo, at] when inclusive) from the ring level that serves it best."""
    ring = state.ring
    level = _finest_keeping(ring, lo)
    first, last, edges = _cut(_ring_store(state, level, complete), lo, inclusive, at, state.watermark)
    r = edges.resolution_s
    return EventCounts(*ring.interval(first * r, (last + 1) * r, level), edges)


def calendar_events(state: SloState, window: CalendarWindow, at: float) -> EventCounts:
    """Events over [period start, at]: the Finalizer's totals for the period plus the fine buckets."""
    index, start, end = periods(window).index_of(at)
    ring, fine = state.ring, state.plan.fine
    store = _ring_store(state, fine, False)
    r, last = store.resolution, bucket_index(at, store.resolution)
    if end <= ring.oldest_instant():
        return EventCounts(0, 0, 0, Edges(False, r, (start, start), (PERIOD_GONE,)))
    kept = state.finalizer.totals[window].get(index) or NO_TOTALS
    good, bad, excluded = kept.good, kept.bad, kept.excluded
    if store.oldest is not None and last < store.oldest:
        return EventCounts(good, bad, excluded, Edges(False, r, (start, min(store.oldest * r, end)), (END_GONE,)))
    more = ring.interval(start, (last + 1) * r, fine)
    why = (END_SHARED,) if state.watermark > at and store.has_data(last) else ()
    return EventCounts(good + more[0], bad + more[1], excluded + more[2],
                       Edges(not why, r, (start, (last + 1) * r), why))


def _judged(state: SloState, goods: list[int], bads: list[int]) -> tuple[Fraction, int]:
    """(good, slices with data) of per-slice counts, exactly: verdicts, or ratios for RatioTimeslices."""
    judge = state.finalizer.judge
    ratios = state.slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES
    good, total = Fraction(0), 0
    for g, b in zip(goods, bads):
        if g + b:
            total += 1
            good += Fraction(g, g + b) if ratios else judge.good(g, g + b)
    return good, total


def _closed(state: SloState, good_slices: int, slices: int, ratio_sum: float) -> tuple[Fraction, tuple[str, ...]]:
    """The good of closed slices (kept as verdicts); their ratio sums are floats, hence not exact."""
    if state.slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES:
        return Fraction(ratio_sum), (FLOAT_RATIOS,) if slices else ()
    return Fraction(good_slices), ()


def window_slices(state: SloState, lo: float, at: float, complete: bool = False) -> SliceCounts:
    """Slices over (lo, at]: from the slice level while it retains the start, else the hourly rollup."""
    ring, fine = state.ring, state.plan.fine
    s = ring.levels[fine].resolution_s
    if ring.would_keep(lo, fine):
        first, last, edges = _cut(_ring_store(state, fine, complete), lo, False, at, state.watermark)
        return SliceCounts(*_judged(state, *ring.bucket_columns(first * s, (last + 1) * s, fine)), edges)
    rollup = state.finalizer.rollup
    big = rollup.resolution

    def still_open(first: int, last: int) -> tuple[Fraction, int]:
        return _judged(state, *ring.bucket_columns(first * big, (last + 1) * big, fine))

    def has_data(k: int) -> bool:
        return rollup.sums(k, k)[1] > 0 or still_open(k, k)[1] > 0

    oldest = None if rollup.head == EMPTY_HEAD else rollup.head - rollup.capacity + 1
    empty_before = oldest is not None and _nothing_before(state, oldest * big, complete)
    first, last, edges = _cut(_Store(big, oldest, has_data, empty_before), lo, False, at, state.watermark)
    closed_good, closed_slices, ratio_sum = rollup.sums(first, last)
    good, why = _closed(state, closed_good, closed_slices, ratio_sum)
    open_good, open_slices = still_open(first, last)
    if why:
        edges = Edges(False, edges.resolution_s, edges.served, edges.why + why)
    return SliceCounts(good + open_good, closed_slices + open_slices, edges)


def calendar_slices(state: SloState, window: CalendarWindow, at: float) -> SliceCounts:
    """Slices that start in [period start, at]: closed ones from the period totals, open ones judged."""
    index, start, end = periods(window).index_of(at)
    ring, fine = state.ring, state.plan.fine
    store = _ring_store(state, fine, False)
    s, last = store.resolution, bucket_index(at, store.resolution)
    begin = first_bucket_from(start, s) * s
    if end <= ring.oldest_instant():
        return SliceCounts(Fraction(0), 0, Edges(False, s, (begin, begin), (PERIOD_GONE,)))
    kept = state.finalizer.totals[window].get(index) or NO_TOTALS
    good, why = _closed(state, kept.good_slices, kept.slices, kept.ratio_sum)
    total = kept.slices
    if store.oldest is not None and last < store.oldest:
        return SliceCounts(good, total, Edges(False, s, (begin, min(store.oldest * s, end)), why + (END_GONE,)))
    open_good, open_slices = _judged(state, *ring.bucket_columns(start, (last + 1) * s, fine))
    if state.watermark > at and store.has_data(last):
        why += (END_SHARED,)
    return SliceCounts(good + open_good, total + open_slices, Edges(not why, s, (begin, (last + 1) * s), why))
