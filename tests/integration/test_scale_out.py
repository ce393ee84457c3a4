"""Scale-out: two workers in one group share the four partitions of sla.events and, between them,
count every event exactly once, as one worker would.

The traffic is known in advance (per service so many good and bad events), and part of it is sent
under another service's key, on a partition the other worker holds, so events also cross from one
worker to the other through re-homing. Nothing here is timed: waits end on what the workers report.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from integration.test_rebalance import CATALOG, PARTITIONS, SERVICES, SLOS, slo_of
from kafka_helpers import WorkerProcess, send_all, wait_for
from live_traffic import ChangelogState, Counts, count_differences, settled_counts
from slawatch import conventions as cv
from slawatch.ingest.router import home_partition

pytestmark = pytest.mark.integration
RECORDS_PER_SERVICE = 200
EVENTS_PER_RECORD = 5
MISKEYED_EVERY = 10  # every 10th record of a service goes out under the key of a service the other worker holds


def held_partitions(worker: WorkerProcess) -> frozenset[int]:
    """The sla.events partitions a worker holds: one slawatch_consumer_lag_records sample each."""
    return frozenset(int(dict(labels)["partition"]) for name, labels in worker.metrics()
                     if name == cv.METRIC_CONSUMER_LAG)


def shared_out(a: WorkerProcess, b: WorkerProcess) -> tuple[frozenset[int], frozenset[int]] | None:
    """Both workers' partitions once each holds some, none twice and all together; else None."""
    held = held_partitions(a), held_partitions(b)
    if held[0] and held[1] and not held[0] & held[1] and held[0] | held[1] == frozenset(range(PARTITIONS)):
        return held
    return None


def owned_slos(worker: WorkerProcess) -> frozenset[str]:
    """The SLOs a worker says it owns: one slawatch_slo_info sample each."""
    return frozenset(dict(labels)["slo"] for name, labels in worker.metrics() if name == cv.METRIC_SLO_INFO)


def is_bad(service: str, n: int) -> bool:
    """A different error ratio per service (1 in 4 .. 1 in 11), so counts moved between services show."""
    return n % (4 + SERVICES.index(service)) == 0


def traffic(a_holds: frozenset[int], now: float) -> tuple[list[tuple[bytes, bytes]], dict[str, Counts], int]:
    """(key, value) records, the good/total each SLO must count, and how many events go out
    mis-keyed: under the key of a service homed on a partition of the other worker (A holds `a_holds`)."""
    homes = {s: home_partition(s, PARTITIONS) for s in SERVICES}
    records, good, total, miskeyed = [], Counter(), Counter(), 0
    for service in SERVICES:
        mine = homes[service] in a_holds
        stranger = next(s for s in SERVICES if (homes[s] in a_holds) != mine)
        for r in range(RECORDS_PER_SERVICE):
            ns = range(r * EVENTS_PER_RECORD, (r + 1) * EVENTS_PER_RECORD)
            events = [{"service": service, "ts": now, "ok": not is_bad(service, n), "attributes": {"n": n}} for n in ns]
            key = stranger if r % MISKEYED_EVERY == 0 else service
            miskeyed += EVENTS_PER_RECORD if key != service else 0
            records.append((key.encode(), orjson.dumps(events)))
            good[slo_of(service)] += sum(e["ok"] for e in events)
            total[slo_of(service)] += EVENTS_PER_RECORD
    return records, {slo: Counts(good[slo], total[slo]) for slo in total}, miskeyed


def counted_by(workers: list[WorkerProcess], name: str) -> Counter:
    """A counter's samples summed over the workers, by label set."""
    out: Counter = Counter()
    for worker in workers:
        for (sample, labels), value in worker.metrics().items():
            if sample == name:
                out[labels] += value
    return out


def lag_left(workers: list[WorkerProcess]) -> float:
    return sum(v for w in workers for (name, _), v in w.metrics().items() if name == cv.METRIC_CONSUMER_LAG)


def test_two_workers_share_the_partitions_and_count_every_event_once(fresh_broker, tmp_path: Path):
    a = WorkerProcess(fresh_broker, tmp_path / "a", catalog=[CATALOG])
    b = WorkerProcess(fresh_broker, tmp_path / "b", catalog=[CATALOG])
    changelog = ChangelogState(fresh_broker, [CATALOG])
    try:
        a.start()
        b.start()
        a_holds, b_holds = wait_for(lambda: shared_out(a, b), 120, what="the four partitions shared between A and B")
        records, expected, miskeyed = traffic(a_holds, time.time())
        send_all(fresh_broker, records)
        produced = sum(c.total for c in expected.values())

        wait_for(lambda: sum(counted_by([a, b], cv.METRIC_EVENTS).values()) >= produced, 180,
                 what=f"{produced} events counted by A and B together")
        wait_for(lambda: lag_left([a, b]) == 0, 60, what="no records left to fetch on any partition")
        held_after = shared_out(a, b)
        owned = owned_slos(a), owned_slos(b)
        # Each SLO's last checkpoint on the changelog: what its owner counted (see test_rebalance).
        counts = settled_counts(changelog, expected, timeout_s=90)
        events_counted = counted_by([a, b], cv.METRIC_EVENTS)
        rerouted = sum(counted_by([a, b], cv.METRIC_EVENTS_REROUTED).values())
        duplicates = sum(counted_by([a, b], cv.METRIC_EVENTS_DUPLICATE).values())
    finally:
        changelog.close()
        a.stop()
        b.stop()

    assert held_after == (a_holds, b_holds), f"partitions moved during the run: {(a_holds, b_holds)} then {held_after}"
    assert not owned[0] & owned[1] and owned[0] | owned[1] == SLOS, f"SLOs owned by A and B: {owned}"
    assert not count_differences(counts, expected), (f"per SLO, A holding partitions {sorted(a_holds)}, "
                                                     f"B {sorted(b_holds)}: {count_differences(counts, expected)}")
    by_service = {(dict(labels)["service"], dict(labels)["outcome"]): int(v) for labels, v in events_counted.items()}
    assert by_service == {
        **{(s, cv.OUTCOME_OK): expected[slo_of(s)].good for s in SERVICES},
        **{(s, cv.OUTCOME_ERROR): expected[slo_of(s)].total - expected[slo_of(s)].good for s in SERVICES},
    }, "slawatch_events_total over both workers, by service and outcome"
    assert rerouted == miskeyed, "every mis-keyed event re-homed once, from one worker's partition to the other's"
    assert duplicates == 0
