"""Live traffic and durable state for the tests that kill, stop and rebalance workers mid-stream.

`LiveTraffic` is a producer thread that keeps sending while a test breaks things, and remembers
exactly what the broker acknowledged, so a test can say how many good and bad events each service
must count and can replay the very same records offline. `ChangelogState` reads the SLO state the
way a successor worker would recover it: the last checkpoint per SLO on the table's changelog.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from kafka import KafkaConsumer, KafkaProducer

from slawatch.catalog import load_catalog
from slawatch.conventions import APP_ID, HEADER_ORIGIN, TOPIC_EVENTS
from slawatch.engine import Engine

CHANGELOG = f"{APP_ID}-slo_state-changelog"


@dataclass(frozen=True)
class Sent:
    """One record the broker acknowledged: its bytes (a JSON array of events) and their outcomes."""

    service: str
    value: bytes
    good: int
    bad: int


@dataclass(frozen=True)
class Counts:
    good: int
    total: int


def steady_producer(broker: str) -> KafkaProducer:
    """A producer that rides out a stalled broker without writing anything twice.

    Tansu has no idempotent producer, so a request retried after a timeout could append a record
    twice; a request timeout longer than any stall a test makes means nothing is retried, and one
    request in flight keeps each service's records in send order."""
    return KafkaProducer(bootstrap_servers=broker, linger_ms=5, enable_idempotence=False,
                         max_in_flight_requests_per_connection=1, request_timeout_ms=90_000,
                         delivery_timeout_ms=200_000, max_block_ms=120_000)


class LiveTraffic:
    """Every `interval_s`, one record of `per_record` events per service, keyed by service, stamped
    with the wall clock. `is_bad(service, n, elapsed_s)` says whether a service's n-th event fails."""

    def __init__(self, broker: str, services: Sequence[str], is_bad: Callable[[str, int, float], bool],
                 interval_s: float = 0.05, per_record: int = 2) -> None:
        self.broker = broker
        self.services = list(services)
        self.is_bad = is_bad
        self.interval_s = interval_s
        self.per_record = per_record
        self._pending: list[tuple[Sent, object]] = []  # (record, its send future), in send order
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-traffic", daemon=True)
        self._error: BaseException | None = None
        self.started_at = 0.0

    def start(self) -> LiveTraffic:
        self.started_at = time.time()
        self._thread.start()
        return self

    @property
    def records_sent(self) -> int:
        return len(self._pending)

    def elapsed_s(self) -> float:
        return time.time() - self.started_at

    def close(self, wait_s: float = 10.0) -> None:
        """Stop sending; wait for the thread at most `wait_s` (after a failed test the broker may be gone)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(wait_s)

    def stop(self) -> list[Sent]:
        """Stop sending, wait for every acknowledgement; the records, in send order."""
        self.close(wait_s=240)
        assert not self._thread.is_alive(), "the traffic thread did not stop"
        if self._error is not None:
            raise AssertionError(f"the traffic thread failed: {self._error!r}")
        failed = [f.exception for _, f in self._pending if not f.succeeded()]
        assert not failed, f"{len(failed)} of {len(self._pending)} sends failed, first: {failed[0]!r}"
        return [sent for sent, _ in self._pending]

    def _run(self) -> None:
        producer = steady_producer(self.broker)
        numbers = Counter()
        try:
            next_tick = time.monotonic()
            while not self._stopping.is_set():
                for service in self.services:
                    self._send(producer, service, numbers)
                next_tick += self.interval_s
                time.sleep(max(0.0, next_tick - time.monotonic()))
            producer.flush(200)
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self._error = exc
        finally:
            producer.close(10)

    def _send(self, producer: KafkaProducer, service: str, numbers: Counter) -> None:
        events, bad = [], 0
        elapsed = self.elapsed_s()
        for _ in range(self.per_record):
            n = numbers[service]
            numbers[service] += 1
            ok = not self.is_bad(service, n, elapsed)
            bad += not ok
            events.append({"service": service, "ts": time.time(), "ok": ok, "attributes": {"n": n}})
        value = orjson.dumps(events)
        future = producer.send(TOPIC_EVENTS, key=service.encode(), value=value)
        self._pending.append((Sent(service, value, self.per_record - bad, bad), future))


def expected_counts(sent: Sequence[Sent], slo_of: Callable[[str], str]) -> dict[str, Counts]:
    good, total = Counter(), Counter()
    for record in sent:
        good[slo_of(record.service)] += record.good
        total[slo_of(record.service)] += record.good + record.bad
    return {slo: Counts(good[slo], total[slo]) for slo in total}


def write_jsonl(sent: Sequence[Sent], path: Path) -> Path:
    """The records as `slawatch replay` reads them: one record per line, in send order."""
    path.write_bytes(b"".join(record.value + b"\n" for record in sent))
    return path


def log_positions(broker: str, expect: int, timeout_s: float = 60.0) -> dict[bytes, list[tuple[int, int]]]:
    """Where the records producers appended to sla.events are (re-homed copies left out): each value
    with its (partition, offset) per copy. Reads until `expect` records or `timeout_s`, then 1 s more."""
    consumer = KafkaConsumer(TOPIC_EVENTS, bootstrap_servers=broker, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    found: dict[bytes, list[tuple[int, int]]] = {}
    count = 0
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            batches = consumer.poll(timeout_ms=500 if count < expect else 1000)
            for batch in batches.values():
                for r in batch:
                    if HEADER_ORIGIN not in dict(r.headers or []):
                        found.setdefault(r.value, []).append((r.partition, r.offset))
                        count += 1
            if (count >= expect and not batches) or time.monotonic() > deadline:
                return found
    finally:
        consumer.close()


def assert_the_log_holds_each_record_once(positions: dict[bytes, list[tuple[int, int]]], sent: Sequence[Sent]) -> None:
    """The premise of an exact count: the broker appended every acknowledged record exactly once."""
    found = Counter({value: len(at) for value, at in positions.items()})
    wanted = Counter(record.value for record in sent)
    missing = sum((wanted - found).values())
    doubled = sum((found - wanted).values())
    assert not missing and not doubled, (f"sla.events holds {sum(found.values())} records for {len(sent)} "
                                         f"sent: {missing} missing, {doubled} extra")


class ChangelogState:
    """The SLO state as a recovering worker would see it: the last checkpoint of each SLO on the
    `slo_state` changelog, restored into an engine of the same catalogue. Follows the topic with
    one consumer, so each read costs only the new checkpoints."""

    def __init__(self, broker: str, catalog_paths: Sequence[str], span_s: float = 3600.0) -> None:
        self.catalog_paths = list(catalog_paths)
        self.span_s = span_s  # event time counted back from each watermark: the whole test, within the SLO's window
        self.latest: dict[str, bytes] = {}
        self.last_change = time.monotonic()
        self._consumer = KafkaConsumer(CHANGELOG, bootstrap_servers=broker, auto_offset_reset="earliest",
                                       enable_auto_commit=False)

    def poll(self) -> None:
        for _ in range(20):
            batches = self._consumer.poll(timeout_ms=200)
            if not batches:
                return
            for batch in batches.values():
                for record in batch:
                    self.latest[orjson.loads(record.key)] = record.value
            self.last_change = time.monotonic()

    def counts(self) -> dict[str, Counts]:
        self.poll()
        engine = Engine(load_catalog(self.catalog_paths))
        out = {}
        for slo, data in self.latest.items():
            engine.restore(slo, data)
            recent = engine.recent_counts(slo, span_s=self.span_s)
            out[slo] = Counts(recent["good"], recent["total"])
        return out

    def quiet_for(self) -> float:
        return time.monotonic() - self.last_change

    def close(self) -> None:
        self._consumer.close()


def settled_counts(state: ChangelogState, expected: dict[str, Counts], timeout_s: float,
                   hold_s: float = 5.0) -> dict[str, Counts]:
    """The counts the changelog holds once they equal `expected` and stayed so for `hold_s` (a late
    redelivery counted twice would show), or once `timeout_s` ran out. Waits no longer when some SLO
    holds more than was sent and nothing changed for `hold_s`: counts only grow, so that is final."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = state.counts()
        if counts == expected:
            time.sleep(hold_s)
            return state.counts()
        surplus = any(c.total > expected.get(slo, Counts(0, 0)).total for slo, c in counts.items())
        if time.monotonic() > deadline or (surplus and state.quiet_for() >= hold_s):
            return counts
        time.sleep(0.5)


