"""An independent client (librdkafka via confluent-kafka, not a Python Kafka protocol stack).

librdkafka's default partitioner (consistent_random, CRC32) places keys differently from the Java
client's murmur2, so these events also prove the worker re-homes mis-partitioned records.
"""

from __future__ import annotations

import base64
import uuid

import orjson
import pytest
from confluent_kafka import Consumer, Producer

from kafka_helpers import event, wait_for

pytestmark = pytest.mark.integration


def test_events_from_librdkafka_are_counted_and_its_consumer_reads_the_dead_letters(worker, module_broker):
    producer = Producer({"bootstrap.servers": module_broker, "linger.ms": 5})
    before = worker.sample("slawatch_events_total", service="payments", outcome="ok")
    marker = uuid.uuid4().hex
    for _ in range(20):
        producer.produce("sla.events", key=b"payments", value=orjson.dumps([event("payments") for _ in range(5)]))
    producer.produce("sla.events", key=b"payments", value=f"broken {marker}".encode())
    assert producer.flush(10) == 0

    wait_for(lambda: worker.sample("slawatch_events_total", service="payments", outcome="ok") == before + 100,
             what="100 events from librdkafka counted")

    consumer = Consumer({"bootstrap.servers": module_broker, "group.id": f"t-{marker}", "auto.offset.reset": "earliest"})
    consumer.subscribe(["sla.deadletter"])
    found = []
    try:
        def poll_mine():
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                envelope = orjson.loads(message.value())
                if marker.encode() in base64.b64decode(envelope["original_b64"]):
                    found.append((envelope, dict(message.headers() or [])))
            return found

        wait_for(poll_mine, 30, interval_s=0, what="the dead letter, read by librdkafka")
    finally:
        consumer.close()
    envelope, headers = found[0]
    assert envelope["reason"] == "not_json" and headers["slawatch_reason"] == b"not_json"
    assert base64.b64decode(envelope["original_b64"]) == f"broken {marker}".encode()
