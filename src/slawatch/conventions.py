"""Every topic, metric and label name slawatch uses, in one place (Sloth's conventions file).

Other modules import names from here; nothing else spells a topic or metric name, so a rename is
one edit and the README's tables can be checked against this file.
"""

from __future__ import annotations

# Topics (their full specs, schemas and examples live in topics/*.yaml).
TOPIC_EVENTS = "sla.events"
TOPIC_DEADLETTER = "sla.deadletter"
TOPIC_WARNINGS = "sla.warnings"
TOPIC_BREACHES = "sla.breaches"
TOPIC_STATUS = "sla.status"
TOPIC_RECORDS = "sla.records"
TOPIC_CATALOG = "sla.catalog"
ALL_TOPICS = (
    TOPIC_EVENTS,
    TOPIC_DEADLETTER,
    TOPIC_WARNINGS,
    TOPIC_BREACHES,
    TOPIC_STATUS,
    TOPIC_RECORDS,
    TOPIC_CATALOG,
)

# Faust application id: the consumer group and the prefix of table changelog topics.
APP_ID = "slawatch"

# Metric names (namespace_subsystem_name_unit).
METRIC_EVENTS = "slawatch_events_total"
METRIC_EVENTS_INVALID = "slawatch_events_invalid_total"
METRIC_RECORDS = "slawatch_records_total"
METRIC_EVENTS_REROUTED = "slawatch_events_rerouted_total"
METRIC_EVENTS_DUPLICATE = "slawatch_events_duplicate_total"
METRIC_EVENTS_UNKNOWN_FIELDS = "slawatch_events_unknown_fields_total"  # {field}
METRIC_BATCH_RECORDS = "slawatch_batch_records"
METRIC_EVENT_LAG = "slawatch_event_lag_seconds"
METRIC_RECORDS_REDELIVERED = "slawatch_records_redelivered_total"  # below the partition's progress
METRIC_OFFSET_GAPS = "slawatch_offset_gaps_total"  # {kind}: GAP_LOST (worker stops) or GAP_ABSENT (skipped)
METRIC_OFFSET_RESETS = "slawatch_offset_resets_total"  # the topic is not the log the progress was made on

# Label values.
GAP_LOST = "lost"  # the missing offsets are in the log: lost in this process, the worker stops
GAP_ABSENT = "absent"  # the log does not hold them (retention, transaction markers): accepted
UNKNOWN_SERVICE = "_unknown"  # every service not in the catalogue shares this one series
OUTCOME_OK = "ok"
OUTCOME_ERROR = "error"
OTHER_FIELD = "_other"  # unknown event fields past the first few distinct names share this one series

# Dead-letter record headers (the value is a JSON envelope; headers allow filtering without parsing).
HEADER_REASON = "slawatch_reason"
HEADER_SOURCE = "slawatch_source"
# On a re-homed record: "<partition>:<offset>" of the record it came from, so that a record re-homed
# twice (its origin redelivered after a crash) is recognised by the origin's offset and counted once.
HEADER_ORIGIN = "slawatch_origin"

# SLO gauges, exported by a scrape-time collector over the engine's live state (Engine.gauges).
METRIC_SLI_RATIO = "slawatch_sli_ratio"  # {slo, window}
METRIC_BURN_RATE = "slawatch_burn_rate"  # {slo, window}
METRIC_OBJECTIVE_RATIO = "slawatch_objective_ratio"  # {slo}
METRIC_BUDGET_REMAINING_RATIO = "slawatch_error_budget_remaining_ratio"  # {slo, period}
METRIC_TIME_TO_EXHAUSTION = "slawatch_time_to_exhaustion_seconds"  # {slo}
METRIC_ALERT_FIRING = "slawatch_alert_firing"  # {slo, rule, severity}
# Share of each compliance period gone at the SLO's watermark (calendar: elapsed / length;
# rolling: 1, always a full window), for budget burn-down charts against constant consumption.
METRIC_PERIOD_ELAPSED_RATIO = "slawatch_period_elapsed_ratio"  # {slo, period}
LABEL_GROUP = "group"  # added to the SLO gauges of grouped SLOs: "<dimension>=<value>"
# Checkpoints restored only in part or not at all after a catalogue edit, by the same collector;
# reason: one of slawatch.engine.checkpoint.REASONS (windows_rebucketed, sli_changed, unreadable, ...).
METRIC_STATE_RESETS = "slawatch_state_resets_total"  # {slo, reason}
LABEL_REASON = "reason"

# Operator metrics: what the build is, how far the worker is behind its input, what each SLO promises.
METRIC_BUILD_INFO = "slawatch_build_info"  # {version} = 1
# Per assigned sla.events partition: high watermark of the last fetch minus the consumer's position.
METRIC_CONSUMER_LAG = "slawatch_consumer_lag_records"  # {partition}
# One series per SLO, exported by the worker that owns it, so dashboards show targets and windows.
METRIC_SLO_INFO = "slawatch_slo_info"  # {slo, service, objective, window, sli, owner, tier} = 1
SLO_INFO_LABELS = ("slo", "service", "objective", "window", "sli", "owner", "tier")
# Per burn-rate rule of an owned SLO, its factor: burn over both windows >= this fires the rule.
METRIC_BURN_RATE_THRESHOLD = "slawatch_burn_rate_threshold"  # {slo, rule, severity, long_window, short_window}

# Alert records (topics/sla.warnings.yaml): payload version and CloudEvents attributes.
ALERT_SCHEMA_VERSION = 1
CE_SPECVERSION = "1.0"
CE_TYPE_PREFIX = "dev.slawatch.alert"  # ce_type = <prefix>.<alert type>.<status>

# Alertmanager (`slawatch notify alertmanager`): the notifier's consumer group and, per alert type,
# its `alertname` label (CamelCase with a common prefix, as monitoring mixins name alerts).
NOTIFY_ALERTMANAGER_GROUP = "slawatch-notify-alertmanager"
ALERTNAMES = {
    "burn_rate": "SLOBurnRate",
    "budget_consumed": "SLOBudgetConsumed",
    "exhaustion_forecast": "SLOExhaustionForecast",
    "slo_breach": "SLOBreach",
    "sla_breach": "SLABreach",
    "sla_at_risk": "SLAAtRisk",
    "no_data": "SLONoData",
}
ALERTNAME_OTHER = "SLOAlert"  # a type this notifier does not know yet (a newer worker)
# Labels every alert carries (engine.payloads.alert_record; alertname and group from the notifier):
# an SLO label of the same name would overwrite one, so `catalog import-sloth` keeps such labels out.
ALERT_LABELS = ("slo", "service", "severity", "rule", "type", "alertname", "group")

GAUGE_HELP = {
    METRIC_SLI_RATIO: "Good / total events (or slices) over an alert window, at the SLO's watermark",
    METRIC_BURN_RATE: "Error-budget burn rate over an alert window: (1 - SLI) / (1 - objective)",
    METRIC_OBJECTIVE_RATIO: "The SLO's objective as a ratio, e.g. 0.999",
    METRIC_BUDGET_REMAINING_RATIO: "Error budget left in a compliance period (1 = untouched, <= 0 = exhausted)",
    METRIC_TIME_TO_EXHAUSTION: "Seconds until the primary window's budget runs out at the current burn (+Inf: not burning)",
    METRIC_ALERT_FIRING: "1 while an alert rule fires for the SLO (inhibited alerts included)",
    METRIC_PERIOD_ELAPSED_RATIO: "Share of the compliance period gone at the SLO's watermark (rolling windows: 1)",
}
