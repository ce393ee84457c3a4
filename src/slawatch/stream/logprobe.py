"""Look at a partition's log from outside Faust: which record an offset holds, with its own consumer.

Used where the worker must not trust what its Faust consumer delivered: to tell a gap lost in this
process from offsets absent from the log, and to check that a partition is still the log its
progress was made on. One short-lived aiokafka consumer per question; never on the per-event path.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple

import aiokafka

from slawatch.stream.progress import record_crc


class RecordAt(NamedTuple):
    offset: int
    crc: int
    timestamp_ms: int | None


def side_consumer(app) -> aiokafka.AIOKafkaConsumer:
    """A plain consumer on the app's brokers and credentials: no group, no commits."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth, server_list

    conf = app.conf
    transport = app.transport
    return aiokafka.AIOKafkaConsumer(
        bootstrap_servers=server_list(transport.url, transport.default_port),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        **credentials_to_aiokafka_auth(conf.broker_credentials, conf.ssl_context),
    )


async def first_record_from(consumer: aiokafka.AIOKafkaConsumer, tp, offset: int,
                            timeout_s: float = 5.0) -> RecordAt | None:
    """The first record at or after `offset` (the log's first if `offset` is gone), None at the end."""
    tp = aiokafka.TopicPartition(tp.topic, tp.partition)
    consumer.assign([tp])
    consumer.seek(tp, offset)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        batch = await consumer.getmany(tp, timeout_ms=200, max_records=1)
        for record in batch.get(tp, ()):
            return RecordAt(record.offset, record_crc(record.key, record.value), record.timestamp)
        highwater = consumer.highwater(tp)
        if highwater is not None and highwater <= offset:
            return None
    raise TimeoutError(f"no answer from {tp.topic}:{tp.partition} at offset {offset} within {timeout_s:g} s")


async def probe(app, lookups: list[tuple[object, int]]) -> list[RecordAt | None]:
    """`first_record_from` for each (tp, offset), with one consumer."""
    consumer = side_consumer(app)
    await consumer.start()
    try:
        return [await first_record_from(consumer, tp, offset) for tp, offset in lookups]
    finally:
        await consumer.stop()
