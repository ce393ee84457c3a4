"""`replay --summary` equals a brute-force recount from the raw events wherever it says it is exact.

The reference keeps every accepted event (time, outcome) and counts (at - W, at] for rolling windows
and [period start, at] for calendar ones; timeslices are judged on their events inside the window.
Where a line says `exact: false`, its counts must still be exactly those of the `served` range it
names (so the flag is the only approximation), and at least one reason must be given. The golden
runs the real CLI over the outage-pages scenario (UPDATE_GOLDEN=1 rewrites the expected files).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import orjson
from engine_helpers import BASE, PAGE, make_catalog, make_slo
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.calendar import period_bounds
from slawatch.core.event import Event
from slawatch.core.model import (AlertPolicy, Budgeting, BudgetingMethod, BurnRateRule, CalendarUnit, CalendarWindow,
                                 ErrorHandling, GroupBy, GroupDimension, RollingWindow, Severity, Sli, SliKind)
from slawatch.core.plan import slice_seconds
from slawatch.core.slo_state import Outcome, SloState
from slawatch.engine import Engine
from slawatch.engine import exact_counts as xc
from slawatch.engine.summary import summary_line

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "tests" / "golden" / "scenarios" / "outage-pages"
SLAWATCH = str(Path(sys.executable).parent / "slawatch")
SLOW = BurnRateRule("page-slow", Severity.PAGE, 600, 60, 5.0, 6.0)
DAY_UTC, DAY_KOLKATA = CalendarWindow(CalendarUnit.DAY), CalendarWindow(CalendarUnit.DAY, 1, "Asia/Kolkata")
MAINTENANCE = (BASE + 1800.0, BASE + 2400.0)
COUNTED = (Outcome.GOOD, Outcome.BAD, Outcome.EXCLUDED)

EVENT_SLOS = {
    "availability": make_slo(windows=(RollingWindow(3600), DAY_UTC, DAY_KOLKATA),
                             alerting=AlertPolicy((PAGE, SLOW))),
    "latency-errors-bad": make_slo(sli=Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=100.0, errors=ErrorHandling.BAD),
                                   windows=(RollingWindow(1800), DAY_UTC), alerting=AlertPolicy((PAGE,)), objective=0.95),
    "latency-errors-ignored": make_slo(sli=Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=100.0,
                                               errors=ErrorHandling.IGNORE), objective=0.9995,
                                       windows=(RollingWindow(7200),), alerting=AlertPolicy((SLOW,))),
}
SLICE_SLOS = {
    "timeslices": make_slo(budgeting=Budgeting(BudgetingMethod.TIMESLICES, 60, 0.9), objective=0.95,
                           windows=(RollingWindow(3 * 86400), DAY_UTC), alerting=AlertPolicy((SLOW,))),
    "ratio-timeslices": make_slo(budgeting=Budgeting(BudgetingMethod.RATIO_TIMESLICES, 60), objective=0.9,
                                 windows=(RollingWindow(4 * 86400), DAY_KOLKATA), alerting=AlertPolicy((SLOW,))),
    "percentile": make_slo(sli=Sli(SliKind.LATENCY_PERCENTILE, threshold_ms=100.0, percentile=90.0),
                           windows=(RollingWindow(86400),), alerting=AlertPolicy((SLOW,)), objective=0.9),
}


def raw_events(span_s: float):
    """(event times, ok flags, latencies), in order or shuffled (late events): sparse enough that a
    window's edge bucket is often empty, so both exact and inexact lines occur."""
    one = st.tuples(st.integers(0, int(span_s * 4)), st.booleans(), st.sampled_from([None, 5.0, 99.5, 100.0, 700.0]))
    return st.tuples(st.lists(one, min_size=1, max_size=70), st.booleans())


