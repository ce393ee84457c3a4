"""Compliance records (`sla.records`): what one SLO delivered per group, window and period.

Three kinds of period, one record shape (topics/sla.records.yaml, schema version 2):

- calendar: each period of each calendar window (the month in the SLA's zone ...);
- rolling: the rolling window as it stood at each UTC midnight (period = the day that ended);
- daily: every SLO, whatever its windows, also gets one record per UTC day: the per-day SLI,
  traffic (with the peak minute) and burn-down material of reports.

A record is `running` while its period is open (`running_records`, sent at most every
RUNNING_EVERY_S of wall time per SLO, and only if the SLO counted events since the last one), and
`final` once event time (the SLO's watermark) has passed the period's end (`due`): once, then again
as `revision` n + 1 only if late events changed its counts. Key: SLO|group|window|period, compacted,
so a final replaces the running record of its period.

Exact where the state is: calendar periods (the Finalizer's totals), rolling windows by the ring's
rounding rule. No-data time is counted in buckets of the ring's coarsest level (`no_data.resolution_s`): runs of buckets without a good or bad event
whose time outside exclusions lasts at least the SLO's no-data interval (default 15 minutes). Data quality is the SLO's (not the group's): the events it refused and the
service's dead letters, per quarter hour of event time (`compliance_log`). A day's busiest minute is
counted minute by minute as event time passes (`scan_peaks`), while the ring still holds minutes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from slawatch.core import evaluate as ev
from slawatch.core.calendar import periods
from slawatch.core.model import BudgetingMethod, CalendarUnit, CalendarWindow, RollingWindow, Slo
from slawatch.core.ring import first_bucket_from
from slawatch.core.finalizer import NO_TOTALS
from slawatch.core.plan import compliance_span_s, slice_seconds
from slawatch.core.slo_state import SloState
from slawatch.engine.compliance_log import DEAD_LETTERS, ComplianceLog, group_text
from slawatch.engine.records import rfc3339

SCHEMA_VERSION = 2
RUNNING_EVERY_S = 60.0
DEFAULT_NO_DATA_GAP_S = 900.0
DAY_S = 86400
MAX_CATCH_UP = 40  # closed periods finalised at once after a jump in event time (newest kept)
CALENDAR, ROLLING, DAILY = "calendar", "rolling", "daily"
ENGINE_REASONS = frozenset({"too_old", "too_far_ahead", "invalid"})  # counted from the state, not as dead letters
_NEG_INF = -math.inf


@dataclass(frozen=True, slots=True)
class ComplianceRecord:
    """One sla.records record; `index` numbers its period in its track (the final bookkeeping)."""

    key: str
    payload: dict
    final: bool
    index: int


@dataclass(frozen=True, slots=True)
class Period:
    window: str  # "month", "30d", "daily"
    kind: str  # CALENDAR, ROLLING or DAILY
    label: str  # "2026-11", "2026-11-14"
    start: float
    end: float
    length_s: float  # the budget's time base: the period, the rolling window, a day
    index: int  # calendar: the period's number (core.calendar); rolling and daily: the UTC day's
    time_zone: str = "UTC"


def record_key(slo: str, group: str | None, window: str, label: str) -> str:
    return f"{slo}|{group_text(group)}|{window}|{label}"


def _utc_date(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).date().isoformat()


def calendar_label(window: CalendarWindow, index: int) -> str:
    """"2026-11-14", "2026-W46", "2026-11", "2026-Q4", "2026"; with count > 1 the first date."""
    first = periods(window).first_date(index)
    if window.count > 1 or window.unit is CalendarUnit.DAY:
        return first.isoformat()
    if window.unit is CalendarUnit.WEEK:
        year, week, _ = first.isocalendar()
        return f"{year}-W{week:02d}"
    if window.unit is CalendarUnit.MONTH:
        return f"{first.year}-{first.month:02d}"
    if window.unit is CalendarUnit.QUARTER:
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    return str(first.year)


def calendar_period(window: CalendarWindow, index: int) -> Period:
    start, end = periods(window).bounds_of_index(index)
    return Period(window.name, CALENDAR, calendar_label(window, index), start, end, end - start, index,
                  window.time_zone)


def rolling_period(window: RollingWindow, end: float) -> Period:
    """The window ending at `end`, labelled with the UTC day `end` closes (or is in, while running)."""
    day = math.ceil(end / DAY_S) - 1
    return Period(window.name, ROLLING, _utc_date(day * DAY_S), end - window.duration_s, end, window.duration_s, day)


def daily_period(day: int) -> Period:
    return Period(DAILY, DAILY, _utc_date(day * DAY_S), day * DAY_S, (day + 1) * DAY_S, DAY_S, day)


# Figures of one period.
def _holding_level(state: SloState, start: float) -> int | None:
    """The finest ring level that still holds instant `start`."""
    for level in range(len(state.ring.levels)):
        if state.ring.would_keep(start, level):
            return level
    return None


def _counting_level(state: SloState, period: Period) -> int:
    """The level a period's counts are read at: the rolling window's own (as its gauges read it),
    else the finest holding the period's start, else the coarsest (a day longer than the ring)."""
    if period.kind == ROLLING:
        return state.ring.level_for(period.length_s)
    found = _holding_level(state, period.start)
    return len(state.ring.levels) - 1 if found is None else found


