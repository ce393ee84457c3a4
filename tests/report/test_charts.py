"""The report's charts: well-formed SVG that points nowhere outside itself, the same bytes for the
same input (in another process too), each chart's lines where its numbers put them, and all four
drawn by headless Chromium (the screenshot is kept in .run/artifacts/ for a person to look at)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image

from kafka_helpers import REPO
from oncall_helpers import Chromium
from slawatch.report.charts import (TimelineIncident, burn_down_svg, incident_timeline_svg, sli_per_day_svg,
                                    traffic_svg)
from slawatch.report.forecast import forecast_series

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
ARTIFACTS = REPO / ".run" / "artifacts"
DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]
OBJECTIVE = 0.999
NOVEMBER = (datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp(), datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp())


def sli_values() -> list[float | None]:
    values: list[float | None] = [0.9995 - (n % 5) * 0.00008 for n in range(30)]
    values[9], values[14], values[20], values[21] = 0.9971, 0.90, None, None
    return values


def remaining_values() -> list[float | None]:
    left, values = 1.0, []
    for n in range(30):
        left -= 0.02 + (0.5 if n == 9 else 0.0)
        values.append(left)
    values[20] = None
    return values


def incidents() -> list[TimelineIncident]:
    day = 86_400
    start = NOVEMBER[0]
    return [TimelineIncident(start + 9.5 * day, start + 9.5 * day + 5400, "page-fast customer=globex", "page"),
            TimelineIncident(start + 9.5 * day + 600, start + 9.5 * day + 9000, "ticket-fast customer=globex", "ticket"),
            TimelineIncident(start + 12 * day, start + 12 * day + 30, "page-fast search-latency", "page"),
            TimelineIncident(start + 15 * day, None, "sla_breach customer=globex", "breach"),
            TimelineIncident(start - 2 * day, start + 3 * day, "budget_consumed 50 % since October", "warning")]


def traffic() -> tuple[list[date], list[float]]:
    days = [date(2026, 9, 1) + timedelta(days=n) for n in range(91)]
    return days, [3000 * 1.2 ** (n / 30) * (1 + 0.02 * ((n * 7) % 5 - 2)) for n in range(91)]


def every_chart() -> dict[str, str]:
    days, per_day = traffic()
    return {
        "sli": sli_per_day_svg(DAYS, sli_values(), OBJECTIVE, "payments-customer-sla customer=globex: SLI per day"),
        "burn-down": burn_down_svg(DAYS, remaining_values(), "payments-customer-sla customer=globex: budget left"),
        "timeline": incident_timeline_svg(*NOVEMBER, incidents(), "Incidents, November 2026"),
        "traffic": traffic_svg(days, per_day, forecast_series(per_day, 30), "payments: events per day"),
    }


def group(svg: str, gid: str) -> ET.Element:
    found = ET.fromstring(svg).find(f".//{SVG}g[@id='{gid}']")
    assert found is not None, f"no element with id {gid}"
    return found


def points(element: ET.Element) -> list[tuple[float, float]]:
    """The (x, y) vertices of the first path under `element` (SVG y grows downwards)."""
    path = element.find(f".//{SVG}path")
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d"))]
    return list(zip(numbers[::2], numbers[1::2]))


@pytest.mark.parametrize("name", ["sli", "burn-down", "timeline", "traffic"])
def test_each_chart_is_svg_that_points_nowhere_outside_itself(name):
    svg = every_chart()[name]
    assert svg.startswith("<svg") and "<!DOCTYPE" not in svg and "<?xml" not in svg
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.find(f"{SVG}title").text
    for element in root.iter():
        assert element.tag not in (f"{SVG}image", f"{SVG}script", f"{SVG}foreignObject", f"{SVG}metadata")
        for attribute in ("href", XLINK_HREF):
            if attribute in element.attrib:
                assert element.attrib[attribute].startswith("#"), element.attrib
    assert not re.search(r"url\((?!#)", svg) and "@import" not in svg


def test_the_same_input_gives_the_same_svg_in_another_process_too():
    here = every_chart()
    assert here == every_chart()
    script = "import json, test_charts; print(json.dumps(test_charts.every_chart()))"
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": os.pathsep.join(
        [str(REPO / "tests" / "report"), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    import json

    assert json.loads(done.stdout) == here


def test_two_charts_on_one_page_share_no_ids_but_their_identical_glyphs():
    charts = every_chart()
    first = {e.get("id") for e in ET.fromstring(charts["sli"]).iter() if e.get("id")}
    second = {e.get("id") for e in ET.fromstring(charts["burn-down"]).iter() if e.get("id")}
    shared = {i for i in first & second if not i.startswith("DejaVuSans")}
    # matplotlib's own element names (figure_1, axes_1, line2d_3 ...) repeat; what is referenced
    # by url(#...) or href (clip paths, markers, hatches) must not.
    referenced = set(re.findall(r"url\(#([^)]+)\)|href=\"#([^\"]+)\"", charts["sli"] + charts["burn-down"]))
    referenced = {a or b for a, b in referenced if not (a or b).startswith("DejaVuSans")}
    assert not shared & referenced


def test_the_objective_line_lies_between_the_days_above_and_below_it():
    values = sli_values()
    svg = sli_per_day_svg(DAYS, values, OBJECTIVE, "SLI")
    ((x0, y_objective), (x1, y_end)) = points(group(svg, "objective"))
    assert y_objective == y_end and x1 > x0
    days = points(group(svg, "sli"))  # a day without data (None) breaks the line: fewer vertices
    drawn = [v for v in values if v is not None]
    assert len(days) == len(drawn)
    for (_, y), value in zip(days, drawn):
        assert (y < y_objective) if value > OBJECTIVE else (y > y_objective)


def test_days_below_the_objective_are_marked_and_days_without_data_hatched():
    svg = sli_per_day_svg(DAYS, sli_values(), OBJECTIVE, "SLI")
    marks = group(svg, "below-objective").findall(f".//{SVG}use")
    assert len(marks) == sum(1 for v in sli_values() if v is not None and v < OBJECTIVE)
    group(svg, "no-data-0")
    group(svg, "no-data-1")


def test_the_burn_down_runs_against_a_straight_line_from_full_to_empty():
    svg = burn_down_svg(DAYS, remaining_values(), "budget")
    (x_start, y_full), (x_end, y_empty) = points(group(svg, "ideal"))
    assert x_end > x_start and y_empty > y_full
    exhausted = points(group(svg, "exhausted"))
    assert exhausted[0][1] == pytest.approx(y_empty)  # the ideal reaches 0 % at the period's end
    left = points(group(svg, "remaining"))
    assert len(left) == sum(1 for v in remaining_values() if v is not None)
    assert left[-1][1] > y_empty  # it ends overspent, under 0 %


def test_a_budget_spent_many_times_over_keeps_the_scale_readable():
    remaining = [1.0] * 10 + [-39.0] * 20  # 4,000 % spent
    svg = burn_down_svg(DAYS, remaining, "overspent")
    (_, y_full), _ = points(group(svg, "ideal"))
    y_zero = points(group(svg, "exhausted"))[0][1]
    drawn = points(group(svg, "remaining"))
    y_floor = drawn[-1][1]
    assert all(y == y_floor for _, y in drawn[10:])
    assert y_zero - y_full == pytest.approx(y_floor - y_zero)  # drawn down to -100 %, as far below 0 as 100 % is above


def test_the_timeline_has_one_bar_per_incident_and_copes_with_none():
    svg = incident_timeline_svg(*NOVEMBER, incidents(), "Incidents")
    for n in range(len(incidents())):
        group(svg, f"incident-{n}")
    empty = incident_timeline_svg(*NOVEMBER, [], "Incidents")
    assert ET.fromstring(empty).find(f".//{SVG}g[@id='incident-0']") is None
    with pytest.raises(ValueError, match="end after it starts"):
        incident_timeline_svg(NOVEMBER[1], NOVEMBER[0], [], "backwards")


def test_traffic_draws_the_forecast_after_the_history():
    days, per_day = traffic()
    svg = traffic_svg(days, per_day, forecast_series(per_day, 30), "traffic")
    history, mean = points(group(svg, "history")), points(group(svg, "forecast-mean"))
    assert len(history) == len(days) and len(mean) == 31
    assert mean[0] == pytest.approx(history[-1]) and mean[-1][0] > history[-1][0]
    group(svg, "forecast-interval")
    bare = traffic_svg(days, per_day, None, "traffic")
    assert ET.fromstring(bare).find(f".//{SVG}g[@id='forecast-mean']") is None


def test_no_days_still_gives_a_chart_and_mismatched_lengths_are_refused():
    for svg in (sli_per_day_svg([], [], OBJECTIVE, "empty"), burn_down_svg([], [], "empty"), traffic_svg([], [], None, "empty")):
        assert ET.fromstring(svg).tag == f"{SVG}svg"
    with pytest.raises(ValueError, match="2 values for 30 days"):
        sli_per_day_svg(DAYS, [0.99, 0.98], OBJECTIVE, "short")


def test_chromium_draws_all_four_charts(tmp_path):
    page = tmp_path / "charts.html"
    body = "".join(f"<figure>{svg}</figure>" for svg in every_chart().values())
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>charts</title></head>"
                    f"<body style='margin:0;background:#fff'>{body}</body></html>")
    shot = Chromium(tmp_path).screenshot(page.as_uri(), ARTIFACTS / "report-charts.png", width=720, height=1100)
    print(f"screenshot: {shot}")
    image = Image.open(shot).convert("L")
    width, height = image.size
    # Ink in each quarter of the page's height: all four charts were drawn, not only the first.
    for quarter in range(4):
        band = image.crop((0, quarter * height // 4, width, (quarter + 1) * height // 4))
        dark = sum(count for value, count in enumerate(band.histogram()) if value < 128)
        assert dark > 2000, f"quarter {quarter} of {shot} is nearly blank"
