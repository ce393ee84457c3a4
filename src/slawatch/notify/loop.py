"""`slawatch notify alertmanager`: sla.warnings and sla.breaches, in a consumer group, to Alertmanager.

Per batch: poll -> the latest state of each alert -> post until Alertmanager takes it -> commit the
batch's offsets. A crash before the commit re-reads the batch; posting it again is harmless
(Alertmanager merges alerts by labels). While Alertmanager is down the batch is retried with a
doubling backoff, the partitions paused so the group keeps them and no later record overtakes it.

Every `resend_interval_s`, and at once after Alertmanager was unreachable (it may have restarted,
and it keeps alerts in memory only), every firing alert is posted again with a new `endsAt`. On
assignment the book of firing alerts is rebuilt from each partition's records before its committed
offset, so a restarted notifier re-sends what fired before it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata

from slawatch import conventions as cv
from slawatch.notify.alertmanager import AlertmanagerClient, DeliveryError, extend, identity, to_alertmanager
from slawatch.notify.book import FiringBook

log = logging.getLogger("slawatch.notify")

MAX_BATCH = 500
FETCH_WAIT_MS = 100  # Tansu answers a long-poll only at its deadline (kafka_fixes fix 2)
REBUILD_STALL_S = 30.0


@dataclass(frozen=True, slots=True)
class NotifyOptions:
    url: str
    status_page_url: str  # generatorURL of each alert: its SLO's page there
    resend_interval_s: float = 60.0
    max_backoff_s: float = 15.0
    group_id: str = cv.NOTIFY_ALERTMANAGER_GROUP

    @property
    def hold_s(self) -> float:
        """How long Alertmanager keeps a firing alert without a re-send: 4 resends, as Prometheus."""
        return 4 * self.resend_interval_s


@dataclass(frozen=True, slots=True)
class Change:
    """One alert record, ready to be mapped when it is posted (a retried post gets a fresh endsAt)."""

    payload: dict
    partition: tuple[str, int]

    @property
    def firing(self) -> bool:
        return self.payload.get("status") != "resolved"


def decode(tp: TopicPartition, record) -> Change | None:
    """The record as a Change; None (logged) for a record that is not an alert payload: there is
    nothing to deliver, and stopping on it would stop every page behind it."""
    try:
        payload = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        payload = None
    if not isinstance(payload, dict) or not payload.get("slo"):
        log.warning("a record that is not an alert passed over", extra={"topic": tp.topic, "partition": tp.partition,
                                                                       "offset": record.offset})
        return None
    return Change(payload, (tp.topic, tp.partition))


class Backoff:
    """0.5 s, 1 s, 2 s ... up to `cap_s`."""

    def __init__(self, cap_s: float, first_s: float = 0.5) -> None:
        self.delay_s, self.cap_s = first_s, cap_s

    def next(self) -> float:
        delay, self.delay_s = self.delay_s, min(self.delay_s * 2, self.cap_s)
        return delay


class Notifier:
    def __init__(self, consumer: KafkaConsumer, client: AlertmanagerClient, options: NotifyOptions,
                 log_reader: Callable[[], KafkaConsumer]) -> None:
        self.consumer, self.client, self.options = consumer, client, options
        self.log_reader = log_reader  # a group-less consumer, to rebuild the book from the log
        self.book = FiringBook()
        self._resend_at = 0.0  # monotonic
        self._to_rebuild: set[TopicPartition] = set()
        self._rebalanced = False
        consumer.subscribe([cv.TOPIC_WARNINGS, cv.TOPIC_BREACHES], listener=_Listener(self))

    def run(self) -> None:
        """Until interrupted (KeyboardInterrupt); commits nothing it has not delivered."""
        while True:
            self._resend_if_due()
            batches = self.consumer.poll(timeout_ms=self._poll_ms(), max_records=MAX_BATCH)
            self._rebuild_assigned()
            if batches:
                self._handle(batches)

    def _poll_ms(self) -> int:
        return int(min(1.0, max(0.0, self._resend_at - time.monotonic())) * 1000)

    def _handle(self, batches: dict) -> None:
        changes = {}
        for tp, records in batches.items():
            for change in filter(None, (decode(tp, r) for r in records)):
                changes[identity(self._map(change))] = change  # the latest state of each alert
        if changes and not self._deliver(lambda: [self._map(c) for c in changes.values()]):
            self._rewind(batches)
            return
        for change in changes.values():
            self.book.record(self._map(change), change.firing, change.partition)
        self._commit(batches)

    def _map(self, change: Change) -> dict:
        return to_alertmanager(change.payload, time.time(), self.options.hold_s, self.options.status_page_url)

    def _resend_if_due(self) -> None:
        if time.monotonic() < self._resend_at:
            return
        self._resend_at = time.monotonic() + self.options.resend_interval_s
        if len(self.book):
            self._deliver(lambda: [extend(a, time.time(), self.options.hold_s) for a in self.book.firing()])

    def _deliver(self, alerts: Callable[[], list[dict]]) -> bool:
        """Post until Alertmanager takes them. False: a rebalance meanwhile; the batch is read again."""
        backoff, failures, since = Backoff(self.options.max_backoff_s), 0, time.monotonic()
        self._rebalanced = False
        while True:
            try:
                self._post(alerts())
            except DeliveryError as exc:
                failures += 1
                if failures == 1:
                    log.warning("Alertmanager did not take the alerts; retrying, nothing is committed until it does",
                                extra={"error": str(exc)})
                if not self._wait(backoff.next()):
                    return False
                continue
            if failures:
                log.info("Alertmanager takes alerts again; re-sending every firing alert",
                         extra={"after_s": round(time.monotonic() - since, 1), "attempts": failures + 1})
                self._resend_at = 0.0  # it may have restarted and forgotten them
            return True

    def _post(self, alerts: list[dict]) -> None:
        """One request; a refused batch (4xx) is posted alert by alert and the refused ones logged."""
        try:
            self.client.post(alerts)
        except DeliveryError as exc:
            if exc.retryable:
                raise
            for alert in alerts:
                try:
                    self.client.post([alert])
                except DeliveryError as one:
                    if one.retryable:
                        raise
                    log.error("Alertmanager refused an alert; it cannot be delivered",
                              extra={"error": str(one), "labels": alert["labels"]})

    def _wait(self, seconds: float) -> bool:
        """Sleep in the group: partitions paused, polled so membership holds. False after a rebalance."""
        assigned = self.consumer.assignment()
        self.consumer.pause(*assigned)
        try:
            strays = self.consumer.poll(timeout_ms=int(seconds * 1000))
            if strays:  # a rebalance gave us fresh, unpaused partitions: un-read them
                self._rewind(strays)
        finally:
            self.consumer.resume(*self.consumer.assignment())
        return not self._rebalanced

    def _rewind(self, batches: dict) -> None:
        owned = self.consumer.assignment()
        for tp, records in batches.items():
            if tp in owned:
                self.consumer.seek(tp, records[0].offset)

    def _commit(self, batches: dict) -> None:
        offsets = {tp: OffsetAndMetadata(records[-1].offset + 1, "", -1) for tp, records in batches.items()}
        try:
            self.consumer.commit(offsets)
        except CommitFailedError as exc:  # delivered, but the partitions moved: their new owner posts again
            log.info("offsets not committed after a rebalance", extra={"error": str(exc)})

    def _rebuild_assigned(self) -> None:
        """The book's alerts of newly assigned partitions, from their records before the committed offset."""
        if not self._to_rebuild:
            return
        partitions, self._to_rebuild = self._to_rebuild, set()
        ends = {tp: self.consumer.committed(tp) for tp in partitions}
        ends = {tp: end for tp, end in ends.items() if end}
        if ends:
            rebuilt = rebuild(self.log_reader(), ends, self.book, self._map)
            log.info("firing alerts read back from the log", extra={"records": rebuilt, "firing": len(self.book)})
        self._resend_at = 0.0


