"""The dead-letter record: a bounded prefix of the original bytes, plus where they came from and why.

The value is a JSON envelope (topics/sla.deadletter.yaml) so one consumer can read every failure
without knowing the input format; the reason is also a header so it can be filtered unparsed.
Every dead letter fits in DEADLETTER_MAX_BYTES, whatever it reports: a record refused for being
too large must not yield a dead letter the producer refuses in turn (the agent would crash on it).
So the original is kept whole when it fits, else as its first bytes, always with its full length
and SHA-256; free text (message, field, element) is cut to fixed lengths first.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone
from typing import NamedTuple

import orjson

from slawatch.conventions import HEADER_REASON, HEADER_SOURCE
from slawatch.ingest.decode import Invalid

# Key + header names and values + value of one dead-letter record. Faust's producer refuses a
# record over 1,000,000 bytes (producer_max_request_size), record-batch overhead included.
DEADLETTER_MAX_BYTES = 512 * 1024
MAX_KEY_BYTES = 1024  # a service name is at most 200 characters; a longer key is kept as its prefix
MAX_REASON_CHARS = 64
MAX_TOPIC_CHARS = 249  # Kafka's own limit on topic names
MAX_FIELD_CHARS = 256
MAX_MESSAGE_CHARS = 1024
MAX_ELEMENT_BYTES = 16 * 1024  # the element's JSON; a larger one is kept as a string of its prefix
_CUT = "…"


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
    """The envelope of one refused record or element, at most DEADLETTER_MAX_BYTES in all."""
    original = source.value or b""
    reason = _cut(invalid.reason, MAX_REASON_CHARS)
    topic = _cut(source.topic, MAX_TOPIC_CHARS)
    element, element_truncated = _bounded_element(invalid.element)
    envelope = {
        "schema_version": 1,
        "reason": reason,
        "message": _cut(invalid.message, MAX_MESSAGE_CHARS),
        "field": None if invalid.field is None else _cut(invalid.field, MAX_FIELD_CHARS),
        "source": {
            "topic": topic,
            "partition": source.partition,
            "offset": source.offset,
            "timestamp_ms": source.timestamp_ms,
        },
        "index": invalid.index,
        "element": element,
        "element_truncated": element_truncated,
        "original_b64": "",
        "original_bytes": len(original),
        "original_sha256": hashlib.sha256(original).hexdigest(),
        "original_truncated": False,  # measured as "false", one byte longer than the "true" it may become
        "observed_at": datetime.fromtimestamp(observed_at, timezone.utc).isoformat().replace("+00:00", "Z"),
    }
    key = None if source.key is None else source.key[:MAX_KEY_BYTES]
    headers = [(HEADER_REASON, reason.encode()), (HEADER_SOURCE, f"{topic}/{source.partition}/{source.offset}".encode())]
    room = DEADLETTER_MAX_BYTES - len(key or b"") - sum(len(k) + len(v) for k, v in headers)
    room -= len(orjson.dumps(envelope, default=repr))
    kept = original[: max(0, room // 4) * 3]  # base64 turns each 3 bytes into 4 characters JSON needs no escape for
    envelope["original_b64"] = base64.b64encode(kept).decode("ascii")
    envelope["original_truncated"] = len(kept) < len(original)
    return DeadLetter(key, orjson.dumps(envelope, default=repr), headers)


def dead_letter_size(dead: DeadLetter) -> int:
    """What DEADLETTER_MAX_BYTES bounds: key, header names and values, and value."""
    return len(dead.key or b"") + sum(len(k) + len(v) for k, v in dead.headers) + len(dead.value)


def _bounded_element(element: object) -> tuple[object, bool]:
    """The element as decoded if its JSON fits MAX_ELEMENT_BYTES, else the start of that JSON as a string."""
    if element is None:
        return None, False
    encoded = orjson.dumps(element, default=repr)
    if len(encoded) <= MAX_ELEMENT_BYTES:
        return element, False
    return encoded[:MAX_ELEMENT_BYTES].decode("utf-8", "ignore"), True


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _CUT
