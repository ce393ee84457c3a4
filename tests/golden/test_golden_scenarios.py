"""Golden scenarios through `run_replay`: the expected alerts as files, and each story's point in code.

UPDATE_GOLDEN=1 rewrites expected.jsonl (review the diff); tests/golden/make_events.py rewrites the
events. Every payload must validate against topics/sla.warnings.yaml. The key facts below hold
whatever the golden files say, so a regenerated file cannot quietly lose a scenario's point.
"""

from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path

import jsonschema
import orjson
import pytest
import yaml

from slawatch.replay import run_replay

HERE = Path(__file__).parent
SCENARIOS = HERE / "scenarios"
ROOT = HERE.parent.parent
ALERT_SCHEMA = yaml.safe_load((ROOT / "topics" / "sla.warnings.yaml").read_text())["value_schema"]
BASE = datetime.fromisoformat("2026-01-05T00:00:00+00:00").timestamp()


def replay(catalog: Path, events: Path) -> list[dict]:
    out, err = io.StringIO(), io.StringIO()
    assert run_replay([catalog], events, out, err=err) == 0, err.getvalue()
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def scenario(name: str) -> list[dict]:
    return replay(SCENARIOS / name / "catalog.yaml", SCENARIOS / name / "events.jsonl")


def at(text: str | None) -> float:
    """Seconds since the scenarios' BASE of an RFC 3339 payload time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() - BASE


def of(alerts: list[dict], rule: str, status: str | None = None) -> list[dict]:
    return [a for a in alerts if a["labels"]["rule"] == rule and (status is None or a["status"] == status)]


def variant(tmp_path: Path, name: str, old: str, new: str) -> list[dict]:
    """The scenario replayed with one catalogue edit: what the scenario's guard prevents."""
    text = (SCENARIOS / name / "catalog.yaml").read_text()
    assert old in text
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(text.replace(old, new))
    return replay(catalog, SCENARIOS / name / "events.jsonl")


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir()))
def test_scenario_output_equals_its_golden_file_and_validates(name):
    alerts = scenario(name)
    for payload in alerts:
        jsonschema.validate(payload, ALERT_SCHEMA, format_checker=jsonschema.FormatChecker())
    expected_path = SCENARIOS / name / "expected.jsonl"
    lines = [orjson.dumps(a, option=orjson.OPT_SORT_KEYS).decode() for a in alerts]
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_path.write_text("".join(line + "\n" for line in lines))
    assert lines == expected_path.read_text().splitlines()


def test_a_short_full_outage_pages_within_the_short_window_and_resolves():
    alerts = scenario("outage-pages")  # outage from 900 s to 930 s
    (page,) = of(alerts, "page-fast", "firing")
    assert 900 <= at(page["starts_at"]) <= 910
    (resolved,) = of(alerts, "page-fast", "resolved")
    assert resolved["id"] == page["id"]
    assert 930 <= at(resolved["ends_at"]) <= 945
    assert page["contributors"]["operation"][0]["bad"] > 0
    assert page["annotations"]["runbook_url"] == "https://runbooks.example.com/search"


def test_a_page_resolves_while_the_service_is_silent_not_when_its_traffic_returns():
    alerts = scenario("traffic-gap")  # outage 900-930 s, then no search events until 1110 s; catalog sends
    (fast,) = of(alerts, "page-fast", "firing")
    (fast_resolved,) = of(alerts, "page-fast", "resolved")
    # Prometheus' view of Sloth's rules with no hold: the 10 s window is empty one short window into
    # the gap (the ring reads whole 1 s buckets, so up to 1 s earlier), and an empty window never fires.
    assert 939 <= at(fast_resolved["ends_at"]) <= 940
    # Hand-over: page-slow, inhibited until then, opens in the same step, before page-fast closes.
    slow = of(alerts, "page-slow", "firing")[0]
    assert alerts.index(slow) < alerts.index(fast_resolved) and slow["observed_at"] == fast_resolved["observed_at"]
    (slow_resolved,) = of(alerts, "page-slow", "resolved")
    assert 989 <= at(slow_resolved["ends_at"]) <= 990  # its 1 m short window empties
    assert at(fast["starts_at"]) < 930 and at(slow_resolved["ends_at"]) < 1110
    assert not [a for a in alerts if a["severity"] == "page" and at(a["starts_at"]) >= 930]


