"""Two workers in one group under live traffic: a second worker joins, the first is killed with
SIGKILL and restarted, and partitions move three times while events keep coming.

Every event must be counted exactly once, every alert `slawatch replay` makes from the same records
must be on the alert topics under the same id (and no other, but for the last second, see
test_detection_end_to_end), and no SLO may be exported by both workers at the same time.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from integration.test_detection_end_to_end import alerts_on_topics, assert_same_transitions, transitions
from kafka_helpers import REPO, WorkerProcess, http_get, wait_for
from live_traffic import (
    ChangelogState,
    LiveTraffic,
    assert_the_log_holds_each_record_once,
    count_differences,
    expected_counts,
    explain_differences,
    log_positions,
    settled_counts,
    write_jsonl,
)
from slawatch import conventions as cv
from slawatch.broker import EmbeddedBroker
from slawatch.ingest.router import home_partition
from slawatch.replay import run_replay
from slawatch.topics import apply_topics, load_specs

pytestmark = pytest.mark.integration
CATALOG = str(REPO / "tests" / "integration" / "catalogs" / "eight-services.yaml")
# Two services on each of the four partitions of sla.events (see the catalogue's header).
SERVICES = ["search", "payments", "cart", "shipping", "checkout", "inventory", "login", "profile"]
SLOS = frozenset(f"{s}-availability" for s in SERVICES)
PARTITIONS = 4
SLO_GAUGES = frozenset({cv.METRIC_SLI_RATIO, cv.METRIC_BURN_RATE, cv.METRIC_OBJECTIVE_RATIO,
                        cv.METRIC_BUDGET_REMAINING_RATIO, cv.METRIC_TIME_TO_EXHAUSTION, cv.METRIC_ALERT_FIRING})
OUTAGE_S = 10.0  # each service fails every call for 10 s, one after another, 4 s apart
TRAFFIC_AT_LEAST_S = 50.0  # long enough for every outage to end: the last starts at 6 + 4 * 7 = 34 s
# Sandwich bound: a partition leaves a worker only in a rebalance, and a rebalance on the embedded
# broker takes at least half the session timeout (5 s: Tansu answers JoinGroup only then). So a
# worker that exports an SLO in two scrapes less than 2 s apart held it without a break in between.
SANDWICH_MAX_S = 2.0


def slo_of(service: str) -> str:
    return f"{service}-availability"


def is_bad(service: str, n: int, elapsed_s: float) -> bool:
    """Each service's outage (every call fails), and 2 % of calls outside it."""
    start = 6.0 + 4.0 * SERVICES.index(service)
    return start <= elapsed_s < start + OUTAGE_S or n % 50 == 49


@dataclass(frozen=True)
class Scrape:
    """The SLOs one worker process exported in one /metrics answer (none if it did not answer)."""

    worker: str  # "a" or "b"
    url: str  # one process: a restarted worker has a new port
    started: float
    ended: float
    slos: frozenset[str]


class GaugeSampler:
    """Scrapes the workers' /metrics in turn (a, b, a, b, ...) while the test runs."""

    def __init__(self, workers: dict[str, WorkerProcess]) -> None:
        self.workers = workers  # the test replaces workers["a"] when it restarts A
        self.scrapes: list[Scrape] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gauge-sampler", daemon=True)

    def start(self) -> GaugeSampler:
        self._thread.start()
        return self

    def stop(self) -> list[Scrape]:
        self._stopping.set()
        self._thread.join(30)
        return list(self.scrapes)

    def latest(self, worker: str) -> frozenset[str]:
        for scrape in reversed(self.scrapes):
            if scrape.worker == worker:
                return scrape.slos
        return frozenset()

    def _run(self) -> None:
        while not self._stopping.is_set():
            for name in ("a", "b"):
                worker = self.workers.get(name)
                if worker is not None:
                    self.scrapes.append(scrape(name, worker.url))
            time.sleep(0.1)


def scrape(name: str, url: str) -> Scrape:
    started = time.monotonic()
    status, body = http_get(f"{url}/metrics", timeout_s=1.5)
    slos: set[str] = set()
    if status == 200:  # a killed or not yet listening worker exports nothing
        for family in text_string_to_metric_families(body.decode()):
            slos.update(s.labels["slo"] for s in family.samples if s.name in SLO_GAUGES and "slo" in s.labels)
    return Scrape(name, url, started, time.monotonic(), frozenset(slos))


@dataclass(frozen=True)
class DoubleExport:
    slo: str
    middle: str  # the worker scraped between two scrapes of the other
    at_s: float  # since the first scrape


def double_exports(scrapes: list[Scrape]) -> tuple[list[DoubleExport], int]:
    """SLOs both workers exported at one instant, and how many sandwiches were checked.

    Scrapes of two processes are never simultaneous, so one pair proves nothing: an SLO may have
    moved between them. A sandwich proves it: X exported it before and after Y did, less than
    SANDWICH_MAX_S apart, so X held it while Y exported it."""
    found, checked = [], 0
    origin = scrapes[0].started if scrapes else 0.0
    for before, middle, after in zip(scrapes, scrapes[1:], scrapes[2:]):
        if before.url != after.url or middle.worker == before.worker or after.ended - before.started >= SANDWICH_MAX_S:
            continue
        checked += 1
        found += [DoubleExport(slo, middle.worker, round(middle.started - origin, 2))
                  for slo in sorted(before.slos & middle.slos & after.slos)]
    return found, checked


