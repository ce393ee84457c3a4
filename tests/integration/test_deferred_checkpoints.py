"""A worker behind on its partitions defers checkpoints (stream/app.py CHECKPOINT_EVERY_S); killed
with SIGKILL in the middle of that backlog, its successor still counts every event exactly once.

The records are produced before the first worker starts, so it reads a backlog and takes the
deferred path; it is killed once it has counted some but not all of them. Whatever it applied after
its last checkpoint is replayed from its last recorded progress, and the checkpoints' offsets keep
what it did checkpoint from being counted twice.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from integration.conftest import DEMO_CATALOG
from integration.test_table_recovery import SERVICES, SLOS, shaped, totals
from kafka_helpers import REPO, WorkerProcess, wait_for
from slawatch.broker import EmbeddedBroker
from slawatch.topics import apply_topics, load_specs

pytestmark = pytest.mark.integration
RECORDS = 12_000  # one event each: at a few thousand a second the kill lands inside the backlog


def produce_backlog(broker: str, rng: random.Random) -> dict[str, int]:
    """One-event records keyed by service; returns the number of events each SLO must count."""
    expected = {slo: 0 for slos in SLOS.values() for slo in slos}
    producer = KafkaProducer(bootstrap_servers=broker, linger_ms=20, batch_size=256 * 1024)
    try:
        for _ in range(RECORDS):
            service = rng.choice(SERVICES)
            event = shaped(service, ok=rng.random() > 0.02)
            for slo in SLOS[service]:
                expected[slo] += 0 if slo == "checkout-latency" and not event["ok"] else 1  # errors: ignore
            producer.send("sla.events", key=service.encode(), value=orjson.dumps(event))
        producer.flush()
    finally:
        producer.close()
    return expected


def counted(worker: WorkerProcess) -> float:
    return sum(v for (name, _), v in worker.metrics().items() if name == "slawatch_events_total")


def test_a_worker_killed_while_checkpoints_are_deferred_loses_and_doubles_nothing(tmp_path: Path):
    with EmbeddedBroker() as broker:
        apply_topics(load_specs(REPO / "topics"), [broker.address])
        expected = produce_backlog(broker.address, random.Random(11))
        first = WorkerProcess(broker.address, tmp_path / "a", catalog=[DEMO_CATALOG]).start()
        try:
            wait_for(lambda: counted(first) > 0, 60, interval_s=0.02, what="the first worker counting the backlog")
            at_kill = counted(first)
        finally:
            first.kill()
        assert at_kill < RECORDS, "the worker finished the backlog before the kill: nothing deferred was tested"

        second = WorkerProcess(broker.address, tmp_path / "b", catalog=[DEMO_CATALOG]).start()
        try:
            wait_for(lambda: totals(second.state()) == expected, 120,
                     what=f"every one of {RECORDS} events counted exactly once after the kill")
            assert totals(second.state()) == expected
        finally:
            second.stop()
