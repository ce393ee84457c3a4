"""The status page in a real browser during a demo outage: headless Chromium loads `slawatch ui`,
fed by a worker on the embedded broker that is watching the demo catalogue while `search` fails.

The traffic is the demo's own (its event makers and back-fill, its 6 s full search outage), played
without the demo's 40 s of steady traffic first. Screenshots are kept in .run/artifacts/ for a
person to look at; their paths are printed.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time

import orjson
import pytest
from kafka import KafkaProducer

from kafka_helpers import REPO, http_get, wait_for
from oncall_helpers import Chromium, StatusPage, parse_dom
from slawatch import demo
from slawatch.broker import EmbeddedBroker
from slawatch.conventions import TOPIC_EVENTS

pytestmark = pytest.mark.integration
ARTIFACTS = REPO / ".run" / "artifacts"
CUSTOMERS = [f"payments-customer-sla|{c}" for c in demo.CUSTOMERS]
EVERY_SLO = {"checkout-availability", "checkout-latency", "payments-authorise-p99", "search-availability", *CUSTOMERS}


class DemoOutage(threading.Thread):
    """Four hours of clean search history, then the demo's traffic for all three services (20 events/s
    each: over that short history the demo's 60/s outage would spend the whole budget), with a full
    search outage from `outage_at_s` for `outage_s` seconds; until stopped."""

    def __init__(self, broker: str, outage_at_s: float = 4.0, outage_s: float = 6.0, rate: float = 20.0) -> None:
        super().__init__(daemon=True)
        self.producer = KafkaProducer(bootstrap_servers=broker, linger_ms=20)
        self.outage = (outage_at_s, outage_at_s + outage_s)
        self.rate, self.rng, self.stopped = rate, random.Random(7), threading.Event()

    def run(self) -> None:
        demo.backfill_search(self.producer, time.time(), self.rng, hours=4)
        started = time.monotonic()
        while not self.stopped.is_set():
            elapsed, now, n = time.monotonic() - started, time.time(), int(self.rate / 4)
            errors = 1.0 if self.outage[0] <= elapsed < self.outage[1] else 0.001
            for key, events in ((b"search", [demo.search_event(now, errors, self.rng) for _ in range(n)]),
                                (b"checkout", [demo.checkout_event(now, self.rng) for _ in range(n)]),
                                (b"payments", [demo.payments_event(now, 0.0, self.rng) for _ in range(n)])):
                self.producer.send(TOPIC_EVENTS, key=key, value=orjson.dumps(events))
            time.sleep(0.25)
        self.producer.flush(5)
        self.producer.close(5)


@pytest.fixture(scope="module")
def outage(module_broker, worker):
    traffic = DemoOutage(module_broker)
    traffic.start()
    yield traffic
    traffic.stopped.set()
    traffic.join(10)


@pytest.fixture(scope="module")
def status_page(module_broker, outage, tmp_path_factory):
    page = StatusPage(module_broker, tmp_path_factory.mktemp("ui") / "ui.log").start()
    yield page
    assert page.stop() == 0


def rows(dom) -> dict[str, object]:
    return {tr.attrs["data-slo"]: tr for tr in dom.find_all("tr", data_slo=True)}


def outage_on_the_page(page: StatusPage) -> bool:
    listing, firing = page.get("/"), page.get("/?firing=1")
    slo = http_get(page.url + "/slo/search-availability")[1].decode()  # 404 until its first status
    return (all(f'data-slo="{k}"' in listing for k in EVERY_SLO) and 'class="sev sev-page"' in firing
            and slo.count("<polyline") >= 4)  # two SLI lines, budget and burn: at least two points each


def test_the_page_shows_every_slo_and_the_firing_filter_shows_the_search_outage(status_page, tmp_path):
    wait_for(lambda: outage_on_the_page(status_page), 90, 0.5, what="every SLO listed and the search page firing")
    browser = Chromium(tmp_path)

    listing = parse_dom(browser.dom(status_page.url + "/"))
    assert set(rows(listing)) == EVERY_SLO
    assert listing.by_id("slo-count").text == str(len(EVERY_SLO))
    assert listing.find_all("meta", http_equiv="refresh")[0].attrs["content"] == "2"
    assert not listing.find_all("script")
    search = rows(listing)["search-availability"]
    assert "firing" in search.attrs["class"].split() and search.find_all("span", class_="sev-page")
    budgets = [float(tr.find_all("span", class_="num")[0].text.rstrip("%")) for tr in rows(listing).values()
               if tr.find_all("span", class_="num")[0].text != "no data"]
    assert budgets == sorted(budgets)  # least budget left first
    assert [k for k, tr in rows(listing).items() if "firing" in tr.attrs.get("class", "")] == ["search-availability"]

    firing = parse_dom(browser.dom(status_page.url + "/?firing=1"))
    assert list(rows(firing)) == ["search-availability"]
    assert int(firing.by_id("firing-count").text) == 1
    only_payments = parse_dom(browser.dom(status_page.url + "/?service=payments"))
    assert set(rows(only_payments)) == {"payments-authorise-p99", *CUSTOMERS}

    slo = parse_dom(browser.dom(status_page.url + "/slo/search-availability"))
    assert slo.by_id("slo-name").text == "search-availability"
    assert any("page" in tr.text for tr in slo.by_id("firing-alerts").find_all("tr", data_alert=True))
    charts = slo.find_all("svg", class_="chart")
    assert [c.find_all("title")[0].text for c in charts] == ["SLI", "Error budget left", "Fastest burn rate"]
    assert all(c.find_all("polyline") for c in charts)  # every chart has a line: no empty panel

    shots = [browser.screenshot(status_page.url + "/", ARTIFACTS / "status-page-list.png"),
             browser.screenshot(status_page.url + "/?firing=1", ARTIFACTS / "status-page-firing.png", height=500),
             browser.screenshot(status_page.url + "/slo/search-availability", ARTIFACTS / "status-page-slo.png",
                                height=1500)]
    print("\nstatus page screenshots:", *shots, sep="\n  ")


def test_a_grouped_slo_has_its_own_page_and_an_unknown_one_a_404(status_page):
    wait_for(lambda: http_get(status_page.url + "/slo/payments-customer-sla%7Cglobex")[0] == 200, 60, 0.5,
             what="the globex page")
    page = parse_dom(status_page.get("/slo/payments-customer-sla%7Cglobex"))
    assert page.by_id("slo-name").text == "payments-customer-sla (customer=globex)"
    code, body = http_get(status_page.url + "/slo/nope")
    assert code == 404 and b"No SLO with key nope" in body


def test_a_broker_without_the_status_topic_is_said_in_one_line(tmp_path):
    with EmbeddedBroker() as bare:
        page = StatusPage(bare.address, tmp_path / "ui.log")
        done = subprocess.run(page.cmd, capture_output=True, text=True, timeout=30, cwd=REPO)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"slawatch ui: no topic sla.status on {bare.address} (topics there: none); "
                                              "create it with `slawatch topics apply`, then run a worker"]