def rebuild(reader: KafkaConsumer, ends: dict[TopicPartition, int], book: FiringBook, to_alert) -> int:
    """Apply every record before `ends[tp]` to the book, oldest first; returns how many were read."""
    read, last_progress = 0, time.monotonic()
    try:
        reader.assign(list(ends))
        reader.seek_to_beginning(*ends)
        pending = dict(ends)
        while pending and time.monotonic() - last_progress < REBUILD_STALL_S:
            for tp, records in reader.poll(timeout_ms=500).items():
                for record in records:
                    change = decode(tp, record) if record.offset < ends[tp] else None
                    if change is not None:
                        book.record(to_alert(change), change.firing, change.partition)
                        read += 1
                    last_progress = time.monotonic()
                if records and records[-1].offset >= ends[tp] - 1:
                    pending.pop(tp, None)
        if pending:
            log.warning("the log did not yield every record before the committed offsets; "
                        "alerts firing there are re-sent only when they change", extra={"partitions": str(pending)})
    finally:
        reader.close()
    return read


class _Listener(ConsumerRebalanceListener):
    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    def on_partitions_revoked(self, revoked) -> None:
        self.notifier._rebalanced = True
        self.notifier.book.forget((tp.topic, tp.partition) for tp in revoked)

    def on_partitions_assigned(self, assigned) -> None:
        self.notifier._to_rebuild |= set(assigned)