@pytest.fixture
def broker(tmp_path: Path):
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as running:
        apply_topics(load_specs(REPO / "topics"), [running.address])
        yield running.address


def replayed(sent, tmp_path: Path) -> list[dict]:
    out, err = io.StringIO(), io.StringIO()
    assert run_replay([CATALOG], write_jsonl(sent, tmp_path / "sent.jsonl"), out, err=err) == 0, err.getvalue()
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def owned_by_both(sampler: GaugeSampler) -> bool:
    """Each worker exports some SLOs and together they export all: the partitions were shared."""
    a, b = sampler.latest("a"), sampler.latest("b")
    return bool(a) and bool(b) and a | b == SLOS


def test_two_workers_a_rebalance_and_a_kill_count_every_event_once_and_alert_as_replay_does(broker, tmp_path):
    workers: dict[str, WorkerProcess] = {}
    logs: list[WorkerProcess] = []

    def start(name: str, folder: str) -> WorkerProcess:
        workers[name] = WorkerProcess(broker, tmp_path / folder, catalog=[CATALOG])
        logs.append(workers[name])
        return workers[name].start()

    start("a", "a1")
    traffic = LiveTraffic(broker, SERVICES, is_bad).start()
    sampler = GaugeSampler(workers).start()
    changelog = ChangelogState(broker, [CATALOG])
    try:
        wait_for(lambda: traffic.elapsed_s() >= 4 and sampler.latest("a") == SLOS, 60, what="worker A holding every SLO")
        start("b", "b")
        wait_for(lambda: owned_by_both(sampler), 60, what="partitions shared between A and B")
        workers["a"].kill()  # mid-stream: records keep coming, A's partitions wait for its session to expire
        wait_for(lambda: sampler.latest("b") == SLOS, 90, what="B taking over every SLO of the killed A")
        start("a", "a2")
        wait_for(lambda: owned_by_both(sampler), 60, what="partitions shared again after A's restart")
        wait_for(lambda: traffic.elapsed_s() >= TRAFFIC_AT_LEAST_S, 60, what="every outage over")
        sent = traffic.stop()
        expected = expected_counts(sent, slo_of)
        # The counts are read from the slo_state changelog: its last checkpoint per SLO is the state
        # every later owner recovers, and each checkpoint holds the SLO's whole count, so the sum is
        # exact whichever worker wrote it. Not /debug/state: a worker's table also holds the standby
        # copies of the other's partitions (stale counts), and not sla.status: it carries ratios,
        # no counts, and is sent at most every 5 s per SLO, so its last record may predate the last event.
        counts = settled_counts(changelog, expected, timeout_s=90)
        reference = replayed(sent, tmp_path)
        live = [p for p, _ in alerts_on_topics(broker, transitions(reference))]
        wait_for(lambda: every_slo_on_one_worker(sampler), 30, what="every SLO exported by exactly one worker")
    finally:
        traffic.close()
        scrapes = sampler.stop()
        changelog.close()
        for worker in workers.values():
            worker.stop()

    positions = log_positions(broker, len(sent))
    assert_the_log_holds_each_record_once(positions, sent)
    differences = count_differences(counts, expected)
    assert not differences, (f"events lost or counted twice (partition of each SLO: "
                             f"{ {slo_of(s): home_partition(s, PARTITIONS) for s in SERVICES} }):\n"
                             + explain_differences(differences, changelog, sent, slo_of, positions)
                             + "\n" + evidence(logs))
    assert {a["slo"] for a in reference if a["type"] == "burn_rate"} == SLOS, "every outage should page"
    assert_same_transitions(live, reference, max(orjson.loads(s.value)[-1]["ts"] for s in sent))
    doubles, checked = double_exports(scrapes)
    assert checked >= 100, f"only {checked} sandwiches of scrapes to judge by"
    assert not doubles, f"SLOs exported by both workers at once ({len(doubles)} of {checked} sandwiches): {doubles[:10]}"


def every_slo_on_one_worker(sampler: GaugeSampler) -> bool:
    a, b = sampler.latest("a"), sampler.latest("b")
    return a | b == SLOS and not a & b


def evidence(workers: list[WorkerProcess], lines: int = 25) -> str:
    """What the workers logged about partitions and recovery, for a failure message."""
    words = ("assign", "revok", "rebalanc", "recover", "gap", "rewind", "progress", "error", "Traceback")
    out = []
    for worker in workers:
        try:
            text = worker.log_path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        picked = [line for line in text if any(w in line.lower() for w in (w.lower() for w in words))]
        out.append(f"--- {worker.log_path} ({len(text)} lines)\n" + "\n".join(picked[-lines:]))
    return "\n".join(out)
