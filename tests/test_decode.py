"""The event decoder accepts and refuses exactly what topics/sla.events.yaml says, with a reason."""

from __future__ import annotations

import math

import jsonschema
import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kafka_helpers import REPO
from slawatch.core.event import Event
from slawatch.ingest.decode import EARLIEST_TS, decode_record
from slawatch.ingest.router import encode_events

NOW = 1_796_000_000.0
SCHEMA = yaml.safe_load((REPO / "topics" / "sla.events.yaml").read_text())["value_schema"]
VALID = {"service": "checkout", "ts": NOW - 5, "ok": True, "latency_ms": 12.5}


def decode(doc, **kwargs):
    return decode_record(orjson.dumps(doc), NOW, **kwargs)


def refused(doc) -> tuple[str, str | None]:
    result = decode(doc)
    assert result.events == [] and len(result.invalid) == 1
    return result.invalid[0].reason, result.invalid[0].field


def test_a_single_event_decodes_to_one_event():
    [e] = decode(VALID).events
    assert e == Event("checkout", NOW - 5, True, 12.5)


def test_every_optional_field_is_kept_and_attribute_values_become_strings():
    doc = dict(VALID, operation="GET /", customer="acme", region="eu", attributes={"v": "2", "n": 3, "b": True})
    [e] = decode(doc).events
    assert (e.operation, e.customer, e.region) == ("GET /", "acme", "eu")
    assert e.attributes == {"v": "2", "n": "3", "b": "true"}


def test_latency_is_optional_for_pure_availability_events():
    [e] = decode({"service": "s", "ts": NOW, "ok": False}).events
    assert e.latency_ms is None and e.ok is False


@pytest.mark.parametrize("ts", ["2026-12-01T10:15:30Z", "2026-12-01T10:15:30.250+01:00", "2026-12-01t10:15:30z"])
def test_rfc3339_timestamps_are_read_with_their_offset(ts):
    [e] = decode_record(orjson.dumps(dict(VALID, ts=ts)), 1.9e9).events
    assert e.ts == pytest.approx(__import__("datetime").datetime.fromisoformat(ts.upper().replace("Z", "+00:00")).timestamp())


def test_a_batch_yields_its_events_in_order():
    docs = [dict(VALID, ts=NOW - i) for i in range(5)]
    assert [e.ts for e in decode(docs).events] == [NOW - i for i in range(5)]


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"service": None}, "missing_field", "service"),
        ({"service": ""}, "wrong_type", "service"),
        ({"service": "x" * 201}, "value_too_long", "service"),
        ({"service": 7}, "wrong_type", "service"),
        ({"ok": None}, "missing_field", "ok"),
        ({"ok": 1}, "wrong_type", "ok"),
        ({"ts": None}, "missing_field", "ts"),
        ({"ts": "2026-12-01 10:15"}, "bad_timestamp", "ts"),
        ({"ts": "2026-12-01T10:15:30"}, "bad_timestamp", "ts"),  # no offset: ambiguous
        ({"ts": True}, "bad_timestamp", "ts"),
        ({"ts": NOW * 1000}, "timestamp_out_of_range", "ts"),  # milliseconds sent as seconds
        ({"ts": EARLIEST_TS - 1}, "timestamp_out_of_range", "ts"),
        ({"ts": NOW + 86_401}, "timestamp_out_of_range", "ts"),
        ({"latency_ms": -0.5}, "bad_latency", "latency_ms"),
        ({"latency_ms": "12"}, "bad_latency", "latency_ms"),
        ({"latency_ms": True}, "bad_latency", "latency_ms"),
        ({"operation": 5}, "wrong_type", "operation"),
        ({"attributes": ["a"]}, "bad_attributes", "attributes"),
        ({"attributes": {"a": {"nested": 1}}}, "bad_attributes", "attributes.a"),
        ({"attributes": {"a": "x" * 201}}, "value_too_long", "attributes.a"),
        ({"latencyms": 3}, "unknown_field", "latencyms"),
    ],
)
def test_an_invalid_event_is_refused_with_its_reason_and_field(change, reason, field):
    doc = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    assert refused(doc) == (reason, field)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [(b"nope", "not_json"), (b"\xff\xfe", "not_utf8"), (b"", "not_json"), (b"42", "not_an_event"),
     (b'"text"', "not_an_event"), (b"[]", "empty_batch"), (b"[1e400]", "not_json"), (b'{"ok": NaN}', "not_json")],
)
def test_a_record_that_is_not_events_is_refused_whole(raw, reason):
    result = decode_record(raw, NOW)
    assert result.events == [] and [i.reason for i in result.invalid] == [reason]


def test_an_oversized_record_is_refused_before_parsing():
    result = decode_record(orjson.dumps([VALID] * 100), NOW, max_bytes=1000)
    assert [i.reason for i in result.invalid] == ["record_too_large"]


def test_a_bad_element_of_a_batch_is_refused_alone_with_its_index_and_content():
    bad = dict(VALID, latency_ms=-1)
    result = decode([VALID, bad, 3, VALID])
    assert len(result.events) == 2
    assert [(i.reason, i.index, i.element) for i in result.invalid] == [("bad_latency", 1, bad), ("not_an_event", 2, 3)]


def test_every_message_says_what_would_be_valid():
    for change in ({"ok": "y"}, {"ts": "soon"}, {"latency_ms": -1}, {"colour": "red"}):
        [invalid] = decode(dict(VALID, **change)).invalid
        assert any(word in invalid.message for word in ("must", "is not", "schema v1 has")), invalid.message


# -- the decoder and the published JSON Schema agree ------------------------------------------------

text = st.text(min_size=1, max_size=20)
events = st.fixed_dictionaries(
    {"service": text, "ts": st.floats(EARLIEST_TS, NOW), "ok": st.booleans()},
    optional={
        "latency_ms": st.floats(0, 1e7),
        "operation": text,
        "customer": text,
        "region": text,
        "attributes": st.dictionaries(text, st.one_of(text, st.integers(-10, 10), st.booleans()), max_size=3),
    },
)
mutations = st.sampled_from([
    ("latency_ms", -1.0), ("ok", "true"), ("service", 3), ("ts", "tomorrow"), ("extra", 1), ("attributes", [1]),
])


@given(events)
def test_every_event_the_schema_accepts_the_decoder_accepts(doc):
    jsonschema.validate(doc, SCHEMA)
    assert len(decode(doc).events) == 1


@given(events, mutations)
def test_every_mutation_the_schema_refuses_the_decoder_refuses(doc, mutation):
    field, value = mutation
    doc = dict(doc, **{field: value})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)
    assert decode(doc).events == []


@given(st.lists(events, min_size=1, max_size=5))
def test_encoding_events_and_decoding_them_again_is_lossless(docs):
    decoded = decode(docs).events
    again = decode_record(encode_events(decoded), NOW).events
    assert again == decoded
    assert all(math.isfinite(e.ts) for e in again)


def test_the_topic_example_is_a_valid_event():
    example = yaml.safe_load((REPO / "topics" / "sla.events.yaml").read_text())["example"]
    assert len(decode_record(orjson.dumps(example), 1.9e9).events) == 1
