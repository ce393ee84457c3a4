"""Engine.apply (grouped by SLO, runs counted in bulk) equals the plain per-event loop it replaced.

The reference below is the engine's original loop: for each event, for each SLO it matches, check
the record's offset once per SLO, decide at the step edge, `accept` into the group's state, move the
watermark and the contributors. Both engines get the same records (random batching, duplicates,
late, too old, too far ahead and invalid events, several SLI kinds, filters, groups, exclusions,
calendar windows, step sizes); the applied counts, the refusals, every alert record and every
checkpoint must be identical.
"""

from __future__ import annotations

import math
from dataclasses import replace

from engine_helpers import BASE, PAGE, TICKET, make_catalog, make_slo
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.event import Event
from slawatch.core.matching import SloIndex
from slawatch.core.model import (
    AlertPolicy,
    Budgeting,
    BudgetingMethod,
    CalendarUnit,
    CalendarWindow,
    ErrorHandling,
    EventMatch,
    FixedExclusion,
    GroupBy,
    GroupDimension,
    RollingWindow,
    Sli,
    SliKind,
)
from slawatch.engine import Engine
from slawatch.engine.records import Applied
from slawatch.engine.engine import _MESSAGES, _REASONS

FIRST_REFUSED = 5


def reference_apply(engine: Engine, events, *, partition=None, offset=None, wall_now) -> Applied:
    applied = Applied()
    step, ahead = engine.step_s, engine.max_future_s
    duplicate_for: dict[str, bool] = {}
    for event in events:
        refusal = None
        for slo in engine._index.slos_for(event):
            name = slo.name
            rt = engine._runtimes.get(name) or engine._runtime(name)
            if offset is not None:
                duplicate = duplicate_for.get(name)
                if duplicate is None:
                    offsets = rt.state.offsets
                    seen = offsets.get(partition)
                    duplicate = duplicate_for[name] = seen is not None and offset <= seen
                    if not duplicate:
                        offsets[partition] = offset
                if duplicate:
                    rt.state.duplicates += 1
                    applied.duplicates += 1
                    continue
            ts = event.ts
            if ts >= rt.decided + step:
                instant = math.floor(ts / step) * step
                if rt.watermark == -math.inf:
                    rt.decided = instant
                elif ts <= max(wall_now, rt.watermark) + ahead:
                    rt.advance_to(instant, wall_now, step, decide_last=True)
            group = SloIndex.group_of(slo, event)
            outcome = rt.state_for(group).accept(ts, event.ok, event.latency_ms, wall_now)
            if outcome >= FIRST_REFUSED:
                if refusal is None:
                    refusal = (event, _REASONS[outcome], _MESSAGES[outcome].format(slo=name, ahead=ahead))
                continue
            applied.counted += 1
            applied.touched.add(name)
            rt._next_due = None
            if ts > rt.watermark:
                rt.watermark = ts
            engine._partition_of[name] = partition
            if ts > engine.partition_clock.get(partition, -math.inf):
                engine.partition_clock[partition] = ts
            if rt.last_received_wall is None or wall_now > rt.last_received_wall:
                rt.last_received_wall = wall_now
            if outcome in (0, 1):
                rt.contributors_for(group).add(ts, outcome == 1, event.operation, event.region)
        if refusal is not None:
            applied.refused.append(refusal)
    return applied


def catalog():
    rules = AlertPolicy((PAGE, TICKET), min_events=3, no_data_after_s=30)
    return make_catalog(
        make_slo(alerting=rules),
        make_slo(name="api-latency", sli=Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=100, errors=ErrorHandling.IGNORE)),
        make_slo(name="api-latency-bad", sli=Sli(SliKind.LATENCY_THRESHOLD, threshold_ms=100, errors=ErrorHandling.BAD),
                 exclusions=(FixedExclusion(BASE + 40, BASE + 70),)),
        make_slo(name="api-p90", sli=Sli(SliKind.LATENCY_PERCENTILE, threshold_ms=150, percentile=90.0)),
        make_slo(name="api-get", match=EventMatch("api", operation="GET")),
        make_slo(name="api-eu", match=EventMatch("api", region="eu"), windows=(CalendarWindow(CalendarUnit.DAY), RollingWindow(86400)),
                 contractual=True),
        make_slo(name="api-per-customer", group_by=GroupBy(GroupDimension.CUSTOMER, 2)),
        make_slo(name="api-slices", budgeting=Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=60, timeslice_target=0.9)),
        make_slo(name="web", match=EventMatch("web")),
    )


gaps = st.sampled_from([0.0, 0.003, 0.05, 0.3, 1.0, 2.5, 11.0, 70.0])
events_st = st.lists(
    st.tuples(
        gaps,
        st.sampled_from(["none", "none", "none", "late", "very-late", "ancient", "ahead"]),
        st.booleans(), st.sampled_from([True, True, True, False]),
        st.sampled_from([None, 5.0, 80.0, 120.0, 400.0, -1.0, math.nan]),
        st.sampled_from(["GET", "POST", None]), st.sampled_from(["eu", "us"]),
        st.sampled_from(["acme", "globex", "initech", None]), st.sampled_from(["api", "api", "api", "web", "other"]),
    ),
    min_size=1, max_size=160,
)


