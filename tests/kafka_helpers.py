"""Real-broker helpers for the integration tests: a worker subprocess, produce, consume, scrape.

Nothing here mocks Kafka: the broker is Tansu on 127.0.0.1, the worker is `python -m slawatch worker`
in its own process, the clients are kafka-python (and confluent-kafka where a test says so).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
from kafka import KafkaConsumer, KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from slawatch.broker.embedded import die_with_parent, free_port
from slawatch.settings import EMBEDDED_SESSION_TIMEOUT_S

REPO = Path(__file__).resolve().parents[1]


# How long a test waits for a worker's answer to /metrics or /debug/state. A worker starved of CPU
# (CI's busy cores) can take seconds to answer while it applies a batch; the tests assert counts,
# not latency, so a slow answer must not read as a failure (it did at 2 s, under a soak's CPU hog).
READ_TIMEOUT_S = 15.0


def wait_for(predicate, timeout_s: float = 30.0, interval_s: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def http_get(url: str, timeout_s: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


class WorkerProcess:
    """`python -m slawatch worker` against a broker, with its own web port and data dir."""

    def __init__(self, broker: str, data_dir: Path, catalog: list[str] | None = None, log_path: Path | None = None):
        self.broker = broker
        self.port = free_port()
        self.data_dir = data_dir
        self.catalog = catalog or []
        self.log_path = log_path or data_dir / "worker.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> WorkerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "slawatch", "worker", "--broker", self.broker, "--web-port", str(self.port),
               "--data-dir", str(self.data_dir), "--session-timeout", str(EMBEDDED_SESSION_TIMEOUT_S)]
        for path in self.catalog:
            cmd += ["--catalog", path]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=die_with_parent, env=env, cwd=REPO)
        wait_for(self.ready, timeout_s, what=f"worker ready (log: {self.log_path})")
        return self

    def ready(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}; log:\n{self.log_tail()}")
        return http_get(f"{self.url}/readyz")[0] == 200

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        status, body = http_get(f"{self.url}/metrics", READ_TIMEOUT_S)
        assert status == 200, f"/metrics answered {status}"
        samples = {}
        for family in text_string_to_metric_families(body.decode()):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return samples

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics().get((name, tuple(sorted(labels.items()))), 0.0)

    def state(self) -> dict:
        """Per SLO: checkpoint digest and size, and good/total/excluded over the last day."""
        status, body = http_get(f"{self.url}/debug/state", READ_TIMEOUT_S)
        assert status == 200, f"/debug/state answered {status or 'nothing'} within {READ_TIMEOUT_S} s"
        return orjson.loads(body)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final commit, no flush."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout_s: float = 20.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def producer(broker: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=broker, linger_ms=5)


def send_all(broker: str, records: list[tuple[bytes | None, bytes]], topic: str = "sla.events") -> None:
    p = producer(broker)
    try:
        for key, value in records:
            p.send(topic, key=key, value=value)
        p.flush(10)
    finally:
        p.close(5)


def consume_all(broker: str, topic: str, predicate=lambda r: True, expect: int = 1, timeout_s: float = 30.0) -> list:
    """Read `topic` from the beginning until `expect` records match `predicate` (or time out)."""
    consumer = KafkaConsumer(topic, bootstrap_servers=broker, auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=1000)
    matched: list = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and len(matched) < expect:
            for batch in consumer.poll(timeout_ms=500).values():
                matched.extend(r for r in batch if predicate(r))
    finally:
        consumer.close()
    return matched


def event(service: str, ok: bool = True, latency_ms: float | None = 10.0, ts: float | None = None, **extra) -> dict:
    doc = {"service": service, "ts": time.time() if ts is None else ts, "ok": ok, **extra}
    if latency_ms is not None:
        doc["latency_ms"] = latency_ms
    return doc


def pids_of(name: str) -> list[int]:
    """PIDs whose command line contains `name` (to prove nothing is left running)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if name.encode() in (entry / "cmdline").read_bytes():
                    out.append(int(entry.name))
            except OSError:
                pass
    return out
