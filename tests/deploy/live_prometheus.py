"""A real Prometheus (Debian's `prometheus`) on 127.0.0.1 for the dashboard and rules tests, and
the panel queries of the committed dashboards with their template variables filled in."""

from __future__ import annotations

import json
import math
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import yaml

from kafka_helpers import http_get, wait_for
from programs import PROMETHEUS_HINT, require
from slawatch.broker.embedded import die_with_parent, free_port

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
RULES = REPO / "deploy" / "prometheus" / "rules.yaml"
SCRAPE_INTERVAL = "1s"
# Grafana's $__rate_interval is max(4 x scrape interval, step + scrape interval): a few seconds at a
# 1 s scrape; 10 s keeps several samples in every window of the short test.
RATE_INTERVAL = "10s"


class PrometheusProcess:
    """`prometheus` scraping `targets` every second as job="slawatch", with deploy/prometheus/rules.yaml."""

    def __init__(self, workdir: Path, targets: list[str]) -> None:
        self.workdir = workdir
        self.targets = targets
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> PrometheusProcess:
        binary = require("prometheus", PROMETHEUS_HINT)
        config = {"global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
                  "rule_files": [str(RULES)],
                  "scrape_configs": [{"job_name": "slawatch", "static_configs": [{"targets": self.targets}]}]}
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        cmd = [binary, f"--config.file={self.workdir / 'prometheus.yml'}", f"--storage.tsdb.path={self.workdir / 'data'}",
               f"--web.listen-address=127.0.0.1:{self.port}"]
        with open(self.workdir / "prometheus.log", "ab") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            preexec_fn=die_with_parent)
        wait_for(self.ready, timeout_s, what=f"prometheus ready (log: {self.workdir / 'prometheus.log'})")
        return self

    def ready(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"prometheus exited; log:\n{(self.workdir / 'prometheus.log').read_text()[-3000:]}")
        return http_get(f"{self.url}/-/ready")[0] == 200

    def api(self, path: str, **params) -> dict:
        status, body = http_get(f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params, doseq=True)}", timeout_s=10)
        answer = json.loads(body or b"{}")
        assert status == 200 and answer.get("status") == "success", f"{path} {params}: {status} {body[:500]!r}"
        return answer["data"]

    def series(self, expr: str, instant: bool = True, span_s: float = 20.0) -> list[dict]:
        """The series `expr` returns now (instant) or over the last `span_s` (range, 2 s steps)."""
        if instant:
            return self.api("query", query=expr)["result"]
        now = time.time()
        return self.api("query_range", query=expr, start=now - span_s, end=now, step="2")["result"]

    def has_numbers(self, expr: str, instant: bool = True) -> bool:
        """At least one series with a sample that is a number: Grafana draws NaN-only series as gaps."""
        result = self.series(expr, instant=instant)
        samples = [s["value"] for s in result if "value" in s] + [v for s in result for v in s.get("values", [])]
        return any(not math.isnan(float(value)) for _, value in samples)

    def label_values(self, label: str, selector: str) -> list[str]:
        return self.api(f"label/{label}/values", **{"match[]": selector})

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref: str
    expr: str
    instant: bool

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref}: {self.expr}"


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(board: dict) -> list[dict]:
    """Every panel that shows data (rows are layout only)."""
    return [p for p in board["panels"] if p["type"] != "row"]


def substitute(expr: str, values: dict[str, str]) -> str:
    for name in sorted(values, key=len, reverse=True):  # $slo before $s...
        expr = expr.replace(f"${{{name}}}", values[name]).replace(f"${name}", values[name])
    return expr


def panel_queries(name: str, board: dict, values: dict[str, str]) -> list[PanelQuery]:
    values = {**values, "__rate_interval": RATE_INTERVAL}
    return [PanelQuery(name, panel["title"], target["refId"], substitute(target["expr"], values), bool(target.get("instant")))
            for panel in panels(board) for target in panel["targets"]]


def variable_queries(board: dict) -> list[dict]:
    return [v for v in board["templating"]["list"] if v["type"] == "query"]


def label_values_query(query: str) -> tuple[str, str]:
    """'label_values(metric{a="b"}, label)' -> ('label', 'metric{a="b"}')."""
    inner = query.removeprefix("label_values(").removesuffix(")")
    selector, _, label = inner.rpartition(",")
    return label.strip(), selector.strip()