def build(raw):
    out, t = [], BASE
    for gap, shift, _, ok, latency, operation, region, customer, service in raw:
        t += gap
        ts = {"none": t, "late": t - 4.0, "very-late": t - 700.0, "ancient": t - 10 * 86400, "ahead": t + 5000}[shift]
        out.append(Event(service, ts, ok, latency, operation, customer, region))
    return out


@settings(max_examples=120, deadline=None)
@given(events_st, st.lists(st.integers(1, 40), min_size=1, max_size=12), st.sampled_from([1.0, 0.1, 0.25, 2.0]),
       st.sampled_from([0, 0, 3]))
def test_apply_equals_the_per_event_reference(raw, cuts, step, redeliver):
    events = build(raw)
    fast, slow = Engine(catalog(), step_s=step), Engine(catalog(), step_s=step)
    at, offset, record = 0, 0, 0
    while at < len(events):
        size = cuts[record % len(cuts)]
        chunk = events[at : at + size]
        record += 1
        offset += 1
        if redeliver and record % redeliver == 0:
            offset -= 1  # the same offset again: a duplicate for every SLO that counted it
        else:
            at += size
        wall = max(e.ts for e in chunk) if record % 2 else BASE + at * 0.5
        got = fast.apply(chunk, partition=0, offset=offset, wall_now=wall)
        want = reference_apply(slow, chunk, partition=0, offset=offset, wall_now=wall)
        assert (got.counted, got.duplicates, got.touched) == (want.counted, want.duplicates, want.touched)
        assert got.refused == want.refused
        assert list(fast._runtimes) == list(slow._runtimes)
        if record % 3 == 0:
            assert [r.payload for r in fast.evaluate(wall + 2)] == [r.payload for r in slow.evaluate(wall + 2)]
    assert [r.payload for r in fast.evaluate(at + BASE + 100)] == [r.payload for r in slow.evaluate(at + BASE + 100)]
    for name in slow._runtimes:
        assert fast.checkpoint(name) == slow.checkpoint(name), name


def test_apply_without_offsets_and_with_one_event_records_equals_the_reference():
    events = build([(0.4, "none", False, i % 7 != 0, 50.0 + i, "GET", "eu", "acme", "api") for i in range(300)])
    fast, slow = Engine(catalog()), Engine(catalog())
    for event in events:
        assert fast.apply([event], wall_now=event.ts).counted == reference_apply(slow, [event], wall_now=event.ts).counted
    for name in slow._runtimes:
        assert fast.checkpoint(name) == slow.checkpoint(name)
    _ = replace  # keep the import for builders above


@settings(max_examples=120, deadline=None)
@given(events_st, st.lists(st.integers(1, 6), min_size=1, max_size=12), st.lists(st.integers(1, 30), min_size=1, max_size=8),
       st.sampled_from([1.0, 0.1, 2.0]), st.sampled_from([0, 0, 3]))
def test_apply_records_equals_applying_each_record_in_turn(raw, cuts, batches, step, redeliver):
    """The worker applies a batch's records of one partition together: per record, the same Applied,
    and afterwards the same alerts and checkpoints, as the per-event reference on each record in turn."""
    events = build(raw)
    records, at, offset = [], 0, 0
    while at < len(events):
        size = cuts[len(records) % len(cuts)]
        offset += 1
        if redeliver and len(records) % redeliver == redeliver - 1:
            offset -= 1  # the same offset again: a duplicate for every SLO that counted it
            records.append((offset, events[max(0, at - size) : at] or events[:size]))
        else:
            records.append((offset, events[at : at + size]))
            at += size
    batched, single = Engine(catalog(), step_s=step), Engine(catalog(), step_s=step)
    start, n = 0, 0
    while start < len(records):
        group = records[start : start + batches[n % len(batches)]]
        start, n = start + len(group), n + 1
        wall = max(e.ts for _, chunk in group for e in chunk) if n % 2 else BASE + start
        got = batched.apply_records(group, partition=0, wall_now=wall)
        want = [reference_apply(single, chunk, partition=0, offset=off, wall_now=wall) for off, chunk in group]
        assert [(a.counted, a.duplicates, a.touched, a.refused) for a in got] == \
               [(a.counted, a.duplicates, a.touched, a.refused) for a in want]
        assert list(batched._runtimes) == list(single._runtimes)
        if n % 3 == 0:
            assert [r.payload for r in batched.evaluate(wall + 2)] == [r.payload for r in single.evaluate(wall + 2)]
    assert [r.payload for r in batched.evaluate(BASE + 10**6)] == [r.payload for r in single.evaluate(BASE + 10**6)]
    for name in single._runtimes:
        assert batched.checkpoint(name) == single.checkpoint(name), name
