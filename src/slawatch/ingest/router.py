"""Split one decoded record into what this partition counts, what belongs elsewhere, and dead letters.

A service's state must live on one partition, or its windows would be split between workers (and
its table changelog between partitions). The home partition of a service is the Java client's
murmur2(service) mod partitions, what kafka-python, aiokafka and the Java producer pick for key =
service. Events on their home partition are counted where they land; the others (unkeyed records,
records keyed by another service, or keyed by a client with another partitioner, like librdkafka's
default CRC32) are re-published keyed by service to their home partition, one batch per service.
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


class Routed(NamedTuple):
    local: list[Event]  # this record's key is their service: count them here
    reroute: dict[str, tuple[int, bytes, int]]  # service -> (home partition, JSON array, event count)
    dead: list[DeadLetter]
    invalid_reasons: list[str]
    # unknown top-level field -> valid events of the record that carried it (ignored, for counting);
    # read-only: a record without unknown fields shares decode.NO_UNKNOWN_FIELDS
    unknown_fields: Counter[str] = NO_UNKNOWN_FIELDS


@lru_cache(maxsize=65_536)
def home_partition(service: str, partitions: int) -> int:
    return (murmur2(service.encode()) & 0x7FFFFFFF) % partitions


def route_record(source: SourceRecord, partitions: int, now: float, max_bytes: int, max_future_s: float,
                 strict: bool = False) -> Routed:
    """`strict`: refuse events with unknown top-level fields (else they count, the fields reported)."""
    decoded = decode_record(source.value, now, max_bytes, max_future_s, strict)
    letters = RecordLetters(source, now) if decoded.invalid else None
    dead = [letters.letter(inv) for inv in decoded.invalid]
    reasons = [inv.reason for inv in decoded.invalid]
    here = source.partition
    local: list[Event] = []
    elsewhere: dict[str, list[Event]] = {}
    for event in decoded.events:
        if home_partition(event.service, partitions) == here:
            local.append(event)
        else:
            elsewhere.setdefault(event.service, []).append(event)
    reroute = {s: (home_partition(s, partitions), encode_events(evs), len(evs)) for s, evs in elsewhere.items()}
    return Routed(local, reroute, dead, reasons, decoded.unknown_fields)


def unknown_field_example(source: SourceRecord, limit: int = 300) -> str:
    """Where a record with unknown fields was and how it starts, for the one log line per new field."""
    value = (source.value or b"")[:limit].decode("utf-8", "replace")
    return f"{source.topic}/{source.partition}/{source.offset} {value}"


def encode_events(events: list[Event]) -> bytes:
    """Schema-v1 JSON array (epoch-second timestamps), the inverse of decode_record."""
    docs = []
    for e in events:
        doc = {"service": e.service, "ts": e.ts, "ok": e.ok}
        for name in ("latency_ms", "operation", "customer", "region", "attributes"):
            value = getattr(e, name)
            if value is not None:
                doc[name] = value
        docs.append(doc)
    return orjson.dumps(docs)
