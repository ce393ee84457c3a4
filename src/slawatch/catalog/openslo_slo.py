"""One OpenSLO `SLO` object mapped onto one model `Slo` per objective.

The structure maps as written: timeWindow -> windows, budgetingMethod + timeSlice* -> Budgeting,
each objective -> its own Slo (named `<slo>.<objective displayName, slugged, or index>` when there
are several), alert policies -> AlertPolicy (no policy: the SRE-workbook default for the primary
window). The metric source is replaced by an event match on `spec.service` (see openslo_sli).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Protocol

from slawatch.catalog.common import period_seconds, shared_default_rules
from slawatch.catalog.fields import Fields, child
from slawatch.catalog.openslo_alerts import PolicySpec, rules_for
from slawatch.catalog.openslo_meta import Obj, description, read_labels
from slawatch.catalog.openslo_sli import SLAWATCH_SOURCE, SliShape, read_time_windows
from slawatch.catalog.problems import Report
from slawatch.core.durations import parse_duration
from slawatch.core.model import (
    DEFAULT_RESOLVE_HOLD_S, AlertPolicy, Budgeting, BudgetingMethod, ErrorHandling, EventMatch, GroupBy, GroupDimension, Sli,
    SliKind, Slo,
)

METHODS = {m.value: m for m in BudgetingMethod}
OBJECTIVE_KEYS = ("displayName", "op", "value", "target", "targetPercent", "timeSliceTarget", "timeSliceWindow")
OPS = {"lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte"}


class Resolver(Protocol):
    def indicator(self, slo: Obj) -> SliShape | None: ...
    def policies(self, slo: Obj) -> list[PolicySpec] | None: ...


class Annotations:
    """The SLO's slawatch.io/ annotations, read with errors placed on the annotation's line."""

    def __init__(self, report: Report, obj: Obj):
        self.report, self.obj, self.values = report, obj, obj.annotations

    def get(self, name: str) -> str | None:
        return self.values[name][0] if name in self.values else None

    def error(self, name: str, message: str, hint: str) -> None:
        path = f"{child(self.obj.label, 'metadata.annotations')}[slawatch.io/{name}]"
        self.report.error(self.obj.file, self.values[name][1], path, message, hint)

    def choice(self, name: str, choices: dict[str, Any]) -> Any:
        value = self.get(name)
        if value is not None and value not in choices:
            self.error(name, f"{value!r} is not allowed", "one of " + ", ".join(choices))
            return None
        return choices.get(value) if value is not None else None

    def number(self, name: str, hint: str, convert=int) -> Any:
        value = self.get(name)
        try:
            return None if value is None else convert(value)
        except ValueError:
            self.error(name, f"{value!r} is not a number", hint)
            return None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def map_slo(report: Report, obj: Obj, resolver: Resolver) -> list[Slo]:
    """All Slo values of one SLO object; [] after recording why it is refused."""
    spec, before = obj.spec, report.error_count
    ann = Annotations(report, obj)
    service = spec.text("service", required=True, hint="the service's name, e.g. web-shop")
    shape = resolver.indicator(obj)
    windows = read_time_windows(report, obj)
    method = spec.choice("budgetingMethod", METHODS, required=True)
    policies = resolver.policies(obj)
    match = EventMatch(service or "", ann.get("operation"), ann.get("region"),
                       tuple(sorted((k[len("attribute."):], v) for k, (v, _) in obj.annotations.items()
                                    if k.startswith("attribute."))))
    group_by = _group_by(ann)
    contractual = ann.choice("contractual", {"true": True, "false": False}) or False
    errors = ann.choice("errors", {e.value: e for e in ErrorHandling})
    alerting = None
    if windows and policies is not None:
        alerting = _alerting(report, obj, ann, policies, period_seconds(windows[0]))
    objectives = spec.items("objectives", required=True, hint="e.g. [{target: 0.99}]")
    if spec.has("objectives") and not objectives:
        spec.error("objectives", "must list at least one objective", "e.g. [{target: 0.99}]")
    labels, text = read_labels(report, obj.meta), description(report, obj)
    slos = []
    for index, (value, path, line) in enumerate(objectives):
        o = Fields.of(report, obj.file, path, value, line, OBJECTIVE_KEYS)
        if o is None or shape is None or method is None:
            continue
        objective = _target(o)
        sli, budgeting = _sli_and_budgeting(o, shape, method, errors)
        name = obj.name if len(objectives) == 1 else f"{obj.name}.{slug(o.data.get('displayName') or '') or index}"
        if objective is not None and sli is not None:
            slos.append(Slo(name=name, match=match, sli=sli, objective=objective, windows=windows,
                            alerting=alerting, budgeting=budgeting, group_by=group_by, contractual=contractual,
                            description=text, labels=labels))
    if report.error_count != before or not windows or alerting is None:
        return []
    if shape.sources != (SLAWATCH_SOURCE,):
        what = "availability (good = ok)" if shape.kind == "availability" else "latency (event latency_ms)"
        report.note(obj.file, shape.line, shape.path,
                    f"metric source {', '.join(s or '?' for s in shape.sources)} is replaced by slawatch events "
                    f"of service {service!r}: {what}", "annotate slawatch.io/operation etc. to narrow the match")
    return slos


def _target(o: Fields) -> float | None:
    if o.has("target") == o.has("targetPercent"):
        o.error("target", "give exactly one of target or targetPercent", "e.g. target: 0.999 or targetPercent: 99.9")
        return None
    if o.has("target"):
        value = o.number("target", 0, 1, "a ratio, e.g. 0.999")
        return value
    value = o.number("targetPercent", 0, 100, "a percent, e.g. 99.9")
    return None if value is None else float(Decimal(str(value)) / 100)


def _slice_window(o: Fields) -> int | None:
    """timeSliceWindow: a duration, or a bare number of minutes (OpenSLO's default unit)."""
    value = o.data.get("timeSliceWindow")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value * 60
    return o.parse_duration_value("timeSliceWindow", value, "e.g. 1m or 5")


def _sli_and_budgeting(o: Fields, shape: SliShape, method: BudgetingMethod,
                       errors: ErrorHandling | None) -> tuple[Sli | None, Budgeting]:
    op = o.choice("op", OPS)
    slice_s = _slice_window(o) if o.has("timeSliceWindow") else None
    slice_target = o.number("timeSliceTarget", 0, 1.0000001, "a ratio in (0, 1], e.g. 0.95")
    if method != BudgetingMethod.OCCURRENCES and not o.has("timeSliceWindow"):
        o.error("timeSliceWindow", f"is required with budgetingMethod {method.value}", "e.g. 1m")
    if method == BudgetingMethod.TIMESLICES and not o.has("timeSliceTarget"):
        o.error("timeSliceTarget", "is required with budgetingMethod Timeslices", "e.g. 0.95")
    for key in ("timeSliceWindow", "timeSliceTarget"):
        if o.has(key) and (method == BudgetingMethod.OCCURRENCES
                           or (method == BudgetingMethod.RATIO_TIMESLICES and key == "timeSliceTarget")):
            o.error(key, f"does not apply to budgetingMethod {method.value}", "remove it")
    budgeting = Budgeting(method, slice_s, slice_target if method == BudgetingMethod.TIMESLICES else None)
    if shape.kind == "availability":
        if op in ("lt", "lte"):
            o.error("op", f"op {op} would make a lower ratio better", "gt or gte (or leave it out)")
        if o.has("value"):
            o.error("value", "applies to a thresholdMetric only", "remove it; target is the ratio")
        if errors is not None:
            o.error("op", "annotation slawatch.io/errors applies to latency SLIs only", "remove it")
        return Sli(SliKind.AVAILABILITY), budgeting
    if op not in ("lt", "lte"):
        o.error("op", f"a latency objective needs op lt or lte, got {op}", "op: lte, value: 300 (milliseconds)")
    threshold = o.number("value", 0, float("inf"), "milliseconds, e.g. 300", required=True)
    if threshold is None or op not in ("lt", "lte"):
        return None, budgeting
    if method != BudgetingMethod.TIMESLICES:
        return Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=threshold, errors=errors or ErrorHandling.COUNT), budgeting
    # Timeslices on a threshold: a slice is good when timeSliceTarget of its events are <= value,
    # which is exactly "p(100 x timeSliceTarget) <= value" per slice.
    if slice_target is None or slice_target >= 1:
        o.error("timeSliceTarget", "with a thresholdMetric it is the percentile / 100 and must be below 1",
                "e.g. 0.99 for p99")
        return None, budgeting
    if errors is not None:
        o.error("timeSliceTarget", "annotation slawatch.io/errors does not apply to a percentile SLI", "remove it")
    percentile = float(Decimal(str(slice_target)) * 100)
    return Sli(SliKind.LATENCY_PERCENTILE, threshold_ms=threshold, percentile=percentile), budgeting


