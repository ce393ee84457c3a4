"""Prometheus metrics of the worker, on an injected registry (tests use their own).

Label cardinality is bounded: `service` is a catalogued name or the one UNKNOWN_SERVICE series;
`field` (unknown event fields) is one of the first MAX_UNKNOWN_FIELD_LABELS names or OTHER_FIELD.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

from slawatch.conventions import (
    METRIC_EVENTS,
    METRIC_EVENTS_DUPLICATE,
    METRIC_EVENTS_INVALID,
    METRIC_BATCH_RECORDS,
    METRIC_EVENT_LAG,
    METRIC_EVENTS_REROUTED,
    METRIC_EVENTS_UNKNOWN_FIELDS,
    METRIC_OFFSET_GAPS,
    METRIC_OFFSET_RESETS,
    METRIC_RECORDS_REDELIVERED,
    METRIC_RECORDS,
    OTHER_FIELD,
    OUTCOME_ERROR,
    OUTCOME_OK,
    UNKNOWN_SERVICE,
)

MAX_UNKNOWN_FIELD_LABELS = 50
MAX_UNKNOWN_FIELD_CHARS = 100  # a longer name is not a typo worth its own series
log = logging.getLogger(__name__)

# `*_created` series double every counter's series count and Grafana never uses them.
disable_created_metrics()


class WorkerMetrics:
    """The worker's own Prometheus series: events counted, refused, de-duplicated and rerouted; records and batches; lag."""

    def __init__(self, registry: CollectorRegistry, known_services: frozenset[str]) -> None:
        self.registry = registry
        self.known_services = known_services
        self.events = Counter(
            METRIC_EVENTS.removesuffix("_total"), "Valid events counted, by service and outcome "
            f"(services not in the catalogue share service=\"{UNKNOWN_SERVICE}\")",
            ["service", "outcome"], registry=registry,
        )
        self.invalid = Counter(
            METRIC_EVENTS_INVALID.removesuffix("_total"), "Records or batch elements sent to the dead-letter topic, by reason",
            ["reason"], registry=registry,
        )
        self.records = Counter(METRIC_RECORDS.removesuffix("_total"), "Records consumed from the events topic", registry=registry)
        self.rerouted = Counter(
            METRIC_EVENTS_REROUTED.removesuffix("_total"), "Valid events re-published keyed by their service "
            "(the record was unkeyed or keyed by another service)", registry=registry,
        )
        self.duplicates = Counter(
            METRIC_EVENTS_DUPLICATE.removesuffix("_total"), "Events skipped because a checkpoint already covers their offset "
            "(redelivery after a crash or rebalance)", registry=registry,
        )
        self.records_redelivered = Counter(
            METRIC_RECORDS_REDELIVERED.removesuffix("_total"), "Records dropped before decoding because the "
            "partition's progress already covers them (redelivery after a crash or rebalance)", registry=registry,
        )
        self.offset_gaps = Counter(
            METRIC_OFFSET_GAPS.removesuffix("_total"), "Gaps in a partition's offsets: kind=lost (in the log but never "
            "delivered: the worker stops and its successor resumes there) or kind=absent (not in the log; skipped)", ["kind"], registry=registry,
        )
        self.offset_resets = Counter(
            METRIC_OFFSET_RESETS.removesuffix("_total"), "Partitions whose log is not the one their progress was made on "
            "(topic recreated, in-memory broker restarted): progress and dedupe state reset", registry=registry,
        )
        self.batch_records = Histogram(
            METRIC_BATCH_RECORDS, "Records per processed batch", registry=registry,
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
        )
        self.lag = Histogram(
            METRIC_EVENT_LAG, "Wall clock minus event time of the last event of each record, seconds",
            registry=registry, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
        )
        self.unknown_fields = Counter(
            METRIC_EVENTS_UNKNOWN_FIELDS.removesuffix("_total"), "Valid events carrying an unknown top-level field, "
            f"ignored (the first {MAX_UNKNOWN_FIELD_LABELS} names; the rest share field=\"{OTHER_FIELD}\")",
            ["field"], registry=registry,
        )
        self._children: dict[tuple[str, bool], object] = {}
        self._unknown_field_children: dict[str, object] = {}
        self._other_fields_logged = False

    def count_event(self, service: str, ok: bool, n: int = 1) -> None:
        child = self._children.get((service, ok))
        if child is None:
            label = service if service in self.known_services else UNKNOWN_SERVICE
            child = self.events.labels(label, OUTCOME_OK if ok else OUTCOME_ERROR)
            if service in self.known_services:  # unknown names must not grow this cache without bound
                self._children[(service, ok)] = child
        child.inc(n)

    def count_unknown_fields(self, counts: Mapping[str, int], example: str = "") -> None:
        """Count events per unknown field name (from route_record's unknown_fields); log each new name once.

        `example` says where such a record was (ingest.router.unknown_field_example)."""
        for name, n in counts.items():
            child = self._unknown_field_children.get(name)
            if child is None:
                child = self._new_unknown_field(name, example)
            child.inc(n)

    def _new_unknown_field(self, name: str, example: str):
        if len(self._unknown_field_children) < MAX_UNKNOWN_FIELD_LABELS and len(name) <= MAX_UNKNOWN_FIELD_CHARS:
            child = self._unknown_field_children[name] = self.unknown_fields.labels(name)
            log.warning("events carry an unknown field; it is ignored (--strict-events refuses such events)",
                        extra={"field": name, "example": example})
            return child
        if not self._other_fields_logged:  # past the cap nothing is remembered, so this is logged once
            self._other_fields_logged = True
            log.warning(f"more unknown event fields; they are counted under field={OTHER_FIELD} and not logged",
                        extra={"field": name[:MAX_UNKNOWN_FIELD_CHARS], "example": example})
        return self.unknown_fields.labels(OTHER_FIELD)
