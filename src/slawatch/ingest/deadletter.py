"""The dead-letter record: the original bytes, exactly, plus where they came from and why.

The value is a JSON envelope (topics/sla.deadletter.yaml) so one consumer can read every failure
without knowing the input format; the reason is also a header so it can be filtered unparsed.
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import NamedTuple

import orjson

from slawatch.conventions import HEADER_REASON, HEADER_SOURCE
from slawatch.ingest.decode import Invalid


class SourceRecord(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None


class DeadLetter(NamedTuple):
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def dead_letter(invalid: Invalid, source: SourceRecord, observed_at: float) -> DeadLetter:
    envelope = {
        "schema_version": 1,
        "reason": invalid.reason,
        "message": invalid.message,
        "field": invalid.field,
        "source": {
            "topic": source.topic,
            "partition": source.partition,
            "offset": source.offset,
            "timestamp_ms": source.timestamp_ms,
        },
        "index": invalid.index,
        "element": invalid.element,
        "original_b64": base64.b64encode(source.value or b"").decode("ascii"),
        "observed_at": datetime.fromtimestamp(observed_at, timezone.utc).isoformat().replace("+00:00", "Z"),
    }
    where = f"{source.topic}/{source.partition}/{source.offset}".encode()
    value = orjson.dumps(envelope, default=repr)
    return DeadLetter(source.key, value, [(HEADER_REASON, invalid.reason.encode()), (HEADER_SOURCE, where)])
