"""The peer a user would pick instead: the same SLOs as Sloth's rules on a real Prometheus.

    .venv/bin/python bench/peer_bench.py      (prints the table, then one JSON object on the last line)

For 100 and for 1,000 SLOs (one 99.9 %, 30-day availability SLO per service, the SRE workbook's
four window pairs: state_bench's SLO), bench/sloth_rules.py writes the rules `sloth generate` would
(per SLO 8 SLI recordings, 7 metadata recordings, a page and a ticket alert, in 3 groups). A counter
exporter in this process serves `bench_requests_total` and `bench_errors_total` per service, 10
requests/s with 0.2 % errors (burn rate 2: every ticket fires, as in state_bench's burning case);
Debian's Prometheus scrapes it and evaluates the rules at the short intervals below. Measured:
- rule evaluation per cycle: `prometheus_rule_group_last_duration_seconds` summed over the groups,
  read once per rule interval over several warm cycles (wall time: a group waiting for a CPU counts
  its wait, so on a starved machine this measures the queue), and Prometheus's CPU seconds per
  cycle less those of scraping alone (read before the rules are loaded), per cycle in which every
  group is evaluated (evaluations Prometheus skipped, `missed`, are divided out); its RSS;
- detection: every service drops to a full outage at one instant; per SLO, the page alert's
  `activeAt` minus that instant. At the defaults the delay is computed: Sloth's SLI recordings and
  its alerts are separate groups on their own schedules, so after the scrape that shows the outage
  the alert may read the recording one rule interval late: worst case scrape + 2 x rule interval.
Next to it, `Engine.evaluate` deciding the same SLOs once (state_bench's engine case, at 100 and
1,000 SLOs). Prometheus holds only the minutes of this run: its range selectors over 1d, 3d and
30d read what is there, so its figures are a lower bound of a Prometheus holding a month.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import orjson
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import sloth_rules  # noqa: E402
from slawatch.broker.embedded import free_port  # noqa: E402

SIZES = (100, 1_000)
SCRAPE_S = 2.0
RULE_INTERVAL_S = 8.0
MEASURED_CYCLES = 3
RATE_PER_S = 10.0
ERROR_RATIO = 0.002
ENGINE_REPEATS = 5
# What a user runs: the scrape and rule intervals of Debian's /etc/prometheus/prometheus.yml, and
# Prometheus's built-in defaults (no global section).
DEFAULT_INTERVALS = {"debian config": (15.0, 15.0), "prometheus built-in": (60.0, 60.0)}
PROMETHEUS_HINT = "run `make prometheus` (it installs Debian's prometheus package: apt-get install prometheus)"
MIB = 1024


# -- traffic as counters -------------------------------------------------------------------------

class CounterTraffic:
    """Per service, requests and errors counters at a steady rate, read off the clock at each
    scrape; from `outage_at` every request fails. Counters start high, as long-running ones do."""

    def __init__(self, services: list[str], started: float) -> None:
        self.services = services
        self.started = started
        self.outage_at: float | None = None

    def counters(self, now: float) -> tuple[float, float]:
        requests = 1e6 + RATE_PER_S * (now - self.started)
        healthy_until = now if self.outage_at is None else min(now, self.outage_at)
        errors = 1e3 + RATE_PER_S * ERROR_RATIO * (healthy_until - self.started)
        return requests, errors + RATE_PER_S * max(0.0, now - healthy_until)

    def exposition(self, now: float) -> bytes:
        requests, errors = self.counters(now)
        lines = ["# TYPE bench_requests_total counter"]
        lines += [f'bench_requests_total{{service="{s}"}} {requests:.3f}' for s in self.services]
        lines.append("# TYPE bench_errors_total counter")
        lines += [f'bench_errors_total{{service="{s}"}} {errors:.3f}' for s in self.services]
        return ("\n".join(lines) + "\n").encode()


class Exporter:
    """`traffic` on http://127.0.0.1:<port>/metrics, served from a thread of this process."""

    def __init__(self, traffic: CounterTraffic) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = traffic.exposition(time.time())
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Exporter:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the Sloth spec and its rules ------------------------------------------------------------------

