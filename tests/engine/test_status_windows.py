"""The status record carries the burn over every alert window, so a status page needs no metrics backend."""

from __future__ import annotations

import math

from engine_helpers import BASE, make_catalog
from test_engine_api import outage

from slawatch import conventions as cv
from slawatch.engine import Engine


def test_status_windows_match_the_burn_rate_gauges_shortest_window_first():
    engine = Engine(make_catalog())
    engine.apply(outage(), wall_now=BASE + 800)
    (status,) = engine.status("api-availability", BASE + 800)
    windows = status.payload["windows"]
    assert [w["window"] for w in windows] == ["10s", "2m", "4m", "48m"]
    gauges = {labels["window"]: value for name, labels, value in engine.gauges()
              if name == cv.METRIC_BURN_RATE}
    for w in windows:
        assert math.isclose(w["burn_rate"], gauges[w["window"]], abs_tol=1e-4)
        assert math.isclose(w["sli"], 1 - w["burn_rate"] * 0.01, abs_tol=1e-5)
    assert max(w["burn_rate"] for w in windows) > 14.4  # the outage is still in the short windows


def test_an_slo_without_events_has_no_windows_in_its_status():
    (status,) = Engine(make_catalog()).status("api-availability", BASE)
    assert status.payload["windows"] == [] and status.payload["watermark"] is None
