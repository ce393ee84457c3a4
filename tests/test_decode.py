"""The event decoder accepts and refuses exactly what topics/sla.events.yaml says, with a reason."""

from __future__ import annotations

import math
from collections import Counter

import jsonschema
import orjson
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from kafka_helpers import REPO
from slawatch.core.event import Event
from slawatch.ingest.decode import EARLIEST_TS, FIELDS, decode_record
from slawatch.ingest.router import encode_events

NOW = 1_796_000_000.0
SCHEMA = yaml.safe_load((REPO / "topics" / "sla.events.yaml").read_text())["value_schema"]
VALID = {"service": "checkout", "ts": NOW - 5, "ok": True, "latency_ms": 12.5}


def decode(doc, **kwargs):
    return decode_record(orjson.dumps(doc), NOW, **kwargs)


def refused(doc, **kwargs) -> tuple[str, str | None]:
    result = decode(doc, **kwargs)
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
    ],
)
def test_an_invalid_event_is_refused_with_its_reason_and_field(change, reason, field):
    doc = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    assert refused(doc) == (reason, field)
    assert refused(doc, strict=True) == (reason, field)


def test_an_unknown_field_is_ignored_and_reported_with_the_events_that_carried_it():
    docs = [dict(VALID, latencyms=3), dict(VALID, latencyms=4, colour="red"), VALID]
    result = decode(docs)
    assert result.events == decode([VALID] * 3).events and result.invalid == []
    assert result.unknown_fields == Counter({"latencyms": 2, "colour": 1})


def test_an_event_refused_for_another_reason_does_not_report_its_unknown_fields():
    result = decode([dict(VALID, ok="yes", colour="red"), dict(VALID, colour="blue")])
    assert [i.reason for i in result.invalid] == ["wrong_type"]
    assert result.unknown_fields == Counter({"colour": 1})


def test_strict_decoding_refuses_an_unknown_field_naming_it():
    assert refused(dict(VALID, latencyms=3), strict=True) == ("unknown_field", "latencyms")
    result = decode([VALID, dict(VALID, zeta=1, alpha=2)], strict=True)
    [invalid] = result.invalid
    assert (invalid.reason, invalid.field, invalid.index) == ("unknown_field", "alpha", 1)
    assert "alpha, zeta" in invalid.message and len(result.events) == 1
    assert result.unknown_fields == Counter()


def test_a_record_of_known_fields_reports_no_unknown_field():
    assert decode([VALID, dict(VALID, region="eu")]).unknown_fields == Counter()
    assert decode_record(b"nope", NOW).unknown_fields == Counter()


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
        [invalid] = decode(dict(VALID, **change), strict=True).invalid
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
    ("latency_ms", -1.0), ("ok", "true"), ("service", 3), ("ts", "tomorrow"), ("attributes", [1]),
])
json_values = st.none() | st.booleans() | st.integers(-10, 10) | text | st.lists(text, max_size=2) | st.dictionaries(text, text, max_size=2)
unknown_fields = st.dictionaries(text.filter(lambda name: name not in FIELDS), json_values, min_size=1, max_size=3)


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


@given(events, unknown_fields)
def test_unknown_fields_the_schema_accepts_are_ignored_reported_and_refused_when_strict(doc, extra):
    jsonschema.validate(dict(doc, **extra), SCHEMA)
    lenient = decode(dict(doc, **extra))
    assert lenient.events == decode(doc).events and lenient.unknown_fields == Counter(extra.keys())
    assert refused(dict(doc, **extra), strict=True) == ("unknown_field", min(extra))


@given(st.lists(events, min_size=1, max_size=5))
def test_encoding_events_and_decoding_them_again_is_lossless(docs):
    decoded = decode(docs).events
    again = decode_record(encode_events(decoded), NOW).events
    assert again == decoded
    assert all(math.isfinite(e.ts) for e in again)


def test_the_topic_example_is_a_valid_event():
    example = yaml.safe_load((REPO / "topics" / "sla.events.yaml").read_text())["example"]
    assert len(decode_record(orjson.dumps(example), 1.9e9).events) == 1
