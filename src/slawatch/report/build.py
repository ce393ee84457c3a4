"""The report as one JSON-able document: every number the HTML and Markdown show, and more.

Per SLO (and per group of a grouped SLO): the periods of its calendar windows that belong to the
range, its rolling windows as they stood at the range's end, its days, its incidents (the alerts
sent, with their top contributors) and the range's totals; per contractual grouped SLO a customer
table (attained / missed / at risk, with the margin); per service its traffic and the forecast of
the next period; then the review actions (`actions.py`) and, with `--portfolio`, the portfolio.

Figures are the records' own (engine/compliance.py); what is derived here says how: a range's
totals are the sums of its days, a burn-down is the budget left at the end of each day of a
period against that period's budget (a running period's volume extrapolated from its pace).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone

from slawatch.engine.records import rfc3339
from slawatch.report.period import Range
from slawatch.report.records import Alert, Record
from slawatch.report.sources import Collected

REPORT_SCHEMA_VERSION = 1
FORECAST_HORIZON_DAYS = 30
DEFAULT_GROWTH_THRESHOLD = 0.10  # flag a service whose forecast traffic grows more than 10 % in a period


@dataclass(frozen=True)
class Day:
    date: str
    good: float
    bad: float
    total: int
    sli: float | None
    excluded_events: int
    no_data_seconds: float | None
    no_data_resolution_s: int | None  # the ring buckets no-data time was counted in
    peak_per_minute: int | None
    refused_events: int
    dead_letters: int
    final: bool  # False: the day is still running (the newest one)


@dataclass(frozen=True)
class Totals:
    good: float
    bad: float
    total: int
    sli: float | None
    attained: bool | None
    excluded_events: int
    excluded_seconds: float
    no_data_seconds: float
    refused_events: int
    dead_letters: int


@dataclass(frozen=True)
class PeriodFigures:
    window: str
    kind: str
    period: str
    start: str
    end: str
    status: str
    elapsed_ratio: float
    good: float
    bad: float
    total: int
    sli: float | None
    attained: bool | None
    margin: float | None  # sli - objective
    best_possible: float | None  # the highest SLI the period can still end with (final: its SLI)
    projected_used_ratio: float | None  # budget used at period end at the pace so far (final: used)
    budget: dict
    excluded_events: int
    excluded_seconds: float
    no_data_seconds: float | None
    refused_events: int
    dead_letters: int
    burn_down: list[dict] = field(default_factory=list)  # [{date, remaining_ratio, ideal_ratio}]


@dataclass(frozen=True)
class AlertSent:
    """One alert of the range, as its records last saw it."""

    id: str
    type: str
    rule: str
    severity: str
    start: str
    end: str | None
    duration_s: float
    contributors: dict


@dataclass(frozen=True)
class Incident:
    """Pages of one SLO (group) whose times overlap, taken as one incident."""

    start: str
    end: str | None  # None: still paging
    duration_s: float
    rules: list[str]
    alerts: list[str]  # their ids
    contributors: dict  # those of the page with the most bad events


@dataclass(frozen=True)
class Section:
    """One SLO, or one group of a grouped SLO."""

    slo: str
    service: str
    group: str | None
    dimension: str | None
    contractual: bool
    objective: float
    unit: str
    periods: list[PeriodFigures]
    rolling: list[PeriodFigures]
    days: list[Day]
    totals: Totals
    incidents: list[Incident]
    alerts: list[AlertSent]  # every alert sent in the range, pages, tickets and warnings


@dataclass(frozen=True)
class CustomerRow:
    slo: str
    customer: str
    period: str
    status: str  # final | running
    state: str  # attained | missed | at risk | on track | no data
    sli: float | None
    objective: float
    margin: float | None
    budget_remaining_ratio: float | None


@dataclass(frozen=True)
class Traffic:
    service: str
    owner: str
    tier: str
    slo: str  # the SLO whose counts stand for the service's traffic (its busiest)
    days: list[dict]  # [{date, events, peak_per_minute}]
    forecast: dict | None  # {horizon_days, mean, lower, upper, growth_ratio, method, level, peak_...}
    growth_ratio: float | None
    flagged: bool


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def _day_text(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).date().isoformat()


# Periods.
def best_possible(r: Record) -> float | None:
    """The highest SLI the period can end with if all that is left is good, at the volume so far."""
    if not r.total:
        return None
    if r.final or r.kind != "calendar" or r.elapsed_ratio <= 0:
        return r.sli
    rest = r.total / r.elapsed_ratio * (1 - r.elapsed_ratio)
    return (r.good + rest) / (r.total + rest)


def projected_used(r: Record) -> float | None:
    used = r.budget.get("used_ratio")
    if used is None or r.final or r.kind != "calendar":
        return used
    return used / r.elapsed_ratio if r.elapsed_ratio > 0 else None


def period_figures(r: Record, days: Sequence[Day] = ()) -> PeriodFigures:
    return PeriodFigures(
        r.window, r.kind, r.period, rfc3339(r.start), rfc3339(r.end), "final" if r.final else "running",
        r.elapsed_ratio, r.good, r.bad, r.total, r.sli, r.attained,
        _r(None if r.sli is None else r.sli - r.objective), _r(best_possible(r)), _r(projected_used(r)), r.budget,
        r.excluded_events, r.excluded_seconds, r.no_data_seconds, r.refused_events, r.dead_letters,
        burn_down(r, days) if r.kind == "calendar" else [])


def burn_down(r: Record, days: Sequence[Day]) -> list[dict]:
    """Budget left at the end of each day of the period, as a share of the period's whole budget
    ((1 - objective) x its events: a running period's extrapolated from its pace), and the ideal
    line of constant consumption from 1 to 0 over the period."""
    volume = r.total if r.final else (r.total / r.elapsed_ratio if r.elapsed_ratio > 0 else 0)
    allowed = (1 - r.objective) * volume
    out, bad = [], 0.0
    length = r.end - r.start
    for day in days:
        start = datetime.fromisoformat(day.date).replace(tzinfo=timezone.utc).timestamp()
        if not r.start <= start < r.end:
            continue
        bad += day.bad
        ideal = max(0.0, 1 - (start + 86400 - r.start) / length)
        out.append({"date": day.date, "remaining_ratio": _r(1 - bad / allowed) if allowed else None,
                    "ideal_ratio": _r(ideal)})
    return out


# Days and totals.
def day_of(r: Record) -> Day:
    return Day(r.period, r.good, r.bad, r.total, r.sli, r.excluded_events, r.no_data_seconds, r.no_data_resolution_s,
               r.peak_per_minute, r.refused_events, r.dead_letters, r.final)


def sum_days(days_by_group: Iterable[Sequence[Day]]) -> list[Day]:
    """Days of several groups added up (the peak: the busiest group's, a lower bound)."""
    by_date: dict[str, list[Day]] = defaultdict(list)
    for days in days_by_group:
        for day in days:
            by_date[day.date].append(day)
    out = []
    for text in sorted(by_date):
        found = by_date[text]
        good, total = sum(d.good for d in found), sum(d.total for d in found)
        peaks = [d.peak_per_minute for d in found if d.peak_per_minute is not None]
        no_data = [d.no_data_seconds for d in found if d.no_data_seconds is not None]
        out.append(Day(text, good, sum(d.bad for d in found), total, _r(good / total) if total else None,
                       sum(d.excluded_events for d in found), min(no_data) if no_data else None,
                       max((d.no_data_resolution_s or 0 for d in found), default=None) or None, max(peaks) if peaks else None, max(d.refused_events for d in found),
                       max(d.dead_letters for d in found), all(d.final for d in found)))
    return out


def totals_of(days: Sequence[Day], objective: float, excluded_seconds: float) -> Totals:
    good, total = sum(d.good for d in days), sum(d.total for d in days)
    sli = good / total if total else None
    return Totals(_r(good), _r(sum(d.bad for d in days)), total, _r(sli), None if sli is None else sli >= objective,
                  sum(d.excluded_events for d in days), excluded_seconds,
                  sum(d.no_data_seconds or 0.0 for d in days), sum(d.refused_events for d in days),
                  sum(d.dead_letters for d in days))


# Alerts and incidents.
def alerts_of(records: Iterable[Record], rng: Range) -> list[Alert]:
    """Every alert of the records whose time meets the range, once (its latest reading), oldest first."""
    found: dict[str, Alert] = {}
    for r in records:
        for a in r.alerts:
            if a.start < rng.end and (a.end is None or a.end > rng.start):
                seen = found.get(a.id)
                if seen is None or (seen.end is None and a.end is not None) or a.duration_s > seen.duration_s:
                    found[a.id] = a
    return sorted(found.values(), key=lambda a: (a.start, a.id))


def _bad(contributors: dict) -> int:
    return sum(item["bad"] for item in (contributors or {}).get("operation", []))


def incidents_of(alerts: Sequence[Alert]) -> list[Incident]:
    """Pages whose [start, end) overlap, merged: one incident from the first start to the last end."""
    clusters: list[list[Alert]] = []
    for a in sorted((a for a in alerts if a.severity == "page"), key=lambda a: a.start):
        last = clusters[-1] if clusters else None
        if last is not None and any(b.end is None or a.start <= b.end for b in last):
            last.append(a)
        else:
            clusters.append([a])
    out = []
    for pages in clusters:
        start = min(a.start for a in pages)
        end = None if any(a.end is None for a in pages) else max(a.end for a in pages)
        longest = max(a.start + a.duration_s for a in pages)
        out.append(Incident(rfc3339(start), rfc3339(end), round((longest if end is None else end) - start, 3),
                            sorted({a.rule for a in pages}), [a.id for a in pages],
                            max((a.contributors for a in pages), key=_bad)))
    return out


def _sent(a: Alert) -> AlertSent:
    return AlertSent(a.id, a.type, a.rule, a.severity, rfc3339(a.start), rfc3339(a.end), a.duration_s, a.contributors)


# Sections.
def section(records: Sequence[Record], rng: Range) -> Section:
    """One SLO or group: its records of every window, those in the range."""
    first = records[0]
    days = sorted((day_of(r) for r in records if r.kind == "daily" and rng.holds(r.start, r.end)),
                  key=lambda d: d.date)
    periods = [period_figures(r, days) for r in sorted(records, key=lambda r: (r.window, r.start))
               if r.kind == "calendar" and rng.holds(r.start, r.end)]
    rolling = []
    for window in sorted({r.window for r in records if r.kind == "rolling"}):
        inside = [r for r in records if r.kind == "rolling" and r.window == window and rng.start < r.end <= rng.end]
        if inside:
            rolling.append(period_figures(max(inside, key=lambda r: r.end)))
    daily = [r for r in records if r.kind == "daily" and rng.holds(r.start, r.end)]
    excluded_s = sum(r.excluded_seconds for r in daily)
    alerts = alerts_of([r for r in records if rng.holds(r.start, r.end) or r.kind == "rolling"], rng)
    return Section(first.slo, first.service, first.group, first.dimension, first.contractual, first.objective,
                   first.unit, periods, rolling, days, totals_of(days, first.objective, excluded_s),
                   incidents_of(alerts), [_sent(a) for a in alerts])


def sections(records: Sequence[Record], rng: Range) -> list[Section]:
    by_key: dict[tuple[str, str | None], list[Record]] = defaultdict(list)
    for r in records:
        by_key[(r.slo, r.group)].append(r)
    out = [section(found, rng) for _, found in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]
    return [s for s in out if s.days or s.periods or s.rolling]


def customer_state(p: PeriodFigures, objective: float) -> str:
    """attained / missed (final, or no longer reachable) / at risk (the budget runs out before the
    period ends at the pace so far) / on track / no data."""
    if p.sli is None:
        return "no data"
    if p.status == "final":
        return "attained" if p.attained else "missed"
    if p.best_possible is not None and p.best_possible < objective:
        return "missed"
    if p.projected_used_ratio is not None and p.projected_used_ratio > 1:
        return "at risk"
    return "on track"


def customer_rows(found: Sequence[Section]) -> list[CustomerRow]:
    """Per contractual grouped SLO, per group and calendar period: how its agreement stands."""
    rows = []
    for s in found:
        if s.contractual and s.group is not None:
            for p in s.periods:
                rows.append(CustomerRow(s.slo, s.group, p.period, p.status, customer_state(p, s.objective), p.sli, s.objective,
                                        p.margin, p.budget.get("remaining_ratio")))
    return sorted(rows, key=lambda r: (r.slo, r.period, r.customer))


# Traffic and the forecast of demand.
def traffic(found: Sequence[Section], services: dict[str, dict], growth_threshold: float) -> list[Traffic]:
    """Per service, events per day (complete days) and the busiest minute, from its busiest SLO (a
    grouped one: its groups added up, the busiest minute its busiest group's); the forecast of the
    next FORECAST_HORIZON_DAYS days (report.forecast) and whether its growth passes the threshold."""
    by_slo: dict[str, list[Section]] = defaultdict(list)
    for s in found:
        by_slo[s.slo].append(s)
    busiest: dict[str, tuple[int, str, list[Day]]] = {}
    for slo, parts in by_slo.items():
        days = sum_days([p.days for p in parts])
        events = sum(d.total + d.excluded_events for d in days)
        service = parts[0].service
        if service not in busiest or events > busiest[service][0]:
            busiest[service] = (events, slo, days)
    out = []
    for service in sorted(busiest):
        _, slo, days = busiest[service]
        days = [d for d in days if d.final]  # a running day is a part of a day: not a point of the series
        per_day = [float(d.total + d.excluded_events) for d in days]
        forecast = _forecast(per_day, [d.peak_per_minute for d in days])
        growth = forecast["growth_ratio"] if forecast else None
        info = services.get(service, {})
        out.append(Traffic(service, info.get("owner", ""), info.get("tier", ""), slo,
                           [{"date": d.date, "events": int(e), "peak_per_minute": d.peak_per_minute}
                            for d, e in zip(days, per_day)],
                           forecast, growth, growth is not None and growth - 1 > growth_threshold))
    return out


def _forecast(per_day: list[float], peaks: list[int | None]) -> dict | None:
    if len(per_day) < 2:
        return None
    from slawatch.report.forecast import forecast_series

    horizon = FORECAST_HORIZON_DAYS
    f = forecast_series(per_day, horizon)
    known = [float(p) for p in peaks if p is not None]
    peak = forecast_series(known, horizon) if len(known) >= 2 else None
    return {"horizon_days": horizon, "mean": [_r(v, 2) for v in f.mean], "lower": [_r(v, 2) for v in f.lower],
            "upper": [_r(v, 2) for v in f.upper], "growth_ratio": _r(f.growth_ratio, 4), "method": f.method,
            "level": f.level, "events_next_period": _r(sum(f.mean), 1),
            "peak_per_minute_next_period": _r(max(peak.upper), 1) if peak else None}


# The document.
def build_report(collected: Collected, rng: Range, growth_threshold: float = DEFAULT_GROWTH_THRESHOLD,
                 portfolio_periods: int | None = None) -> dict:
    """The whole report; `portfolio_periods` adds the portfolio (trend over that many periods)."""
    from slawatch.report.actions import review_actions
    from slawatch.report.portfolio import portfolio

    found = sections(collected.records, rng)
    customers = customer_rows(found)
    demand = traffic(found, collected.services, growth_threshold)
    doc = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "title": f"Service level report, {rng.label}",
        "range": {"label": rng.label, "from": rfc3339(rng.start), "to": rfc3339(rng.end), "days": rng.days},
        "source": collected.source,
        "data_until": rfc3339(collected.newest),
        "services": [{"service": name, **info} for name, info in sorted(collected.services.items())],
        "slos": [asdict(s) for s in found],
        "customers": [asdict(c) for c in customers],
        "traffic": [asdict(t) for t in demand],
        "growth_threshold": growth_threshold,
    }
    doc["actions"] = [asdict(a) for a in review_actions(found, customers, demand, collected.records, rng)]
    if portfolio_periods is not None:
        doc["portfolio"] = portfolio(collected, found, rng, portfolio_periods)
    return doc


def day_dates(days: Sequence[dict]) -> list[date]:
    return [date.fromisoformat(d["date"]) for d in days]
