"""Operator metrics on a worker's registry: the build, one info series and the burn-rate thresholds
per owned SLO, process and platform collectors, and a consumer-lag collector that never fails a scrape."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry

from slawatch import __version__
from slawatch.catalog import load_catalog
from slawatch.conventions import (
    METRIC_BUILD_INFO,
    METRIC_BURN_RATE_THRESHOLD,
    METRIC_CONSUMER_LAG,
    METRIC_SLO_INFO,
    SLO_INFO_LABELS,
)
from slawatch.engine.info import objective_percent, slo_info_labels
from slawatch.stream.collector import CatalogInfoCollector, register_operator_collectors
from slawatch.stream.lag import ConsumerLagCollector, PartitionLag

DEMO = Path(__file__).resolve().parents[2] / "examples" / "catalog" / "demo.yaml"


def samples(registry: CollectorRegistry, name: str) -> list[dict[str, str]]:
    return [s.labels for family in registry.collect() for s in family.samples if s.name == name]


def test_each_owned_slo_has_one_info_series_with_what_the_catalogue_promises():
    catalog = load_catalog([DEMO])
    registry = CollectorRegistry()
    registry.register(CatalogInfoCollector(catalog, lambda: ["payments-customer-sla", "search-availability"]))
    assert samples(registry, METRIC_SLO_INFO) == [
        {"slo": "payments-customer-sla", "service": "payments", "objective": "99.95", "window": "month",
         "sli": "availability", "owner": "team-payments", "tier": "0"},
        {"slo": "search-availability", "service": "search", "objective": "99.5", "window": "1d",
         "sli": "availability", "owner": "team-discovery", "tier": ""},
    ]
    assert registry.get_sample_value(METRIC_BUILD_INFO, {"version": __version__}) == 1


def test_a_worker_that_owns_nothing_exports_the_build_but_no_slo_info():
    registry = CollectorRegistry()
    registry.register(CatalogInfoCollector(load_catalog([DEMO]), lambda: []))
    assert samples(registry, METRIC_SLO_INFO) == []
    assert len(samples(registry, METRIC_BUILD_INFO)) == 1


def test_info_labels_name_every_label_in_convention_order_and_the_objective_as_the_catalogue_writes_it():
    catalog = load_catalog([DEMO])
    assert tuple(slo_info_labels(catalog, catalog.slos[0])) == SLO_INFO_LABELS
    assert [objective_percent(x) for x in (0.999, 0.99, 0.9995, 0.5)] == ["99.9", "99", "99.95", "50"]


def test_lag_is_never_negative_and_a_collector_mid_rebalance_exports_no_partition_rather_than_failing():
    registry = CollectorRegistry()
    registry.register(ConsumerLagCollector(lambda: [PartitionLag(0, 5, 7), PartitionLag(3, 9, 4)]))
    assert registry.get_sample_value(METRIC_CONSUMER_LAG, {"partition": "0"}) == 0
    assert registry.get_sample_value(METRIC_CONSUMER_LAG, {"partition": "3"}) == 5

    def vanished():
        raise AttributeError("'NoneType' object has no attribute 'assignment'")

    broken = CollectorRegistry()
    broken.register(ConsumerLagCollector(vanished))
    assert samples(broken, METRIC_CONSUMER_LAG) == []


def test_the_operator_collectors_add_process_and_platform_metrics_to_the_worker_registry():
    registry = CollectorRegistry()
    app = SimpleNamespace(consumer=SimpleNamespace())  # a consumer thread not started yet
    register_operator_collectors(registry, app, load_catalog([DEMO]), lambda: [])
    names = {s.name for family in registry.collect() for s in family.samples}
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "python_info",
            "python_gc_collections_total", METRIC_BUILD_INFO} <= names
    assert samples(registry, METRIC_CONSUMER_LAG) == []


def test_each_burn_rate_rule_of_an_owned_slo_exports_its_factor_with_windows_named_as_the_burn_rates():
    registry = CollectorRegistry()
    registry.register(CatalogInfoCollector(load_catalog([DEMO]), lambda: ["search-availability"]))
    factors = {(s["rule"], s["severity"], s["long_window"], s["short_window"]):
               registry.get_sample_value(METRIC_BURN_RATE_THRESHOLD, s)
               for s in samples(registry, METRIC_BURN_RATE_THRESHOLD)}
    # factor = budget % x period hours / 100 / long-window hours, over the SLO's one-day window
    assert factors == pytest.approx({("page-fast", "page", "2m", "10s"): 14.4, ("page-slow", "page", "15m", "1m"): 4.8,
                                     ("ticket", "ticket", "2h", "10m"): 1.2})


def test_a_scrape_by_name_skips_the_slo_gauges_and_describe_names_every_family_the_engine_yields():
    from prometheus_client import generate_latest

    from slawatch.core.event import Event
    from slawatch.engine import Engine
    from slawatch.metrics import WorkerMetrics
    from slawatch.stream.collector import EngineCollector

    catalog = load_catalog([DEMO])
    engine = Engine(catalog)
    slo = catalog.slos[0]
    engine.apply([Event(service=slo.service, ts=1_700_000_000.0 + i, ok=i % 7 != 0, latency_ms=20.0)
                  for i in range(120)], wall_now=1_700_000_200.0)
    gauges_asked = []

    class CountingCollector(EngineCollector):
        def collect(self):
            gauges_asked.append(1)
            yield from super().collect()

    registry = CollectorRegistry()
    metrics = WorkerMetrics(registry, engine.known_services)
    metrics.records.inc(3)
    collector = CountingCollector(engine)
    registry.register(collector)
    only = generate_latest(registry.restricted_registry(["slawatch_records_total"])).decode()
    assert "slawatch_records_total 3.0" in only and "slawatch_sli_ratio" not in only
    assert gauges_asked == []
    full = {family.name for family in collector.collect()}
    assert "slawatch_sli_ratio" in full
    assert full <= {family.name for family in collector.describe()}
