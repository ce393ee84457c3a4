"""With `resolve_hold: 0s`, the notified page and ticket state is Sloth's multiwindow rules, exactly.

Sloth (and Pyrra) page while `quick OR slow` holds, each pair being "error ratio over the short window
AND over the long window > factor x (1 - objective)"; Prometheus evaluates it at every interval, and a
window without requests has no ratio, so it never fires. The reference below computes that from the
raw events at every decision instant - quiet ones included, since another service's traffic moves the
clock - and compares it with the state the engine's alert records describe: a severity is notified
at instant D when one of its alerts has starts_at <= D < ends_at. Onsets and resolves both count.

Windows are [D - w, D): an event stamped exactly at a decision instant counts from the next decision
(Prometheus 3's range selectors are (D - w, D]; the two differ only for events on the grid). The
decision step is the resolution of the coarsest ring level serving an alert window (60 s here), so
every window edge is a bucket edge and the ring's sums are exact; at finer steps the far edge is
rounded to a bucket boundary (test_engine_brute_force checks the engine against that rounding).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime

from engine_helpers import BASE, make_catalog, make_slo
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.event import Event
from slawatch.core.model import AlertPolicy, BurnRateRule, EventMatch, Severity
from slawatch.core.plan import plan_for
from slawatch.engine import Engine

STEP = 60.0
RULES = (  # the SRE Workbook's windows, scaled to a 1-day SLO (the outage-pages scenario's)
    BurnRateRule("page-fast", Severity.PAGE, 120, 10, 2.0, 14.4),
    BurnRateRule("page-slow", Severity.PAGE, 720, 60, 5.0, 6.0),
    BurnRateRule("ticket-fast", Severity.TICKET, 2880, 240, 10.0, 3.0),
    BurnRateRule("ticket-slow", Severity.TICKET, 8640, 720, 10.0, 1.0),
)
SLO = make_slo(name="api-availability",
               alerting=AlertPolicy(RULES, budget_consumed_thresholds=(), forecast=False, resolve_hold_s=0))
OTHER = replace(make_slo(name="web-availability"), match=EventMatch("web"))

# Phases of the SLO's traffic: (seconds between events, failure ratio, events); a phase of one event
# after a long gap is a quiet spell, during which only the other service sends.
phases = st.lists(
    st.one_of(
        st.tuples(st.sampled_from([1.0, 2.5, 7.0, 30.0]), st.sampled_from([0.0, 0.05, 0.25, 0.5, 1.0]),
                  st.integers(1, 120)),
        st.tuples(st.sampled_from([150.0, 600.0, 2000.0]), st.just(0.0), st.just(1)),
    ),
    min_size=1, max_size=10,
)


def slo_events(plan) -> list[Event]:
    events, t = [], BASE
    for gap, failing, count in plan:
        for i in range(count):
            t += gap
            ok = not (failing and (i * failing) % 1 + failing >= 1)  # a deterministic share of failures
            events.append(Event("api", t, ok, operation="GET", region="eu"))
    return events


def merged(events: list[Event]) -> list[Event]:
    """The SLO's events and the other service's steady traffic (every 5 s), in time order."""
    end = events[-1].ts + 600
    others = [Event("web", BASE + 0.5 + 5 * i, True) for i in range(int((end - BASE) / 5))]
    return sorted(events + others, key=lambda e: e.ts)


def ratio_exceeds(applied: list[Event], level, start: float, end: float, factor: float) -> bool:
    """Sloth's window test on the raw events: bad / total over [start, end) > factor x (1 - objective),
    counting only the buckets the ring still retains (none leave here: the test spans less)."""
    r = level.resolution_s
    head = max(int(e.ts // r) for e in applied)
    inside = [e for e in applied if start <= e.ts < end and int(e.ts // r) > head - level.capacity]
    return bool(inside) and sum(not e.ok for e in inside) / len(inside) > factor * (1 - SLO.objective)


def sloth_state(applied: list[Event], instant: float) -> dict[str, bool]:
    levels = plan_for(SLO).levels
    level_for = {w: next(lv for lv in levels if lv.covers(w)) for r in RULES for w in (r.long_window_s, r.short_window_s)}
    state = {"page": False, "ticket": False}
    for rule in RULES:
        if all(ratio_exceeds(applied, level_for[w], instant - w, instant, rule.factor)
               for w in (rule.long_window_s, rule.short_window_s)):
            state[rule.severity.value] = True
    return state


def seconds(text: str | None) -> float:
    return math.inf if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def notified_intervals(records) -> dict[str, list[tuple[float, float]]]:
    """Per severity, [starts_at, ends_at) of every notified burn-rate alert of the SLO."""
    spans: dict[str, tuple[str, float, float]] = {}
    for record in records:
        p = record.payload
        if p["slo"] == SLO.name and p["type"] == "burn_rate":
            spans[p["id"]] = (p["labels"]["severity"], seconds(p["starts_at"]), seconds(p.get("ends_at")))
    out: dict[str, list[tuple[float, float]]] = {"page": [], "ticket": []}
    for severity, start, end in spans.values():
        out[severity].append((start, end))
    return out


def run(stream: list[Event]):
    """As replay drives the engine: one record per event, the file's time as the wall clock."""
    engine = Engine(make_catalog(SLO, OTHER), step_s=STEP, max_future_s=1e9)
    records = []
    for offset, event in enumerate(stream):
        engine.apply([event], partition=0, offset=offset, wall_now=event.ts)
        records += engine.evaluate(event.ts)
    return records, engine._runtimes[SLO.name].decided


@settings(max_examples=60, deadline=None)
@given(plan=phases)
def test_notified_pages_and_tickets_equal_quick_or_slow_at_every_instant_with_no_hold(plan):
    mine = slo_events(plan)
    stream = merged(mine)
    records, last_decided = run(stream)
    intervals = notified_intervals(records)
    first = math.floor(mine[0].ts / STEP) * STEP + STEP
    instant = first
    while instant <= last_decided:
        applied = [e for e in mine if e.ts < instant]
        expected = sloth_state(applied, instant)
        got = {s: any(start <= instant < end for start, end in intervals[s]) for s in ("page", "ticket")}
        assert got == expected, f"at {instant - BASE:g} s: engine {got}, Sloth's rules {expected}"
        instant += STEP
    assert last_decided >= math.floor(stream[-1].ts / STEP) * STEP - STEP  # quiet to the end, still decided


def test_an_outage_then_silence_resolves_within_a_short_window_of_the_silence():
    """The page resolves while the service sends nothing at all, as Prometheus' would: at the first
    instant Sloth's rules stop holding, within page-slow's 1 m short window (plus a step) of the silence."""
    outage = slo_events([(1.0, 0.0, 600), (1.0, 1.0, 120)])  # 10 min fine, 2 min of errors, then silence
    records, _ = run(merged(outage))
    pages = notified_intervals(records)["page"]
    silence = outage[-1].ts
    cleared = math.floor(silence / STEP) * STEP + STEP
    while sloth_state(outage, cleared)["page"]:
        cleared += STEP
    assert pages and min(start for start, _ in pages) < silence
    assert max(end for _, end in pages) == cleared <= silence + 60 + STEP
