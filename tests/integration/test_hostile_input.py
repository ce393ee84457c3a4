"""100,000 hostile records through a real worker on a real broker: every one accounted for.

The records come from the hostile grammar (tests/hostile_values.py) walked from a seed printed at
the start (set SLAWATCH_HOSTILE_SEED to replay one): invalid UTF-8, 10,000 nested arrays, 1e400,
NaN, 2**64+1, duplicate keys, long strings, 10,000-event batches, batches of good and bad events,
empty arrays, wrong types, impossible and out-of-range timestamps, and valid events, keyed by their
service, by another, by garbage, or not at all (so many are re-homed). The project's own decoder
says which events are valid; the worker must count each of those exactly once, dead-letter every
refused record or element exactly once with its reason and the record's length and SHA-256, count
as invalid exactly what it dead-lettered, and still be running at the end.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from hostile_values import HostileGrammar, Record
from kafka_helpers import REPO, WorkerProcess, http_get, wait_for
from slawatch.conventions import METRIC_EVENTS_REROUTED, TOPIC_DEADLETTER, TOPIC_EVENTS, UNKNOWN_SERVICE
from slawatch.ingest.decode import decode_record
from slawatch.ingest.router import encode_events, home_partition

pytestmark = pytest.mark.integration
CATALOG = [str(REPO / "tests" / "integration" / "catalogs" / "hostile.yaml")]
SERVICES = ("alpha", "beta", "gamma")
RECORDS = 100_000


class Expected(NamedTuple):
    """What the decoder says of the corpus: the worker must agree."""

    counted: Counter  # (service label, "ok" | "error") -> valid events
    per_slo: Counter  # SLO name -> valid events
    refused: Counter  # (record index, element index or None, reason) -> 1


def corpus(seed: int, now: float) -> list[Record]:
    grammar = HostileGrammar(random.Random(seed), now, SERVICES)
    return [grammar.record() for _ in range(RECORDS)]


def expected_of(records: list[Record], now: float) -> Expected:
    counted, per_slo, refused = Counter(), Counter(), Counter()
    for n, record in enumerate(records):
        decoded = decode_record(record.value, now)
        for event in decoded.events:
            known = event.service in SERVICES
            counted[(event.service if known else UNKNOWN_SERVICE, "ok" if event.ok else "error")] += 1
            if known:
                per_slo[f"{event.service}-availability"] += 1
        for invalid in decoded.invalid:
            refused[(n, invalid.index, invalid.reason)] += 1
    return Expected(counted, per_slo, refused)


def produce(broker: str, records: list[Record]) -> dict[tuple[int, int], int]:
    """Send every record (librdkafka batches them); (partition, offset) -> record index."""
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 50, "batch.num.messages": 10_000,
                         "queue.buffering.max.messages": 2 * RECORDS, "message.max.bytes": 2_000_000})
    where: dict[tuple[int, int], int] = {}
    failed: list = []

    def delivered(n: int):
        def report(err, message) -> None:
            if err is not None:
                failed.append((n, err))
            else:
                where[(message.partition(), message.offset())] = n
        return report

    for n, record in enumerate(records):
        producer.produce(TOPIC_EVENTS, value=record.value, key=record.key, headers=record.headers,
                         on_delivery=delivered(n))
        producer.poll(0)
    assert producer.flush(60) == 0 and not failed, failed[:5]
    return where


def dead_letters(broker: str, expect: int, timeout_s: float = 120.0, quiet_s: float = 2.0) -> list[tuple[dict, dict]]:
    """The dead-letter topic (one partition) from its start, until `expect` letters and then `quiet_s`
    without another (Tansu's ListOffsets(LATEST) is not the high watermark, so it is read, not asked)."""
    consumer = Consumer({"bootstrap.servers": broker, "group.id": "hostile-test", "enable.auto.commit": False,
                         "fetch.max.bytes": 50_000_000})
    consumer.assign([TopicPartition(TOPIC_DEADLETTER, 0, 0)])
    found: list[tuple[dict, dict]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            messages = consumer.consume(10_000, timeout=quiet_s if len(found) >= expect else 0.5)
            if not messages and len(found) >= expect:
                break
            for message in messages:
                assert message.error() is None, message.error()
                found.append((orjson.loads(message.value()), dict(message.headers() or [])))
        return found
    finally:
        consumer.close()


def counted_by_worker(worker: WorkerProcess) -> Counter:
    return Counter({(dict(labels)["service"], dict(labels)["outcome"]): value
                    for (name, labels), value in worker.metrics().items() if name == "slawatch_events_total"})


def invalid_by_worker(worker: WorkerProcess) -> Counter:
    return Counter({dict(labels)["reason"]: value
                    for (name, labels), value in worker.metrics().items() if name == "slawatch_events_invalid_total"})


def test_every_hostile_record_is_counted_or_dead_lettered_exactly_once(fresh_broker, tmp_path: Path):
    seed = int(os.environ.get("SLAWATCH_HOSTILE_SEED", random.randrange(2**32)))
    print(f"hostile corpus seed: {seed} (SLAWATCH_HOSTILE_SEED={seed} replays it)")
    now = time.time()
    records = corpus(seed, now)
    expected = expected_of(records, now)
    worker = WorkerProcess(fresh_broker, tmp_path / "worker", catalog=CATALOG).start()
    try:
        started = time.monotonic()
        where = produce(fresh_broker, records)
        print(f"produced {len(records)} records in {time.monotonic() - started:.1f} s")
        # ~45 s on 2 busy cores; the margin is for `make test` running other files beside it
        wait_for(lambda: counted_by_worker(worker) == +expected.counted, 180, interval_s=1.0,
                 what=f"the valid events counted (seed {seed}, log {worker.log_path})")
        print(f"counted {sum(expected.counted.values())} events after {time.monotonic() - started:.1f} s")
        letters = dead_letters(fresh_broker, sum(expected.refused.values()))
        print(f"read {len(letters)} dead letters after {time.monotonic() - started:.1f} s")
        time.sleep(1.0)
        assert counted_by_worker(worker) == +expected.counted, f"seed {seed}"
        assert {slo: s["total"] for slo, s in worker.state().items() if s["total"]} == +expected.per_slo

        got = Counter()
        for envelope, headers in letters:
            source = envelope["source"]
            assert source["topic"] == TOPIC_EVENTS, envelope
            n = where[(source["partition"], source["offset"])]
            got[(n, envelope["index"], envelope["reason"])] += 1
            value = records[n].value or b""
            assert envelope["original_sha256"] == hashlib.sha256(value).hexdigest(), f"seed {seed}, record {n}"
            assert envelope["original_bytes"] == len(value)
            kept = base64.b64decode(envelope["original_b64"])
            assert value.startswith(kept) and envelope["original_truncated"] == (len(kept) < len(value))
            assert headers["slawatch_reason"] == envelope["reason"].encode()
        assert got == expected.refused, f"seed {seed}: {sorted((got - expected.refused) + (expected.refused - got))[:10]}"
        reasons = Counter(reason for _, _, reason in expected.refused.elements())
        assert invalid_by_worker(worker) == +reasons, f"seed {seed}"
        assert worker.process.poll() is None, worker.log_tail()
        assert http_get(f"{worker.url}/healthz")[0] == 200
    finally:
        worker.stop()


def test_a_near_1_mib_record_away_from_home_is_re_homed_in_parts_and_counted_once(fresh_broker, tmp_path: Path):
    """The record is under 1,000,000 bytes, but re-encoded as one record (epoch timestamps and
    attribute values as strings) it is over the producer's limit: the send failed and the worker
    stopped (exit 75), on every restart."""
    now = time.time()
    events = [{"service": "alpha", "ts": int(now) - 600 + i // 10, "ok": i % 9 != 0, "latency_ms": i,
               "operation": "o" * 200, "attributes": {"n": i, "build": "b" * 150}} for i in range(2_150)]
    value = orjson.dumps(events)
    assert len(value) < 1_000_000 < len(encode_events(decode_record(value, now).events))
    away = next(p for p in range(4) if p != home_partition("alpha", 4))
    worker = WorkerProcess(fresh_broker, tmp_path / "worker", catalog=CATALOG).start()
    try:
        producer = Producer({"bootstrap.servers": fresh_broker, "message.max.bytes": 2_000_000})
        producer.produce(TOPIC_EVENTS, value=value, partition=away)
        assert producer.flush(30) == 0
        wait_for(lambda: worker.sample("slawatch_events_total", service="alpha", outcome="ok")
                 + worker.sample("slawatch_events_total", service="alpha", outcome="error") == len(events), 60,
                 what=f"the record's events counted (log {worker.log_path})")
        time.sleep(1.0)
        assert worker.state()["alpha-availability"]["total"] == len(events)
        assert worker.sample(METRIC_EVENTS_REROUTED) == len(events)
        assert worker.process.poll() is None, worker.log_tail()
    finally:
        worker.stop()
