"""Split one decoded record into what this partition counts, what belongs elsewhere, and dead letters.

A service's state must live on one partition, or its windows would be split between workers (and
its table changelog between partitions). The home partition of a service is the Java client's
murmur2(service) mod partitions, what kafka-python, aiokafka and the Java producer pick for key =
service. Events on their home partition are counted where they land; the others (unkeyed records,
records keyed by another service, or keyed by a client with another partitioner, like librdkafka's
default CRC32) are re-published keyed by service to their home partition, one batch per service.
Events of services outside the catalogue are not: no SLO reads them, they only bump the shared
`_unknown` counter, so they are counted where they land (re-homing 200,000 distinct unknown names
in 100-event records kept ~270 MB more in the worker, and cost one send per name).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import NamedTuple

import orjson
from kafka.partitioner.default import murmur2

from slawatch.core.event import Event
from slawatch.ingest.deadletter import DeadLetter, RecordLetters, SourceRecord
from slawatch.ingest.decode import NO_UNKNOWN_FIELDS, decode_record


# A re-homed record's value at most: the producer refuses a request over 1,000,000 bytes, and a
# near-1 MiB input record re-encodes to more than that (epoch timestamps, attribute values as strings).
REHOMED_MAX_BYTES = 512 * 1024
# Re-homed parts one record may make for one service; their dedupe position is offset * ORIGIN_PARTS
# + part. Re-encoding grows a record at most ~2.5 times (attribute numbers written as 1e15 become
# "1000000000000000.0"; measured: a 1 MiB record of those makes 5 parts) and one valid event is
# under 160 KB, so this holds for records up to ~100 MiB.
ORIGIN_PARTS = 1024


class Rehomed(NamedTuple):
    """Valid events of one service, re-published to its home partition: one part of its share of a record."""

    service: str
    home: int
    value: bytes  # JSON array of at most REHOMED_MAX_BYTES
    count: int
    part: int  # 0, 1, ... in event order; several only when the service's events do not fit one record


class Routed(NamedTuple):
    local: list[Event]  # this record's key is their service, or no SLO reads them: count them here
    reroute: list[Rehomed]
    dead: list[DeadLetter]
    invalid_reasons: list[str]
    # unknown top-level field -> valid events of the record that carried it (ignored, for counting);
    # read-only: a record without unknown fields shares decode.NO_UNKNOWN_FIELDS
    unknown_fields: Counter[str] = NO_UNKNOWN_FIELDS


@lru_cache(maxsize=65_536)
def home_partition(service: str, partitions: int) -> int:
    return (murmur2(service.encode()) & 0x7FFFFFFF) % partitions


def route_record(source: SourceRecord, partitions: int, now: float, max_bytes: int, max_future_skew_s: float,
                 strict: bool = False, known_services: frozenset[str] | None = None) -> Routed:
    """`strict`: refuse events with unknown top-level fields (else they count, the fields reported).
    `known_services`: the catalogue's; events of other services are counted where they land, since
    no SLO reads them (None: every service may have SLOs, so every event goes home)."""
    decoded = decode_record(source.value, now, max_bytes, max_future_skew_s, strict)
    letters = RecordLetters(source, now) if decoded.invalid else None
    dead = [letters.letter(inv) for inv in decoded.invalid]
    reasons = [inv.reason for inv in decoded.invalid]
    here = source.partition
    local: list[Event] = []
    elsewhere: dict[str, list[Event]] = {}
    for event in decoded.events:
        service = event.service
        if (known_services is not None and service not in known_services) or home_partition(service, partitions) == here:
            local.append(event)
        else:
            elsewhere.setdefault(service, []).append(event)
    reroute = [Rehomed(service, home_partition(service, partitions), value, count, part)
               for service, events in elsewhere.items()
               for part, (value, count) in enumerate(encode_parts(events))]
    return Routed(local, reroute, dead, reasons, decoded.unknown_fields)


def origin_header(partition: int, offset: int, part: int) -> bytes:
    """The `slawatch_origin` value of a re-homed record: where its events were first read, and which part."""
    return f"{partition}:{offset}:{part}".encode()


class DedupePosition(NamedTuple):
    """Where a record's events are de-duplicated: a partition and an offset in it (`origin_position`)."""

    partition: int
    offset: int


def origin_position(value: bytes) -> DedupePosition | None:
    """(origin partition, dedupe offset) of an origin header: offset * ORIGIN_PARTS + part, so the
    parts of one origin count one after the other, each once, and a redelivered part is a duplicate.
    A header without a part (written before parts existed) is its bare origin offset: those records
    all lie before any with parts in a partition's log. None for a header that is not an origin (any
    producer can set one; it must not stop the worker)."""
    try:
        fields = [int(field) for field in value.decode("ascii").split(":")]
    except (UnicodeDecodeError, ValueError):
        return None
    if len(fields) == 2 and min(fields) >= 0:
        return DedupePosition(fields[0], fields[1])
    if len(fields) == 3 and min(fields) >= 0 and fields[2] < ORIGIN_PARTS:
        return DedupePosition(fields[0], fields[1] * ORIGIN_PARTS + fields[2])
    return None


def unknown_field_example(source: SourceRecord, limit: int = 300) -> str:
    """Where a record with unknown fields was and how it starts, for the one log line per new field."""
    value = (source.value or b"")[:limit].decode("utf-8", "replace")
    return f"{source.topic}/{source.partition}/{source.offset} {value}"


def encode_events(events: list[Event]) -> bytes:
    """Schema-v1 JSON array (epoch-second timestamps), the inverse of decode_record."""
    return orjson.dumps([_event_doc(e) for e in events])


def encode_parts(events: list[Event], max_bytes: int = REHOMED_MAX_BYTES) -> list[tuple[bytes, int]]:
    """`encode_events` cut into arrays of at most `max_bytes`, in order: (JSON array, event count)
    per part. One valid event encodes to under 160 KB (every text field is bounded), so each fits."""
    whole = encode_events(events)
    if len(whole) <= max_bytes:
        return [(whole, len(events))]
    parts: list[tuple[bytes, int]] = []
    run: list[bytes] = []
    size = 2  # the brackets
    for encoded in (orjson.dumps(_event_doc(e)) for e in events):
        if run and size + 1 + len(encoded) > max_bytes:
            parts.append((b"[" + b",".join(run) + b"]", len(run)))
            run, size = [], 2
        size += len(encoded) + (1 if run else 0)
        run.append(encoded)
    parts.append((b"[" + b",".join(run) + b"]", len(run)))
    return parts


def _event_doc(e: Event) -> dict:
    doc = {"service": e.service, "ts": e.ts, "ok": e.ok}
    for name in ("latency_ms", "operation", "customer", "region", "attributes"):
        value = getattr(e, name)
        if value is not None:
            doc[name] = value
    return doc
