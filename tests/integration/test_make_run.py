"""`slawatch run` (what `make run` calls): demo events are counted, the status page answers, and
Ctrl-C stops the demo, the status page, the worker and the broker in that order, quickly and
quietly, leaving nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from kafka_helpers import REPO, http_get, wait_for
from slawatch.broker.embedded import free_port

pytestmark = pytest.mark.integration

STOP_ORDER = ("demo", "ui", "worker", "broker")
# What a stop that races the broker looks like: reconnect attempts, errors, tracebacks.
NOISE = re.compile(r"error|traceback|reconnect", re.IGNORECASE)


@dataclass(frozen=True)
class StoppedRun:
    output: str  # everything `slawatch run` and its children printed
    stop_s: float  # from Ctrl-C to `slawatch run` exiting
    exited_at: dict[str, float]  # role -> seconds after Ctrl-C when its process was seen gone

    @property
    def after_ctrl_c(self) -> list[str]:
        return self.output.split("slawatch: stopping", 1)[-1].splitlines()


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


def role_of(pid: int) -> str:
    cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    if any(b"tansu" in part for part in cmdline):
        return "broker"
    return next(part.decode() for part in cmdline if part in (b"worker", b"demo", b"ui"))


def gone(pid: int) -> bool:
    """Exited: no /proc entry, or a zombie its parent has not reaped yet."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def events_counted(port: int) -> float:
    status, body = http_get(f"http://127.0.0.1:{port}/metrics")
    if status != 200:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines()
               if line.startswith("slawatch_events_total{") and 'service="checkout"' in line)


def ctrl_c_and_watch(proc: subprocess.Popen, family: dict[str, int], timeout_s: float = 30.0) -> tuple[float, dict]:
    """SIGINT to the whole process group, as a terminal sends Ctrl-C; note when each child is gone."""
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    exited_at: dict[str, float] = {}
    while (len(exited_at) < len(family) or proc.poll() is None) and time.monotonic() - started < timeout_s:
        seen_at = time.monotonic() - started  # one time per look: exits within one look tie
        for role, pid in family.items():
            if role not in exited_at and gone(pid):
                exited_at[role] = seen_at
        time.sleep(0.005)
    proc.wait(5)
    return time.monotonic() - started, exited_at


def run_once(tmp_path: Path, port: int, ui_port: int) -> StoppedRun:
    tmp_path.mkdir(parents=True, exist_ok=True)
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "slawatch", "run", "--web-port", str(port), "--data-dir", str(tmp_path),
             "--rate", "100", "--ui-port", str(ui_port)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True,
        )
    try:
        first = wait_for(lambda: events_counted(port), 90, what="demo events counted at /metrics")
        wait_for(lambda: events_counted(port) > first, 30, what="the counter to keep rising")
        gauges = http_get(f"http://127.0.0.1:{port}/metrics")[1].decode()
        assert 'slawatch_objective_ratio{slo="search-availability"} 0.995' in gauges
        wait_for(lambda: b'data-slo="search-availability"' in http_get(f"http://127.0.0.1:{ui_port}/")[1], 30,
                 what="the status page listing the demo's SLOs")
        family = {role_of(pid): pid for pid in children_of(proc.pid)}
        assert sorted(family) == sorted(STOP_ORDER), "broker, worker, status page and demo run as children"
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    stop_s, exited_at = ctrl_c_and_watch(proc, family)
    output = log_path.read_text(errors="replace")
    assert proc.returncode == 0, output[-3000:]
    for role, pid in family.items():
        assert not os.path.exists(f"/proc/{pid}"), f"the {role} (pid {pid}) outlived `slawatch run`"
    return StoppedRun(output, stop_s, exited_at)


def assert_stopped_in_order_quickly_and_quietly(run: StoppedRun) -> None:
    assert run.stop_s < 5.0, f"stopping took {run.stop_s:.1f}s:\n" + "\n".join(run.after_ctrl_c)
    noise = [line for line in run.after_ctrl_c if NOISE.search(line)]
    assert not noise, "after Ctrl-C:\n" + "\n".join(run.after_ctrl_c)
    by_exit = sorted(STOP_ORDER, key=lambda role: run.exited_at[role])
    assert by_exit == list(STOP_ORDER), f"seconds from Ctrl-C to each exit: {run.exited_at}"
    said = [line.strip() for line in run.after_ctrl_c if re.fullmatch(r"slawatch: \w+ stopped", line.strip())]
    assert said == [f"slawatch: {role} stopped" for role in STOP_ORDER]


def test_run_counts_demo_events_and_ctrl_c_stops_demo_worker_broker_in_order_quietly_twice(tmp_path):
    port, ui_port = free_port(), free_port()
    first = run_once(tmp_path / "one", port, ui_port)
    assert f"http://127.0.0.1:{port}/metrics" in first.output
    assert f"web ui     http://127.0.0.1:{ui_port}" in first.output
    assert "slawatch tail sla.deadletter" in first.output
    assert "nothing left running" in first.output
    assert_stopped_in_order_quickly_and_quietly(first)
    again = run_once(tmp_path / "two", port, ui_port)  # right after: the ports and the broker come back
    assert_stopped_in_order_quickly_and_quietly(again)
