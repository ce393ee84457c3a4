"""*slawatch / worker*: what the workers do and what they cost: events/s by outcome and service,
dead letters by reason, consumer lag per partition, event-time lag, batch sizes, redeliveries,
CPU and RSS per worker. Variables: job, instance."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from boards.common import RATE, board, big_number, graph, numbered, query, query_variable, steps
from slawatch import conventions as cv

UID = "slawatch-worker"
SEL = 'job=~"$job", instance=~"$instance"'


def rate(metric: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{SEL}}}[{RATE}]))"


def quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket{{{SEL}}}[{RATE}])))"


def stacked(panel: timeseries.Panel) -> timeseries.Panel:
    return panel.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL)).fill_opacity(40)


def build() -> dm.Dashboard:
    mean_batch = (f"sum(rate({cv.METRIC_BATCH_RECORDS}_sum{{{SEL}}}[{RATE}])) / "
                  f"sum(rate({cv.METRIC_BATCH_RECORDS}_count{{{SEL}}}[{RATE}]))")
    board_ = (board(UID, "slawatch / worker", "What slawatch's workers consume, refuse and cost.")
              .with_variable(query_variable("job", f"label_values({cv.METRIC_BUILD_INFO}, job)", "Job"))
              .with_variable(query_variable("instance", f'label_values({cv.METRIC_BUILD_INFO}{{job=~"$job"}}, instance)',
                                            "Worker"))
              .with_panel(big_number("Workers up", "Workers answering Prometheus's scrapes.", "none",
                                     query('sum(up{job=~"$job"})'), ((None, "red"), (1, "green")), width=6))
              .with_panel(big_number("Version", "slawatch builds running (the number of workers on each).", "none",
                                     query(f'count by (version) ({cv.METRIC_BUILD_INFO}{{{SEL}}})', "{{version}}"),
                                     width=6))
              .with_panel(big_number("Consumer lag", "Records of sla.events not yet fetched, all partitions.", "none",
                                     query(f"sum({cv.METRIC_CONSUMER_LAG}{{{SEL}}})"),
                                     ((None, "green"), (1000, "orange")), width=6))
              .with_panel(big_number("Dead-letter share (5m)", "Refused elements / all input elements, from the "
                                     "recording rule of deploy/prometheus/rules.yaml.", "percentunit",
                                     query('max(job:slawatch_deadletter:ratio_rate5m{job=~"$job"})'),
                                     ((None, "green"), (0.05, "red")), width=6))
              .with_panel(stacked(graph("Events/s by outcome", "Valid events counted.", "reqps",
                                        query(rate(cv.METRIC_EVENTS, "outcome"), "{{outcome}}"))))
              .with_panel(stacked(graph("Events/s by service", "Services not in the catalogue share _unknown.", "reqps",
                                        query(rate(cv.METRIC_EVENTS, "service"), "{{service}}"))))
              .with_panel(graph("Dead letters/s by reason", "Records or batch elements sent to sla.deadletter.", "reqps",
                                query(rate(cv.METRIC_EVENTS_INVALID, "reason"), "{{reason}}")))
              .with_panel(graph("Records/s per worker", "Kafka records consumed from sla.events (one may hold many "
                                "events).", "reqps", query(rate(cv.METRIC_RECORDS, "instance"), "{{instance}}")))
              .with_panel(graph("Consumer lag per partition", "High watermark of the last fetch minus the position, "
                                "per assigned partition of sla.events.", "none",
                                query(f"max by (instance, partition) ({cv.METRIC_CONSUMER_LAG}{{{SEL}}})",
                                      "{{instance}} partition {{partition}}")))
              .with_panel(graph("Event-time lag", "Wall clock minus event time of each record's last event: "
                                "how late slawatch sees what happened.", "s",
                                query(quantile(0.5, cv.METRIC_EVENT_LAG), "p50"),
                                query(quantile(0.99, cv.METRIC_EVENT_LAG), "p99", ref="B"))
                          .thresholds(steps((None, "green"), (60, "red"))))
              .with_panel(graph("Records per batch", "Batch sizes the detect agent processes; bigger batches cost "
                                "less per record.", "none",
                                query(quantile(0.5, cv.METRIC_BATCH_RECORDS), "p50"),
                                query(quantile(0.99, cv.METRIC_BATCH_RECORDS), "p99", ref="B"),
                                query(mean_batch, "mean", ref="C")))
              .with_panel(graph("Redelivered, duplicate and re-homed", "After a crash or rebalance records below the "
                                "progress are dropped and covered events skipped; unkeyed events are re-homed.", "reqps",
                                query(rate(cv.METRIC_RECORDS_REDELIVERED, "instance"), "{{instance}} records redelivered"),
                                query(rate(cv.METRIC_EVENTS_DUPLICATE, "instance"), "{{instance}} duplicate events", ref="B"),
                                query(rate(cv.METRIC_EVENTS_REROUTED, "instance"), "{{instance}} events re-homed", ref="C")))
              .with_panel(graph("CPU per worker", "CPU seconds per second (1 = one core busy).", "percentunit",
                                query(f"rate(process_cpu_seconds_total{{{SEL}}}[{RATE}])", "{{instance}}")))
              .with_panel(graph("Memory (RSS) per worker", "Resident set size.", "bytes",
                                query(f"process_resident_memory_bytes{{{SEL}}}", "{{instance}}"))))
    return numbered(board_.build())
