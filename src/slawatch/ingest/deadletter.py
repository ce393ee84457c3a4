"""The dead-letter record: a bounded prefix of the original bytes, plus where they came from and why.

The value is a JSON envelope (topics/sla.deadletter.yaml) so one consumer can read every failure
without knowing the input format; the reason is also a header so it can be filtered unparsed.
Every dead letter fits in DEADLETTER_MAX_BYTES, whatever it reports: a record refused for being
too large must not yield a dead letter the producer refuses in turn (the agent would crash on it).
So the original is kept whole when it fits, else as its first bytes, always with its full length
and SHA-256; free text (message, field, element) is cut to fixed lengths first. A record with many
refused elements carries its bytes in its first letters only (`RecordLetters`), so the dead letters
of one record stay within a fixed multiple of its size.
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
ORIGINAL_SHARED_BYTES = 64 * 1024  # of one record's bytes, carried by its letters after the first
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
    return RecordLetters(source, observed_at).letter(invalid)


class RecordLetters:
    """The dead letters of one source record: its SHA-256 computed once, and its bytes carried by
    its first letter (whole or a prefix), and by the next ones only while all of them together have
    carried at most ORIGINAL_SHARED_BYTES; later letters keep the length and hash, not the bytes.

    A record refused element by element would otherwise be copied once per element: an 800 KB
    array of 400,000 numbers made 400,000 letters of 512 KiB each, and the worker ran out of memory
    on it at every restart."""

    def __init__(self, source: SourceRecord, observed_at: float) -> None:
        self.source = source
        self.observed_at = datetime.fromtimestamp(observed_at, timezone.utc).isoformat().replace("+00:00", "Z")
        self.original = source.value or b""
        self.sha256 = hashlib.sha256(self.original).hexdigest()
        self.carried = 0
        self.written = 0

    def letter(self, invalid: Invalid) -> DeadLetter:
        with_original = self.written == 0 or self.carried + len(self.original) <= ORIGINAL_SHARED_BYTES
        letter, kept = self._letter(invalid, with_original)
        self.written += 1
        self.carried += kept
        return letter

    def _letter(self, invalid: Invalid, with_original: bool) -> tuple[DeadLetter, int]:
        source, original = self.source, self.original
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
            "original_sha256": self.sha256,
            "original_truncated": False,  # measured as "false", one byte longer than the "true" it may become
            "observed_at": self.observed_at,
        }
        key = None if source.key is None else source.key[:MAX_KEY_BYTES]
        headers = [(HEADER_REASON, reason.encode()), (HEADER_SOURCE, f"{topic}/{source.partition}/{source.offset}".encode())]
        kept = b""
        if with_original and original:
            room = DEADLETTER_MAX_BYTES - len(key or b"") - sum(len(k) + len(v) for k, v in headers)
            room -= len(orjson.dumps(envelope, default=repr))
            kept = original[: max(0, room // 4) * 3]  # base64 turns each 3 bytes into 4 characters JSON needs no escape for
            envelope["original_b64"] = base64.b64encode(kept).decode("ascii")
        envelope["original_truncated"] = len(kept) < len(original)
        return DeadLetter(key, orjson.dumps(envelope, default=repr), headers), len(kept)


def dead_letter_size(dead: DeadLetter) -> int:
    """What DEADLETTER_MAX_BYTES bounds: key, header names and values, and value."""
    return len(dead.key or b"") + sum(len(k) + len(v) for k, v in dead.headers) + len(dead.value)


def _bounded_element(element: object) -> tuple[object, bool]:
    """The element as decoded if its JSON fits MAX_ELEMENT_BYTES, else the start of that JSON as a string.

    Encoded one level deeper than itself, as in the envelope: orjson refuses to write more than 254
    levels, and the decoder accepts 1,024, so a deeply nested element is written without orjson."""
    if element is None:
        return None, False
    try:
        encoded = orjson.dumps([element], default=repr)[1:-1]
    except orjson.JSONEncodeError:
        return _json_prefix(element, MAX_ELEMENT_BYTES), True
    if len(encoded) <= MAX_ELEMENT_BYTES:
        return element, False
    return encoded[:MAX_ELEMENT_BYTES].decode("utf-8", "ignore"), True


class _Text(str):
    """JSON text already written, on `_json_prefix`'s stack beside values still to write."""


def _json_prefix(value: object, limit: int) -> str:
    """The first `limit` characters of `value`'s JSON, written with a stack instead of recursion."""
    out: list[str] = []
    size = 0
    todo: list[object] = [value]
    while todo and size < limit:
        item = todo.pop()
        if type(item) is list:
            depth = 1
            while len(item) == 1 and type(item[0]) is list and depth < limit:  # [[[[...]]]] in one step
                item = item[0]
                depth += 1
            piece, children, close = "[" * depth, [(None, child) for child in item], "]" * depth
        elif type(item) is dict:
            piece, children, close = "{", list(item.items()), "}"
        else:
            piece = item if type(item) is _Text else orjson.dumps(item, default=repr).decode()
            children = None
        if children is not None:
            todo.append(_Text(close))
            for n, (key, child) in enumerate(reversed(children)):
                if n:
                    todo.append(_Text(","))
                todo.append(child)
                if key is not None:
                    todo.append(_Text(orjson.dumps(key).decode() + ":"))
        out.append(piece)
        size += len(piece)
    return "".join(out)[:limit]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _CUT
