"""A scrape-time Prometheus collector over the engine's live state (client_python's Collector).

SLIs, burn rates and budgets are derived state: computing them at scrape time, from the same engine
the agents update, means no gauge is ever stale and nothing is computed that nobody reads. The
engine's tally of checkpoints restored only in part (`Engine.state_resets`, after a catalogue edit)
is exported here too, as the counter slawatch_state_resets_total{slo, reason}.
"""

from __future__ import annotations

import time
from collections import defaultdict

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from slawatch.conventions import GAUGE_HELP, LABEL_REASON, METRIC_STATE_RESETS

STATE_RESETS_HELP = "SLO checkpoints restored only in part or not at all (catalogue edit, unreadable bytes), by reason"


class EngineCollector(Collector):
    def __init__(self, engine, slos=None, clock=time.time) -> None:
        self.engine = engine
        self.slos = slos  # callable returning the SLO names this worker owns, or None for all
        self.clock = clock

    def collect(self):
        families: dict[str, GaugeMetricFamily] = {}
        samples: dict[str, list] = defaultdict(list)
        for name, labels, value in self.engine.gauges(self.clock()):
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
