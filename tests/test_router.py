"""Events are counted on their service's home partition, whatever partition the producer picked."""

from __future__ import annotations

import time
from collections import Counter
from types import SimpleNamespace

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner.default import DefaultPartitioner
from prometheus_client import CollectorRegistry

from kafka_helpers import REPO
from slawatch.catalog import load_catalog
from slawatch.core.event import Event
from slawatch.engine import Engine
from slawatch.ingest.deadletter import SourceRecord
from slawatch.ingest.decode import MAX_ATTRIBUTES, MAX_TEXT, decode_record
from slawatch.ingest.router import (
    ORIGIN_PARTS,
    REHOMED_MAX_BYTES,
    encode_events,
    encode_parts,
    home_partition,
    origin_header,
    origin_position,
    route_record,
    unknown_field_example,
)
from slawatch.metrics import WorkerMetrics
from slawatch.stream.pipeline import Pipeline

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
    assert len(routed.local) == 3 and routed.reroute == [] and routed.dead == []


def test_events_elsewhere_are_rerouted_home_one_batch_per_service():
    services = ["checkout", "payments", "search", "checkout"]
    here = next(p for p in range(4) if all(home_partition(s, 4) != p for s in services))
    batch = [{"service": s, "ts": NOW, "ok": True} for s in services]
    routed = route_record(record(here, batch), 4, NOW, 10**6, 86400)
    assert routed.local == []
    assert {r.service: (r.home, r.count, r.part) for r in routed.reroute} == {
        "checkout": (home_partition("checkout", 4), 2, 0),
        "payments": (home_partition("payments", 4), 1, 0),
        "search": (home_partition("search", 4), 1, 0),
    }
    [checkout] = [r for r in routed.reroute if r.service == "checkout"]
    assert [e["service"] for e in orjson.loads(checkout.value)] == ["checkout", "checkout"]


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


# -- services outside the catalogue ---------------------------------------------------------------

def test_events_of_services_outside_the_catalogue_are_counted_where_they_land():
    known = frozenset({"checkout"})
    here = next(p for p in range(4) if home_partition("checkout", 4) != p)
    batch = [{"service": f"ghost-{i}", "ts": NOW, "ok": True} for i in range(50)] + [{"service": "checkout", "ts": NOW, "ok": True}]
    routed = route_record(record(here, batch), 4, NOW, 10**6, 86400, known_services=known)
    assert [e.service for e in routed.local] == [f"ghost-{i}" for i in range(50)]
    assert [(r.service, r.count) for r in routed.reroute] == [("checkout", 1)]


# -- a re-homed share that does not fit one record --------------------------------------------------

def big_event(i: int) -> dict:
    return {"service": "checkout", "ts": NOW - i * 1e-3, "ok": i % 7 != 0, "latency_ms": i * 0.5,
            "operation": "o" * 200, "customer": f"c{i}", "attributes": {"n": i, "build": "b" * 150}}


def test_a_near_1_mib_record_re_homed_becomes_several_records_each_under_the_bound_in_order():
    events = [dict(big_event(i), ts=int(NOW) - i, latency_ms=i) for i in range(2_120)]
    value = orjson.dumps(events)
    assert len(value) <= 1_048_576 and len(encode_events(decode_record(value, NOW).events)) > 1_000_000
    here = next(p for p in range(4) if home_partition("checkout", 4) != p)
    routed = route_record(SourceRecord("sla.events", here, 10, None, value), 4, NOW, 1_048_576, 86400)
    assert len(routed.reroute) >= 2 and [r.part for r in routed.reroute] == list(range(len(routed.reroute)))
    assert all(len(r.value) <= REHOMED_MAX_BYTES for r in routed.reroute)
    again = [e for r in routed.reroute for e in decode_record(r.value, NOW).events]
    assert again == decode_record(value, NOW).events
    assert [r.count for r in routed.reroute] == [len(orjson.loads(r.value)) for r in routed.reroute]


def test_the_largest_valid_event_fits_one_re_homed_record():
    text = "\x01" * MAX_TEXT  # escaped as \u0001: six bytes per character
    event = {"service": text, "ts": NOW, "ok": True, "latency_ms": 1e300, "operation": text, "customer": text,
             "region": text, "attributes": {f"{i:02d}{text[2:]}": text for i in range(MAX_ATTRIBUTES)}}
    [decoded] = decode_record(orjson.dumps(event), NOW).events
    [(value, count)] = encode_parts([decoded])
    assert count == 1 and len(value) < 160_000 < REHOMED_MAX_BYTES


