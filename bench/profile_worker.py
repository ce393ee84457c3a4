"""Profile the slawatch worker's hot path on (c1) and (c100) with py-spy (`run_bench.py --profile py-spy`).

The records are produced to a fresh broker first, then the worker starts with py-spy attached
(`record -p PID`, 200 Hz, raw folded stacks, idle threads left out), so the samples cover start-up
(a small share) and consuming and counting, with no producer competing for the cores. When /metrics counts every event py-spy is stopped (SIGINT,
which makes it write its file) and the folded stacks are summed into self and inclusive shares per
function. py-spy: `.venv/bin/pip install py-spy` (not a project dependency).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench_worker import POLL_S, PROGRESS_QUERY, wait_ready, worker_cmd
from harness import Children, http_get, metric_sums, produce
from slawatch.broker.embedded import die_with_parent, free_port


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


def profile_run(children: Children, work: Path, catalog: Path, records: list, total: int, out_dir: Path,
                name: str) -> dict:
    """Profile the worker counting `records` (`total` events) into out_dir/bench-profile-<name>.folded,
    as the throughput figures run it: the records are produced first, /metrics is polled every POLL_S."""
    broker = children.broker(work / f"broker-profile-{name}.log")
    folded = out_dir / f"bench-profile-{name}.folded"
    try:
        produce(broker.address, records)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = children.spawn(worker_cmd(broker.address, port, catalog, work / f"data-profile-{name}"),
                              work / f"worker-profile-{name}.log")
        spy = subprocess.Popen([py_spy(), "record", "-p", str(proc.pid), "-f", "raw", "-F", "-r", "200",
                                "-o", str(folded)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        children.procs.append(spy)
        wait_ready(proc, url)
        begin = time.perf_counter()
        while metric_sums(http_get(f"{url}/metrics{PROGRESS_QUERY}")[1]).get("slawatch_events_total", 0) < total:
            if time.perf_counter() - begin > 300:
                raise RuntimeError("profiled worker did not count every event in 300 s")
            time.sleep(POLL_S)
        seconds = time.perf_counter() - begin
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
        children.procs.remove(spy)
        children.stop(proc)
        return {"folded": str(folded), "events": total, "seconds_ready_to_done": round(seconds, 2),
                **summarise(folded.read_text())}
    finally:
        children.stop_broker(broker)


def summarise(text: str, top: int = 25) -> dict:
    """Self and inclusive sample shares per function from py-spy raw (folded) output."""
    own, inclusive, samples = Counter(), Counter(), 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    share = (lambda c: [[f, round(100 * n / samples, 1)] for f, n in c.most_common(top)]) if samples else (lambda c: [])
    return {"samples": samples, "self_pct": share(own), "inclusive_pct": share(inclusive)}


if __name__ == "__main__":  # summarise an existing folded file
    import orjson

    print(orjson.dumps(summarise(Path(sys.argv[1]).read_text()), option=orjson.OPT_INDENT_2).decode())
