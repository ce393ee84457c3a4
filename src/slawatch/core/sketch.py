"""A mergeable latency histogram with a stated relative error (DDSketch-style log buckets).

Why a sketch: a latency-percentile SLO needs pNN over windows of any length, and raw latencies do
not fit in a checkpoint. Log-spaced bins with ratio `gamma = (1 + a) / (1 - a)` make every quantile
estimate within a relative error `a` of a true sample value (Masson, Rim, Lee: "DDSketch", VLDB
2019), and two sketches merge by adding bin counts, so per-bucket sketches add up to any window.

- `RELATIVE_ACCURACY = 0.01`: every answer is within 1 % of the sample it stands for.
- Bin i holds values in (gamma^(i-1), gamma^i]; its representative 2 gamma^i / (gamma + 1) is within
  `a` of anything in the bin. Values <= `MIN_INDEXABLE_MS` (0 ms included) go to a zero bin
  whose representative is 0.
- `math.inf` has a bin of its own, `INFINITE_INDEX`, above every finite one (whose indices are
  capped at `MAX_FINITE_INDEX`, gamma^32766 ~ 1e284 ms): it is how a latency-percentile SLO whose
  errors are BAD records a failed call, slower than any threshold (see `slo_state`). A quantile that
  lands there answers `math.inf`. NaN and negative values are refused with ValueError.
- `quantile(q)` answers for the sample at rank floor(q (n - 1)) (0-based) of the sorted values, the
  "lower" quantile: the true value there is v, the answer lies in [v (1 - a), v (1 + a)].
- Sparse: a dict of bin index -> count, so a bucket holding three distinct latencies holds three
  bins; packed into two sorted arrays once its bucket stops being written (`LatencySketch.pack`).
  Serialised compactly (format 2): varints of the zero count, the number of bins, the first index,
  the gaps between sorted indices and the zigzagged differences of neighbouring counts. Bins of one
  latency distribution are mostly adjacent and their counts vary smoothly, so most of these are
  one byte.

`SketchRing` keeps sketches per event-time bucket in TIERS of coarsening resolution, each event in
exactly one tier: see its docstring and docs/engine.md ("Percentile sketches").
"""

from __future__ import annotations

import math
import sys
from array import array

from slawatch.core.ring import EMPTY_HEAD, plan_levels

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
_INV_LOG_GAMMA = 1.0 / _LOG_GAMMA
MIN_INDEXABLE_MS = 1e-6  # one nanosecond; below it a latency is indistinguishable from zero
MAX_FINITE_INDEX = 32766  # bin indices fit int16: gamma^32766 is far beyond any latency in ms
INFINITE_INDEX = 32767  # the bin of math.inf (a failed call under errors=BAD)
_LOWEST_INDEX = -32768  # bin indices are int16; the lowest real one, just above MIN_INDEXABLE_MS, is ~ -690
_INF = math.inf

SKETCH_FORMAT = 2  # varint gaps and count differences (module docstring)
_COUNT_CODES = ((0xFF, "B"), (0xFFFF, "H"), (0xFFFFFFFF, "I"))


def bin_index(value_ms: float) -> int:
    """The bin of a positive latency or inf (callers send <= MIN_INDEXABLE_MS to the zero bin)."""
    if value_ms == _INF:
        return INFINITE_INDEX
    index = math.ceil(math.log(value_ms) * _INV_LOG_GAMMA)
    return MAX_FINITE_INDEX if index > MAX_FINITE_INDEX else index


def bin_value(index: int) -> float:
    """The representative of bin `index`: within RELATIVE_ACCURACY of every value in the bin."""
    if index >= INFINITE_INDEX:
        return _INF
    return 2.0 * math.exp(index * _LOG_GAMMA) / (GAMMA + 1.0)


