"""OpenSLO indicators and time windows, mapped onto what slawatch evaluates.

slawatch cannot run a Prometheus or Datadog query; it counts its own events. So an indicator keeps
its *shape* and its metric source is replaced by an event match on the SLO's service:
- `ratioMetric` good/total or bad/total -> availability (good = event.ok);
- `ratioMetric` raw (a ratio computed elsewhere) -> refused unless `slawatch.io/sli: availability`;
- `thresholdMetric` -> latency, compared with the objective's `op` (lt/lte) and `value` (ms).
A metricSource whose `type` is `slawatch` already means slawatch events: no replacement note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from slawatch.catalog.fields import Fields, check_time_zone
from slawatch.catalog.openslo_meta import Obj
from slawatch.catalog.problems import Report
from slawatch.core.model import CalendarUnit, CalendarWindow, ComplianceWindow, RollingWindow

SHORTHAND = re.compile(r"^([1-9][0-9]*)([mhdwMQY])$")
FIXED_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
CALENDAR_UNIT = {"d": CalendarUnit.DAY, "w": CalendarUnit.WEEK, "M": CalendarUnit.MONTH,
                 "Q": CalendarUnit.QUARTER, "Y": CalendarUnit.YEAR}
SLAWATCH_SOURCE = "slawatch"


@dataclass(frozen=True)
class SliShape:
    """What an OpenSLO indicator becomes before an objective gives it a threshold."""

    kind: str  # "availability" | "latency"
    sources: tuple[str, ...]  # metric source types that slawatch events replace ("" if none)
    line: int
    path: str


def read_indicator(report: Report, file: str, spec: Fields, path: str, explicit_sli: str | None) -> SliShape | None:
    """The shape of an SLI spec (`spec` of an SLI object or of an inline indicator)."""
    has_ratio, has_threshold = spec.has("ratioMetric"), spec.has("thresholdMetric")
    if has_ratio == has_threshold:
        spec.error("ratioMetric", "an SLI needs exactly one of ratioMetric or thresholdMetric",
                   "ratioMetric {good|bad, total} for availability, thresholdMetric for latency")
        return None
    before = report.error_count
    if has_threshold:
        metric = spec.mapping("thresholdMetric", ("metricSource",))
        sources = (_source(metric, "metricSource"),) if metric else ()
        kind = "latency"
        line, where = spec.line_of("thresholdMetric"), spec.path_of("thresholdMetric")
    else:
        metric = spec.mapping("ratioMetric", ("counter", "good", "bad", "total", "rawType", "raw"))
        line, where = spec.line_of("ratioMetric"), spec.path_of("ratioMetric")
        if metric is None:
            return None
        metric.boolean("counter")
        kind, sources = "availability", ()
        if metric.has("raw"):
            metric.choice("rawType", {"success": 1, "failure": 0}, required=True)
            sources = (_source_of(metric, "raw"),)
            if explicit_sli != "availability":
                metric.error("raw", "a precomputed ratio cannot be recounted from events",
                             "annotate the SLO slawatch.io/sli: availability to count the service's events instead")
            for extra in ("good", "bad", "total"):
                if metric.has(extra):
                    metric.error(extra, "cannot be combined with raw", "either raw or {good|bad, total}")
        else:
            if not metric.has("total") or metric.has("good") == metric.has("bad"):
                metric.error("total" if not metric.has("total") else "good",
                             "a ratio needs total and exactly one of good or bad", "e.g. {good: ..., total: ...}")
            sources = tuple(_source_of(metric, k) for k in ("good", "bad", "total") if metric.has(k))
    if explicit_sli is not None and explicit_sli != kind:
        spec.error("ratioMetric" if has_ratio else "thresholdMetric",
                   f"annotation slawatch.io/sli: {explicit_sli} does not fit this metric",
                   "ratioMetric maps to availability, thresholdMetric to latency")
    if report.error_count != before:
        return None
    return SliShape(kind, tuple(sorted(set(sources))), line, where)


def _source_of(metric: Fields, key: str) -> str:
    side = metric.mapping(key, ("metricSource",), required=True)
    return _source(side, "metricSource") if side else ""


def _source(holder: Fields | None, key: str) -> str:
    if holder is None:
        return ""
    source = holder.mapping(key, ("metricSourceRef", "type", "spec"), required=True, hint="{type, spec}")
    if source is None:
        return ""
    kind = source.data.get("type") or (f"ref:{source.data['metricSourceRef']}" if source.has("metricSourceRef") else "")
    return str(kind)


def read_time_windows(report: Report, slo: Obj) -> tuple[ComplianceWindow, ...]:
    """spec.timeWindow: OpenSLO allows one; slawatch accepts several (the first is primary)."""
    items = slo.spec.items("timeWindow", required=True, hint="e.g. [{duration: 28d, isRolling: true}]")
    windows = [_window(report, slo.file, path, value, line) for value, path, line in items]
    return tuple(windows) if windows and None not in windows else ()


def _window(report: Report, file: str, path: str, value, line: int) -> ComplianceWindow | None:
    w = Fields.of(report, file, path, value, line, ("duration", "isRolling", "calendar"))
    if w is None:
        return None
    text = w.text("duration", required=True, hint="OpenSLO shorthand, e.g. 28d, 1w, 1M, 1Q")
    calendar = w.mapping("calendar", ("startTime", "timeZone"))
    rolling = w.boolean("isRolling", default=calendar is None)
    if text is None or rolling is None:
        return None
    found = SHORTHAND.match(text)
    if not found:
        w.error("duration", f"{text!r} is not an OpenSLO duration", "a number and one of m h d w M Q Y, e.g. 28d")
        return None
    count, unit = int(found[1]), found[2]
    if rolling:
        if calendar is not None:
            w.error("calendar", "a rolling window has no calendar", "isRolling: false, or remove calendar")
        if unit not in FIXED_UNIT_S:
            w.error("duration", f"a rolling {text} has no fixed length", "write 30d, 90d or 365d, or use a calendar window")
            return None
        return RollingWindow(count * FIXED_UNIT_S[unit])
    if unit not in CALENDAR_UNIT:
        hint = "OpenSLO writes a month as 1M; minutes are m" if unit == "m" else "use d, w, M, Q or Y"
        w.error("duration", f"{text!r} is {count} {'minute' if unit == 'm' else 'hour'}(s): not a calendar period", hint)
        return None
    zone = "UTC"
    if calendar is not None:
        zone = calendar.text("timeZone", default="UTC", hint="an IANA name")
        if zone and (problem := check_time_zone(zone)):
            calendar.error("timeZone", problem, "e.g. America/New_York")
            return None
        _check_start(calendar, CALENDAR_UNIT[unit], count)
    return CalendarWindow(CALENDAR_UNIT[unit], count, zone) if zone else None


def _check_start(calendar: Fields, unit: CalendarUnit, count: int) -> None:
    """The model aligns periods to calendar edges; say so when startTime asks for another edge."""
    value = calendar.data.get("startTime")
    if value is None:
        return
    try:
        start = datetime.fromisoformat(str(value))
    except ValueError:
        calendar.error("startTime", f"{value!r} is not a date-time", "e.g. 2022-01-01 00:00:00")
        return
    aligned = start.time() == datetime.min.time() and count == 1 and {
        CalendarUnit.DAY: True, CalendarUnit.WEEK: start.weekday() == 0, CalendarUnit.MONTH: start.day == 1,
        CalendarUnit.QUARTER: start.day == 1 and start.month in (1, 4, 7, 10),
        CalendarUnit.YEAR: (start.month, start.day) == (1, 1)}[unit]
    if not aligned:
        calendar.note("startTime", f"periods start at local midnight of each {unit.value} (weeks on Monday); "
                      f"the model has no period anchor, so {value} is not held")
