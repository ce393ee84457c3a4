"""The peer benchmark's Sloth rules (bench/sloth_rules.py) are Sloth's: equal to Sloth's own golden
output for its own test input, valid for the real promtool, and paging on a full outage when the
real promtool evaluates them over counters like the bench's exporter serves."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from programs import PROMETHEUS_HINT, require, run

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "sloth_golden"
sys.path.insert(0, str(REPO / "bench"))

import peer_bench  # noqa: E402
import sloth_rules  # noqa: E402

HEALTHY, FAILING = "svc-healthy", "svc-failing"


def write_bench_rules(folder: Path, services: list[str]) -> Path:
    path = folder / "sloth-rules.yaml"
    path.write_text(sloth_rules.to_yaml(sloth_rules.generate(peer_bench.bench_specs(services))))
    return path


def test_the_rules_equal_sloths_golden_output_for_its_own_test_input():
    spec = yaml.safe_load((GOLDEN / "in-base.yaml").read_text())
    expected = yaml.safe_load((GOLDEN / "out-base.yaml").read_text())
    assert sloth_rules.generate([spec]) == expected


def test_promtool_finds_every_rule_of_the_bench_slos_valid(tmp_path):
    promtool = require("promtool", PROMETHEUS_HINT)
    done = run([promtool, "check", "rules", str(write_bench_rules(tmp_path, ["svc-0000", "svc-0001", "svc-0002"]))])
    # per SLO: 8 SLI recordings (7 alert windows and the 30d period), 7 metadata recordings, 2 alerts
    assert "SUCCESS: 51 rules found" in done.stdout


def outage_alert(service: str, severity: str, label: str) -> dict:
    who = f"{service} availability"
    return {"exp_labels": {"sloth_id": f"{service}-availability", "sloth_service": service, "sloth_slo": "availability",
                           "sloth_severity": severity, "severity": label},
            "exp_annotations": {"title": f"({severity}) {who} SLO error budget burn rate is too fast.",
                                "summary": f"{who} SLO error budget burn rate is over expected."}}


def test_promtool_pages_and_tickets_a_full_outage_from_the_first_minute_and_leaves_the_healthy_slo_quiet(tmp_path):
    """10 requests/s each; `FAILING` fails every request from minute 60. By 62m the 5m window holds
    40 % errors and the 1h window 3.3 %, both above 14.4 x 0.1 %; the ticket windows too. Not at 61m:
    Sloth's recordings and alerts are separate groups, and at one evaluation step promtool may run
    the alert group before the recording group, so the alert reads the recording one interval late
    (the bench's latency bound, scrape + 2 x rule interval, counts that interval)."""
    promtool = require("promtool", PROMETHEUS_HINT)
    rules = write_bench_rules(tmp_path, [HEALTHY, FAILING])
    requests = "100000+600x120"
    series = [
        {"series": f'bench_requests_total{{service="{HEALTHY}"}}', "values": requests},
        {"series": f'bench_errors_total{{service="{HEALTHY}"}}', "values": "100x120"},
        {"series": f'bench_requests_total{{service="{FAILING}"}}', "values": requests},
        {"series": f'bench_errors_total{{service="{FAILING}"}}', "values": "100x60 700+600x59"},
    ]
    budget_left = [{"labels": f'slo:period_error_budget_remaining:ratio{{sloth_id="{s}-availability", '
                              f'sloth_service="{s}", sloth_slo="availability", sloth_window="30d"}}', "value": 1}
                   for s in (HEALTHY, FAILING)]
    test = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "promql_expr_test": [{"expr": "slo:period_error_budget_remaining:ratio", "eval_time": "30m",
                             "exp_samples": budget_left}],
        "alert_rule_test": [
            {"eval_time": "60m", "alertname": peer_bench.alert_name(FAILING), "exp_alerts": []},
            {"eval_time": "62m", "alertname": peer_bench.alert_name(FAILING),
             "exp_alerts": [outage_alert(FAILING, "page", "critical"), outage_alert(FAILING, "ticket", "warning")]},
        ]}]}
    path = tmp_path / "sloth-rules.test.yaml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    done = run([promtool, "test", "rules", str(path)])
    assert "SUCCESS" in done.stdout
