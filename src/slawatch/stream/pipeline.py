"""One batch of `sla.events` records through the engine: admit, route, count, detect, checkpoint.

Kept apart from the Faust app so the per-batch logic reads top to bottom. The order matters:
1. admit each record against the partition's next expected offset (`progress.OffsetTracker`):
   records already applied and checkpointed are dropped, a gap stops the partition for this batch;
2. decode and route every admitted record (dead letters and re-homed events are sent by the caller);
3. apply each partition's records to the engine together (`Engine.apply_records`: each record with
   its partition and offset, so a record an SLO has already counted is skipped for that SLO only);
4. evaluate the touched SLOs; the caller sends alert changes and status;
5. only then checkpoint every SLO the batch touched into the state table, once per batch, on its
   partition's changelog (`checkpoint` returns the sends' futures), and after every send is
   acknowledged record the partitions' progress. A crash before the checkpoint replays the batch and
   re-sends the same alerts under the same ids; a crash after it finds the alerts already sent.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import orjson

from slawatch.conventions import HEADER_ORIGIN
from slawatch.core.event import Event
from slawatch.ingest.deadletter import RecordLetters, SourceRecord
from slawatch.ingest.decode import Invalid
from slawatch.engine.engine import RecordEvents
from slawatch.ingest.router import DedupePosition, origin_header, origin_position, route_record, unknown_field_example
from slawatch.metrics import WorkerMetrics
from slawatch.stream.progress import Admit, Gap, LostRecords, OffsetTracker, Progress, record_crc


class Reroute(NamedTuple):
    """Valid events of another service, re-published to its home partition with their origin."""

    service: str
    home: int
    value: bytes
    headers: list[tuple[str, bytes]]


class LocalRecord(NamedTuple):
    """A record's events that count on this partition, with where the record came from."""

    index: int  # position in the batch (dead letters leave in record order)
    source: SourceRecord
    events: list[Event]
    dedupe: DedupePosition  # identifies these events for redelivery


@dataclass
class Outbox:
    """What a batch wants sent and recorded, gathered so sending happens in one place."""

    dead: list = field(default_factory=list)  # DeadLetter
    reroute: list[Reroute] = field(default_factory=list)
    alerts: list = field(default_factory=list)  # AlertRecord
    status: list = field(default_factory=list)  # StatusRecord
    touched: dict[int, set[str]] = field(default_factory=dict)  # partition -> SLOs to checkpoint there
    progress: dict[int, Progress] = field(default_factory=dict)  # partition -> its last taken record