def _counts(state: SloState, period: Period, stop: float) -> tuple[float, int, int]:
    """(good, total, excluded events) of the period up to `stop`, in budgeting units."""
    if period.kind == CALENDAR:
        window = next(w for w in state.slo.windows if isinstance(w, CalendarWindow) and w.name == period.window)
        good, total = ev.calendar_good_total(state, window, period.start)
        index = periods(window).index_of(period.start)[0]
        kept = state.finalizer.totals.get(window, {}).get(index) or NO_TOTALS
        return good, total, kept.excluded + state.ring.interval(period.start, period.end, state.plan.fine)[2]
    good, bad, excluded = state.ring.interval(period.start, stop, _counting_level(state, period))
    if slice_seconds(state.slo) is None:
        return good, good + bad, excluded
    slices = ev.slice_stats(state, period.start, stop)
    ratio = state.slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES
    return (slices.ratio_sum if ratio else slices.good_slices), slices.slices, excluded


def _per_bucket(state: SloState, level: int, start: float, stop: float) -> tuple[int, int, list[int]]:
    """(resolution, first bucket, counted events per bucket) of the buckets starting in [start, stop)
    at `level`; buckets past the state's head (a quiet group) are empty."""
    resolution = state.ring.levels[level].resolution_s
    first, end = first_bucket_from(start, resolution), first_bucket_from(stop, resolution)
    goods, bads = state.ring.bucket_columns(start, stop, level)
    counted = [g + b for g, b in zip(goods, bads)]
    return resolution, first, counted + [0] * (end - first - len(counted))


def no_data_gap_s(slo: Slo) -> float:
    """The shortest stretch without events that counts as no data: the SLO's no-data interval, else
    DEFAULT_NO_DATA_GAP_S (a quiet minute between two events of a thin service is not missing data)."""
    return float(slo.alerting.no_data_after_s or DEFAULT_NO_DATA_GAP_S)


def no_data(state: SloState, start: float, stop: float, schedule) -> dict:
    """Time of [start, stop) in runs of buckets of the ring's coarsest level without a counted event
    whose time outside exclusions adds up to at least the SLO's no-data gap (excluded time neither
    counts nor breaks a run). The coarsest level holds every reported period whole, so every record
    of the SLO counts in the same buckets, whenever it was made."""
    gap = no_data_gap_s(state.slo)
    level = len(state.ring.levels) - 1  # the coarsest: the same buckets for every period of the SLO
    if not state.ring.would_keep(start, level):
        return {"seconds": None, "resolution_s": None, "min_gap_s": gap}
    resolution, first, counted = _per_bucket(state, level, start, stop)
    seconds = run = 0.0
    for k, n in enumerate([*counted, 1], start=first):  # a sentinel ends the last run
        if n == 0:
            edge = k * resolution
            run += resolution - (schedule.excluded_seconds(edge, edge + resolution) if schedule else 0.0)
            continue
        if run >= gap:
            seconds += run
        run = 0.0
    return {"seconds": round(seconds, 3), "resolution_s": resolution, "min_gap_s": gap}


def _minute_level(state: SloState) -> int | None:
    """The coarsest level of a minute or finer that divides a minute (the longest it keeps minutes)."""
    found = [i for i, spec in enumerate(state.ring.levels) if spec.resolution_s <= 60 and 60 % spec.resolution_s == 0]
    return found[-1] if found else None


def scan_peaks(log: ComplianceLog, group: str | None, state: SloState, upto: float) -> None:
    """Count the minutes since the last scan (the last one again: it may have grown) into the day's
    busiest minute, while the ring still holds them at a minute or finer."""
    level = _minute_level(state)
    if level is None or state.watermark == _NEG_INF:
        return
    last = math.floor(min(upto, state.watermark) / 60)
    first = log.peak_scan_from(group, last)
    for minute in range(first, last + 1):
        if state.ring.would_keep(minute * 60, level):
            good, bad, _ = state.ring.interval(minute * 60, minute * 60 + 60, level)
            log.note_minute(group, minute, good + bad)
    log.peaks_scanned(group, last)


