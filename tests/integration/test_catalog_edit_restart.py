"""A worker restarted with an edited catalogue (an SLO's windows changed, an SLO added) keeps counting.

The first worker counts events under catalogue v1 and is stopped. Its successor starts under v2,
where search-availability's window went from 1 day to 7 days (another ring layout: 1-minute buckets
become hours) and search-latency is new. It restores the checkpoint from the table's changelog,
re-buckets it (every event of the last hour survives: hours are whole multiples of the old
buckets), counts the new events for both SLOs and exports the re-bucketing as a state reset.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from kafka_helpers import REPO, WorkerProcess, send_all, wait_for

pytestmark = pytest.mark.integration

V1 = """apiVersion: slawatch/v1
kind: Catalog
services:
  - name: search
    slos:
      - name: search-availability
        objective: 99
        sli: {availability: {}}
        windows: [1d]
"""
V2 = """apiVersion: slawatch/v1
kind: Catalog
services:
  - name: search
    slos:
      - name: search-availability
        objective: 99
        sli: {availability: {}}
        windows: [7d]
      - name: search-latency
        objective: 95
        sli: {latency: {threshold_ms: 100}}
        windows: [1d]
"""


def search_events(n: int, start: float) -> list[dict]:
    """Two a second from `start`, one in 25 failing, latencies 40-159 ms (a quarter above 100 ms)."""
    return [{"service": "search", "ts": start + i * 0.5, "ok": i % 25 != 0, "latency_ms": 40.0 + (i * 7) % 120}
            for i in range(n)]


def produce(broker: str, events: list[dict], per_record: int = 20) -> None:
    send_all(broker, [(b"search", orjson.dumps(events[i : i + per_record])) for i in range(0, len(events), per_record)])


def totals(worker: WorkerProcess) -> dict[str, int]:
    return {slo: counts["total"] for slo, counts in worker.state().items()}


def events_counted(worker: WorkerProcess) -> float:
    return sum(worker.sample("slawatch_events_total", service="search", outcome=o) for o in ("ok", "error"))


def test_a_worker_restarted_with_changed_windows_and_a_new_slo_keeps_counting(fresh_broker, tmp_path: Path):
    (tmp_path / "v1.yaml").write_text(V1)
    (tmp_path / "v2.yaml").write_text(V2)
    now = time.time()
    before, after = search_events(400, now - 600), search_events(200, now - 300)

    first = WorkerProcess(fresh_broker, tmp_path / "a", catalog=[str(tmp_path / "v1.yaml")]).start()
    try:
        produce(fresh_broker, before)
        wait_for(lambda: totals(first) == {"search-availability": len(before)}, 60, what="v1 counted the first events")
        assert events_counted(first) == len(before)
        assert first.sample("slawatch_state_resets_total", slo="search-availability", reason="windows_rebucketed") == 0
    finally:
        assert first.stop() == 0, first.log_tail()

    second = WorkerProcess(fresh_broker, tmp_path / "b", catalog=[str(tmp_path / "v2.yaml")]).start()
    try:
        produce(fresh_broker, after)
        expected = {"search-availability": len(before) + len(after), "search-latency": len(after)}
        try:
            wait_for(lambda: totals(second) == expected, 60, what="v2 counted on from the restored state")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {second.state()}; log:\n{second.log_tail(20)}") from None
        state = second.state()
        assert state["search-availability"]["good"] == sum(e["ok"] for e in before + after)
        assert state["search-latency"]["good"] == sum(e["latency_ms"] <= 100 for e in after)
        assert events_counted(second) == len(after)  # this process's counter: the new events only
        assert second.sample("slawatch_state_resets_total", slo="search-availability", reason="windows_rebucketed") == 1
        metrics = second.metrics()
        assert not any(name == "slawatch_state_resets_total" and dict(labels)["slo"] == "search-latency"
                       for name, labels in metrics)  # the added SLO simply starts empty
        assert metrics[("slawatch_objective_ratio", (("slo", "search-latency"),))] == 0.95
        assert "checkpoint not carried over in full" in (tmp_path / "b" / "worker.log").read_text()
    finally:
        assert second.stop() == 0, second.log_tail()
