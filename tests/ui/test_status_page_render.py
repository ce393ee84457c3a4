"""The status page's rendering, from status and alert payloads to HTML and inline SVG (no browser)."""

from __future__ import annotations

from pathlib import Path

import yaml

from slawatch.ui import charts, render, store
from slawatch.ui.render import Filters, rows_of, selected
from slawatch.ui.store import Point, StatusStore

REPO = Path(__file__).resolve().parents[2]
STATUS = yaml.safe_load((REPO / "topics" / "sla.status.yaml").read_text())["example"]
ALERT = yaml.safe_load((REPO / "topics" / "sla.warnings.yaml").read_text())["example"]
NOW = store.epoch(STATUS["observed_at"]) + 5


def status(slo: str, budget: float | None, service: str = "checkout", firing=(), **changes) -> dict:
    periods = [] if budget is None else [{**STATUS["periods"][0], "budget_remaining_ratio": budget}]
    return {**STATUS, "slo": slo, "service": service, "periods": periods, "firing": list(firing), **changes}


STATUSES = {"a": status("a", 0.9), "b": status("b", -0.2, firing=[ALERT["id"]]), "c": status("c", None),
            "d": status("d", 0.4, service="search")}


def test_rows_are_sorted_by_budget_left_least_first_and_slos_without_data_last():
    assert [r.key for r in rows_of(STATUSES, [ALERT], NOW)] == ["b", "d", "a", "c"]


def test_the_filters_keep_one_service_or_only_what_fires():
    rows = rows_of(STATUSES, [ALERT], NOW)
    assert [r.key for r in selected(rows, Filters(service="search"))] == ["d"]
    assert [r.key for r in selected(rows, Filters(firing_only=True))] == ["b"]
    assert rows[0].firing == ("page",)


def test_an_alert_whose_resolve_was_read_no_longer_counts_as_firing():
    (row,) = rows_of({"b": STATUSES["b"]}, [{**ALERT, "status": "resolved"}], NOW)
    assert row.firing == ()


def test_the_list_page_reloads_itself_has_no_script_and_marks_a_stale_slo():
    old = status("old", 0.5, observed_at="2026-12-01T09:00:00Z")
    html = render.list_page(rows_of({**STATUSES, "old": old}, [ALERT], NOW), Filters(), NOW, 10, "meta")
    assert '<meta http-equiv="refresh" content="10">' in html and "<script" not in html
    assert 'data-slo="old"' in html and "(stale:" in html
    assert html.count("<tr ") == 5 and 'id="slo-count">5<' in html and 'id="firing-count">1<' in html


def test_the_budget_bar_is_clamped_and_says_exhausted_or_no_data():
    assert 'class="bar exhausted"' in render.budget_bar(-0.2) and "width:0.0%" in render.budget_bar(-0.2)
    assert "-20.0%" in render.budget_bar(-0.2)
    assert "width:100.0%" in render.budget_bar(1.3) and "no data" in render.budget_bar(None)


def test_the_fastest_burn_is_the_highest_over_any_alert_window():
    assert "0.9×" in render.burn_text(STATUS) and "over 1h" in render.burn_text(STATUS)
    assert "0×" in render.burn_text({**STATUS, "windows": [{"window": "5m", "sli": 1.0, "burn_rate": 0.0}]})


def test_a_series_breaks_where_there_is_no_data_and_a_lone_point_is_a_dot():
    svg = charts.line_chart("t", [charts.Series("s", [(0, 1.0), (10, 0.9), (20, None), (30, 0.8), (40, None)], "c")])
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1


def test_a_chart_without_data_says_so_instead_of_an_empty_frame():
    svg = charts.line_chart("t", [charts.Series("s", [(0, None)], "c")], [charts.Guide(1.0, "one", "g")])
    assert "no data yet" in svg and "<polyline" not in svg


def test_the_slo_page_draws_sli_budget_and_burn_over_the_chosen_span():
    history = [Point(NOW - 7200 + i * 60, 0.999, 0.5, 0.99, 2.0) for i in range(121)]
    html = render.slo_page("a", STATUSES["a"], history, [], NOW, 10, "meta", span="1h")
    assert html.count('<svg class="chart"') == 3 and html.count("<polyline") == 4
    assert "objective 99.90%" in html and "<b>1h</b>" in html
    assert len(render.in_span(history, "1h")) == 61 and len(render.in_span(history, "all")) == 121


def test_history_moves_forward_only_and_keeps_older_points_coarser(monkeypatch):
    monkeypatch.setattr(store, "RECENT_POINTS", 3)
    monkeypatch.setattr(store, "COARSE_SPACING_S", 100.0)
    kept = StatusStore()
    for t in (0, 50, 100, 150, 200, 250, 40):
        kept.add_status("a", {**STATUS, "watermark": f"2026-12-01T10:{t // 60:02d}:{t % 60:02d}Z"}, NOW)
    times = [int(p.t - store.epoch("2026-12-01T10:00:00Z")) for p in kept.history("a")]
    assert times == [0, 100, 150, 200, 250]


def test_only_the_latest_resolved_alerts_of_an_slo_are_kept(monkeypatch):
    monkeypatch.setattr(store, "RESOLVED_KEPT", 2)
    kept = StatusStore()
    kept.add_alert(ALERT, NOW)
    for i in range(4):
        kept.add_alert({**ALERT, "id": f"r{i}", "status": "resolved", "ends_at": f"2026-12-01T10:1{i}:00Z"}, NOW)
    assert sorted(a["id"] for a in kept.alerts("checkout-availability")) == [ALERT["id"], "r2", "r3"]
