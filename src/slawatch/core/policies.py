"""The conditions of an SLO's alert policy at one event-time instant, as plain frozen values.

`conditions(state, now)` answers "which alert conditions hold at `now`?" for one SloState (one
group); `no_data(slo, wall_now, last_received_wall)` answers the one wall-clock question. Neither
keeps memory: what fired before, hysteresis and notification are `alerts.AlertBook`'s job, so this
module can be checked against a brute-force recomputation from raw events.

Conditions (ids are stable strings; `@` marks a per-period id, see `sla_conditions`):
- burn rate (`<rule name>`, page/ticket): the error ratio exceeds factor x (1 - objective) over BOTH
  the long and the short window - exactly Sloth's/Pyrra's `ratio > factor * (1 - objective)`, so
  `>` and the ratio, not the burn rate (1 - sli) / (1 - objective), whose rounding differs - each
  window holding at least `min_events` events (fewer, or none: does not hold). Rules of one
  severity form one inhibition family, ranked by long window: a faster rule inhibits a slower one.
- budget consumed (`budget-50` ...): at least that share of the PRIMARY window's budget is spent;
  a higher threshold inhibits a lower one.
- exhaustion forecast (`forecast`): at the burn rate over `forecast_window_s` (the long window of
  the slowest page rule: 6 h for 30 d, 12 m for 1 d) the remaining budget runs out before the
  horizon: the period end of a calendar primary window, or the window length of a rolling one. A
  rolling window only runs out at burn > 1 (at a steady burn b <= 1 it settles at 1 - b), so that is
  required too. On a contractual calendar primary window this is `sla_at_risk`.
- SLO breach (`slo-breach`): primary-window attainment < objective (not for a contractual SLO whose
  primary window is a calendar period: the SLA conditions cover it).
- SLA breach, contractual SLOs, per calendar window: `sla-<w>-unattainable@<period start>` while
  even all-good remaining traffic cannot reach the objective (`best_possible`), and
  `sla-<w>-missed@<period start>` during the period after one that ended below target.
- no data (`no-data`, wall clock): no event received for longer than `no_data_after_s`.
The low-traffic guard (`min_events`) applies to every window a condition reads; exclusions apply
because excluded events never reach good/total in the state.
"""

from __future__ import annotations

from dataclasses import dataclass

from slawatch.core import evaluate as ev
from slawatch.core.calendar import period_bounds, previous_period_bounds
from slawatch.core.durations import format_duration
from slawatch.core.model import CalendarWindow, Severity, Slo
from slawatch.core.slo_state import SloState, slice_seconds

# Alert types and severities as they appear in payloads (topics/sla.warnings.yaml).
BURN_RATE, BUDGET_CONSUMED, FORECAST = "burn_rate", "budget_consumed", "exhaustion_forecast"
SLO_BREACH, SLA_BREACH, SLA_AT_RISK, NO_DATA = "slo_breach", "sla_breach", "sla_at_risk", "no_data"
EVENT_TIME_TYPES = frozenset({BURN_RATE, BUDGET_CONSUMED, FORECAST, SLO_BREACH, SLA_BREACH, SLA_AT_RISK})
BREACH_TYPES = frozenset({SLO_BREACH, SLA_BREACH})  # these go to sla.breaches, the rest to sla.warnings
WARNING, BREACH = "warning", "breach"


@dataclass(frozen=True, slots=True)
class WindowReading:
    window: str  # "2m", "1d", "month"
    seconds: float
    sli: float | None
    burn_rate: float | None
    events: int


@dataclass(frozen=True, slots=True)
class Condition:
    id: str
    type: str
    severity: str
    holds: bool
    rule: str  # the condition in words
    windows: tuple[WindowReading, ...] = ()
    budget_remaining_ratio: float | None = None
    budget_remaining_minutes: float | None = None
    predicted_exhaustion_at: float | None = None
    family: str = ""  # inhibition family: a firing member of lower rank inhibits higher ranks
    rank: float = 0.0
    short_window_s: float = 0.0  # the rule's short window (burn-rate conditions), for readers of the alert
    since: float | None = None  # when the condition began to hold, if the policy knows better than `now`


