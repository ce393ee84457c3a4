"""Events are counted on their service's home partition, whatever partition the producer picked."""

from __future__ import annotations

from collections import Counter

import orjson
from kafka.partitioner.default import DefaultPartitioner

from slawatch.ingest.deadletter import SourceRecord
from slawatch.ingest.router import home_partition, route_record, unknown_field_example

NOW = 1_796_000_000.0


class FakeCluster:
    """The two methods DefaultPartitioner reads; enough to ask it where a key goes."""

    def __init__(self, n):
        self.n = n

    def topics(self):
        return {"t"}

    def partitions_for_topic(self, topic):
        return set(range(self.n))

    def available_partitions_for_topic(self, topic):
        return set(range(self.n))


def test_the_home_partition_is_where_the_java_partitioner_puts_the_key():
    for service in ("checkout", "payments", "search", "ünïcode", "a" * 150):
        for n in (1, 3, 4, 12):
            java = DefaultPartitioner().partition("t", None, service.encode(), None, None, FakeCluster(n))
            assert home_partition(service, n) == java


def record(partition, value, key=None):
    return SourceRecord("sla.events", partition, 10, key, orjson.dumps(value))


def test_events_on_their_home_partition_are_counted_here():
    home = home_partition("checkout", 4)
    routed = route_record(record(home, [{"service": "checkout", "ts": NOW, "ok": True}] * 3), 4, NOW, 10**6, 86400)
    assert len(routed.local) == 3 and routed.reroute == {} and routed.dead == []


def test_events_elsewhere_are_rerouted_home_one_batch_per_service():
    services = ["checkout", "payments", "search", "checkout"]
    here = next(p for p in range(4) if all(home_partition(s, 4) != p for s in services))
    batch = [{"service": s, "ts": NOW, "ok": True} for s in services]
    routed = route_record(record(here, batch), 4, NOW, 10**6, 86400)
    assert routed.local == []
    assert {s: (p, n) for s, (p, _, n) in routed.reroute.items()} == {
        "checkout": (home_partition("checkout", 4), 2),
        "payments": (home_partition("payments", 4), 1),
        "search": (home_partition("search", 4), 1),
    }
    assert [e["service"] for e in orjson.loads(routed.reroute["checkout"][1])] == ["checkout", "checkout"]


def test_invalid_events_become_dead_letters_that_keep_the_source_coordinates():
    routed = route_record(record(0, [{"service": "s", "ts": "x", "ok": True}], key=b"s"), 4, NOW, 10**6, 86400)
    [dead] = routed.dead
    envelope = orjson.loads(dead.value)
    assert envelope["source"] == {"topic": "sla.events", "partition": 0, "offset": 10, "timestamp_ms": None}
    assert dead.key == b"s" and dict(dead.headers)["slawatch_reason"] == b"bad_timestamp"
    assert routed.invalid_reasons == ["bad_timestamp"]


def test_unknown_fields_of_counted_events_are_reported_and_strict_routing_refuses_them():
    home = home_partition("checkout", 4)
    batch = [{"service": "checkout", "ts": NOW, "ok": True, "colour": "red"}] * 2 + [{"service": "checkout", "ts": NOW, "ok": True}]
    lenient = route_record(record(home, batch), 4, NOW, 10**6, 86400)
    assert len(lenient.local) == 3 and lenient.dead == [] and lenient.unknown_fields == Counter({"colour": 2})
    strict = route_record(record(home, batch), 4, NOW, 10**6, 86400, strict=True)
    assert len(strict.local) == 1 and strict.invalid_reasons == ["unknown_field"] * 2
    assert strict.unknown_fields == Counter()


def test_the_unknown_field_example_says_where_the_record_was_and_how_it_starts():
    example = unknown_field_example(record(2, [{"service": "s", "ts": NOW, "ok": True, "colour": "x" * 1000}]))
    assert example.startswith('sla.events/2/10 [{"service":"s"') and len(example) < 400
