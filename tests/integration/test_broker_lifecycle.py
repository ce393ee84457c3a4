"""The embedded broker: ready means a real metadata round-trip; stopping leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import socket

import pytest
from kafka import KafkaAdminClient

from kafka_helpers import REPO, pids_of, wait_for
from slawatch.broker import BrokerNotReady, EmbeddedBroker, wait_until_ready
from slawatch.broker.embedded import free_port

pytestmark = pytest.mark.integration


def answers_metadata(address: str) -> bool:
    admin = KafkaAdminClient(bootstrap_servers=address, request_timeout_ms=2000)
    try:
        return isinstance(admin.list_topics(), list)
    finally:
        admin.close()


def test_a_started_broker_answers_metadata_and_a_stopped_one_leaves_no_process():
    broker = EmbeddedBroker().start()
    pid = broker.process.pid
    assert answers_metadata(broker.address)
    broker.stop()
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_a_second_broker_on_the_same_port_starts_right_after_the_first_stops():
    port = free_port()
    with EmbeddedBroker(port=port) as first:
        assert answers_metadata(first.address)
    with EmbeddedBroker(port=port) as second:
        assert second.address == f"127.0.0.1:{port}" and answers_metadata(second.address)


def test_a_started_broker_runs_in_a_session_of_its_own_so_ctrl_c_reaches_only_its_parent():
    with EmbeddedBroker() as broker:
        assert os.getsid(broker.process.pid) == broker.process.pid != os.getsid(0)


def test_the_broker_command_runs_in_the_foreground_until_ctrl_c():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "slawatch", "broker", "--broker-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO, text=True,
                            start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert f"127.0.0.1:{port}" in line and "ready" in line
        assert answers_metadata(f"127.0.0.1:{port}")
        children = [p for p in pids_of("tansu") if _parent(p) == proc.pid]
        assert len(children) == 1
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole foreground group
        assert proc.wait(10) == 0
    wait_for(lambda: not os.path.exists(f"/proc/{children[0]}"), 10, what="the tansu child to exit")


def test_the_broker_command_on_a_busy_port_says_so_in_one_line(broker):
    port = broker.rsplit(":", 1)[1]
    done = subprocess.run([sys.executable, "-m", "slawatch", "broker", "--broker-port", port], cwd=REPO,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"slawatch broker: port 127.0.0.1:{port} is in use"]


def test_a_broker_whose_parent_is_killed_dies_too():
    code = ("from slawatch.broker import EmbeddedBroker; import time; b = EmbeddedBroker().start(); "
            "print(b.process.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    wait_for(lambda: not os.path.exists(f"/proc/{child}"), 10, what="the orphaned broker to exit")


def _parent(pid: int) -> int:
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError):
        return -1


def test_an_open_port_that_does_not_speak_kafka_is_not_ready():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = "127.0.0.1:%d" % listener.getsockname()[1]
        with pytest.raises(BrokerNotReady, match=address):
            wait_until_ready(address, timeout_s=2)
