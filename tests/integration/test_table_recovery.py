"""A worker holding table state is killed with SIGKILL; its successor recovers that state exactly.

Tansu answers ListOffsets(LATEST) with the last batch's first offset + 1, so stock Faust recovery
stops early and loses the last batch of changelog updates. The changelog here is written in many
small batches on purpose: without slawatch.stream.kafka_fixes this test fails.
"""

from __future__ import annotations

import hashlib
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
CHANGELOG = "slawatch-slo_state-changelog"
SERVICES = ["checkout", "payments", "search"]
# Every demo-catalogue SLO a service's events count for (filters matched by `shaped`).
SLOS = {"checkout": ["checkout-availability", "checkout-latency"], "payments": ["payments-customer-sla"],
        "search": ["search-availability"]}


def shaped(service: str, ok: bool) -> dict:
    """An event that the demo catalogue's SLOs of `service` count (operation, attributes...)."""
    extra = {"checkout": {"operation": "place-order", "latency_ms": 50.0},
             "payments": {"operation": "capture", "customer": "acme"},
             "search": {"attributes": {"endpoint": "/search"}}}[service]
    return event(service, ok=ok, **{"latency_ms": None, **extra})


def changelog_digests(broker: str) -> dict:
    """The table as its changelog says it is: the digest of the last checkpoint written per SLO."""
    consumer = KafkaConsumer(CHANGELOG, bootstrap_servers=broker, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=1500)
    state = {}
    try:
        for record in consumer:
            state[orjson.loads(record.key)] = hashlib.sha256(record.value).hexdigest()
    finally:
        consumer.close()
    return state


def produce_in_small_batches(broker: str, records: int, rng: random.Random) -> dict[str, int]:
    """Returns the number of events each SLO must count."""
    expected = {slo: 0 for slos in SLOS.values() for slo in slos}
    producer = KafkaProducer(bootstrap_servers=broker, linger_ms=0)
    try:
        for i in range(records):
            service = rng.choice(SERVICES)
            batch = [shaped(service, ok=rng.random() > 0.02) for _ in range(rng.randint(1, 5))]
            for slo in SLOS[service]:
                # checkout-latency ignores failed calls (errors: ignore in the demo catalogue)
                expected[slo] += sum(1 for e in batch if e["ok"] or slo != "checkout-latency")
            producer.send("sla.events", key=None if i % 5 == 0 else service.encode(), value=orjson.dumps(batch))
            if i % 7 == 0:
                producer.flush()
        producer.flush()
    finally:
        producer.close()
    return expected


def totals(state: dict) -> dict[str, int]:
    return {slo: v["total"] for slo, v in state.items()}


def digests(state: dict) -> dict[str, str]:
    return {slo: v["checkpoint_sha256"] for slo, v in state.items()}


def test_a_worker_killed_with_sigkill_is_succeeded_by_one_with_exactly_the_same_state(tmp_path: Path):
    rng = random.Random(7)
    with EmbeddedBroker() as broker:
        apply_topics(load_specs(REPO / "topics"), [broker.address])
        first = WorkerProcess(broker.address, tmp_path / "a", catalog=[DEMO_CATALOG]).start()
        try:
            expected = produce_in_small_batches(broker.address, 400, rng)
            wait_for(lambda: totals(first.state()) == expected, 60, what="all 400 records counted")
            before = first.state()
            wait_for(lambda: changelog_digests(broker.address) == digests(before), 30,
                     what="the changelog to hold the last checkpoints")
        finally:
            first.kill()

        second = WorkerProcess(broker.address, tmp_path / "b", catalog=[DEMO_CATALOG]).start()
        try:
            assert digests(second.state()) == digests(before), "recovered state differs from the state before the kill"
            assert totals(second.state()) == expected
            # Records whose offsets were not yet committed are redelivered; the checkpoints' offsets skip them.
            more = produce_in_small_batches(broker.address, 50, rng)
            after = {slo: expected[slo] + more[slo] for slo in expected}
            wait_for(lambda: totals(second.state()) == after, 60, what="the 50 new records counted exactly once")
        finally:
            second.stop()