def forecast_window_s(slo: Slo) -> float:
    """The burn window forecasts use: the long window of the slowest page rule (else of any rule)."""
    rules = slo.alerting.burn_rate_rules
    pages = [r.long_window_s for r in rules if r.severity is Severity.PAGE]
    if pages:
        return float(max(pages))
    return float(max((r.long_window_s for r in rules), default=3600))


def reading(state: SloState, window_s: float, now: float, name: str | None = None) -> WindowReading:
    """SLI, burn rate and event count over the rolling window [now - window_s, now)."""
    events = ev.window_stats(state, window_s, now).total
    sli = ev.sli(state, window_s, now)
    burn = None if sli is None else max(0.0, 1.0 - sli) / (1.0 - state.slo.objective)
    return WindowReading(name or format_duration(int(window_s)), float(window_s), sli, burn, events)


def _ratio_text(value: float) -> str:
    return f"{value * 100:g}%"


def error_ratio_exceeds(ratio: float | None, events: int, factor: float, objective: float, guard: int) -> bool:
    """A burn-rate window fires: error ratio > factor x (1 - objective), with at least `guard` events."""
    return ratio is not None and events >= guard and ratio > factor * (1.0 - objective)


def error_ratio(state: SloState, window_s: float, now: float) -> float | None:
    """bad / total events over the window (as Prometheus divides the two rates), or 1 - SLI by slices."""
    if slice_seconds(state.slo) is not None:
        sli = ev.sli(state, window_s, now)
        return None if sli is None else 1.0 - sli
    stats = ev.window_stats(state, window_s, now)
    return stats.bad / stats.total if stats.total else None


def burn_conditions(state: SloState, now: float, budget: tuple) -> list[Condition]:
    slo, guard = state.slo, max(state.slo.alerting.min_events, 1)
    period = slo.windows[0].name
    out = []
    for rule in slo.alerting.burn_rate_rules:
        long_r = reading(state, rule.long_window_s, now)
        short_r = reading(state, rule.short_window_s, now)
        holds = all(error_ratio_exceeds(error_ratio(state, r.seconds, now), r.events, rule.factor, slo.objective, guard)
                    for r in (long_r, short_r))
        text = (f"burn rate > {rule.factor:.4g} over {long_r.window} and {short_r.window} "
                f"({rule.budget_percent:g}% of the {period} budget in {long_r.window})")
        if slo.alerting.min_events:
            text += f", at least {slo.alerting.min_events} events in each window"
        out.append(Condition(rule.name, BURN_RATE, rule.severity.value, holds, text, (long_r, short_r), *budget,
                             family=f"burn:{rule.severity.value}", rank=rule.long_window_s,
                             short_window_s=rule.short_window_s))
    return out


def conditions(state: SloState, now: float) -> list[Condition]:
    """Every event-time condition of the SLO's policy at `now`, holding or not."""
    slo = state.slo
    guard = max(slo.alerting.min_events, 1)
    primary = slo.windows[0]
    fwin = forecast_window_s(slo)
    status = ev.budget(state, primary, now, burn_window_s=fwin)
    att = ev.attainment(state, primary, now)
    enough = att.total >= guard
    predicted = None if status.exhausted_in_s is None else now + status.exhausted_in_s
    budget = (status.remaining, status.remaining_minutes, predicted)
    p_burn = None if att.sli is None else max(0.0, 1.0 - att.sli) / (1.0 - slo.objective)
    p_reading = WindowReading(primary.name, att.end - att.start, att.sli, p_burn, att.total)
    out = burn_conditions(state, now, budget)
    for threshold in slo.alerting.budget_consumed_thresholds:
        holds = enough and status.consumed is not None and status.consumed >= threshold
        out.append(Condition(f"budget-{threshold * 100:g}", BUDGET_CONSUMED, WARNING, holds,
                             f"{_ratio_text(threshold)} of the {primary.name} error budget consumed",
                             (p_reading,), *budget, family="budget", rank=-threshold))
    contract_period = slo.contractual and isinstance(primary, CalendarWindow)
    if slo.alerting.forecast:
        f_reading = reading(state, fwin, now)
        horizon = att.end - now if isinstance(primary, CalendarWindow) else float(primary.duration_s)
        holds = (enough and f_reading.events >= guard and status.exhausted_in_s is not None
                 and status.exhausted_in_s < horizon and status.remaining is not None and status.remaining > 0
                 and (isinstance(primary, CalendarWindow) or (status.burn_rate or 0.0) > 1.0))
        kind = SLA_AT_RISK if contract_period else FORECAST
        out.append(Condition("forecast", kind, WARNING, holds,
                             f"at the burn rate over {f_reading.window} the {primary.name} budget runs out "
                             f"before the {'period ends' if isinstance(primary, CalendarWindow) else 'window turns over'}",
                             (f_reading, p_reading), *budget))
    if not contract_period:
        holds = enough and att.met is False
        out.append(Condition("slo-breach", SLO_BREACH, BREACH, holds,
                             f"{primary.name} attainment below the objective {_ratio_text(slo.objective)} "
                             "(error budget exhausted)", (p_reading,), *budget))
    if slo.contractual:
        out += sla_conditions(state, now, budget)
    return out


