"""The conditions of an SLO's alert policy at one event-time instant, as plain immutable values.

`Policy(slo).conditions(state, now)` answers "which alert conditions hold at `now`?" for one
SloState (one group); `no_data(slo, wall_now, last_received_wall)` answers the one wall-clock
question. Neither keeps memory: what fired before, hysteresis and notification are
`alerts.AlertBook`'s job, so this module is checked against a brute-force recomputation from raw
events (`tests/oracles.py` holds the slow, literal reference the tests compare `Policy` with).

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

from collections.abc import Collection
from typing import NamedTuple

from slawatch.core import evaluate as ev
from slawatch.core.calendar import period_bounds, previous_period_bounds
from slawatch.core.durations import format_duration
from slawatch.core.evaluate import burn_rate
from slawatch.core.model import CalendarWindow, Severity, Slo
from slawatch.core.ring import Level
from slawatch.core.plan import slice_seconds
from slawatch.core.slo_state import SloState

# Alert types and severities as they appear in payloads (topics/sla.warnings.yaml).
BURN_RATE, BUDGET_CONSUMED, FORECAST = "burn_rate", "budget_consumed", "exhaustion_forecast"
SLO_BREACH, SLA_BREACH, SLA_AT_RISK, NO_DATA = "slo_breach", "sla_breach", "sla_at_risk", "no_data"
EVENT_TIME_TYPES = frozenset({BURN_RATE, BUDGET_CONSUMED, FORECAST, SLO_BREACH, SLA_BREACH, SLA_AT_RISK})
BREACH_TYPES = frozenset({SLO_BREACH, SLA_BREACH})  # these go to sla.breaches, the rest to sla.warnings
WARNING, BREACH = "warning", "breach"


class WindowReading(NamedTuple):
    window: str  # "2m", "1d", "month"
    seconds: float
    sli: float | None
    burn_rate: float | None
    events: int


class Condition(NamedTuple):
    """One condition at one instant. A NamedTuple: the engine builds one per held condition per
    decision, and a tuple is built several times faster than a frozen dataclass."""

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


class BudgetFigures(NamedTuple):
    """The primary window's budget as every condition of one decision reports it."""

    remaining_ratio: float | None
    remaining_minutes: float | None
    predicted_exhaustion_at: float | None


def forecast_window_s(slo: Slo) -> float:
    """The burn window forecasts use: the long window of the slowest page rule (else of any rule)."""
    rules = slo.alerting.burn_rate_rules
    pages = [r.long_window_s for r in rules if r.severity is Severity.PAGE]
    if pages:
        return float(max(pages))
    return float(max((r.long_window_s for r in rules), default=3600))


def ratio_text(value: float) -> str:
    return f"{value * 100:g}%"


def burn_rule_text(factor: float, budget_percent: float, period: str, long_name: str, short_name: str,
                   min_events: int) -> str:
    text = (f"burn rate > {factor:.4g} over {long_name} and {short_name} "
            f"({budget_percent:g}% of the {period} budget in {long_name})")
    if min_events:
        text += f", at least {min_events} events in each window"
    return text


def forecast_text(window_name: str, primary: str, calendar: bool) -> str:
    return (f"at the burn rate over {window_name} the {primary} budget runs out "
            f"before the {'period ends' if calendar else 'window turns over'}")


def breach_text(primary: str, objective: float) -> str:
    return f"{primary} attainment below the objective {ratio_text(objective)} (error budget exhausted)"


def budget_text(threshold: float, primary: str) -> str:
    return f"{ratio_text(threshold)} of the {primary} error budget consumed"


