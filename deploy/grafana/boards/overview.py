"""*slawatch / SLO overview*: every SLO (and group) in one table sorted by budget left, how fast
each burns over time, and a state timeline of the burn-rate rules. Variables: service, slo."""

from __future__ import annotations

from grafana_foundation_sdk.builders import statetimeline, table
from grafana_foundation_sdk.models import dashboard as dm

from boards.common import (
    BUDGET_STEPS, BURN_STEPS, DS, FIRING_MAPPINGS, FIRING_STEPS, board, big_number, column, dashed_thresholds,
    for_listed_slos, graph, grid, info, legend, merge_columns, numbered, primary_period, primary_window, query,
    query_variable, steps,
)
from slawatch import conventions as cv

UID = "slawatch-slo-overview"
# Per (slo, group): the figures of the table, each joined with the catalogue's labels so the
# merged rows carry service, objective and window.
BUDGET = f"max by (slo, group) ({primary_period(cv.METRIC_BUDGET_REMAINING_RATIO)})"
ATTAINMENT = f"max by (slo, group) ({primary_window(cv.METRIC_SLI_RATIO)})"
FASTEST_BURN = f"max by (slo, group) ({for_listed_slos(cv.METRIC_BURN_RATE)})"
FIRING = f"sum by (slo, group) ({for_listed_slos(cv.METRIC_ALERT_FIRING)})"


def with_catalogue_labels(expr: str) -> str:
    return f"{expr} * on(slo) group_left(service, objective, window, owner) {info()}"


def slo_table() -> table.Panel:
    columns = {"Value #A": "budget left", "Value #B": "attainment", "Value #C": "fastest burn",
               "Value #D": "alerts firing", "objective": "objective %", "window": "window"}
    order = ["slo", "group", "service", "owner", "objective", "window", "Value #B", "Value #A", "Value #C", "Value #D"]
    targets = [query(with_catalogue_labels(expr), ref=ref, instant=True, as_table=True)
               for ref, expr in zip("ABCD", (BUDGET, ATTAINMENT, FASTEST_BURN, FIRING))]
    return (grid("SLOs by budget left", "Each SLO (and group of a grouped SLO): objective and primary window from "
                 "the catalogue, attainment and budget left over the primary window, the fastest burn over any "
                 "alert window, and how many alert rules fire. Lowest budget first.", *targets, height=10)
            .transformations(merge_columns(columns, order, sort_by="budget left"))
            .override_by_name("budget left", column("percentunit", BUDGET_STEPS, background=True, decimals=1))
            .override_by_name("attainment", column("percentunit", decimals=3))
            .override_by_name("fastest burn", column("none", BURN_STEPS, decimals=1))
            .override_by_name("alerts firing", column("none", FIRING_STEPS, background=True)))


def firing_timeline() -> statetimeline.Panel:
    expr = f"max by (slo, rule, severity) ({for_listed_slos(cv.METRIC_ALERT_FIRING)})"
    return (statetimeline.Panel().title("Burn-rate rules over time").datasource(DS).height(10).span(24)
            .description("Each burn-rate rule of each SLO: FIRING while it fires for any group (inhibited included).")
            .legend(legend()).mappings(FIRING_MAPPINGS)
            .thresholds(steps(*FIRING_STEPS))
            .with_target(query(expr, "{{slo}} {{rule}} ({{severity}})")))


def build() -> dm.Dashboard:
    over_budget = f"count({BUDGET} < 0) or vector(0)"
    firing_total = f"sum({for_listed_slos(cv.METRIC_ALERT_FIRING)}) or vector(0)"
    board_ = (board(UID, "slawatch / SLO overview", "Every SLO slawatch evaluates: targets, budgets, burn and alerts.")
              .with_variable(query_variable("service", f"label_values({cv.METRIC_SLO_INFO}, service)", "Service"))
              .with_variable(query_variable("slo", f'label_values({cv.METRIC_SLO_INFO}{{service=~"$service"}}, slo)', "SLO"))
              .with_panel(big_number("SLOs", "SLOs in the catalogue (as exported by their owning workers).", "none",
                                     query(f"count({info()})"), width=6))
              .with_panel(big_number("Services", "Services with at least one SLO.", "none",
                                     query(f"count(count by (service) ({info()}))"), width=6))
              .with_panel(big_number("Over budget", "SLOs (or groups) whose primary window's budget is spent.", "none",
                                     query(over_budget), ((None, "green"), (1, "red")), width=6))
              .with_panel(big_number("Alert rules firing", "Burn-rate and other rules firing now, over all SLOs.",
                                     "none", query(firing_total), FIRING_STEPS, width=6))
              .with_panel(slo_table())
              .with_panel(graph("Fastest burn per SLO", "The highest burn rate over any alert window: 1 spends the "
                                "budget exactly over the SLO window; the workbook pages at 14.4 and 6.", "none",
                                query(FASTEST_BURN, "{{slo}} {{group}}"), width=24)
                          .thresholds(steps(*BURN_STEPS)).thresholds_style(dashed_thresholds()))
              .with_panel(firing_timeline()))
    return numbered(board_.build())
