"""*slawatch / SLO detail*: one SLO (one group or all): the catalogue's promise, attainment, budget and
time to exhaustion now; SLI against the objective, burn per window against each rule's factor, budget
left and its burn-down against constant consumption; the rules' state and the service's traffic."""

from __future__ import annotations

from grafana_foundation_sdk.builders import statetimeline, table
from grafana_foundation_sdk.models import dashboard as dm

from boards.common import (
    BUDGET_STEPS, DASHED, DS, FIRING_MAPPINGS, FIRING_STEPS, RATE, board, big_number, column, dashed_thresholds,
    graph, grid, info, legend, merge_columns, numbered, primary_period, primary_window, query, query_variable, steps,
)
from slawatch import conventions as cv

UID = "slawatch-slo-detail"
ONE = 'slo="$slo", group=~"$group"'
SLO = 'slo="$slo"'
THRESHOLD = f"{cv.METRIC_BURN_RATE_THRESHOLD}{{{SLO}}}"
RULE_BY = "rule, severity, long_window, short_window"
NOT_BURNING = [dm.RangeMap(options=dm.DashboardRangeMapOptions(
    from_val=3.2e9, result=dm.ValueMappingResult(text="not burning", color="green", index=0)))]


def per_rule(expr_by_slo_and: str, label: str) -> str:
    """A figure per burn-rate rule: `expr_by_slo_and` (by slo and `label`) put on each rule whose
    `label` matches (a rule's windows, or its name), keeping the rule's labels."""
    return f"max by ({RULE_BY}) ({THRESHOLD} * 0 + on(slo, {label}) group_left() {expr_by_slo_and})"


def burn_over(window_label: str) -> str:
    burn = f'label_replace({cv.METRIC_BURN_RATE}{{{ONE}}}, "{window_label}", "$1", "window", "(.*)")'
    return per_rule(f"max by (slo, {window_label}) ({burn})", window_label)


def rules_table() -> table.Panel:
    firing = per_rule(f"max by (slo, rule) ({cv.METRIC_ALERT_FIRING}{{{ONE}}})", "rule")
    targets = [query(f"max by ({RULE_BY}) ({THRESHOLD})", ref="A", instant=True, as_table=True),
               query(burn_over("long_window"), ref="B", instant=True, as_table=True),
               query(burn_over("short_window"), ref="C", instant=True, as_table=True),
               query(firing, ref="D", instant=True, as_table=True)]
    names = {"Value #A": "factor", "Value #B": "burn (long)", "Value #C": "burn (short)", "Value #D": "state",
             "long_window": "long window", "short_window": "short window"}
    order = ["rule", "severity", "long_window", "short_window", "Value #A", "Value #B", "Value #C", "Value #D"]
    return (grid("Burn-rate rules", "Each rule fires while the burn over both its windows reaches its factor "
                 "(worst group shown).", *targets, height=7, width=12)
            .transformations(merge_columns(names, order))
            .override_by_name("factor", column("none", decimals=2))
            .override_by_name("burn (long)", column("none", decimals=2))
            .override_by_name("burn (short)", column("none", decimals=2))
            .override_by_name("state", column("none", FIRING_STEPS, background=True)
                              + [dm.DynamicConfigValue(id_val="mappings", value=FIRING_MAPPINGS)]))


def promise_table() -> table.Panel:
    hidden = ("Time", "Value", "__name__", "instance", "job", "slo")
    return (grid("What the catalogue promises", "slawatch_slo_info: objective in percent, primary window, SLI "
                 "kind, owner and tier.", query(info(SLO), instant=True, as_table=True), height=4, width=24)
            .transformations(merge_columns({"objective": "objective %", "window": "primary window"},
                                           ["service", "objective", "window", "sli", "owner", "tier"], hidden)))


def now_row() -> list:
    attainment = f"min({primary_window(f'{cv.METRIC_SLI_RATIO}{{{ONE}}}', SLO)})"
    budget = f"min({primary_period(f'{cv.METRIC_BUDGET_REMAINING_RATIO}{{{ONE}}}', SLO)})"
    return [
        big_number("Objective", "The SLO's target.", "percentunit", query(f"max({cv.METRIC_OBJECTIVE_RATIO}{{{SLO}}})")),
        big_number("Attainment", "Good / total over the primary window (worst group).", "percentunit", query(attainment)),
        big_number("Budget left", "Error budget left over the primary window (worst group); below 0: spent.",
                   "percentunit", query(budget), BUDGET_STEPS),
        big_number("Time to exhaustion", "At the burn over the slowest page rule's long window (worst group).", "s",
                   query(f"min({cv.METRIC_TIME_TO_EXHAUSTION}{{{ONE}}})")).mappings(NOT_BURNING),
        big_number("Rules firing", "Alert rules firing now.", "none",
                   query(f"sum({cv.METRIC_ALERT_FIRING}{{{ONE}}}) or vector(0)"), FIRING_STEPS),
        big_number("Events/s", "Valid events of the SLO's service, all outcomes.", "reqps", query(f"sum({service_events()})")),
    ]


