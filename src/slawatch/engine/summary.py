"""`replay --summary`: per SLO (per group) the exact counts and ratios of every window at `at`.

Pure: the state and the event-time instant `at` are parameters. A line lists each compliance
window of the SLO and each long and short window of its burn-rate rules (one entry per distinct
window, `uses` says which roles it plays). Rolling windows count (at - W, at]; calendar windows the
current period up to `at`, [period start, at]. Counts come from `exact_counts`, whose `edges` say
whether the ring could give the window's exact edges; every ratio is computed from those counts
as an exact fraction (`{"fraction": "n/d", "value": float}`, lowest terms, value the nearest
double), never rounded. The objective is taken as the decimal it is written as (0.999 = 999/1000).
Timeslice and latency-percentile SLOs are judged by slices (`basis: "slices"`); their event counts
are listed too. The shape is documented in docs/engine.md ("replay --summary").
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from slawatch.core.calendar import periods
from slawatch.core.durations import format_duration
from slawatch.core.evaluate import burn_rate
from slawatch.core.model import BudgetingMethod, CalendarWindow, ComplianceWindow, Slo
from slawatch.core.plan import slice_seconds
from slawatch.core.slo_state import SloState
from slawatch.engine import exact_counts as xc
from slawatch.engine.payloads import group_value
from slawatch.engine.records import rfc3339

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class SummaryWindow:
    """One window of the summary: a compliance window, an alert window, or both."""

    name: str
    compliance: ComplianceWindow | None  # None: only alert rules read it
    seconds: int | None  # rolling length; None for a calendar window
    uses: tuple[str, ...]  # "compliance", "<rule>.long", "<rule>.short"


def summary_windows(slo: Slo) -> list[SummaryWindow]:
    """Compliance windows in catalogue order, then the alert windows shortest first."""
    uses: dict[object, list[str]] = {}
    compliance: dict[object, ComplianceWindow] = {}
    for window in slo.windows:
        key = window if isinstance(window, CalendarWindow) else window.duration_s
        compliance.setdefault(key, window)
        uses.setdefault(key, []).append("compliance")
    rules = sorted(((s, f"{r.name}.{which}") for r in slo.alerting.burn_rate_rules
                    for s, which in ((r.long_window_s, "long"), (r.short_window_s, "short"))), key=lambda x: x[0])
    for seconds, use in rules:
        uses.setdefault(seconds, []).append(use)
    out = []
    for key, roles in uses.items():
        window = compliance.get(key)
        seconds = None if isinstance(key, CalendarWindow) else int(key)
        name = window.name if window is not None else format_duration(seconds)
        out.append(SummaryWindow(name, window, seconds, tuple(roles)))
    return out


def ratio(value: Fraction | None) -> dict | None:
    return None if value is None else {"fraction": f"{value.numerator}/{value.denominator}", "value": float(value)}


def _edges(edges: xc.Edges) -> dict:
    return {"exact": edges.exact, "resolution_s": edges.resolution_s, "served": list(edges.served),
            "why": list(edges.why)}


def _events(counts: xc.EventCounts) -> dict:
    return {"good": counts.good, "bad": counts.bad, "total": counts.total, "excluded": counts.excluded,
            "edges": _edges(counts.edges)}


def _slices(counts: xc.SliceCounts, ratios: bool) -> dict:
    """Slice counts; RatioTimeslices' good and bad are sums of slice ratios, so fractions."""
    good, bad = counts.good, counts.total - counts.good
    return {"good": ratio(good) if ratios else int(good), "bad": ratio(bad) if ratios else int(bad),
            "total": counts.total, "edges": _edges(counts.edges)}


def _budget(objective: Fraction, good: Fraction, total: int, period_s: Fraction) -> dict:
    """Attainment and error budget of a compliance window, as `evaluate.budget` defines them."""
    allowed = 1 - objective
    sli = good / total if total else None
    remaining = None if sli is None else 1 - (total - good) / (allowed * total)
    minutes = None if remaining is None else remaining * allowed * period_s / 60
    return {"attainment": {"met": None if sli is None else sli >= objective},
            "error_budget_remaining": {"ratio": ratio(remaining), "minutes": ratio(minutes)}}


