from __future__ import annotations

from pathlib import Path

import pytest

from kafka_helpers import REPO, WorkerProcess
from slawatch.topics import apply_topics, load_specs

DEMO_CATALOG = str(REPO / "examples" / "catalog" / "demo.yaml")


@pytest.fixture(scope="module")
def module_broker():
    """A broker of the module's own, so tests reading topics from the start see only their records."""
    from slawatch.broker import EmbeddedBroker

    with EmbeddedBroker() as running:
        apply_topics(load_specs(REPO / "topics"), [running.address])
        yield running.address


@pytest.fixture
def fresh_broker():
    """A broker of the test's own with every topic created: nothing from another test in its logs,
    offsets or consumer groups (tests that kill, restart or recreate things need that)."""
    from slawatch.broker import EmbeddedBroker

    with EmbeddedBroker() as running:
        apply_topics(load_specs(REPO / "topics"), [running.address])
        yield running.address


@pytest.fixture(scope="module")
def worker(module_broker, tmp_path_factory) -> WorkerProcess:
    """One worker subprocess with the demo catalogue (checkout, payments, search are known)."""
    proc = WorkerProcess(module_broker, Path(tmp_path_factory.mktemp("worker")), catalog=[DEMO_CATALOG]).start()
    yield proc
    proc.stop()
