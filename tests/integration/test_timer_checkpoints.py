"""Decisions taken by the worker's clock (no-data) are checkpointed like a batch's: a worker killed
after such an alert fired leaves a successor that neither re-fires it under a new id nor resolves it."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer

from kafka_helpers import REPO, WorkerProcess, wait_for

pytestmark = pytest.mark.integration
CATALOG = [str(REPO / "tests" / "integration" / "catalogs" / "no-data-fast.yaml")]


def no_data_alerts(broker: str) -> list[dict]:
    consumer = KafkaConsumer("sla.warnings", bootstrap_servers=broker, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=1500)
    try:
        return [p for p in (orjson.loads(r.value) for r in consumer) if p["type"] == "no_data"]
    finally:
        consumer.close()


def test_a_no_data_alert_fired_by_the_clock_survives_a_kill_with_its_id(fresh_broker, tmp_path: Path):
    first = WorkerProcess(fresh_broker, tmp_path / "a", catalog=CATALOG).start()
    try:
        fired = wait_for(lambda: no_data_alerts(fresh_broker), 30, what="the no-data alert")
    finally:
        first.kill()
    assert [(a["slo"], a["status"]) for a in fired] == [("quiet-availability", "firing")]
    second = WorkerProcess(fresh_broker, tmp_path / "b", catalog=CATALOG).start()
    try:
        time.sleep(8.0)  # more than twice no_data_after on the successor's clock
        assert second.process.poll() is None
    finally:
        second.stop()
    after = no_data_alerts(fresh_broker)
    assert [(a["id"], a["status"]) for a in after] == [(fired[0]["id"], "firing")], \
        "the successor re-sent the no-data alert under a new id, or resolved it"
