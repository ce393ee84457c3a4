"""Event-time bucket rings: good / bad / excluded counts at a few resolutions, O(1) window sums.

Why rings and not hopping tables: a 30-day window at 1-minute hops is 43,200 writes per event; a
ring of pre-aggregated buckets is one increment per resolution, whatever the window.

Window semantics (the brute-force references in the tests use exactly this):
- A level has a resolution `r` (seconds) and keeps `capacity` buckets; bucket k holds the events
  with `ts // r == k` (Python float floor division, exact), i.e. event time in [k r, (k+1) r).
- An interval [a, z) is served at one level as the buckets that START inside it: k with
  a <= k r < z, i.e. k from ceil(a / r) to ceil(z / r) - 1 — both ends rounded UP to the level's
  bucket boundary. A rolling window W at `now` is the interval [now - W, now); rounding up keeps
  the bucket that contains `now` (sub-second detection sees the partial current bucket).
- A span of W seconds is served by the finest level that covers it: ceil(W / r) <= capacity.
- A level retains buckets head - capacity < k <= head, where head = (highest event time) // r.
  Older buckets count as zero; an event whose bucket is older than that is not added at that level
  (it still is at a coarser level that retains it). Buckets after the head are empty.

How sums are O(1): each level stores CUMULATIVE counts per bucket (count of its bucket plus all
retained buckets before it, plus a base for what was evicted), so any run of buckets is one
subtraction. An in-order event increments one cell per level; advancing the head copies the head's
value forward (once per new bucket, not per event); a late event increments the cells from its bucket
to the head, so its cost grows with its lateness in buckets, bounded by the capacity.

Why the columns are narrow: memory per held SLO is nearly all columns, and most SLOs count far
fewer events than a 64-bit cell holds. A counter no event has reached yet has no column (a shared
read-only row of zeros stands in: reading it costs nothing, writing it raises, and the write path
then allocates). A column starts at the narrowest typecode of COLUMN_TYPECODES its counts fit with
headroom, and when the head cell (the largest: counts only grow) would overflow, the column is
rebased (only differences of cells are read, so the origin can move up to just below `base`) or,
when what it retains needs it, widened. Both happen at most once per an eighth of the typecode's
range of events, never on the in-order path: `add` and `bump_head` write and only fall back on
the error the write raises.

Sinks: a level may hand what leaves it to a `sink` (see `slo_state.Finalizer`): on every head
advance the sink sees the buckets about to be evicted (still readable with `column`), and an event
too late for that level goes to the sink instead of being dropped. This runs once per new bucket
(or per too-late event), never per in-order event, so the hot path does not pay for it.
`SliceRollup` is the coarse store such a sink fills for timeslice SLOs.
"""

from __future__ import annotations

import math
import operator
from array import array
from itertools import accumulate
from dataclasses import dataclass

GOOD, BAD, EXCLUDED = 0, 1, 2  # which counter an event bumps: exactly one of them
EMPTY_HEAD = -(2**62)  # head of a level that has seen nothing; every real bucket is after it
COLUMN_TYPECODES = ("H", "I", "q")  # cumulative columns, narrowest first (module docstring)
_LARGEST = {"H": 2**16 - 1, "I": 2**32 - 1, "q": 2**63 - 1}
_HEADROOM = 8  # a column's counts leave at least 1/_HEADROOM of its typecode's range free
_ZEROS: dict[int, memoryview] = {}  # capacity -> the read-only column of a counter not yet counted


def _zeros(capacity: int) -> memoryview:
    """The shared stand-in column of a counter a level has not counted (reads 0, refuses writes)."""
    zeros = _ZEROS.get(capacity)
    if zeros is None:
        zeros = _ZEROS[capacity] = memoryview(bytes(2 * capacity)).cast("H")
    return zeros


