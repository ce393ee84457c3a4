"""The worker resumes from its own progress, and a recreated events topic is not taken for duplicates.

Real broker, real worker subprocesses. The progress record (stream/progress.py) names the record at
its offset; when that record is gone the topic is a new log, whose offsets name other records.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic

from kafka_helpers import REPO, WorkerProcess, event, wait_for
from slawatch.conventions import APP_ID, METRIC_OFFSET_RESETS, TOPIC_EVENTS
from slawatch.stream.progress import Progress
from integration.test_detection_end_to_end import produce

pytestmark = pytest.mark.integration
CATALOG = [str(REPO / "tests" / "golden" / "scenarios" / "outage-pages" / "catalog.yaml")]


PROGRESS_CHANGELOG = f"{APP_ID}-events_progress-changelog"


def last_offsets(broker: str) -> dict[int, int]:
    """The offset of the last record in each non-empty sla.events partition, read from the log
    (the embedded broker's ListOffsets LATEST is not the high watermark: broker-notes.md)."""
    consumer = KafkaConsumer(TOPIC_EVENTS, bootstrap_servers=broker, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=1500)
    try:
        last: dict[int, int] = {}
        for record in consumer:
            last[record.partition] = record.offset
    finally:
        consumer.close()
    return last


def recorded_progress(broker: str) -> dict[int, int]:
    """The latest progress offset per sla.events partition, read from the progress changelog."""
    consumer = KafkaConsumer(PROGRESS_CHANGELOG, bootstrap_servers=broker, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=1500)
    try:
        latest = {int(orjson.loads(r.key)): Progress.from_bytes(r.value).offset for r in consumer if r.value is not None}
    finally:
        consumer.close()
    return latest


def held_total(worker: WorkerProcess, slo: str) -> int:
    found = worker.state().get(slo)
    return found["total"] if found else 0


def test_a_recreated_events_topic_is_counted_not_dropped_as_already_seen(fresh_broker, tmp_path: Path):
    now = time.time()
    before = [event("search", ts=now - 60 + i * 0.01) for i in range(400)]
    after = [event("search", ts=now - 30 + i * 0.01) for i in range(300)]
    produce(fresh_broker, before, per_record=4)  # 100 records: the progress ends at a high offset
    first = WorkerProcess(fresh_broker, tmp_path / "a", catalog=CATALOG).start()
    try:
        wait_for(lambda: held_total(first, "search-availability") >= len(before), 60, what="first events counted")
    finally:
        assert first.stop() == 0
    admin = KafkaAdminClient(bootstrap_servers=fresh_broker)
    try:
        partitions = len(admin.describe_topics([TOPIC_EVENTS])[0]["partitions"])
        admin.delete_topics([TOPIC_EVENTS])
        wait_for(lambda: TOPIC_EVENTS not in admin.list_topics(), 20, what="topic deleted")
        admin.create_topics([NewTopic(TOPIC_EVENTS, partitions, 1)])
    finally:
        admin.close()
    produce(fresh_broker, after, per_record=30)  # 10 records: every offset is below the old progress
    second = WorkerProcess(fresh_broker, tmp_path / "b", catalog=CATALOG).start()
    try:
        wait_for(lambda: held_total(second, "search-availability") >= len(before) + len(after), 60,
                 what=f"the new topic's events counted (log: {second.log_path})")
        assert held_total(second, "search-availability") == len(before) + len(after)
        assert second.sample(METRIC_OFFSET_RESETS) >= 1
        assert "is not the log this worker's progress was made on" in second.log_path.read_text()
    finally:
        second.stop()


def test_a_restarted_worker_resumes_after_its_progress_and_counts_nothing_twice(fresh_broker, tmp_path: Path):
    now = time.time()
    events = [event("search", ts=now - 60 + i * 0.01) for i in range(600)]
    produce(fresh_broker, events[:300], per_record=3)
    first = WorkerProcess(fresh_broker, tmp_path / "a", catalog=CATALOG).start()
    try:
        wait_for(lambda: held_total(first, "search-availability") >= 300, 60, what="first half counted")
        # Counted is not yet recorded: the progress is written once the batch's checkpoints are acked.
        # Kill only after it covers every record, so the successor has a progress to resume from.
        produced = last_offsets(fresh_broker)
        wait_for(lambda: recorded_progress(fresh_broker) == produced, 60, what=f"progress at {produced}")
    finally:
        first.kill()  # no final commit: Faust's committed offset lags; the progress does not
    produce(fresh_broker, events[300:], per_record=3)
    second = WorkerProcess(fresh_broker, tmp_path / "b", catalog=CATALOG).start()
    try:
        wait_for(lambda: held_total(second, "search-availability") >= 600, 60, what="every event counted")
        time.sleep(1.0)
        assert held_total(second, "search-availability") == 600
        assert "the worker's own progress" in second.log_path.read_text()
    finally:
        second.stop()
