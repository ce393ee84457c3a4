"""The Faust and aiokafka defects slawatch works around (stream/kafka_fixes.py), each shown on the
real objects: a real aiokafka consumer on the embedded broker, a real Faust consumer."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiokafka
import faust
import pytest
from kafka import KafkaProducer

from slawatch.stream import kafka_fixes

pytestmark = pytest.mark.integration


def _fill(broker: str, topic: str, partitions: int, per_partition: int) -> None:
    producer = KafkaProducer(bootstrap_servers=broker)
    for p in range(partitions):
        for i in range(per_partition):
            producer.send(topic, value=f"{p}:{i}".encode(), partition=p)
    producer.flush()
    producer.close()


async def _prefetched_consumer(broker: str, topic: str, partitions: int) -> aiokafka.AIOKafkaConsumer:
    consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False,
                                         auto_offset_reset="earliest", fetch_max_wait_ms=100)
    await consumer.start()
    tps = [aiokafka.TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, 0)
    await asyncio.sleep(1.0)  # let the fetcher prefetch every partition
    return consumer


def test_aiokafka_reads_an_empty_partition_set_as_every_partition_and_the_fix_fetches_nothing(broker):
    topic = "fix3-empty-active-set"
    _fill(broker, topic, partitions=2, per_partition=5)

    async def scenario():
        consumer = await _prefetched_consumer(broker, topic, 2)
        try:
            # The defect: what Faust's consumer thread passes once the main thread emptied its live set.
            drained = await consumer._fetcher.fetched_records(set(), timeout=2.0)
            assert sum(len(v) for v in drained.values()) > 0, "aiokafka no longer drains all on an empty set"
            for tp in drained:  # put the position back for the second half
                consumer.seek(tp, 0)
            await asyncio.sleep(1.0)
            kafka_fixes.install()
            from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

            thread = SimpleNamespace(consumer=SimpleNamespace(flow_active=True))
            fixed = await AIOKafkaConsumerThread._fetch_records(thread, consumer, set(), timeout=0.5)
            assert fixed == {}, "an empty active set must fetch nothing"
            positions = {tp: await consumer.position(tp) for tp in consumer.assignment()}
            assert set(positions.values()) == {0}, "the fix must not move any position"
        finally:
            await consumer.stop()

    asyncio.run(scenario())


def test_the_consumer_thread_fetches_a_snapshot_of_the_active_partitions_not_the_live_set(broker):
    topic = "fix3-live-set"
    _fill(broker, topic, partitions=2, per_partition=5)
    kafka_fixes.install()
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    async def scenario():
        consumer = await _prefetched_consumer(broker, topic, 2)
        live = {aiokafka.TopicPartition(topic, 0)}
        seen = []

        async def call_thread(fn, *args, **kwargs):
            live.clear()  # the main thread empties its set while the thread runs
            seen.append(args[1])
            return await fn(*args, **kwargs)

        thread = SimpleNamespace(consumer=SimpleNamespace(flow_active=True), _ensure_consumer=lambda: consumer,
                                 call_thread=call_thread)
        thread._fetch_records = lambda *a, **k: AIOKafkaConsumerThread._fetch_records(thread, *a, **k)
        try:
            records = await AIOKafkaConsumerThread.getmany(thread, live, timeout=1.0)
            assert seen[0] == frozenset({aiokafka.TopicPartition(topic, 0)})
            assert set(records) <= {aiokafka.TopicPartition(topic, 0)}, "a partition not active was drained"
            assert await consumer.position(aiokafka.TopicPartition(topic, 1)) == 0
        finally:
            await consumer.stop()

    asyncio.run(scenario())


def test_faust_never_commits_past_a_record_at_the_committed_offset_that_was_not_acked():
    kafka_fixes.install()
    app = faust.App("fix5-commit", broker="kafka://127.0.0.1:1")
    consumer = app.consumer  # built, never started: _new_offset is bookkeeping only
    tp = faust.types.TP("sla.events", 0)
    consumer._committed_offset[tp] = 119  # the next offset to read
    consumer._acked[tp] = [120, 121, 122]  # 119 was never acked (lost in a queue)
    assert consumer._new_offset(tp) is None, "committing 123 would skip offset 119 for good"
    consumer._acked[tp].append(119)
    assert consumer._new_offset(tp) == 123
