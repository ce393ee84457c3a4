"""`slawatch run` (what `make run` calls): demo events are counted, and Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from kafka_helpers import REPO, http_get, wait_for
from slawatch.broker.embedded import free_port

pytestmark = pytest.mark.integration


def children_of(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def events_counted(port: int) -> float:
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    if status != 200:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
               if line.startswith("slawatch_events_total{") and 'service="checkout"' in line)


def run_once(tmp_path, port: int) -> str:
    proc = subprocess.Popen(
        [sys.executable, "-m", "slawatch", "run", "--web-port", str(port), "--data-dir", str(tmp_path), "--rate", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO, text=True,
    )
    try:
        first = wait_for(lambda: events_counted(port), 90, what="demo events counted at /metrics")
        wait_for(lambda: events_counted(port) > first, 30, what="the counter to keep rising")
        gauges = http_get(f"http://127.0.0.1:{port}/metrics")[1].decode()
        assert 'slawatch_objective_ratio{slo="search-availability"} 0.995' in gauges
        family = children_of(proc.pid)
        family += [g for c in family for g in children_of(c)]
        assert len(family) >= 3, "broker, worker and demo run as children"
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output[-3000:]
    for pid in family:
        assert not os.path.exists(f"/proc/{pid}"), f"pid {pid} outlived `slawatch run`"
    return output


def test_run_shows_where_to_look_counts_demo_events_and_stops_cleanly_twice(tmp_path):
    port = free_port()
    output = run_once(tmp_path / "one", port)
    assert f"http://127.0.0.1:{port}/metrics" in output
    assert "slawatch tail sla.deadletter" in output
    assert "nothing left running" in output
    run_once(tmp_path / "two", port)  # again right after: the port and the broker come back
