"""deploy/prometheus: rules and scrape config checked and unit-tested by the real promtool, and
held to the monitoring-mixin conventions: CamelCase alert names with a common prefix, a severity,
summary, description and a runbook link that exists in the README."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from programs import PROMETHEUS_HINT, require, run
from slawatch import conventions

REPO = Path(__file__).resolve().parents[2]
PROM = REPO / "deploy" / "prometheus"
RULES = PROM / "rules.yaml"
ALERTS = {"SlawatchDown", "SlawatchConsumerLagGrowing", "SlawatchDeadLettersHigh", "SlawatchEventTimeLagHigh",
          "SlawatchNoEvents"}


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


def readme_anchors() -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"(?m)^#+ (.+)$", (REPO / "README.md").read_text())
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_promtool_finds_the_rules_and_the_scrape_config_valid():
    promtool = require("promtool", PROMETHEUS_HINT)
    run([promtool, "check", "rules", str(RULES)])
    run([promtool, "check", "config", str(PROM / "prometheus.yml")])


def test_promtool_unit_tests_every_alert_firing_and_not_firing():
    promtool = require("promtool", PROMETHEUS_HINT)
    done = run([promtool, "test", "rules", str(PROM / "rules.test.yaml")])
    assert "SUCCESS" in done.stdout
    tests = yaml.safe_load((PROM / "rules.test.yaml").read_text())["tests"]
    checks = [(c["alertname"], bool(c["exp_alerts"])) for t in tests for c in t.get("alert_rule_test", [])]
    assert {name for name, fires in checks if fires} == ALERTS, "every alert must be tested firing"
    assert {name for name, fires in checks if not fires} == ALERTS, "every alert must be tested staying quiet"


def test_alerts_follow_the_mixin_conventions_and_link_a_runbook_in_the_readme():
    assert {a["alert"] for a in alerts()} == ALERTS
    anchors = readme_anchors()
    for alert in alerts():
        assert re.fullmatch(r"Slawatch[A-Z][A-Za-z]+", alert["alert"])
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}
        assert set(alert["annotations"]) == {"summary", "description", "runbook_url"}
        page, _, anchor = alert["annotations"]["runbook_url"].partition("#")
        assert page == "README.md" and anchor == alert["alert"].lower() and anchor in anchors, alert["alert"]


def test_rules_name_only_metrics_the_worker_exports():
    exported = {v for k, v in vars(conventions).items() if k.startswith("METRIC_")}
    histograms = {conventions.METRIC_EVENT_LAG, conventions.METRIC_BATCH_RECORDS}
    exported |= {f"{h}_{suffix}" for h in histograms for suffix in ("bucket", "sum", "count")}
    # Raw metric names only: a recorded series (level:metric:operations) is preceded by a colon.
    used = {m for rule in rules() for m in re.findall(r"(?<![:\w])slawatch_[a-z_]+\b", rule["expr"])}
    assert used and used <= exported, used - exported