def error_ratio_exceeds(ratio: float | None, events: int, factor: float, objective: float, guard: int) -> bool:
    """A burn-rate window fires: error ratio > factor x (1 - objective), with at least `guard` events."""
    return ratio is not None and events >= guard and ratio > factor * (1.0 - objective)


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
                f"the {window.name} target {ratio_text(slo.objective)} can no longer be met "
                f"(best possible {best:.6g} with all remaining traffic good)",
                (WindowReading(window.name, end - start, att.sli, None, att.total),), *budget,
                since=None))
        p_start, p_end = previous_period_bounds(window, now)
        prev = ev.attainment(state, window, p_start)
        if prev.total >= guard and prev.met is False:
            out.append(Condition(
                f"sla-{window.name}-missed@{_stamp(p_start)}", SLA_BREACH, BREACH, True,
                f"the {window.name} starting {_stamp(p_start)} ended below the target {ratio_text(slo.objective)}",
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


class _Primary:
    """The primary window's figures one decision shares between its conditions; the budget and the
    primary reading are built on first use (most decisions report no condition)."""

    __slots__ = ("policy", "now", "start", "end", "good", "total", "sli", "met", "forecast", "period_s",
                 "consumed", "remaining", "rate", "exhausted_in", "enough", "_budget", "_reading")

    def __init__(self, policy: Policy, now: float, start: float, end: float, good: float, total: int,
                 sli: float | None, met: bool | None, forecast: _Reading) -> None:
        self.policy, self.now, self.start, self.end = policy, now, start, end
        self.good, self.total, self.sli, self.met, self.forecast = good, total, sli, met, forecast
        self.period_s = end - start if policy.calendar else policy.duration
        objective = policy.objective
        self.consumed = (total - good) / ((1.0 - objective) * total) if total else None
        self.remaining = None if self.consumed is None else 1.0 - self.consumed
        self.rate = None if forecast.sli is None else burn_rate(forecast.sli, objective)
        self.exhausted_in = None
        if self.remaining is not None and self.rate is not None and self.rate > 0.0:
            self.exhausted_in = max(0.0, self.remaining) * self.period_s / self.rate
        self.enough = total >= policy.guard
        self._budget: BudgetFigures | None = None
        self._reading: WindowReading | None = None

    def budget(self) -> BudgetFigures:
        if self._budget is None:
            total_minutes = (1.0 - self.policy.objective) * self.period_s / 60.0
            remaining, exhausted_in = self.remaining, self.exhausted_in
            self._budget = BudgetFigures(remaining, None if remaining is None else remaining * total_minutes,
                                         None if exhausted_in is None else self.now + exhausted_in)
        return self._budget

    def reading(self) -> WindowReading:
        if self._reading is None:
            burn = None if self.sli is None else burn_rate(self.sli, self.policy.objective)
            self._reading = WindowReading(self.policy.primary_name, self.end - self.start, self.sli, burn, self.total)
        return self._reading


class _Rule(NamedTuple):
    """A burn-rate rule with the names and text its conditions carry, made once per SLO."""

    name: str
    severity: str
    factor: float
    long_s: float
    short_s: float
    long_name: str
    short_name: str
    text: str
    family: str


class _Reading(NamedTuple):
    """What one decision reads of one rolling window: its SLI, error ratio and event count."""

    sli: float | None
    error_ratio: float | None
    good: int
    events: int

    def reading(self, name: str, seconds: float, objective: float) -> WindowReading:
        burn = None if self.sli is None else burn_rate(self.sli, objective)
        return WindowReading(name, float(seconds), self.sli, burn, self.events)


# Ring levels -> {span: level index}: `BucketRing.level_for` depends on the levels alone, so every
# Policy over states of one layout shares one memo (a new runtime's first decision needs no search).
_LEVEL_MEMOS: dict[tuple[Level, ...], dict[float, int]] = {}


class Policy:
    """The conditions of one SLO at an instant, compiled once per SLO for the engine's decisions.

    `conditions(state, now, wanted)` reads each distinct window once per decision, keeps the texts,
    names and ids of the rules, and builds a Condition only for what holds or whose id is in
    `wanted` (the alerts the book holds for the group; None = every condition, holding or not).
    Passing AlertBook.step the shorter list changes nothing: a condition that does not hold and
    has no alert is a no-op there. A healthy SLO therefore costs a few window sums per decision.
    """

    __slots__ = ("slo", "guard", "objective", "primary", "primary_name", "calendar", "contract_period", "fwin",
                 "slices", "rules", "thresholds", "forecast_text", "forecast_kind", "forecast_name",
                 "breach_text", "levels", "_levels_of", "duration", "rolling_windows")

    def __init__(self, slo: Slo) -> None:
        self.slo = slo
        min_events = slo.alerting.min_events
        self.guard = max(min_events, 1)
        self.objective = slo.objective
        primary = self.primary = slo.windows[0]
        self.primary_name = primary.name
        self.calendar = isinstance(primary, CalendarWindow)
        self.duration = None if self.calendar else float(primary.duration_s)
        self.contract_period = slo.contractual and self.calendar
        self.fwin = forecast_window_s(slo)
        self.slices = slice_seconds(slo) is not None
        rules = []
        for rule in slo.alerting.burn_rate_rules:
            long_name, short_name = format_duration(int(rule.long_window_s)), format_duration(int(rule.short_window_s))
            text = burn_rule_text(rule.factor, rule.budget_percent, primary.name, long_name, short_name, min_events)
            rules.append(_Rule(rule.name, rule.severity.value, rule.factor, rule.long_window_s, rule.short_window_s,
                               long_name, short_name, text, f"burn:{rule.severity.value}"))
        self.rules = tuple(rules)
        self.thresholds = tuple((threshold, f"budget-{threshold * 100:g}", budget_text(threshold, primary.name))
                                for threshold in slo.alerting.budget_consumed_thresholds)
        self.forecast_name = format_duration(int(self.fwin))
        self.forecast_kind = SLA_AT_RISK if self.contract_period else FORECAST
        self.forecast_text = forecast_text(self.forecast_name, primary.name, self.calendar)
        self.breach_text = breach_text(primary.name, slo.objective)
        self.levels: dict[float, int] = {}  # span -> ring level of the states read (see `level`)
        self._levels_of: tuple[Level, ...] | None = None
        # Every rolling span a decision reads (core.quiet asks when each can next change).
        spans = {float(w) for rule in slo.alerting.burn_rate_rules for w in (rule.long_window_s, rule.short_window_s)}
        spans.add(float(self.fwin))
        if not self.calendar:
            spans.add(self.duration)
        self.rolling_windows = tuple(sorted(spans))

    def level(self, state: SloState, span: float) -> int:
        """`state.ring.level_for(span)`, memoised per ring layout."""
        if state.levels is not self._levels_of:
            self._levels_of = state.levels
            self.levels = _LEVEL_MEMOS.setdefault(state.levels, {})
        level = self.levels.get(span)
        if level is None:
            level = self.levels[span] = state.ring.level_for(span)
        return level

    def _read(self, state: SloState, window_s: float, now: float, cache: dict) -> _Reading:
        """The window [now - window_s, now) as `evaluate.sli` and `evaluate.window_stats` read it."""
        found = cache.get(window_s)
        if found is None:
            start = now - window_s
            good, bad = state.ring.good_bad(start, now, self.level(state, now - start))
            total = good + bad
            if self.slices:
                sli = ev.sli(state, window_s, now)
                found = _Reading(sli, None if sli is None else 1.0 - sli, good, total)
            elif total:
                found = _Reading(good / total, bad / total, good, total)
            else:
                found = _Reading(None, None, 0, 0)
            cache[window_s] = found
        return found

    def conditions(self, state: SloState, now: float, wanted: Collection[str] | None = None) -> list[Condition]:
        """The SLO's conditions at `now`: every one (`wanted` None), or those that hold plus those
        named in `wanted` (the engine's decision: the alerts it has open)."""
        if wanted is not None and not wanted and not self.slo.contractual and not state.holds_bad():
            return []  # only holding conditions are asked for, and none can hold without a bad event
        cache: dict = {}
        primary = self._primary(state, now, cache)
        out = self._burn_conditions(state, now, wanted, cache, primary)
        out += self._budget_conditions(wanted, primary)
        if self.slo.alerting.forecast:
            out += self._forecast_condition(now, wanted, primary)
        if not self.contract_period:
            holds = primary.enough and primary.met is False
            if holds or wanted is None or "slo-breach" in wanted:
                out.append(Condition("slo-breach", SLO_BREACH, BREACH, holds, self.breach_text,
                                     (primary.reading(),), *primary.budget()))
        if self.slo.contractual:
            out += sla_conditions(state, now, primary.budget())
        return out

    def _primary(self, state: SloState, now: float, cache: dict) -> _Primary:
        """The primary window's attainment and budget (evaluate.attainment / evaluate.budget), and
        the forecast window's burn, which every condition of the decision reports."""
        if self.calendar:
            att = ev.attainment(state, self.primary, now)
            start, end, good, total, sli, met = att.start, att.end, att.good, att.total, att.sli, att.met
        else:
            start, end = now - self.duration, now
            if self.slices:
                good, total = ev._good_and_total(state, start, now)
            else:
                reading = self._read(state, self.duration, now, cache)
                good, total = reading.good, reading.events
            sli = good / total if total else None
            met = None if sli is None else sli >= self.objective
        forecast = self._read(state, self.fwin, now, cache)
        return _Primary(self, now, start, end, good, total, sli, met, forecast)

    def _burn_conditions(self, state: SloState, now: float, wanted, cache: dict, primary: _Primary) -> list[Condition]:
        out = []
        guard, objective = self.guard, self.objective
        for rule in self.rules:
            long_r = self._read(state, rule.long_s, now, cache)
            holds = error_ratio_exceeds(long_r.error_ratio, long_r.events, rule.factor, objective, guard)
            if not (holds or wanted is None or rule.name in wanted):
                continue
            short_r = self._read(state, rule.short_s, now, cache)
            holds = holds and error_ratio_exceeds(short_r.error_ratio, short_r.events, rule.factor, objective, guard)
            if not (holds or wanted is None or rule.name in wanted):
                continue
            readings = (long_r.reading(rule.long_name, rule.long_s, objective),
                        short_r.reading(rule.short_name, rule.short_s, objective))
            out.append(Condition(rule.name, BURN_RATE, rule.severity, holds, rule.text, readings, *primary.budget(),
                                 rule.family, rule.long_s, rule.short_s))
        return out

    def _budget_conditions(self, wanted, primary: _Primary) -> list[Condition]:
        out = []
        for threshold, cid, text in self.thresholds:
            holds = primary.enough and primary.consumed is not None and primary.consumed >= threshold
            if holds or wanted is None or cid in wanted:
                out.append(Condition(cid, BUDGET_CONSUMED, WARNING, holds, text, (primary.reading(),),
                                     *primary.budget(), "budget", -threshold))
        return out

    def _forecast_condition(self, now: float, wanted, primary: _Primary) -> list[Condition]:
        horizon = primary.end - now if self.calendar else self.duration
        exhausted_in, remaining, rate = primary.exhausted_in, primary.remaining, primary.rate
        holds = (primary.enough and exhausted_in is not None and exhausted_in < horizon
                 and remaining is not None and remaining > 0 and (self.calendar or (rate or 0.0) > 1.0)
                 and primary.forecast.events >= self.guard)
        if not (holds or wanted is None or "forecast" in wanted):
            return []
        f_reading = primary.forecast.reading(self.forecast_name, self.fwin, self.objective)
        return [Condition("forecast", self.forecast_kind, WARNING, holds, self.forecast_text,
                          (f_reading, primary.reading()), *primary.budget())]
