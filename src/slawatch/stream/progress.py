"""Where each `sla.events` partition resumes: the worker's own record, not Faust's commits.

Faust acks and commits offsets, but its recovery and commit paths have lost records (see
kafka_fixes.py), so completeness does not rest on them. Per partition the worker keeps the highest
*contiguous* offset whose effects (SLO checkpoints, dead letters, re-homed events, alerts) are all
acknowledged by the broker: a `Progress` record in the `events_progress` table, co-partitioned with
`sla.events`, written once per batch after the send barrier. On every assignment the partition
resumes right after it.

While consuming, `OffsetTracker` checks each record against the next offset expected:
- below it: already applied and checkpointed, dropped before decoding (a redelivery);
- at it: taken;
- above it: a gap. Before a batch is processed the caller looks in the log: offsets absent from the
  log (retention, transaction markers) are skipped and counted; offsets the log holds were fetched
  and lost inside this process, and the worker stops rather than continue past them (its successor
  resumes at the first of them).

A `Progress` also names the record at its offset (CRC-32 of key and value, and its timestamp): if at
the next assignment that offset holds another record or none, the topic is not the log the progress
was made on (recreated, or an in-memory broker restarted), so its dedupe state is reset instead of
dropping every new record as already seen.
"""

from __future__ import annotations

import enum
import zlib
from typing import NamedTuple

import orjson


class Progress(NamedTuple):
    """The last contiguous offset applied and checkpointed on a partition, and what record it is."""

    offset: int
    crc: int  # CRC-32 of key + value of the record at `offset`
    timestamp_ms: int | None

    def to_bytes(self) -> bytes:
        return orjson.dumps({"offset": self.offset, "crc": self.crc, "timestamp_ms": self.timestamp_ms})

    @classmethod
    def from_bytes(cls, data: bytes) -> Progress:
        doc = orjson.loads(data)
        return cls(int(doc["offset"]), int(doc["crc"]), doc.get("timestamp_ms"))


def record_crc(key: bytes | None, value: bytes | None) -> int:
    return zlib.crc32(value or b"", zlib.crc32(key or b""))


class Admit(enum.IntEnum):
    TAKE = 0  # the expected record (or the first on a partition without progress)
    APPLIED = 1  # below the expected offset: applied and checkpointed already
    GAP = 2  # above the expected offset: the records in between are missing


class Gap(NamedTuple):
    partition: int
    expected: int  # the first missing offset
    seen: int  # the offset that arrived instead


class OffsetTracker:
    """The next offset expected per partition, and the rules above. Pure."""

    def __init__(self) -> None:
        self._expected: dict[int, int | None] = {}  # None: take whatever comes first
        self._absent: dict[int, dict[int, int]] = {}  # partition -> {first absent offset: the offset after the run}

    def start(self, partition: int, next_offset: int | None) -> None:
        """The partition was (re)assigned and resumes at `next_offset` (None: no progress known)."""
        self._expected[partition] = next_offset
        self._absent.pop(partition, None)

    def forget(self, partition: int) -> None:
        self._expected.pop(partition, None)
        self._absent.pop(partition, None)

    def expected(self, partition: int) -> int | None:
        return self._expected.get(partition)

    def gaps(self, positions: list[tuple[int, int]]) -> list[Gap]:
        """The gaps that admitting these (partition, offset) pairs in order would meet; changes nothing."""
        expected = dict(self._expected)
        found = []
        for partition, offset in positions:
            want = self._past_absent(partition, expected.get(partition), offset)
            if want is not None and offset > want:
                found.append(Gap(partition, want, offset))
            if want is None or offset >= want:
                expected[partition] = offset + 1
        return found

    def skip(self, gap: Gap) -> None:
        """The gap's offsets are absent from the log: when the partition reaches them, expect `gap.seen`.
        Not at once: the batch that showed the gap may hold records before it, still to be taken."""
        self._absent.setdefault(gap.partition, {})[gap.expected] = gap.seen

    def admit(self, partition: int, offset: int) -> Admit:
        expected = self._past_absent(partition, self._expected.get(partition), offset)
        if expected is not None:
            if offset < expected:
                return Admit.APPLIED
            if offset > expected:
                return Admit.GAP
        self._absent.get(partition, {}).pop(self._expected.get(partition), None)
        self._expected[partition] = offset + 1
        return Admit.TAKE

    def _past_absent(self, partition: int, expected: int | None, offset: int) -> int | None:
        """`expected`, or the end of the absent run that starts there when `offset` is at or past it."""
        if expected is None or offset <= expected:
            return expected
        end = self._absent.get(partition, {}).get(expected)
        return end if end is not None and offset >= end else expected


class LostRecords(RuntimeError):
    """Records the log holds never reached the batch path: the worker must not continue past them."""

    def __init__(self, topic: str, gap: Gap) -> None:
        super().__init__(
            f"{topic}:{gap.partition}: offsets {gap.expected}..{gap.seen - 1} are in the log but were never "
            f"delivered to the worker; stopping so that processing resumes at offset {gap.expected}")
        self.gap = gap
