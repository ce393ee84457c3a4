"""Worker counters: unknown event fields are counted per name, with the names' cardinality capped."""

from __future__ import annotations

import logging
from collections import Counter

from prometheus_client import CollectorRegistry

from slawatch.conventions import METRIC_EVENTS_UNKNOWN_FIELDS, OTHER_FIELD
from slawatch.metrics import MAX_UNKNOWN_FIELD_LABELS, WorkerMetrics


def unknown_field_count(metrics: WorkerMetrics, field: str) -> float | None:
    return metrics.registry.get_sample_value(METRIC_EVENTS_UNKNOWN_FIELDS, {"field": field})


def test_events_are_counted_per_unknown_field_and_each_new_name_is_logged_once(caplog):
    metrics = WorkerMetrics(CollectorRegistry(), frozenset())
    with caplog.at_level(logging.WARNING, logger="slawatch.metrics"):
        metrics.count_unknown_fields(Counter({"colour": 2, "latncy_ms": 1}), "sla.events/0/7 {...}")
        metrics.count_unknown_fields(Counter({"colour": 3}), "sla.events/0/8 {...}")
    assert unknown_field_count(metrics, "colour") == 5 and unknown_field_count(metrics, "latncy_ms") == 1
    assert [(r.field, r.example) for r in caplog.records] == [("colour", "sla.events/0/7 {...}"),
                                                              ("latncy_ms", "sla.events/0/7 {...}")]


def test_names_past_the_cap_share_one_series_and_one_log_line(caplog):
    metrics = WorkerMetrics(CollectorRegistry(), frozenset())
    names = [f"f{i}" for i in range(MAX_UNKNOWN_FIELD_LABELS + 20)]
    with caplog.at_level(logging.WARNING, logger="slawatch.metrics"):
        for name in names:
            metrics.count_unknown_fields({name: 1})
    assert all(unknown_field_count(metrics, n) == 1 for n in names[:MAX_UNKNOWN_FIELD_LABELS])
    assert unknown_field_count(metrics, names[MAX_UNKNOWN_FIELD_LABELS]) is None
    assert unknown_field_count(metrics, OTHER_FIELD) == 20
    assert len(caplog.records) == MAX_UNKNOWN_FIELD_LABELS + 1
    series = {s.labels["field"] for m in metrics.registry.collect() if m.name + "_total" == METRIC_EVENTS_UNKNOWN_FIELDS
              for s in m.samples}
    assert len(series) == MAX_UNKNOWN_FIELD_LABELS + 1


def test_a_very_long_name_is_counted_under_other_even_below_the_cap():
    metrics = WorkerMetrics(CollectorRegistry(), frozenset())
    metrics.count_unknown_fields({"x" * 1000: 4, "colour": 1})
    assert unknown_field_count(metrics, OTHER_FIELD) == 4 and unknown_field_count(metrics, "colour") == 1