def narrowest_unsigned(values: array | list) -> str:
    """The smallest array typecode ('B', 'H', 'I', 'Q') that holds every (non-negative) value."""
    top = max(values, default=0)
    return next((code for limit, code in _COUNT_CODES if top <= limit), "Q")


def little_endian(data: array) -> bytes:
    """array.tobytes() in little-endian byte order, whatever the host (snapshots must travel)."""
    if sys.byteorder == "big":
        data = array(data.typecode, data)
        data.byteswap()
    return data.tobytes()


def from_little_endian(typecode: str, raw: bytes | memoryview) -> array:
    data = array(typecode)
    data.frombytes(raw)
    if sys.byteorder == "big":
        data.byteswap()
    return data


class LatencySketch:
    """Counts of latencies (ms) in log-spaced bins: add, merge, quantile; serialises to bytes.

    Two forms, one meaning: `bins`, a dict of bin index -> count, to add to; or, once `pack`ed
    (`bins` is then None), two sorted arrays of indices (int16) and counts (narrowest unsigned).
    A sketch that has left the head bucket is read far more than written, and a dict costs tens
    of bytes a bin where the arrays cost a few. Reads take either form; a write unpacks."""

    __slots__ = ("bins", "zero_count", "count", "_packed")

    def __init__(self) -> None:
        self.bins: dict[int, int] | None = {}
        self.zero_count = 0
        self.count = 0
        self._packed: tuple[array, array] | None = None  # (indices, counts) while `bins` is None

    def pack(self) -> None:
        """Keep the bins as sorted arrays (see the class docstring); a no-op once packed."""
        bins = self.bins
        if bins is not None:
            indices = sorted(bins)
            self._packed = _packed(indices, [bins[index] for index in indices])
            self.bins = None

    def unpacked(self) -> dict[int, int]:
        """The bins as a dict, to write to (unpacking a packed sketch)."""
        if self.bins is None:
            self.bins = dict(zip(*self._packed))
            self._packed = None
        return self.bins

    def items(self):
        """(bin index, count) pairs; sorted by index when packed."""
        return zip(*self._packed) if self.bins is None else self.bins.items()

    def sorted_items(self) -> list[tuple[int, int]]:
        return list(zip(*self._packed)) if self.bins is None else sorted(self.bins.items())

    def add(self, value_ms: float, count: int = 1) -> None:
        if value_ms > MIN_INDEXABLE_MS:
            index = bin_index(value_ms)
            bins = self.unpacked()
            bins[index] = bins.get(index, 0) + count
        elif value_ms >= 0.0:
            self.zero_count += count
        else:
            raise ValueError(f"a latency is a non-negative number of ms, got {value_ms}")
        self.count += count

    def merge(self, other: LatencySketch) -> None:
        """Add `other`'s counts to this sketch (the result is as if every value had been added here)."""
        bins = self.unpacked()
        if not bins:
            bins.update(other.items())  # the first sketch merged into an empty total, at C speed
        else:
            for index, n in other.items():
                bins[index] = bins.get(index, 0) + n
        self.zero_count += other.zero_count
        self.count += other.count

    def copy(self) -> LatencySketch:
        twin = LatencySketch()
        twin.bins = None if self.bins is None else dict(self.bins)
        twin._packed = self._packed  # never changed in place: packing and unpacking replace it
        twin.zero_count = self.zero_count
        twin.count = self.count
        return twin

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0 <= q <= 1) within RELATIVE_ACCURACY, or None when the sketch is empty."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"a quantile is in [0, 1], got {q}")
        if self.count == 0:
            return None
        rank = math.floor(q * (self.count - 1))
        seen = self.zero_count
        if rank < seen:
            return 0.0
        for index, n in self.sorted_items():
            seen += n
            if rank < seen:
                return bin_value(index)
        raise AssertionError("bin counts do not add up to count")  # pragma: no cover

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencySketch):
            return NotImplemented
        mine, theirs = (self.zero_count, self.count, dict(self.items())), (other.zero_count, other.count, dict(other.items()))
        return mine == theirs

    def __repr__(self) -> str:
        bins = len(self.bins) if self.bins is not None else len(self._packed[0])
        return f"LatencySketch(count={self.count}, bins={bins}, zero={self.zero_count})"

    def to_bytes(self) -> bytes:
        """Format byte, then varints: zero count, bins, first index (zigzag), gaps, count steps (zigzag)."""
        if self.bins is None:
            indices, counts = self._packed
        else:
            indices = sorted(self.bins)
            counts = [self.bins[index] for index in indices]
        out = bytearray((SKETCH_FORMAT,))
        put_varint(out, self.zero_count)
        put_varint(out, len(indices))
        if indices:
            put_varint(out, _zigzag(indices[0]))
            for gap in map(int.__sub__, indices[1:], indices[:-1]):
                put_varint(out, gap - 1)
            previous = 0
            for count in counts:
                put_varint(out, _zigzag(count - previous))
                previous = count
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> LatencySketch:
        sketch, used = cls.read(memoryview(data))
        if used != len(data):
            raise ValueError(f"{len(data) - used} stray bytes after a latency sketch")
        return sketch

    @classmethod
    def read(cls, view: memoryview | bytes) -> tuple[LatencySketch, int]:
        """Decode one sketch from the front of `view`; returns it and the bytes it used."""
        if not len(view):
            raise ValueError("truncated latency sketch")
        if view[0] != SKETCH_FORMAT:
            raise ValueError(f"latency sketch format {view[0]} is unknown; this build reads {SKETCH_FORMAT}")
        zero, at = get_varint(view, 1)
        n, at = get_varint(view, at)
        sketch = cls()
        sketch.zero_count = zero
        if n:
            first, at = get_varint(view, at)
            indices = [_unzigzag(first)]
            for _ in range(n - 1):
                gap, at = get_varint(view, at)
                indices.append(indices[-1] + gap + 1)
            counts, previous = [], 0
            for _ in range(n):
                step, at = get_varint(view, at)
                previous += _unzigzag(step)
                counts.append(previous)
            if min(counts) <= 0 or indices[-1] > INFINITE_INDEX or indices[0] < _LOWEST_INDEX:
                raise ValueError("corrupt latency sketch (a bin count <= 0 or an index out of range)")
            sketch.bins, sketch._packed = None, _packed(indices, counts)
        sketch.count = zero + (sum(sketch._packed[1]) if n else 0)
        return sketch, at


