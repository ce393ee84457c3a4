"""The broker freezes for 30 s under live traffic (SIGSTOP, then SIGCONT): the worker stays up,
keeps answering /healthz, resumes by itself, and every event sent is counted exactly once.

A frozen process keeps its sockets open and answers nothing, like a broker behind a dead network
path or stuck in a long GC pause; clients see requests hang rather than connections refused. The
producer buffers meanwhile and never retries a request (see live_traffic.steady_producer), so the
log holds each record once and any surplus or shortfall is the worker's.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import orjson
import pytest

from kafka_helpers import REPO, WorkerProcess, http_get, wait_for
from live_traffic import (
    ChangelogState,
    LiveTraffic,
    assert_the_log_holds_each_record_once,
    count_differences,
    expected_counts,
    settled_counts,
)
from slawatch import conventions as cv
from slawatch.broker import EmbeddedBroker
from slawatch.topics import apply_topics, load_specs

pytestmark = pytest.mark.integration
CATALOG = str(REPO / "tests" / "integration" / "catalogs" / "eight-services.yaml")
SERVICES = ["search", "payments", "cart", "shipping", "checkout", "inventory", "login", "profile"]
SLOS = frozenset(f"{s}-availability" for s in SERVICES)
OUTAGE_S = 30.0
PROBE_EVERY_S = 2.0
PROBE_TIMEOUT_S = 10.0  # /healthz is served by the worker's own event loop, which must not block on the broker


def slo_of(service: str) -> str:
    return f"{service}-availability"


def is_bad(service: str, n: int, elapsed_s: float) -> bool:
    return n % 20 == 19


@pytest.fixture
def broker(tmp_path: Path):
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as running:
        apply_topics(load_specs(REPO / "topics"), [running.address])
        yield running


def freeze(broker: EmbeddedBroker, seconds: float, worker: WorkerProcess) -> list[tuple[float, int, bytes]]:
    """SIGSTOP the broker for `seconds`, probing the worker's /healthz meanwhile; always SIGCONT.
    Returns (seconds into the outage, status, body) of every probe."""
    pid = broker.process.pid
    probes = []
    os.kill(pid, signal.SIGSTOP)
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            status, body = http_get(f"{worker.url}/healthz", timeout_s=PROBE_TIMEOUT_S)
            probes.append((round(time.monotonic() - started, 1), status, body))
            time.sleep(max(0.0, min(PROBE_EVERY_S, seconds - (time.monotonic() - started))))
    finally:
        os.kill(pid, signal.SIGCONT)
    return probes


def test_a_worker_rides_out_a_30_s_broker_freeze_and_counts_every_event_once(broker, tmp_path):
    worker = WorkerProcess(broker.address, tmp_path / "worker", catalog=[CATALOG]).start()
    traffic = LiveTraffic(broker.address, SERVICES, is_bad).start()
    changelog = None
    try:
        wait_for(lambda: traffic.elapsed_s() >= 5 and exported(worker) == SLOS, 60, what="the worker holding every SLO")
        probes = freeze(broker, OUTAGE_S, worker)
        frozen_sent = traffic.records_sent
        alive_after_outage = worker.process.poll() is None
        wait_for(lambda: http_get(f"{worker.url}/readyz")[0] == 200, 120, what=f"the worker ready again (log: {worker.log_path})")
        resumed_at = traffic.elapsed_s()
        wait_for(lambda: traffic.elapsed_s() >= resumed_at + 10, 30, what="10 s of traffic after the outage")
        sent = traffic.stop()
        expected = expected_counts(sent, slo_of)
        changelog = ChangelogState(broker.address, [CATALOG])
        counts = settled_counts(changelog, expected, timeout_s=90)
        still_alive = worker.process.poll() is None
    finally:
        traffic.close()
        if changelog is not None:
            changelog.close()
        worker.stop()

    assert alive_after_outage and still_alive, f"the worker exited during the outage; log:\n{worker.log_tail()}"
    unanswered = [(at, status) for at, status, body in probes if status != 200 or orjson.loads(body)["status"] != "ok"]
    assert len(probes) >= OUTAGE_S / (PROBE_EVERY_S + PROBE_TIMEOUT_S) and not unanswered, (
        f"/healthz did not answer during the outage: {unanswered} of {len(probes)} probes")
    assert len(sent) > frozen_sent, "no traffic after the outage"
    assert_the_log_holds_each_record_once(broker.address, sent)
    differences = count_differences(counts, expected)
    assert not differences, ("events lost or counted twice after the outage:\n"
                             + "\n".join(f"  {slo}: {text}" for slo, text in differences.items())
                             + f"\nworker log:\n{worker.log_tail(30)}")


def exported(worker: WorkerProcess) -> frozenset[str]:
    """The SLOs whose objective gauge the worker exports (it does once it holds their state)."""
    return frozenset(dict(labels)["slo"] for name, labels in worker.metrics() if name == cv.METRIC_OBJECTIVE_RATIO)
