"""Real on-call components for the tests: Alertmanager, the notifier and the status page as processes,
and headless Chromium. Nothing is faked: each is the Debian program or `python -m slawatch VERB`.

A missing program fails the test with how to install it (`make system-deps` installs both); it is
never skipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import orjson
import pytest

from kafka_helpers import REPO, http_get, wait_for
from slawatch.broker.embedded import die_with_parent, free_port

# Tansu answers a group join after half the session timeout: 4 s keeps a notifier's start near 2 s.
NOTIFIER_SESSION_TIMEOUT_S = 4
AM_CONFIG = 'route: {receiver: "null"}\nreceivers: [{name: "null"}]\n'


def require_program(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed: run `make system-deps` "
                    f"(or `sudo apt-get install {package}`)", pytrace=False)
    return path


def _spawn(cmd: list[str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=die_with_parent, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Alertmanager:
    """Debian's prometheus-alertmanager on 127.0.0.1, no cluster listener; restartable on its port."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require_program("prometheus-alertmanager", "prometheus-alertmanager")
        self.workdir = workdir
        self.port = free_port()
        (workdir / "am.yml").write_text(AM_CONFIG)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Alertmanager:
        self.process = _spawn([self.binary, f"--config.file={self.workdir / 'am.yml'}",
                               f"--storage.path={self.workdir / 'data'}",
                               f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
                              self.workdir / "alertmanager.log")
        wait_for(lambda: http_get(f"{self.url}/-/ready")[0] == 200, 15, 0.05, "Alertmanager ready")
        return self

    def stop(self) -> None:
        _stop(self.process)
        wait_for(lambda: http_get(f"{self.url}/-/ready")[0] == 0, 10, 0.05, "Alertmanager stopped")

    def alerts(self, **labels: str) -> list[dict]:
        """Active alerts (GET /api/v2/alerts), filtered by exact label values."""
        query = urllib.parse.urlencode([("filter", f'{k}="{v}"') for k, v in labels.items()])
        status, body = http_get(f"{self.url}/api/v2/alerts?{query}")
        assert status == 200, f"GET /api/v2/alerts answered {status}: {body[:200]!r}"
        return orjson.loads(body)

    def rules_active(self) -> set[str]:
        return {a["labels"]["rule"] for a in self.alerts()}


class Notifier:
    """`python -m slawatch notify alertmanager` as a subprocess."""

    def __init__(self, broker: str, alertmanager_url: str, log_path: Path, *extra: str) -> None:
        self.cmd = [sys.executable, "-m", "slawatch", "notify", "alertmanager", "--broker", broker,
                    "--url", alertmanager_url, "--session-timeout", str(NOTIFIER_SESSION_TIMEOUT_S), *extra]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> Notifier:
        self.process = _spawn(self.cmd, self.log_path)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        _stop(self.process)
        return self.process.returncode if self.process else 0

    def kill(self) -> None:
        _stop(self.process, signal.SIGKILL)