def budget(objective: float, good: float, total: int, length_s: float) -> dict:
    """Allowed, used and remaining error budget, in budgeting units and as minutes of full outage."""
    allowed = (1.0 - objective) * total
    used = total - good
    used_ratio = used / allowed if allowed > 0 else None
    allowed_minutes = (1.0 - objective) * length_s / 60.0
    used_minutes = None if used_ratio is None else used_ratio * allowed_minutes
    return {"allowed": _r(allowed, 4), "used": _r(used, 4), "remaining": _r(allowed - used, 4),
            "used_ratio": _r(used_ratio, 6), "remaining_ratio": _r(None if used_ratio is None else 1 - used_ratio, 6),
            "allowed_minutes": _r(allowed_minutes, 3), "used_minutes": _r(used_minutes, 3),
            "remaining_minutes": _r(None if used_minutes is None else allowed_minutes - used_minutes, 3)}


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _alert_json(alert: dict, as_of: float) -> dict:
    end = alert["end"]
    return {**alert, "start": rfc3339(alert["start"]), "end": rfc3339(end),
            "duration_s": round((as_of if end is None else end) - alert["start"], 3)}


def build(rt, group: str | None, state: SloState, period: Period, as_of: float, wall_now: float, final: bool,
          revision: int = 0) -> ComplianceRecord:
    """The record of `period` for one group, its figures taken at event time `as_of` (a final's: its end)."""
    slo: Slo = rt.slo
    log: ComplianceLog = rt.compliance
    stop = min(as_of, period.end)
    good, total, excluded_events = _counts(state, period, stop)
    sli = good / total if total else None
    schedule = log.schedule
    slices = slice_seconds(slo) is not None
    payload = {
        "schema_version": SCHEMA_VERSION, "slo": slo.name, "service": slo.service,
        "group": None if group is None or slo.group_by is None else {slo.group_by.dimension.value: group},
        "contractual": slo.contractual, "window": period.window, "window_kind": period.kind,
        "time_zone": period.time_zone, "period": period.label,
        "start": rfc3339(period.start), "end": rfc3339(period.end),
        "status": "final" if final else "running", "revision": revision,
        "as_of": rfc3339(stop), "observed_at": rfc3339(wall_now),
        "elapsed_ratio": 1.0 if period.kind == ROLLING else _r((stop - period.start) / (period.end - period.start), 6),
        "objective": slo.objective, "unit": "slices" if slices else "events",
        "good": round(good, 6) if isinstance(good, float) else int(good), "bad": _r(total - good, 6),
        "total": int(total), "sli": _r(sli, 6), "attained": None if sli is None else sli >= slo.objective,
        "budget": budget(slo.objective, good, total, period.length_s),
        "excluded": {"events": int(excluded_events),
                     "seconds": round(schedule.excluded_seconds(period.start, stop), 3) if schedule else 0.0},
        "no_data": no_data(state, period.start, stop, schedule),
        "peak_per_minute": log.peak_of(group, period.index) if period.kind == DAILY else None,
        "alerts": [_alert_json(a, stop) for a in log.alerts_in(group, period.start, stop)],
        "data_quality": log.quality_in(period.start, stop),
    }
    key = record_key(slo.name, group, period.window, period.label)
    return ComplianceRecord(key, payload, final, period.index)


# Which records are due.
def _windows(slo: Slo) -> list:
    return list(dict.fromkeys(w for w in slo.windows if isinstance(w, (CalendarWindow, RollingWindow))))


def current_periods(slo: Slo, as_of: float) -> list[Period]:
    """The open period of every window at `as_of`, the day included."""
    out = []
    for window in _windows(slo):
        if isinstance(window, CalendarWindow):
            out.append(calendar_period(window, periods(window).index_of(as_of)[0]))
        else:
            out.append(rolling_period(window, as_of))
    out.append(daily_period(math.floor(as_of / DAY_S)))
    return out


def running_records(rt, wall_now: float) -> list[ComplianceRecord]:
    """The running record of every window and group at the SLO's watermark."""
    as_of = rt.watermark
    if as_of == _NEG_INF:
        return []
    return [build(rt, group, state, period, as_of, wall_now, final=False)
            for group, state in rt.groups() for period in current_periods(rt.slo, as_of)]


def _index_of(window, t: float) -> int:
    """The number of the period containing t: a calendar period, or the UTC day (rolling, daily)."""
    return periods(window).index_of(t)[0] if isinstance(window, CalendarWindow) else math.floor(t / DAY_S)


def _closed_period(window, index: int) -> Period:
    if isinstance(window, CalendarWindow):
        return calendar_period(window, index)
    if isinstance(window, RollingWindow):
        return rolling_period(window, (index + 1) * DAY_S)
    return daily_period(index)


