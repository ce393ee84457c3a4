"""The slawatch worker under load: (c) events/s end to end, (d) page-detection latency.

(c) The events are produced BEFORE the worker starts, so the producer does not compete for the two
cores. The harness then polls the worker's /metrics every POLL_S; the rate is the events counted
between the first poll that shows any counted event and the first poll that shows all of them,
divided by the time between those two polls. That excludes start-up, group join and table recovery
(reported separately as `ready_s`, spawn to the first 200 from /readyz) and bounds the timing error
by one poll interval at the end (POLL_S / duration, about 1 %).

(scale) `run_group_throughput`: the same count over a consumer group of workers, which start
before the events are produced (its docstring says why and how it is timed).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import orjson

from harness import PARTITIONS, Children, cpu_seconds, http_get, metric_sums, produce, rss_kib
from slawatch.broker.embedded import free_port
from slawatch.conventions import (
    APP_ID,
    METRIC_BATCH_RECORDS,
    METRIC_CONSUMER_LAG,
    METRIC_EVENTS,
    METRIC_EVENTS_DUPLICATE,
    METRIC_EVENTS_INVALID,
    METRIC_EVENTS_REROUTED,
    METRIC_RECORDS_REDELIVERED,
)
from slawatch.ingest.router import home_partition

POLL_S = 0.2
# The figures a throughput poll reads, asked for by name (`/metrics?name[]=...`): a full scrape
# computes every SLO's gauges (tens of ms with 100 SLOs), which polling would add to the figure;
# Prometheus scrapes every 15 s or so, a poll comes every POLL_S.
PROGRESS_SERIES = ("slawatch_events_total", "slawatch_records_total", "slawatch_events_invalid_total",
                   "slawatch_events_rerouted_total", "slawatch_events_duplicate_total")
PROGRESS_QUERY = "?" + "&".join(f"name[]={name}" for name in PROGRESS_SERIES)


def worker_cmd(address: str, port: int, catalog: Path, data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "slawatch", "worker", "--broker", address, "--web-port", str(port),
            "--session-timeout", "10", "--catalog", str(catalog), "--data-dir", str(data_dir)]


def wait_ready(proc, url: str, timeout_s: float = 60.0) -> float:
    begin = time.perf_counter()
    while time.perf_counter() - begin < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode} before it was ready")
        if http_get(f"{url}/readyz", 1.0)[0] == 200:
            return time.perf_counter() - begin
        time.sleep(0.05)
    raise RuntimeError(f"worker not ready after {timeout_s:.0f} s")


def run_throughput(children: Children, address: str, catalog: Path, work: Path, total_events: int,
                   label: str, timeout_s: float = 180.0, wrap: list[str] | None = None) -> dict:
    """Start a worker on pre-produced events and time it until /metrics counts `total_events`.
    `wrap` prefixes the command (a profiler); the figures are then the profiled worker's."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    spawn = time.perf_counter()
    proc = children.spawn([*(wrap or []), *worker_cmd(address, port, catalog, work / f"data-{label}")],
                          work / f"worker-{label}.log")
    try:
        ready_s = wait_ready(proc, url)
        first = None  # (perf_counter, events, worker CPU s) at the first poll showing a counted event
        cpu_end = None
        sums: dict[str, float] = {}
        peak_rss = 0
        while time.perf_counter() - spawn < timeout_s:
            status, body = http_get(f"{url}/metrics{PROGRESS_QUERY}", 2.0)
            now = time.perf_counter()
            if status == 200:
                sums = metric_sums(body)
                counted = sums.get("slawatch_events_total", 0.0)
                if first is None and counted > 0:
                    first = (now, counted, cpu_seconds(proc.pid))
                if counted >= total_events:
                    cpu_end = cpu_seconds(proc.pid)
                    peak_rss = max(peak_rss, rss_kib(proc.pid) or 0)
                    break
            peak_rss = max(peak_rss, rss_kib(proc.pid) or 0)
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited with {proc.returncode} during the run")
            time.sleep(POLL_S)
        counted = sums.get("slawatch_events_total", 0.0)
        if first is None or counted < total_events:
            raise RuntimeError(f"{label}: worker counted {counted:.0f} of {total_events} events in {timeout_s:.0f} s")
        seconds = now - first[0]
        return {
            "events": total_events,
            "records": int(sums.get("slawatch_records_total", 0)),
            "events_timed": counted - first[1],
            "seconds": seconds,
            "events_per_s": (counted - first[1]) / seconds if seconds > 0 else None,
            "ready_s": ready_s,
            "spawn_to_done_s": now - spawn,
            "invalid": sums.get("slawatch_events_invalid_total", 0.0),
            "rerouted": sums.get("slawatch_events_rerouted_total", 0.0),
            "duplicates": sums.get("slawatch_events_duplicate_total", 0.0),
            "worker_peak_rss_mib": round(peak_rss / 1024, 1),
            # CPU seconds the worker used per wall second of the timed interval (1.0 = one core busy)
            "worker_cpu_share": None if None in (first[2], cpu_end) or not seconds else round((cpu_end - first[2]) / seconds, 2),
        }
    finally:
        children.stop(proc)