def apply_all(slo, drawn, excluded: bool = False):
    """A state with the drawn events applied; the accepted ones as (ts, outcome)."""
    raw, in_order = drawn
    if in_order:
        raw = sorted(raw, key=lambda event: event[0])
    window = (lambda ts: MAINTENANCE[0] <= ts < MAINTENANCE[1]) if excluded else None
    state = SloState(slo, window)
    kept = []
    for quarter, ok, latency in raw:
        ts = BASE + quarter / 4
        outcome = state.apply(ts, ok, latency, now=ts)  # the wall clock keeps up with the events
        if outcome in COUNTED:
            kept.append((ts, outcome))
    return state, kept


def instant(kept, pick: int | None) -> float:
    """The last event time, or an instant on the quarter-second grid (bucket boundaries included)."""
    return max(ts for ts, _ in kept) if pick is None else BASE + pick / 4


def tally(kept, inside) -> tuple[int, int, int]:
    outcomes = [o for ts, o in kept if inside(ts)]
    return outcomes.count(Outcome.GOOD), outcomes.count(Outcome.BAD), outcomes.count(Outcome.EXCLUDED)


def window_bounds(entry: dict):
    """The reference's membership test for the window an entry reports."""
    start, end = entry["start"], entry["end"]
    if entry["kind"] == "calendar":
        return lambda ts: start <= ts <= end
    return lambda ts: start < ts <= end


def fraction(value: dict | None) -> Fraction | None:
    if value is None:
        return None
    found = Fraction(value["fraction"])
    assert value["value"] == float(found)
    return found


def check_ratios(slo, entry: dict, good: Fraction, total: int) -> None:
    """sli, burn, attainment and budget as the definitions say, from the reference's counts."""
    objective = Fraction(repr(slo.objective))
    sli = good / total if total else None
    assert fraction(entry["sli"]) == sli
    assert fraction(entry["burn_rate"]) == (None if sli is None else max(Fraction(0), 1 - sli) / (1 - objective))
    if "compliance" not in entry["uses"]:
        assert "error_budget_remaining" not in entry
        return
    period = Fraction(entry["seconds"]) if entry["kind"] == "rolling" else \
        Fraction(entry["period_end"]) - Fraction(entry["start"])
    remaining = None if sli is None else 1 - (total - good) / ((1 - objective) * total)
    budget = entry["error_budget_remaining"]
    assert fraction(budget["ratio"]) == remaining
    assert fraction(budget["minutes"]) == (None if remaining is None else remaining * (1 - objective) * period / 60)
    assert entry["attainment"]["met"] == (None if sli is None else sli >= objective)


def check_edges(edges: dict, watermark: float, at: float) -> None:
    assert edges["exact"] == (not edges["why"])
    assert set(edges["why"]) <= {xc.START_CUT, xc.START_GONE, xc.END_SHARED, xc.END_GONE, xc.PERIOD_GONE,
                                 xc.FLOAT_RATIOS}
    if watermark <= at:
        assert xc.END_SHARED not in edges["why"]  # nothing after `at` exists to share its bucket


def check_events(entry: dict, kept, watermark: float, at: float) -> None:
    events = entry["events"]
    check_edges(events["edges"], watermark, at)
    served_start, served_end = events["edges"]["served"]
    served = tally(kept, lambda ts: served_start <= ts < served_end)
    assert (events["good"], events["bad"], events["excluded"]) == served
    assert events["total"] == events["good"] + events["bad"]
    if events["edges"]["exact"]:
        assert served == tally(kept, window_bounds(entry))


def slice_verdict(slo, good: int, total: int) -> Fraction:
    if slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES:
        return Fraction(good, total)
    if slo.sli.kind is SliKind.LATENCY_PERCENTILE:
        return Fraction(int(good >= math.floor(slo.sli.percentile / 100 * (total - 1)) + 1))
    return Fraction(int(good / total >= slo.budgeting.timeslice_target))


