"""Policy conditions at one instant: each kind holds exactly when its definition says."""

from __future__ import annotations

from dataclasses import replace

from engine_helpers import BASE, PAGE, TICKET, make_slo
from oracles import conditions

from slawatch.core.model import AlertPolicy, CalendarUnit, CalendarWindow, RollingWindow
from slawatch.core.policies import BURN_RATE, SLA_BREACH, forecast_window_s, no_data
from slawatch.core.slo_state import SloState


def fed(slo, pattern, start=BASE, gap=1.0):
    """A state fed one event per `gap` seconds; pattern is a string of '.' (good) and 'x' (bad)."""
    state = SloState(slo, max_future_s=1e9)
    for i, mark in enumerate(pattern):
        state.apply(start + i * gap, mark == ".")
    return state


def by_id(state, now):
    return {c.id: c for c in conditions(state, now)}


def test_a_burn_rule_holds_only_when_both_windows_reach_the_factor():
    slo = make_slo()
    quiet_then_outage = fed(slo, "." * 600 + "x" * 30)
    now = BASE + 630
    page = by_id(quiet_then_outage, now)["page-fast"]
    assert page.holds and page.type == BURN_RATE and page.severity == "page"
    assert [w.window for w in page.windows] == ["2m", "10s"]
    assert all(w.burn_rate >= PAGE.factor for w in page.windows)
    recovered = fed(slo, "." * 600 + "x" * 30 + "." * 20)
    assert not by_id(recovered, BASE + 650)["page-fast"].holds  # short window clean, long still burning
    assert by_id(recovered, BASE + 650)["page-fast"].windows[0].burn_rate >= PAGE.factor


def test_fewer_events_than_min_events_in_a_window_never_holds():
    slo = make_slo(alerting=AlertPolicy((PAGE, TICKET), min_events=50))
    sparse_outage = fed(slo, "x" * 30, gap=5.0)  # 2 events per 10 s window, 24 per 2 m
    assert not by_id(sparse_outage, BASE + 150)["page-fast"].holds
    assert by_id(fed(make_slo(), "x" * 30, gap=5.0), BASE + 150)["page-fast"].holds


def test_budget_thresholds_count_the_primary_window_and_a_higher_one_ranks_first():
    slo = make_slo(alerting=AlertPolicy((PAGE,), budget_consumed_thresholds=(0.5, 0.75), min_events=0))
    state = fed(slo, "." * 999 + "x" * 6)  # 6 bad of 1005 with a 1 % budget: ~60 % consumed
    found = by_id(state, BASE + 1005)
    assert found["budget-50"].holds and not found["budget-75"].holds
    assert found["budget-75"].rank < found["budget-50"].rank
    assert 0.35 < found["budget-50"].budget_remaining_ratio < 0.45


def test_the_forecast_warns_when_the_budget_runs_out_within_the_window_and_says_when():
    slo = make_slo()
    assert forecast_window_s(slo) == PAGE.long_window_s  # the slowest page rule's long window
    state = fed(slo, "." * 1000 + "x........." * 6)  # 6 bad: 57 % of the budget, burning at 5 over 2 m
    forecast = by_id(state, BASE + 1060)["forecast"]
    assert forecast.holds
    assert BASE + 1060 < forecast.predicted_exhaustion_at < BASE + 1060 + 86400
    assert not by_id(fed(slo, "." * 1000), BASE + 1000)["forecast"].holds


def test_an_slo_breach_is_attainment_below_the_objective():
    slo = make_slo()
    assert by_id(fed(slo, "." * 99 + "x"), BASE + 100)["slo-breach"].holds is False  # exactly 99 %
    assert by_id(fed(slo, "." * 98 + "xx"), BASE + 100)["slo-breach"].holds is True


def test_a_contractual_sla_is_breached_early_when_it_can_no_longer_be_met_and_when_the_period_missed():
    day = CalendarWindow(CalendarUnit.DAY)
    slo = make_slo(windows=(day, RollingWindow(86400)), contractual=True, objective=0.999)
    # An hour of traffic, then 20 % failures: 100 bad of a day's 86,400 events misses 99.9 %.
    state = fed(slo, "." * 3600 + "x...." * 100, gap=1.0)
    sla = [c for c in conditions(state, BASE + 4100) if c.type == SLA_BREACH]
    assert [c.id for c in sla] == ["sla-day-unattainable@2026-01-05T00:00Z"]
    assert "slo-breach" not in by_id(state, BASE + 4100)  # the contract covers the calendar primary window
    state.apply(BASE + 86400 + 5, True)  # the next day begins: yesterday ended below target
    missed = [c for c in conditions(state, BASE + 86400 + 6) if c.type == SLA_BREACH]
    assert [c.id for c in missed] == ["sla-day-missed@2026-01-05T00:00Z"]
    assert missed[0].since == BASE + 86400


def test_no_data_holds_after_the_interval_by_wall_clock_with_a_deterministic_onset():
    slo = make_slo(alerting=replace(make_slo().alerting, no_data_after_s=120))
    assert not no_data(slo, 1000.0 + 120, 1000.0).holds
    silent = no_data(slo, 1000.0 + 121, 1000.0)
    assert silent.holds and silent.since == 1120.0
    assert no_data(make_slo(), 5000.0, 1000.0) is None  # no interval declared, no alert


def _policy_cases():
    from slawatch.core.model import Budgeting, BudgetingMethod

    day = CalendarWindow(CalendarUnit.DAY)
    return [
        make_slo(),
        make_slo(alerting=AlertPolicy((PAGE, TICKET), budget_consumed_thresholds=(0.5, 0.75), min_events=5)),
        make_slo(windows=(day, RollingWindow(86400)), contractual=True, objective=0.999),
        make_slo(windows=(RollingWindow(86400), day)),
        make_slo(budgeting=Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=60, timeslice_target=0.9)),
        make_slo(budgeting=Budgeting(BudgetingMethod.RATIO_TIMESLICES, timeslice_s=60)),
    ]


def test_the_compiled_policy_equals_the_reference_conditions():
    """Policy (the engine's decision path) computes exactly `conditions`, and builds only what it must."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from slawatch.core.policies import Policy

    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(range(len(_policy_cases()))), st.text(".x", min_size=1, max_size=400),
           st.sampled_from([0.5, 1.0, 7.0, 60.0]), st.floats(0, 200))
    def check(case, pattern, gap, after):
        slo = _policy_cases()[case]
        state = fed(slo, pattern, gap=gap)
        now = BASE + len(pattern) * gap + after
        reference = conditions(state, now)
        policy = Policy(slo)
        assert policy.conditions(state, now) == reference
        holding = [c for c in reference if c.holds]
        assert [c for c in policy.conditions(state, now, ()) if c.holds] == holding
        wanted = {c.id for c in reference[::2]}
        sparse = policy.conditions(state, now, wanted)
        assert sparse == [c for c in reference if c.holds or c.id in wanted]

    check()
