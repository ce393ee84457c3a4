"""A page resolves while its service sends nothing, on the real broker, not when its traffic returns.

The traffic-gap scenario (tests/golden/scenarios/traffic-gap): search has a 30 s outage at 900 s and
then sends nothing until 1110 s; catalog sends all along. The worker gets everything up to the gap's
end and nothing more: once it has caught up with its partitions, its clock is the wall clock (less
the lateness allowance), so time slides for the silent search SLO and the page resolves where
Prometheus' evaluation of the same rules would (replay says where). Search's traffic comes back
afterwards: counted, and no new page.
"""

from __future__ import annotations

import orjson
import pytest

from integration.test_detection_end_to_end import SCENARIOS, at, counted, event_lines, produce, replayed
from kafka_helpers import WorkerProcess, consume_all, wait_for

pytestmark = pytest.mark.integration
NAME = "traffic-gap"
BASE = 1_767_571_200.0  # the scenarios' 2026-01-05T00:00:00Z
GAP_END = 1110  # seconds after BASE: search's traffic returns


def pages(broker: str, status: str, expect: int, timeout_s: float = 60) -> list[dict]:
    records = consume_all(broker, "sla.warnings", expect=expect, timeout_s=timeout_s,
                          predicate=lambda r: (p := orjson.loads(r.value))["severity"] == "page" and p["status"] == status)
    return [orjson.loads(r.value) for r in records]


def test_a_silent_service_s_page_resolves_on_the_clock_and_its_returning_traffic_pages_nothing(fresh_broker, tmp_path):
    reference = [a for a in replayed(NAME) if a["severity"] == "page" and a["status"] == "resolved"]
    events = event_lines(NAME)
    before = [e for e in events if e["ts"] - BASE < GAP_END]
    after = [e for e in events if e["ts"] - BASE >= GAP_END]
    produce(fresh_broker, before)
    worker = WorkerProcess(fresh_broker, tmp_path, catalog=[str(SCENARIOS / NAME / "catalog.yaml")]).start()
    try:
        wait_for(lambda: counted(worker) == len(before), 60, what="every event before the gap's end counted")
        # No search event after 930 s has been sent: only the clock can resolve the page.
        resolved = pages(fresh_broker, "resolved", expect=len(reference))
        assert sorted((a["labels"]["rule"], a["ends_at"]) for a in resolved) == \
            sorted((a["labels"]["rule"], a["ends_at"]) for a in reference)
        assert all(939 <= at(a["ends_at"]) - BASE <= 990 for a in resolved)
        produce(fresh_broker, after)
        wait_for(lambda: counted(worker) == len(events), 60, what="the returning traffic counted")
        fired = pages(fresh_broker, "firing", expect=10**6, timeout_s=10)  # all there is
        assert fired and all(at(a["starts_at"]) - BASE < 930 for a in fired), [a["starts_at"] for a in fired]
        assert counted(worker) == len(events)
    finally:
        worker.stop()