def test_a_slow_half_percent_burn_tickets_and_never_pages():
    alerts = scenario("slow-burn-tickets")
    assert of(alerts, "ticket-fast", "firing") and of(alerts, "ticket-slow", "firing")
    assert not [a for a in alerts if a["severity"] == "page"]
    # burn 5 reaches 3 over 48 m only when 30 of its minutes are in the burn (which began at 1200 s)
    assert at(of(alerts, "ticket-fast")[0]["starts_at"]) >= 1200 + 28 * 60


def test_noise_around_a_threshold_pages_once_and_does_not_flap():
    alerts = scenario("noise-no-flap")
    pages = of(alerts, "page-slow")
    assert len({a["id"] for a in pages}) == 1
    assert not of(alerts, "page-slow", "resolved")
    assert toggles_of_page_slow() >= 6  # the condition itself did flap


def toggles_of_page_slow() -> int:
    from slawatch.catalog import load_catalog
    from oracles import conditions
    from slawatch.core.slo_state import SloState

    (slo,) = load_catalog([SCENARIOS / "noise-no-flap" / "catalog.yaml"]).slos
    state = SloState(slo)
    events = [orjson.loads(line) for line in (SCENARIOS / "noise-no-flap" / "events.jsonl").read_bytes().splitlines()]
    held, toggles, second = None, 0, int(BASE)
    for event in events:
        while event["ts"] >= second + 1:
            second += 1
            holds = next(c for c in conditions(state, second) if c.id == "page-slow").holds
            toggles += held is not None and holds != held
            held = holds
        state.apply(event["ts"], event["ok"])
    return toggles


def test_low_traffic_does_not_page_but_would_without_the_guard(tmp_path):
    alerts = scenario("low-traffic")
    assert not [a for a in alerts if a["severity"] == "page"]
    unguarded = variant(tmp_path, "low-traffic", "min_events: 20", "min_events: 0")
    assert [a for a in unguarded if a["severity"] == "page"]


def test_a_maintenance_window_suppresses_what_would_otherwise_page(tmp_path):
    assert scenario("maintenance") == []
    unexcluded = variant(tmp_path, "maintenance", '{start: "2026-01-05T00:20:00Z", end: "2026-01-05T00:22:00Z"',
                         '{start: "2026-01-05T02:20:00Z", end: "2026-01-05T02:22:00Z"')
    assert of(unexcluded, "page-fast", "firing")


def test_a_silent_slo_raises_no_data_and_a_returning_one_resolves_it():
    alerts = scenario("no-data")
    assert {a["type"] for a in alerts} == {"no_data"}
    never = [a for a in alerts if a["slo"] == "shipping-availability"]
    assert [(a["status"], at(a["starts_at"])) for a in never] == [("firing", 120.0)]
    paused = [a for a in alerts if a["slo"] == "inventory-availability"]
    assert [a["status"] for a in paused] == ["firing", "resolved"]
    assert at(paused[0]["starts_at"]) == pytest.approx(299.75 + 120)  # last event + 2m
    assert at(paused[1]["ends_at"]) == pytest.approx(1200, abs=1)
    assert not [a for a in alerts if a["slo"] == "stock-availability"]


def test_a_per_customer_slo_alerts_for_that_customer_only():
    alerts = scenario("per-customer")
    assert alerts and all(a["group"] == {"customer": "acme"} for a in alerts)
    assert all(a["labels"]["customer"] == "acme" for a in alerts)
    assert of(alerts, "page-fast", "firing")