def _packed(indices: list[int], counts: list[int]) -> tuple[array, array]:
    """Sorted bin indices and their counts as a packed sketch keeps them (`LatencySketch.pack`)."""
    return array("h", indices), array(narrowest_unsigned(counts), counts)


def put_varint(out: bytearray, value: int) -> None:
    """Append a non-negative int as LEB128 (7 bits a byte, low first): 1 byte below 128."""
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def get_varint(view: memoryview | bytes, at: int) -> tuple[int, int]:
    """The varint at `at` and the offset after it; ValueError when the bytes end inside it."""
    value = shift = 0
    try:
        while True:
            byte = view[at]
            at += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value, at
            shift += 7
    except IndexError:
        raise ValueError("truncated latency sketch") from None


def _zigzag(value: int) -> int:
    return value << 1 if value >= 0 else ((-value) << 1) - 1


def _unzigzag(value: int) -> int:
    return value >> 1 if not value & 1 else -((value + 1) >> 1)


SKETCH_RESOLUTIONS_S = (60, 600, 3600, 21600, 86400)  # each a multiple of the one before
MIN_SKETCH_BUCKETS = 6  # a percentile window gets >= 6 buckets: its old edge is off by < 1/6 of it


def plan_sketch_levels(spans_s) -> tuple:
    """The sketch tiers of an SLO: each span at the coarsest resolution that still gives it
    MIN_SKETCH_BUCKETS buckets (the counts use 60, see `ring.plan_levels`): a percentile is a
    report, and a sketch bucket costs bytes per distinct latency where a count costs one cell.
    Default 30-day SLO: 1 min x 32 (5 m, 30 m windows), 10 min x 14 (1 h, 2 h), 1 h x 26 (6 h, 1 d),
    6 h x 14 (3 d), 1 d x 32 (30 d)."""
    return plan_levels(spans_s, resolutions=SKETCH_RESOLUTIONS_S, min_buckets=MIN_SKETCH_BUCKETS, fallback=())


