"""A real worker on a real broker: a producer that adds a top-level field still has its events counted."""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest

from kafka_helpers import consume_all, event, send_all, wait_for

pytestmark = pytest.mark.integration


def test_events_with_a_new_top_level_field_are_counted_not_dead_lettered(worker, module_broker):
    marker = uuid.uuid4().hex
    batch = [event("search", deployment_id=marker) for _ in range(3)]
    before = worker.sample("slawatch_events_total", service="search", outcome="ok")
    invalid_before = worker.sample("slawatch_events_invalid_total", reason="unknown_field")
    send_all(module_broker, [(b"search", orjson.dumps(batch)), (b"search", orjson.dumps(event("search", colour=marker)))])

    wait_for(lambda: worker.sample("slawatch_events_total", service="search", outcome="ok") == before + 4,
             what="the 4 events with unknown fields counted")
    assert worker.sample("slawatch_events_invalid_total", reason="unknown_field") == invalid_before

    def mine(record) -> bool:
        return marker.encode() in base64.b64decode(orjson.loads(record.value)["original_b64"])

    # Dead letters leave right after the batch that counted: a few seconds show that none came.
    assert consume_all(module_broker, "sla.deadletter", mine, expect=1, timeout_s=5) == []


def test_each_unknown_field_is_counted_per_event_and_logged_once(worker, module_broker):
    name = "f_" + uuid.uuid4().hex[:8]
    send_all(module_broker, [(b"search", orjson.dumps([event("search", **{name: 1})] * 3))] * 2)
    wait_for(lambda: worker.sample("slawatch_events_unknown_fields_total", field=name) == 6,
             what="6 events with the new field counted")
    lines = [line for line in worker.log_path.read_text().splitlines() if name in line]
    assert len(lines) == 1, lines
    assert "unknown field" in lines[0] and "sla.events/" in lines[0]
