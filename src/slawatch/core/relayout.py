"""Carry an SLO state into another layout (the catalogue's windows changed): exact or dropped.

What an old ring knows exactly. A level of resolution r, capacity c and head h retains buckets
h - c < k <= h, so for every k in [h - c + 1, h + 1] it knows how many events (good, bad, excluded)
it holds at or after instant k r: the sum of its buckets from k on. Every level counts the same
events, so the union of those instants over the levels, plus every instant at or after the end of
the earliest-ending head bucket (no event is later), is where the old state knows "how many events
from here on" (`KnownCounts`). The finer levels make the recent past known at fine instants, the
coarser ones the older past at coarse ones.

The new ring. A bucket [k R, (k + 1) R) of a new level is exact when both its edges are known:
its counts are the difference. Each new level keeps the run of exact buckets that ends at its head
(head = latest known instant // R), as far back as its capacity; older buckets start empty. So every
event whose time falls inside a new level's kept span is kept there, exactly, and older ones are
dropped: a new level whose resolution is a multiple of every old one keeps all that the old ring
retained within its span; a new finer level keeps only what an old level at least as fine held.

What left the fine level. With calendar windows or timeslices, the old state's Finalizer holds what
left its fine level (period totals, closed slice verdicts); the new fine level therefore never keeps
anything older than the old fine level did, and the old fine buckets it does not keep are handed to
the new Finalizer (`Finalizer.close`: added to their periods, or judged as slices into the rollup).
Calendar windows kept by both states keep their totals; a new one (or one whose zone changed) gets,
per period, the events between the first and the last instant inside the period where the old ring
knew the counts (timeslice SLOs: only the slices handed over, the rest of the period is dropped).
Latency sketches go to the finest new tier whose resolution is a multiple of theirs and that
retains their bucket (tiers always nest, so none is split); one no tier retains is dropped.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from itertools import accumulate

from slawatch.core.calendar import periods
from slawatch.core.ring import EMPTY_HEAD, BucketRing, SliceRollup
from slawatch.core.sketch import SketchRing
from slawatch.core.finalizer import PeriodTotals
from slawatch.core.slo_state import OVERFLOW_GROUP, GroupedSloState, SloState

_ZERO = (0, 0, 0)
_COUNTERS = ("late", "too_old", "too_far_ahead", "duplicates", "not_counted", "invalid")


class KnownCounts:
    """(good, bad, excluded) events at or after each instant where the old ring knows them exactly."""

    __slots__ = ("after", "instants", "end", "latest")

    def __init__(self, ring: BucketRing) -> None:
        self.after: dict[int, tuple[int, int, int]] = {}
        self.end = math.inf  # no event at or after this instant
        self.latest: int | None = None  # start of the latest head bucket: some event is at or after it
        for index, level in enumerate(ring.levels):
            head, columns = ring.export_level(index)
            if head == EMPTY_HEAD:
                continue
            r, first = level.resolution_s, head - level.capacity + 1
            suffixes = [list(accumulate(reversed(column)))[::-1] for column in columns]
            for offset, counts in enumerate(zip(*suffixes)):
                self.after[(first + offset) * r] = counts
            self.after[(head + 1) * r] = _ZERO
            self.end = min(self.end, (head + 1) * r)
            self.latest = head * r if self.latest is None else max(self.latest, head * r)
        self.instants = sorted(self.after)

    def at(self, t: float) -> tuple[int, int, int] | None:
        """Events at or after t, or None where the old ring does not know it."""
        return _ZERO if t >= self.end else self.after.get(t)

    def first_from(self, t: float) -> float:
        """The first known instant at or after t."""
        if t >= self.end:
            return t
        i = bisect_left(self.instants, t)
        return self.instants[i] if i < len(self.instants) else self.end

    def last_until(self, t: float) -> float | None:
        """The last known instant at or before t (None: none is)."""
        if t >= self.end:
            return t
        i = bisect_right(self.instants, t) - 1
        return self.instants[i] if i >= 0 else None

    def between(self, a: float, b: float) -> list[int]:
        """(good, bad, excluded) events in [a, b), both known instants."""
        high, low = self.at(a), self.at(b)
        return [high[which] - low[which] for which in range(3)]


def relayout(old: SloState, new: SloState) -> None:
    """Carry `old` (restored under its own plan) into `new` (empty, under the current one)."""
    new.watermark = old.watermark
    for name in _COUNTERS:
        setattr(new, name, getattr(old, name))
    new.offsets = dict(old.offsets)
    if old.ring.head(0) is None:
        return
    known = KnownCounts(old.ring)
    old_fine = _fine_ring(old)
    fine_kept: float | None = None
    for index in range(len(new.levels)):
        if index == new.plan.fine and old_fine is not None:
            start = (old_fine.head - old_fine.capacity + 1) * old_fine.resolution
            fine_kept = import_level(known, new.ring, index, keep_from=start, align=old_fine.resolution)
        else:
            kept = import_level(known, new.ring, index)
            if index == new.plan.fine:
                fine_kept = kept
    if old.sketches is not None and new.sketches is not None:
        carry_sketches(old.sketches, new.sketches)
    if new.finalizer is not None:
        _carry_finalizer(old, new, known, fine_kept)


def import_level(known: KnownCounts, ring: BucketRing, index: int, keep_from: float = -math.inf,
                 align: int = 1) -> float | None:
    """Fill level `index` of `ring` with the exact buckets that end at its head, none starting
    before `keep_from`, the oldest starting on a multiple of `align`; returns that oldest start
    (None: no bucket is exact)."""
    level = ring.levels[index]
    r, capacity = level.resolution_s, level.capacity
    head = known.latest // r
    first = head - capacity + 1
    columns = ([0] * capacity, [0] * capacity, [0] * capacity)
    kept: int | None = None
    k, upper = head, known.at((head + 1) * r)
    while k >= first and upper is not None and k * r >= keep_from:
        lower = known.at(k * r)
        if lower is None:
            break
        for which in range(3):
            columns[which][k - first] = lower[which] - upper[which]
        kept, upper, k = k, lower, k - 1
    while kept is not None and (kept * r) % align:
        for which in range(3):
            columns[which][kept - first] = 0
        kept = kept + 1 if kept < head else None
    ring.import_level(index, head, columns)
    return None if kept is None else kept * r


def carry_sketches(old: SketchRing, new: SketchRing) -> None:
    """Each stored sketch into the finest new tier that is a multiple of its own and retains it."""
    head = old.head(0)
    if head is None:
        return
    new.set_head(0, head * old.levels[0].resolution_s // new.levels[0].resolution_s)
    stores: list[dict] = [{} for _ in new.levels]
    for tier, level in enumerate(old.levels):
        for bucket, sketch in old.stored(tier):
            start = bucket * level.resolution_s
            for into, target in enumerate(new.levels):
                k = start // target.resolution_s
                if target.resolution_s % level.resolution_s == 0 and k > new.head(into) - target.capacity:
                    found = stores[into].get(k)
                    if found is None:
                        stores[into][k] = sketch.copy()
                    else:
                        found.merge(sketch)
                    break
    for into, store in enumerate(stores):
        for k, sketch in store.items():
            new.put(into, k, sketch)


def _fine_ring(state: SloState):
    """The old state's fine level ring, when a Finalizer keeps what leaves it and it holds data."""
    if state.finalizer is None or state.ring.head(0) is None:
        return None
    return state.ring.level_ring(state.plan.fine)


