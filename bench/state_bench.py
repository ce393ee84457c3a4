"""(e) state bytes per 30-day SLO and RSS with 10,000 SLO states; (f) time to evaluate 10,000 SLOs.

Run by bench/run_bench.py in its own process (so RSS is this process's alone); prints one JSON object.

(e) A 30-day availability SLO with the workbook's default alert rules gets a month of traffic
(bench/core_bench.py's `slo()` and `stream()`: 300,000 events spread over 31 days), and a worst case
with every bucket of every ring level filled (1,000 events/s with errors); the figure is
`len(state_to_bytes(state))`. The 10,000 states are restored from the worst-case snapshot with
`state_from_bytes`, so each holds a full month; RSS is read from /proc before and after. The growth
per state is set against the snapshot it was restored from (`rss_per_checkpoint`, target
RSS_PER_CHECKPOINT_TARGET: memory for a held SLO within twice what its checkpoint takes); `month`
gives the same figures for 10,000 states restored from the thin month.
(f) Per SLO: the burn rate over the long and the short window of every alert rule, plus the budget
of the primary window (`core.evaluate`), as the policies will ask on every batch; the figure is the
wall time for all 10,000.
`--engine` (a separate process, so the RSS figures stay apart): an `Engine` over a catalogue of 10,000
such SLOs, each restored from an engine checkpoint holding the worst-case state with its watermark
one second past the last decision, burning (0.1 % errors: burn rate 1, so the slowest ticket tier
fires for each) and healthy (no errors); then ONE `Engine.evaluate(wall_now)` decides every SLO once (all
policies: burn-rate tiers, budget thresholds, forecast, breach, no-data) and a second call finds
nothing new to decide; the RSS growth per SLO is set against the engine checkpoint, as in (e). Its
checkpoint format is built with `engine.runtime.SloRuntime`, so a change there shows up here as
"not measured" with the error, never as a made-up figure.
"""

from __future__ import annotations

import ctypes
import gc
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_bench import DAY, START, slo, stream  # noqa: E402
from slawatch.core import evaluate as ev  # noqa: E402
from slawatch.core.model import SliKind, Slo  # noqa: E402
from slawatch.core.slo_state import SloState  # noqa: E402
from slawatch.core.snapshot import state_from_bytes, state_to_bytes  # noqa: E402

N_SLOS = 10_000
RSS_PER_CHECKPOINT_TARGET = 2.0  # issue 12: RSS per held SLO <= 2 x its checkpoint size


def rss_per_slo(before_kib: int, after_kib: int, checkpoint_bytes: int) -> dict:
    """The RSS growth per held SLO, in KiB and bytes, and its ratio to the checkpoint it came from."""
    per_slo = (after_kib - before_kib) * 1024 / N_SLOS
    return {
        "rss_per_slo_kib": round(per_slo / 1024, 2),
        "rss_per_slo_bytes": round(per_slo),
        "rss_per_checkpoint": round(per_slo / checkpoint_bytes, 2),
        "rss_per_checkpoint_target": RSS_PER_CHECKPOINT_TARGET,
    }


