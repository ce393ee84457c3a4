"""Engine micro-benchmark: apply cost per (event, SLO) pair, one decision, evaluate over 10,000 SLOs,
one checkpoint. Pure (no Kafka): `.venv/bin/python bench/engine_bench.py [--quick] [--no-10k]`.

- apply: 10 services, records of 100 events of one service (round robin), demo-like events (0.2 %
  errors, 4 operations, 2 regions, 4 customers), event time advancing 10 ms per event per service, so
  a record spans 1 s of event time (one decision per record and SLO at step_s=1, ten at 0.1). Two
  catalogues: 1 SLO per service (30-day availability) and the benchmark worker's 10 shapes per service
  (bench/gen_catalog.py: every SLI kind, filters, a grouped SLO, an SLA). The figure is wall time over
  (event, SLO) pairs counted, decisions included, after a warm-up of an hour of event time.
- decision: `SloRuntime.decide` on a 30-day availability SLO whose ring is full (state_bench's
  busy state), at successive 1 s instants; healthy (no errors) and burning (burn 1: ticket-slow fires).
- evaluate 10,000: state_bench's --engine case (one evaluate deciding every SLO; then nothing new).
- checkpoint: `Engine.checkpoint` of the 30-day availability SLO after each 100-event record.
"""

from __future__ import annotations

import gc
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_bench import DAY, START  # noqa: E402
from gen_catalog import throughput_catalog  # noqa: E402
from harness import CUSTOMERS, OPERATIONS, REGIONS  # noqa: E402

from slawatch.catalog import load_catalog  # noqa: E402
from slawatch.core.event import Event  # noqa: E402
from slawatch.core.model import Catalog  # noqa: E402
from slawatch.engine import Engine  # noqa: E402

SERVICES = [f"svc-{i:02d}" for i in range(10)]
PER_RECORD = 100


def catalogue(per_service: int) -> Catalog:
    with tempfile.TemporaryDirectory() as tmp:
        full = load_catalog([throughput_catalog(Path(tmp) / "c.yaml", SERVICES)])
    if per_service == 10:
        return full
    keep = {f"{s}-availability" for s in SERVICES}
    return Catalog(full.services, tuple(s for s in full.slos if s.name in keep))


def records(n: int, t0: float, seed: int = 3) -> list[tuple[str, list[Event]]]:
    rng = random.Random(seed)
    clock = {s: t0 for s in SERVICES}
    out = []
    for i in range(n):
        service = SERVICES[i % len(SERVICES)]
        t = clock[service]
        events = []
        for _ in range(PER_RECORD):
            t += 0.01
            events.append(Event(service, round(t - rng.random() * 0.005, 3), rng.random() >= 0.002,
                                round(rng.lognormvariate(0, 0.5) * 120.0, 2), rng.choice(OPERATIONS),
                                rng.choice(CUSTOMERS), rng.choice(REGIONS)))
        clock[service] = t
        out.append((service, events))
    return out


def bench_apply(per_service: int, step_s: float, n_warm: int, n_timed: int) -> dict:
    engine = Engine(catalogue(per_service), step_s=step_s)
    recs = records(n_warm + n_timed, START)
    offset = 0
    for _, events in recs[:n_warm]:
        offset += 1
        engine.apply(events, partition=0, offset=offset, wall_now=events[-1].ts)
        engine.evaluate(events[-1].ts)
    pairs = 0
    gc.collect()
    begin = time.perf_counter()
    for _, events in recs[n_warm:]:
        offset += 1
        applied = engine.apply(events, partition=0, offset=offset, wall_now=events[-1].ts)
        pairs += applied.counted
    elapsed = time.perf_counter() - begin
    return {"pairs": pairs, "ns_per_pair": round(elapsed / pairs * 1e9), "events_per_s": round(n_timed * PER_RECORD / elapsed)}


def bench_decision(bad_per_mille: int, n: int) -> float:
    from state_bench import busy_state

    from slawatch.engine.runtime import SloRuntime

    state = busy_state(bad_per_mille)
    rt = SloRuntime(state.slo, None, 300.0, Engine(Catalog((), ())).lifecycle)
    rt.state = state
    now = START + 31 * DAY
    rt.watermark = now - 0.5
    for k in range(20):
        rt.decide(now + k, now)
    begin = time.perf_counter()
    for k in range(20, 20 + n):
        rt.decide(now + k, now)
    return (time.perf_counter() - begin) / n * 1e6


def bench_checkpoint(n_warm: int, n_timed: int) -> dict:
    engine = Engine(catalogue(1))
    recs = [r for r in records((n_warm + n_timed) * 10, START) if r[0] == SERVICES[0]]
    name = f"{SERVICES[0]}-availability"
    offset = 0
    for _, events in recs[:n_warm]:
        offset += 1
        engine.apply(events, partition=0, offset=offset, wall_now=events[-1].ts)
    engine.evaluate(recs[n_warm - 1][1][-1].ts)
    spent = 0.0
    size = 0
    for _, events in recs[n_warm:]:
        offset += 1
        engine.apply(events, partition=0, offset=offset, wall_now=events[-1].ts)
        engine.evaluate(events[-1].ts)
        begin = time.perf_counter()
        data = engine.checkpoint(name)
        spent += time.perf_counter() - begin
        size = len(data)
    # The same SLO restored elsewhere: its first checkpoint has nothing cached.
    other = Engine(catalogue(1))
    other.restore(name, data)
    begin = time.perf_counter()
    cold = other.checkpoint(name)
    cold_us = (time.perf_counter() - begin) * 1e6
    assert cold == data, "a restored engine's checkpoint must equal the one it was restored from"
    return {"us": round(spent / len(recs[n_warm:]) * 1e6, 1), "cold_us": round(cold_us, 1), "bytes": size}


def main() -> None:
    quick = "--quick" in sys.argv
    warm, timed = (360, 200) if quick else (3600, 1000)  # records: an hour of event time per service to warm up
    out = {}
    for per_service in (1, 10):
        for step in (1.0, 0.1):
            figures = bench_apply(per_service, step, warm, timed)
            out[f"apply_{per_service}slo_step{step:g}"] = figures
            print(f"apply, {per_service:>2} SLO/service, step_s={step:<4g}: {figures['ns_per_pair']:>6} ns/pair "
                  f"({figures['events_per_s']:,} events/s)", flush=True)
    for label, bad in (("healthy", 0), ("burning", 1)):
        us = bench_decision(bad, 300 if quick else 2000)
        out[f"decision_{label}_us"] = round(us, 1)
        print(f"decision, 30-day availability, {label}: {us:.1f} us", flush=True)
    cp = bench_checkpoint(60 if quick else 3600, 100 if quick else 300)
    out["checkpoint"] = cp
    print(f"checkpoint, 30-day availability: {cp['us']} us after each record, {cp['cold_us']} us cold "
          f"({cp['bytes']:,} bytes)", flush=True)
    if "--no-10k" not in sys.argv:
        from state_bench import _engine_case, busy_state

        from slawatch.engine.runtime import SloRuntime

        for label, bad in (("burning", 1), ("healthy", 0)):
            gc.collect()
            case = _engine_case(Engine, SloRuntime, busy_state(bad))
            out[f"evaluate_10k_{label}"] = case
            print(f"Engine.evaluate, 10,000 SLOs, {label}: {case['evaluate_10k_ms']} ms deciding "
                  f"({case['alert_records']} records), {case['evaluate_10k_nothing_new_ms']} ms nothing new", flush=True)
    return out


if __name__ == "__main__":
    main()
