"""A real worker subprocess on a real broker: valid events are counted, bad ones dead-lettered alone."""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest

from kafka_helpers import consume_all, event, send_all, wait_for
from slawatch.ingest.router import home_partition

pytestmark = pytest.mark.integration


def dead_letters_for(broker: str, marker: bytes, expect: int) -> list[dict]:
    """Dead-letter envelopes whose original bytes contain `marker` (each test's own)."""
    def mine(record) -> bool:
        return marker in base64.b64decode(orjson.loads(record.value)["original_b64"])

    return [orjson.loads(r.value) | {"_headers": dict(r.headers)} for r in consume_all(broker, "sla.deadletter", mine, expect)]


def test_valid_events_are_counted_per_catalogued_service_and_outcome(worker, module_broker):
    before_ok = worker.sample("slawatch_events_total", service="checkout", outcome="ok")
    before_error = worker.sample("slawatch_events_total", service="checkout", outcome="error")
    batch = [event("checkout", ok=True) for _ in range(7)] + [event("checkout", ok=False) for _ in range(3)]
    send_all(module_broker, [(b"checkout", orjson.dumps(batch)), (b"checkout", orjson.dumps(event("checkout")))])

    wait_for(lambda: worker.sample("slawatch_events_total", service="checkout", outcome="ok") == before_ok + 8,
             what="8 ok events counted")
    assert worker.sample("slawatch_events_total", service="checkout", outcome="error") == before_error + 3


def test_unknown_services_share_one_series(worker, module_broker):
    names = [f"unknown-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    before = worker.sample("slawatch_events_total", service="_unknown", outcome="ok")
    send_all(module_broker, [(n.encode(), orjson.dumps(event(n))) for n in names])

    wait_for(lambda: worker.sample("slawatch_events_total", service="_unknown", outcome="ok") == before + 5,
             what="5 unknown events counted")
    series = {dict(labels).get("service") for (name, labels) in worker.metrics() if name == "slawatch_events_total"}
    assert not series & set(names)


def test_a_record_that_is_not_json_is_dead_lettered_with_its_exact_bytes(worker, module_broker):
    marker = uuid.uuid4().hex.encode()
    raw = b"not json at all " + marker
    send_all(module_broker, [(b"checkout", raw)])

    [dead] = dead_letters_for(module_broker, marker, 1)
    assert dead["reason"] == "not_json"
    assert base64.b64decode(dead["original_b64"]) == raw
    assert dead["source"]["topic"] == "sla.events" and dead["source"]["offset"] >= 0
    assert dead["_headers"]["slawatch_reason"] == b"not_json"
    assert "not valid JSON" in dead["message"]


@pytest.mark.parametrize(
    ("bad_event", "reason", "field"),
    [
        ({"ts": 1.8e9, "ok": True}, "missing_field", "service"),
        ({"service": "checkout", "ts": 1.8e9, "ok": "yes"}, "wrong_type", "ok"),
        ({"service": "checkout", "ts": "last tuesday", "ok": True}, "bad_timestamp", "ts"),
        ({"service": "checkout", "ts": 1_700_000_000_000, "ok": True}, "timestamp_out_of_range", "ts"),
        ({"service": "checkout", "ts": 1.8e9, "ok": True, "latency_ms": -4}, "bad_latency", "latency_ms"),
    ],
)
def test_a_bad_event_in_a_batch_is_dead_lettered_alone_and_its_neighbours_are_counted(
    worker, module_broker, bad_event, reason, field
):
    marker = uuid.uuid4().hex
    bad_event = dict(bad_event, attributes={"marker": marker})
    if bad_event.get("ts") == 1.8e9:
        bad_event["ts"] = event("x")["ts"]
    batch = [event("search", attributes={"n": "1"}), bad_event, event("search", attributes={"n": "2"})]
    before = worker.sample("slawatch_events_total", service="search", outcome="ok")
    invalid_before = worker.sample("slawatch_events_invalid_total", reason=reason)
    send_all(module_broker, [(b"search", orjson.dumps(batch))])

    [dead] = dead_letters_for(module_broker, marker.encode(), 1)
    assert (dead["reason"], dead["field"], dead["index"]) == (reason, field, 1)
    assert dead["element"] == bad_event
    assert orjson.loads(base64.b64decode(dead["original_b64"])) == batch
    wait_for(lambda: worker.sample("slawatch_events_total", service="search", outcome="ok") == before + 2,
             what="both neighbours counted")
    assert worker.sample("slawatch_events_invalid_total", reason=reason) == invalid_before + 1


def test_an_unkeyed_record_is_still_counted_for_its_service(worker, module_broker):
    before = worker.sample("slawatch_events_total", service="payments", outcome="error")
    unkeyed = [event("payments", ok=False, operation="authorise", region="eu-west-1", customer="acme") for _ in range(4)]
    send_all(module_broker, [(None, orjson.dumps(unkeyed))] * 3)

    wait_for(lambda: worker.sample("slawatch_events_total", service="payments", outcome="error") == before + 12,
             what="12 unkeyed payments errors counted")
    home = home_partition("payments", 4)
    checkpoints = consume_all(module_broker, "slawatch-slo_state-changelog",
                              lambda r: orjson.loads(r.key).startswith("payments-"), expect=10**9, timeout_s=3)
    assert checkpoints and {r.partition for r in checkpoints} == {home}, "a service's state lives on one partition"


def test_the_worker_survives_a_flood_of_garbage_and_keeps_counting(worker, module_broker):
    garbage = [(None, b"\xff\xfe\x00"), (b"x", b"[]"), (b"x", b"42"), (b"x", b'{"service": ""}'), (None, b"")]
    before = worker.sample("slawatch_events_total", service="search", outcome="ok")
    send_all(module_broker, garbage * 20 + [(b"search", orjson.dumps(event("search")))])

    wait_for(lambda: worker.sample("slawatch_events_total", service="search", outcome="ok") == before + 1,
             what="the valid event after the garbage counted")
    assert worker.process.poll() is None
    status, body = __import__("kafka_helpers").http_get(f"{worker.url}/healthz")
    assert status == 200 and orjson.loads(body)["status"] == "ok"
