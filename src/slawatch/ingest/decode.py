"""Decode and validate one `sla.events` record (schema v1): one event, or a JSON array of events.

This is the per-event hot path, so it is hand-written rather than a generic JSON Schema validator;
tests/test_decode.py checks that it accepts and refuses exactly what topics/sla.events.yaml says.
A bad event inside a batch is refused alone: the caller dead-letters it and keeps its neighbours.
Unknown top-level fields are ignored, so a producer that adds one does not see every event
dead-lettered, but reported (which names, in how many events), so a typo (`latncy_ms`) stays
visible; `strict` refuses them instead. Wall-clock `now` is a parameter, never read here.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime
from typing import NamedTuple

import orjson

from slawatch.core.event import Event

EARLIEST_TS = 946_684_800.0  # 2000-01-01T00:00:00Z: anything before is a unit or clock error
MAX_TEXT = 200
MAX_ATTRIBUTES = 64
FIELDS = ("service", "ts", "ok", "latency_ms", "operation", "customer", "region", "attributes")
_FIELD_SET = frozenset(FIELDS)
# ASCII digits only, as the schema's pattern: `\d` also matches other scripts' digits, which
# datetime.fromisoformat refuses.
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z")


class Invalid(NamedTuple):
    """Why one record, or one event of a batch record, was refused."""

    reason: str  # a code from topics/sla.deadletter.yaml
    message: str  # what is wrong and what would be valid
    field: str | None = None
    index: int | None = None  # position in a batch record
    element: object = None  # the offending element, for batch members


# What a record without unknown fields reports: one shared Counter (a new one costs ~0.5 us, a
# quarter of a one-event record's decoding), so read it, never change it.
NO_UNKNOWN_FIELDS: Counter[str] = Counter()


class Decoded(NamedTuple):
    events: list[Event]
    invalid: list[Invalid]
    unknown_fields: Counter[str] = NO_UNKNOWN_FIELDS  # unknown top-level field -> valid events that carried it


class _Refused(Exception):
    def __init__(self, reason: str, message: str, field: str | None = None) -> None:
        self.invalid = Invalid(reason, message, field)


def decode_record(value: bytes | None, now: float, max_bytes: int = 1_048_576, max_future_skew_s: float = 86_400.0,
                  strict: bool = False) -> Decoded:
    """All valid events of the record, one Invalid per refused record or element, and the unknown
    top-level fields of the valid events (`strict`: an event with one is refused as unknown_field)."""
    if value is None or len(value) == 0:
        return Decoded([], [Invalid("not_json", "the record has no value; expected a JSON event or array of events")])
    if len(value) > max_bytes:
        return Decoded([], [Invalid("record_too_large", f"the record is {len(value)} bytes; the limit is {max_bytes}")])
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        reason = "not_utf8" if "UTF-8" in str(exc) else "not_json"
        return Decoded([], [Invalid(reason, f"the value is not valid JSON: {exc}")])
    latest = now + max_future_skew_s
    unknown: list[str] = []
    if type(doc) is dict:
        try:
            event = _event(doc, latest, strict, unknown)
        except _Refused as refused:
            return Decoded([], [refused.invalid])
        return Decoded([event], [], Counter(unknown) if unknown else NO_UNKNOWN_FIELDS)
    if type(doc) is not list:
        return Decoded([], [Invalid("not_an_event", f"expected an event object or an array of them, got {_kind(doc)}")])
    if not doc:
        return Decoded([], [Invalid("empty_batch", "the array holds no events")])
    events: list[Event] = []
    invalid: list[Invalid] = []
    for index, element in enumerate(doc):
        try:
            if type(element) is not dict:
                raise _Refused("not_an_event", f"batch element {index} is {_kind(element)}, expected an event object")
            events.append(_event(element, latest, strict, unknown))
        except _Refused as refused:
            invalid.append(refused.invalid._replace(index=index, element=element))
    return Decoded(events, invalid, Counter(unknown) if unknown else NO_UNKNOWN_FIELDS)


def _event(doc: dict, latest: float, strict: bool, unknown_seen: list[str]) -> Event:
    """The event of `doc`; its unknown field names are added to `unknown_seen` only if it is valid."""
    unknown = None
    if not _FIELD_SET.issuperset(doc):
        unknown = sorted(set(doc) - _FIELD_SET)
        if strict:
            raise _Refused(
                "unknown_field",
                f"unknown field(s) {', '.join(unknown)}; schema v1 has {', '.join(FIELDS)} (put extra data under attributes)",
                unknown[0],
            )
    service = doc.get("service")
    if type(service) is not str or not service or len(service) > MAX_TEXT:
        _refuse_text("service", service, required=True)
    ok = doc.get("ok")
    if type(ok) is not bool:
        if ok is None:
            raise _Refused("missing_field", "ok is required: true if the request succeeded, else false", "ok")
        raise _Refused("wrong_type", f"ok must be true or false, got {_kind(ok)}", "ok")
    ts = _timestamp(doc.get("ts"), latest)
    latency = doc.get("latency_ms")
    if latency is not None:
        if type(latency) not in (int, float) or not math.isfinite(latency) or latency < 0:
            raise _Refused("bad_latency", f"latency_ms must be a finite number >= 0, got {latency!r}", "latency_ms")
        latency = float(latency)
    operation = doc.get("operation")
    customer = doc.get("customer")
    region = doc.get("region")
    for name, text in (("operation", operation), ("customer", customer), ("region", region)):
        if text is not None and (type(text) is not str or len(text) > MAX_TEXT):
            _refuse_text(name, text, required=False)
    attributes = doc.get("attributes")
    if attributes is not None:
        attributes = _attributes(attributes)
    if unknown:
        unknown_seen.extend(unknown)
    return Event(service, ts, ok, latency, operation, customer, region, attributes)


def _timestamp(ts: object, latest: float) -> float:
    kind = type(ts)
    if kind is float or kind is int:
        value = float(ts)
    elif kind is str:
        if not _RFC3339.match(ts):
            raise _Refused("bad_timestamp", f"ts {ts!r} is not RFC 3339 (e.g. 2026-12-01T10:15:30.25Z) nor epoch seconds", "ts")
        try:
            value = datetime.fromisoformat(ts.upper().replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError):  # 2026-02-30, month 13, hour 24, offset +24:00, year 0
            raise _Refused("bad_timestamp", f"ts {ts!r} is not a real date and time (month 1-12, a day of that month, "
                                            "hour 0-23, minute and second 0-59, offset under 24 h)", "ts") from None
    elif ts is None:
        raise _Refused("missing_field", "ts is required: RFC 3339 string or epoch seconds", "ts")
    else:
        raise _Refused("bad_timestamp", f"ts must be an RFC 3339 string or epoch seconds, got {_kind(ts)}", "ts")
    if not EARLIEST_TS <= value <= latest:
        raise _Refused(
            "timestamp_out_of_range",
            f"ts {ts!r} is outside 2000-01-01 .. now + allowed skew (milliseconds sent as seconds?)",
            "ts",
        )
    return value


def _attributes(attributes: object) -> dict[str, str]:
    if type(attributes) is not dict:
        raise _Refused("bad_attributes", f"attributes must be a flat object, got {_kind(attributes)}", "attributes")
    if len(attributes) > MAX_ATTRIBUTES:
        raise _Refused("bad_attributes", f"attributes holds {len(attributes)} keys; the limit is {MAX_ATTRIBUTES}", "attributes")
    out = {}
    for key, value in attributes.items():
        if len(key) > MAX_TEXT:  # bounds a valid event's size, so a re-homed one always fits a record
            raise _Refused("value_too_long", f"attribute name {key[:40]!r}... is longer than {MAX_TEXT} characters",
                           f"attributes.{key[:MAX_TEXT]}")
        kind = type(value)
        if kind is str:
            if len(value) > MAX_TEXT:
                raise _Refused("value_too_long", f"attributes.{key} is longer than {MAX_TEXT} characters", f"attributes.{key}")
            out[key] = value
        elif kind is bool:
            out[key] = "true" if value else "false"
        elif kind is int or kind is float:
            out[key] = repr(value)
        else:
            raise _Refused("bad_attributes", f"attributes.{key} must be a string, number or boolean, got {_kind(value)}", f"attributes.{key}")
    return out


def _refuse_text(name: str, value: object, required: bool) -> None:
    if value is None and required:
        raise _Refused("missing_field", f"{name} is required: a non-empty string", name)
    if type(value) is str:
        reason = "value_too_long" if value else "wrong_type"
        raise _Refused(reason, f"{name} must be a non-empty string of at most {MAX_TEXT} characters", name)
    raise _Refused("wrong_type", f"{name} must be a string, got {_kind(value)}", name)


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)
