"""deploy/grafana: the committed dashboards are what the code builds today, with the pinned SDK, and
follow the conventions Grafana's file provisioning needs (bare models, stable uids and panel ids,
every panel on the datasource variable, metric names from slawatch.conventions)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path

import yaml

from slawatch import conventions

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "deploy" / "grafana"
from live_prometheus import dashboards, panels


def load_builder():
    """deploy/grafana/build.py under a name of its own (a `build` package may be installed too)."""
    spec = importlib.util.spec_from_file_location("slawatch_grafana_build", GRAFANA / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_builder()

SCHEMA_VERSION = 42  # what grafana-foundation-sdk 0.0.x emits; its epoch builds (e.g. 10.1) emit 36


def test_the_committed_dashboards_equal_a_fresh_build():
    fresh = build.rendered()
    committed = {path.name: path.read_text() for path in (GRAFANA / "dashboards").glob("*.json")}
    assert set(committed) == set(fresh), "run `make dashboards`"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"{stale} differ from a fresh build: run `make dashboards`"
    assert build.main(["--check"]) == 0


def test_the_sdk_is_the_exact_version_pyproject_pins_not_an_epoch_build_for_an_older_grafana():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = [d for deps in extras.values() for d in deps if d.startswith("grafana-foundation-sdk")]
    assert pins == ["grafana-foundation-sdk==0.0.21"]
    assert importlib.metadata.version("grafana-foundation-sdk").lstrip("v") == "0.0.21"
    assert {board["schemaVersion"] for board in dashboards().values()} == {SCHEMA_VERSION}


def test_dashboards_are_bare_models_with_stable_uids_panel_ids_and_the_datasource_variable():
    boards = dashboards()
    assert len({b["uid"] for b in boards.values()}) == len(boards)
    for name, board in boards.items():
        assert "dashboard" not in board and "__inputs" not in board, name  # provisioning loads the bare model
        assert [v["name"] for v in board["templating"]["list"]][0] == "datasource"
        ids = [p["id"] for p in board["panels"]]
        assert ids == list(range(1, len(ids) + 1)), name
        for panel in panels(board):
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (name, panel["title"])
            assert panel["targets"] and panel.get("description"), (name, panel["title"])


def recorded_series() -> set[str]:
    rules = yaml.safe_load((REPO / "deploy" / "prometheus" / "rules.yaml").read_text())
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def test_panel_queries_name_only_metrics_slawatch_exports_or_records():
    exported = {v for k, v in vars(conventions).items() if k.startswith("METRIC_")}
    exported |= {f"{h}_{s}" for h in (conventions.METRIC_EVENT_LAG, conventions.METRIC_BATCH_RECORDS)
                 for s in ("bucket", "sum", "count")}
    standard = {"up", "process_cpu_seconds_total", "process_resident_memory_bytes"}
    for board in dashboards().values():
        exprs = [t["expr"] for p in panels(board) for t in p["targets"]]
        exprs += [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
        for expr in exprs:
            names = set(re.findall(r"(?<![\w:$])([a-z_][a-z0-9_:]*)\s*(?=\{|\[|\)|$)", expr))
            metrics = {n for n in names if n.startswith("slawatch_") or ":" in n or n in standard}
            unknown = metrics - exported - recorded_series() - standard
            assert not unknown, f"{unknown} in {expr}"
            assert re.search(r"slawatch_|up\{|process_", expr), expr


def test_provisioning_loads_the_dashboards_folder_and_a_default_prometheus():
    source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    assert source["apiVersion"] == 1
    [prometheus] = source["datasources"]
    assert prometheus["type"] == "prometheus" and prometheus["isDefault"] is True
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "slawatch.yaml").read_text())
    assert provider["apiVersion"] == 1
    [files] = provider["providers"]
    assert files["type"] == "file" and files["options"]["path"].startswith("/")