def alert_name(service: str) -> str:
    """One alert name per SLO, as Sloth's examples do (promtool flags equal name and labels twice)."""
    return "BenchHighErrorRate" + service.title().replace("-", "")


def bench_specs(services: list[str]) -> list[dict]:
    """One Sloth spec per service, one availability SLO each, over the exporter's counters."""
    query = 'sum(rate(bench_{kind}_total{{service="{service}"}}[{{{{.window}}}}]))'
    return [{"version": "prometheus/v1", "service": service, "slos": [{
        "name": "availability", "objective": 99.9,
        "sli": {"events": {"error_query": query.format(kind="errors", service=service),
                           "total_query": query.format(kind="requests", service=service)}},
        "alerting": {"name": alert_name(service), "page_alert": {"labels": {"severity": "critical"}},
                     "ticket_alert": {"labels": {"severity": "warning"}}}}]} for service in services]


def rule_counts(rules: dict) -> dict:
    return {"groups": len(rules["groups"]), "rules": sum(len(g["rules"]) for g in rules["groups"])}


# -- Prometheus ------------------------------------------------------------------------------------

def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError(f"prometheus is not on PATH: {PROMETHEUS_HINT}")
    return binary


class Prometheus:
    """Debian's `prometheus` on a free port with a throw-away TSDB, scraping one target."""

    def __init__(self, children: harness.Children, workdir: Path) -> None:
        self.children = children
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, rules: Path, target: str, timeout_s: float = 60.0) -> Prometheus:
        """Started with `rules` empty: `load_rules` fills it and reloads (SIGHUP), so the CPU that
        scraping alone costs can be read first."""
        interval = lambda s: f"{s:g}s"  # noqa: E731
        config = {"global": {"scrape_interval": interval(SCRAPE_S), "evaluation_interval": interval(RULE_INTERVAL_S)},
                  "rule_files": [str(rules)],
                  "scrape_configs": [{"job_name": "bench", "static_configs": [{"targets": [target]}]}]}
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        rules.write_text("groups: []\n")
        cmd = [prometheus_binary(), f"--config.file={self.workdir / 'prometheus.yml'}",
               f"--storage.tsdb.path={self.workdir / 'data'}", "--storage.tsdb.retention.time=1h",
               f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"]
        self.proc = self.children.spawn(cmd, self.workdir / "prometheus.log")
        self.wait(lambda: harness.http_get(f"{self.url}/-/ready")[0] == 200, timeout_s, "ready")
        return self

    def load_rules(self, rules: Path, text: str, count: int, timeout_s: float = 60.0) -> None:
        rules.write_text(text)
        self.proc.send_signal(signal.SIGHUP)
        self.wait(lambda: self.own_metrics().get("prometheus_rule_group_rules", 0) >= count, timeout_s,
                  f"loaded with {count:,} rules")

    def wait(self, done, timeout_s: float, what: str, every_s: float = 0.2) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if self.proc.poll() is not None:
                log = (self.workdir / "prometheus.log").read_text()[-2000:]
                raise RuntimeError(f"prometheus exited {self.proc.returncode} before {what}:\n{log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus not {what} in {timeout_s:.0f} s (log {self.workdir}/prometheus.log)")
            time.sleep(every_s)

    def api(self, path: str, **params) -> object:
        status, body = harness.http_get(f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}", timeout_s=10)
        answer = orjson.loads(body or b"{}")
        if status != 200 or answer.get("status") != "success":
            raise RuntimeError(f"prometheus {path} {params}: {status} {body[:300]!r}")
        return answer["data"]

    def scalar(self, expr: str) -> float:
        result = self.api("query", query=expr)["result"]
        return float(result[0]["value"][1]) if result else 0.0

    def own_metrics(self) -> dict[str, float]:
        return harness.metric_sums(harness.http_get(f"{self.url}/metrics", timeout_s=10)[1])

    def stop(self) -> None:
        if self.proc is not None:
            self.children.stop(self.proc)


class Cycle(NamedTuple):
    """One reading of Prometheus's own metrics, taken once per rule interval."""

    at: float
    group_seconds: list[float]  # prometheus_rule_group_last_duration_seconds, one per group
    cpu_s: float | None
    metrics: dict[str, float]  # every metric summed over its labels


GROUP_DURATION = "prometheus_rule_group_last_duration_seconds"


def read_cycle(prom: Prometheus) -> Cycle:
    body = harness.http_get(f"{prom.url}/metrics", timeout_s=10)[1]
    groups = [float(line.rpartition(" ")[2]) for line in body.decode().splitlines()
              if line.startswith(GROUP_DURATION + "{")]
    return Cycle(time.monotonic(), groups, harness.cpu_seconds(prom.proc.pid), harness.metric_sums(body))


def cpu_ms_per_cycle(first: Cycle, last: Cycle) -> float | None:
    if first.cpu_s is None or last.cpu_s is None:
        return None
    return round((last.cpu_s - first.cpu_s) * 1000 * RULE_INTERVAL_S / (last.at - first.at), 1)


def scrape_only(prom: Prometheus) -> dict:
    """Prometheus's CPU per rule interval with no rules loaded: what scraping the exporter costs."""
    prom.wait(lambda: prom.scalar("count(up == 1)") >= 1, 30, "scraping the exporter")
    first = read_cycle(prom)
    time.sleep(2 * SCRAPE_S)
    return {"scrape_only_cpu_ms_per_cycle": cpu_ms_per_cycle(first, read_cycle(prom))}


def warm_up(prom: Prometheus, slos: int, groups: int) -> None:
    """Until every SLO has a 5m SLI and every group has been evaluated twice."""
    def warm() -> bool:
        iterations = prom.own_metrics().get("prometheus_rule_group_iterations_total", 0.0)
        return iterations >= 2 * groups and prom.scalar("count(slo:sli_error:ratio_rate5m)") >= slos
    prom.wait(warm, 20 * RULE_INTERVAL_S + 30, "warm (every SLI recorded, every group evaluated twice)")


def measure_cycles(prom: Prometheus) -> dict:
    """Summed group durations (as Prometheus reports them: wall time, so a group waiting for a CPU
    counts its wait), the median group, and Prometheus's CPU per rule interval, over MEASURED_CYCLES
    intervals; a group that fell a whole interval behind skips (`missed`) that evaluation."""
    cycles = [read_cycle(prom)]
    for _ in range(MEASURED_CYCLES):
        time.sleep(RULE_INTERVAL_S)
        cycles.append(read_cycle(prom))
    first, last = cycles[0], cycles[-1]
    summed = [sum(c.group_seconds) * 1000 for c in cycles[1:]]
    delta = lambda name: last.metrics.get(name, 0.0) - first.metrics.get(name, 0.0)  # noqa: E731
    scheduled = delta("prometheus_rule_group_iterations_total")  # counts the missed ones too
    missed = delta("prometheus_rule_group_iterations_missed_total")
    return {
        "rule_eval_ms_per_cycle": round(statistics.mean(summed), 1), "rule_eval_ms_cycles": [round(v, 1) for v in summed],
        "median_group_ms": round(statistics.median(g for c in cycles[1:] for g in c.group_seconds) * 1000, 2),
        "cpu_ms_per_cycle": cpu_ms_per_cycle(first, last),
        "rss_mib": round((harness.rss_kib(prom.proc.pid) or 0) / MIB, 1),
        "samples_per_cycle": round(last.metrics.get("prometheus_rule_group_last_evaluation_samples", 0.0)),
        "evaluated_share": round((scheduled - missed) / scheduled, 3) if scheduled else None,
        "missed_iterations": missed,
        "failed_evaluations": delta("prometheus_rule_evaluation_failures_total"),
        "tickets_firing": round(prom.scalar('count(ALERTS{alertstate="firing", sloth_severity="ticket"})')),
    }


def rfc3339(text: str) -> float:
    """Prometheus's activeAt (nanoseconds, Z) as a Unix time."""
    head, _, fraction = text.rstrip("Z").partition(".")
    fraction = (fraction.split("+")[0] + "000000")[:6]
    return datetime.fromisoformat(f"{head}.{fraction}+00:00").timestamp()


def measure_outage(prom: Prometheus, traffic: CounterTraffic, slos: int) -> dict:
    """Every service fails from one instant; per SLO, the page alert's activeAt minus that instant."""
    history_s = time.time() - traffic.started
    traffic.outage_at = outage = time.time()
    firing: dict[str, float] = {}

    def all_paged() -> bool:
        for alert in prom.api("alerts")["alerts"]:
            labels = alert["labels"]
            if labels.get("sloth_severity") == "page" and alert["state"] == "firing":
                firing.setdefault(labels["sloth_id"], rfc3339(alert["activeAt"]) - outage)
        return len(firing) >= slos
    prom.wait(all_paged, 3 * (SCRAPE_S + 2 * RULE_INTERVAL_S) + 20, f"paging for all {slos} SLOs", every_s=1.0)
    latencies = sorted(firing.values())
    threshold = 14.4 * (1 - 0.999)
    return {
        "pages": len(latencies), "p50_s": round(statistics.median(latencies), 2), "max_s": round(latencies[-1], 2),
        "min_s": round(latencies[0], 2),
        # The 5m and 1h windows hold the run's whole history (under 5 minutes): the error ratio over
        # them crosses 14.4 x the budget once the outage has lasted this long.
        "crossing_s": round((threshold - ERROR_RATIO) * history_s / (1 - threshold), 2),
        "history_s": round(history_s, 1),
    }


def prometheus_case(children: harness.Children, work: Path, slos: int) -> dict:
    services = [f"svc-{i:04d}" for i in range(slos)]
    rules = sloth_rules.generate(bench_specs(services))
    counts = rule_counts(rules)
    workdir = work / f"peer-{slos}"
    workdir.mkdir(parents=True, exist_ok=True)
    rules_path = workdir / "sloth-rules.yaml"
    traffic = CounterTraffic(services, time.time())
    with Exporter(traffic) as exporter:
        prom = Prometheus(children, workdir).start(rules_path, exporter.target)
        try:
            baseline = scrape_only(prom)
            prom.load_rules(rules_path, sloth_rules.to_yaml(rules), counts["rules"])
            warm_up(prom, slos, counts["groups"])
            cycles = measure_cycles(prom)
            outage = measure_outage(prom, traffic, slos)
        finally:
            prom.stop()
    return {"slos": slos, **counts, **baseline, **cycles, "detection": outage, "load_avg_1m": os.getloadavg()[0]}


# -- slawatch's Engine.evaluate over the same SLOs --------------------------------------------------

def engine_case(slos: int) -> dict:
    """state_bench's engine case (restored 30-day states, one `Engine.evaluate` deciding each SLO
    once), at `slos` SLOs, burning and healthy; the median of ENGINE_REPEATS fresh engines."""
    import state_bench
    from slawatch.engine import Engine
    from slawatch.engine.runtime import SloRuntime

    state_bench.N_SLOS = slos  # _engine_case sizes its catalogue from this module constant
    out = {}
    for case, bad_per_mille in (("burning", 2), ("healthy", 0)):
        busy = state_bench.busy_state(bad_per_mille)
        runs = [state_bench._engine_case(Engine, SloRuntime, busy) for _ in range(ENGINE_REPEATS)]
        if runs[0]["slos"] != slos:
            raise RuntimeError(f"state_bench._engine_case ran {runs[0]['slos']} SLOs, not {slos}")
        times = [r["evaluate_10k_ms"] for r in runs]
        out[case] = {"evaluate_ms": statistics.median(times), "runs_ms": times,
                     "alert_records": runs[0]["alert_records"]}
    return out


# -- the whole measurement and its table -----------------------------------------------------------

def run(work: Path) -> dict:
    """Engine.evaluate first (Prometheus not running), then Prometheus for each size."""
    binary = prometheus_binary()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    started = time.perf_counter()
    engine = {str(n): engine_case(n) for n in SIZES}
    children = harness.Children()
    try:
        prometheus = {str(n): prometheus_case(children, work, n) for n in SIZES}
    finally:
        children.stop_all()
    return {"prometheus_version": version, "scrape_s": SCRAPE_S, "rule_interval_s": RULE_INTERVAL_S,
            "rate_per_s": RATE_PER_S, "error_ratio": ERROR_RATIO, "engine": engine, "prometheus": prometheus,
            "seconds": round(time.perf_counter() - started, 1)}


def default_detection() -> dict:
    """Worst case and mean of scrape + 2 x rule interval at the intervals users run."""
    return {name: {"scrape_s": s, "rule_interval_s": e, "worst_s": s + 2 * e, "mean_s": (s + 2 * e) / 2}
            for name, (s, e) in DEFAULT_INTERVALS.items()}


def _row(label: str, figure: str, note: str = "") -> str:
    return f"  {label:44s} {figure:>22s}  {note}"


def rules_cpu_ms(prom: dict) -> float | None:
    """Prometheus's CPU per rule interval less what scraping alone cost, per cycle in which every
    group is evaluated once (divided by the share of evaluations not missed)."""
    if None in (prom["cpu_ms_per_cycle"], prom["scrape_only_cpu_ms_per_cycle"], prom["evaluated_share"]):
        return None
    return round((prom["cpu_ms_per_cycle"] - prom["scrape_only_cpu_ms_per_cycle"]) / prom["evaluated_share"], 1)


def table_lines(result: dict, detection: dict | None = None) -> list[str]:
    """The peer rows; `detection` is run_bench's (d) result, for slawatch's measured latency."""
    lines = [f"  peer: Sloth {sloth_rules.SLOTH_VERSION} rules on {result['prometheus_version'].split(' (')[0]} "
             f"(scrape {result['scrape_s']:g} s, rules every {result['rule_interval_s']:g} s, "
             f"{result['rate_per_s']:g} req/s per service, {result['error_ratio']:.1%} errors)"]
    for n, prom in result["prometheus"].items():
        burning = result["engine"][n]["burning"]["evaluate_ms"]
        rules_cpu = rules_cpu_ms(prom)
        missed = f"{1 - prom['evaluated_share']:.0%} of evaluations missed" if prom["evaluated_share"] else "-"
        lines.append(_row(f"  {int(n):,} SLOs: Prometheus rules, CPU", f"{rules_cpu:,.0f} ms/cycle",
                          f"({prom['groups']:,} groups, {prom['rules']:,} rules; process {prom['cpu_ms_per_cycle']:,.0f} ms "
                          f"per interval, scraping alone {prom['scrape_only_cpu_ms_per_cycle']:g} ms; {missed}; "
                          f"RSS {prom['rss_mib']:,.0f} MiB)"))
        lines.append(_row(f"  {int(n):,} SLOs: Prometheus rules, summed durations", f"{prom['rule_eval_ms_per_cycle']:,.0f} ms/cycle",
                          f"(prometheus_rule_group_last_duration_seconds, wall: median group {prom['median_group_ms']:g} ms; "
                          f"load {prom['load_avg_1m']:.1f} on {os.cpu_count()} cores)"))
        lines.append(_row(f"  {int(n):,} SLOs: slawatch Engine.evaluate", f"{burning:,.1f} ms",
                          f"(healthy {result['engine'][n]['healthy']['evaluate_ms']:.1f} ms)  Prometheus / slawatch: "
                          f"{rules_cpu / burning:.1f} x CPU, {prom['rule_eval_ms_per_cycle'] / burning:,.1f} x summed durations"))
    bound = result["scrape_s"] + 2 * result["rule_interval_s"]
    for n, prom in result["prometheus"].items():
        d = prom["detection"]
        lines.append(_row(f"  full outage -> page, Prometheus, {int(n):,} SLOs", f"{d['p50_s']:.1f} / {d['max_s']:.1f} s",
                          f"(p50 / max of {d['pages']:,}; bound scrape + 2 x rules = {bound:g} s, plus ~{d['crossing_s']:.1f} s "
                          "until the data crosses)"))
    for name, d in default_detection().items():
        lines.append(_row(f"  full outage -> page, Prometheus, {name}", f"<= {d['worst_s']:g} s",
                          f"(scrape {d['scrape_s']:g} s + 2 x rules {d['rule_interval_s']:g} s; mean {d['mean_s']:g} s)"))
    if detection and detection.get("available"):
        lines.append(_row("  full outage -> page, slawatch (d)", f"{detection['p50_ms']:.0f} / {detection['p99_ms']:.0f} ms",
                          "(p50 / p99, produce -> alert on sla.warnings)"))
    return lines


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="slawatch-peer-"))
    try:
        result = run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(table_lines(result)))
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
