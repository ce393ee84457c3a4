"""A worker restarted with an edited catalogue restores every checkpoint and keeps counting.

Each test builds an Engine under catalogue v1, applies events, checkpoints, builds an Engine under
the edited catalogue that loads those checkpoints, applies more events, and checks what survived
(exactly, against the events), the reset tally, and that evaluate, status and gauges still answer.
"""

from __future__ import annotations

import math
import struct
from dataclasses import replace

import orjson
from engine_helpers import BASE, PAGE, TICKET, make_catalog, make_slo
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch import conventions as cv
from slawatch.core import evaluate as ev
from slawatch.core.event import Event
from slawatch.core.model import (
    AlertPolicy,
    BurnRateRule,
    CalendarUnit,
    CalendarWindow,
    GroupBy,
    GroupDimension,
    RollingWindow,
    Severity,
    Sli,
    SliKind,
)
from slawatch.core.ring import Level
from slawatch.engine import Engine
from slawatch.engine import checkpoint as cp

NAME = "api-availability"
WALL = BASE + 4 * 86400  # the wall clock of every apply: no event is ever too far ahead of it


def steady(start: float, seconds: float, every: float = 1.0, bad_every: int = 10, customer=None) -> list[Event]:
    """One event per `every` seconds from `start`, each `bad_every`-th failed."""
    n = int(seconds / every)
    return [Event("api", start + i * every, i % bad_every != 0, latency_ms=50.0 + i % 200, customer=customer,
                  operation="GET /x", region="eu") for i in range(n)]


def outage(start: float = BASE, seconds: int = 800, bad_from: int = 600, bad_to: int = 640) -> list[Event]:
    """Two events a second, all failing in [bad_from, bad_to): the page-fast rule fires."""
    return [Event("api", start + i * 0.5, not (bad_from <= i * 0.5 < bad_to), operation="GET /x", region="eu")
            for i in range(seconds * 2)]


class Run:
    """An Engine fed record by record (offsets from 0), with the events each SLO counted."""

    def __init__(self, engine: Engine, offset: int = 0) -> None:
        self.engine, self.offset, self.records = engine, offset, []

    def feed(self, events: list[Event], per_record: int = 50, wall_now: float | None = None,
             evaluate: bool = False) -> list:
        counted = []
        for i in range(0, len(events), per_record):
            chunk = events[i : i + per_record]
            wall = chunk[-1].ts if wall_now is None else wall_now
            applied = self.engine.apply(chunk, partition=0, offset=self.offset, wall_now=wall)
            refused = {id(e) for e, _, _ in applied.refused}
            counted += [e for e in chunk if id(e) not in refused]
            self.offset += 1
            if evaluate:
                self.records += self.engine.evaluate(wall)
        return counted

    def checkpoints(self) -> dict[str, bytes]:
        return {name: self.engine.checkpoint(name) for name in self.engine.held}


def restarted(table: dict[str, bytes], *slos, **options) -> Engine:
    """An Engine of the edited catalogue that has loaded each SLO (as a worker does on first use)."""
    engine = Engine(make_catalog(*slos), load_checkpoint=table.get, **options)
    for slo in slos:
        engine._runtime(slo.name)
    return engine


def state(engine: Engine, name: str = NAME):
    return engine._runtime(name).state


def good_total(events: list[Event], start: float = -math.inf, end: float = math.inf) -> tuple[int, int]:
    inside = [e for e in events if start <= e.ts < end]
    return sum(e.ok for e in inside), len(inside)


def counts(stats: ev.WindowStats) -> tuple[int, int]:
    return stats.good, stats.total


def assert_views_answer(engine: Engine, name: str = NAME, wall_now: float = WALL) -> None:
    """evaluate, status, records and gauges work on the restored SLO."""
    engine.evaluate(wall_now)
    assert engine.status(name, wall_now)
    engine.records(name, wall_now)
    gauges = {(n, tuple(sorted(labels.items()))): v for n, labels, v in engine.gauges()}
    assert gauges[(cv.METRIC_OBJECTIVE_RATIO, (("slo", name),))] == engine._slos[name].objective


