"""Pieces both catalogue forms share: window lengths, alert rules and exclusions.

The alert policy is data (core/alert_windows.SRE_WORKBOOK_30D, from the SRE workbook); this module
only scales it to an SLO's primary window and checks custom rules against that window. A factor is
never read from a file: it is derived by `burn_rate_factor` from the budget percent.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from slawatch.catalog.fields import Fields
from slawatch.catalog.problems import Report
from slawatch.core.alert_windows import burn_rate_factor, default_rules
from slawatch.core.model import (
    BurnRateRule, CalendarUnit, ComplianceWindow, Exclusion, FixedExclusion,
    RecurringExclusion, RollingWindow, Severity,
)

# Nominal lengths used only to scale alert windows and derive factors for a calendar primary window.
# A month is taken as 30 days so that a monthly SLO gets exactly the SRE workbook's 30-day rules.
NOMINAL_CALENDAR_S = {
    CalendarUnit.DAY: 86400,
    CalendarUnit.WEEK: 7 * 86400,
    CalendarUnit.MONTH: 30 * 86400,
    CalendarUnit.QUARTER: 90 * 86400,
    CalendarUnit.YEAR: 365 * 86400,
}
SEVERITIES = {s.value: s for s in Severity}


def period_seconds(window: ComplianceWindow) -> int:
    """The length alert windows are scaled against: exact for rolling, nominal for calendar."""
    if isinstance(window, RollingWindow):
        return window.duration_s
    return NOMINAL_CALENDAR_S[window.unit] * window.count


def window_label(window: ComplianceWindow) -> str:
    if isinstance(window, RollingWindow):
        return window.name
    zone = "" if window.time_zone == "UTC" else f" {window.time_zone}"
    return f"calendar {window.name}{zone}"


@cache
def shared_default_rules(period_s: int) -> tuple[BurnRateRule, ...]:
    """`default_rules(period_s)`, built once per window length: the rules are frozen, so every SLO
    with that primary window holds the same tuple (a catalogue has a handful of window lengths)."""
    return default_rules(period_s)


def make_rule(name: str, severity: Severity, long_s: int, short_s: int, budget_percent: float,
              period_s: int) -> BurnRateRule:
    return BurnRateRule(name, severity, long_s, short_s, budget_percent,
                        burn_rate_factor(budget_percent, period_s, long_s))


def rule_window_problem(long_s: int, short_s: int, period_s: int) -> str | None:
    """Why short < long <= primary window does not hold, or None."""
    from slawatch.core.durations import format_duration as fmt

    if short_s >= long_s:
        return f"short window {fmt(short_s)} must be shorter than long window {fmt(long_s)}"
    if long_s > period_s:
        return f"long window {fmt(long_s)} must not exceed the primary SLO window {fmt(period_s)}"
    return None


# -- exclusions -------------------------------------------------------------------------------

EXCLUSION_KEYS = ("start", "end", "rrule", "duration", "time_zone", "reason")


def validate_rrule(text: str) -> str | None:
    """The exclusions module's validator if present (one rule parser for loader and engine)."""
    try:
        from slawatch.core.exclusions import validate_rrule as core_validate
    except ImportError:
        core_validate = None
    if core_validate is not None:
        return core_validate(text)
    from dateutil.rrule import rrulestr

    if "DTSTART" in text.upper():
        return "put the first occurrence in `start`, not DTSTART inside the rule"
    try:
        rrulestr(text, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        return f"{text!r} is not an RFC 5545 RRULE: {exc}"
    return None


def parse_instant(fields: Fields, key: str) -> float | None:
    """An RFC 3339 date-time with an offset, e.g. 2026-03-01T02:00:00Z, as epoch seconds."""
    value = fields.text(key, required=True, hint="RFC 3339 with offset, e.g. 2026-03-01T02:00:00Z")
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fields.error(key, f"{value!r} is not an RFC 3339 date-time", "e.g. 2026-03-01T02:00:00Z")
        return None
    if parsed.tzinfo is None:
        fields.error(key, f"{value!r} has no offset, so its instant is ambiguous", "add Z or +01:00")
        return None
    return parsed.timestamp()


def read_exclusion(report: Report, file: str, path: str, value: Any, line: int) -> Exclusion | None:
    """A fixed interval {start, end} or a recurring {rrule, start, duration, time_zone}."""
    fields = Fields.of(report, file, path, value, line, EXCLUSION_KEYS)
    if fields is None:
        return None
    before = report.error_count
    reason = fields.text("reason", default="") or ""
    recurring = fields.has("rrule")
    for key in ("duration", "time_zone") if not recurring else ("end",):
        if fields.has(key):
            fields.error(key, "is for recurring exclusions (with rrule)" if not recurring else
                         "is for fixed intervals; a recurring exclusion lasts `duration`",
                         "fixed: {start, end, reason}; recurring: {rrule, start, duration, time_zone, reason}")
    if not recurring:
        start, end = parse_instant(fields, "start"), parse_instant(fields, "end")
        if start is not None and end is not None and end <= start:
            fields.error("end", "must be after start", "an interval [start, end)")
        return FixedExclusion(start, end, reason) if report.error_count == before else None
    rule = fields.text("rrule", required=True, hint="e.g. FREQ=WEEKLY;BYDAY=SU")
    if rule is not None and (problem := validate_rrule(rule)):
        fields.error("rrule", problem, "e.g. FREQ=WEEKLY;BYDAY=SU")
    start = fields.text("start", required=True, hint="local date-time in time_zone, e.g. 2026-01-04T02:00:00")
    if start is not None:
        try:
            if datetime.fromisoformat(start).tzinfo is not None:
                fields.error("start", "must be a local date-time without offset; the zone is time_zone",
                             "e.g. 2026-01-04T02:00:00")
        except ValueError:
            fields.error("start", f"{start!r} is not an ISO date-time", "e.g. 2026-01-04T02:00:00")
    duration = fields.duration("duration", required=True, hint="e.g. 2h")
    zone = fields.time_zone("time_zone")
    if report.error_count != before:
        return None
    return RecurringExclusion(rule, datetime.fromisoformat(start).isoformat(), duration, zone, reason)
