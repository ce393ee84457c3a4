"""One batch of `sla.events` records through the engine: route, count, checkpoint, detect, emit.

Kept apart from the Faust app so the per-batch logic reads top to bottom. The order matters:
1. decode and route every record (dead letters and re-homed events are sent at once);
2. apply each record's local events to the engine with its partition and offset (a redelivered
   record is recognised by its offset and skipped);
3. evaluate the touched SLOs; the caller sends alert changes and status;
4. only then checkpoint every SLO the batch touched into the state table, once per batch
   (changelog writes grow with SLOs touched, not with events). A crash before the checkpoint
   replays the batch and re-sends the same alerts under the same ids; a crash after it finds the
   alerts already sent. The other order could record an alert as sent that never was.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from faust.streams import _current_event  # the context Faust reads to pick a table write's partition

from slawatch.core.event import Event
from slawatch.ingest.deadletter import SourceRecord, dead_letter
from slawatch.ingest.decode import Invalid
from slawatch.ingest.router import route_record
from slawatch.metrics import IngestMetrics


@dataclass
class Outbox:
    """What a batch wants sent, gathered so sending happens in one place."""

    dead: list = field(default_factory=list)  # DeadLetter
    reroute: list = field(default_factory=list)  # (service, partition, bytes)
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
        """`events` are Faust EventT of one take_events() batch."""
        now = time.time() if wall_now is None else wall_now
        out = Outbox()
        touched_by_partition = out.touched
        for fevent in events:
            message = fevent.message
            source = SourceRecord(message.topic, message.partition, message.offset, message.key, message.value,
                                  int(message.timestamp * 1000) if message.timestamp else None)
            self.metrics.records.inc()
            routed = route_record(source, self.partitions, now, self.max_record_bytes, self.max_future_s)
            out.dead.extend(routed.dead)
            for reason in routed.invalid_reasons:
                self.metrics.invalid.labels(reason).inc()
            for service, (home, batch, count) in routed.reroute.items():
                out.reroute.append((service, home, batch))
                self.metrics.rerouted.inc(count)
            if not routed.local:
                continue
            applied = self.engine.apply(routed.local, partition=message.partition, offset=message.offset, wall_now=now)
            if applied.duplicates:  # a redelivered record: its events were counted before the crash
                self.metrics.duplicates.inc(applied.duplicates)
                continue
            self._count(routed.local)
            for event, reason, text in applied.refused:
                out.dead.append(dead_letter(Invalid(reason, text, "ts", element=_event_doc(event)), source, now))
                self.metrics.invalid.labels(reason).inc()
            slot = touched_by_partition.setdefault(message.partition, (fevent, set()))
            touched_by_partition[message.partition] = (fevent, slot[1] | applied.touched)
            self.metrics.lag.observe(max(0.0, now - routed.local[-1].ts))
        self.metrics.batch_records.observe(len(events))
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

    def _count(self, events: list[Event]) -> None:
        ok = sum(1 for e in events if e.ok)
        service = events[0].service
        if all(e.service == service for e in events):
            if ok:
                self.metrics.count_event(service, True, ok)
            if len(events) - ok:
                self.metrics.count_event(service, False, len(events) - ok)
        else:
            for e in events:
                self.metrics.count_event(e.service, e.ok)


def _event_doc(event: Event) -> dict:
    return orjson.loads(orjson.dumps({k: getattr(event, k) for k in event.__slots__ if getattr(event, k) is not None}))
