"""Slow, literal reference implementations the tests hold the fast code to (test oracles).

`conditions(state, now)` states every event-time condition of an SLO's policy directly from the
`core.evaluate` functions, window by window, the way `core.policies` documents them; the engine's
`Policy.conditions` reads each window once and builds only what it must, and the equivalence tests
check that it returns exactly this.
"""

from __future__ import annotations

from slawatch.core import evaluate as ev
from slawatch.core.durations import format_duration
from slawatch.core.model import CalendarWindow
from slawatch.core.policies import (
    BREACH,
    BUDGET_CONSUMED,
    BURN_RATE,
    FORECAST,
    SLA_AT_RISK,
    SLO_BREACH,
    WARNING,
    Condition,
    WindowReading,
    breach_text,
    budget_text,
    burn_rule_text,
    error_ratio_exceeds,
    forecast_text,
    forecast_window_s,
    sla_conditions,
)
from slawatch.core.plan import slice_seconds
from slawatch.core.slo_state import SloState


def reading(state: SloState, window_s: float, now: float, name: str | None = None) -> WindowReading:
    """SLI, burn rate and event count over the rolling window [now - window_s, now)."""
    events = ev.window_stats(state, window_s, now).total
    sli = ev.sli(state, window_s, now)
    burn = None if sli is None else ev.burn_rate(sli, state.slo.objective)
    return WindowReading(name or format_duration(int(window_s)), float(window_s), sli, burn, events)


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
        text = burn_rule_text(rule.factor, rule.budget_percent, period, long_r.window, short_r.window,
                              slo.alerting.min_events)
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
    p_burn = None if att.sli is None else ev.burn_rate(att.sli, slo.objective)
    p_reading = WindowReading(primary.name, att.end - att.start, att.sli, p_burn, att.total)
    out = burn_conditions(state, now, budget)
    for threshold in slo.alerting.budget_consumed_thresholds:
        holds = enough and status.consumed is not None and status.consumed >= threshold
        out.append(Condition(f"budget-{threshold * 100:g}", BUDGET_CONSUMED, WARNING, holds,
                             budget_text(threshold, primary.name), (p_reading,), *budget,
                             family="budget", rank=-threshold))
    calendar = isinstance(primary, CalendarWindow)
    contract_period = slo.contractual and calendar
    if slo.alerting.forecast:
        f_reading = reading(state, fwin, now)
        horizon = att.end - now if calendar else float(primary.duration_s)
        holds = (enough and f_reading.events >= guard and status.exhausted_in_s is not None
                 and status.exhausted_in_s < horizon and status.remaining is not None and status.remaining > 0
                 and (calendar or (status.burn_rate or 0.0) > 1.0))
        kind = SLA_AT_RISK if contract_period else FORECAST
        out.append(Condition("forecast", kind, WARNING, holds, forecast_text(f_reading.window, primary.name, calendar),
                             (f_reading, p_reading), *budget))
    if not contract_period:
        holds = enough and att.met is False
        out.append(Condition("slo-breach", SLO_BREACH, BREACH, holds, breach_text(primary.name, slo.objective),
                             (p_reading,), *budget))
    if slo.contractual:
        out += sla_conditions(state, now, budget)
    return out