@dataclass
class Pipeline:
    engine: object  # slawatch.engine.Engine
    state_table: object  # faust Table: SLO name -> checkpoint bytes
    metrics: WorkerMetrics
    partitions: int
    max_record_bytes: int
    max_future_skew_s: float  # decode refuses event times further ahead of the wall clock (absurd clocks)
    status_every_s: float = 5.0
    tracker: OffsetTracker = field(default_factory=OffsetTracker)
    strict_events: bool = False  # refuse unknown top-level event fields instead of counting them
    _status_sent: dict[str, float] = field(default_factory=dict)

    def process(self, events: Sequence, wall_now: float | None = None) -> Outbox:
        """`events` are Faust EventT of one take_events() batch.

        Records are admitted, decoded and routed one by one, then each partition's records are
        applied to the engine together (`Engine.apply_records`: one counting run per SLO and batch,
        the same as one record at a time, since a service's SLOs only ever see its home partition's
        records, in offset order). Counters are bumped once per batch."""
        now = time.time() if wall_now is None else wall_now
        out = Outbox()
        messages = self._admit([fevent.message for fevent in events], out)
        dead_by_record: list[list | None] = [None] * len(messages)
        invalid: Counter = Counter()
        rerouted = 0
        by_partition: dict[int, list[LocalRecord]] = {}  # in arrival (offset) order
        for n, message in enumerate(messages):
            source = SourceRecord(message.topic, message.partition, message.offset, message.key, message.value,
                                  int(message.timestamp * 1000) if message.timestamp else None)
            routed = route_record(source, self.partitions, now, self.max_record_bytes, self.max_future_skew_s,
                                  self.strict_events, self.engine.known_services)
            if routed.unknown_fields:
                self.metrics.count_unknown_fields(routed.unknown_fields, unknown_field_example(source))
            if routed.dead:
                dead_by_record[n] = list(routed.dead)
            if routed.invalid_reasons:
                invalid.update(routed.invalid_reasons)
            for part in routed.reroute:
                origin = origin_header(message.partition, message.offset, part.part)
                out.reroute.append(Reroute(part.service, part.home, part.value, [(HEADER_ORIGIN, origin)]))
                rerouted += part.count
            if routed.local:
                by_partition.setdefault(message.partition, []).append(
                    LocalRecord(n, source, routed.local, _dedupe_position(message)))
        duplicates = 0
        counts: dict[tuple[str, bool], int] = {}
        lags: list[float] = []
        for partition, records in by_partition.items():
            touched = out.touched.setdefault(partition, set())
            for record, applied in zip(records, self._apply(records, now)):
                duplicates += applied.duplicates
                touched |= applied.touched
                if applied.duplicates and not (applied.counted or applied.refused):
                    continue  # counted by every SLO before a crash: not a new event for the counters
                _count(record.events, counts)
                if applied.refused:
                    self._dead_letter_refusals(record, applied.refused, dead_by_record, invalid, now)
                lags.append(max(0.0, now - record.events[-1].ts))
        for found in dead_by_record:
            if found:
                out.dead.extend(found)
        self._observe(len(events), invalid, rerouted, duplicates, counts, lags)
        touched = set().union(*out.touched.values())
        if touched:
            out.alerts.extend(self.engine.evaluate(now, touched))
            out.status.extend(self.status_due(touched, now))
        return out

    @staticmethod
    def _dead_letter_refusals(record: LocalRecord, refused: list, dead_by_record: list, invalid: Counter,
                              now: float) -> None:
        """One dead letter per event the engine refused, the record's bytes carried by the first few
        only (`RecordLetters`): a record of 1,000 refused events made 1,000 full copies (524 MB)."""
        letters = RecordLetters(record.source, now)
        found = dead_by_record[record.index]
        if found is None:
            found = dead_by_record[record.index] = []
        for event, reason, text in refused:
            found.append(letters.letter(Invalid(reason, text, "ts", element=_event_doc(event))))
            invalid[reason] += 1

    def _admit(self, messages: list, out: Outbox) -> list:
        """The records to process; notes each partition's last one in `out`."""
        admitted = []
        redelivered = 0
        admit = self.tracker.admit
        for message in messages:
            verdict = admit(message.partition, message.offset)
            if verdict is Admit.TAKE:
                admitted.append(message)
                out.progress[message.partition] = Progress(
                    message.offset, record_crc(message.key, message.value),
                    int(message.timestamp * 1000) if message.timestamp else None)
            elif verdict is Admit.APPLIED:
                redelivered += 1
            else:  # gaps are resolved before a batch is processed (`OffsetTracker.gaps`): this one was not
                gap = Gap(message.partition, self.tracker.expected(message.partition), message.offset)
                raise LostRecords(message.topic, gap)
        if redelivered:
            self.metrics.records_redelivered.inc(redelivered)
        return admitted

    def _apply(self, records: list[LocalRecord], now: float) -> list:
        """Engine.apply_records over runs of records that share a dedupe partition."""
        results: list = []
        for run in _runs_by_dedupe_partition(records):
            results += self.engine.apply_records([RecordEvents(r.dedupe.offset, r.events) for r in run],
                                                 partition=run[0].dedupe.partition, wall_now=now)
        return results

    def _observe(self, records: int, invalid: Counter, rerouted: int, duplicates: int,
                 counts: dict[tuple[str, bool], int], lags: list[float]) -> None:
        metrics = self.metrics
        metrics.records.inc(records)
        for reason, count in invalid.items():
            metrics.invalid.labels(reason).inc(count)
        if rerouted:
            metrics.rerouted.inc(rerouted)
        if duplicates:
            metrics.duplicates.inc(duplicates)
        for (service, ok), count in counts.items():
            metrics.count_event(service, ok, count)
        observe = metrics.lag.observe
        for lag in lags:
            observe(lag)
        metrics.batch_records.observe(records)

    def status_due(self, slos, now: float) -> list:
        """Status records for SLOs whose last status is older than status_every_s (or that alerted)."""
        due = []
        for slo in slos:
            if now - self._status_sent.get(slo, 0.0) >= self.status_every_s:
                self._status_sent[slo] = now
                due.extend(self.engine.status(slo, now))
        return due

    def checkpoint(self, touched: dict[int, set[str]]) -> list:
        """One table write per touched SLO, on its partition's changelog; the sends' futures, which
        complete when the broker has acknowledged them (Faust's producer flush returns before that)."""
        return [write_through(self.state_table, partition, slo, self.engine.checkpoint(slo))
                for partition, slos in touched.items() for slo in slos]


def write_through(table, partition: int, key: str, value: bytes):
    """`table[key] = value` on an explicit changelog partition, returning the send's future.

    Faust's `__setitem__` picks the partition from the current stream event and drops the future;
    the worker needs both: timers write outside any event, and a batch is acked only after its
    writes are acknowledged."""
    future = table.send_changelog(partition, key, value)
    table.data[key] = value
    return future


def _count(events: list[Event], counts: dict[tuple[str, bool], int]) -> None:
    """Add one record's valid events to counts[(service, ok)]."""
    ok = sum(1 for e in events if e.ok)
    service = events[0].service
    if len(events) == 1 or all(e.service == service for e in events):
        if ok:
            counts[(service, True)] = counts.get((service, True), 0) + ok
        if len(events) - ok:
            counts[(service, False)] = counts.get((service, False), 0) + len(events) - ok
    else:
        for e in events:
            counts[(e.service, e.ok)] = counts.get((e.service, e.ok), 0) + 1


def _dedupe_position(message) -> DedupePosition:
    """The position that identifies a record's events for redelivery: its own, or, for a
    re-homed record, its origin's partition and part (`router.origin_position`: one origin may make
    several re-homed records). A re-homed record always comes from another partition than its
    service's home, so the two kinds never share a partition key. A malformed origin is ignored."""
    headers = message.headers
    if headers:
        items = headers.items() if isinstance(headers, dict) else headers
        for key, value in items:
            if key == HEADER_ORIGIN:
                origin = origin_position(value)
                if origin is not None:
                    return origin
    return DedupePosition(message.partition, message.offset)


def _runs_by_dedupe_partition(records: list[LocalRecord]) -> list[list[LocalRecord]]:
    """Consecutive records with the same dedupe partition, in order (apply_records takes one partition)."""
    runs: list[list[LocalRecord]] = []
    for record in records:
        if runs and runs[-1][0].dedupe.partition == record.dedupe.partition:
            runs[-1].append(record)
        else:
            runs.append([record])
    return runs


def _event_doc(event: Event) -> dict:
    return orjson.loads(orjson.dumps({k: getattr(event, k) for k in event.__slots__ if getattr(event, k) is not None}))