def service_events() -> str:
    """Events/s of the SLO's service, per series: slawatch_events_total joined on the SLO's service."""
    return f"rate({cv.METRIC_EVENTS}[{RATE}]) * on(service) group_left() max by (service) ({cv.METRIC_SLO_INFO}{{{SLO}}})"


def burn_down() -> object:
    elapsed = f"{cv.METRIC_PERIOD_ELAPSED_RATIO}{{{ONE}}}"
    left_of_period = f"max by (period, group) (1 - {elapsed} * (1 - {cv.METRIC_BUDGET_REMAINING_RATIO}{{{ONE}}}))"
    ideal = f"max by (period) (1 - {cv.METRIC_PERIOD_ELAPSED_RATIO}{{{SLO}}})"
    return (graph("Budget burn-down", "Budget left as a share of the whole period's budget (events assumed spread "
                  "evenly over the period), against the ideal: constant consumption that ends the period at 0. "
                  "Rolling windows are always a full period: their ideal is 0.", "percentunit",
                  query(left_of_period, "{{period}} {{group}}"), query(ideal, "ideal: {{period}}", ref="B"))
            .override_by_query("B", [DASHED]))


def build() -> dm.Dashboard:
    sli = f"max by (window, group) ({cv.METRIC_SLI_RATIO}{{{ONE}}})"
    burn = f"max by (window, group) ({cv.METRIC_BURN_RATE}{{{ONE}}})"
    budget = f"max by (period, group) ({cv.METRIC_BUDGET_REMAINING_RATIO}{{{ONE}}})"
    firing = f"max by (rule, severity, group) ({cv.METRIC_ALERT_FIRING}{{{ONE}}})"
    board_ = (board(UID, "slawatch / SLO detail", "One SLO: its promise, budget, burn and alerts.")
              .with_variable(query_variable("service", f"label_values({cv.METRIC_SLO_INFO}, service)", "Service"))
              .with_variable(query_variable("slo", f'label_values({cv.METRIC_SLO_INFO}{{service=~"$service"}}, slo)',
                                            "SLO", multi=False))
              .with_variable(query_variable("group", f'label_values({cv.METRIC_BUDGET_REMAINING_RATIO}{{{SLO}}}, group)',
                                            "Group")))
    for panel in [promise_table(), *now_row()]:
        board_ = board_.with_panel(panel)
    board_ = (board_
              .with_panel(graph("SLI against the objective", "Good / total over each alert and compliance window; "
                                "dashed: the objective.", "percentunit", query(sli, "{{window}} {{group}}"),
                                query(f"max({cv.METRIC_OBJECTIVE_RATIO}{{{SLO}}})", "objective", ref="B"))
                          .override_by_query("B", [DASHED]))
              .with_panel(graph("Burn rate per window", "(1 - SLI) / (1 - objective) over each alert window; dashed: "
                                "each rule's factor, which the burn over both its windows must reach.", "none",
                                query(burn, "{{window}} {{group}}"),
                                query(f"max by ({RULE_BY}) ({THRESHOLD})", "{{rule}} ({{severity}}) {{long_window}} & "
                                      "{{short_window}}", ref="B"))
                          .override_by_query("B", [DASHED]))
              .with_panel(graph("Budget left per period", "Error budget left in each compliance period (1: untouched, "
                                "0: spent).", "percentunit", query(budget, "{{period}} {{group}}"))
                          .thresholds(steps(*BUDGET_STEPS)).thresholds_style(dashed_thresholds()))
              .with_panel(burn_down())
              .with_panel(statetimeline.Panel().title("Alert rules over time").datasource(DS).height(7).span(12)
                          .description("Each rule of the SLO per group: FIRING while it fires (inhibited included).")
                          .legend(legend()).mappings(FIRING_MAPPINGS).thresholds(steps(*FIRING_STEPS))
                          .with_target(query(firing, "{{rule}} ({{severity}}) {{group}}")))
              .with_panel(rules_table())
              .with_panel(graph("Events of the service by outcome", "Valid events/s of the SLO's service (every SLO "
                                "of the service counts from these, by its own filters).", "reqps",
                                query(f"sum by (outcome) ({service_events()})", "{{outcome}}"), width=24)))
    return numbered(board_.build())
