"""Micro-benchmark of the pure SLO engine: event updates, window queries, snapshots.

Run: .venv/bin/python bench/core_bench.py   (plain Python, time.perf_counter_ns; no I/O in the loop)
Prints ns per event update (availability, latency threshold, latency percentile with sketches,
with and without offset bookkeeping, a calendar month in Asia/Kolkata), us per window query
(including 1-minute timeslices over 30 days, served from hourly verdicts), and snapshot sizes and
snapshot/restore times of full 30-day SLOs (a busy percentile SLO built by
tests/core/core_strategies.busy_percentile_state). The figures in docs/engine.md come from this script.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))  # the busy-state builder

from core_strategies import busy_percentile_state  # noqa: E402

from slawatch.core import evaluate as ev  # noqa: E402
from slawatch.core.alert_windows import default_rules  # noqa: E402
from slawatch.core.model import (  # noqa: E402
    AlertPolicy,
    Budgeting,
    BudgetingMethod,
    CalendarUnit,
    CalendarWindow,
    EventMatch,
    RollingWindow,
    Sli,
    SliKind,
    Slo,
)
from slawatch.core.slo_state import SloState  # noqa: E402
from slawatch.core.snapshot import state_from_bytes, state_to_bytes  # noqa: E402

START = 1_767_225_600.0
DAY = 86400
N_EVENTS = 200_000


def slo(kind=SliKind.AVAILABILITY, budgeting=None, windows=(RollingWindow(30 * DAY),)) -> Slo:
    return Slo(
        name=f"bench-{kind.value}",
        match=EventMatch(service="bench"),
        sli=Sli(kind, threshold_ms=None if kind is SliKind.AVAILABILITY else 250.0,
                percentile=99.0 if kind is SliKind.LATENCY_PERCENTILE else None),
        objective=0.999,
        windows=windows,
        alerting=AlertPolicy(burn_rate_rules=default_rules(30 * DAY)),
        budgeting=budgeting or Budgeting(),
    )


def stream(n: int, rate_per_s: float, seed: int = 7) -> list[tuple[float, bool, float]]:
    """n events at `rate_per_s`, with a little disorder (up to 2 s late), 0.5 % errors."""
    rng = random.Random(seed)
    return [
        (START + i / rate_per_s - rng.random() * 2.0, rng.random() > 0.005, rng.lognormvariate(4.0, 0.6))
        for i in range(n)
    ]


def time_updates(state: SloState, events, with_offsets: bool) -> float:
    apply = state.apply
    begin = time.perf_counter_ns()
    if with_offsets:
        for offset, (ts, ok, latency) in enumerate(events):
            apply(ts, ok, latency, 0, offset)
    else:
        for ts, ok, latency in events:
            apply(ts, ok, latency)
    return (time.perf_counter_ns() - begin) / len(events)


def time_call(fn, repeat: int) -> float:
    begin = time.perf_counter_ns()
    for _ in range(repeat):
        fn()
    return (time.perf_counter_ns() - begin) / repeat / 1000.0


def main() -> None:
    events = stream(N_EVENTS, rate_per_s=100.0)
    print(f"event updates ({N_EVENTS:,} events, 100/s, up to 2 s disorder):")
    for label, kind, offsets in [
        ("availability", SliKind.AVAILABILITY, False),
        ("availability + offsets", SliKind.AVAILABILITY, True),
        ("latency threshold", SliKind.LATENCY_THRESHOLD, False),
        ("latency percentile (sketch)", SliKind.LATENCY_PERCENTILE, False),
    ]:
        print(f"  {label:32s} {time_updates(SloState(slo(kind)), events, offsets):8.0f} ns/event")
    kolkata = (RollingWindow(30 * DAY), CalendarWindow(CalendarUnit.MONTH, time_zone="Asia/Kolkata"))
    print(f"  {'availability + Kolkata month':32s} {time_updates(SloState(slo(windows=kolkata)), events, False):8.0f} ns/event")
    one_minute = Budgeting(BudgetingMethod.TIMESLICES, timeslice_s=60, timeslice_target=0.99)
    print(f"  {'timeslices 1 min':32s} {time_updates(SloState(slo(budgeting=one_minute)), events, False):8.0f} ns/event")

    state = SloState(slo(windows=(RollingWindow(30 * DAY), CalendarWindow(CalendarUnit.MONTH))))
    month = stream(300_000, rate_per_s=300_000 / (31 * DAY))  # a month of events, spread thin
    for ts, ok, latency in month:
        state.apply(ts, ok, latency)
    now = month[-1][0]
    print("window queries (30-day availability SLO, one month of data):")
    for window_s in (300, 3600, 6 * 3600, DAY, 3 * DAY, 30 * DAY):
        print(f"  sli over {window_s:>8d} s            {time_call(lambda: ev.sli(state, window_s, now), 2000):8.2f} us")
    print(f"  burn rate 1 h                    {time_call(lambda: ev.window_burn_rate(state, 3600, now), 2000):8.2f} us")
    window = state.slo.windows[1]
    print(f"  attainment calendar month        {time_call(lambda: ev.attainment(state, window, now), 2000):8.2f} us")
    print(f"  budget status 30 d               {time_call(lambda: ev.budget(state, state.slo.windows[0], now), 2000):8.2f} us")
    in_kolkata = SloState(slo(windows=kolkata))
    for ts, ok, latency in month:
        in_kolkata.apply(ts, ok, latency)
    print(f"  attainment Kolkata month         {time_call(lambda: ev.attainment(in_kolkata, kolkata[1], now), 2000):8.2f} us")

    sliced = SloState(slo(budgeting=one_minute, windows=(RollingWindow(30 * DAY), CalendarWindow(CalendarUnit.MONTH))))
    for ts, ok, latency in month:
        sliced.apply(ts, ok, latency)
    print(f"  timeslice attainment 30 d (1 min) {time_call(lambda: ev.attainment(sliced, sliced.slo.windows[0], now), 200):7.0f} us")
    print(f"  timeslice attainment month        {time_call(lambda: ev.attainment(sliced, sliced.slo.windows[1], now), 200):7.0f} us")
    print(f"  timeslice burn rate 1 h           {time_call(lambda: ev.window_burn_rate(sliced, 3600, now), 2000):7.1f} us")
    percentile = SloState(slo(SliKind.LATENCY_PERCENTILE))
    for ts, ok, latency in month:
        percentile.apply(ts, ok, latency)

    data = state_to_bytes(state)
    print("snapshots:")
    print(f"  30-day + month availability SLO  {len(data):8,d} bytes")
    plain = SloState(slo())
    for ts, ok, latency in month:
        plain.apply(ts, ok, latency)
    plain_bytes = state_to_bytes(plain)
    print(f"  30-day availability SLO          {len(plain_bytes):8,d} bytes")
    print(f"  snapshot                         {time_call(lambda: state_to_bytes(plain), 50):8.0f} us")
    print(f"  restore                          {time_call(lambda: state_from_bytes(plain_bytes, plain.slo), 50):8.0f} us")
    busy = SloState(slo())  # 1,000 events/s with 0.1 % errors in every bucket of every level
    for hour in range(31 * 24):
        busy.ring.add(START + hour * 3600, 0, 3_600_000)
        busy.ring.add(START + hour * 3600, 1, 3_600)
    for second in range(0, DAY, 10):
        busy.ring.add(START + 30 * DAY + second, 0, 10_000)
        busy.ring.add(START + 30 * DAY + second, 1, 10)
    print(f"  30-day availability, 1,000/s     {len(state_to_bytes(busy)):8,d} bytes")
    print(f"  30-day + month 1-min timeslice   {len(state_to_bytes(sliced)):8,d} bytes")
    sliced_bytes = state_to_bytes(sliced)
    print(f"    snapshot / restore             {time_call(lambda: state_to_bytes(sliced), 50):8.0f} / "
          f"{time_call(lambda: state_from_bytes(sliced_bytes, sliced.slo), 50):.0f} us")
    busy_sliced = SloState(slo(budgeting=one_minute))  # every 1-minute slice of a month, 1,000/s
    for minute in range(31 * 1440):
        busy_sliced.ring.add(START + minute * 60, 0, 60_000)
        busy_sliced.ring.add(START + minute * 60, 1, 60 * (minute % 7 == 0))
    print(f"  30-day 1-min timeslice, 1,000/s  {len(state_to_bytes(busy_sliced)):8,d} bytes")
    print(f"  30-day latency percentile SLO    {len(state_to_bytes(percentile)):8,d} bytes  (thin month)")
    for sigma in (0.6, 1.1):  # 50 events/s for 31 days; sigma 0.6 spans ~3 decades, 1.1 ~5
        busy_percentile = busy_percentile_state(events_per_s=50, sigma=sigma)
        busy_bytes = state_to_bytes(busy_percentile)
        print(f"  30-day p99, 50/s, sigma {sigma}       {len(busy_bytes):8,d} bytes")
        print(f"    snapshot / restore             {time_call(lambda: state_to_bytes(busy_percentile), 10):8.0f} / "
              f"{time_call(lambda: state_from_bytes(busy_bytes, busy_percentile.slo), 10):.0f} us")
        now = busy_percentile.watermark
        for window_s in (300, 3600, DAY, 30 * DAY):
            cost = time_call(lambda: ev.percentile(busy_percentile, window_s, now), 20)
            print(f"    p99 over {window_s:>8d} s        {cost:8.0f} us")


if __name__ == "__main__":
    main()