def _group_by(ann: Annotations) -> GroupBy | None:
    dimension = ann.choice("group-by", {d.value: d for d in GroupDimension})
    cap = ann.number("max-groups", "a whole number, e.g. 500")
    if (dimension is None) != (cap is None):
        name = "group-by" if dimension is not None else "max-groups"
        if ann.get(name) is not None:
            ann.error(name, "slawatch.io/group-by and slawatch.io/max-groups go together", "set both, e.g. customer and 500")
        return None
    if cap is not None and cap < 1:
        ann.error("max-groups", "must be at least 1", "e.g. 500")
        return None
    return GroupBy(dimension, cap) if dimension is not None else None


def _alerting(report: Report, obj: Obj, ann: Annotations, policies: list[PolicySpec], period_s: int) -> AlertPolicy | None:
    path = child(obj.label, "spec.alertPolicies")
    rules = rules_for(report, policies, period_s, obj.file, obj.spec.line_of("alertPolicies"), path)
    no_data = None
    if (text := ann.get("no-data-after")) is not None:
        try:
            no_data = parse_duration(text)
        except ValueError as exc:
            ann.error("no-data-after", str(exc), "e.g. 10m")
    if any(p.alert_when_no_data for p in policies) and no_data is None and text is None:
        report.error(obj.file, obj.spec.line_of("alertPolicies"), path,
                     "alertWhenNoData needs to know how long silence lasts before it alerts",
                     "annotate the SLO slawatch.io/no-data-after: 10m")
    thresholds = (0.5, 0.75, 0.9)
    if (text_t := ann.get("budget-thresholds")) is not None:
        try:
            thresholds = tuple(float(Decimal(t.strip()) / 100) for t in text_t.split(","))
        except ArithmeticError:
            thresholds = ()
        if not thresholds or thresholds != tuple(sorted(set(thresholds))) or not all(0 < t <= 1 for t in thresholds):
            thresholds = (0.5, 0.75, 0.9)
            ann.error("budget-thresholds", f"{text_t!r} is not increasing percents in (0, 100]", "e.g. '50,75,90'")
    min_events = ann.number("min-events", "a whole number of events per alert window, e.g. 100")
    if min_events is not None and min_events < 0:
        ann.error("min-events", "must not be negative", "e.g. 100")
    hold = DEFAULT_RESOLVE_HOLD_S
    if (text_h := ann.get("resolve-hold")) is not None:
        try:
            hold = parse_duration(text_h, allow_zero=True)
        except ValueError as exc:
            ann.error("resolve-hold", str(exc), "a duration >= 0, e.g. 0s, 1m or 5m")
    if rules is None:
        return None
    return AlertPolicy(rules or shared_default_rules(period_s), thresholds, min_events or 0, no_data, resolve_hold_s=hold)

