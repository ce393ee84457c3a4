"""One batch of `sla.events` records through the engine: route, count, checkpoint, detect, emit.

Kept apart from the Faust app so the per-batch logic reads top to bottom. The order matters:
1. decode and route every record (dead letters and re-homed events are sent at once);
2. apply each partition's records to the engine together (`Engine.apply_records`: each record with
   its partition and offset, so a redelivered record is recognised by its offset and skipped; one
   counting run per SLO and batch, the same as applying the records one at a time);
3. evaluate the touched SLOs; the caller sends alert changes and status;
4. only then checkpoint every SLO the batch touched into the state table, once per batch
   (changelog writes grow with SLOs touched, not with events). A crash before the checkpoint
   replays the batch and re-sends the same alerts under the same ids; a crash after it finds the
   alerts already sent. The other order could record an alert as sent that never was.
"""

from __future__ import annotations

import time
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from faust.streams import _current_event  # the context Faust reads to pick a table write's partition

from slawatch.conventions import HEADER_ORIGIN
from slawatch.core.event import Event
from slawatch.ingest.deadletter import SourceRecord, dead_letter
from slawatch.ingest.decode import Invalid
from slawatch.ingest.router import route_record
from slawatch.metrics import IngestMetrics


@dataclass
class Outbox:
    """What a batch wants sent, gathered so sending happens in one place."""

    dead: list = field(default_factory=list)  # DeadLetter
    reroute: list = field(default_factory=list)  # (service, home partition, bytes, headers with the origin)
    alerts: list = field(default_factory=list)  # AlertRecord
    status: list = field(default_factory=list)  # StatusRecord
    touched: dict = field(default_factory=dict)  # partition -> (last Faust event there, SLO names)


@dataclass
class Pipeline:
    engine: object  # slawatch.engine.Engine
    state_table: object  # faust Table: SLO name -> checkpoint bytes
    metrics: IngestMetrics
    partitions: int
    max_record_bytes: int
    max_future_s: float
    status_every_s: float = 5.0
    _status_sent: dict[str, float] = field(default_factory=dict)

    def process(self, events: Sequence, wall_now: float | None = None) -> Outbox:
        """`events` are Faust EventT of one take_events() batch.

        Records are decoded and routed one by one, then each partition's records are applied to the
        engine together (`Engine.apply_records`: one counting run per SLO and batch, the same as one
        record at a time, since a service's SLOs only ever see its home partition's records, in
        offset order). Counters are bumped once per batch."""
        now = time.time() if wall_now is None else wall_now
        out = Outbox()
        metrics = self.metrics
        partitions, max_bytes, max_future_s = self.partitions, self.max_record_bytes, self.max_future_s
        # Dead letters per record, so they leave in record order as before.
        dead_by_record: list[list | None] = [None] * len(events)
        invalid: Counter = Counter()
        rerouted = 0
        # partition -> [(record index, Faust event, source, local events)] in arrival (offset) order
        by_partition: dict[int, list] = {}
        for n, fevent in enumerate(events):
            message = fevent.message
            source = SourceRecord(message.topic, message.partition, message.offset, message.key, message.value,
                                  int(message.timestamp * 1000) if message.timestamp else None)
            routed = route_record(source, partitions, now, max_bytes, max_future_s)
            if routed.dead:
                dead_by_record[n] = list(routed.dead)
            if routed.invalid_reasons:
                invalid.update(routed.invalid_reasons)
            for service, (home, batch, count) in routed.reroute.items():
                origin = f"{message.partition}:{message.offset}".encode()
                out.reroute.append((service, home, batch, [(HEADER_ORIGIN, origin)]))
                rerouted += count
            if routed.local:
                by_partition.setdefault(message.partition, []).append(
                    (n, fevent, source, routed.local, _dedupe_position(message)))
        duplicates = 0
        counts: dict[tuple[str, bool], int] = {}
        lags: list[float] = []
        touched_by_partition = out.touched
        for partition, records in by_partition.items():
            results = []
            for run in _runs_by_dedupe_partition(records):
                results += self.engine.apply_records([(pos[1], local) for *_, local, pos in run],
                                                     partition=run[0][4][0], wall_now=now)
            touched: set[str] = set()
            last = None
            for (n, fevent, source, local, _), applied in zip(records, results):
                if applied.duplicates:  # a redelivered record: its events were counted before the crash
                    duplicates += applied.duplicates
                    continue
                _count(local, counts)
                for event, reason, text in applied.refused:
                    found = dead_by_record[n]
                    if found is None:
                        found = dead_by_record[n] = []
                    found.append(dead_letter(Invalid(reason, text, "ts", element=_event_doc(event)), source, now))
                    invalid[reason] += 1
                touched |= applied.touched
                last = fevent
                lags.append(max(0.0, now - local[-1].ts))
            if last is not None:
                touched_by_partition[partition] = (last, touched)
        for found in dead_by_record:
            if found:
                out.dead.extend(found)
        metrics.records.inc(len(events))
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
        metrics.batch_records.observe(len(events))
        touched = set().union(*(slos for _, slos in touched_by_partition.values()))
        if touched:
            out.alerts.extend(self.engine.evaluate(now, touched))
            out.status.extend(self.status_due(touched, now))
        return out

    def status_due(self, slos, now: float) -> list:
        """Status records for SLOs whose last status is older than status_every_s (or that alerted)."""
        due = []
        for slo in slos:
            if now - self._status_sent.get(slo, 0.0) >= self.status_every_s:
                self._status_sent[slo] = now
                due.extend(self.engine.status(slo, now))
        return due

    def checkpoint(self, out: Outbox) -> None:
        """One table write per touched SLO, on the changelog partition of the events that touched it."""
        for fevent, slos in out.touched.values():
            token = _current_event.set(weakref.ref(fevent))
            try:
                for slo in slos:
                    self.state_table[slo] = self.engine.checkpoint(slo)
            finally:
                _current_event.reset(token)

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


def _dedupe_position(message) -> tuple[int, int]:
    """(partition, offset) that identifies a record's events for redelivery: its own, or, for a
    re-homed record, its origin's (see conventions.HEADER_ORIGIN). A re-homed record always comes from
    another partition than its service's home, so the two kinds never share a partition key."""
    headers = message.headers
    if headers:
        items = headers.items() if isinstance(headers, dict) else headers
        for key, value in items:
            if key == HEADER_ORIGIN:
                partition, _, offset = value.decode().partition(":")
                return int(partition), int(offset)
    return message.partition, message.offset


def _runs_by_dedupe_partition(records: list) -> list[list]:
    """Consecutive records with the same dedupe partition, in order (apply_records takes one partition)."""
    runs: list[list] = []
    for record in records:
        if runs and runs[-1][0][4][0] == record[4][0]:
            runs[-1].append(record)
        else:
            runs.append([record])
    return runs


def _event_doc(event: Event) -> dict:
    return orjson.loads(orjson.dumps({k: getattr(event, k) for k in event.__slots__ if getattr(event, k) is not None}))
