"""Alert payloads as Alertmanager API v2 alerts: identity by labels, times Alertmanager accepts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from slawatch.notify.alertmanager import alerts_endpoint, extend, identity, label_name, to_alertmanager
from slawatch.notify.book import FiringBook

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = yaml.safe_load((REPO / "topics" / "sla.warnings.yaml").read_text())["example"]
NOW = datetime.fromisoformat("2026-12-01T10:20:00Z").timestamp()
PAGE = "http://status.example.com"


def mapped(**changes) -> dict:
    return to_alertmanager({**EXAMPLE, **changes}, NOW, 240, PAGE)


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_a_firing_page_carries_its_labels_annotations_and_a_link_to_its_slo_page():
    alert = mapped()
    assert alert["labels"] == {"alertname": "SLOBurnRate", "slo": "checkout-availability", "service": "checkout",
                               "severity": "page", "rule": "page-fast"}
    assert alert["annotations"]["summary"] == EXAMPLE["annotations"]["summary"]
    assert alert["annotations"]["runbook_url"] == "https://runbooks.example.com/checkout"
    assert alert["annotations"]["dashboard_url"] == "https://grafana.example.com/d/slawatch"
    assert alert["annotations"]["description"] == EXAMPLE["rule"]
    assert alert["annotations"]["alert_id"] == EXAMPLE["id"]
    assert alert["startsAt"] == "2026-12-01T10:12:05.000Z"
    assert epoch(alert["endsAt"]) == NOW + 240
    assert alert["generatorURL"] == f"{PAGE}/slo/checkout-availability"


def test_a_resolved_alert_ends_at_its_end_and_keeps_its_identity():
    firing, resolved = mapped(), mapped(status="resolved", ends_at="2026-12-01T10:18:00Z")
    assert epoch(resolved["endsAt"]) == datetime.fromisoformat("2026-12-01T10:18:00Z").timestamp()
    assert identity(resolved) == identity(firing)


def test_times_ahead_of_the_wall_clock_are_clamped_so_alertmanager_never_refuses_the_batch():
    ahead = mapped(starts_at="2026-12-01T11:00:00Z", status="resolved", ends_at="2026-12-01T11:05:00Z")
    assert epoch(ahead["startsAt"]) == NOW and epoch(ahead["endsAt"]) == NOW
    backwards = mapped(status="resolved", ends_at="2026-12-01T10:00:00Z")  # before its start
    assert epoch(backwards["endsAt"]) >= epoch(backwards["startsAt"])


def test_a_grouped_alert_links_to_its_group_page_and_every_label_name_is_one_alertmanager_accepts():
    alert = mapped(group={"customer": "globex"}, labels={**EXAMPLE["labels"], "customer": "globex",
                                                        "team.name": "shop", "2fa": "on", "empty": ""})
    assert alert["generatorURL"] == f"{PAGE}/slo/checkout-availability%7Cglobex"
    assert alert["labels"]["customer"] == "globex" and alert["labels"]["group"] == "customer=globex"
    assert alert["labels"]["team_name"] == "shop"
    assert alert["labels"]["_2fa"] == "on" and "empty" not in alert["labels"]
    assert label_name("a-b c") == "a_b_c"


def test_a_time_that_is_not_one_is_taken_as_now_rather_than_stopping_the_notifier():
    assert epoch(mapped(starts_at="yesterday")["startsAt"]) == NOW


def test_an_unknown_alert_type_still_gets_an_alertname():
    assert mapped(type="something_new")["labels"]["alertname"] == "SLOAlert"


def test_a_re_send_only_pushes_the_end_on():
    alert = mapped()
    later = extend(alert, NOW + 60, 240)
    assert epoch(later["endsAt"]) == NOW + 300 and {**later, "endsAt": alert["endsAt"]} == alert


def test_the_book_keeps_the_latest_firing_alert_per_identity_and_forgets_resolved_and_moved_ones():
    book = FiringBook()
    book.record(mapped(), True, ("sla.warnings", 0))
    book.record(mapped(annotations={"summary": "newer"}), True, ("sla.warnings", 0))
    book.record(mapped(labels={**EXAMPLE["labels"], "rule": "ticket"}), True, ("sla.warnings", 1))
    assert len(book) == 2 and "newer" in [a["annotations"]["summary"] for a in book.firing()]
    book.record(mapped(status="resolved"), False, ("sla.warnings", 0))
    book.forget([("sla.warnings", 1)])
    assert book.firing() == []


@pytest.mark.parametrize("url, endpoint", [("http://127.0.0.1:9093", "http://127.0.0.1:9093/api/v2/alerts"),
                                           ("https://am.example.com/alertmanager/", "https://am.example.com/alertmanager/api/v2/alerts")])
def test_the_endpoint_is_under_the_given_address(url, endpoint):
    assert alerts_endpoint(url) == endpoint


@pytest.mark.parametrize("url", ["127.0.0.1:9093", "ftp://am", "http://", "http://am:99999"])
def test_an_address_that_is_not_http_is_refused_with_what_would_be_valid(url):
    with pytest.raises(ValueError, match="--url"):
        alerts_endpoint(url)
