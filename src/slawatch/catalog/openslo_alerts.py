"""OpenSLO AlertPolicy / AlertCondition (kind burnrate) mapped onto BurnRateRule.

How a burnrate condition becomes a rule for an SLO with primary window P:
- lookbackWindow -> long window;
- threshold (a burn rate) -> budget_percent = threshold x long / P x 100, so that the factor that
  `burn_rate_factor` derives from it is the threshold again (the factor is never typed in);
- alertAfter -> short window: the burn over the last alertAfter must reach the threshold too. That is
  the multiwindow reading of "the condition must hold for alertAfter"; it is evaluated per event,
  not as a continuous hold. Without alertAfter the short window is long / 12 (the workbook's 1h:5m);
- op gt/gte -> the engine's ">=" (equal floats are immaterial); lt/lte are refused (an alert that
  fires while the burn is low is not a burn-rate alert);
- severity page/ticket as is; other severities are refused (slawatch routes by those two).
"""

from __future__ import annotations

from dataclasses import dataclass

from slawatch.catalog.common import SEVERITIES, make_rule, rule_window_problem
from slawatch.catalog.fields import MISSING, Fields, type_name
from slawatch.catalog.openslo_meta import Obj
from slawatch.catalog.openslo_sli import FIXED_UNIT_S, SHORTHAND
from slawatch.catalog.problems import Report
from slawatch.core.durations import format_duration
from slawatch.core.model import BurnRateRule, Severity


@dataclass(frozen=True)
class ConditionSpec:
    name: str
    severity: Severity
    threshold: float
    long_s: int
    short_s: int
    file: str
    line: int
    path: str


@dataclass(frozen=True)
class PolicySpec:
    name: str
    conditions: tuple[ConditionSpec, ...]
    alert_when_no_data: bool
    file: str
    line: int
    path: str


def _shorthand(f: Fields, key: str, required: bool) -> int | None:
    value = f.raw(key, required, "e.g. 1h")
    if value is MISSING:
        return None
    if not isinstance(value, str):
        f.error(key, f"must be a duration, got {type_name(value)}", "e.g. 1h or 5m")
        return None
    if value == "0m":
        return 0
    found = SHORTHAND.match(value)
    if not found or found[2] not in FIXED_UNIT_S:
        f.error(key, f"{value!r} is not a fixed-length duration", "a number and one of m h d w, e.g. 1h")
        return None
    return int(found[1]) * FIXED_UNIT_S[found[2]]


def read_condition(report: Report, obj: Obj) -> ConditionSpec | None:
    before = report.error_count
    spec = obj.spec
    severity = spec.choice("severity", SEVERITIES, required=True)
    cond = spec.mapping("condition", ("kind", "op", "threshold", "lookbackWindow", "alertAfter"), required=True)
    if cond is None:
        return None
    cond.choice("kind", {"burnrate": "burnrate"}, default="burnrate")
    op = cond.choice("op", {"gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}, default="gte")
    if op in ("lt", "lte"):
        cond.error("op", f"op {op} would alert while the burn rate is low",
                   "burn-rate alerts fire when burn reaches the threshold: op gt or gte")
    threshold = cond.number("threshold", 0, float("inf"), "a burn rate, e.g. 14.4", required=True)
    long_s = _shorthand(cond, "lookbackWindow", required=True)
    after = _shorthand(cond, "alertAfter", required=False) if cond.has("alertAfter") else None
    if long_s == 0:
        cond.error("lookbackWindow", "must be longer than 0m", "e.g. 1h")
    if report.error_count != before or long_s is None:
        return None
    if after:
        short_s = after  # the documented mapping (module docstring, docs/catalogue.md): no note
    else:
        short_s = max(1, round(long_s / 12))
        cond.note("alertAfter", f"absent or 0m: short window = lookbackWindow / 12 = {format_duration(short_s)} "
                  "(SRE workbook 1h:5m)")
    return ConditionSpec(obj.name, severity, threshold, long_s, short_s, obj.file, obj.line, obj.label)


def read_policy_flags(report: Report, obj: Obj) -> bool | None:
    """Checks the policy's switches; returns alertWhenNoData, or None after an error."""
    spec = obj.spec
    before = report.error_count
    if spec.boolean("alertWhenBreaching", default=True) is False:
        spec.error("alertWhenBreaching", "slawatch alerts when a condition breaches; false leaves nothing to alert",
                   "true, or remove the policy")
    if spec.boolean("alertWhenResolved", default=True) is False:
        spec.note("alertWhenResolved", "slawatch publishes the resolve of every alert it opens; consumers may drop it")
    no_data = spec.boolean("alertWhenNoData", default=False)
    if spec.has("notificationTargets"):
        spec.note("notificationTargets", "not held: slawatch publishes alerts on its alert topic; route them there")
    return no_data if report.error_count == before else None


def rules_for(report: Report, policies: list[PolicySpec], period_s: int, file: str, line: int,
              path: str) -> tuple[BurnRateRule, ...] | None:
    """The rules of an SLO's policies, checked against its primary window."""
    rules, ok = [], True
    for policy in policies:
        for c in policy.conditions:
            problem = rule_window_problem(c.long_s, c.short_s, period_s)
            if problem:
                report.error(file, line, path, f"AlertCondition {c.name}: {problem}",
                             "short < long <= the SLO's first timeWindow")
                ok = False
                continue
            percent = c.threshold * c.long_s * 100 / period_s
            rules.append(make_rule(c.name, c.severity, c.long_s, c.short_s, percent, period_s))
    names = [r.name for r in rules]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        report.error(file, line, path, f"AlertCondition {dup} is used twice by this SLO", "reference it once")
        ok = False
    return tuple(rules) if ok else None
