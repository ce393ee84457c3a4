"""Reads sla.status, sla.warnings and sla.breaches from their start into the store, then follows them.

No consumer group: every status page reads everything (sla.status is compacted and small; the alert
topics change only when an alert does). A record that is not JSON is logged and passed over; the
page shows the rest.
"""

from __future__ import annotations

import logging
import threading
import time

import orjson
from kafka import KafkaConsumer, TopicPartition

from slawatch import conventions as cv
from slawatch.ui.store import StatusStore

log = logging.getLogger("slawatch.ui")
TOPICS = (cv.TOPIC_STATUS, cv.TOPIC_WARNINGS, cv.TOPIC_BREACHES)


def partitions_of(consumer: KafkaConsumer) -> list[TopicPartition]:
    return [TopicPartition(t, p) for t in TOPICS for p in sorted(consumer.partitions_for_topic(t) or ())]


class StatusFeed(threading.Thread):
    def __init__(self, consumer: KafkaConsumer, store: StatusStore) -> None:
        super().__init__(name="status-feed", daemon=True)
        self.consumer, self.store = consumer, store
        self.stopped = threading.Event()

    def run(self) -> None:
        partitions = partitions_of(self.consumer)
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning(*partitions)
        try:
            while not self.stopped.is_set():
                batches = self.consumer.poll(timeout_ms=200)  # also how long a stop waits
                if not batches:
                    self.store.caught_up = True
                for tp, records in batches.items():
                    for record in records:
                        self._take(tp.topic, record)
        except Exception:
            log.exception("the status feed stopped: the page shows what it had read (/healthz answers 503)")
        finally:
            self.store.feeding = False
            self.consumer.close()

    def _take(self, topic: str, record) -> None:
        try:
            payload = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            log.warning("a record that is not JSON passed over", extra={"topic": topic, "offset": record.offset})
            return
        now = time.time()
        if topic == cv.TOPIC_STATUS:
            self.store.add_status((record.key or b"").decode("utf-8", "replace"), payload, now)
        elif isinstance(payload, dict) and "id" in payload:
            self.store.add_alert(payload, now)

    def stop(self) -> None:
        self.stopped.set()