def run_detection(children: Children, address: str, catalog: Path, services: list[str], work: Path,
                  first_timeout_s: float = 20.0, timeout_s: float = 10.0) -> dict:
    """(d): per service, 200 good events, then an outage: a record of 100 errors every 50 ms (a failing
    service keeps sending). Latency = from just before the first error record is produced to the page
    alert read from sla.warnings. Decisions are taken at event-time step edges (--decision-step),
    so a service that falls silent right after crossing is judged only after the settle interval."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = children.spawn(worker_cmd(address, port, catalog, work / "data-d"), work / "worker-d.log")
    consumer = Consumer({"bootstrap.servers": address, "group.id": "bench-d", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10, "fetch.min.bytes": 1})
    producer = Producer({"bootstrap.servers": address, "linger.ms": 0})
    try:
        wait_ready(proc, url)
        # assign, not subscribe: Tansu answers JoinGroup only after half the session timeout
        partitions = consumer.list_topics("sla.warnings", timeout=5).topics["sla.warnings"].partitions
        consumer.assign([TopicPartition("sla.warnings", p, OFFSET_BEGINNING) for p in partitions])
        consumer.poll(0.2)
        now = time.time()
        for service in services:
            good = [{"service": service, "ts": now, "ok": True, "latency_ms": 10.0}] * 200
            producer.produce("sla.events", orjson.dumps(good), service.encode(), partition=home_partition(service, 4))
        producer.flush(10)
        deadline = time.perf_counter() + 20
        while metric_sums(http_get(f"{url}/metrics")[1]).get("slawatch_events_total", 0) < 200 * len(services):
            if time.perf_counter() > deadline:
                raise RuntimeError("(d): the baseline events were not counted in 20 s")
            time.sleep(0.1)
        latencies, other = [], 0
        for index, service in enumerate(services):
            def outage() -> None:  # a failing service keeps sending: one record of 100 errors every 50 ms
                bad = orjson.dumps([{"service": service, "ts": time.time(), "ok": False, "latency_ms": 10.0}] * 100)
                producer.produce("sla.events", bad, service.encode(), partition=home_partition(service, 4))
                producer.flush(5)

            sent = time.perf_counter()
            outage()
            got, other_here = _await_page(consumer, f"{service}-availability", first_timeout_s if index == 0 else timeout_s,
                                          every=(0.05, outage))
            other += other_here
            if got is None:
                if index == 0:
                    return {"available": False, "other_warnings": other,
                            "reason": f"no page alert on sla.warnings within {first_timeout_s:.0f} s"}
                continue
            latencies.append((got - sent) * 1000.0)
        return {"available": True, "trials": len(services), "alerts": len(latencies), "other_warnings": other,
                "latencies_ms": [round(x, 2) for x in latencies], **_percentiles(latencies)}
    finally:
        consumer.close()
        children.stop(proc)


def _await_page(consumer, slo: str, timeout_s: float, every=None) -> tuple[float | None, int]:
    """perf_counter when a firing page alert for `slo` is read (None on timeout), and the other
    records seen meanwhile; `every=(seconds, fn)` calls fn at that interval while waiting."""
    deadline, others = time.perf_counter() + timeout_s, 0
    next_call = time.perf_counter() + every[0] if every else math.inf
    while time.perf_counter() < deadline:
        if time.perf_counter() >= next_call:
            every[1]()
            next_call += every[0]
        msg = consumer.poll(0.01)
        if msg is None or msg.error():
            continue
        at = time.perf_counter()
        try:
            doc = orjson.loads(msg.value())
        except orjson.JSONDecodeError:
            others += 1
            continue
        key = (msg.key() or b"").decode(errors="replace")
        if (doc.get("slo") == slo or key == slo) and doc.get("severity") == "page" and doc.get("status", "firing") == "firing":
            return at, others
        others += 1
    return None, others


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p99_ms": None}
    ordered = sorted(values)

    def q(p: float) -> float:  # nearest rank: the smallest value with at least p % at or below it
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {"p50_ms": round(q(50), 2), "p99_ms": round(q(99), 2), "max_ms": round(ordered[-1], 2)}


# -- a consumer group of workers (scale-out, bench/scale_bench.py) ---------------------------------

class Member(NamedTuple):
    """One worker of a group run: its process and the base URL of its /metrics."""

    proc: subprocess.Popen
    url: str


class MachineCpu(NamedTuple):
    """Jiffies of every core since boot, from /proc/stat: busy (not idle or iowait) and all."""

    busy: int
    total: int


class GroupPoll(NamedTuple):
    """One round of scrapes over every member, and the CPU counters read right after it."""

    at: float  # perf_counter
    counted: tuple[float, ...]  # slawatch_events_total per member
    cpu: tuple[float | None, ...]  # CPU seconds per member
    broker_cpu: float | None
    machine: MachineCpu


def machine_cpu() -> MachineCpu:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return MachineCpu(sum(fields) - idle, sum(fields))


def held_partitions(body: bytes) -> frozenset[int]:
    """The sla.events partitions a worker has assigned and fetched: the `partition` labels of its
    slawatch_consumer_lag_records gauge (stream/lag.py), one sample per partition it holds."""
    from prometheus_client.parser import text_string_to_metric_families

    return frozenset(int(s.labels["partition"]) for family in text_string_to_metric_families(body.decode())
                     for s in family.samples if s.name == METRIC_CONSUMER_LAG)


def start_group(children: Children, address: str, catalog: Path, work: Path, label: str, count: int,
                partitions: int, timeout_s: float = 120.0) -> list[Member]:
    """Spawn `count` workers at once (one consumer group) and wait until each is ready and holds a
    share of the partitions: disjoint, together all of them. Spawned together they usually join the
    group's first generation; if not, the wait covers the rebalance that follows."""
    members = []
    for n in range(count):
        port = free_port()
        proc = children.spawn(worker_cmd(address, port, catalog, work / f"data-{label}-{n}"),
                              work / f"worker-{label}-{n}.log")
        members.append(Member(proc, f"http://127.0.0.1:{port}"))
    for member in members:
        wait_ready(member.proc, member.url, timeout_s)
    deadline = time.perf_counter() + timeout_s
    while not _split(held := [held_partitions(http_get(f"{m.url}/metrics", 5.0)[1]) for m in members], partitions):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{label}: partitions not shared out in {timeout_s:.0f} s: {held}")
        time.sleep(0.2)
    return members


