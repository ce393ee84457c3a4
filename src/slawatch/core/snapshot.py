"""SLO state to bytes and back: compact, versioned, lossless, carrying the per-partition offsets.

Why bytes and not pickle: a checkpoint outlives the process that wrote it (changelog topics are
replayed by the next release), so the format is explicit, versioned and refuses what it does not
know. Why binary and not JSON: a 30-day SLO has ~2,350 buckets x 3 counters; as struct/array bytes
in the narrowest width that fits each column, that is a few bytes per bucket.

Sizes: a 30-day SLO stays within 64 KiB even with every column at 64 bits (tests/core/test_snapshot.py
checks both ends). A timeslice SLO keeps its fine counts only for the open slices and the closed ones as
coarse verdicts; a latency-percentile SLO's tiered sketches (`sketch.SketchRing`) are varint-coded
and zlib-packed. Measured sizes and times: docs/benchmarks.md and docs/engine.md.

Layout (little-endian): b"SWS" + format version (u8) + kind (u8: 1 single, 2 grouped), then
- single: number of levels, each (resolution u32, capacity u32) - the restore target must have the
  same plan; watermark f64; counters late, too_old, too_far_ahead, duplicates, not_counted, invalid (u64);
  offsets (count u32, then partition i32 / offset i64, sorted); per level: head i64 and, unless the
  level is empty, three columns (good, bad, excluded per bucket, oldest first), each a typecode
  byte then `capacity` values; then sketches: count of tiers (0 = none), each (resolution u32,
  capacity u32) - again the plan must match; the u32 length of one zlib block holding the finest
  tier's head i64 and, per tier, a varint count of the sketches it stores, each a varint
  (tier head - bucket) + a LatencySketch in its own format (2); then the slice rollup and periods.
- grouped: offsets and counters duplicates, overflowed (u64), number of groups u32, each group name
  (u16 length + UTF-8) + the u32 length of its single-state snapshot + that snapshot.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Callable

from slawatch.core.model import Slo
from slawatch.core.ring import EMPTY_HEAD
from slawatch.core.sketch import (
    LatencySketch,
    SketchRing,
    from_little_endian,
    get_varint,
    little_endian,
    narrowest_unsigned,
    put_varint,
)
from slawatch.core.finalizer import PeriodTotals
from slawatch.core.slo_state import GroupedSloState, SloState

MAGIC = b"SWS"
FORMAT_VERSION = 3  # 3: tiered, varint-coded, zlib-packed latency sketches; 2: invalid counter, slice rollup, periods
KIND_SINGLE, KIND_GROUPED = 1, 2
_COUNTERS = ("late", "too_old", "too_far_ahead", "duplicates", "not_counted", "invalid")
_PERIOD = struct.Struct("<q5Qd")  # period index, good, bad, excluded, good slices, slices, ratio sum
_NO_PARTITION = -1


class SnapshotVersionError(ValueError):
    """The snapshot is of a format version this build does not read (a newer build, or a retired one)."""


class _Reader:
    __slots__ = ("view", "at")

    def __init__(self, data: bytes) -> None:
        self.view, self.at = memoryview(data), 0

    def take(self, fmt: str) -> tuple:
        layout = struct.Struct("<" + fmt)
        if self.at + layout.size > len(self.view):
            raise ValueError("truncated SLO state snapshot")
        values = layout.unpack_from(self.view, self.at)
        self.at += layout.size
        return values

    def raw(self, size: int) -> memoryview:
        if self.at + size > len(self.view):
            raise ValueError("truncated SLO state snapshot")
        self.at += size
        return self.view[self.at - size : self.at]


def _header(kind: int) -> bytes:
    return MAGIC + struct.pack("<BB", FORMAT_VERSION, kind)


def _read_header(reader: _Reader, kind: int) -> None:
    magic = bytes(reader.raw(3))
    if magic != MAGIC:
        raise ValueError("not an SLO state snapshot (bad magic bytes)")
    version, found = reader.take("BB")
    if version != FORMAT_VERSION:
        raise SnapshotVersionError(f"SLO state snapshot format {version} is unknown; this build reads format {FORMAT_VERSION}")
    if found != kind:
        raise ValueError(f"snapshot holds kind {found}, expected {kind} (1 = single state, 2 = grouped)")


def _offsets(offsets: dict) -> bytes:
    items = sorted((_NO_PARTITION if p is None else p, o) for p, o in offsets.items())
    return struct.pack("<I", len(items)) + b"".join(struct.pack("<iq", p, o) for p, o in items)


def _read_offsets(reader: _Reader) -> dict:
    (n,) = reader.take("I")
    pairs = (reader.take("iq") for _ in range(n))
    return {(None if p == _NO_PARTITION else p): o for p, o in pairs}


def _column(values: list[int]) -> bytes:
    code = narrowest_unsigned(values)
    return code.encode() + little_endian(array(code, values))


def _level_parts(ring) -> list[bytes]:
    """A level's head and three columns, as `_column` encodes them. The buckets before the head only
    change when the head advances or a late event comes (`cold_version`), so their values, maximum
    and encodings are kept on the ring between snapshots: an in-order stream re-encodes one bucket."""
    head = ring.head
    if head == EMPTY_HEAD:
        return [struct.pack("<q", head)]
    cached = ring.encoded
    first = head - ring.capacity + 1
    if cached is None or cached[0] != head or cached[1] != ring.cold_version:
        tops = []
        for which in range(3):
            cold = ring.column(which, first, head - 1) if ring.capacity > 1 else []
            tops.append([max(cold, default=0), None, b""])  # max, typecode and encoding of the cold part
        cached = ring.encoded = (head, ring.cold_version, tops)
    parts = [struct.pack("<q", head)]
    for which, entry in enumerate(cached[2]):
        value = ring.column(which, head, head)[0]
        code = narrowest_unsigned((entry[0], value))
        if entry[1] != code:
            cold = ring.column(which, first, head - 1) if ring.capacity > 1 else []
            entry[1], entry[2] = code, code.encode() + little_endian(array(code, cold))
        parts.append(entry[2] + little_endian(array(code, (value,))))
    return parts


def state_to_bytes(state: SloState) -> bytes:
    return _header(KIND_SINGLE) + _single_body(state)


def _single_body(state: SloState) -> bytes:
    parts = [struct.pack("<B", len(state.levels))]
    parts += [struct.pack("<II", lv.resolution_s, lv.capacity) for lv in state.levels]
    parts.append(struct.pack("<d6Q", state.watermark, *(getattr(state, name) for name in _COUNTERS)))
    parts.append(_offsets(state.offsets))
    for index in range(len(state.levels)):
        parts += _level_parts(state.ring.level_ring(index))
    parts.append(_sketch_section(state.sketches))
    finalizer = state.finalizer
    if finalizer is not None:
        if finalizer.rollup is not None:
            head, good, slices, ratios = finalizer.rollup.export()
            parts.append(struct.pack("<q", head))
            if head != EMPTY_HEAD:
                parts += [_column(good), _column(slices), little_endian(array("d", ratios))]
        for by_index in finalizer.totals.values():
            parts.append(struct.pack("<I", len(by_index)))
            parts += [_PERIOD.pack(index, *by_index[index].values()) for index in sorted(by_index)]
    return b"".join(parts)


def state_from_bytes(data: bytes, slo: Slo, is_excluded: Callable[[float], bool] | None = None, **options) -> SloState:
    """Rebuild the SloState of `slo` from `state_to_bytes` output (options go to SloState)."""
    reader = _Reader(data)
    _read_header(reader, KIND_SINGLE)
    state = _read_single(reader, SloState(slo, is_excluded, **options))
    if reader.at != len(data):
        raise ValueError(f"{len(data) - reader.at} stray bytes after an SLO state snapshot")
    return state


def _read_single(reader: _Reader, state: SloState) -> SloState:
    (n_levels,) = reader.take("B")
    stored = [reader.take("II") for _ in range(n_levels)]
    planned = [(lv.resolution_s, lv.capacity) for lv in state.levels]
    if stored != planned:
        raise ValueError(f"snapshot ring levels {stored} differ from the SLO's plan {planned}; the SLO's windows changed")
    watermark, *counters = reader.take("d6Q")
    state.watermark = watermark
    for name, value in zip(_COUNTERS, counters):
        setattr(state, name, value)
    state.offsets = _read_offsets(reader)
    for index, level in enumerate(state.levels):
        (head,) = reader.take("q")
        columns: tuple = ([], [], [])
        if head != EMPTY_HEAD:
            columns = tuple(_read_column(reader, level.capacity) for _ in range(3))
        state.ring.import_level(index, head, columns)
    _read_sketch_section(reader, state.sketches)
    finalizer = state.finalizer
    if finalizer is not None:
        rollup = finalizer.rollup
        if rollup is not None:
            (head,) = reader.take("q")
            if head == EMPTY_HEAD:
                rollup.restore(head, [], [], [])
            else:
                good, slices = _read_column(reader, rollup.capacity), _read_column(reader, rollup.capacity)
                ratios = from_little_endian("d", reader.raw(8 * rollup.capacity)).tolist()
                rollup.restore(head, good, slices, ratios)
        for by_index in finalizer.totals.values():
            (n_periods,) = reader.take("I")
            for _ in range(n_periods):
                index, *totals = _PERIOD.unpack(reader.raw(_PERIOD.size))
                by_index[index] = PeriodTotals(*totals)
    return state


def _sketch_section(sketches: SketchRing | None) -> bytes:
    """Tier plan, then one zlib block: the finest head and, per tier, the sketches it stores."""
    if sketches is None:
        return struct.pack("<B", 0)
    parts = [struct.pack("<B", len(sketches.levels))]
    parts += [struct.pack("<II", lv.resolution_s, lv.capacity) for lv in sketches.levels]
    head = sketches.head(0)
    body = bytearray(struct.pack("<q", EMPTY_HEAD if head is None else head))
    for index in range(len(sketches.levels)):
        stored, top = sketches.stored(index), sketches.head(index)
        put_varint(body, len(stored))
        for bucket, sketch in stored:
            put_varint(body, top - bucket)
            body += sketch.to_bytes()
    packed = zlib.compress(bytes(body), 6)
    return b"".join(parts) + struct.pack("<I", len(packed)) + packed


def _read_sketch_section(reader: _Reader, sketches: SketchRing | None) -> None:
    (n_levels,) = reader.take("B")
    stored = [reader.take("II") for _ in range(n_levels)]
    planned = [(lv.resolution_s, lv.capacity) for lv in sketches.levels] if sketches is not None else []
    if stored != planned:
        raise ValueError(f"snapshot sketch levels {stored} differ from the SLO's plan {planned}; the SLO's windows changed")
    if sketches is None:
        return
    (size,) = reader.take("I")
    try:
        body = zlib.decompress(reader.raw(size))
    except zlib.error as error:
        raise ValueError(f"corrupt latency sketches in SLO state snapshot: {error}") from None
    (head,) = struct.unpack_from("<q", body)
    sketches.set_head(0, head)
    at = 8
    for index in range(n_levels):
        top = sketches.head(index)
        count, at = get_varint(body, at)
        for _ in range(count):
            back, at = get_varint(body, at)
            sketch, used = LatencySketch.read(memoryview(body)[at:])
            at += used
            sketches.put(index, top - back, sketch)
    if at != len(body):
        raise ValueError(f"{len(body) - at} stray bytes after the latency sketches of an SLO state snapshot")


def _read_column(reader: _Reader, capacity: int) -> list[int]:
    code = bytes(reader.raw(1)).decode()
    if code not in "BHIQ":
        raise ValueError(f"unknown column typecode {code!r} in SLO state snapshot")
    return from_little_endian(code, reader.raw(array(code).itemsize * capacity)).tolist()


def grouped_to_bytes(state: GroupedSloState) -> bytes:
    parts = [_header(KIND_GROUPED), _offsets(state.offsets)]
    parts.append(struct.pack("<QQI", state.duplicates, state.overflowed, len(state.groups)))
    for name, group in state.groups.items():
        encoded, body = name.encode(), _single_body(group)
        parts.append(struct.pack("<H", len(encoded)) + encoded + struct.pack("<I", len(body)) + body)
    return b"".join(parts)


def grouped_from_bytes(
    data: bytes, slo: Slo, is_excluded: Callable[[float], bool] | None = None, **options
) -> GroupedSloState:
    reader = _Reader(data)
    _read_header(reader, KIND_GROUPED)
    grouped = GroupedSloState(slo, is_excluded, **options)
    grouped.offsets = _read_offsets(reader)
    grouped.duplicates, grouped.overflowed, n_groups = reader.take("QQI")
    for _ in range(n_groups):
        (name_length,) = reader.take("H")
        name = bytes(reader.raw(name_length)).decode()
        (body_length,) = reader.take("I")
        end = reader.at + body_length
        grouped.groups[name] = _read_single(reader, grouped.make_state())
        if reader.at != end:
            raise ValueError(f"group {name!r} snapshot has {end - reader.at} unread bytes")
    if reader.at != len(data):
        raise ValueError(f"{len(data) - reader.at} stray bytes after a grouped SLO state snapshot")
    return grouped