def _carry_finalizer(old: SloState, new: SloState, known: KnownCounts, fine_kept: float | None) -> None:
    finalizer, before = new.finalizer, old.finalizer
    old_fine = _fine_ring(old)
    if old_fine is not None:
        until = (old_fine.head - old_fine.capacity + 1) * old_fine.resolution
    else:
        until = known.end if fine_kept is None else fine_kept
    kept_totals = before.totals if before is not None else {}
    for calendar in finalizer.calendars:
        window = calendar.window
        if window in kept_totals:
            finalizer.totals[window] = {i: t.copy() for i, t in kept_totals[window].items()}
        elif not finalizer.slices:
            derive_periods(known, calendar, finalizer.totals[window], until)
    if finalizer.rollup is not None and before is not None and before.rollup is not None:
        carry_rollup(before.rollup, finalizer.rollup)
    if old_fine is not None:
        first = old_fine.head - old_fine.capacity + 1
        last = old_fine.head if fine_kept is None else int(fine_kept // old_fine.resolution) - 1
        if first <= last:
            finalizer.close(old_fine, first, last)
    finalizer.prune()


def derive_periods(known: KnownCounts, calendar, totals: dict, until: float) -> None:
    """Per period of `calendar` before `until` (a known instant): the events between the first and
    the last known instant inside it."""
    if not known.instants:
        return
    stop = min(until, known.end)
    oldest = known.instants[0]
    index = calendar.index_of(oldest)[0]
    while True:
        start, end = calendar.bounds_of_index(index)
        if start >= stop:
            return
        a, b = known.first_from(max(start, oldest)), known.last_until(min(end, stop))
        if b is not None and a < b:
            counts = known.between(a, b)
            if any(counts):
                totals[index] = PeriodTotals(*counts)
        index += 1


def carry_rollup(old: SliceRollup, new: SliceRollup) -> None:
    """The closed slices of the buckets both rollups retain (same resolution, new capacity)."""
    head, good, slices, ratios = old.export()
    if head == EMPTY_HEAD or old.resolution != new.resolution:
        return
    first_old, first_new = head - old.capacity + 1, head - new.capacity + 1
    columns: tuple[list, list, list] = ([], [], [])
    for k in range(first_new, head + 1):
        at = k - first_old
        inside = at >= 0
        columns[0].append(good[at] if inside else 0)
        columns[1].append(slices[at] if inside else 0)
        columns[2].append(ratios[at] if inside else 0.0)
    new.restore(head, *columns)


def relayout_grouped(old: GroupedSloState, new: GroupedSloState) -> None:
    """`relayout` for every group, with the shared offsets and counters."""
    new.offsets = dict(old.offsets)
    new.duplicates, new.overflowed = old.duplicates, old.overflowed
    for name, group in old.groups.items():
        state = new.groups[name] = new.make_state()
        relayout(group, state)


def trim_groups(state: GroupedSloState) -> list[str]:
    """Drop the groups beyond the SLO's max_groups (first seen are kept, and the overflow group);
    returns the names dropped."""
    names = [name for name in state.groups if name != OVERFLOW_GROUP]
    dropped = names[state.max_groups:]
    for name in dropped:
        del state.groups[name]
    return dropped
