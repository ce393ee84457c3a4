"""(g) start-up with a 10,000-SLO catalogue: load + validate, the worker's first step.

Run by bench/run_bench.py in its own process; prints one JSON object on its last line.

The catalogue is bench/gen_catalog.py's start-up mix (10,000 SLOs over 1,000 services), written once
in the native form and once as multi-document OpenSLO. Each figure is the median of 3 fresh
processes, each making the call `slawatch worker` makes before anything else,
`cli_checks.catalog_from(paths)` (load + validate; an invalid catalogue fails the run). Timed apart
in the same process: importing the catalogue code (before the load) and the worker's remaining
imports (Faust, the engine, after it), and from outside, the whole process from spawn to exit. The
load's CPU time is given beside its wall time: on a shared machine it is the steadier figure.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))  # gen_catalog, report: imported where used

SLOS, SERVICES, RUNS = 10_000, 1_000, 3
TARGET_S = 3.0
FORMS = {"native": "startup_catalog", "openslo": "startup_openslo_catalog"}  # gen_catalog's writers


def child(path: str) -> dict:
    """One fresh process's start-up, timed in three parts."""
    started = time.perf_counter()
    from slawatch.cli_checks import catalog_from  # the worker's own call (cli.py, cmd_worker)
    import slawatch.catalog  # noqa: F401  imported lazily by catalog_from: counted as import, not load

    imported, cpu_before = time.perf_counter(), time.process_time()
    catalog = catalog_from([path])
    loaded, cpu_after = time.perf_counter(), time.process_time()
    try:
        import slawatch.stream.app  # noqa: F401  what the worker imports next
        worker_import_s = time.perf_counter() - loaded
    except Exception as exc:  # noqa: BLE001  a broken worker import is reported, the load figure stands
        worker_import_s, problem = None, f"{type(exc).__name__}: {exc}"
    return {"import_s": imported - started, "load_s": loaded - imported, "load_cpu_s": cpu_after - cpu_before,
            "worker_import_s": worker_import_s,
            "slos": len(catalog.slos), "services": len(catalog.service_names),
            **({"worker_import_error": problem} if worker_import_s is None else {})}


def fresh_runs(path: Path, runs: int = RUNS) -> dict:
    """Medians over `runs` fresh processes (and every run's load time, to show the spread)."""
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                              timeout=300)
        wall = time.perf_counter() - started
        if done.returncode:
            raise RuntimeError(f"start-up child exited {done.returncode}: {done.stderr.strip()[-500:]}")
        results.append({**orjson.loads(done.stdout.strip().splitlines()[-1]), "process_s": wall})
    median = {key: round(statistics.median(r[key] for r in results), 3) if None not in [r[key] for r in results]
              else None for key in ("import_s", "load_s", "load_cpu_s", "worker_import_s", "process_s")}
    errors = {r["worker_import_error"] for r in results if "worker_import_error" in r}
    return {**median, "slos": results[0]["slos"], "services": results[0]["services"],
            **({"worker_import_error": errors.pop()} if errors else {}),
            "per_slo_us": round(median["load_s"] / results[0]["slos"] * 1e6, 1),
            "load_runs_s": [round(r["load_s"], 3) for r in results], "file_bytes": path.stat().st_size}


def measure(slos: int = SLOS, services: int = SERVICES) -> dict:
    import gen_catalog  # imports slawatch.catalog: never in a child, whose import time is measured

    with tempfile.TemporaryDirectory(prefix="slawatch-startup-") as work:
        out: dict = {"target_s": TARGET_S, "runs": RUNS}
        for form, writer in FORMS.items():
            path = getattr(gen_catalog, writer)(Path(work) / f"{form}.yaml", slos, services)
            out[form] = fresh_runs(path)
        return out


def table_lines(result: dict) -> list[str]:
    """The printed rows: load + validate per form with the target, then where the rest goes."""
    from report import _row  # here, so report.py may import this module at its top

    lines = []
    for form in FORMS:
        r = result.get(form)
        if not isinstance(r, dict):
            continue
        verdict = "met" if r["load_s"] < result["target_s"] else "missed"
        lines.append(_row(f"(g) start-up, {r['slos']:,} SLOs, {form}", f"{r['load_s']:.2f} s load + validate",
                          f"({r['per_slo_us']:.0f} µs per SLO, CPU {r['load_cpu_s']:.2f} s; runs "
                          f"{', '.join(f'{s:.2f}' for s in r['load_runs_s'])})"
                          f"  target < {result['target_s']:g} s: {verdict}"))
        worker = "failed" if r["worker_import_s"] is None else f"{r['worker_import_s']:.2f} s"
        lines.append(_row("    imports; whole process", f"{r['import_s']:.2f} s; {r['process_s']:.2f} s",
                          f"(catalogue code; spawn to exit, with the worker's other imports: {worker})"))
    return lines


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(orjson.dumps(child(sys.argv[2])).decode())
    else:
        figures = measure()
        print("\n".join(table_lines(figures)), file=sys.stderr)
        print(orjson.dumps(figures).decode())
