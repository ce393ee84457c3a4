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
  bins. Serialised as sorted int16 bin indices and counts in the narrowest unsigned width that fits.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(GAMMA)
_INV_LOG_GAMMA = 1.0 / _LOG_GAMMA
MIN_INDEXABLE_MS = 1e-6  # one nanosecond; below it a latency is indistinguishable from zero
MAX_FINITE_INDEX = 32766  # bin indices fit int16: gamma^32766 is far beyond any latency in ms
INFINITE_INDEX = 32767  # the bin of math.inf (a failed call under errors=BAD)
_INF = math.inf

SKETCH_FORMAT = 1
_HEADER = struct.Struct("<BBQI")  # format, count typecode, zero count, number of bins
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
    """Counts of latencies (ms) in log-spaced bins: add, merge, quantile; serialises to bytes."""

    __slots__ = ("bins", "zero_count", "count")

    def __init__(self) -> None:
        self.bins: dict[int, int] = {}
        self.zero_count = 0
        self.count = 0

    def add(self, value_ms: float, count: int = 1) -> None:
        if value_ms > MIN_INDEXABLE_MS:
            index = bin_index(value_ms)
            bins = self.bins
            bins[index] = bins.get(index, 0) + count
        elif value_ms >= 0.0:
            self.zero_count += count
        else:
            raise ValueError(f"a latency is a non-negative number of ms, got {value_ms}")
        self.count += count

    def merge(self, other: LatencySketch) -> None:
        """Add `other`'s counts to this sketch (the result is as if every value had been added here)."""
        bins = self.bins
        for index, n in other.bins.items():
            bins[index] = bins.get(index, 0) + n
        self.zero_count += other.zero_count
        self.count += other.count

    def copy(self) -> LatencySketch:
        twin = LatencySketch()
        twin.bins = dict(self.bins)
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
        for index in sorted(self.bins):
            seen += self.bins[index]
            if rank < seen:
                return bin_value(index)
        raise AssertionError("bin counts do not add up to count")  # pragma: no cover

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencySketch):
            return NotImplemented
        return (self.zero_count, self.count, self.bins) == (other.zero_count, other.count, other.bins)

    def __repr__(self) -> str:
        return f"LatencySketch(count={self.count}, bins={len(self.bins)}, zero={self.zero_count})"

    def to_bytes(self) -> bytes:
        """Format byte, count width, zero count, bin count, then int16 indices and counts."""
        indices = sorted(self.bins)
        counts = [self.bins[i] for i in indices]
        code = narrowest_unsigned(counts)
        head = _HEADER.pack(SKETCH_FORMAT, ord(code), self.zero_count, len(indices))
        return head + little_endian(array("h", indices)) + little_endian(array(code, counts))

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> LatencySketch:
        sketch, used = cls.read(memoryview(data))
        if used != len(data):
            raise ValueError(f"{len(data) - used} stray bytes after a latency sketch")
        return sketch

    @classmethod
    def read(cls, view: memoryview) -> tuple[LatencySketch, int]:
        """Decode one sketch from the front of `view`; returns it and the bytes it used."""
        if len(view) < _HEADER.size:
            raise ValueError("truncated latency sketch")
        version, code, zero, n = _HEADER.unpack_from(view)
        if version != SKETCH_FORMAT:
            raise ValueError(f"latency sketch format {version} is unknown; this build reads {SKETCH_FORMAT}")
        code = chr(code)
        width = array(code).itemsize
        end_indices = _HEADER.size + 2 * n
        end = end_indices + width * n
        if len(view) < end:
            raise ValueError("truncated latency sketch")
        indices = from_little_endian("h", view[_HEADER.size : end_indices])
        counts = from_little_endian(code, view[end_indices:end])
        sketch = cls()
        sketch.bins = dict(zip(indices, counts))
        sketch.zero_count = zero
        sketch.count = zero + sum(counts)
        return sketch, end


class SketchRing:
    """One LatencySketch per event-time bucket at several levels, for percentiles over any window.

    Same bucket and retention rules as `ring.BucketRing` (see there), with the head following the
    events that carried a latency. A slot remembers which bucket its sketch belongs to, so advancing
    the head costs nothing: a stale slot is simply replaced when its slot is next written.
    """

    __slots__ = ("levels", "_resolutions", "_capacities", "_heads", "_ids", "_sketches")

    def __init__(self, levels: tuple) -> None:
        self.levels = tuple(levels)
        self._resolutions = [level.resolution_s for level in levels]
        self._capacities = [level.capacity for level in levels]
        self._heads = [-(2**62)] * len(levels)
        self._ids = [array("q", [-(2**62)]) * level.capacity for level in levels]
        self._sketches: list[list[LatencySketch | None]] = [[None] * level.capacity for level in levels]

    def add(self, ts: float, value_ms: float) -> None:
        if value_ms > MIN_INDEXABLE_MS:
            bin_ = bin_index(value_ms)  # once, not once per level: the log is the costly part
        elif value_ms >= 0.0:
            bin_ = None
        else:
            raise ValueError(f"a latency is a non-negative number of ms, got {value_ms}")
        for index, resolution in enumerate(self._resolutions):
            bucket = int(ts // resolution)
            head, capacity = self._heads[index], self._capacities[index]
            if bucket <= head - capacity:
                continue
            if bucket > head:
                self._heads[index] = bucket
            slot = bucket % capacity
            ids = self._ids[index]
            sketch = self._sketches[index][slot]
            if ids[slot] != bucket or sketch is None:
                sketch = self._sketches[index][slot] = LatencySketch()
                ids[slot] = bucket
            if bin_ is None:
                sketch.zero_count += 1
            else:
                bins = sketch.bins
                bins[bin_] = bins.get(bin_, 0) + 1
            sketch.count += 1

    def level_for(self, span_s: float) -> int:
        """Index of the finest level covering `span_s` (the rule of `ring.BucketRing.level_for`)."""
        for index, level in enumerate(self.levels):
            if level.covers(span_s):
                return index
        raise ValueError(f"no sketch level covers {span_s:g} s; the longest spans {self.levels[-1].span_s} s")

    def bucket_sketch(self, level: int, bucket: int) -> LatencySketch | None:
        """The sketch of one retained bucket, or None."""
        capacity = self._capacities[level]
        if not self._heads[level] - capacity < bucket <= self._heads[level]:
            return None
        slot = bucket % capacity
        return self._sketches[level][slot] if self._ids[level][slot] == bucket else None

    def merged(self, level: int, first: int, last: int) -> LatencySketch:
        """One sketch of the buckets first..last (inclusive) at `level`."""
        total = LatencySketch()
        head, capacity = self._heads[level], self._capacities[level]
        for bucket in range(max(first, head - capacity + 1), min(last, head) + 1):
            sketch = self.bucket_sketch(level, bucket)
            if sketch is not None:
                total.merge(sketch)
        return total

    def head(self, level: int) -> int | None:
        return None if self._heads[level] == -(2**62) else self._heads[level]

    def set_head(self, level: int, head: int) -> None:
        self._heads[level] = head

    def put(self, level: int, bucket: int, sketch: LatencySketch) -> None:
        """Install a restored bucket sketch (snapshot restore)."""
        slot = bucket % self._capacities[level]
        self._ids[level][slot] = bucket
        self._sketches[level][slot] = sketch