@dataclass(frozen=True, slots=True)
class _Counted:
    """What a window counted: its bounds as the line shows them, its length for the budget, counts."""

    bounds: dict
    period_s: Fraction
    events: xc.EventCounts
    slices: xc.SliceCounts | None  # timeslice and percentile SLOs only


def _count(slo: Slo, state: SloState, spec: SummaryWindow, at: float, complete: bool) -> _Counted:
    by_slices = slice_seconds(slo) is not None
    calendar = spec.compliance if isinstance(spec.compliance, CalendarWindow) else None
    if calendar is None:
        start = at - spec.seconds
        return _Counted({"start": start, "end": at}, Fraction(spec.seconds),
                        xc.window_events(state, start, at, complete=complete),
                        xc.window_slices(state, start, at, complete) if by_slices else None)
    start, end = periods(calendar).index_of(at)[1:]
    bounds = {"time_zone": calendar.time_zone, "start": start, "end": at, "period_end": end}
    if by_slices:
        return _Counted(bounds, Fraction(end) - Fraction(start),
                        xc.window_events(state, start, at, inclusive=True, complete=complete),
                        xc.calendar_slices(state, calendar, at))
    return _Counted(bounds, Fraction(end) - Fraction(start), xc.calendar_events(state, calendar, at), None)


def window_entry(slo: Slo, state: SloState, spec: SummaryWindow, at: float, complete: bool = False) -> dict:
    """One window of a summary line (module docstring); counts from `exact_counts`."""
    counted = _count(slo, state, spec, at, complete)
    entry = {"window": spec.name, "kind": "rolling" if spec.seconds else "calendar", "seconds": spec.seconds,
             "uses": list(spec.uses), **counted.bounds, "events": _events(counted.events)}
    if counted.slices is not None:
        entry["slices"] = _slices(counted.slices, slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES)
        good, total, edges = counted.slices.good, counted.slices.total, counted.slices.edges
    else:
        good, total, edges = Fraction(counted.events.good), counted.events.total, counted.events.edges
    objective = objective_of(slo)
    sli = good / total if total else None
    entry.update(basis="events" if counted.slices is None else "slices", exact=edges.exact, sli=ratio(sli),
                 burn_rate=None if sli is None else ratio(burn_rate(sli, objective)))
    if spec.compliance is not None:
        entry.update(_budget(objective, good, total, counted.period_s))
    return entry


def objective_of(slo: Slo) -> Fraction:
    """The objective as the decimal it is written as: 0.999 is 999/1000, not the double's binary value."""
    return Fraction(repr(slo.objective))


def summary_line(slo: Slo, group: str | None, state: SloState, at: float, complete_history: bool = False) -> dict:
    """The summary of one SLO (one group) at event time `at`. `complete_history`: the state counted
    every event since it was created (no checkpoint restored), see `exact_counts`."""
    return {
        "type": "summary",
        "schema_version": SCHEMA_VERSION,
        "slo": slo.name,
        "service": slo.service,
        "group": group_value(slo, group),
        "objective": ratio(objective_of(slo)),
        "budgeting": slo.budgeting.method.value,
        "timeslice_s": slice_seconds(slo),
        "at": rfc3339(at),
        "at_epoch": at,
        "watermark": None if state.watermark == float("-inf") else state.watermark,
        "windows": [window_entry(slo, state, spec, at, complete_history) for spec in summary_windows(slo)],
    }


def summary_lines(runtime, at: float, complete_history: bool = False) -> list[dict]:
    """One line per group of an `engine.runtime.SloRuntime` (one for a grouped SLO without groups yet)."""
    groups = runtime.groups() or [(None, runtime.state.make_state())]
    return [summary_line(runtime.slo, group, state, at, complete_history) for group, state in groups]
