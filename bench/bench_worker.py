"""The slawatch worker under load: (c) events/s end to end, (d) page-detection latency.

(c) The events are produced BEFORE the worker starts, so the producer does not compete for the two
cores. The harness then polls the worker's /metrics every POLL_S; the rate is the events counted
between the first poll that shows any counted event and the first poll that shows all of them,
divided by the time between those two polls. That excludes start-up, group join and table recovery
(reported separately as `ready_s`, spawn to the first 200 from /readyz) and bounds the timing error
by one poll interval at the end (POLL_S / duration, about 1 %).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import orjson

from harness import Children, cpu_seconds, http_get, metric_sums, produce, rss_kib
from slawatch.broker.embedded import free_port
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
