"""Real programs the tests run (Prometheus, promtool, kubectl): found on PATH, or a failed test
that says how to install them. Never a skip: a missing program must not pass as a green run."""

from __future__ import annotations

import shutil
import subprocess

import pytest

PROMETHEUS_HINT = "run `make prometheus` (it installs Debian's prometheus package: apt-get install prometheus)"
KUBECTL_HINT = "install kubectl (Debian/Ubuntu: apt-get install kubectl from the Kubernetes apt repository)"


def require(program: str, hint: str) -> str:
    """The program's path; fails the calling test with `hint` when it is not installed."""
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not on PATH: {hint}", pytrace=False)
    return path


def run(cmd: list[str], timeout_s: float = 60.0, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run a program to completion; the test fails with its output if it exits non-zero."""
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done
