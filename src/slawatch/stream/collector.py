"""A scrape-time Prometheus collector over the engine's live state (client_python's Collector).

SLIs, burn rates and budgets are derived state: computing them at scrape time, from the same engine
the agents update, means no gauge is ever stale and nothing is computed that nobody reads. The
engine's tally of checkpoints restored only in part (`Engine.state_resets`, after a catalogue edit)
is exported here too, as the counter slawatch_state_resets_total{slo, reason}.
"""

from __future__ import annotations

from collections import defaultdict

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from slawatch import __version__
from slawatch.conventions import (
    GAUGE_HELP,
    LABEL_REASON,
    METRIC_BUILD_INFO,
    METRIC_BURN_RATE_THRESHOLD,
    METRIC_SLO_INFO,
    METRIC_STATE_RESETS,
    SLO_INFO_LABELS,
)
from slawatch.engine.info import slo_info_samples

STATE_RESETS_HELP = "SLO checkpoints restored only in part or not at all (catalogue edit, unreadable bytes), by reason"
BUILD_INFO_HELP = "Always 1; the labels say which slawatch build this worker runs"
SLO_INFO_HELP = ("Always 1 per SLO this worker owns; the labels carry what the catalogue promises "
                 "(objective in percent, primary window, SLI kind, owner, tier)")
THRESHOLD_HELP = "Factor of a burn-rate rule of an SLO this worker owns: an error ratio above factor x (1 - objective) over both its windows fires"
THRESHOLD_LABELS = ("slo", "rule", "severity", "long_window", "short_window")


class EngineCollector(Collector):
    """The gauges of every SLO the engine holds state for."""

    def __init__(self, engine) -> None:
        self.engine = engine

    def describe(self):
        """The families `collect` yields, named without computing them, so a scrape that asks for
        other series by name (`/metrics?name[]=...`) skips the per-SLO work."""
        for name, text in GAUGE_HELP.items():
            yield GaugeMetricFamily(name, text)
        yield CounterMetricFamily(METRIC_STATE_RESETS, STATE_RESETS_HELP)

    def collect(self):
        families: dict[str, GaugeMetricFamily] = {}
        samples: dict[str, list] = defaultdict(list)
        for name, labels, value in self.engine.gauges():
            samples[name].append((labels, value))
        for name, rows in samples.items():
            label_names = sorted({k for labels, _ in rows for k in labels})
            family = families.setdefault(name, GaugeMetricFamily(name, GAUGE_HELP.get(name, name), labels=label_names))
            for labels, value in rows:
                family.add_metric([labels.get(k, "") for k in label_names], value)
        yield from families.values()
        yield self.state_resets()

    def state_resets(self) -> CounterMetricFamily:
        family = CounterMetricFamily(METRIC_STATE_RESETS, STATE_RESETS_HELP, labels=["slo", LABEL_REASON])
        for (slo, reason), count in sorted(self.engine.state_resets.items()):
            family.add_metric([slo, reason], count)
        return family


class CatalogInfoCollector(Collector):
    """slawatch_build_info{version}, and slawatch_slo_info and slawatch_burn_rate_threshold for the
    SLOs `owned()` names.

    Only the owner exports an SLO's info series, like its gauges, so a fleet shows one per SLO and
    `* on(slo) group_left(...)` joins in dashboards never meet duplicates."""

    def __init__(self, catalog, owned, version: str = __version__) -> None:
        self.catalog = catalog
        self.owned = owned  # callable returning the SLO names this worker owns
        self.version = version

    def collect(self):
        build = GaugeMetricFamily(METRIC_BUILD_INFO, BUILD_INFO_HELP, labels=["version"])
        build.add_metric([self.version], 1.0)
        yield build
        label_names = {METRIC_SLO_INFO: SLO_INFO_LABELS, METRIC_BURN_RATE_THRESHOLD: THRESHOLD_LABELS}
        helps = {METRIC_SLO_INFO: SLO_INFO_HELP, METRIC_BURN_RATE_THRESHOLD: THRESHOLD_HELP}
        families = {name: GaugeMetricFamily(name, helps[name], labels=list(names)) for name, names in label_names.items()}
        for name, labels, value in slo_info_samples(self.catalog, self.owned()):
            families[name].add_metric([labels[k] for k in label_names[name]], value)
        yield from families.values()


def register_operator_collectors(registry, app, catalog, owned) -> None:
    """What on-call engineers expect on any worker's /metrics besides slawatch's own figures:
    process_* (CPU, RSS, file descriptors), python_info and python_gc_*, the build, consumer lag
    per partition and one info series per owned SLO."""
    from prometheus_client import GCCollector, PlatformCollector, ProcessCollector

    from slawatch.stream.lag import ConsumerLagCollector

    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    registry.register(ConsumerLagCollector.of_app(app))
    registry.register(CatalogInfoCollector(catalog, owned))
