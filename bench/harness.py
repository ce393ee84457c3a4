"""Plumbing for bench/run_bench.py: fresh brokers, fast producing, raw consuming, child processes.

Every broker and subprocess started here is registered in `Children` and stopped by `Children.stop_all`,
which run_bench.py calls in a `finally` (so also on Ctrl-C, SIGTERM and errors); each child also gets
PR_SET_PDEATHSIG, so even a SIGKILLed harness leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson

from slawatch.broker.embedded import EmbeddedBroker, die_with_parent
from slawatch.conventions import TOPIC_EVENTS
from slawatch.ingest.router import home_partition
from slawatch.topics import apply_topics, load_specs

REPO = Path(__file__).resolve().parents[1]
PARTITIONS = 4  # topics/sla.events.yaml
OPERATIONS = ("GET /items", "POST /orders", "GET /cart", "POST /charge")
CUSTOMERS = ("acme", "globex", "initech", "umbrella")
REGIONS = ("eu-west-1", "us-east-1")


class Children:
    """Everything this run started; `stop_all` ends it, newest first."""

    def __init__(self) -> None:
        self.brokers: list[EmbeddedBroker] = []
        self.procs: list[subprocess.Popen] = []

    def broker(self, log_path: Path) -> EmbeddedBroker:
        broker = EmbeddedBroker(log_path=log_path)
        self.brokers.append(broker)
        broker.start()
        apply_topics(load_specs(REPO / "topics"), [broker.address], {})
        return broker

    def spawn(self, cmd: list[str], log_path: Path, env: dict | None = None) -> subprocess.Popen:
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=die_with_parent, cwd=REPO,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout_s: float = 15.0) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_broker(self, broker: EmbeddedBroker) -> None:
        broker.stop()
        if broker in self.brokers:
            self.brokers.remove(broker)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            self.stop(proc)
        for broker in reversed(list(self.brokers)):
            self.stop_broker(broker)


# -- traffic ---------------------------------------------------------------------------------------

def services(n: int = 10) -> list[str]:
    return [f"svc-{i:02d}" for i in range(n)]


# Event time of the generated traffic. BURST (spacing 0): every event within DISORDER_S of one instant
# inside one whole second, so no decision edge falls among them: what (c1)/(c100) measure is
# decoding and counting, set against (a)/(b). (Stamping them within half a second of time.time()
# made (c100) 48 k or 97 k events/s on the same code, by whether that half second straddled an
# edge.) LIVE_SPACING_S: one event per 10 ms per service, in order but for DISORDER_S of jitter, as
# a service's live traffic is stamped; replaying it decides every SLO at the event-time steps it crosses.
LIVE_SPACING_S = 0.01
DISORDER_S = 0.3


def make_event(service: str, ts: float, rng: random.Random, error_ratio: float = 0.002) -> dict:
    """A schema-v1 event like the demo's (~150 bytes of JSON): every optional field but attributes."""
    return {
        "service": service,
        "ts": round(ts - rng.random() * DISORDER_S, 3),
        "ok": rng.random() >= error_ratio,
        "latency_ms": round(rng.lognormvariate(0, 0.5) * 120.0, 2),
        "operation": rng.choice(OPERATIONS),
        "customer": rng.choice(CUSTOMERS),
        "region": rng.choice(REGIONS),
    }


def _first_instant(events_per_service: int, spacing_s: float) -> float:
    """Where the traffic's event time starts, so that it ends a second or more before now; a burst
    (spacing 0) sits just below a whole second, its jitter inside that second."""
    now = time.time()
    if not spacing_s:
        return float(int(now) - 1) + 0.9
    return now - 1.0 - events_per_service * spacing_s


def single_records(n: int, names: list[str], seed: int = 1, spacing_s: float = 0.0) -> list[tuple[str, bytes]]:
    """n records of one event each, round-robin over the services: (service, value)."""
    rng = random.Random(seed)
    start = _first_instant(-(-n // len(names)), spacing_s)
    return [(s, orjson.dumps(make_event(s, start + (i // len(names)) * spacing_s, rng)))
            for i, s in ((i, names[i % len(names)]) for i in range(n))]


def batch_records(n: int, names: list[str], per_record: int = 100, seed: int = 2,
                  spacing_s: float = 0.0) -> list[tuple[str, bytes]]:
    """n records, each a JSON array of `per_record` events of one service, round-robin."""
    rng = random.Random(seed)
    start = _first_instant(-(-n // len(names)) * per_record, spacing_s)
    out = []
    for i in range(n):
        service, first = names[i % len(names)], (i // len(names)) * per_record
        out.append((service, orjson.dumps([make_event(service, start + (first + k) * spacing_s, rng)
                                           for k in range(per_record)])))
    return out


def produce(address: str, records: list[tuple[str, bytes]], topic: str = TOPIC_EVENTS) -> float:
    """Send keyed records to each service's home partition (murmur2, as the worker expects) with
    librdkafka; returns the seconds it took until every record was acknowledged."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": address, "linger.ms": 20, "batch.size": 1_000_000,
                         "queue.buffering.max.kbytes": 1_048_576, "message.max.bytes": 2_000_000})
    failed: list = []

    def on_delivery(err, _msg):
        if err is not None:
            failed.append(err)

    begin = time.perf_counter()
    for service, value in records:
        key = service.encode()
        while True:
            try:
                producer.produce(topic, value=value, key=key, partition=home_partition(service, PARTITIONS),
                                 on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    left = producer.flush(60)
    if left or failed:
        raise RuntimeError(f"produce: {left} records unacknowledged, {len(failed)} failed ({failed[:1]})")
    return time.perf_counter() - begin


def raw_consume(address: str, expect_records: int, events_per_record: int = 1, topic: str = TOPIC_EVENTS) -> dict:
    """aiokafka `getmany` over every partition from the beginning: no group, no decoding (the
    ceiling); events/s = records/s x `events_per_record`, the producer's known batch size."""
    return asyncio.run(_raw_consume(address, expect_records, events_per_record, topic))


async def _raw_consume(address: str, expect: int, per_record: int, topic: str) -> dict:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=address, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or range(PARTITIONS))]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        records = 0
        begin = time.perf_counter()
        deadline = begin + 120
        while records < expect and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for batch in batches.values():
                records += len(batch)
        elapsed = time.perf_counter() - begin
    finally:
        await consumer.stop()
    if records < expect:
        raise RuntimeError(f"raw consume: only {records} of {expect} records in 120 s")
    return {"records": records, "events": records * per_record, "seconds": elapsed,
            "records_per_s": records / elapsed, "events_per_s": records * per_record / elapsed}


# -- HTTP ------------------------------------------------------------------------------------------

def http_get(url: str, timeout_s: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def metric_sums(body: bytes) -> dict[str, float]:
    """Sum of every sample of each metric name (labels folded), from Prometheus text."""
    sums: dict[str, float] = {}
    for line in body.decode().splitlines():
        if not line or line[0] == "#":
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        sums[name] = sums.get(name, 0.0) + float(value)
    return sums


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (all its threads), from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
