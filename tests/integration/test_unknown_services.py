"""200,000 service names outside the catalogue cost the worker no series and little memory.

Real broker, real worker. No SLO reads such events; they share one `service="_unknown"` series,
and they are counted where they land rather than re-homed (re-homing them one record per name made
the worker keep ~290 MB more after 200,000 names, measured with 100-event records).
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from kafka_helpers import REPO, WorkerProcess, wait_for
from slawatch.conventions import METRIC_EVENTS_REROUTED, TOPIC_EVENTS, UNKNOWN_SERVICE

pytestmark = pytest.mark.integration
CATALOG = [str(REPO / "tests" / "integration" / "catalogs" / "hostile.yaml")]
NAMES = 200_000
PER_RECORD = 100
MAX_GROWTH_KB = 50 * 1024


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def send_names(broker: str, prefix: str, names: int, now: float) -> None:
    """`names` distinct services, PER_RECORD per record; every other record keyed by its first, the rest unkeyed."""
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 20})
    for r in range(names // PER_RECORD):
        services = [f"{prefix}-{r}-{i}" for i in range(PER_RECORD)]
        value = orjson.dumps([{"service": s, "ts": now - 1, "ok": True} for s in services])
        producer.produce(TOPIC_EVENTS, value=value, key=services[0].encode() if r % 2 == 0 else None)
        producer.poll(0)
    assert producer.flush(30) == 0


def series_of(worker: WorkerProcess) -> tuple[set, set]:
    """(series without an `slo` label, the `slo` label values): SLO gauges come and go with the
    catalogue's SLOs as their state is created, so those are checked by name instead."""
    plain, slos = set(), set()
    for name, labels in worker.metrics():
        slo = dict(labels).get("slo")
        if slo is None:
            plain.add((name, labels))
        else:
            slos.add(slo)
    return plain, slos


def unknown_counted(worker: WorkerProcess) -> float:
    return worker.sample("slawatch_events_total", service=UNKNOWN_SERVICE, outcome="ok")


def test_200000_unknown_services_share_one_series_and_grow_the_worker_by_less_than_50_mb(fresh_broker, tmp_path: Path):
    broker = fresh_broker
    worker = WorkerProcess(broker, tmp_path / "worker", catalog=CATALOG).start()
    try:
        now = time.time()
        send_names(broker, "warm-up", 1_000, now)  # the _unknown series exists, first-use allocations are made
        wait_for(lambda: unknown_counted(worker) == 1_000, 30, what="the warm-up counted")
        plain_before, _ = series_of(worker)
        before = rss_kb(worker.process.pid)

        send_names(broker, "ghost", NAMES, now)
        wait_for(lambda: unknown_counted(worker) == 1_000 + NAMES, 120, interval_s=1.0,
                 what=f"200,000 unknown events counted (log {worker.log_path})")
        time.sleep(2.0)
        growth = rss_kb(worker.process.pid) - before
        print(f"worker RSS {before / 1024:.1f} MB before, grew {growth / 1024:.1f} MB")

        assert unknown_counted(worker) == 1_000 + NAMES
        plain_after, slos = series_of(worker)
        assert plain_after == plain_before, "no series appeared or vanished"
        assert slos <= {"alpha-availability", "beta-availability", "gamma-availability"}
        assert not any(value.startswith("ghost-") for _, labels in worker.metrics() for _, value in labels)
        assert growth < MAX_GROWTH_KB, f"the worker grew by {growth / 1024:.1f} MB"
        assert worker.sample(METRIC_EVENTS_REROUTED) == 0
        assert worker.process.poll() is None, worker.log_tail()
    finally:
        worker.stop()
