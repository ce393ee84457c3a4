"""`make soak`: the tests that kill, stop and rebalance real processes, SOAK_RUNS times (default 20),
while one busy process per core competes for the CPU.

Races between a crash and a commit, or a rebalance and a flush, show up only now and then, and more
often on a loaded machine; one green run proves little. Each run is one pytest process over the
tests in TESTS; its output goes to .run/soak/<start time>/run-N.log and the worker and broker logs
of its tests to the folder run-N beside it. Prints `soak: P/N runs passed` and exits non-zero
unless every run passed. The CPU hogs and the current run die with this script, even on Ctrl-C,
SIGTERM or SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from slawatch.broker.embedded import die_with_parent

REPO = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/integration/test_detection_end_to_end.py"
    "::test_a_worker_killed_mid_stream_loses_no_alert_and_resends_none_under_a_new_id",
    "tests/integration/test_rebalance.py",
    "tests/integration/test_broker_outage.py",
    "tests/integration/test_scale_out.py",
]
LOGS = REPO / ".run" / "soak" / time.strftime("%Y%m%d-%H%M%S")  # its own: a shared checkout may run two
RUN_TIMEOUT_S = 1200  # four tests of well under 2 minutes each, with room for a slow machine


def start_hogs(count: int) -> list[subprocess.Popen]:
    """`count` processes that spin forever; each gets SIGTERM from the kernel if this script dies."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=die_with_parent,
                             stdin=subprocess.DEVNULL) for _ in range(count)]


def stop_hogs(hogs: list[subprocess.Popen]) -> None:
    for hog in hogs:
        hog.kill()
    for hog in hogs:
        hog.wait()


def run_once(number: int) -> tuple[bool, list[str], float]:
    """One pytest run of the soak tests: passed?, its FAILED/ERROR lines, seconds taken."""
    log = LOGS / f"run-{number}.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        try:
            # --basetemp keeps the run's worker and broker logs beside its output for a post-mortem.
            code = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE", "--durations=0",
                                   f"--basetemp={LOGS / f'run-{number}'}", *TESTS], stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
                                  timeout=RUN_TIMEOUT_S, preexec_fn=die_with_parent).returncode
        except subprocess.TimeoutExpired:
            code = -1
    failed = [line for line in log.read_text(errors="replace").splitlines()  # pytest's short summary
              if line.startswith(("FAILED tests/", "ERROR tests/"))]
    if code == -1:
        failed.append(f"TIMEOUT after {RUN_TIMEOUT_S} s")
    return code == 0, failed, time.monotonic() - started


def stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # the same clean stop as Ctrl-C: the current run killed, the hogs too


def main() -> int:
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    runs = int(os.environ.get("SOAK_RUNS", "20"))
    LOGS.mkdir(parents=True, exist_ok=True)
    hogs = start_hogs(os.cpu_count() or 1)
    passed = done = 0
    try:
        for number in range(1, runs + 1):
            ok, failed, seconds = run_once(number)
            passed += ok
            done += 1
            verdict = "passed" if ok else f"FAILED (log: {LOGS / f'run-{number}.log'})"
            print(f"soak: run {number}/{runs} {verdict} in {seconds:.0f} s", flush=True)
            for line in failed:
                print(f"  {line}", flush=True)
    except KeyboardInterrupt:
        print(f"soak: interrupted after {done} run(s)", flush=True)
    finally:
        stop_hogs(hogs)
    print(f"soak: {passed}/{runs} runs passed")
    return 0 if passed == runs else 1


if __name__ == "__main__":
    sys.exit(main())
