"""Session fixtures: one real embedded broker (Tansu) on 127.0.0.1 for the whole run."""

from __future__ import annotations

import pytest

from slawatch.broker import EmbeddedBroker


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> str:
    """Address of a running embedded broker, e.g. '127.0.0.1:40123'."""
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker(log_path=log) as running:
        yield running.address