def release_freed_memory() -> None:
    """Collect garbage and hand freed heap back to the OS (glibc's malloc_trim), so the RSS read next
    is what is held, not what an earlier case freed (the second engine case would start high)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: RSS may then include freed memory, and the growth read after it is low


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def month_state(kind: SliKind = SliKind.AVAILABILITY) -> SloState:
    state = SloState(slo(kind))
    for ts, ok, latency in stream(300_000, rate_per_s=300_000 / (31 * DAY)):
        state.apply(ts, ok, latency)
    return state


def busy_state(bad_per_mille: int = 1) -> SloState:
    """1,000 events/s in every bucket of every level (as core_bench's `busy`), 0.1 % errors by
    default: a burn rate of 1 on a 99.9 % objective."""
    state = SloState(slo())
    for hour in range(31 * 24):
        state.ring.add(START + hour * 3600, 0, 3_600_000)
        state.ring.add(START + hour * 3600, 1, 3_600 * bad_per_mille)
    for second in range(0, DAY, 10):
        state.ring.add(START + 30 * DAY + second, 0, 10_000)
        state.ring.add(START + 30 * DAY + second, 1, 10 * bad_per_mille)
    return state


def held_states(snapshot: bytes, slo_: Slo) -> dict:
    """RSS growth per state holding N_SLOS states restored from `snapshot`, against its size."""
    release_freed_memory()
    before = rss_kib()
    states = [state_from_bytes(snapshot, slo_) for _ in range(N_SLOS)]
    gc.collect()
    after = rss_kib()
    figures = {"checkpoint_bytes": len(snapshot), **rss_per_slo(before, after, len(snapshot))}
    figures["column_bytes_per_slo"] = states[0].ring.column_bytes()
    return figures


def evaluate_all(states: list[SloState], now: float) -> float:
    begin = time.perf_counter()
    for state in states:
        slo_ = state.slo
        for rule in slo_.alerting.burn_rate_rules:
            ev.window_burn_rate(state, rule.long_window_s, now)
            ev.window_burn_rate(state, rule.short_window_s, now)
        ev.budget(state, slo_.windows[0], now)
    return time.perf_counter() - begin


def main() -> None:
    out: dict = {}
    month = month_state()
    month_bytes = state_to_bytes(month)
    out["state_bytes_month"] = len(month_bytes)
    busy = busy_state()
    busy_bytes = state_to_bytes(busy)
    out["state_bytes_busy"] = len(busy_bytes)
    out["state_bytes_latency_percentile_month"] = len(state_to_bytes(month_state(SliKind.LATENCY_PERCENTILE)))
    del month
    release_freed_memory()
    before = rss_kib()
    begin = time.perf_counter()
    states = [state_from_bytes(busy_bytes, busy.slo) for _ in range(N_SLOS)]
    out["restore_10k_s"] = round(time.perf_counter() - begin, 3)
    gc.collect()
    after = rss_kib()
    out["rss_before_mib"] = round(before / 1024, 1)
    out["rss_10k_mib"] = round(after / 1024, 1)
    out["checkpoint_bytes"] = len(busy_bytes)
    out.update(rss_per_slo(before, after, len(busy_bytes)))
    out["column_bytes_per_slo"] = states[0].ring.column_bytes()  # the part of it in count columns
    now = START + 31 * DAY
    evaluate_all(states[:200], now)  # warm caches
    runs = [evaluate_all(states, now) for _ in range(3)]
    out["evaluate_10k_ms"] = round(min(runs) * 1000, 1)
    out["evaluate_10k_runs_ms"] = [round(r * 1000, 1) for r in runs]
    out["rules_per_slo"] = len(busy.slo.alerting.burn_rate_rules)
    del states
    out["month"] = held_states(month_bytes, busy.slo)  # the thin month: the other end of the ratio
    print(orjson.dumps(out).decode())


def engine_main() -> None:
    try:
        from slawatch.engine import Engine
        from slawatch.engine.runtime import SloRuntime
    except ImportError as exc:
        print(orjson.dumps({"available": False, "reason": f"slawatch.engine not importable ({exc})"}).decode())
        return
    # burning: 0.2 % errors, a burn rate of 2, so ticket-slow (factor 1) fires for every SLO; at the
    # default 0.1 % the burn equals the factor, which does not fire (error ratio > factor x budget).
    out = {"burning": _engine_case(Engine, SloRuntime, busy_state(2))}
    gc.collect()
    out["healthy"] = _engine_case(Engine, SloRuntime, busy_state(0))
    print(orjson.dumps({"available": True, **out}).decode())


def _engine_case(Engine, SloRuntime, busy: SloState) -> dict:  # noqa: N803 - classes passed in
    from dataclasses import replace

    from slawatch.core.model import Catalog, Service

    base = busy.slo
    slos = tuple(replace(base, name=f"bench-{i:05d}") for i in range(N_SLOS))
    wall = START + 31 * DAY + 60.0
    rt = SloRuntime(base, None, 300.0, Engine(Catalog((Service("bench"),), ())).lifecycle)
    rt.state = busy
    rt.watermark = busy.watermark = START + 31 * DAY - 0.5  # the ring was filled directly, not by accept
    rt.decided = START + 31 * DAY - 1.0  # so the evaluation below decides one instant per SLO
    rt.last_received_wall = wall - 10.0
    checkpoint = rt.to_bytes()
    release_freed_memory()
    before = rss_kib()
    engine = Engine(Catalog((Service("bench"),), slos))
    begin = time.perf_counter()
    for slo_ in slos:
        engine.restore(slo_.name, checkpoint)
    restore_s = time.perf_counter() - begin
    gc.collect()
    after = rss_kib()
    begin = time.perf_counter()
    records = engine.evaluate(wall)
    first = time.perf_counter() - begin
    begin = time.perf_counter()
    engine.evaluate(wall + 1.0)
    second = time.perf_counter() - begin
    # The worker's wall-clock timer with every SLO quiet (nothing received since): each tick decides
    # each SLO up to its clock (wall - 1 s). The first tick catches up the minute since the last
    # decision; later ticks cost what an SLO with nothing due costs (core.quiet).
    ticks = []
    for k in range(2, 8):
        clocks = dict.fromkeys((s.name for s in slos), wall + k - 1.0)
        begin = time.perf_counter()
        engine.evaluate(wall + k, clocks=clocks)
        ticks.append(time.perf_counter() - begin)
    del engine
    return {
        "slos": N_SLOS, "checkpoint_bytes": len(checkpoint), "restore_10k_s": round(restore_s, 2),
        "rss_before_mib": round(before / 1024, 1), "rss_10k_mib": round(after / 1024, 1),
        **rss_per_slo(before, after, len(checkpoint)),
        "evaluate_10k_ms": round(first * 1000, 1), "evaluate_10k_nothing_new_ms": round(second * 1000, 1),
        "quiet_catch_up_10k_ms": round(ticks[0] * 1000, 1),
        "quiet_tick_10k_ms": round(sorted(ticks[1:])[len(ticks[1:]) // 2] * 1000, 1),
        "alert_records": len(records),
    }


if __name__ == "__main__":
    engine_main() if "--engine" in sys.argv else main()
