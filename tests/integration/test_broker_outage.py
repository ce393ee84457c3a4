"""Broker outages under live traffic: the worker stays up, resumes by itself, and counts every
event exactly once.

1. The broker freezes for 30 s (SIGSTOP, then SIGCONT). A frozen process keeps its sockets open and
   answers nothing, like a broker behind a dead network path or in a long pause; clients see requests
   hang rather than connections refused. The producer buffers meanwhile and never retries a request
   (see live_traffic.steady_producer), so the log holds each record once and any surplus or
   shortfall is the worker's. /healthz must answer throughout.
2. The broker restarts with its data kept (Tansu on S3 served by moto): connections drop, the
   group, offsets and changelogs must be found again. A produce request cut by the stop is retried,
   so a record may be appended twice; the log is then the truth: every record in it counted once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import boto3
import orjson
import pytest

from kafka_helpers import REPO, WorkerProcess, http_get, wait_for
from live_traffic import (
    ChangelogState,
    LiveTraffic,
    Sent,
    assert_the_log_holds_each_record_once,
    count_differences,
    expected_counts,
    explain_differences,
    log_positions,
    settled_counts,
)
from slawatch import conventions as cv
from slawatch.broker import EmbeddedBroker
from slawatch.broker.embedded import die_with_parent, free_port
from slawatch.topics import apply_topics, load_specs

pytestmark = pytest.mark.integration
CATALOG = str(REPO / "tests" / "integration" / "catalogs" / "eight-services.yaml")
SERVICES = ["search", "payments", "cart", "shipping", "checkout", "inventory", "login", "profile"]
SLOS = frozenset(f"{s}-availability" for s in SERVICES)
OUTAGE_S = 30.0
PROBE_EVERY_S = 2.0
RESTART_AFTER_S = 5.0  # the broker is down this long: longer than the worker's retry backoffs start at
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
    positions = log_positions(broker.address, len(sent))
    assert_the_log_holds_each_record_once(positions, sent)
    differences = count_differences(counts, expected)
    assert not differences, ("events lost or counted twice after the outage:\n"
                             + explain_differences(differences, changelog, sent, slo_of, positions)
                             + f"\nworker log:\n{worker.log_tail(30)}")


def exported(worker: WorkerProcess) -> frozenset[str]:
    """The SLOs whose objective gauge the worker exports (it does once it holds their state)."""
    return frozenset(dict(labels)["slo"] for name, labels in worker.metrics() if name == cv.METRIC_OBJECTIVE_RATIO)


class S3Server:
    """moto's S3 on 127.0.0.1 with a bucket for Tansu's s3:// storage, so a restarted broker keeps
    its topics, offsets and groups (the only storage of the wheel's Tansu that does)."""

    BUCKET = "tansu"

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def broker_env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT": self.endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}

    def __enter__(self) -> S3Server:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1",
                                             "-p", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        wait_for(self._listening, 30, what=f"moto's S3 on {self.endpoint}")
        boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                     region_name="us-east-1").create_bucket(Bucket=self.BUCKET)
        return self

    def _listening(self) -> bool:
        assert self.process.poll() is None, f"moto_server exited; log: {self.log_path}"
        return http_get(self.endpoint)[0] != 0

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)


def s3_broker(s3: S3Server, log_path: Path, port: int = 0) -> EmbeddedBroker:
    return EmbeddedBroker(port=port, log_path=log_path, storage_url=f"s3://{S3Server.BUCKET}/",
                          env=s3.broker_env).start(timeout_s=30)


def test_a_worker_resumes_after_a_broker_restart_that_kept_its_data_and_counts_every_event_once(tmp_path):
    with S3Server(tmp_path / "moto.log") as s3:
        broker = s3_broker(s3, tmp_path / "broker.log")
        address = broker.address
        worker = traffic = changelog = None
        try:
            apply_topics(load_specs(REPO / "topics"), [address])
            worker = WorkerProcess(address, tmp_path / "worker", catalog=[CATALOG]).start()
            # Fewer, larger records than over memory storage: each batch is an object on moto's S3,
            # which serves a few hundred requests a second on a busy machine.
            traffic = LiveTraffic(address, SERVICES, is_bad, interval_s=0.25, per_record=10).start()
            wait_for(lambda: traffic.elapsed_s() >= 5 and exported(worker) == SLOS, 60, what="the worker holding every SLO")
            broker.stop()
            time.sleep(RESTART_AFTER_S)
            broker = s3_broker(s3, tmp_path / "broker.log", port=broker.port)
            wait_for(lambda: http_get(f"{worker.url}/readyz")[0] == 200, 120,
                     what=f"the worker ready again (log: {worker.log_path})")
            resumed_at = traffic.elapsed_s()
            wait_for(lambda: traffic.elapsed_s() >= resumed_at + 10, 30, what="10 s of traffic after the restart")
            sent = traffic.stop()
            positions = log_positions(address, len(sent), timeout_s=120)
            in_log = Counter({value: len(at) for value, at in positions.items()})
            expected = expected_counts(records_of(in_log), slo_of)
            changelog = ChangelogState(address, [CATALOG])
            counts = settled_counts(changelog, expected, timeout_s=90)
            still_alive = worker.process.poll() is None
        finally:
            if traffic is not None:
                traffic.close()
            if changelog is not None:
                changelog.close()
            if worker is not None:
                worker.stop()
            broker.stop()

    assert still_alive, f"the worker exited after the broker restart; log:\n{worker.log_tail()}"
    lost = Counter(s.value for s in sent) - in_log
    assert not lost, (f"sla.events gave back {sum(in_log.values())} records, {sum(lost.values())} of the "
                      f"{len(sent)} acknowledged ones missing: lost by the broker, or not read back in 120 s")
    differences = count_differences(counts, expected)
    assert not differences, ("events lost or counted twice across the broker restart:\n"
                             + explain_differences(differences, changelog, records_of(in_log), slo_of, positions)
                             + f"\nworker log:\n{worker.log_tail(30)}")


def records_of(in_log: Counter) -> list[Sent]:
    """Each record appended to sla.events, as often as it was appended, with its events' outcomes."""
    out = []
    for value, times in in_log.items():
        events = orjson.loads(value)
        bad = sum(1 for e in events if not e["ok"])
        out += [Sent(events[0]["service"], value, len(events) - bad, bad)] * times
    return out