class SketchRing:
    """Latency sketches per event-time bucket in tiers of coarsening resolution (finest first).

    Each tier is a ring level (`ring.Level`: resolution r, capacity c) with the retention rule of
    `ring.BucketRing`: head = newest bucket, retained buckets head - c < k <= head, where every
    tier's head is the finest tier's head scaled to its resolution. Unlike the count rings, an
    event's latency is stored ONCE, at the finest tier that retains its bucket:

    - an in-order event increments one bin of the finest tier's head sketch (one dict update);
    - when the head advances, the buckets leaving a tier are merged into the next tier that retains
      them (once per new bucket, never per event); what leaves the coarsest tier is forgotten;
    - a late event goes straight to the finest tier that still retains its bucket.

    So a retained bucket of tier L is complete: its events are in it or in finer tiers' buckets
    inside it (retention reaches further back at coarser tiers; __init__ checks it). `merged(L, ...)`
    adds those up and answers exactly as one sketch per tier-L bucket would, at a fraction of the
    size: the last 30 minutes are minutes, older data hours, the month days (docs/engine.md).
    Merging adds bin counts, so no tier ever loses accuracy: the 1 % bound holds at every tier.
    """

    __slots__ = ("levels", "_resolutions", "_capacities", "_heads", "_tiers", "_hot_bucket", "_hot", "_loose")

    def __init__(self, levels: tuple) -> None:
        self.levels = tuple(levels)
        self._resolutions = [level.resolution_s for level in levels]
        self._capacities = [level.capacity for level in levels]
        for fine, coarse in zip(self.levels, self.levels[1:]):
            if coarse.resolution_s % fine.resolution_s or (coarse.capacity - 1) * coarse.resolution_s < fine.span_s:
                raise ValueError(f"sketch tier {coarse} must be a multiple of {fine} and reach further back")
        self._heads = [EMPTY_HEAD] * len(levels)
        self._tiers: list[dict[int, LatencySketch]] = [{} for _ in levels]
        self._hot_bucket: int | None = None  # the finest tier's head bucket, cached for the hot path
        self._hot: LatencySketch | None = None
        self._loose: list[LatencySketch] = []  # unpacked by late events since the head last moved

    def add(self, ts: float, value_ms: float, count: int = 1) -> None:
        """Count `count` events at ts with latency value_ms (count > 1: bulk loads, benchmarks)."""
        if value_ms > MIN_INDEXABLE_MS:
            bin_ = bin_index(value_ms)
        elif value_ms >= 0.0:
            bin_ = None
        else:
            raise ValueError(f"a latency is a non-negative number of ms, got {value_ms}")
        bucket = int(ts // self._resolutions[0])
        sketch = self._hot if bucket == self._hot_bucket else self._sketch_for(ts, bucket)
        if sketch is None:
            return  # older than the coarsest tier retains
        if bin_ is None:
            sketch.zero_count += count
        else:
            bins = sketch.bins
            bins[bin_] = bins.get(bin_, 0) + count
        sketch.count += count

    def _sketch_for(self, ts: float, bucket: int) -> LatencySketch | None:
        """The sketch an event at ts goes to (off the hot path: a new head, or a late event)."""
        if bucket > self._heads[0]:
            self._advance(bucket)
        for tier, resolution in enumerate(self._resolutions):
            k = int(ts // resolution)
            if k > self._heads[tier] - self._capacities[tier]:
                sketch = self._tiers[tier].get(k)
                loose = sketch is None or sketch.bins is None
                if sketch is None:
                    sketch = self._tiers[tier][k] = LatencySketch()
                sketch.unpacked()
                if tier == 0 and k == self._heads[0]:
                    self._hot_bucket, self._hot = k, sketch
                elif loose:
                    self._loose.append(sketch)
                return sketch
        return None

    def _advance(self, head: int) -> None:
        """Make `head` the finest tier's head; move what leaves each tier to the next that keeps it.
        Every sketch but the new head's is then packed (`LatencySketch.pack`)."""
        for sketch in self._loose:
            sketch.pack()
        self._loose.clear()
        if self._hot is not None:
            self._hot.pack()
        base = head * self._resolutions[0]
        for tier, resolution in enumerate(self._resolutions):
            new_head = base // resolution
            if new_head == self._heads[tier]:
                break  # then the coarser tiers' heads do not move either
            self._heads[tier] = new_head
            oldest = new_head - self._capacities[tier] + 1
            store = self._tiers[tier]
            for k in [k for k in store if k < oldest]:
                self._place(tier + 1, k * resolution, store.pop(k))

    def _place(self, tier: int, start: float, sketch: LatencySketch) -> None:
        """Merge a sketch of the bucket starting at `start` into the finest tier >= `tier` keeping it."""
        for tier in range(tier, len(self.levels)):
            k = int(start // self._resolutions[tier])
            if k > self._heads[tier] - self._capacities[tier]:
                store = self._tiers[tier]
                if k in store:
                    store[k].merge(sketch)
                    store[k].pack()
                else:
                    store[k] = sketch
                return

    def level_for(self, span_s: float) -> int:
        """Index of the finest tier covering `span_s` (the rule of `ring.BucketRing.level_for`)."""
        for index, level in enumerate(self.levels):
            if level.covers(span_s):
                return index
        raise ValueError(f"no sketch level covers {span_s:g} s; the longest spans {self.levels[-1].span_s} s")

    def merged(self, level: int, first: int, last: int) -> LatencySketch:
        """One sketch of the retained buckets first..last (inclusive) of tier `level`, each whole:
        its own events and those of the finer tiers' buckets inside it."""
        total = LatencySketch()
        head, capacity = self._heads[level], self._capacities[level]
        first, last = max(first, head - capacity + 1), min(last, head)
        if first > last:
            return total
        resolution = self._resolutions[level]
        start, end = first * resolution, (last + 1) * resolution
        for tier in range(level + 1):
            r = self._resolutions[tier]
            for k, sketch in self._tiers[tier].items():
                if start <= k * r < end:
                    total.merge(sketch)
        return total

    def head(self, level: int) -> int | None:
        return None if self._heads[level] == EMPTY_HEAD else self._heads[level]

    # Snapshot support: the finest head, then per tier the stored (bucket, sketch) pairs.
    def stored(self, level: int) -> list[tuple[int, LatencySketch]]:
        """The sketches tier `level` itself stores (not the finer tiers'), oldest first."""
        return sorted(self._tiers[level].items())

    def set_head(self, level: int, head: int) -> None:
        """Restore the heads (snapshot restore): any tier's head sets every tier's."""
        if head == EMPTY_HEAD:
            self._heads = [head] * len(self.levels)
        else:
            base = (head + 1) * self._resolutions[level] - 1  # the latest instant of that bucket
            self._heads = [base // r for r in self._resolutions]
        self._hot_bucket = self._hot = None

    def put(self, level: int, bucket: int, sketch: LatencySketch) -> None:
        """Install a restored sketch that tier `level` stores (snapshot restore)."""
        sketch.pack()
        self._tiers[level][bucket] = sketch
        self._hot_bucket = self._hot = None