def test_an_attribute_name_longer_than_200_characters_is_refused():
    refused = decode_record(orjson.dumps({"service": "s", "ts": NOW, "ok": True, "attributes": {"k" * 201: 1}}), NOW)
    assert [(i.reason, i.field) for i in refused.invalid] == [("value_too_long", "attributes." + "k" * 200)]


@settings(deadline=None)
@given(st.lists(st.integers(1, 3_000), min_size=1, max_size=40), st.integers(100, 20_000))
def test_parts_keep_every_event_in_order_and_stay_under_the_bound(sizes, bound):
    events = [Event("s", NOW, True, operation="x" * min(size, MAX_TEXT), customer=str(size)) for size in sizes]
    parts = encode_parts(events, bound)
    assert [e for value, _ in parts for e in decode_record(value, NOW).events] == events
    assert all(len(value) <= bound for value, count in parts if count > 1)
    assert [count for _, count in parts] == [len(orjson.loads(value)) for value, _ in parts]


# -- the origin of a re-homed record, and counting each part once ----------------------------------

@settings(deadline=None)
@given(st.integers(0, 2**31), st.integers(0, 2**40), st.integers(0, ORIGIN_PARTS - 1),
       st.integers(0, 2**40), st.integers(0, ORIGIN_PARTS - 1))
def test_dedupe_positions_order_origins_by_offset_then_part(partition, offset, part, offset2, part2):
    first = origin_position(origin_header(partition, offset, part))
    second = origin_position(origin_header(partition, offset2, part2))
    assert first[0] == second[0] == partition
    assert (first[1] < second[1]) == ((offset, part) < (offset2, part2))


@pytest.mark.parametrize("header", [b"", b"x", b"1", b"1:", b":2", b"1:2:3:4", b"-1:5", b"1:5:-1",
                                    b"1:5:%d" % ORIGIN_PARTS, b"\xff:1", "١:٢".encode()])
def test_a_malformed_origin_header_is_not_an_origin(header):
    assert origin_position(header) is None


def test_an_origin_written_before_parts_is_its_bare_offset():
    assert origin_position(b"2:41") == (2, 41)


HOSTILE_CATALOG = load_catalog([REPO / "tests" / "integration" / "catalogs" / "hostile.yaml"])
HOME = home_partition("alpha", 4)
ORIGIN = next(p for p in range(4) if p != HOME)


class Table(dict):
    """The slice of a Faust table the engine reads checkpoints from."""


def pipeline_over(table: Table) -> tuple[Pipeline, Engine]:
    engine = Engine(HOSTILE_CATALOG, load_checkpoint=table.get, step_s=0.1)
    return Pipeline(engine, table, WorkerMetrics(CollectorRegistry(), engine.known_services), 4, 1_048_576, 86_400.0), engine


def message(partition: int, offset: int, value: bytes, headers: list) -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(topic="sla.events", partition=partition, offset=offset, key=None,
                                                   value=value, timestamp=None, headers=headers))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1_100, 2_100), min_size=1, max_size=3), st.data())
def test_every_part_of_a_re_homed_record_counts_once_through_a_crash_and_redelivery(sizes, data):
    """Origin records of 'alpha' land on another partition; each re-homes as several parts. The home
    partition's worker counts some parts, checkpoints, crashes; its successor gets them all again."""
    now = time.time()
    origins = [message(ORIGIN, 100 + n, orjson.dumps([dict(big_event(i), service="alpha", ts=now - 60 + i * 1e-3)
                                                      for i in range(size)]), [])
               for n, size in enumerate(sizes)]
    out = pipeline_over(Table())[0].process(origins, wall_now=now)
    assert len(out.reroute) > len(sizes), "each origin makes several parts"
    rehomed = [message(HOME, offset, r.value, r.headers) for offset, r in enumerate(out.reroute)]
    table = Table()
    first, engine = pipeline_over(table)
    counted_before = data.draw(st.integers(0, len(rehomed)), label="parts counted before the crash")
    first.process(rehomed[:counted_before], wall_now=now)
    table["alpha-availability"] = engine.checkpoint("alpha-availability")
    second, engine = pipeline_over(table)
    second.process(rehomed, wall_now=now)
    assert engine.recent_counts("alpha-availability", 3_600)["total"] == sum(sizes)
