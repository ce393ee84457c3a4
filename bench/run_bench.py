"""slawatch end-to-end benchmark (`make bench`): figures printed and written to JSON, never asserted.

    .venv/bin/python bench/run_bench.py --out bench-results.json [--quick] [--profile]

(a)   raw consume of sla.events with aiokafka getmany, no decoding: the ceiling
(b)   a bare Faust agent that only counts records: Faust's per-record floor
(b2)  a bare Faust agent that decodes 100-event records with orjson and counts events
(c1)  the slawatch worker, 100 SLOs over 10 services, one event per record, events/s end to end
(c100) the same with 100 events per record
(c100live) the same over live-stamped traffic (one event per 10 ms per service): a replay of 100 s,
       so every SLO also decides at the event-time steps the events cross
(scale) one worker, then two in one group, on the same one-event records (bench/scale_bench.py)
(d)   page-detection latency, produce -> alert on sla.warnings (when the worker emits alerts)
(e)   snapshot bytes of a 30-day SLO; RSS with 10,000 SLO states     (bench/state_bench.py)
(f)   time to evaluate 10,000 SLOs: core.evaluate, and Engine.evaluate  (bench/state_bench.py)
(g)   start-up with a 10,000-SLO catalogue, load + validate, native and OpenSLO  (bench/startup_bench.py)
plus the engine micro-benchmark (bench/core_bench.py) and the peer a user would pick instead: the
same SLOs as Sloth's rules on a real Prometheus (bench/peer_bench.py). Every measurement gets a FRESH embedded
broker: the worker's topic, consumer group and changelog names are fixed, so a second worker run on
the same broker would inherit committed offsets and ledger offsets (and skip or de-duplicate the
new events), and Tansu frees memory only when topics are deleted; a broker starts in milliseconds.
See docs/benchmarks.md for what each figure means and the measured values.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_worker  # noqa: E402
import gen_catalog  # noqa: E402
import harness  # noqa: E402
import report  # noqa: E402
import scale_bench  # noqa: E402

BENCH = Path(__file__).resolve().parent
SIZES = {  # records per measurement: full run (~2 min on 2 cores) and --quick
    "full": {"a": 200_000, "b": 30_000, "batched": 4_000, "c1": 25_000, "d": 20},
    "quick": {"a": 50_000, "b": 8_000, "batched": 1_000, "c1": 6_000, "d": 5},
}


def faust_bare(children: harness.Children, address: str, mode: str, records: list, work: Path) -> dict:
    out = work / f"bare-{mode}.json"
    env = {"BENCH_BROKER": address, "BENCH_MODE": mode, "BENCH_EXPECT": str(len(records)), "BENCH_OUT": str(out),
           "BENCH_DATADIR": str(work / f"faust-{mode}")}
    spawn = time.perf_counter()
    proc = children.spawn([sys.executable, str(BENCH / "faust_bare.py"), "worker", "-l", "warn"],
                          work / f"bare-{mode}.log", env)
    try:
        while not out.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"bare Faust worker exited with {proc.returncode} (log {work}/bare-{mode}.log)")
            if time.perf_counter() - spawn > 180:
                raise RuntimeError("bare Faust worker did not finish in 180 s")
            time.sleep(0.05)
        result = orjson.loads(out.read_bytes())
    finally:
        children.stop(proc)
    seconds = result["seconds"]
    return {**result, "records_per_s": result["timed_records"] / seconds, "events_per_s": result["timed_events"] / seconds,
            "spawn_to_done_s": time.perf_counter() - spawn}


def measure(results: dict, key: str, fn) -> None:
    """Run one measurement; a failure is recorded (and printed) and the others still run."""
    begin = time.perf_counter()
    print(f"  {key:5s} ...", end="", flush=True)
    try:
        results[key] = fn()
        print(f" {time.perf_counter() - begin:5.1f} s", flush=True)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
        results[key] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f" FAILED: {results[key]['error']}", flush=True)


def on_broker(children: harness.Children, work: Path, name: str, records: list, then):
    """A fresh broker with the topics applied, `records` produced to sla.events, then `then(address)`."""
    def run():
        broker = children.broker(work / f"broker-{name}.log")
        try:
            produce_s = harness.produce(broker.address, records)
            result = then(broker.address)
            return {**result, "produce_s": round(produce_s, 3)}
        finally:
            children.stop_broker(broker)
    return run


def subprocess_json(cmd: list[str], timeout_s: float = 180) -> dict:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=harness.REPO)
    if done.returncode:
        raise RuntimeError(f"{cmd[-1]} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return orjson.loads(done.stdout.strip().splitlines()[-1])


def core_lines() -> list[str]:
    done = subprocess.run([sys.executable, str(BENCH / "core_bench.py")], capture_output=True, text=True,
                          timeout=180, cwd=harness.REPO)
    if done.returncode:
        raise RuntimeError(f"core_bench.py exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout.rstrip().splitlines()


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--quick", action="store_true", help="about a quarter of the records (a smoke run)")
    parser.add_argument("--only", default="a,a100,b,b2,c1,c100,c100live,scale,d,ef,engine,g,core,peer", help="comma-separated subset")
    parser.add_argument("--profile", choices=("py-spy",), help="after the figures, profile the worker on (c1) and (c100)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, catalogues)")
    args = parser.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    only = set(args.only.split(","))
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: the finally below cleans up
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored (&)

    started = time.perf_counter()
    args.out.resolve().parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="slawatch-bench-"))
    children = harness.Children()
    results: dict = {}
    try:
        names = harness.services(10)
        singles = harness.single_records(max(sizes["a"], sizes["b"], sizes["c1"]), names)
        batches = harness.batch_records(sizes["batched"], names, per_record=100)
        live = harness.batch_records(sizes["batched"] // 4, names, per_record=100, spacing_s=harness.LIVE_SPACING_S)
        catalog = gen_catalog.throughput_catalog(work / "catalog" / "bench.yaml", names)
        latency_services = [f"lat-{i:02d}" for i in range(sizes["d"])]
        latency_catalog = gen_catalog.latency_catalog(work / "catalog-d" / "latency.yaml", latency_services)
        print(f"slawatch bench: work folder {work}; catalogue {gen_catalog.slo_count(catalog)} SLOs over "
              f"{len(names)} services", flush=True)
        events_b = 100 * len(batches)

        def raw(count, per_record):
            def then(address):
                runs = [harness.raw_consume(address, count, per_record) for _ in range(2)]
                best = max(runs, key=lambda r: r["records_per_s"])
                return {**best, "runs_records_per_s": [round(r["records_per_s"]) for r in runs]}
            return then

        plan = [
            ("a", lambda: on_broker(children, work, "a", singles[:sizes["a"]], raw(sizes["a"], 1))()),
            ("a100", lambda: on_broker(children, work, "a100", batches, raw(len(batches), 100))()),
            ("b", lambda: on_broker(children, work, "b", singles[:sizes["b"]],
                                    lambda addr: faust_bare(children, addr, "count", singles[:sizes["b"]], work))()),
            ("b2", lambda: on_broker(children, work, "b2", batches,
                                     lambda addr: faust_bare(children, addr, "events", batches, work))()),
            ("c1", lambda: on_broker(children, work, "c1", singles[:sizes["c1"]], lambda addr: bench_worker.run_throughput(
                children, addr, catalog, work, sizes["c1"], "c1"))()),
            ("c100", lambda: on_broker(children, work, "c100", batches, lambda addr: bench_worker.run_throughput(
                children, addr, catalog, work, events_b, "c100"))()),
            ("c100live", lambda: on_broker(children, work, "c100live", live, lambda addr: bench_worker.run_throughput(
                children, addr, catalog, work, 100 * len(live), "c100live"))()),
            ("scale", lambda: on_broker(children, work, "scale", [], lambda addr: scale_bench.run(
                children, addr, catalog, work, singles[:4 * sizes["c1"]]))()),
            ("d", lambda: on_broker(children, work, "d", [], lambda addr: bench_worker.run_detection(
                children, addr, latency_catalog, latency_services, work))()),
            ("ef", lambda: subprocess_json([sys.executable, str(BENCH / "state_bench.py")])),
            ("engine", lambda: subprocess_json([sys.executable, str(BENCH / "state_bench.py"), "--engine"])),
            ("g", lambda: subprocess_json([sys.executable, str(BENCH / "startup_bench.py")])),
            ("core", lambda: {"lines": core_lines()}),
            ("peer", lambda: subprocess_json([sys.executable, str(BENCH / "peer_bench.py")], timeout_s=420)),
        ]
        for key, fn in plan:
            if key in only:
                measure(results, key, fn)
        if args.profile:
            import profile_worker

            out_dir = args.out.resolve().parent
            measure(results, "profile", lambda: profile_worker.profile_run(
                children, work, catalog, batches, events_b, out_dir, "c100"))
            measure(results, "profile_c1", lambda: profile_worker.profile_run(
                children, work, catalog, singles[:sizes["c1"]], sizes["c1"], out_dir, "c1"))
    except KeyboardInterrupt:
        print("\ninterrupted: stopping every broker and worker", file=sys.stderr)
        return 130
    finally:
        children.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    doc = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "sizes": sizes,
        "run_seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }
    doc["ratios"], doc["targets"] = report.ratios_and_targets(results)
    print(report.table(doc))
    if isinstance(results.get("scale"), dict):
        print("\n".join(scale_bench.table_lines(results["scale"])))
    args.out.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    print(f"\nwritten to {args.out} ({doc['run_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