def count_differences(counts: dict[str, Counts], expected: dict[str, Counts]) -> dict[str, str]:
    """Per SLO that differs: how many events (good, bad) it holds beyond or short of what was sent."""
    out = {}
    for slo in sorted(set(counts) | set(expected)):
        got, want = counts.get(slo, Counts(0, 0)), expected.get(slo, Counts(0, 0))
        if got != want:
            bad_got, bad_want = got.total - got.good, want.total - want.good
            out[slo] = f"good {got.good - want.good:+d}, bad {bad_got - bad_want:+d} (holds {got}, sent {want})"
    return out


def where_counts_differ(state: ChangelogState, slo: str, records: Sequence[Sent],
                        positions: dict[bytes, list[tuple[int, int]]], bucket_s: int = 10) -> list[str]:
    """For a failure message: the `bucket_s` spans of event time (the finest ring level of a 1 h
    window) where the SLO's last checkpoint holds other counts than `records` sent, with the log
    positions of the records sent in each span, so the lost or doubled records can be looked up."""
    engine = Engine(load_catalog(state.catalog_paths))
    engine.restore(slo, state.latest[slo])
    ring = engine._runtimes[slo].state.ring
    expected: Counter = Counter()
    where: dict[int, list[tuple[int, int]]] = {}
    for record in records:
        events = orjson.loads(record.value)
        for e in events:
            expected[int(e["ts"] // bucket_s)] += 1
        where.setdefault(int(events[0]["ts"] // bucket_s), []).extend(positions.get(record.value, []))
    out, located = [], 0
    for bucket in sorted(expected):
        good, bad, _ = ring.interval(bucket * bucket_s, (bucket + 1) * bucket_s, 0)
        located += good + bad
        if good + bad != expected[bucket]:
            at = sorted(where.get(bucket, []))
            span = f"partition {at[0][0]} offsets {at[0][1]}-{at[-1][1]}" if at else "no records in the log"
            out.append(f"{slo}: event time {bucket * bucket_s}+{bucket_s}s holds {good + bad} of {expected[bucket]} "
                       f"events; sent there: {len(at)} records, {span}")
    if located != engine.recent_counts(slo, span_s=state.span_s)["total"]:
        out.append(f"{slo}: (the {bucket_s} s level does not reach back to every span: the list is partial)")
    return out


def explain_differences(differences: dict[str, str], state: ChangelogState, sent: Sequence[Sent],
                        slo_of: Callable[[str], str], positions: dict[bytes, list[tuple[int, int]]]) -> str:
    """The lines of a failure message: per SLO what it holds beyond or short of what was sent, and where."""
    lines = [f"  {slo}: {text}" for slo, text in differences.items()]
    for slo in differences:
        if slo in state.latest:
            mine = [record for record in sent if slo_of(record.service) == slo]
            lines += [f"    {line}" for line in where_counts_differ(state, slo, mine, positions)]
    return "\n".join(lines)
