"""A real worker on a real broker: a record too large to accept still gets a dead letter that fits."""

from __future__ import annotations

import base64
import hashlib
import uuid

import orjson
import pytest
from kafka import KafkaProducer

from kafka_helpers import consume_all, event, http_get, wait_for
from slawatch.ingest.deadletter import DEADLETTER_MAX_BYTES

pytestmark = pytest.mark.integration

TWO_MIB = 2 * 1024 * 1024


def oversized_batch(marker: str) -> bytes:
    """A JSON array of valid events, just over 2 MiB, whose first bytes carry the test's marker."""
    one = orjson.dumps(event("search", attributes={"marker": marker}))
    count = TWO_MIB // (len(one) + 1) + 1
    return b"[" + b",".join([one] * count) + b"]"


def send_large(broker: str, records: list[tuple[bytes, bytes]]) -> None:
    """Like kafka_helpers.send_all, with a request size that lets a 2 MiB record leave the client."""
    p = KafkaProducer(bootstrap_servers=broker, linger_ms=5, max_request_size=4 * TWO_MIB)
    try:
        for key, value in records:
            p.send("sla.events", key=key, value=value)
        p.flush(10)
    finally:
        p.close(5)


def test_a_2_mib_record_is_dead_lettered_truncated_and_the_events_after_it_are_counted(worker, module_broker):
    marker = uuid.uuid4().hex
    huge = oversized_batch(marker)
    assert len(huge) > TWO_MIB
    before = worker.sample("slawatch_events_total", service="search", outcome="ok")
    valid = [(b"search", orjson.dumps(event("search"))) for _ in range(5)]
    send_large(module_broker, [(b"search", huge)] + valid)

    def mine(record) -> bool:
        return marker.encode() in base64.b64decode(orjson.loads(record.value)["original_b64"])

    [record] = consume_all(module_broker, "sla.deadletter", mine, expect=1, timeout_s=60)
    dead = orjson.loads(record.value)
    assert (dead["reason"], dead["original_truncated"], dead["original_bytes"]) == ("record_too_large", True, len(huge))
    assert dead["original_sha256"] == hashlib.sha256(huge).hexdigest()
    prefix = base64.b64decode(dead["original_b64"])
    assert huge.startswith(prefix) and 0 < len(prefix) < len(huge)
    size = len(record.value) + len(record.key or b"") + sum(len(k) + len(v) for k, v in record.headers)
    assert size <= DEADLETTER_MAX_BYTES
    assert dict(record.headers)["slawatch_reason"] == b"record_too_large"

    wait_for(lambda: worker.sample("slawatch_events_total", service="search", outcome="ok") == before + 5,
             timeout_s=60, what="the 5 valid events after the oversized record counted")
    assert worker.process.poll() is None, worker.log_tail()
    status, body = http_get(f"{worker.url}/healthz")
    assert status == 200 and orjson.loads(body)["status"] == "ok"
