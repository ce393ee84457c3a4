"""`--strict-events` (SLAWATCH_STRICT_EVENTS=1): a worker that refuses unknown top-level fields, as
schema v1 did, dead-letters only the offending element of a batch and counts its neighbour."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

import orjson
import pytest

from kafka_helpers import REPO, WorkerProcess, consume_all, event, send_all, wait_for

pytestmark = pytest.mark.integration


def test_a_strict_worker_dead_letters_the_element_with_an_unknown_field(fresh_broker, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SLAWATCH_STRICT_EVENTS", "1")
    worker = WorkerProcess(fresh_broker, tmp_path, catalog=[str(REPO / "examples/catalog/demo.yaml")]).start()
    try:
        marker = uuid.uuid4().hex
        send_all(fresh_broker, [(b"search", orjson.dumps([event("search"), event("search", colour=marker)]))])
        [dead] = consume_all(fresh_broker, "sla.deadletter",
                             lambda r: marker.encode() in base64.b64decode(orjson.loads(r.value)["original_b64"]), 1)
        envelope = orjson.loads(dead.value)
        assert (envelope["reason"], envelope["field"], envelope["index"]) == ("unknown_field", "colour", 1)
        wait_for(lambda: worker.sample("slawatch_events_total", service="search", outcome="ok") == 1,
                 what="the valid neighbour counted")
    finally:
        worker.stop()