def _stamp(t: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def sla_conditions(state: SloState, now: float, budget: tuple) -> list[Condition]:
    """Contract conditions per calendar window; ids carry the period start, so each period is its own
    alert, and a period's condition that is no longer evaluated (the period rolled over) counts as
    false for the lifecycle."""
    slo, guard = state.slo, max(state.slo.alerting.min_events, 1)
    out = []
    for window in slo.windows:
        if not isinstance(window, CalendarWindow):
            continue
        start, end = period_bounds(window, now)
        best = ev.best_possible(state, window, now)
        att = ev.attainment(state, window, now)
        if best is not None and att.total >= guard and best < slo.objective:
            out.append(Condition(
                f"sla-{window.name}-unattainable@{_stamp(start)}", SLA_BREACH, BREACH, True,
                f"the {window.name} target {_ratio_text(slo.objective)} can no longer be met "
                f"(best possible {best:.6g} with all remaining traffic good)",
                (WindowReading(window.name, end - start, att.sli, None, att.total),), *budget,
                since=None))
        p_start, p_end = previous_period_bounds(window, now)
        prev = ev.attainment(state, window, p_start)
        if prev.total >= guard and prev.met is False:
            out.append(Condition(
                f"sla-{window.name}-missed@{_stamp(p_start)}", SLA_BREACH, BREACH, True,
                f"the {window.name} starting {_stamp(p_start)} ended below the target {_ratio_text(slo.objective)}",
                (WindowReading(window.name, p_end - p_start, prev.sli, None, prev.total),), *budget,
                since=p_end))
    return out


def no_data(slo: Slo, wall_now: float, last_received_wall: float | None) -> Condition | None:
    """The no-data condition by wall clock, or None when the SLO declares no interval.

    `last_received_wall` is when the last event was received (or when the engine began watching
    the SLO); the condition holds once more than `no_data_after_s` has passed since, and its onset
    is that instant (deterministic, so a restarted worker computes the same alert id)."""
    after = slo.alerting.no_data_after_s
    if after is None or last_received_wall is None:
        return None
    silent_for = wall_now - last_received_wall
    holds = silent_for > after
    return Condition("no-data", NO_DATA, WARNING, holds,
                     f"no events received for more than {format_duration(after)} (wall clock)",
                     since=last_received_wall + after if holds else None)



class Policy:
    """`conditions` compiled once per SLO, for the engine's decisions (one per step edge per group).

    `conditions(state, now, wanted)` computes the same values as the module's `conditions` (the
    reference, which the tests compare it with), but reads each distinct window once per decision,
    keeps the texts, names and ids of the rules, and builds a Condition only for what holds or
    whose id is in `wanted` (the alerts the book holds for the group; None = every condition).
    Passing AlertBook.step the shorter list changes nothing: a condition that does not hold and
    has no alert is a no-op there. A healthy SLO therefore costs a few window sums per decision.
    """

    __slots__ = ("slo", "guard", "objective", "denom", "primary", "calendar", "contract_period", "fwin",
                 "slices", "rules", "thresholds", "forecast_text", "forecast_kind", "forecast_name",
                 "breach_text", "levels", "duration", "rolling_windows")

    def __init__(self, slo: Slo) -> None:
        self.slo = slo
        guard = slo.alerting.min_events
        self.guard = max(guard, 1)
        self.objective = slo.objective
        self.denom = 1.0 - slo.objective
        primary = self.primary = slo.windows[0]
        self.calendar = isinstance(primary, CalendarWindow)
        self.duration = None if self.calendar else float(primary.duration_s)
        self.contract_period = slo.contractual and self.calendar
        self.fwin = forecast_window_s(slo)
        self.slices = slice_seconds(slo) is not None
        period = primary.name
        rules = []
        for rule in slo.alerting.burn_rate_rules:
            long_name, short_name = format_duration(int(rule.long_window_s)), format_duration(int(rule.short_window_s))
            text = (f"burn rate > {rule.factor:.4g} over {long_name} and {short_name} "
                    f"({rule.budget_percent:g}% of the {period} budget in {long_name})")
            if guard:
                text += f", at least {guard} events in each window"
            rules.append((rule.name, rule.severity.value, rule.factor, rule.long_window_s, rule.short_window_s,
                          long_name, short_name, text, f"burn:{rule.severity.value}"))
        self.rules = tuple(rules)
        self.thresholds = tuple(
            (threshold, f"budget-{threshold * 100:g}",
             f"{_ratio_text(threshold)} of the {primary.name} error budget consumed")
            for threshold in slo.alerting.budget_consumed_thresholds)
        self.forecast_name = format_duration(int(self.fwin))
        self.forecast_kind = SLA_AT_RISK if self.contract_period else FORECAST
        self.forecast_text = (f"at the burn rate over {self.forecast_name} the {primary.name} budget runs out "
                              f"before the {'period ends' if self.calendar else 'window turns over'}")
        self.breach_text = (f"{primary.name} attainment below the objective {_ratio_text(slo.objective)} "
                            "(error budget exhausted)")
        self.levels: dict[float, int] = {}  # span -> ring level (`BucketRing.level_for`), memoised
        # Every rolling span a decision reads (core.quiet asks when each can next change).
        spans = {float(w) for rule in slo.alerting.burn_rate_rules for w in (rule.long_window_s, rule.short_window_s)}
        spans.add(float(self.fwin))
        if not self.calendar:
            spans.add(self.duration)
        self.rolling_windows = tuple(sorted(spans))

    def _events(self, state: SloState, window_s: float, now: float, cache: dict) -> tuple[int, int]:
        """(good, total) events over [now - window_s, now), as `evaluate.interval_stats`."""
        found = cache.get(window_s)
        if found is None:
            start = now - window_s
            span = now - start
            level = self.levels.get(span)
            if level is None:
                level = self.levels[span] = state.ring.level_for(span)
            good, bad = state.ring.good_bad(start, now, level)
            found = cache[window_s] = (good, good + bad)
        return found

    def _sli(self, state: SloState, window_s: float, now: float, cache: dict) -> float | None:
        """`evaluate.sli`: by events, or by slices for timeslice budgeting."""
        if self.slices:
            return ev.sli(state, window_s, now)
        good, total = self._events(state, window_s, now, cache)
        return good / total if total else None

    def _error_ratio(self, state: SloState, window_s: float, now: float, cache: dict) -> float | None:
        """`error_ratio`: bad / total events, or 1 - SLI by slices."""
        if self.slices:
            sli = self._sli(state, window_s, now, cache)
            return None if sli is None else 1.0 - sli
        good, total = self._events(state, window_s, now, cache)
        return (total - good) / total if total else None

    def conditions(self, state: SloState, now: float, wanted=None) -> list[Condition]:
        cache: dict = {}
        denom, guard, objective = self.denom, self.guard, self.objective
        # The primary window's attainment and budget (evaluate.attainment / evaluate.budget).
        if self.calendar:
            att = ev.attainment(state, self.primary, now)
            a_start, a_end, a_good, a_total, a_sli, a_met = att.start, att.end, att.good, att.total, att.sli, att.met
            period_s = a_end - a_start
        else:
            a_start, a_end = now - self.duration, now
            if self.slices:
                a_good, a_total = ev._good_and_total(state, a_start, now)
            else:
                a_good, a_total = self._events(state, self.duration, now, cache)
            a_sli = a_good / a_total if a_total else None
            a_met = None if a_sli is None else a_sli >= objective
            period_s = self.duration
        allowed = (1.0 - objective) * a_total
        consumed = (a_total - a_good) / allowed if a_total else None
        remaining = None if consumed is None else 1.0 - consumed
        fwin = self.fwin
        f_sli = self._sli(state, fwin, now, cache)
        rate = None if f_sli is None else max(0.0, 1.0 - f_sli) / denom
        exhausted_in = None
        if remaining is not None and rate is not None and rate > 0.0:
            exhausted_in = max(0.0, remaining) * period_s / rate
        enough = a_total >= guard
        budget = None
        out: list[Condition] = []

        def budget_values() -> tuple:
            total_minutes = (1.0 - objective) * period_s / 60.0
            return (remaining, None if remaining is None else remaining * total_minutes,
                    None if exhausted_in is None else now + exhausted_in)

        def primary_reading() -> WindowReading:
            p_burn = None if a_sli is None else max(0.0, 1.0 - a_sli) / denom
            return WindowReading(self.primary.name, a_end - a_start, a_sli, p_burn, a_total)

        for name, severity, factor, long_s, short_s, long_name, short_name, text, family in self.rules:
            l_sli = self._sli(state, long_s, now, cache)
            l_burn = None if l_sli is None else max(0.0, 1.0 - l_sli) / denom
            l_events = self._events(state, long_s, now, cache)[1]
            holds = error_ratio_exceeds(self._error_ratio(state, long_s, now, cache), l_events, factor, objective, guard)
            if holds or wanted is None or name in wanted:
                s_sli = self._sli(state, short_s, now, cache)
                s_burn = None if s_sli is None else max(0.0, 1.0 - s_sli) / denom
                s_events = self._events(state, short_s, now, cache)[1]
                holds = holds and error_ratio_exceeds(self._error_ratio(state, short_s, now, cache), s_events,
                                                      factor, objective, guard)
                if holds or wanted is None or name in wanted:
                    if budget is None:
                        budget = budget_values()
                    readings = (WindowReading(long_name, float(long_s), l_sli, l_burn, l_events),
                                WindowReading(short_name, float(short_s), s_sli, s_burn, s_events))
                    out.append(Condition(name, BURN_RATE, severity, holds, text, readings, *budget,
                                         family=family, rank=long_s, short_window_s=short_s))
        p_reading = None
        for threshold, cid, text in self.thresholds:
            holds = enough and consumed is not None and consumed >= threshold
            if holds or wanted is None or cid in wanted:
                if budget is None:
                    budget = budget_values()
                if p_reading is None:
                    p_reading = primary_reading()
                out.append(Condition(cid, BUDGET_CONSUMED, WARNING, holds, text, (p_reading,), *budget,
                                     family="budget", rank=-threshold))
        if self.slo.alerting.forecast:
            horizon = a_end - now if self.calendar else self.duration
            holds = (enough and exhausted_in is not None and exhausted_in < horizon
                     and remaining is not None and remaining > 0 and (self.calendar or (rate or 0.0) > 1.0))
            holds = holds and self._events(state, fwin, now, cache)[1] >= guard
            if holds or wanted is None or "forecast" in wanted:
                if budget is None:
                    budget = budget_values()
                if p_reading is None:
                    p_reading = primary_reading()
                f_events = self._events(state, fwin, now, cache)[1]
                f_reading = WindowReading(self.forecast_name, float(fwin), f_sli, rate, f_events)
                out.append(Condition("forecast", self.forecast_kind, WARNING, holds, self.forecast_text,
                                     (f_reading, p_reading), *budget))
        if not self.contract_period:
            holds = enough and a_met is False
            if holds or wanted is None or "slo-breach" in wanted:
                if budget is None:
                    budget = budget_values()
                if p_reading is None:
                    p_reading = primary_reading()
                out.append(Condition("slo-breach", SLO_BREACH, BREACH, holds, self.breach_text, (p_reading,), *budget))
        if self.slo.contractual:
            if budget is None:
                budget = budget_values()
            out += sla_conditions(state, now, budget)
        return out
