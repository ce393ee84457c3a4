"""One SLO of the native form (`slawatch/v1`), read into `core.model.Slo`.

In the native form every ratio is written in percent (objective 99.9, budget_percent 2,
budget_thresholds 50/75/90, timeslice_target 95): one rule, so 0.999 is never mistaken for 99.9 %.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from slawatch.catalog.common import (
    SEVERITIES, make_rule, period_seconds, read_exclusion, rule_window_problem, shared_default_rules,
)
from slawatch.catalog.fields import Fields, item_line, type_name
from slawatch.catalog.problems import Report
from slawatch.core.durations import parse_duration
from slawatch.core.model import (
    DEFAULT_RESOLVE_HOLD_S, AlertPolicy, Budgeting, BudgetingMethod, CalendarUnit, CalendarWindow, ComplianceWindow,
    ErrorHandling, EventMatch, GroupBy, GroupDimension, RollingWindow, Sli, SliKind, Slo,
)

SLO_KEYS = ("name", "description", "objective", "sli", "windows", "budgeting", "match", "group_by",
            "exclusions", "alerting", "contractual", "labels")
SLI_KINDS = ("availability", "latency", "latency_percentile")
OBJECTIVE_HINT = "a percent, e.g. 99.9"
WINDOW_HINT = "a rolling duration like 28d, or {calendar: month, time_zone: Europe/Berlin}"
CALENDAR_UNITS = {u.value: u for u in CalendarUnit}
METHODS = {"occurrences": BudgetingMethod.OCCURRENCES, "timeslices": BudgetingMethod.TIMESLICES,
           "ratio_timeslices": BudgetingMethod.RATIO_TIMESLICES}
ERRORS = {e.value: e for e in ErrorHandling}
DIMENSIONS = {d.value: d for d in GroupDimension}


def percent_to_ratio(value: float) -> float:
    """99.9 -> 0.999 exactly as written (no 0.9990000000000001)."""
    return float(Decimal(str(value)) / 100)


def read_slo(report: Report, file: str, path: str, value: Any, line: int, service: str) -> Slo | None:
    """The Slo at `path`, or None after recording every problem in it."""
    f = Fields.of(report, file, path, value, line, SLO_KEYS)
    if f is None:
        return None
    before = report.error_count
    name = f.text("name", required=True, hint="e.g. checkout-availability")
    objective = f.number("objective", 0, 100, OBJECTIVE_HINT, required=True, what="a number")
    if objective is not None and objective < 1:
        f.error("objective", f"is a percent: {objective:g} would mean {objective:g} %",
                f"write {objective * 100:g} for {objective * 100:g} %")
    sli, implied_budgeting = read_sli(f)
    windows = read_windows(f)
    budgeting = read_budgeting(f, implied_budgeting)
    match = read_match(f, service)
    group_by = read_group_by(f)
    exclusions = tuple(read_exclusion(report, file, p, v, ln) for v, p, ln in f.items("exclusions"))
    contractual = f.boolean("contractual")
    if contractual and windows and not any(isinstance(w, CalendarWindow) for w in windows):
        f.error("contractual", "a contractual SLA needs a calendar window as its contract period",
                "add e.g. {calendar: month, time_zone: Europe/Berlin} to windows")
    alerting = read_alerting(f, period_seconds(windows[0])) if windows else None
    labels = f.string_pairs("labels")
    description = f.text("description", default="")
    if report.error_count != before:
        return None
    return Slo(name=name, match=match, sli=sli, objective=percent_to_ratio(objective), windows=windows,
               alerting=alerting, budgeting=budgeting, group_by=group_by, exclusions=exclusions,
               contractual=contractual, description=description, labels=labels)


def read_sli(f: Fields) -> tuple[Sli | None, Budgeting | None]:
    hint = "one of {availability: {}}, {latency: {threshold_ms: 300}}, " \
           "{latency_percentile: {percentile: 99, threshold_ms: 500, timeslice: 1m}}"
    sli = f.mapping("sli", SLI_KINDS, required=True, hint=hint)
    if sli is None:
        return None, None
    kinds = [k for k in sli.data if k in SLI_KINDS]
    if len(kinds) != 1:
        if kinds or not sli.data:  # an unknown key alone was reported already, with a suggestion
            f.error("sli", f"must name exactly one SLI kind, got {len(kinds)}", hint)
        return None, None
    kind = kinds[0]
    body = sli.data[kind] if sli.data[kind] is not None else {}
    if kind == "availability":
        Fields.of(f.report, f.file, sli.path_of(kind), body, sli.line_of(kind), ())
        return Sli(SliKind.AVAILABILITY), None
    if kind == "latency":
        lat = Fields.of(f.report, f.file, sli.path_of(kind), body, sli.line_of(kind), ("threshold_ms", "errors"))
        if lat is None:
            return None, None
        threshold = lat.number("threshold_ms", 0, float("inf"), "milliseconds, e.g. 300", required=True)
        errors = lat.choice("errors", ERRORS, default=ErrorHandling.COUNT)
        return Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=threshold, errors=errors), None
    pct = Fields.of(f.report, f.file, sli.path_of(kind), body, sli.line_of(kind),
                    ("percentile", "threshold_ms", "timeslice"))
    if pct is None:
        return None, None
    percentile = pct.number("percentile", 0, 100, "e.g. 99 for p99", required=True)
    threshold = pct.number("threshold_ms", 0, float("inf"), "milliseconds, e.g. 500", required=True)
    timeslice = pct.duration("timeslice", required=True, hint="e.g. 1m")
    if percentile is None or timeslice is None:
        return None, None
    # A slice is good when pNN <= X, i.e. when at least NN % of its events are <= X: the model's
    # Timeslices method with the slice target NN/100 says exactly that.
    budgeting = Budgeting(BudgetingMethod.TIMESLICES, timeslice, percent_to_ratio(percentile))
    return Sli(SliKind.LATENCY_PERCENTILE, threshold_ms=threshold, percentile=percentile), budgeting


def read_windows(f: Fields) -> tuple[ComplianceWindow, ...]:
    items = f.items("windows", required=True, hint=WINDOW_HINT)
    if not items and f.has("windows"):
        f.error("windows", "must list at least one compliance window", WINDOW_HINT)
    windows: list[ComplianceWindow] = []
    for value, path, line in items:
        window = read_window(f.report, f.file, path, value, line)
        if window is not None and window in windows:
            f.report.error(f.file, line, path, "duplicate window", "list each compliance period once")
        elif window is not None:
            windows.append(window)
    return tuple(windows) if len(windows) == len(items) else ()


def read_window(report: Report, file: str, path: str, value: Any, line: int) -> ComplianceWindow | None:
    if isinstance(value, str):
        try:
            return RollingWindow(parse_duration(value))
        except ValueError as exc:
            report.error(file, line, path, str(exc), WINDOW_HINT)
            return None
    if not isinstance(value, dict):
        report.error(file, line, path, f"must be a duration or a calendar mapping, got {type_name(value)}", WINDOW_HINT)
        return None
    cal = Fields(report, file, path, value, ("calendar", "count", "time_zone"))
    before = report.error_count
    unit = cal.choice("calendar", CALENDAR_UNITS, required=True)
    count = cal.integer("count", 1, "e.g. 1") or 1
    zone = cal.time_zone("time_zone")
    return CalendarWindow(unit, count, zone) if report.error_count == before else None


def read_budgeting(f: Fields, implied: Budgeting | None) -> Budgeting | None:
    if implied is not None:
        if f.has("budgeting"):
            f.error("budgeting", "a latency_percentile SLI is budgeted by its timeslice already",
                    "remove budgeting; set sli.latency_percentile.timeslice")
        return implied
    b = f.mapping("budgeting", ("method", "timeslice", "timeslice_target"))
    if b is None:
        return Budgeting()
    method = b.choice("method", METHODS, required=True)
    slice_s = b.duration("timeslice", hint="e.g. 1m")
    target = b.number("timeslice_target", 0, 100.000001, "a percent, e.g. 95")
    if method in (BudgetingMethod.TIMESLICES, BudgetingMethod.RATIO_TIMESLICES) and not b.has("timeslice"):
        b.error("timeslice", f"is required with method {b.data['method']}", "e.g. 1m")
    if method == BudgetingMethod.TIMESLICES and not b.has("timeslice_target"):
        b.error("timeslice_target", "is required with method timeslices", "a percent, e.g. 95")
    for key in ("timeslice", "timeslice_target"):
        if b.has(key) and (method == BudgetingMethod.OCCURRENCES or
                           (key == "timeslice_target" and method == BudgetingMethod.RATIO_TIMESLICES)):
            b.error(key, f"does not apply to method {b.data['method']}", "remove it")
    if method is None:
        return None
    return Budgeting(method, slice_s, percent_to_ratio(target) if target is not None else None)


def read_match(f: Fields, service: str) -> EventMatch:
    m = f.mapping("match", ("operation", "region", "attributes"))
    if m is None:
        return EventMatch(service)
    return EventMatch(service, m.text("operation", default=None), m.text("region", default=None),
                      m.string_pairs("attributes"))


def read_group_by(f: Fields) -> GroupBy | None:
    g = f.mapping("group_by", ("dimension", "max_groups"))
    if g is None:
        return None
    dimension = g.choice("dimension", DIMENSIONS, required=True)
    cap = g.integer("max_groups", 1, "a cap on distinct values, e.g. 500", required=True)
    return GroupBy(dimension, cap) if dimension is not None and cap is not None else None


def read_alerting(f: Fields, period_s: int) -> AlertPolicy | None:
    a = f.mapping("alerting", ("windows", "budget_thresholds", "min_events", "no_data_after", "forecast",
                               "resolve_hold"))
    if a is None:
        return AlertPolicy(shared_default_rules(period_s))
    before = f.report.error_count
    rules = tuple(read_rule(a, v, p, ln, period_s) for v, p, ln in a.items("windows"))
    if a.has("windows") and not rules:
        a.error("windows", "must list at least one alert window", "or leave it out for the SRE-workbook default")
    names = [r.name for r in rules if r is not None]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        a.error("windows", f"alert window name {dup!r} is used twice", "give each window its own name")
    thresholds = []
    for value, path, line in a.items("budget_thresholds"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
            f.report.error(f.file, line, path, f"must be a percent in (0, 100], got {type_name(value)}", "e.g. 75")
        else:
            thresholds.append(percent_to_ratio(value))
    if thresholds != sorted(set(thresholds)):
        a.error("budget_thresholds", "must be increasing, without repeats", "e.g. [50, 75, 90]")
    min_events = a.integer("min_events", 0, "events per alert window, e.g. 100")
    no_data = a.duration("no_data_after", hint="e.g. 10m")
    forecast = a.boolean("forecast", default=True)
    hold = a.duration("resolve_hold", hint="a duration >= 0, e.g. 0s, 1m or 5m", allow_zero=True)
    if f.report.error_count != before:
        return None
    return AlertPolicy(rules or shared_default_rules(period_s),
                       tuple(thresholds) if a.has("budget_thresholds") else (0.5, 0.75, 0.9),
                       min_events or 0, no_data, forecast,
                       DEFAULT_RESOLVE_HOLD_S if hold is None else hold)


def read_rule(a: Fields, value: Any, path: str, line: int, period_s: int):
    r = Fields.of(a.report, a.file, path, value, line, ("name", "severity", "long", "short", "budget_percent"))
    if r is None:
        return None
    before = a.report.error_count
    name = r.text("name", required=True, hint="e.g. page-fast")
    severity = r.choice("severity", SEVERITIES, required=True)
    long_s = r.duration("long", required=True, hint="e.g. 1h")
    short_s = r.duration("short", required=True, hint="e.g. 5m")
    percent = r.number("budget_percent", 0, 100.000001, "percent of the period's budget, e.g. 2", required=True)
    if long_s and short_s and (problem := rule_window_problem(long_s, short_s, period_s)):
        a.report.error(a.file, item_line(value, line), path, problem, "short < long <= primary window")
    if a.report.error_count != before:
        return None
    return make_rule(name, severity, long_s, short_s, percent, period_s)
