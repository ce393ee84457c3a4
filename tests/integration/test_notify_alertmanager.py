"""`slawatch notify alertmanager` against a real Alertmanager 0.25 and the embedded broker.

The alert records are the real engine's: `slawatch replay` of the golden 30 s outage (warnings, two
tickets, a page, a breach, and their resolves), produced to sla.warnings / sla.breaches with their
SLO as key, as a worker produces them. Each test has its own broker and Alertmanager.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from kafka_helpers import REPO, send_all, wait_for
from oncall_helpers import Alertmanager, Notifier, require_program
from slawatch.broker import EmbeddedBroker
from slawatch.broker.embedded import free_port
from slawatch.conventions import NOTIFY_ALERTMANAGER_GROUP, TOPIC_BREACHES, TOPIC_WARNINGS
from slawatch.core.policies import BREACH_TYPES
from slawatch.replay import run_replay
from slawatch.topics import apply_topics, load_specs

pytestmark = pytest.mark.integration
SCENARIO = REPO / "tests" / "golden" / "scenarios" / "outage-pages"
PAGE_LABELS = {"alertname": "SLOBurnRate", "slo": "search-availability", "service": "search",
               "severity": "page", "rule": "page-fast", "type": "burn_rate"}


@pytest.fixture
def broker_address():
    with EmbeddedBroker() as running:
        apply_topics(load_specs(REPO / "topics"), [running.address])
        yield running.address


@pytest.fixture
def alertmanager(tmp_path):
    am = Alertmanager(tmp_path).start()
    yield am
    am.stop() if am.process.poll() is None else None


def outage_alerts() -> list[dict]:
    out = io.StringIO()
    assert run_replay([SCENARIO / "catalog.yaml"], SCENARIO / "events.jsonl", out) == 0
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def produce(broker: str, alerts: list[dict]) -> None:
    for topic in (TOPIC_WARNINGS, TOPIC_BREACHES):
        records = [(a["slo"].encode(), orjson.dumps(a)) for a in alerts if (a["type"] in BREACH_TYPES) == (topic == TOPIC_BREACHES)]
        if records:
            send_all(broker, records, topic=topic)


def firing_rules(alerts: list[dict]) -> set[str]:
    """The rules that fire once these records are applied in order."""
    firing: set[str] = set()
    for a in alerts:
        (firing.add if a["status"] == "firing" else firing.discard)(a["labels"]["rule"])
    return firing


def index_of(alerts: list[dict], rule: str, status: str) -> int:
    return next(i for i, a in enumerate(alerts) if a["labels"]["rule"] == rule and a["status"] == status)


def committed(broker: str) -> int:
    """Offsets the notifier's group committed, summed over both topics (it never joins the group)."""
    reader = KafkaConsumer(group_id=NOTIFY_ALERTMANAGER_GROUP, bootstrap_servers=broker, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(t, p) for t in (TOPIC_WARNINGS, TOPIC_BREACHES) for p in reader.partitions_for_topic(t)]
        return sum(reader.committed(tp) or 0 for tp in partitions)
    finally:
        reader.close(autocommit=False)


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_an_outage_pages_through_alertmanager_with_its_labels_and_the_resolve_clears_it(broker_address, alertmanager,
                                                                                        tmp_path):
    alerts = outage_alerts()
    page_at, resolve_at = index_of(alerts, "page-fast", "firing"), index_of(alerts, "page-fast", "resolved")
    notifier = Notifier(broker_address, alertmanager.url, tmp_path / "notifier.log").start()
    send_all(broker_address, [(b"search-availability", b"not an alert")], topic=TOPIC_WARNINGS)  # passed over
    produce(broker_address, alerts[:page_at])
    before_page = firing_rules(alerts[:page_at])
    wait_for(lambda: alertmanager.rules_active() == before_page, 30, what=f"{before_page} in Alertmanager")

    sent = time.monotonic()
    produce(broker_address, [alerts[page_at]])
    (page,) = wait_for(lambda: alertmanager.alerts(rule="page-fast"), 10, 0.01, what="the page in Alertmanager")
    page_round_trip = time.monotonic() - sent
    assert page["labels"] == PAGE_LABELS
    assert page["status"]["state"] == "active"
    assert page["annotations"]["runbook_url"] == "https://runbooks.example.com/search"
    assert page["annotations"]["dashboard_url"] == "https://grafana.example.com/d/search"
    assert "burning its error budget" in page["annotations"]["summary"]
    assert page["annotations"]["alert_id"] == alerts[page_at]["id"]
    assert epoch(page["startsAt"]) == epoch(alerts[page_at]["starts_at"])
    assert page["generatorURL"] == "http://127.0.0.1:6067/slo/search-availability"
    assert 230 < epoch(page["endsAt"]) - time.time() <= 240  # held for 4 re-sends, as Prometheus does

    sent = time.monotonic()
    produce(broker_address, alerts[page_at + 1:resolve_at + 1])
    wait_for(lambda: not alertmanager.alerts(rule="page-fast"), 10, 0.01, what="the resolved page gone")
    resolve_round_trip = time.monotonic() - sent
    assert alertmanager.rules_active() == firing_rules(alerts[:resolve_at + 1])
    assert "a record that is not an alert passed over" in notifier.log()
    print(f"\nAlertmanager round trip (record produced -> in GET /api/v2/alerts): page {page_round_trip * 1000:.0f} ms, "
          f"resolve {resolve_round_trip * 1000:.0f} ms")
    assert notifier.stop() == 0