def _typecode_for(largest: int, narrowest: str = COLUMN_TYPECODES[0]) -> str:
    """The narrowest column typecode, from `narrowest` up, holding `largest` with headroom."""
    codes = COLUMN_TYPECODES[COLUMN_TYPECODES.index(narrowest) :]
    return next((code for code in codes if largest <= _LARGEST[code] - _LARGEST[code] // _HEADROOM), "q")


def bucket_index(t: float, resolution_s: int) -> int:
    """The bucket holding instant t: floor(t / r), computed exactly."""
    return int(t // resolution_s)


def first_bucket_from(t: float, resolution_s: int) -> int:
    """The first bucket starting at or after t: ceil(t / r), computed exactly."""
    return -int(-t // resolution_s)


@dataclass(frozen=True, slots=True)
class Level:
    resolution_s: int
    capacity: int  # buckets retained

    @property
    def span_s(self) -> int:
        return self.resolution_s * self.capacity

    def covers(self, span_s: float) -> bool:
        return math.ceil(span_s / self.resolution_s) <= self.capacity


class _LevelRing:
    """One level's cumulative counters over a circular buffer (slot = bucket % capacity)."""

    __slots__ = ("level", "resolution", "capacity", "head", "cumulative", "base", "sink", "cold_version", "encoded")

    def __init__(self, level: Level) -> None:
        self.level = level
        self.resolution = level.resolution_s
        self.capacity = level.capacity
        self.head = EMPTY_HEAD
        self.cumulative: list[array | memoryview] = [_zeros(level.capacity)] * 3  # see `writable`
        # Cumulative value of the newest evicted bucket, per counter: non-zero once a count was
        # evicted, since a rebase keeps it at 1 or more (engine.exact_counts reads that).
        self.base = [0, 0, 0]
        self.sink = None  # receives evicted buckets and too-late events (see the module docstring)
        # Bumped whenever a bucket other than the head's changes (advance, late event, import), so a
        # snapshot can keep the encoded older buckets (`encoded`, owned by core.snapshot) and only
        # re-encode the head bucket while events arrive in order.
        self.cold_version = 0
        self.encoded = None

    def advance(self, bucket: int) -> None:
        """Make `bucket` (> head) the head: new buckets start empty, the oldest ones are evicted."""
        head, capacity = self.head, self.capacity
        if self.sink is not None:
            self.sink.advancing(self, bucket)  # before the evicted buckets are overwritten
        steps = bucket - head
        start, end = (head + 1) % capacity, bucket % capacity
        for which, cells in enumerate(self.cumulative):
            if type(cells) is not array:
                continue  # a counter not counted yet: its zeros stay zeros
            value = cells[head % capacity] if head != EMPTY_HEAD else 0
            fill = array(cells.typecode, (value,))
            if steps >= capacity:
                self.base[which] = value
                cells[:] = fill * capacity
                continue
            self.base[which] = cells[end]  # slot `end` held bucket - capacity, the last one evicted
            if start <= end:
                cells[start : end + 1] = fill * steps
            else:
                cells[start:] = fill * (capacity - start)
                cells[: end + 1] = fill * (end + 1)
        self.head = bucket
        self.cold_version += 1

    def add_late(self, bucket: int, which: int, count: int) -> None:
        self.cold_version += 1
        head, capacity = self.head, self.capacity
        cells = self.cumulative[which]
        try:
            cells[head % capacity] += count  # the largest cell: if it takes the count, so do the others
        except (TypeError, OverflowError):
            cells = self.writable(which, count)
            cells[head % capacity] += count
        for k in range(bucket, head):
            cells[k % capacity] += count

    def writable(self, which: int, count: int) -> array:
        """Counter `which`'s column, able to take `count` more in every cell: allocated on the
        first count, else rebased or widened if the head cell (the largest) would overflow."""
        cells = self.cumulative[which]
        top = cells[self.head % self.capacity] if self.head != EMPTY_HEAD else 0
        if count < 0:
            raise ValueError(f"a ring counts events: a count is >= 0, got {count}")
        if type(cells) is array:
            code = cells.typecode
            if code == "q" or top + count <= _LARGEST[code]:
                return cells
            narrowest = code
        else:
            narrowest = COLUMN_TYPECODES[0]
        floor = max(self.base[which] - 1, 0)  # every cell is >= base; base stays non-zero
        code = _typecode_for(top - floor + count, narrowest)
        if type(cells) is array:
            cells = array(code, [value - floor for value in cells] if floor else cells)
        else:
            cells = array(code, bytes(array(code).itemsize * self.capacity))
        self.base[which] -= floor
        self.cumulative[which] = cells
        return cells

    def sum(self, which: int, first: int, last: int) -> int:
        """Counter `which` summed over retained buckets first..last (inclusive)."""
        head, capacity = self.head, self.capacity
        oldest = head - capacity + 1
        if last > head:
            last = head
        if first < oldest:
            first = oldest
        if first > last:
            return 0
        cells = self.cumulative[which]
        below = cells[(first - 1) % capacity] if first > oldest else self.base[which]
        return cells[last % capacity] - below

    def first_counted(self, first: int, last: int) -> int | None:
        """The first retained bucket in first..last holding a good or bad event, or None: a binary
        search, since the cumulative good + bad count only grows with the bucket."""
        head, capacity = self.head, self.capacity
        oldest = head - capacity + 1
        first, last = max(first, oldest), min(last, head)
        if first > last:
            return None
        good, bad = self.cumulative[GOOD], self.cumulative[BAD]
        if first > oldest:
            slot = (first - 1) % capacity
            before = good[slot] + bad[slot]
        else:
            before = self.base[GOOD] + self.base[BAD]
        slot = first % capacity
        if good[slot] + bad[slot] > before:
            return first  # the usual case while traffic flows: the window's first bucket has events
        slot = last % capacity
        if good[slot] + bad[slot] == before:
            return None
        while first < last:
            middle = (first + last) // 2
            slot = middle % capacity
            if good[slot] + bad[slot] > before:
                last = middle
            else:
                first = middle + 1
        return first

    def column(self, which: int, first: int, last: int) -> list[int]:
        """Per-bucket counts of counter `which` for buckets first..last, all of them retained;
        array slices and map keep this at C speed."""
        capacity, cells = self.capacity, self.cumulative[which]
        below = cells[(first - 1) % capacity] if first > self.head - capacity + 1 else self.base[which]
        lo, hi = first % capacity, last % capacity
        values = cells[lo : hi + 1].tolist() if lo <= hi else cells[lo:].tolist() + cells[: hi + 1].tolist()
        return list(map(operator.sub, values, [below, *values[:-1]]))


class BucketRing:
    """Good / bad / excluded counts at several resolutions (levels ordered finest first)."""

    __slots__ = ("levels", "_rings")

    def __init__(self, levels: tuple[Level, ...]) -> None:
        if not levels:
            raise ValueError("a bucket ring needs at least one level")
        if list(levels) != sorted(levels, key=lambda lv: lv.resolution_s):
            raise ValueError("ring levels must be ordered finest first")
        self.levels = tuple(levels)
        self._rings = tuple(_LevelRing(level) for level in levels)

    def add(self, ts: float, which: int, count: int = 1) -> bool:
        """Count `count` (>= 0) events (GOOD, BAD or EXCLUDED) at every level retaining their bucket.

        Returns False when no level retains them (too old for the whole ring)."""
        kept = False
        for ring in self._rings:
            bucket = int(ts // ring.resolution)
            head = ring.head
            if bucket > head:
                ring.advance(bucket)
            elif bucket < head:
                if bucket <= head - ring.capacity:
                    if ring.sink is not None:
                        ring.sink.late(bucket, which, count)
                    continue
                ring.add_late(bucket, which, count)
                kept = True
                continue
            slot = bucket % ring.capacity
            try:
                ring.cumulative[which][slot] += count
            except (TypeError, OverflowError):  # not counted yet, or full: see the module docstring
                ring.writable(which, count)[slot] += count
            kept = True
        return kept

    def retained(self, which: int) -> int:
        """Counter `which` summed over every bucket the coarsest level retains: the ring's longest
        span, which covers every window it serves."""
        ring = self._rings[-1]
        if ring.head == EMPTY_HEAD:
            return 0
        return ring.sum(which, ring.head - ring.capacity + 1, ring.head)

    def head_span(self) -> tuple[float, float]:
        """[start, end): the event times that fall in the head bucket of every level (empty when
        start >= end, e.g. before the first event). Events inside it are counted by `bump_head`."""
        start, end = -math.inf, math.inf
        for ring in self._rings:
            r = ring.resolution
            bucket_start = ring.head * r
            if bucket_start > start:
                start = bucket_start
            if bucket_start + r < end:
                end = bucket_start + r
        return start, end

    def bump_head(self, good: int, bad: int, excluded: int) -> None:
        """Count events that all fall inside `head_span()`: what `add` does for each of them, in
        bulk. With cumulative cells an event in the head bucket bumps only the head's cell."""
        for ring in self._rings:
            slot = ring.head % ring.capacity
            good_cells, bad_cells, excluded_cells = ring.cumulative
            if good:
                try:
                    good_cells[slot] += good
                except (TypeError, OverflowError):  # not counted yet, or full: see `add`
                    ring.writable(GOOD, good)[slot] += good
            if bad:
                try:
                    bad_cells[slot] += bad
                except (TypeError, OverflowError):
                    ring.writable(BAD, bad)[slot] += bad
            if excluded:
                try:
                    excluded_cells[slot] += excluded
                except (TypeError, OverflowError):
                    ring.writable(EXCLUDED, excluded)[slot] += excluded

    def column_bytes(self) -> int:
        """Bytes the levels' count columns hold (a counter not counted yet holds none)."""
        columns = [cells for ring in self._rings for cells in ring.cumulative if type(cells) is array]
        return sum(len(cells) * cells.itemsize for cells in columns)

    def would_keep(self, ts: float, level: int = -1) -> bool:
        """Whether an event at ts would be retained by `level` (by default the coarsest)."""
        ring = self._rings[level]
        return int(ts // ring.resolution) > ring.head - ring.capacity

    def attach(self, level: int, sink) -> None:
        """Hand what leaves `level` (evicted buckets, too-late events) to `sink`."""
        self._rings[level].sink = sink

    def oldest_instant(self) -> float:
        """Start of the oldest bucket the coarsest level retains (-inf while it is empty)."""
        ring = self._rings[-1]
        return -math.inf if ring.head == EMPTY_HEAD else float((ring.head - ring.capacity + 1) * ring.resolution)

    def level_for(self, span_s: float) -> int:
        """Index of the finest level covering a span of `span_s` seconds; ValueError if none does."""
        for index, level in enumerate(self.levels):
            if level.covers(span_s):
                return index
        longest = self.levels[-1]
        raise ValueError(f"no ring level covers {span_s:g} s; the longest spans {longest.span_s} s")

    def interval(self, start: float, end: float, level: int | None = None) -> tuple[int, int, int]:
        """(good, bad, excluded) over [start, end) per the module's rounding rule."""
        if level is None:
            level = self.level_for(end - start)
        ring = self._rings[level]
        first = first_bucket_from(start, ring.resolution)
        last = first_bucket_from(end, ring.resolution) - 1
        return (ring.sum(GOOD, first, last), ring.sum(BAD, first, last), ring.sum(EXCLUDED, first, last))

    def good_bad(self, start: float, end: float, level: int) -> tuple[int, int]:
        """(good, bad) over [start, end) at `level`: `interval` without the excluded counter, for the
        policy's per-decision window reads (two subtractions, no level search)."""
        ring = self._rings[level]
        r, head, capacity = ring.resolution, ring.head, ring.capacity
        first, last = -int(-start // r), -int(-end // r) - 1
        oldest = head - capacity + 1
        if last > head:
            last = head
        if first < oldest:
            first = oldest
        if first > last:
            return 0, 0
        good, bad = ring.cumulative[0], ring.cumulative[1]
        hi = last % capacity
        if first > oldest:
            lo = (first - 1) % capacity
            return good[hi] - good[lo], bad[hi] - bad[lo]
        base = ring.base
        return good[hi] - base[0], bad[hi] - base[1]

    def first_counted_start(self, start: float, end: float, level: int) -> float | None:
        """Start instant of the first bucket serving [start, end) at `level` (the module's rounding
        rule) that holds a good or bad event, or None when none does."""
        ring = self._rings[level]
        r = ring.resolution
        k = ring.first_counted(first_bucket_from(start, r), first_bucket_from(end, r) - 1)
        return None if k is None else float(k * r)

    def window(self, now: float, window_s: float) -> tuple[int, int, int]:
        """(good, bad, excluded) over the rolling window [now - window_s, now)."""
        return self.interval(now - window_s, now)

    def bucket_columns(self, start: float, end: float, level: int) -> tuple[list[int], list[int]]:
        """Per-bucket (goods, bads) of the retained buckets serving [start, end) at `level`, oldest
        first (array slices: C speed over a month of one-minute slices)."""
        ring = self._rings[level]
        head, capacity = ring.head, ring.capacity
        oldest = head - capacity + 1
        first = max(first_bucket_from(start, ring.resolution), oldest)
        last = min(first_bucket_from(end, ring.resolution) - 1, head)
        if first > last:
            return [], []
        return ring.column(GOOD, first, last), ring.column(BAD, first, last)

    def head(self, level: int) -> int | None:
        head = self._rings[level].head
        return None if head == EMPTY_HEAD else head

    # Snapshot support: per-level head and per-bucket counts (oldest retained first).
    def export_level(self, level: int) -> tuple[int, tuple[list[int], list[int], list[int]]]:
        ring = self._rings[level]
        if ring.head == EMPTY_HEAD:
            return EMPTY_HEAD, ([], [], [])
        first = ring.head - ring.capacity + 1
        return ring.head, tuple(ring.column(which, first, ring.head) for which in range(3))  # type: ignore[return-value]

    def level_ring(self, level: int) -> _LevelRing:
        return self._rings[level]

    def import_level(self, level: int, head: int, columns: tuple[list[int], ...]) -> None:
        ring = self._rings[level]
        ring.head = head
        ring.base = [0, 0, 0]
        ring.cold_version += 1
        if head == EMPTY_HEAD:
            return
        capacity = ring.capacity
        if any(len(column) != capacity for column in columns):
            raise ValueError(f"ring level {ring.level} expects {capacity} buckets per counter")
        first = head - capacity + 1
        split = capacity - first % capacity  # buckets from `first` up to the end of the buffer
        for which, column in enumerate(columns):
            if not any(column):
                ring.cumulative[which] = _zeros(capacity)
                continue
            running = list(accumulate(column))
            ring.cumulative[which] = array(_typecode_for(running[-1]), running[split:] + running[:split])


class SliceRollup:
    """Closed timeslices summed per coarse bucket: good slices, slices with data, sum of slice ratios.

    A bucket of resolution R (a multiple of the slice length) holds the verdicts of the slices that
    START in it and have left the fine level. Same retention rule as a ring level: buckets
    head - capacity < j <= head, where the owner keeps `head` at the bucket of the fine level's head.
    Plain (not cumulative) columns, zeroed as the head advances, so a window is a C-speed `sum` of
    array slices and the float ratio sums never suffer cumulative cancellation. The slice counts
    are 16-bit (a bucket holds at most resolution / slice length slices) and widen to 64 if a
    bucket ever holds more.
    """

    __slots__ = ("level", "resolution", "capacity", "head", "good", "slices", "ratios")

    def __init__(self, level: Level) -> None:
        self.level = level
        self.resolution, self.capacity = level.resolution_s, level.capacity
        self.head = EMPTY_HEAD
        self.good = array("H", bytes(2 * level.capacity))
        self.slices = array("H", bytes(2 * level.capacity))
        self.ratios = array("d", bytes(8 * level.capacity))

    def advance(self, bucket: int) -> None:
        """Make `bucket` (> head) the head; the buckets after the old head start empty."""
        head, capacity = self.head, self.capacity
        if head != EMPTY_HEAD and bucket - head < capacity:
            slots = [k % capacity for k in range(head + 1, bucket + 1)]
        else:
            slots = range(capacity)
        for slot in slots:
            self.good[slot] = self.slices[slot] = 0
            self.ratios[slot] = 0.0
        self.head = bucket

    def add(self, bucket: int, good: int, ratio: float) -> None:
        """Count one closed slice with data (good: 1 or 0) in `bucket`, if retained."""
        if self.head - self.capacity < bucket <= self.head:
            slot = bucket % self.capacity
            try:
                self.slices[slot] += 1  # first: good <= slices, so if this fits, so does good
            except OverflowError:
                self.good, self.slices = array("q", self.good), array("q", self.slices)
                self.slices[slot] += 1
            self.good[slot] += good
            self.ratios[slot] += ratio

    def sums(self, first: int, last: int) -> tuple[int, int, float]:
        """(good slices, slices, ratio sum) over retained buckets first..last (inclusive)."""
        head, capacity = self.head, self.capacity
        first, last = max(first, head - capacity + 1), min(last, head)
        if first > last:
            return 0, 0, 0.0
        lo, hi = first % capacity, last % capacity
        spans = [(lo, hi + 1)] if lo <= hi else [(lo, capacity), (0, hi + 1)]
        return (
            sum(sum(self.good[a:b]) for a, b in spans),
            sum(sum(self.slices[a:b]) for a, b in spans),
            math.fsum(math.fsum(self.ratios[a:b]) for a, b in spans),
        )

    # Snapshot support: the columns of the retained buckets, oldest first.
    def export(self) -> tuple[int, list[int], list[int], list[float]]:
        if self.head == EMPTY_HEAD:
            return EMPTY_HEAD, [], [], []
        order = [k % self.capacity for k in range(self.head - self.capacity + 1, self.head + 1)]
        return self.head, [self.good[i] for i in order], [self.slices[i] for i in order], [self.ratios[i] for i in order]

    def restore(self, head: int, good: list[int], slices: list[int], ratios: list[float]) -> None:
        self.head = head
        if head == EMPTY_HEAD:
            return
        if not len(good) == len(slices) == len(ratios) == self.capacity:
            raise ValueError(f"slice rollup {self.level} expects {self.capacity} buckets per column")
        code = "H" if max(slices) <= 0xFFFF and max(good) <= 0xFFFF else "q"
        self.good, self.slices = array(code, [0]) * self.capacity, array(code, [0]) * self.capacity
        for offset, k in enumerate(range(head - self.capacity + 1, head + 1)):
            slot = k % self.capacity
            self.good[slot], self.slices[slot], self.ratios[slot] = good[offset], slices[offset], ratios[offset]


RESOLUTIONS_S = (10, 60, 3600)
MIN_BUCKETS_PER_WINDOW = 60  # a window's edges are then off by at most 1/60 of its length
# A window with fewer than MIN_BUCKETS_FALLBACK buckets even at the finest resolution (under 100 s)
# gets 1 s buckets instead: read as one or two 10 s buckets, a 10 s window would be anything from
# 0.1 s to 10 s wide at the 0.1 s decision step; at 1 s it is 9.1 to 10 s.
FALLBACK_RESOLUTIONS_S = (1,)
MIN_BUCKETS_FALLBACK = 10
SLACK_BUCKETS = 2  # windows stay exact while `now` lags the newest event by up to this many buckets


def plan_levels(
    spans_s: tuple[float, ...] | list[float],
    pinned: dict[int, float] | None = None,
    resolutions: tuple[int, ...] = RESOLUTIONS_S,
    min_buckets: int = MIN_BUCKETS_PER_WINDOW,
    fallback: tuple[int, ...] = FALLBACK_RESOLUTIONS_S,
) -> tuple[Level, ...]:
    """The smallest set of levels that serves every span (seconds) with enough buckets.

    Each span goes to the COARSEST resolution that still gives it `min_buckets` buckets (the finest
    if none does; if even that gives fewer than MIN_BUCKETS_FALLBACK, the coarsest of `fallback`
    that gives that many, or its finest: so 1 s buckets serve only windows under 100 s, the
    scaled-down windows of a 1-day SLO), and each level keeps as many buckets as its longest span needs plus
    SLACK_BUCKETS. For the default 30-day SLO this means 10 s for the 5 m and 30 m alert windows,
    1 min up to the 1 d window and 1 h for the 3 d window and the 30 days. `pinned` forces
    {resolution: span} (a timeslice SLO needs its slice length as a level across the whole
    compliance window)."""
    needed: dict[int, int] = {}
    for span in spans_s:
        chosen = resolutions[0]
        for resolution in resolutions:
            if span / resolution >= min_buckets:
                chosen = resolution
        if fallback and span / chosen < MIN_BUCKETS_FALLBACK:
            chosen = fallback[0]
            for resolution in fallback:
                if span / resolution >= MIN_BUCKETS_FALLBACK:
                    chosen = resolution
        needed[chosen] = max(needed.get(chosen, 0), math.ceil(span / chosen))
    for resolution, span in (pinned or {}).items():
        needed[resolution] = max(needed.get(resolution, 0), math.ceil(span / resolution))
    if not needed:
        raise ValueError("a ring needs at least one span to serve")
    return tuple(Level(r, needed[r] + SLACK_BUCKETS) for r in sorted(needed))