# Re-bucketing, checked against the events: what the spec in core/relayout.py says is kept.
def kept_buckets(old_levels: tuple[Level, ...], latest_ts: float, new: Level) -> set[int]:
    """Buckets of `new` whose both edges are instants where the old ring knew how many events were
    at or after them, in a run ending at the new head (core/relayout.py's docstring)."""
    heads = [int(latest_ts // lv.resolution_s) for lv in old_levels]
    end = min((h + 1) * lv.resolution_s for h, lv in zip(heads, old_levels))

    def known(t: int) -> bool:
        return t >= end or any(t % lv.resolution_s == 0 and (h - lv.capacity + 1) * lv.resolution_s <= t
                               for h, lv in zip(heads, old_levels))

    r = new.resolution_s
    head = max(h * lv.resolution_s for h, lv in zip(heads, old_levels)) // r
    kept, k = set(), head
    while k > head - new.capacity and known(k * r) and known((k + 1) * r):
        kept.add(k)
        k -= 1
    return kept


def brute_columns(events: list[Event], level: Level, head: int, kept: set[int]) -> tuple[list, list, list]:
    first = head - level.capacity + 1
    columns = ([0] * level.capacity, [0] * level.capacity, [0] * level.capacity)
    for e in events:
        k = int(e.ts // level.resolution_s)
        if k in kept:
            columns[0 if e.ok else 1][k - first] += 1
    return columns


WINDOW_SETS = {
    "1d, page 2m/10s, ticket 48m/4m": ((RollingWindow(86400),), (PAGE, TICKET)),
    "7d, the same rules": ((RollingWindow(7 * 86400),), (PAGE, TICKET)),
    "6h, page 1h/5m": ((RollingWindow(6 * 3600),), (BurnRateRule("page-1h", Severity.PAGE, 3600, 300, 2.0, 14.4),)),
    "2d, page 2h/10m": ((RollingWindow(2 * 86400),), (BurnRateRule("page-2h", Severity.PAGE, 7200, 600, 2.0, 14.4),)),
    "3d, ticket 6h/1h": ((RollingWindow(3 * 86400),), (BurnRateRule("ticket-6h", Severity.TICKET, 21600, 3600, 10.0, 3.0),)),
}
STILL_RAISED = {"budget-50", "budget-75", "budget-90", "forecast", "slo-breach"}  # every window set has these
event_times = st.floats(min_value=0, max_value=3 * 86400, allow_nan=False).map(lambda x: BASE + x)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(WINDOW_SETS)), st.sampled_from(sorted(WINDOW_SETS)),
       st.lists(st.tuples(event_times, st.booleans()), min_size=1, max_size=150),
       st.lists(st.tuples(st.floats(0, 600), st.booleans()), max_size=30))
def test_rebucketing_keeps_exactly_the_events_inside_the_new_layouts_kept_span(before, after, stream, later):
    old_slo = make_slo(windows=WINDOW_SETS[before][0], alerting=AlertPolicy(WINDOW_SETS[before][1]))
    new_slo = make_slo(windows=WINDOW_SETS[after][0], alerting=AlertPolicy(WINDOW_SETS[after][1]))
    run = Run(Engine(make_catalog(old_slo)))
    counted = run.feed([Event("api", ts, ok) for ts, ok in stream], per_record=7, wall_now=WALL)
    old_levels = state(run.engine).levels
    raised = {rule for _, rule in run.engine._runtime(NAME).book.alerts}
    engine = restarted(run.checkpoints(), new_slo)
    restored = state(engine)
    expected = {(NAME, cp.WINDOWS_REBUCKETED): 1} if old_levels != restored.levels else {}
    if raised - {rule.name for rule in new_slo.alerting.burn_rate_rules} - STILL_RAISED:
        expected[(NAME, cp.ALERTS_RETIRED)] = 1  # alerts of burn rules the new catalogue does not have
    assert engine.state_resets == expected
    latest = max(e.ts for e in counted)
    for index, level in enumerate(restored.levels):
        kept = kept_buckets(old_levels, latest, level)
        head, columns = restored.ring.export_level(index)
        assert head == max(int(latest // lv.resolution_s) * lv.resolution_s for lv in old_levels) // level.resolution_s
        assert columns == brute_columns(counted, level, head, kept)
        if all(level.resolution_s % lv.resolution_s == 0 for lv in old_levels):
            # A multiple of every old resolution: every event the old ring retained (at the level
            # reaching furthest back) survives, from the first whole new bucket on.
            oldest = min((int(latest // lv.resolution_s) - lv.capacity + 1) * lv.resolution_s for lv in old_levels)
            since = max(math.ceil(oldest / level.resolution_s), head - level.capacity + 1) * level.resolution_s
            assert sum(columns[0]) + sum(columns[1]) == sum(1 for e in counted if e.ts >= since)
    more = [Event("api", latest + dt, ok) for dt, ok in sorted(later)]
    counted_later = Run(engine, offset=run.offset).feed(more, per_record=5, wall_now=WALL)
    assert len(counted_later) == len(more)
    now = latest + 601
    for window_s in {w.duration_s for w in new_slo.windows} | {r.long_window_s for r in new_slo.alerting.burn_rate_rules}:
        level_index = restored.ring.level_for(window_s)
        level = restored.levels[level_index]
        r = level.resolution_s
        kept = kept_buckets(old_levels, latest, level)
        first, last = math.ceil((now - window_s) / r), math.ceil(now / r) - 1
        head = restored.ring.head(level_index)
        inside = [e for e in counted if int(e.ts // r) in kept and first <= int(e.ts // r) <= last
                  and int(e.ts // r) > head - level.capacity]
        inside += [e for e in counted_later if first <= int(e.ts // r) <= last and int(e.ts // r) > head - level.capacity]
        stats = ev.window_stats(restored, window_s, now)
        assert (stats.good, stats.total) == good_total(inside)
    assert_views_answer(engine)


def test_a_longer_window_keeps_every_hour_the_old_ring_held_and_counts_on():
    v1 = make_slo()  # 1 day: 1 s (the 10 s window), 10 s and 1 min levels
    run = Run(Engine(make_catalog(v1)))
    before = run.feed(steady(BASE, 2 * 86400, every=30))
    engine = restarted(run.checkpoints(), make_slo(windows=(RollingWindow(7 * 86400),)))
    assert engine.state_resets == {(NAME, cp.WINDOWS_REBUCKETED): 1}
    restored = state(engine)
    assert [lv.resolution_s for lv in restored.levels] == [1, 10, 3600]
    now = BASE + 2 * 86400
    # the old 1-minute level held the last day (1,442 minutes): whole hours of it survive in the 1-hour level
    kept_from = math.ceil((now - 30 - 1441 * 60) / 3600) * 3600
    assert good_total([e for e in before if e.ts >= kept_from]) == counts(ev.window_stats(restored, 7 * 86400, now))
    after = Run(engine, offset=run.offset).feed(steady(now, 600, every=2))
    stats = ev.window_stats(restored, 7 * 86400, now + 600)
    assert (stats.good, stats.total) == good_total([e for e in before + after if e.ts >= kept_from])
    assert_views_answer(engine, wall_now=now + 600)


def test_a_shorter_window_keeps_what_its_span_holds_at_a_resolution_the_old_ring_knew():
    v1 = make_slo(windows=(RollingWindow(30 * 86400),))  # 10 s for the last 48 minutes, then hours
    run = Run(Engine(make_catalog(v1)))
    before = run.feed(steady(BASE, 3 * 86400, every=20))
    now = BASE + 3 * 86400
    engine = restarted(run.checkpoints(), make_slo(windows=(RollingWindow(6 * 3600),)))
    assert engine.state_resets == {(NAME, cp.WINDOWS_REBUCKETED): 1}
    restored = state(engine)
    assert [lv.resolution_s for lv in restored.levels] == [1, 10, 60]
    # The 6 h window is served by minutes: hours cannot be split, so it holds the minutes of the
    # old 10 s level (290 buckets back from the last event's) and nothing older.
    old_fine_start = (int(before[-1].ts // 10) - 289) * 10
    stats = ev.window_stats(restored, 6 * 3600, now)
    assert counts(stats) == good_total(before, math.ceil(old_fine_start / 60) * 60)
    after = Run(engine, offset=run.offset).feed(steady(now, 60))
    assert ev.window_stats(restored, 6 * 3600, now + 60).total == stats.total + len(after)
    assert_views_answer(engine, wall_now=now + 60)


def test_a_finer_resolution_starts_empty_where_only_coarser_buckets_were_kept():
    v1 = make_slo(alerting=AlertPolicy((BurnRateRule("page-1h", Severity.PAGE, 3600, 600, 2.0, 14.4),)))
    run = Run(Engine(make_catalog(v1)))
    before = run.feed(steady(BASE, 7200, every=3))
    assert [lv.resolution_s for lv in state(run.engine).levels] == [10, 60]  # 10 s serves the 10 m window
    fast = make_slo(alerting=AlertPolicy((BurnRateRule("page-fast", Severity.PAGE, 120, 10, 2.0, 14.4),)))
    engine = restarted(run.checkpoints(), fast)
    restored = state(engine)
    assert engine.state_resets == {(NAME, cp.WINDOWS_REBUCKETED): 1}
    assert restored.levels[1] == Level(10, 14)  # 2 m at 10 s: the old 10 s level held more, all of it kept
    assert restored.levels[0] == Level(1, 12)  # the 10 s window at 1 s: no old level that fine
    now = BASE + 7200
    assert ev.window_stats(restored, 10, now).total == 0
    assert good_total(before, math.ceil((now - 120) / 10) * 10) == counts(ev.window_stats(restored, 120, now))
    assert good_total(before, math.ceil((now - 86400) / 60) * 60) == counts(ev.window_stats(restored, 86400, now))
    assert_views_answer(engine, wall_now=now)


def test_an_objective_change_keeps_every_count_and_every_alert():
    run = Run(Engine(make_catalog(make_slo())))
    run.feed(outage(), per_record=1, evaluate=True)
    firing = {a.id for a in run.engine._runtime(NAME).book.firing(all_groups=True)}
    assert firing
    old = run.engine._runtime(NAME)
    engine = restarted(run.checkpoints(), make_slo(objective=0.95))
    assert engine.state_resets == {}
    rt = engine._runtime(NAME)
    assert {a.id for a in rt.book.firing(all_groups=True)} == firing
    for window_s in (10, 120, 2880, 86400):
        assert ev.window_stats(rt.state, window_s, BASE + 800) == ev.window_stats(old.state, window_s, BASE + 800)
    assert (rt.watermark, rt.decided) == (old.watermark, old.decided)
    assert_views_answer(engine, wall_now=BASE + 800)


def test_a_changed_burn_rate_factor_keeps_the_state_and_the_alert_under_its_id():
    run = Run(Engine(make_catalog(make_slo())))
    run.feed(outage(seconds=630), per_record=1, evaluate=True)
    (page,) = [a for a in run.engine._runtime(NAME).book.firing(all_groups=True) if a.condition.id == "page-fast"]
    stricter = make_slo(alerting=AlertPolicy((replace(PAGE, factor=20.0), TICKET), min_events=0))
    engine = restarted(run.checkpoints(), stricter)
    assert engine.state_resets == {}
    assert [a.id for a in engine._runtime(NAME).book.firing(all_groups=True) if a.condition.id == "page-fast"] == [page.id]
    assert_views_answer(engine, wall_now=BASE + 630)


def test_a_removed_rule_s_firing_alert_is_resolved_at_the_next_evaluation():
    run = Run(Engine(make_catalog(make_slo())))
    run.feed(outage(seconds=630), per_record=1, evaluate=True)
    sent = {r.payload["id"]: r.payload for r in run.records if r.payload["status"] == "firing"}
    page = next(p for p in sent.values() if p["labels"]["rule"] == "page-fast")
    decided = run.engine._runtime(NAME).decided
    without_page = make_slo(alerting=AlertPolicy((TICKET,), min_events=0))
    engine = restarted(run.checkpoints(), without_page)
    # page-fast's 10 s window was all the 1 s level served: the ring drops that level too
    assert engine.state_resets == {(NAME, cp.ALERTS_RETIRED): 1, (NAME, cp.WINDOWS_REBUCKETED): 1}
    records = engine.evaluate(BASE + 700)
    resolved = [r.payload for r in records if r.payload["status"] == "resolved"]
    assert [(p["id"], p["labels"]["rule"]) for p in resolved] == [(page["id"], "page-fast")]
    assert resolved[0]["ends_at"] == records[0].payload["ends_at"] and ev is not None
    assert abs(_epoch(resolved[0]["ends_at"]) - decided) < 1e-3
    assert engine.evaluate(BASE + 701) == []  # once
    rules = {labels["rule"] for n, labels, _ in engine.gauges() if n == cv.METRIC_ALERT_FIRING}
    assert "page-fast" not in rules
    assert_views_answer(engine, wall_now=BASE + 700)


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_an_added_rule_starts_judging_the_counts_already_there():
    run = Run(Engine(make_catalog(make_slo())))
    before = run.feed(steady(BASE, 3600, every=2))
    extra = BurnRateRule("page-medium", Severity.PAGE, 600, 120, 5.0, 6.0)
    engine = restarted(run.checkpoints(), make_slo(alerting=AlertPolicy((PAGE, extra, TICKET), min_events=0)))
    assert engine.state_resets == {}  # its windows fit the levels there are
    rt = engine._runtime(NAME)
    now = BASE + 3600
    assert counts(ev.window_stats(rt.state, 600, now)) == good_total(before, now - 600)
    Run(engine, offset=run.offset).feed(steady(now, 120, every=1, bad_every=1), per_record=1, wall_now=now + 120)
    assert "page-medium" in {rule for _, rule in rt.book.alerts}
    assert_views_answer(engine, wall_now=now + 120)


def test_a_removed_slo_is_never_loaded_and_the_others_count_on():
    other = make_slo(name="api-latency", sli=Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=100.0))
    run = Run(Engine(make_catalog(make_slo(), other)))
    before = run.feed(steady(BASE, 600))
    table = run.checkpoints()
    loaded = []
    engine = Engine(make_catalog(other), load_checkpoint=lambda name: loaded.append(name) or table.get(name))
    after = Run(engine, offset=run.offset).feed(steady(BASE + 600, 60))
    assert engine.held == ("api-latency",) and loaded == ["api-latency"] and engine.state_resets == {}
    assert engine.recent_counts("api-latency")["total"] == len(before) + len(after)
    assert_views_answer(engine, "api-latency")


def test_an_added_slo_starts_empty_beside_the_restored_ones():
    run = Run(Engine(make_catalog(make_slo())))
    before = run.feed(steady(BASE, 600))
    added = make_slo(name="api-latency", sli=Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=100.0))
    engine = restarted(run.checkpoints(), make_slo(), added)
    after = Run(engine, offset=run.offset).feed(steady(BASE + 600, 60))
    assert engine.state_resets == {}
    assert engine.recent_counts(NAME)["total"] == len(before) + len(after)
    assert engine.recent_counts("api-latency") == {"good": sum(e.latency_ms <= 100 for e in after), "total": 60, "excluded": 0}
    assert_views_answer(engine, "api-latency")


def test_an_sli_kind_change_starts_afresh_and_resolves_what_was_firing():
    run = Run(Engine(make_catalog(make_slo())))
    run.feed(outage(seconds=630), per_record=1, evaluate=True)
    notified = {a.id for a in run.engine._runtime(NAME).book.firing(all_groups=True) if a.notified}
    latency = make_slo(sli=Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=100.0))
    engine = restarted(run.checkpoints(), latency)
    after = Run(engine, offset=run.offset).feed(steady(BASE + 700, 60))
    assert engine.state_resets == {(NAME, cp.SLI_CHANGED): 1}
    assert engine.recent_counts(NAME) == {"good": sum(e.latency_ms <= 100 for e in after), "total": 60, "excluded": 0}
    resolved = {r.payload["id"] for r in engine.evaluate(BASE + 760) if r.payload["status"] == "resolved"}
    assert resolved == notified
    assert state(engine).offsets == {0: run.offset + 1}  # only the new records' offsets: nothing to skip twice
    assert_views_answer(engine, wall_now=BASE + 760)


def test_a_latency_threshold_change_starts_afresh():
    v1 = make_slo(sli=Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=100.0))
    run = Run(Engine(make_catalog(v1)))
    run.feed(steady(BASE, 600))
    engine = restarted(run.checkpoints(), make_slo(sli=Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=200.0)))
    assert engine.recent_counts(NAME)["total"] == 0
    assert engine.state_resets == {(NAME, cp.SLI_CHANGED): 1}
    assert_views_answer(engine)


def test_a_group_by_change_starts_afresh_per_group():
    run = Run(Engine(make_catalog(make_slo())))
    run.feed(steady(BASE, 600))
    grouped = make_slo(group_by=GroupBy(GroupDimension.CUSTOMER, 10))
    engine = restarted(run.checkpoints(), grouped)
    after = Run(engine, offset=run.offset).feed(steady(BASE + 600, 60, customer="acme"))
    assert engine.state_resets == {(NAME, cp.GROUP_BY_CHANGED): 1}
    assert list(state(engine).groups) == ["acme"]
    assert engine.recent_counts(NAME)["total"] == len(after)
    assert [s.key for s in engine.status(NAME, WALL)] == [f"{NAME}|acme"]
    assert_views_answer(engine)


def test_a_lower_max_groups_keeps_the_groups_first_seen():
    v1 = make_slo(group_by=GroupBy(GroupDimension.CUSTOMER, 10))
    run = Run(Engine(make_catalog(v1)))
    for customer in ("acme", "globex", "initech"):
        run.feed(steady(BASE, 60, customer=customer))
    engine = restarted(run.checkpoints(), make_slo(group_by=GroupBy(GroupDimension.CUSTOMER, 2)))
    assert engine.state_resets == {(NAME, cp.GROUPS_TRIMMED): 1}
    assert list(state(engine).groups) == ["acme", "globex"]
    assert engine.recent_counts(NAME)["total"] == 120
    assert_views_answer(engine)


def test_a_grouped_percentile_slo_with_new_windows_carries_every_group():
    from slawatch.core.model import Budgeting, BudgetingMethod

    v1 = make_slo(sli=Sli(SliKind.LATENCY_PERCENTILE, threshold_ms=150.0, percentile=99.0),
                  budgeting=Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=60, timeslice_target=0.99),
                  group_by=GroupBy(GroupDimension.CUSTOMER, 10), windows=(RollingWindow(86400),))
    v2 = replace(v1, windows=(RollingWindow(3 * 86400),))
    run = Run(Engine(make_catalog(v1)))
    before = {c: run.feed(steady(BASE, 7200, every=4, customer=c)) for c in ("acme", "globex")}
    engine = restarted(run.checkpoints(), v2)
    assert engine.state_resets == {(NAME, cp.WINDOWS_REBUCKETED): 1}
    restored, now = state(engine), BASE + 7200
    for customer, events in before.items():
        group, old = restored.groups[customer], state(run.engine).groups[customer]
        assert ev.window_stats(group, 3600, now) == ev.window_stats(old, 3600, now)
        assert ev.sli(group, 3600, now) == ev.sli(old, 3600, now)
        assert ev.percentile(group, 3 * 86400, now) == ev.percentile(old, 86400, now)  # every latency kept
    assert_views_answer(engine, wall_now=now)


def test_a_time_zone_change_counts_the_new_periods_from_what_the_ring_knew():
    utc = make_slo(windows=(RollingWindow(30 * 86400), CalendarWindow(CalendarUnit.MONTH, time_zone="UTC")))
    berlin = make_slo(windows=(RollingWindow(30 * 86400), CalendarWindow(CalendarUnit.MONTH, time_zone="Europe/Berlin")))
    jan31 = 1_769_817_600.0  # 2026-01-31T00:00:00Z; Berlin's February starts at 23:00Z that day
    run = Run(Engine(make_catalog(utc)))
    before = run.feed(steady(jan31, 2 * 86400, every=15))
    engine = restarted(run.checkpoints(), berlin)
    assert engine.state_resets == {(NAME, cp.CALENDAR_CHANGED): 1}
    restored, now = state(engine), jan31 + 2 * 86400
    window = berlin.windows[1]
    feb_start = jan31 + 23 * 3600
    assert ev.calendar_good_total(restored, window, now) == good_total(before, feb_start)
    assert ev.calendar_good_total(restored, window, jan31 + 3600) == good_total(before, -math.inf, feb_start)
    assert counts(ev.window_stats(restored, 30 * 86400, now)) == good_total(before)  # the rolling counts are untouched
    after = Run(engine, offset=run.offset).feed(steady(now, 120))
    assert ev.calendar_good_total(restored, window, now + 120) == good_total(before + after, feb_start)
    assert_views_answer(engine, wall_now=now + 120)


def test_windows_changed_under_a_calendar_keep_its_period_totals_exact():
    v1 = make_slo(windows=(RollingWindow(86400), CalendarWindow(CalendarUnit.DAY)))
    v2 = make_slo(windows=(RollingWindow(7 * 86400), CalendarWindow(CalendarUnit.DAY)))
    run = Run(Engine(make_catalog(v1)))
    before = run.feed(steady(BASE, 2 * 86400 + 3600, every=20))
    engine = restarted(run.checkpoints(), v2)
    assert engine.state_resets == {(NAME, cp.WINDOWS_REBUCKETED): 1}
    restored, day = state(engine), v2.windows[1]
    for t in (BASE + 86400 + 5, BASE + 2 * 86400 + 5):
        start = t - (t - BASE) % 86400
        assert ev.calendar_good_total(restored, day, t) == good_total(before, start, start + 86400)
    after = Run(engine, offset=run.offset).feed(steady(BASE + 2 * 86400 + 3600, 7200, every=5))
    t = BASE + 2 * 86400 + 5
    assert ev.calendar_good_total(restored, day, t) == good_total(before + after, BASE + 2 * 86400, BASE + 3 * 86400)
    assert_views_answer(engine, wall_now=BASE + 2 * 86400 + 10800)


def test_unreadable_bytes_and_unknown_versions_start_afresh_without_raising():
    run = Run(Engine(make_catalog(make_slo())))
    run.feed(steady(BASE, 60))
    good = run.checkpoints()[NAME]
    cases = {
        "garbage": (b"not a checkpoint at all", cp.UNREADABLE),
        "truncated": (good[: len(good) // 2], cp.UNREADABLE),
        "corrupt state": (good[:8] + b"\xff" * 40 + good[48:], cp.UNREADABLE),
        "version 9": (good[:3] + bytes([9]) + good[4:], cp.VERSION_UNKNOWN),
        "snapshot format 7": (good[:11] + bytes([7]) + good[12:], cp.VERSION_UNKNOWN),
    }
    for name, (data, reason) in cases.items():
        engine = restarted({NAME: data}, make_slo())
        after = Run(engine, offset=run.offset).feed(steady(BASE + 60, 30))
        assert engine.state_resets == {(NAME, reason): 1}, name
        assert engine.recent_counts(NAME)["total"] == len(after), name
        assert_views_answer(engine)


def test_a_version_1_checkpoint_still_loads_exactly():
    run = Run(Engine(make_catalog(make_slo())))
    before = run.feed(outage(seconds=630), per_record=1, evaluate=True)
    v2 = run.checkpoints()[NAME]
    version, length = struct.unpack_from("<BI", v2, 3)
    state_bytes = v2[8 : 8 + length]
    (size,) = struct.unpack_from("<H", v2, 8 + length)
    meta = orjson.loads(v2[8 + length + 2 + size :])
    del meta["contributor_horizon_s"]
    v1 = b"SWE" + struct.pack("<BI", 1, length) + state_bytes + orjson.dumps(meta)
    engine = restarted({NAME: v1}, make_slo())
    assert version == cp.VERSION == 2 and engine.state_resets == {}
    assert engine.checkpoint(NAME) == v2
    assert engine.recent_counts(NAME)["total"] == len(before)
    windows_changed = restarted({NAME: v1}, make_slo(windows=(RollingWindow(7 * 86400),)))
    assert windows_changed.recent_counts(NAME)["total"] == 0
    assert windows_changed.state_resets == {(NAME, cp.VERSION_UNKNOWN): 1}
    assert_views_answer(windows_changed)


def test_the_scrape_time_collector_exports_the_reset_tally():
    from prometheus_client import CollectorRegistry

    from slawatch.stream.collector import EngineCollector

    run = Run(Engine(make_catalog(make_slo())))
    run.feed(steady(BASE, 60))
    engine = restarted(run.checkpoints(), make_slo(windows=(RollingWindow(7 * 86400),)))
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    sample = registry.get_sample_value(cv.METRIC_STATE_RESETS, {"slo": NAME, cv.LABEL_REASON: cp.WINDOWS_REBUCKETED})
    assert sample == 1.0
    assert registry.get_sample_value(cv.METRIC_STATE_RESETS, {"slo": NAME, cv.LABEL_REASON: cp.SLI_CHANGED}) is None
    assert registry.get_sample_value(cv.METRIC_OBJECTIVE_RATIO, {"slo": NAME}) == 0.99
