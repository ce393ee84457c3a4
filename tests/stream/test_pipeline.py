"""One batch through the pipeline: redelivered records, partial duplicates and the counters.

The engine, decoder and counters are the real ones; the Faust events are plain records with the
attributes the pipeline reads (topic, partition, offset, key, value, timestamp, headers)."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
from prometheus_client import CollectorRegistry

from engine_helpers import BASE, make_catalog, make_slo
from slawatch.core.model import EventMatch
from slawatch.engine import Engine
from slawatch.ingest.router import home_partition
from slawatch.metrics import WorkerMetrics
from slawatch.stream.pipeline import Pipeline

PARTITIONS = 4
HOME = home_partition("api", PARTITIONS)
CATALOG = make_catalog(make_slo(name="api-availability"),
                       make_slo(name="api-orders", match=EventMatch(service="api", operation="orders")))


class Table(dict):
    """The slice of a Faust table the engine reads checkpoints from."""


def record(offset: int, n: int = 10, ok: bool = True) -> SimpleNamespace:
    events = [{"service": "api", "ts": BASE + offset + i * 0.01, "ok": ok, "operation": "orders"} for i in range(n)]
    message = SimpleNamespace(topic="sla.events", partition=HOME, offset=offset, key=b"api",
                              value=orjson.dumps(events), timestamp=BASE + offset, headers=[])
    return SimpleNamespace(message=message)


def pipeline_over(table: Table) -> tuple[Pipeline, Engine, CollectorRegistry]:
    engine = Engine(CATALOG, load_checkpoint=table.get, step_s=0.1)
    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry, engine.known_services)
    return Pipeline(engine, table, metrics, PARTITIONS, 1_048_576, 86_400.0), engine, registry


def totals(engine: Engine) -> dict[str, int]:
    return {slo: engine.recent_counts(slo, 3_600)["total"] for slo in ("api-availability", "api-orders")}


def test_a_record_one_slo_counted_before_a_crash_is_counted_by_the_other_and_checkpointed():
    table = Table()
    before, engine, _ = pipeline_over(table)
    before.process([record(0)], wall_now=BASE + 1)
    # The crash came between the two SLOs' checkpoints: only api-availability's reached the changelog.
    table["api-availability"] = engine.checkpoint("api-availability")

    after, engine, registry = pipeline_over(table)
    out = after.process([record(0)], wall_now=BASE + 2)

    assert totals(engine) == {"api-availability": 10, "api-orders": 10}
    assert "api-orders" in out.touched[HOME], "the SLO that counted the record now must be checkpointed"
    assert registry.get_sample_value("slawatch_events_duplicate_total") == 10
    assert registry.get_sample_value("slawatch_events_total", {"service": "api", "outcome": "ok"}) == 10


def test_a_record_every_slo_counted_before_a_crash_changes_nothing_and_is_not_counted_again():
    table = Table()
    before, engine, _ = pipeline_over(table)
    before.process([record(0)], wall_now=BASE + 1)
    for slo in ("api-availability", "api-orders"):
        table[slo] = engine.checkpoint(slo)

    after, engine, registry = pipeline_over(table)
    after.process([record(0), record(1)], wall_now=BASE + 2)

    assert totals(engine) == {"api-availability": 20, "api-orders": 20}
    assert registry.get_sample_value("slawatch_events_duplicate_total") == 20
    assert registry.get_sample_value("slawatch_events_total", {"service": "api", "outcome": "ok"}) == 10


def test_records_below_the_partitions_progress_are_dropped_before_decoding():
    table = Table()
    pipeline, engine, registry = pipeline_over(table)
    pipeline.tracker.start(HOME, 5)
    out = pipeline.process([record(3), record(4), record(5)], wall_now=BASE + 6)
    assert totals(engine) == {"api-availability": 10, "api-orders": 10}
    assert registry.get_sample_value("slawatch_records_redelivered_total") == 2
    assert out.progress[HOME].offset == 5


def test_a_batch_that_spans_offsets_absent_from_the_log_counts_the_records_on_both_sides():
    # After a broker restart offsets 78..79 were allocated and never written; the batch also held 74..77.
    pipeline, engine, registry = pipeline_over(Table())
    pipeline.tracker.start(HOME, 74)
    batch = [record(offset) for offset in (74, 75, 76, 77, 80, 81)]
    for gap in pipeline.tracker.gaps([(r.message.partition, r.message.offset) for r in batch]):
        pipeline.tracker.skip(gap)  # what the worker does once the log shows the offsets absent
    out = pipeline.process(batch, wall_now=BASE + 82)
    assert totals(engine) == {"api-availability": 60, "api-orders": 60}
    assert registry.get_sample_value("slawatch_records_redelivered_total") == 0
    assert out.progress[HOME].offset == 81


def test_a_record_of_events_the_engine_refuses_carries_its_bytes_in_a_few_dead_letters_only():
    pipeline, engine, registry = pipeline_over(Table())
    pipeline.process([record(0)], wall_now=BASE + 1)  # the SLO's watermark: now older events are too old
    old = [{"service": "api", "ts": BASE - 10 * 86_400 + i, "ok": True, "operation": "orders",
            "attributes": {"pad": "x" * 150}} for i in range(1_000)]
    message = SimpleNamespace(topic="sla.events", partition=HOME, offset=1, key=b"api", value=orjson.dumps(old),
                              timestamp=BASE + 1, headers=[])
    out = pipeline.process([SimpleNamespace(message=message)], wall_now=BASE + 2)
    assert len(out.dead) == 1_000
    assert registry.get_sample_value("slawatch_events_invalid_total", {"reason": "too_old"}) == 1_000
    envelopes = [orjson.loads(d.value) for d in out.dead]
    assert {e["original_sha256"] for e in envelopes} == {envelopes[0]["original_sha256"]}
    assert envelopes[0]["original_b64"], "the first letter carries the record"
    assert sum(len(d.value) for d in out.dead) < 5 * len(message.value), "the record was copied into every letter"
