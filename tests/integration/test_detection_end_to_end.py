"""The golden scenarios again, through the real broker and a worker subprocess, and a kill -9 mid-stream.

`slawatch replay` is the reference: the worker must open and resolve the same alerts, under the same
ids, as the offline run of the same engine. Lifecycle *updates* are paced by the wall clock, so only
firing and resolved records are compared. At the very end of a stream the worker may decide the last
second after a quiet pause (settle), which replay, ending at EOF, never does; transitions decided at
or after the last event's second are therefore allowed as extras.
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from kafka_helpers import REPO, WorkerProcess, consume_all, wait_for
from slawatch.core.model import DEFAULT_RESOLVE_HOLD_S
from slawatch.replay import run_replay

pytestmark = pytest.mark.integration
SCENARIOS = REPO / "tests" / "golden" / "scenarios"
# no-data is decided by the wall clock, which differs by design between replay and a live worker.
BROKER_SCENARIOS = ["outage-pages", "slow-burn-tickets", "noise-no-flap", "low-traffic", "maintenance", "per-customer"]


def replayed(name: str) -> list[dict]:
    out, err = io.StringIO(), io.StringIO()
    assert run_replay([SCENARIOS / name / "catalog.yaml"], SCENARIOS / name / "events.jsonl", out, err=err) == 0
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def transitions(alerts: list[dict]) -> set[tuple[str, str, str]]:
    """(id, status, type) of firing and resolved records; updates repeat a firing id with newer figures."""
    return {(a["id"], a["status"], a["type"]) for a in alerts}


def event_lines(name: str) -> list[dict]:
    events = []
    for line in (SCENARIOS / name / "events.jsonl").read_bytes().splitlines():
        doc = orjson.loads(line)
        events.extend(doc if isinstance(doc, list) else [doc])
    return events


def produce(address: str, events: list[dict], per_record: int = 50) -> None:
    """In order, keyed by service, `per_record` events per record (decisions do not depend on batching)."""
    producer = KafkaProducer(bootstrap_servers=address, linger_ms=5)
    try:
        run: list[dict] = []
        for e in events + [None]:
            if run and (e is None or e["service"] != run[0]["service"] or len(run) == per_record):
                producer.send("sla.events", key=run[0]["service"].encode(), value=orjson.dumps(run))
                run = []
            if e is not None:
                run.append(e)
        producer.flush(30)
    finally:
        producer.close(5)


def alerts_on_topics(address: str, wanted: set, timeout_s: float = 60.0, grace_s: float = 3.0) -> list[tuple[dict, dict]]:
    """(payload, headers) of the non-update alert records on sla.warnings and sla.breaches: read until
    every `wanted` transition is there (or time out), then `grace_s` longer for any extra."""
    consumer = KafkaConsumer("sla.warnings", "sla.breaches", bootstrap_servers=address,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    out: list[tuple[dict, dict]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                out += [(orjson.loads(r.value), dict(r.headers)) for r in batch
                        if b":update:" not in dict(r.headers).get("ce_id", b"")]
            if wanted <= transitions([p for p, _ in out]):
                deadline = min(deadline, time.monotonic() + grace_s)
    finally:
        consumer.close()
    return out


def counted(worker: WorkerProcess) -> int:
    """Events the worker's SLO states hold (good, bad and excluded; every scenario has one SLO)."""
    return sum(v["total"] + v["excluded"] for v in worker.state().values())


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def assert_same_transitions(live: list[dict], reference: list[dict], last_ts: float,
                            resolve_hold_s: float = DEFAULT_RESOLVE_HOLD_S) -> None:
    """Every transition replay made, and beyond them only ones decided after the last event: the
    worker's clock goes on past the file's end (its quiet SLOs' windows empty), replay's does not. A
    resolution is decided a hold after its `ends_at` (when the condition stopped holding)."""
    expected = transitions(reference)
    got = transitions(live)
    assert expected <= got, f"missing: {sorted(expected - got)}"
    extras = [a for a in live if (a["id"], a["status"], a["type"]) not in expected]
    late = math.floor(last_ts)

    def decided_at(a: dict) -> float:
        if a["status"] != "resolved":
            return at(a["starts_at"])
        return at(a["ends_at"]) + (0 if a["type"] in ("sla_breach", "no_data") else resolve_hold_s)

    assert all(decided_at(a) >= late for a in extras), extras


@pytest.mark.parametrize("name", BROKER_SCENARIOS)
def test_a_worker_on_the_broker_alerts_as_replay_does(name, fresh_broker, tmp_path: Path):
    reference = replayed(name)
    events = event_lines(name)
    produce(fresh_broker, events)
    worker = WorkerProcess(fresh_broker, tmp_path, catalog=[str(SCENARIOS / name / "catalog.yaml")]).start()
    try:
        wait_for(lambda: counted(worker) == len(events), 60, what="every event of the scenario counted")
        live = alerts_on_topics(fresh_broker, transitions(reference))
    finally:
        worker.stop()
    payloads = [p for p, _ in live]
    assert_same_transitions(payloads, reference, max(e["ts"] for e in events))
    for payload, headers in live:
        assert headers["ce_specversion"] == b"1.0" and headers["ce_type"].startswith(b"dev.slawatch.alert.")
        assert payload["slo"] and payload["observed_at"]
    if name == "outage-pages":
        assert_the_cli_shows_status_and_alerts(fresh_broker, payloads)
        [published] = consume_all(fresh_broker, "sla.catalog", expect=1)
        assert published.key == b"search"
        assert [s["name"] for s in orjson.loads(published.value)["slos"]] == ["search-availability"]


def assert_the_cli_shows_status_and_alerts(address: str, payloads: list[dict]) -> None:
    """`slawatch status` and `slawatch alerts tail` read what the worker published."""
    status = subprocess.run([sys.executable, "-m", "slawatch", "status", "--broker", address],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert status.returncode == 0, status.stderr
    assert "search-availability" in status.stdout and "99.90%" in status.stdout
    tail = subprocess.Popen([sys.executable, "-m", "slawatch", "alerts", "tail", "--from-beginning", "--broker", address],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        first = tail.stdout.readline()
    finally:
        tail.kill()
        tail.wait()
    assert any(p["id"] in first for p in payloads) and ("FIRING" in first or "RESOLVED" in first), first


def test_a_worker_killed_mid_stream_loses_no_alert_and_resends_none_under_a_new_id(fresh_broker, tmp_path: Path):
    name = "outage-pages"
    reference = replayed(name)
    events = event_lines(name)
    half = len(events) // 2
    catalog = [str(SCENARIOS / name / "catalog.yaml")]

    produce(fresh_broker, events[:half])
    first = WorkerProcess(fresh_broker, tmp_path / "a", catalog=catalog).start()
    try:
        wait_for(lambda: counted(first) >= half // 2, 60, what="a quarter of the events counted")
    finally:
        first.kill()
    produce(fresh_broker, events[half:])
    second = WorkerProcess(fresh_broker, tmp_path / "b", catalog=catalog).start()
    try:
        try:
            wait_for(lambda: counted(second) >= len(events), 90, what="every event counted once the successor caught up")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: counted {second.state()} of {len(events)}; worker log:\n{second.log_tail(15)}") from None
        total = counted(second)
        live = alerts_on_topics(fresh_broker, transitions(reference))
    finally:
        second.stop()
    assert total == len(events), "a redelivered event was counted twice, or one was lost"
    assert_same_transitions([p for p, _ in live], reference, max(e["ts"] for e in events))
