"""Every dead letter fits in DEADLETTER_MAX_BYTES and still says what was refused: a prefix, length, hash."""

from __future__ import annotations

import base64
import hashlib

import jsonschema
import orjson
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kafka_helpers import REPO
from slawatch.ingest.deadletter import (
    DEADLETTER_MAX_BYTES,
    MAX_ELEMENT_BYTES,
    MAX_KEY_BYTES,
    MAX_MESSAGE_CHARS,
    SourceRecord,
    dead_letter,
    dead_letter_size,
)
from slawatch.ingest.decode import Invalid

NOW = 1_796_000_000.0
MIB = 1024 * 1024
SCHEMA = yaml.safe_load((REPO / "topics" / "sla.deadletter.yaml").read_text())["value_schema"]
REASONS = SCHEMA["properties"]["reason"]["enum"]


def source(value: bytes | None, key: bytes | None = b"checkout") -> SourceRecord:
    return SourceRecord("sla.events", 3, 1841, key, value, 1_764_584_130_250)


def envelope_of(invalid: Invalid, value: bytes | None, key: bytes | None = b"checkout") -> dict:
    dead = dead_letter(invalid, source(value, key), NOW)
    assert dead_letter_size(dead) <= DEADLETTER_MAX_BYTES
    return orjson.loads(dead.value)


def test_a_small_record_is_kept_whole():
    raw = b'{"service": "checkout", "ok": "yes"}'
    envelope = envelope_of(Invalid("wrong_type", "ok must be true or false", "ok"), raw)
    assert base64.b64decode(envelope["original_b64"]) == raw
    assert (envelope["original_bytes"], envelope["original_truncated"]) == (len(raw), False)
    assert envelope["original_sha256"] == hashlib.sha256(raw).hexdigest()
    jsonschema.validate(envelope, SCHEMA)


def test_a_2_mib_record_keeps_its_first_bytes_its_length_and_its_hash():
    raw = bytes(range(256)) * (2 * MIB // 256)
    dead = dead_letter(Invalid("record_too_large", "the record is 2097152 bytes; the limit is 1048576"), source(raw), NOW)
    envelope = orjson.loads(dead.value)
    prefix = base64.b64decode(envelope["original_b64"])
    assert dead_letter_size(dead) <= DEADLETTER_MAX_BYTES
    assert envelope["original_truncated"] is True and envelope["original_bytes"] == 2 * MIB
    assert raw.startswith(prefix) and len(prefix) > DEADLETTER_MAX_BYTES // 2
    assert envelope["original_sha256"] == hashlib.sha256(raw).hexdigest()
    jsonschema.validate(envelope, SCHEMA)


def test_a_record_without_a_value_has_an_empty_original():
    envelope = envelope_of(Invalid("not_json", "the record has no value"), None, key=None)
    assert (envelope["original_b64"], envelope["original_bytes"], envelope["original_truncated"]) == ("", 0, False)


def test_a_huge_element_is_kept_as_the_start_of_its_json():
    element = {"service": "checkout", "ok": True, "blob": "x" * (4 * MAX_ELEMENT_BYTES)}
    envelope = envelope_of(Invalid("wrong_type", "ts is required", "ts", 0, element), orjson.dumps([element]))
    assert envelope["element_truncated"] is True
    assert orjson.dumps(element).decode().startswith(envelope["element"])
    assert len(envelope["element"]) == MAX_ELEMENT_BYTES


def test_a_long_message_and_a_long_key_are_cut():
    envelope = envelope_of(Invalid("bad_timestamp", "ts " + "9" * 10 * MAX_MESSAGE_CHARS, "ts"), b"{}", key=b"k" * MIB)
    assert len(envelope["message"]) == MAX_MESSAGE_CHARS and envelope["message"].endswith("…")
    dead = dead_letter(Invalid("not_json", "x"), source(b"x", key=b"k" * MIB), NOW)
    assert dead.key == b"k" * MAX_KEY_BYTES


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=30), children, max_size=4),
    max_leaves=12,
)
# Sizes up to 6 MiB, biased to the edges where truncation starts (the bound, 1 MiB, 2 MiB).
sizes = st.one_of(
    st.integers(0, 6 * MIB),
    st.integers(DEADLETTER_MAX_BYTES - 70_000, DEADLETTER_MAX_BYTES + 10),
    st.sampled_from([0, 1, 2, 3, MIB, MIB + 1, 2 * MIB, 6 * MIB]),
)


@st.composite
def originals(draw) -> bytes:
    """Bytes of the drawn size: a drawn pattern repeated, so multi-MiB values stay cheap to draw."""
    size = draw(sizes)
    pattern = draw(st.binary(min_size=1, max_size=64))
    return (pattern * (size // len(pattern) + 1))[:size]


def long_texts(alphabet=None, max_repeat: int = 3000):
    """Text up to tens of thousands of characters: a drawn piece repeated (Hypothesis draws short text)."""
    piece = st.text(alphabet, min_size=1, max_size=40) if alphabet else st.text(min_size=1, max_size=40)
    return st.builds(lambda text, n: text * n, piece, st.integers(1, max_repeat))


# Characters JSON must escape (", \, control characters) grow most when encoded.
ESCAPED = "\x00\x01\"\\\n"
invalids = st.builds(
    Invalid,
    reason=st.sampled_from(REASONS) | st.text(max_size=200),
    message=st.text() | long_texts() | long_texts(ESCAPED),
    field=st.none() | st.text() | long_texts(ESCAPED, 200),
    index=st.none() | st.integers(0, 10**6),
    element=json_values | long_texts() | st.lists(long_texts(ESCAPED + "é", 50), max_size=200),
)


@settings(max_examples=150, deadline=None)
@given(invalids, originals(), st.none() | st.binary(max_size=2000))
def test_every_dead_letter_fits_round_trips_and_keeps_a_prefix_of_the_original(invalid, original, key):
    dead = dead_letter(invalid, source(original, key), NOW)
    assert dead_letter_size(dead) <= DEADLETTER_MAX_BYTES
    envelope = orjson.loads(dead.value)
    prefix = base64.b64decode(envelope["original_b64"], validate=True)
    assert original.startswith(prefix)
    assert envelope["original_bytes"] == len(original)
    assert envelope["original_sha256"] == hashlib.sha256(original).hexdigest()
    assert envelope["original_truncated"] is (len(prefix) < len(original))
    if len(original) <= DEADLETTER_MAX_BYTES // 2:
        assert prefix == original  # small records are kept whole
    if not envelope["element_truncated"]:
        assert envelope["element"] == orjson.loads(orjson.dumps(invalid.element))
    assert envelope["index"] == invalid.index
    assert dict(dead.headers)["slawatch_reason"] == envelope["reason"].encode()
    if envelope["reason"] in REASONS:
        jsonschema.validate(envelope, SCHEMA)