def test_alertmanager_restarted_mid_stream_gets_every_alert_and_everything_still_firing(broker_address, alertmanager,
                                                                                      tmp_path):
    alerts = outage_alerts()
    half = index_of(alerts, "page-fast", "firing") + 1
    notifier = Notifier(broker_address, alertmanager.url, tmp_path / "notifier.log").start()
    produce(broker_address, alerts[:half])
    wait_for(lambda: alertmanager.rules_active() == firing_rules(alerts[:half]), 30, what="the first half delivered")
    wait_for(lambda: committed(broker_address) == half, 10, what="the first half committed")

    alertmanager.stop()
    produce(broker_address, alerts[half:])
    wait_for(lambda: "did not take the alerts" in notifier.log(), 10, what="the notifier meeting the outage")
    time.sleep(2)  # retrying, in backoff
    assert committed(broker_address) == half  # nothing committed that Alertmanager has not taken

    alertmanager.start()  # a new process: it remembers no alert
    final = firing_rules(alerts)
    wait_for(lambda: alertmanager.rules_active() == final, 30, what=f"exactly {final} firing after the restart")
    wait_for(lambda: committed(broker_address) == len(alerts), 10, what="every record committed")
    assert "takes alerts again; re-sending every firing alert" in notifier.log()
    assert notifier.stop() == 0


def test_a_notifier_killed_while_alertmanager_is_down_leaves_its_successor_everything(broker_address, alertmanager,
                                                                                    tmp_path):
    alerts = outage_alerts()
    half = index_of(alerts, "page-fast", "firing") + 1
    first = Notifier(broker_address, alertmanager.url, tmp_path / "first.log").start()
    produce(broker_address, alerts[:half])
    wait_for(lambda: committed(broker_address) == half, 30, what="the first half delivered and committed")
    alertmanager.stop()
    produce(broker_address, alerts[half:])
    wait_for(lambda: "did not take the alerts" in first.log(), 10, what="the notifier meeting the outage")
    first.kill()

    alertmanager.start()  # remembers nothing: what fired in the first half must come from the log
    successor = Notifier(broker_address, alertmanager.url, tmp_path / "successor.log").start()
    final = firing_rules(alerts)
    wait_for(lambda: alertmanager.rules_active() == final, 30, what=f"exactly {final} firing from the successor")
    wait_for(lambda: committed(broker_address) == len(alerts), 10, what="every record committed")
    assert "firing alerts read back from the log" in successor.log()
    assert successor.stop() == 0


def test_firing_alerts_are_re_sent_every_interval_and_expire_once_nobody_re_sends_them(broker_address, alertmanager,
                                                                                      tmp_path):
    alerts = outage_alerts()
    half = index_of(alerts, "page-fast", "firing") + 1
    notifier = Notifier(broker_address, alertmanager.url, tmp_path / "notifier.log", "--resend-interval", "0.5").start()
    produce(broker_address, alerts[:half])
    (page,) = wait_for(lambda: alertmanager.alerts(rule="page-fast"), 30, what="the page delivered")
    assert epoch(page["endsAt"]) - time.time() <= 2  # 4 x the 0.5 s interval
    wait_for(lambda: epoch(alertmanager.alerts(rule="page-fast")[0]["endsAt"]) > epoch(page["endsAt"]) + 0.75, 5,
             what="endsAt pushed on by re-sends")
    time.sleep(2.5)  # longer than one hold: only re-sends keep it
    assert alertmanager.rules_active() == firing_rules(alerts[:half])

    assert notifier.stop() == 0
    wait_for(lambda: not alertmanager.alerts(), 5, what="every alert expired without re-sends")


def test_slawatch_run_with_an_alertmanager_url_starts_the_notifier_and_pages_through_it(alertmanager, tmp_path):
    ui_port = free_port()
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log:
        run = subprocess.Popen([sys.executable, "-m", "slawatch", "run", "--no-demo", "--data-dir", str(tmp_path / "run"),
                                "--web-port", str(free_port()), "--ui-port", str(ui_port)],
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "SLAWATCH_ALERTMANAGER_URL": alertmanager.url},
                               start_new_session=True)
    try:
        banner = wait_for(lambda: re.search(r"embedded Tansu on (\S+)", log_path.read_text()), 30, what="the banner")
        assert f"alerts -> Alertmanager {alertmanager.url} (notifier running)" in log_path.read_text()
        alerts = outage_alerts()
        produce(banner.group(1), alerts[:index_of(alerts, "page-fast", "firing") + 1])
        (page,) = wait_for(lambda: alertmanager.alerts(rule="page-fast"), 30, what="the page through slawatch run")
        assert page["generatorURL"] == f"http://127.0.0.1:{ui_port}/slo/search-availability"
    finally:
        os.killpg(run.pid, signal.SIGINT)
        run.wait(20)
    assert run.returncode == 0 and "slawatch: notifier stopped" in log_path.read_text()


def test_the_readme_pagerduty_route_is_a_valid_alertmanager_config(tmp_path):
    amtool = require_program("amtool", "prometheus-alertmanager", "alertmanager")
    paging = (REPO / "README.md").read_text().split("\n## Paging\n", 1)[1].split("\n## ", 1)[0]
    route = paging.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "pagerduty_configs" in route and "equal: [slo, group]" in route
    (tmp_path / "am.yml").write_text(route)
    checked = subprocess.run([amtool, "check-config", str(tmp_path / "am.yml")], capture_output=True, text=True)
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