def _retained(state: SloState, period: Period) -> bool:
    """Whether the state still gives the period's figures: a calendar period's totals, the whole of a
    rolling window at the level serving it, some of a day (its record says how much is no-data)."""
    if period.kind == ROLLING:
        return state.ring.would_keep(period.start, state.ring.level_for(period.length_s))
    return period.end > state.ring.oldest_instant()


def _tracks(slo: Slo) -> list:
    """What gets final records: every calendar and rolling window, and the day (DAILY)."""
    return [*_windows(slo), DAILY]


def _track_name(track) -> str:
    return track if track == DAILY else track.name


def _finals(rt, group: str | None, state: SloState, wall_now: float) -> list[ComplianceRecord]:
    """Finals of the periods closed since the last one sent (without one: the previous period), with
    data. A track is marked checked only when it had nothing to send, so a send that failed is retried."""
    log: ComplianceLog = rt.compliance
    out = []
    for track in _tracks(rt.slo):
        book = f"{group_text(group)}|{_track_name(track)}"
        current = _index_of(track, rt.watermark)
        if log.checked.get(book) == current:
            continue
        done = log.finals.get(book)
        first = current - 1 if done is None else max(done[0] + 1, current - MAX_CATCH_UP)
        found = []
        for index in range(first, current):
            period = _closed_period(track, index)
            if _retained(state, period):
                record = build(rt, group, state, period, period.end, wall_now, final=True)
                if record.payload["total"] or record.payload["excluded"]["events"]:
                    found.append(record)
        if not found:
            log.checked[book] = current
        out += found
    return out


def _revisions(rt, group: str | None, state: SloState, wall_now: float) -> list[ComplianceRecord]:
    """Finals whose counts late events changed since they were sent, as their next revision."""
    log: ComplianceLog = rt.compliance
    gkey = group_text(group)
    if log.late_seen.setdefault(gkey, state.late) == state.late:
        return []
    log.late_seen[gkey] = state.late
    out = []
    for track in _tracks(rt.slo):
        done = log.finals.get(f"{gkey}|{_track_name(track)}")
        if done is None:
            continue
        period = _closed_period(track, done[0])
        if not _retained(state, period):
            continue
        good, total, _ = _counts(state, period, period.end)
        if (round(good, 6), total) != (round(done[1], 6), done[2]):
            out.append(build(rt, group, state, period, period.end, wall_now, final=True, revision=done[3] + 1))
    return out


def due(rt, wall_now: float, running: bool = True) -> list[ComplianceRecord]:
    """The records to publish now: finals of periods event time has closed (and their revisions),
    then, if `running`, every running record when RUNNING_EVERY_S has passed and events arrived."""
    if rt.watermark == _NEG_INF:
        return []
    log: ComplianceLog = rt.compliance
    log.prune(rt.watermark - max(compliance_span_s(w) for w in [*_windows(rt.slo), RollingWindow(DAY_S)]) - DAY_S)
    out = []
    for group, state in rt.groups():
        log.sample_refusals(group, state, rt.watermark)
        scan_peaks(log, group, state, rt.watermark)
        out += _revisions(rt, group, state, wall_now)
        out += _finals(rt, group, state, wall_now)
    if running and wall_now - log.running_wall >= RUNNING_EVERY_S and rt.watermark > log.running_watermark:
        out += running_records(rt, wall_now)
    return out


def mark_sent(rt, records: Iterable[ComplianceRecord], wall_now: float) -> None:
    """The broker acknowledged these records: remember the finals, and when running ones went out."""
    log: ComplianceLog = rt.compliance
    for record in records:
        p = record.payload
        if record.final:
            book = f"{group_text(_group_value(p))}|{p['window']}"
            done = log.finals.get(book)
            if done is None or record.index >= done[0]:
                log.finals[book] = [record.index, p["good"], p["total"], p["revision"]]
        else:
            log.running_wall, log.running_watermark = wall_now, rt.watermark


def _group_value(payload: dict) -> str | None:
    group = payload["group"]
    return None if group is None else next(iter(group.values()))


def note_dead_letters(rt, count: int, wall_now: float) -> None:
    """Dead letters of the SLO's service, at its event time (the wall clock before its first event)."""
    at = rt.watermark if rt.watermark != _NEG_INF else wall_now
    rt.compliance.add_quality(at, DEAD_LETTERS, count)


def dead_letter_services(letters, reason_header: str) -> dict[str, int]:
    """Dead letters per record key (the service, for keyed producers), the engine's refusals left out
    (they are counted from the SLO's own state)."""
    out: dict[str, int] = {}
    for letter in letters:
        reason = dict(letter.headers).get(reason_header, b"").decode("utf-8", "replace")
        if letter.key and reason not in ENGINE_REASONS:
            service = letter.key.decode("utf-8", "replace")
            out[service] = out.get(service, 0) + 1
    return out