def _split(held: list[frozenset[int]], partitions: int) -> bool:
    return all(held) and sum(map(len, held)) == partitions and frozenset().union(*held) == frozenset(range(partitions))


def run_group_throughput(children: Children, address: str, catalog: Path, work: Path,
                         records: list[tuple[str, bytes]], total_events: int, label: str, workers: int,
                         partitions: int = PARTITIONS, timeout_s: float = 300.0) -> dict:
    """`workers` workers in one group, first sharing the partitions of an empty sla.events; then
    `records` are produced and the group is timed from the first poll after the producer is done
    (from then on only the workers, the broker and this poller run) to the first poll that shows all
    `total_events` counted, summed over the workers. Unlike run_throughput, the workers start before
    the events, so that two workers are not timed through the rebalance of the second one joining.
    Per worker: events counted, partitions held at start and end of the timed part, CPU share."""
    broker = next(b for b in children.brokers if b.address == address)
    members = start_group(children, address, catalog, work, label, workers, partitions)
    try:
        held_before = [held_partitions(http_get(f"{m.url}/metrics", 5.0)[1]) for m in members]
        produce_s = produce(address, records)
        polls = _poll_group(members, broker.process.pid, total_events, timeout_s, label)
        result = _group_result(polls, _settle(members), held_before, total_events, workers, produce_s)
        return {**result, "changelog": changelog_traffic(address, total_events)}
    finally:
        for member in members:
            children.stop(member.proc)


def _poll_group(members: list[Member], broker_pid: int, total_events: int, timeout_s: float,
                label: str) -> list[GroupPoll]:
    """Poll every POLL_S until the members' counts sum to `total_events`; every poll."""
    polls: list[GroupPoll] = []
    begin = time.perf_counter()
    while time.perf_counter() - begin < timeout_s:
        sums = []
        for member in members:
            status, body = http_get(f"{member.url}/metrics", 5.0)
            if member.proc.poll() is not None:
                raise RuntimeError(f"{label}: a worker exited with {member.proc.returncode} during the run")
            sums.append(metric_sums(body) if status == 200 else {})
        counted = tuple(s.get(METRIC_EVENTS, 0.0) for s in sums)
        polls.append(GroupPoll(time.perf_counter(), counted, tuple(cpu_seconds(m.proc.pid) for m in members),
                               cpu_seconds(broker_pid), machine_cpu()))
        if all(sums) and sum(counted) >= total_events:
            return polls
        time.sleep(POLL_S)
    raise RuntimeError(f"{label}: the workers counted {sum(polls[-1].counted):.0f} of {total_events} events "
                       f"in {timeout_s:.0f} s")


