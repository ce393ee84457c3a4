"""CLI edges that need a broker that answers: what it does not have is said in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kafka_helpers import REPO

pytestmark = pytest.mark.integration


def slawatch(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slawatch", *argv], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)


def test_tail_of_a_topic_the_broker_does_not_have_says_so_instead_of_waiting(broker):
    done = slawatch("tail", "sla.deadleter", "--broker", broker)
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"slawatch tail: no topic sla.deadleter on {broker} (topics there: ")
