"""The engine's alerts equal a brute-force evaluation of the same policy over the raw events.

The reference recomputes, at every decision instant, each rule's error ratio over its long and
short window from the list of raw events (with the ring's bucket rounding: buckets that start in
[now - W, now) at the finest level covering W, and still retained), applies the min-events guard
and the SLO's resolve hold, and lists firing and resolution instants. Decision instants follow the
engine's documented rule: every whole second, each decided with the events applied before the first
event at or after it arrived.
"""

from __future__ import annotations

import math
from dataclasses import replace

import orjson
from engine_helpers import BASE, PAGE, TICKET, make_catalog, make_slo
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.event import Event
from slawatch.core.model import AlertPolicy
from slawatch.core.plan import plan_for
from slawatch.engine import Engine

# Phases of traffic: (seconds between events, failure ratio, number of events).
phases = st.lists(
    st.tuples(st.sampled_from([0.25, 0.5, 1.0, 3.0, 20.0]), st.sampled_from([0.0, 0.02, 0.2, 1.0]), st.integers(1, 60)),
    min_size=1, max_size=8,
)


def stream(plan, late_every: int) -> list[Event]:
    events, t, n = [], BASE, 0
    for gap, failing, count in plan:
        for i in range(count):
            t += gap
            n += 1
            ok = not (failing and (i * failing) % 1 + failing >= 1)  # deterministic share of failures
            ts = t - 7.5 if late_every and n % late_every == 0 else t  # now and then a late event
            events.append(Event("api", ts, ok, operation="GET", region="eu"))
    return events


def window_counts(applied, level, start, end):
    r = level.resolution_s
    head = max(int(ts // r) for ts, _ in applied)
    first, last = -int(-start // r), -int(-end // r) - 1
    good = total = 0
    for ts, ok in applied:
        k = int(ts // r)
        if first <= k <= last and k > head - level.capacity:
            total += 1
            good += ok
    return good, total


def brute_force(slo, events) -> list[tuple]:
    levels = plan_for(slo).levels
    level_for = {w: next(lv for lv in levels if math.ceil(w / lv.resolution_s) <= lv.capacity)
                 for r in slo.alerting.burn_rate_rules for w in (r.long_window_s, r.short_window_s)}
    guard = max(slo.alerting.min_events, 1)
    firing: dict[str, list] = {}
    out, applied, decided = [], [], None

    def decide(now):
        for rule in slo.alerting.burn_rate_rules:
            holds = True
            for w in (rule.long_window_s, rule.short_window_s):
                good, total = window_counts(applied, level_for[w], now - w, now)
                holds &= total >= guard and (total - good) / total > rule.factor * (1 - slo.objective)
            state = firing.get(rule.name)
            if holds and state is None:
                firing[rule.name] = [now, None]
                out.append((rule.name, "firing", now, None))
            elif holds:
                state[1] = None
            elif state is not None:
                state[1] = state[1] if state[1] is not None else now
                if now - state[1] >= slo.alerting.resolve_hold_s:
                    out.append((rule.name, "resolved", state[0], state[1]))
                    del firing[rule.name]

    for event in events:
        if decided is None:
            decided = math.floor(event.ts)
        elif event.ts >= decided + 1:
            for instant in range(int(decided) + 1, math.floor(event.ts) + 1):
                decide(float(instant))
            decided = math.floor(event.ts)
        applied.append((event.ts, event.ok))
    return out


def engine_run(slo, events, batches=None, restart_at=None) -> list:
    engine = Engine(make_catalog(slo), max_future_s=1e9, settle_s=None)
    records = []
    cuts = batches or [1] * len(events)
    i = 0
    for size in cuts:
        chunk = events[i : i + size]
        if not chunk:
            break
        if restart_at is not None and i >= restart_at:
            data = engine.checkpoint(slo.name)
            engine = Engine(make_catalog(slo), max_future_s=1e9, settle_s=None, load_checkpoint={slo.name: data}.get)
            restart_at = None
        engine.apply(chunk, partition=0, offset=i, wall_now=max(e.ts for e in chunk))
        records += engine.evaluate(max(e.ts for e in chunk), [slo.name])
        i += size
    return records


def burn_transitions(records) -> list[tuple]:
    from datetime import datetime

    def t(text):
        return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    out = []
    for r in records:
        kind = dict(r.headers)["ce_id"].decode().split(":")[1]
        if r.payload["type"] == "burn_rate" and kind in ("firing", "resolved"):
            out.append((r.payload["labels"]["rule"], kind, t(r.payload["starts_at"]), t(r.payload["ends_at"])))
    return out


@settings(max_examples=40, deadline=None)
@given(plan=phases, min_events=st.sampled_from([0, 5, 40]), late_every=st.sampled_from([0, 7]))
def test_alert_onsets_and_resolutions_equal_a_brute_force_evaluation(plan, min_events, late_every):
    slo = make_slo(alerting=AlertPolicy((PAGE, TICKET), min_events=min_events))
    events = stream(plan, late_every)
    assert burn_transitions(engine_run(slo, events)) == brute_force(slo, events)


@settings(max_examples=25, deadline=None)
@given(plan=phases, data=st.data())
def test_alerts_do_not_depend_on_how_events_are_batched(plan, data):
    slo = make_slo()
    events = stream(plan, 0)
    sizes = data.draw(st.lists(st.integers(1, 40), min_size=1, max_size=len(events)))
    sizes += [len(events)]  # the rest in one batch

    def stable(records):  # updates are throttled by wall time, which batching moves: compare the rest
        return [(r.topic, r.key, {k: v for k, v in r.payload.items() if k != "observed_at"}) for r in records
                if b":update:" not in dict(r.headers)["ce_id"]]

    assert stable(engine_run(slo, events, sizes)) == stable(engine_run(slo, events))


@settings(max_examples=25, deadline=None)
@given(plan=phases, cut=st.floats(0, 1))
def test_a_restore_mid_stream_gives_the_same_alerts_with_the_same_ids(plan, cut):
    slo = make_slo()
    events = stream(plan, 0)
    uninterrupted = engine_run(slo, events)
    restarted = engine_run(slo, events, restart_at=int(cut * len(events)))
    assert [orjson.dumps(r.payload) for r in restarted] == [orjson.dumps(r.payload) for r in uninterrupted]
    assert [r.headers for r in restarted] == [r.headers for r in uninterrupted]


@settings(max_examples=30, deadline=None)
@given(plan=phases)
def test_an_alert_never_resolves_before_it_fires(plan):
    slo = make_slo(alerting=replace(make_slo().alerting, min_events=3))
    fired: set[str] = set()
    for record in engine_run(slo, stream(plan, 5)):
        payload = record.payload
        if payload["status"] == "resolved":
            assert payload["id"] in fired
            assert payload["ends_at"] >= payload["starts_at"]
            fired.discard(payload["id"])
        else:
            fired.add(payload["id"])


def test_a_full_outage_pages_and_resolves_in_both_the_engine_and_the_reference():
    slo = make_slo()
    events = stream([(0.5, 0.0, 600), (0.5, 1.0, 60), (0.5, 0.0, 600)], 0)
    expected = brute_force(slo, events)
    assert [(rule, kind) for rule, kind, _, _ in expected if rule == "page-fast"] == [("page-fast", "firing"), ("page-fast", "resolved")]
    assert burn_transitions(engine_run(slo, events)) == expected