def _settle(members: list[Member], timeout_s: float = 30.0) -> list[dict]:
    """Once everything was counted: wait until no partition has lag left, then 1 s more, and read
    every member's sums and partitions again, so a late double count would show."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        bodies = [http_get(f"{m.url}/metrics", 5.0)[1] for m in members]
        if all(metric_sums(b).get(METRIC_CONSUMER_LAG, 1.0) == 0 for b in bodies):
            break
        time.sleep(0.2)
    time.sleep(1.0)
    bodies = [http_get(f"{m.url}/metrics", 5.0)[1] for m in members]
    return [{"sums": metric_sums(b), "held": held_partitions(b), "rss_kib": rss_kib(m.proc.pid) or 0}
            for m, b in zip(members, bodies)]


def _group_result(polls: list[GroupPoll], settled: list[dict], held_before: list[frozenset[int]],
                  total_events: int, workers: int, produce_s: float) -> dict:
    first, last = polls[0], polls[-1]
    seconds = last.at - first.at
    cores = os.cpu_count() or 1

    def share(begin, end):
        return None if None in (begin, end) or seconds <= 0 else round((end - begin) / seconds, 2)

    per_worker = [_worker_figures(n, polls, settled[n], held_before[n], share) for n in range(workers)]
    timed = sum(last.counted) - sum(first.counted)
    counted = sum(w["events_counted"] for w in per_worker)
    worker_cpu = [last.cpu[n] - first.cpu[n] for n in range(workers) if None not in (first.cpu[n], last.cpu[n])]
    machine_busy = (last.machine.busy - first.machine.busy) / max(1, last.machine.total - first.machine.total)
    return {
        "workers": workers,
        "events": total_events,
        "events_timed": timed,
        "seconds": round(seconds, 3),
        "events_per_s": timed / seconds if seconds > 0 else None,
        "produce_s": round(produce_s, 3),
        "per_worker": per_worker,
        # CPU the workers spent per event, all workers together: what scale-out must not make worse
        "worker_cpu_us_per_event": round(sum(worker_cpu) / timed * 1e6, 1) if timed and len(worker_cpu) == workers else None,
        "broker_cpu_share": share(first.broker_cpu, last.broker_cpu),
        # every core of the machine, whoever used it (other work shares the cores): cores busy
        "machine_cpu_busy": round(machine_busy * cores, 2),
        "cores": cores,
        "events_counted": counted,
        "exactly_once": counted == total_events and not any(w["duplicates"] for w in per_worker),
        "partitions_stable": all(w["partitions"] == w["partitions_at_start"] for w in per_worker),
    }


def _worker_figures(n: int, polls: list[GroupPoll], settled: dict, held_before: frozenset[int], share) -> dict:
    """Member n's figures: what it held and counted, when its share was all counted, its CPU share."""
    first, last = polls[0], polls[-1]
    done = next(p for p in polls if p.counted[n] >= last.counted[n])
    sums = settled["sums"]
    return {
        "partitions": sorted(settled["held"]),
        "partitions_at_start": sorted(held_before),
        "events_counted": int(sums.get(METRIC_EVENTS, 0)),
        "events_timed": last.counted[n] - first.counted[n],
        "busy_s": round(done.at - first.at, 3),
        "batches": int(sums.get(f"{METRIC_BATCH_RECORDS}_count", 0)),
        "rss_mib": round(settled["rss_kib"] / 1024, 1),
        "cpu_share": share(first.cpu[n], last.cpu[n]),
        "duplicates": sums.get(METRIC_EVENTS_DUPLICATE, 0.0),
        "redelivered": sums.get(METRIC_RECORDS_REDELIVERED, 0.0),
        "invalid": sums.get(METRIC_EVENTS_INVALID, 0.0),
        "rerouted": sums.get(METRIC_EVENTS_REROUTED, 0.0),
    }


def changelog_traffic(address: str, events: int, topic: str = f"{APP_ID}-slo_state-changelog") -> dict:
    """Checkpoints the run wrote to the SLO state changelog, and their bytes (keys and values),
    read back from the start after the timed part; per event, what the changelog costs the broker."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": address, "group.id": "bench-changelog", "enable.auto.commit": False})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        consumer.assign([TopicPartition(topic, p, 0) for p, end in ends.items() if end])
        left, records, size = dict(ends), 0, 0
        deadline = time.perf_counter() + 120
        while any(left.values()) and time.perf_counter() < deadline:
            for msg in consumer.consume(10_000, 1.0):
                if msg.error() is None:
                    records += 1
                    size += len(msg.value() or b"") + len(msg.key() or b"")
                    left[msg.partition()] = max(0, ends[msg.partition()] - msg.offset() - 1)
    finally:
        consumer.close()
    return {"checkpoints": records, "bytes": size, "checkpoints_per_event": round(records / events, 4) if events else None,
            "bytes_per_checkpoint": round(size / records) if records else None,
            "bytes_per_event": round(size / events, 1) if events else None}
