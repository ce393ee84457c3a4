"""The dashboards against the real thing: Debian's Prometheus scrapes a live worker (embedded broker,
demo catalogue, demo traffic) every second with deploy/prometheus/rules.yaml loaded, and every query
of every panel of every committed dashboard, its variables resolved through Prometheus and filled in
with real SLOs, returns at least one series with a number in it. An empty panel is a failed test."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from kafka_helpers import REPO, WorkerProcess, http_get, wait_for
from live_prometheus import (
    PanelQuery, PrometheusProcess, dashboards, label_values_query, panel_queries, panels, substitute, variable_queries,
)
from programs import PROMETHEUS_HINT, require, run
from slawatch import __version__
from slawatch.broker import EmbeddedBroker
from slawatch.broker.embedded import die_with_parent
from slawatch.catalog import load_catalog
from slawatch.topics import apply_topics, load_specs

pytestmark = pytest.mark.integration
DEMO = REPO / "examples" / "catalog" / "demo.yaml"
# The demo's one-day SLO with hand-written windows, and its grouped per-customer contract.
DETAIL_SLOS = ("search-availability", "payments-customer-sla")
DATA_WAIT_S = 60.0  # from the first scrape: the demo's first malformed record comes after 10 s


@dataclass(frozen=True)
class Live:
    prometheus: PrometheusProcess
    worker: WorkerProcess
    started: float


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Live:
    tmp = Path(tmp_path_factory.mktemp("live-prometheus"))
    with ExitStack() as stack:
        broker = stack.enter_context(EmbeddedBroker(log_path=tmp / "broker.log"))
        apply_topics(load_specs(REPO / "topics"), [broker.address])
        worker = WorkerProcess(broker.address, tmp / "worker", catalog=[str(DEMO)]).start()
        stack.callback(worker.stop)
        prometheus = PrometheusProcess(tmp / "prometheus", [f"127.0.0.1:{worker.port}"]).start()
        stack.callback(prometheus.stop)
        with open(tmp / "demo.log", "ab") as log:
            demo = subprocess.Popen([sys.executable, "-m", "slawatch", "demo", "--broker", broker.address,
                                     "--duration", "300"],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    preexec_fn=die_with_parent, cwd=REPO)
        stack.callback(lambda: (demo.terminate(), demo.wait(10)))
        started = time.monotonic()
        slos = len(load_catalog([DEMO]).slos)  # every SLO's info series scraped: the worker owns them all
        wait_for(lambda: len(prometheus.series("slawatch_slo_info")) == slos, 30, what="the first scrapes")
        yield Live(prometheus, worker, started)


def resolve_variables(live: Live, board: dict, chosen: dict[str, str]) -> dict[str, str]:
    """Each query variable's options from Prometheus (as Grafana asks for them); a multi-value variable
    takes All (.*), a single one the `chosen` value, which must be among its options."""
    values: dict[str, str] = {}
    for variable in variable_queries(board):
        label, selector = label_values_query(substitute(variable["query"], values))
        options = live.prometheus.label_values(label, selector)
        name = variable["name"]
        if variable.get("includeAll"):
            values[name] = variable["allValue"]
        else:
            assert chosen[name] in options, f"{name}={chosen[name]} is not among {options}"
            values[name] = chosen[name]
    return values


def every_panel_query(live: Live) -> list[PanelQuery]:
    queries = []
    for name, board in dashboards().items():
        singles = [v["name"] for v in variable_queries(board) if not v.get("includeAll")]
        for slo in DETAIL_SLOS if "slo" in singles else (None,):
            values = resolve_variables(live, board, {"slo": slo} if slo else {})
            queries += panel_queries(f"{name} (slo={slo})" if slo else name, board, values)
    return queries


def empty_queries(live: Live, queries: list[PanelQuery]) -> list[PanelQuery]:
    """Queries without a series holding a number (a NaN-only series, e.g. a quantile of no
    observations, would draw an empty panel too)."""
    return [q for q in queries if not live.prometheus.has_numbers(q.expr, instant=q.instant)]


def wait_for_data(live: Live, queries: list, empty) -> list:
    """Poll until every query has data or DATA_WAIT_S passed since the stack started; the still-empty ones."""
    while True:
        missing = empty(live, queries)
        if not missing or time.monotonic() - live.started > DATA_WAIT_S:
            return missing
        time.sleep(2)


def test_every_query_of_every_panel_of_every_dashboard_returns_a_series(live):
    boards = dashboards()
    assert set(boards) == {"slo-overview.json", "slo-detail.json", "slawatch-worker.json"}
    queries = every_panel_query(live)
    assert all(panel["targets"] for board in boards.values() for panel in panels(board)), "a panel without a query"
    missing = wait_for_data(live, queries, empty_queries)
    panel_count = sum(len(panels(b)) for b in boards.values())
    print(f"\n{len(boards)} dashboards, {panel_count} panels, {len(queries)} panel queries "
          f"(detail board for {', '.join(DETAIL_SLOS)}): {len(queries) - len(missing)} returned data")
    assert not missing, "panel queries that returned no series with a number:\n" + "\n".join(map(str, missing))


def test_the_variables_list_the_demo_services_slos_and_the_worker(live):
    slos = {slo.name for slo in load_catalog([DEMO]).slos}
    overview = dashboards()["slo-overview.json"]
    options = {v["name"]: live.prometheus.label_values(*label_values_query(substitute(v["query"], {"service": ".*"})))
               for v in variable_queries(overview)}
    assert options == {"service": ["checkout", "payments", "search"], "slo": sorted(slos)}
    assert live.prometheus.label_values("instance", "slawatch_build_info") == [f"127.0.0.1:{live.worker.port}"]


def test_slawatch_rules_load_and_evaluate_on_live_data_without_error(live):
    records = [r["record"] for g in yaml.safe_load((REPO / "deploy/prometheus/rules.yaml").read_text())["groups"]
               for r in g["rules"] if "record" in r]
    missing = wait_for_data(live, records, lambda lv, exprs: [e for e in exprs if not lv.prometheus.has_numbers(e)])
    assert not missing, f"recording rules without a series: {missing}"
    groups = live.prometheus.api("rules")["groups"]
    assert {g["name"] for g in groups} == {"slawatch.rules", "slawatch.alerts"}
    unhealthy = [(r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] != "ok"]
    assert not unhealthy


def test_operator_metrics_reach_prometheus_for_every_partition_and_slo(live):
    partitions = yaml.safe_load((REPO / "topics" / "sla.events.yaml").read_text())["partitions"]
    prom = live.prometheus
    lags = prom.series("slawatch_consumer_lag_records")
    assert sorted(int(s["metric"]["partition"]) for s in lags) == list(range(partitions))  # one worker holds all
    assert len(prom.series("slawatch_slo_info")) == len(load_catalog([DEMO]).slos)
    assert prom.series(f'slawatch_build_info{{version="{__version__}"}}')
    assert prom.series('process_resident_memory_bytes{job="slawatch"} > 0') and prom.series("python_info")


def test_the_worker_exposition_with_the_operator_metrics_is_clean_for_promtool(live):
    status, body = http_get(f"{live.worker.url}/metrics")
    assert status == 200 and b"slawatch_consumer_lag_records" in body and b"slawatch_burn_rate_threshold" in body
    done = run([require("promtool", PROMETHEUS_HINT), "check", "metrics"], stdin=body.decode())
    assert done.stdout.strip() == "" and done.stderr.strip() == ""
