"""The status page's routes, served by the real server in this process from a store filled by hand."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from slawatch.broker.embedded import free_port
from slawatch.ui.server import PageSettings, make_server
from slawatch.ui.store import StatusStore

REPO = Path(__file__).resolve().parents[2]
STATUS = yaml.safe_load((REPO / "topics" / "sla.status.yaml").read_text())["example"]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def served():
    store = StatusStore()
    store.add_status("checkout-availability", STATUS, 0.0)
    store.add_status("payments-customer-sla|acme", {**STATUS, "slo": "payments-customer-sla", "service": "payments",
                                                    "group": {"customer": "acme"}}, 0.0)
    port = free_port()
    server = make_server("127.0.0.1", port, store, PageSettings(refresh_s=5, source="test"))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield store, f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_the_list_a_grouped_slo_page_and_a_404(served):
    _, url = served
    code, page = get(url + "/?service=payments")
    assert code == 200 and 'data-slo="payments-customer-sla|acme"' in page and "checkout-availability</a>" not in page
    code, page = get(url + "/slo/payments-customer-sla%7Cacme?span=nonsense")
    assert code == 200 and "payments-customer-sla (customer=acme)" in page and "<b>1h</b>" in page
    assert get(url + "/slo/nope")[0] == 404 and get(url + "/nope")[0] == 404


def test_healthz_says_what_was_read_and_fails_once_the_feed_stopped(served):
    store, url = served
    code, body = get(url + "/healthz")
    assert code == 200 and '"records":2' in body
    store.feeding = False
    assert get(url + "/healthz")[0] == 503
