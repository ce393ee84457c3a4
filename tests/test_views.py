"""People read alerts and status as one line each; the lines carry what on-call needs first."""

from __future__ import annotations

import yaml

from kafka_helpers import REPO
from slawatch.views import alert_line, status_table


def example(topic: str) -> dict:
    return yaml.safe_load((REPO / "topics" / f"{topic}.yaml").read_text())["example"]


def test_a_firing_alert_line_names_status_severity_slo_burn_budget_and_id():
    line = alert_line(example("sla.warnings"))
    for part in ("FIRING", "page", "checkout-availability", "38.0x over 1h", "budget 71% left", "id=4f1c2a9e7b3d5a10"):
        assert part in line


def test_a_resolved_alert_shows_the_resolution_time_and_a_group():
    payload = dict(example("sla.warnings"), status="resolved", ends_at="2026-12-01T11:00:07Z", group={"customer": "acme"})
    line = alert_line(payload)
    assert line.startswith("11:00:07 RESOLVED") and "customer=acme" in line


def test_the_status_table_has_a_row_per_period_with_attainment_and_budget():
    table = status_table([example("sla.status")])
    assert "checkout-availability" in table
    assert "99.942%" in table and "42.0%" in table and "month" in table


def test_the_catalog_topic_example_matches_what_the_catalogue_publishes():
    from slawatch.catalog import load_catalog
    from slawatch.catalog.records import catalog_records

    records = dict(catalog_records(load_catalog([REPO / "examples" / "catalog" / "demo.yaml"])))
    assert set(records) == {"checkout", "payments", "search"}
    assert [s["name"] for s in records["search"]["slos"]] == ["search-availability"]
    assert records["payments"]["slos"][0]["contractual"] is True
