"""relayout: a state carried into another plan keeps slices, periods and sketches exactly, or drops them.

The ring levels themselves are checked against brute force in tests/engine/test_catalog_edits.py;
here the parts a Finalizer and a SketchRing keep: closed slices, calendar totals, latency sketches.
"""

from __future__ import annotations

import math
import random

from core_strategies import BASE_TS, make_slo

from slawatch.core import evaluate as ev
from slawatch.core.model import (
    Budgeting,
    BudgetingMethod,
    BurnRateRule,
    CalendarUnit,
    CalendarWindow,
    GroupBy,
    GroupDimension,
    RollingWindow,
    Severity,
    SliKind,
)
from slawatch.core.relayout import relayout, relayout_grouped, trim_groups
from slawatch.core.slo_state import GroupedSloState, SloState

DAY = CalendarWindow(CalendarUnit.DAY, time_zone="Asia/Kolkata")  # edges at :30 past the UTC hour
MONTH = CalendarWindow(CalendarUnit.MONTH, time_zone="Asia/Kolkata")
SLICES = Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=60, timeslice_target=0.9)
FAST = (BurnRateRule("fast", Severity.PAGE, 3600, 300, 2.0, 14.4),)
DAY_LONG = (BurnRateRule("slow", Severity.TICKET, 86400, 3600, 10.0, 3.0),)


def fed(slo, seconds: int = 2 * 86400, every: float = 7.0, seed: int = 7) -> SloState:
    rng = random.Random(seed)
    state = SloState(slo, max_future_s=float("inf"))
    t = BASE_TS
    while t < BASE_TS + seconds:
        state.apply(t, rng.random() > 0.15, rng.choice([5.0, 40.0, 120.0, 900.0]))
        t += every * rng.random() * 2
    return state


def carried(old: SloState, slo) -> SloState:
    new = SloState(slo, max_future_s=float("inf"))
    relayout(old, new)
    return new


def test_a_timeslice_slo_whose_slice_level_shrinks_closes_the_slices_it_no_longer_keeps():
    old_slo = make_slo(windows=(RollingWindow(7 * 86400), MONTH), rules=DAY_LONG, budgeting=SLICES)
    new_slo = make_slo(windows=(RollingWindow(7 * 86400), MONTH), rules=FAST, budgeting=SLICES)
    old = fed(old_slo)
    new = carried(old, new_slo)
    assert old.levels[old.plan.fine].capacity > new.levels[new.plan.fine].capacity  # 1 d of minutes -> 6 h
    now = old.watermark + 1
    for window in new_slo.windows:
        assert ev.attainment(new, window, now) == ev.attainment(old, window, now)
    assert ev.attainment(new, MONTH, now - 86400) == ev.attainment(old, MONTH, now - 86400)
    for span in (300, 3600, 86400):
        mine, theirs = ev.slice_stats(new, now - span, now), ev.slice_stats(old, now - span, now)
        assert (mine.good_slices, mine.slices) == (theirs.good_slices, theirs.slices)
        assert math.isclose(mine.ratio_sum, theirs.ratio_sum, rel_tol=1e-12)  # summed in another order
    t = old.watermark + 30
    for state in (old, new):
        state.apply(t, False, 5.0)
        state.apply(t + 120, True, 5.0)
    assert ev.attainment(new, MONTH, t + 121) == ev.attainment(old, MONTH, t + 121)


def test_a_calendar_slo_whose_fine_level_coarsens_keeps_every_period_exact():
    old_slo = make_slo(windows=(RollingWindow(86400), DAY), rules=FAST)  # 10 s fine level (the 5 m window)
    new_slo = make_slo(windows=(RollingWindow(86400), DAY), rules=DAY_LONG)  # 1 min fine level
    old = fed(old_slo)
    new = carried(old, new_slo)
    assert (old.levels[0].resolution_s, new.levels[0].resolution_s) == (10, 60)
    now = old.watermark + 1
    for t in (now, now - 86400, now - 2 * 86400):
        assert ev.calendar_good_total(new, DAY, t) == ev.calendar_good_total(old, DAY, t)


def test_a_percentile_slo_keeps_its_sketches_where_a_tier_can_hold_them_whole():
    old_slo = make_slo(kind=SliKind.LATENCY_PERCENTILE, windows=(RollingWindow(2 * 86400),), rules=FAST)
    new_slo = make_slo(kind=SliKind.LATENCY_PERCENTILE, windows=(RollingWindow(3 * 86400),), rules=DAY_LONG)
    old = fed(old_slo)
    new = carried(old, new_slo)
    assert old.sketches.levels != new.sketches.levels
    now = old.watermark + 1
    coarsest = len(new.sketches.levels) - 1
    r = new.sketches.levels[coarsest].resolution_s
    whole = new.sketches.merged(coarsest, -(2**62), 2**62)
    before = old.sketches.merged(len(old.sketches.levels) - 1, -(2**62), 2**62)
    assert (whole.count, whole.bins) == (before.count, before.bins)  # every latency once, none lost
    assert ev.percentile(new, 3 * 86400, now) == ev.percentile(old, 2 * 86400, now)
    assert new.sketches.merged(coarsest, int(now // r) - 2, int(now // r)).count <= whole.count


def test_grouped_states_carry_every_group_and_trim_past_the_cap():
    old_slo = make_slo(windows=(RollingWindow(86400),), rules=FAST, group_by=GroupBy(GroupDimension.CUSTOMER, 5))
    new_slo = make_slo(windows=(RollingWindow(3 * 86400),), rules=FAST, group_by=GroupBy(GroupDimension.CUSTOMER, 2))
    old = GroupedSloState(old_slo)
    for i, customer in enumerate(["acme", "globex", "initech", "acme"]):
        old.apply(customer, BASE_TS + i * 60, i % 3 != 0, partition=0, offset=i)
    new = GroupedSloState(new_slo)
    relayout_grouped(old, new)
    assert (new.offsets, new.duplicates, new.overflowed) == (old.offsets, old.duplicates, old.overflowed)
    assert trim_groups(new) == ["initech"] and list(new.groups) == ["acme", "globex"]
    for name in new.groups:
        assert ev.window_stats(new.groups[name], 86400, BASE_TS + 300) == ev.window_stats(old.groups[name], 86400, BASE_TS + 300)
