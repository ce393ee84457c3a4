"""Whatever bytes arrive, decoding and routing answer with events or reasons: they never raise.

A record that made the decoder raise would stop the worker on every restart (a batch that fails is
not acked), so no input may. The records come from the hostile grammar (tests/hostile_values.py),
walked by a Random that hypothesis draws and shrinks, and from arbitrary bytes.
"""

from __future__ import annotations

import base64
import hashlib
import random

import orjson
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile_values import HostileGrammar, Record
from kafka_helpers import REPO
from slawatch.ingest.deadletter import (
    DEADLETTER_MAX_BYTES,
    MAX_ELEMENT_BYTES,
    ORIGINAL_SHARED_BYTES,
    SourceRecord,
    _json_prefix,
    dead_letter_size,
)
from slawatch.ingest.decode import decode_record
from slawatch.ingest.router import origin_position, route_record

NOW = 1_796_000_000.0
SERVICES = ("checkout", "payments", "search")
REASONS = set(yaml.safe_load((REPO / "topics" / "sla.deadletter.yaml").read_text())["value_schema"]
              ["properties"]["reason"]["enum"])
hostile = st.randoms(use_true_random=False).map(lambda rng: HostileGrammar(rng, NOW, SERVICES).record())
arbitrary = st.builds(Record, st.none() | st.binary(max_size=8), st.none() | st.binary(max_size=2_000))


def elements_of(value: bytes | None) -> int:
    """How many answers a record owes: one per element of a non-empty array, else one."""
    try:
        doc = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return 1
    return len(doc) if type(doc) is list and doc else 1


def assert_accounted(record: Record) -> None:
    decoded = decode_record(record.value, NOW)
    assert len(decoded.events) + len(decoded.invalid) == elements_of(record.value)
    assert {i.reason for i in decoded.invalid} <= REASONS
    assert all(i.message for i in decoded.invalid)
    routed = route_record(SourceRecord("sla.events", 1, 7, record.key, record.value), 4, NOW, 1_048_576, 86_400.0)
    assert all(origin_position(value) is None for _, value in record.headers or [])
    assert len(routed.dead) == len(decoded.invalid) == len(routed.invalid_reasons)
    for dead in routed.dead:
        assert dead_letter_size(dead) <= DEADLETTER_MAX_BYTES
        assert orjson.loads(dead.value)["reason"] in REASONS


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile)
def test_a_hostile_record_decodes_to_events_or_reasons_and_routes_without_raising(record):
    assert_accounted(record)


@settings(max_examples=300, deadline=None)
@given(arbitrary)
def test_arbitrary_bytes_decode_to_events_or_reasons_and_route_without_raising(record):
    assert_accounted(record)


@settings(deadline=None)
@given(st.text(alphabet="0123456789-+:.TZtz \u0662\u0660", min_size=10, max_size=35))
def test_a_timestamp_that_looks_like_rfc3339_is_a_time_or_a_reason(ts):
    doc = {"service": "search", "ts": ts, "ok": True}
    decoded = decode_record(orjson.dumps(doc), NOW)
    assert len(decoded.events) + len(decoded.invalid) == 1


def route(value: bytes):
    return route_record(SourceRecord("sla.events", 1, 7, None, value), 4, NOW, 1_048_576, 86_400.0)


def test_an_element_nested_deeper_than_the_encoder_writes_is_dead_lettered_as_the_start_of_its_json():
    for depth in (253, 254, 300, 1_000):
        [dead] = route(b"[" + b"[" * depth + b"]" * depth + b"]").dead
        envelope = orjson.loads(dead.value)
        assert envelope["reason"] == "not_an_event" and envelope["index"] == 0
        if envelope["element_truncated"]:
            assert envelope["element"] == ("[" * depth + "]" * depth)[:MAX_ELEMENT_BYTES]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=30,
)


@settings(deadline=None)
@given(json_values, st.integers(1, 60))
def test_the_prefix_of_a_deep_element_is_the_start_of_its_json(value, limit):
    assert _json_prefix(value, 10**6) == orjson.dumps(value).decode()
    assert _json_prefix(value, limit) == orjson.dumps(value).decode()[:limit]


def test_a_record_refused_element_by_element_carries_its_bytes_in_its_first_letters_only():
    value = b"[" + b",".join([b"1"] * 50_000) + b"]"  # 100 KB, 50,000 refused elements
    routed = route(value)
    assert len(routed.dead) == 50_000
    envelopes = [orjson.loads(d.value) for d in routed.dead]
    carried = [base64.b64decode(e["original_b64"]) for e in envelopes]
    assert carried[0] == value and not any(carried[1:])
    assert all(e["original_sha256"] == hashlib.sha256(value).hexdigest() for e in envelopes)
    assert all(e["original_truncated"] for e in envelopes[1:])
    assert sum(len(d.value) for d in routed.dead) < len(value) + 50_000 * 1_024


def test_a_small_record_carries_its_bytes_in_every_letter_up_to_the_shared_budget():
    element = b'{"service":"search","ok":"yes","ts":1.8e9}'
    value = b"[" + b",".join([element] * 50) + b"]"
    carried = [base64.b64decode(orjson.loads(d.value)["original_b64"]) for d in route(value).dead]
    whole = sum(1 for c in carried if c == value)
    assert whole == ORIGINAL_SHARED_BYTES // len(value) and not any(carried[whole:])


def test_the_grammar_is_reproducible_from_its_seed():
    def corpus(seed):
        grammar = HostileGrammar(random.Random(seed), NOW, SERVICES)
        return [grammar.record() for _ in range(200)]

    assert corpus(5) == corpus(5) != corpus(6)