def judged(slo, kept, inside, holds_slice) -> tuple[Fraction, int]:
    """(good, slices with data): each slice that `holds_slice` judged on its events `inside`."""
    s = slice_seconds(slo)
    by_slice: dict[int, list[int]] = {}
    for ts, outcome in kept:
        if outcome is not Outcome.EXCLUDED and inside(ts) and holds_slice(int(ts // s) * s):
            counts = by_slice.setdefault(int(ts // s), [0, 0])
            counts[outcome is Outcome.BAD] += 1
    return sum((slice_verdict(slo, g, g + b) for g, b in by_slice.values()), Fraction(0)), len(by_slice)


def check_slices(slo, entry: dict, kept, watermark: float, at: float) -> None:
    slices = entry["slices"]
    edges = slices["edges"]
    check_edges(edges, watermark, at)
    ratios = slo.budgeting.method is BudgetingMethod.RATIO_TIMESLICES
    good = fraction(slices["good"]) if ratios else Fraction(slices["good"])
    assert good + (fraction(slices["bad"]) if ratios else slices["bad"]) == slices["total"]
    served_start, served_end = edges["served"]
    served = judged(slo, kept, lambda ts: True, lambda start: served_start <= start < served_end)
    assert slices["total"] == served[1]
    if not ratios or xc.FLOAT_RATIOS not in edges["why"]:
        assert good == served[0]
    if edges["exact"]:
        if entry["kind"] == "calendar":
            reference = judged(slo, kept, lambda ts: ts <= at, lambda begin: begin >= entry["start"])
        else:
            reference = judged(slo, kept, window_bounds(entry), lambda start: True)
        assert (good, slices["total"]) == reference
        check_ratios(slo, entry, good, slices["total"])


def check_line(slo, line: dict, kept, watermark: float, at: float) -> None:
    assert line["type"] == "summary" and line["at_epoch"] == at
    names = [(entry["window"], entry.get("time_zone")) for entry in line["windows"]]
    assert len(names) == len(set(names)) and len(names) >= len(slo.windows)
    for entry in line["windows"]:
        check_events(entry, kept, watermark, at)
        if slice_seconds(slo) is None:
            assert entry["basis"] == "events" and entry["exact"] == entry["events"]["edges"]["exact"]
            if entry["exact"]:
                check_ratios(slo, entry, Fraction(entry["events"]["good"]), entry["events"]["total"])
        else:
            assert entry["basis"] == "slices" and entry["exact"] == entry["slices"]["edges"]["exact"]
            check_slices(slo, entry, kept, watermark, at)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(EVENT_SLOS)), drawn=raw_events(3 * 3600), excluded=st.booleans(),
       pick=st.one_of(st.none(), st.integers(0, 4 * 3 * 3600)), complete=st.booleans())
def test_event_counts_and_ratios_equal_a_recount_wherever_the_line_says_exact(kind, drawn, excluded, pick, complete):
    slo = EVENT_SLOS[kind]
    state, kept = apply_all(slo, drawn, excluded)
    if not kept:
        return
    at = instant(kept, pick)
    check_line(slo, summary_line(slo, None, state, at, complete), kept, state.watermark, at)


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(sorted(SLICE_SLOS)), drawn=raw_events(100 * 3600),
       pick=st.one_of(st.none(), st.integers(0, 4 * 100 * 3600)), excluded=st.booleans(), complete=st.booleans())
def test_slices_equal_a_recount_wherever_the_line_says_exact_rollup_included(kind, drawn, pick, excluded, complete):
    slo = SLICE_SLOS[kind]
    state, kept = apply_all(slo, drawn, excluded)
    if not kept:
        return
    at = instant(kept, pick)
    check_line(slo, summary_line(slo, None, state, at, complete), kept, state.watermark, at)


def steady(seconds: int, every_s: float = 1.0, failing_every: int = 10):
    return [(BASE + i * every_s, i % failing_every != 0) for i in range(int(seconds / every_s))]


def entry_of(line: dict, window: str) -> dict:
    return next(e for e in line["windows"] if e["window"] == window)


def test_a_window_starting_inside_a_busy_bucket_is_flagged_and_its_served_range_named():
    slo = EVENT_SLOS["availability"]
    state = SloState(slo)
    events = steady(1000)
    for ts, ok in events:
        state.apply(ts, ok)
    at = events[-1][0] + 5.0  # (at - 2m, at] starts 4 s into a 10 s bucket holding events after that
    entry = entry_of(summary_line(slo, None, state, at), "2m")
    edges = entry["events"]["edges"]
    assert (entry["exact"], edges["why"], edges["resolution_s"]) == (False, [xc.START_CUT], 10)
    exact = sum(1 for ts, _ in events if at - 120 < ts <= at)
    assert entry["events"]["total"] != exact  # the flag is not a formality: the counts differ
    assert entry["events"]["total"] == sum(1 for ts, _ in events if edges["served"][0] <= ts < edges["served"][1])


def test_a_summary_before_the_last_event_flags_the_events_after_it_in_its_bucket():
    slo = EVENT_SLOS["availability"]
    state = SloState(slo)
    for ts, ok in steady(7200, every_s=30.0):
        state.apply(ts, ok)
    at = BASE + 3605.0  # events at 3600 s and 3630 s share a 10 s / 1 min bucket with `at`'s
    entry = entry_of(summary_line(slo, None, state, at), "1h")
    assert xc.END_SHARED in entry["events"]["edges"]["why"] and not entry["exact"]


def test_a_window_whose_edge_buckets_are_empty_is_exact_and_equals_the_recount():
    slo = EVENT_SLOS["availability"]
    state = SloState(slo)
    events = [(BASE + 100.0, True), (BASE + 200.0, False), (BASE + 3000.0, True), (BASE + 3050.0, True)]
    for ts, ok in events:
        state.apply(ts, ok, now=ts)
    line = summary_line(slo, None, state, BASE + 3050.0)
    entry = entry_of(line, "10m")  # (2450, 3050]: the bucket holding 2450 s is empty
    assert entry["exact"] and (entry["events"]["good"], entry["events"]["bad"]) == (2, 0)
    hour = entry_of(line, "1h")
    assert hour["exact"] and hour["sli"]["fraction"] == "3/4" and hour["burn_rate"]["fraction"] == "25/1"
    assert hour["error_budget_remaining"]["ratio"]["fraction"] == "-24/1"


def test_the_engine_gives_one_line_per_group_and_one_for_a_grouped_slo_without_groups():
    grouped = replace(make_slo(name="per-customer"), group_by=GroupBy(GroupDimension.CUSTOMER, 10))
    silent = replace(grouped, name="silent", match=replace(grouped.match, service="other"))
    engine = Engine(make_catalog(grouped, silent), step_s=1.0)
    events = [Event("api", BASE + i, i % 3 != 0, customer=("acme", "globex")[i % 2]) for i in range(100)]
    engine.apply(events, partition=0, offset=1, wall_now=BASE + 100)
    lines = engine.summary("per-customer", BASE + 99)
    assert sorted(line["group"]["customer"] for line in lines) == ["acme", "globex"]
    assert sum(entry_of(line, "1d")["events"]["total"] for line in lines) == 100
    (quiet,) = engine.summary("silent", BASE + 99)
    assert quiet["group"] is None and quiet["watermark"] is None
    assert entry_of(quiet, "1d")["sli"] is None and entry_of(quiet, "1d")["exact"]


def replay_summary(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([SLAWATCH, "replay", "--summary", *extra, "--catalog", str(SCENARIO / "catalog.yaml"),
                           str(SCENARIO / "events.jsonl")], capture_output=True, text=True, timeout=120, cwd=REPO)


def test_the_cli_summary_of_the_outage_scenario_equals_its_golden_files():
    for extra, golden in (((), "expected-summary.jsonl"), (("--at", "2026-01-05T00:15:20Z"), "expected-summary-at.jsonl")):
        done = replay_summary(*extra)
        assert done.returncode == 0, done.stderr
        lines = [line for line in done.stdout.splitlines() if orjson.loads(line).get("type") == "summary"]
        assert len(lines) == 1 and done.stdout.splitlines()[-1] == lines[0]  # after the alerts
        if os.environ.get("UPDATE_GOLDEN") == "1":
            (SCENARIO / golden).write_text(lines[0] + "\n")
        assert lines == (SCENARIO / golden).read_text().splitlines()


def test_the_golden_summary_has_exact_and_flagged_windows_and_the_outage_in_the_day():
    line = orjson.loads((SCENARIO / "expected-summary.jsonl").read_text())
    day = entry_of(line, "1d")
    assert day["exact"] and day["events"]["bad"] == 150 and day["attainment"]["met"] is False
    assert not entry_of(line, "10s")["exact"]  # continuous traffic: every short window starts in a busy bucket
    during = orjson.loads((SCENARIO / "expected-summary-at.jsonl").read_text())
    assert during["at"] == "2026-01-05T00:15:20.000Z" and entry_of(during, "2m")["events"]["bad"] > 0


def test_a_bad_at_is_one_line_and_a_non_zero_exit():
    for value in ("yesterday", "nan", "2026-01-05T00:15:20"):  # the last one has no offset
        done = replay_summary("--at", value)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith("slawatch replay: argument --at:") and repr(value) in line
    done = subprocess.run([SLAWATCH, "replay", "--at", "1767572120", "--catalog", str(SCENARIO / "catalog.yaml"),
                           str(SCENARIO / "events.jsonl")], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "--summary" in done.stderr


def test_an_at_in_epoch_seconds_and_in_rfc_3339_give_the_same_summary():
    by_text = replay_summary("--at", "2026-01-05T01:15:20+01:00").stdout.splitlines()[-1]
    by_epoch = replay_summary("--at", "1767572120").stdout.splitlines()[-1]
    assert by_text == by_epoch


def test_a_file_without_events_says_so_in_one_line(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    done = subprocess.run([SLAWATCH, "replay", "--summary", "--catalog", str(SCENARIO / "catalog.yaml"), str(empty)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 1 and done.stdout == "" and "pass --at" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_ratio_timeslices_known_only_as_closed_float_sums_are_flagged():
    slo = SLICE_SLOS["ratio-timeslices"]
    state = SloState(slo)
    for ts, ok in ((BASE, True), (BASE + 1, False), (BASE + 60 * 3600, True)):
        state.apply(ts, ok, now=ts)
    entry = entry_of(summary_line(slo, None, state, BASE + 60 * 3600), "4d")  # the first slice left the slice level
    assert entry["slices"]["total"] == 2 and xc.FLOAT_RATIOS in entry["slices"]["edges"]["why"]
    assert not entry["exact"]


def test_only_a_state_with_its_whole_history_vouches_for_buckets_it_no_longer_retains():
    slo = make_slo(windows=(RollingWindow(3600),), alerting=AlertPolicy((PAGE, SLOW)))  # 1 min x 62 at most
    engine = Engine(make_catalog(slo), step_s=1.0)
    events = [(BASE + t, t != 30) for t in range(0, 61, 5)] + [(BASE + 3650.0, True)]
    for i, (ts, ok) in enumerate(events, start=1):
        engine.apply([Event("api", ts, ok)], partition=0, offset=i, wall_now=ts)
    at = BASE + 130.0  # (at - 1h, at] starts before the oldest bucket any level keeps; nothing came before
    whole = entry_of(engine.summary(slo.name, at, complete_history=True)[0], "1h")
    assert whole["exact"] and (whole["events"]["good"], whole["events"]["bad"]) == (12, 1)
    restored = Engine(make_catalog(slo), step_s=1.0)
    restored.restore(slo.name, engine.checkpoint(slo.name))  # what was evicted before is unknown now
    entry = entry_of(restored.summary(slo.name, at)[0], "1h")
    assert not entry["exact"] and entry["events"]["edges"]["why"] == [xc.START_GONE]
    assert entry["events"]["total"] == whole["events"]["total"]
