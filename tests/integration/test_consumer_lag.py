"""Consumer lag is read from a real aiokafka consumer's fetch state on the embedded broker: the
high watermark of its last fetch minus its position, per assigned partition, no request per scrape."""

from __future__ import annotations

import asyncio

import aiokafka
import pytest
from kafka import KafkaProducer
from prometheus_client import CollectorRegistry

from slawatch.conventions import METRIC_CONSUMER_LAG
from slawatch.stream.lag import ConsumerLagCollector, PartitionLag, partition_lags

pytestmark = pytest.mark.integration
TOPIC = "lag-two-partitions"


def _fill(broker: str, counts: dict[int, int]) -> None:
    producer = KafkaProducer(bootstrap_servers=broker)
    for partition, n in counts.items():
        for i in range(n):
            producer.send(TOPIC, value=f"{partition}:{i}".encode(), partition=partition)
    producer.flush()
    producer.close()


def test_lag_is_the_high_watermark_minus_the_position_of_each_assigned_partition(broker):
    _fill(broker, {0: 30, 1: 10})

    async def scenario() -> tuple[list[PartitionLag], list[PartitionLag], CollectorRegistry]:
        consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False, fetch_max_wait_ms=100)
        await consumer.start()
        try:
            tps = [aiokafka.TopicPartition(TOPIC, p) for p in (0, 1)]
            consumer.assign(tps)
            for tp in tps:
                consumer.seek(tp, 0)
            await asyncio.sleep(1.0)  # the fetcher prefetches both partitions: high watermarks known
            before = partition_lags(consumer, TOPIC)
            taken = await consumer.getmany(tps[0], max_records=12, timeout_ms=2000)
            assert sum(len(v) for v in taken.values()) == 12
            after = partition_lags(consumer, TOPIC)
            registry = CollectorRegistry()
            registry.register(ConsumerLagCollector(lambda: partition_lags(consumer, TOPIC)))
            return before, after, registry
        finally:
            await consumer.stop()

    before, after, registry = asyncio.run(scenario())
    assert before == [PartitionLag(0, 30, 0), PartitionLag(1, 10, 0)]
    assert after == [PartitionLag(0, 30, 12), PartitionLag(1, 10, 0)]
    assert [lag.records for lag in after] == [18, 10]
    assert registry.get_sample_value(METRIC_CONSUMER_LAG, {"partition": "1"}) == 10

