"""A worker holding table state is killed with SIGKILL; its successor recovers that state exactly.

Tansu answers ListOffsets(LATEST) with the last batch's first offset + 1, so stock Faust recovery
stops early and loses the last batch of changelog updates. The changelog here is written in many
small batches on purpose: without slawatch.stream.kafka_fixes this test fails.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from integration.conftest import DEMO_CATALOG
from kafka_helpers import REPO, WorkerProcess, event, wait_for
from slawatch.broker import EmbeddedBroker
from slawatch.topics import apply_topics, load_specs

pytestmark = pytest.mark.integration
CHANGELOG = "slawatch-ingest_ledger-changelog"
SERVICES = ["checkout", "payments", "search", "svc-a", "svc-b", "svc-c", "svc-d"]


def changelog_state(broker: str) -> dict:
    """The table as its changelog says it is: the last value written per key."""
    consumer = KafkaConsumer(CHANGELOG, bootstrap_servers=broker, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=1500)
    state = {}
    try:
        for record in consumer:
            state[orjson.loads(record.key)] = orjson.loads(record.value)
    finally:
        consumer.close()
    return state


def produce_in_small_batches(broker: str, records: int, rng: random.Random) -> dict[str, list[int]]:
    expected = {s: [0, 0] for s in SERVICES}
    producer = KafkaProducer(bootstrap_servers=broker, linger_ms=0)
    try:
        for i in range(records):
            service = rng.choice(SERVICES)
            batch = [event(service, ok=rng.random() > 0.2) for _ in range(rng.randint(1, 5))]
            for e in batch:
                expected[service][0 if e["ok"] else 1] += 1
            producer.send("sla.events", key=None if i % 5 == 0 else service.encode(), value=orjson.dumps(batch))
            if i % 7 == 0:
                producer.flush()
        producer.flush()
    finally:
        producer.close()
    return {s: counts for s, counts in expected.items() if sum(counts)}


def totals(ledger: dict) -> dict[str, list[int]]:
    return {s: [v["ok"], v["error"]] for s, v in ledger.items()}


def test_a_worker_killed_with_sigkill_is_succeeded_by_one_with_exactly_the_same_state(tmp_path: Path):
    rng = random.Random(7)
    with EmbeddedBroker() as broker:
        apply_topics(load_specs(REPO / "topics"), [broker.address])
        first = WorkerProcess(broker.address, tmp_path / "a", catalog=[DEMO_CATALOG]).start()
        try:
            expected = produce_in_small_batches(broker.address, 400, rng)
            wait_for(lambda: totals(first.ledger()) == expected, 60, what="all 400 records counted")
            before = first.ledger()
            wait_for(lambda: changelog_state(broker.address) == before, 30, what="the changelog to hold the state")
        finally:
            first.kill()

        second = WorkerProcess(broker.address, tmp_path / "b", catalog=[DEMO_CATALOG]).start()
        try:
            assert second.ledger() == before, "recovered state differs from the state before the kill"
            # Records whose offsets were not yet committed are redelivered; the ledger's offsets skip them.
            more = produce_in_small_batches(broker.address, 50, rng)
            after = {s: [before.get(s, {}).get("ok", 0) + more.get(s, [0, 0])[0],
                         before.get(s, {}).get("error", 0) + more.get(s, [0, 0])[1]] for s in set(before) | set(more)}
            wait_for(lambda: totals(second.ledger()) == after, 60, what="the 50 new records counted exactly once")
        finally:
            second.stop()
