"""The status page's HTML, rendered from the store's records: the SLO list and a page per SLO.

Pure: records and the time in, a string out. The list is sorted by budget left (least first, no
data last) and filtered by service and by "firing"; every page reloads itself every `refresh_s`
with a meta refresh, so it keeps its filters and needs no script.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from urllib.parse import urlencode

from slawatch.ui.charts import Guide, Series, line_chart
from slawatch.ui.links import slo_path
from slawatch.ui.store import Point, epoch, fastest_burn, recent_window
from slawatch.ui.style import CSS

STALE_AFTER_S = 180.0  # the worker sends every SLO's status at least every minute
SPANS = {"1h": 3600.0, "6h": 21600.0, "1d": 86400.0, "7d": 604800.0, "all": None}  # of the SLO page's charts
DEFAULT_SPAN = "1h"
SEVERITY_ORDER = ("page", "breach", "ticket", "warning")


@dataclass(frozen=True, slots=True)
class Filters:
    service: str = ""
    firing_only: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    status: dict
    firing: tuple[str, ...]  # severities of the alerts firing, worst first
    age_s: float | None  # since the worker made this status

    @property
    def primary(self) -> dict:
        return (self.status.get("periods") or [{}])[0]

    @property
    def budget(self) -> float | None:
        return self.primary.get("budget_remaining_ratio")


def pct(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def group_text(status: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in (status.get("group") or {}).items())


def ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    return f"{seconds / 60:.0f} min ago" if seconds < 5400 else f"{seconds / 3600:.1f} h ago"


def firing_ids(status: dict, by_id: dict[str, dict]) -> list[str]:
    """The status's firing alerts, less those whose resolve was read since (the status lags by up to 5 s)."""
    return [i for i in status.get("firing") or [] if (by_id.get(i) or {}).get("status") != "resolved"]


def rows_of(statuses: dict[str, dict], alerts: Iterable[dict], now: float) -> list[Row]:
    by_id = {a["id"]: a for a in alerts}
    rows = []
    for key, status in statuses.items():
        severities = [(by_id.get(i) or {}).get("severity", "alert") for i in firing_ids(status, by_id)]
        severities.sort(key=lambda s: SEVERITY_ORDER.index(s) if s in SEVERITY_ORDER else len(SEVERITY_ORDER))
        observed = epoch(status.get("observed_at"))
        rows.append(Row(key, status, tuple(severities), None if observed is None else max(0.0, now - observed)))
    rows.sort(key=lambda r: (r.budget is None, r.budget if r.budget is not None else 0.0, r.key))
    return rows


def selected(rows: list[Row], filters: Filters) -> list[Row]:
    return [r for r in rows if (not filters.service or r.status.get("service") == filters.service)
            and (not filters.firing_only or r.firing)]


def budget_bar(budget: float | None) -> str:
    if budget is None:
        return '<div class="budget"><div class="bar"><span class="b-none" style="width:0"></span></div><span class="num muted">no data</span></div>'
    level = "b-ok" if budget > 0.5 else "b-warn" if budget > 0.2 else "b-low" if budget > 0 else "b-bad"
    width = max(0.0, min(1.0, budget)) * 100
    exhausted = " exhausted" if budget <= 0 else ""
    text_class = " bad" if budget <= 0 else ""
    return (f'<div class="budget" title="{pct(budget, 1)} of the error budget left"><div class="bar{exhausted}">'
            f'<span class="{level}" style="width:{width:.1f}%"></span></div>'
            f'<span class="num{text_class}">{pct(budget, 1)}</span></div>')


def burn_text(status: dict) -> str:
    fastest = fastest_burn(status)
    if not fastest:
        return '<span class="muted">–</span>'
    burn = fastest["burn_rate"]
    if burn == 0:
        return '<span class="muted">0×</span>'
    level = "bad" if burn >= 6 else "warn" if burn >= 1 else ""
    return f'<span class="{level}">{burn:.1f}×</span> <span class="muted">over {escape(fastest["window"])}</span>'


def severity_chips(severities: Iterable[str]) -> str:
    """One chip per severity, worst first, with a count when several alerts share it: `page` `warning ×4`."""
    counts: dict[str, int] = {}
    for s in severities:
        counts[s] = counts.get(s, 0) + 1
    chips = [f'<span class="sev sev-{escape(s)}">{escape(s)}{f" ×{n}" if n > 1 else ""}</span>' for s, n in counts.items()]
    return "".join(chips) or '<span class="ok-text">none</span>'


def attainment_text(status: dict, attainment: float | None) -> str:
    below = attainment is not None and attainment < status.get("objective", 0)
    return f'<span class="{"bad" if below else ""}">{pct(attainment, 3)}</span>'


def page(title: str, body: str, refresh_s: int, meta: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="{refresh_s}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            f'<header><h1><a href="/">slawatch status</a></h1><p class="meta">{meta}</p></header>'
            f"<main>{body}</main></body></html>")


def meta_line(now: float, refresh_s: int, last_record_age_s: float | None, source: str) -> str:
    clock = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (f"{clock} · refreshes every {refresh_s} s · last record {ago(last_record_age_s)} "
            f"· from {escape(source)}")


def list_page(rows: list[Row], filters: Filters, now: float, refresh_s: int, meta: str) -> str:
    shown = selected(rows, filters)
    services = sorted({r.status.get("service", "") for r in rows})
    firing = [r for r in rows if r.firing]
    exhausted = [r for r in rows if r.budget is not None and r.budget <= 0]
    tiles = (f'<div class="tiles"><div class="tile"><b id="slo-count">{len(rows)}</b><span>SLOs</span></div>'
             f'<div class="tile"><b>{len(services)}</b><span>services</span></div>'
             f'<div class="tile{" alarm" if firing else ""}"><b id="firing-count">{len(firing)}</b><span>SLOs firing</span></div>'
             f'<div class="tile{" alarm" if exhausted else ""}"><b>{len(exhausted)}</b><span>budget exhausted</span></div></div>')
    body = tiles + _filter_form(services, filters, len(firing))
    if not rows:
        body += '<p class="empty-state">No SLO status yet: is a worker running against this broker?</p>'
    elif not shown:
        body += '<p class="empty-state">No SLO matches these filters.</p>'
    else:
        body += _slo_table(shown)
    return page("slawatch status" + (" · firing" if filters.firing_only else ""), body, refresh_s, meta)


def _filter_form(services: list[str], filters: Filters, firing: int) -> str:
    options = "".join(f'<option value="{escape(s)}"{" selected" if s == filters.service else ""}>{escape(s)}</option>'
                      for s in services)
    firing_link = "/?" + urlencode({"firing": "1", **({"service": filters.service} if filters.service else {})})
    return (f'<form class="filters" method="get" action="/"><label>Service <select name="service">'
            f'<option value="">all</option>{options}</select></label>'
            f'<label><input type="checkbox" name="firing" value="1"{" checked" if filters.firing_only else ""}> '
            f'firing only</label><button type="submit">Apply</button>'
            f'<a href="/">all SLOs</a> <a href="{escape(firing_link)}">firing ({firing})</a></form>')


def _slo_table(rows: list[Row]) -> str:
    head = ("<thead><tr><th>Service</th><th>SLO</th><th>Group</th><th class=\"num\">Objective</th><th>Window</th>"
            "<th class=\"num\">Attainment</th><th>Budget left</th><th>Fastest burn</th><th>Alerts firing</th></tr></thead>")
    body = []
    for r in rows:
        s = r.status
        stale = r.age_s is not None and r.age_s > STALE_AFTER_S
        classes = " ".join(c for c in ("firing" if r.firing else "", "stale" if stale else "") if c)
        stale_note = f' <span class="muted">(stale: {ago(r.age_s)})</span>' if stale else ""
        body.append(
            f'<tr class="{classes}" data-slo="{escape(r.key)}" data-firing="{len(r.firing)}">'
            f'<td>{escape(s.get("service", ""))}</td>'
            f'<td class="name"><a href="{slo_path(r.key)}">{escape(s.get("slo", ""))}</a>{stale_note}</td>'
            f'<td>{escape(group_text(s))}</td><td class="num">{pct(s.get("objective"), 2)}</td>'
            f'<td>{escape(r.primary.get("period", "–"))}</td>'
            f'<td class="num">{attainment_text(s, r.primary.get("attainment"))}</td>'
            f'<td>{budget_bar(r.budget)}</td><td class="burn">{burn_text(s)}</td>'
            f'<td class="alerts">{severity_chips(r.firing)}</td></tr>')
    return f'<table id="slos">{head}<tbody>{"".join(body)}</tbody></table>'


def when_text(iso: str | None, now: float) -> str:
    """`01:55:30 UTC, 12 s ago` for an RFC 3339 time."""
    t = epoch(iso)
    if t is None:
        return "–"
    return f"{datetime.fromtimestamp(t, timezone.utc).strftime('%H:%M:%S')} UTC, {ago(max(0.0, now - t))}"


def in_span(history: list[Point], span: str) -> list[Point]:
    """The points of the last `span` of event time, up to the latest point."""
    seconds = SPANS.get(span)
    if seconds is None or not history:
        return history
    start = history[-1].t - seconds
    return [p for p in history if p.t >= start]


def _span_links(key: str, span: str) -> str:
    links = [f"<b>{name}</b>" if name == span else f'<a href="{slo_path(key)}?span={name}">{name}</a>' for name in SPANS]
    return f'<p class="spans">Charts over the last {" · ".join(links)} (event time)</p>'


def slo_page(key: str, status: dict, history: list[Point], alerts: list[dict], now: float, refresh_s: int,
             meta: str, span: str = DEFAULT_SPAN) -> str:
    name = status.get("slo", key) + (f" ({group_text(status)})" if status.get("group") else "")
    firing_now = set(firing_ids(status, {a["id"]: a for a in alerts}))
    firing = [a for a in alerts if a["id"] in firing_now]
    (row,) = rows_of({key: status}, alerts, now)
    primary = row.primary
    tiles = (f'<div class="tiles"><div class="tile"><b>{pct(status.get("objective"), 2)}</b><span>objective</span></div>'
             f'<div class="tile"><b>{escape(primary.get("period", "–"))}</b><span>window</span></div>'
             f'<div class="tile"><b>{attainment_text(status, primary.get("attainment"))}</b><span>attainment</span></div>'
             f'<div class="tile{" alarm" if (row.budget or 0) <= 0 else ""}"><b>{pct(row.budget, 1)}</b><span>budget left</span></div>'
             f'<div class="tile"><b>{burn_text(status)}</b><span>fastest burn</span></div>'
             f'<div class="tile{" alarm" if firing_now else ""}"><b id="slo-firing-count">{len(firing_now)}</b><span>alerts firing</span></div></div>')
    body = (f'<p><a href="/">← all SLOs</a> · service {escape(status.get("service", ""))}'
            f' · watermark {escape(status.get("watermark") or "none yet")}</p>'
            f'<h2 class="slo-title" id="slo-name">{escape(name)}</h2>{tiles}'
            f"<h2>Alerts firing</h2>{_alert_table(firing, 'firing-alerts', 'Nothing fires.', now)}"
            f'<h2>Over time</h2>{_span_links(key, span)}<div class="charts">{_charts(status, in_span(history, span))}</div>'
            f"<h2>Alert windows now</h2>{_windows_table(status)}"
            f"<h2>Compliance periods</h2>{_periods_table(status)}"
            f"<h2>Recently resolved</h2>"
            f"{_alert_table(_resolved(alerts), 'resolved-alerts', 'None resolved yet.', now)}")
    return page(f"{name} · slawatch status", body, refresh_s, meta)


def _charts(status: dict, history: list[Point]) -> str:
    objective = status.get("objective", 0.0)
    recent = recent_window(status)
    sli_series = [Series(f"SLI over {(status.get('periods') or [{}])[0].get('period', 'period')}",
                         [(p.t, p.attainment) for p in history], "s-attain")]
    if recent:
        sli_series.append(Series(f"SLI over {recent['window']}", [(p.t, p.recent_sli) for p in history], "s-recent"))
    sli = line_chart("SLI", sli_series, [Guide(objective, f"objective {pct(objective, 2)}", "g-objective")],
                     lambda v: pct(v, 2), include=(1.0,))
    budget = line_chart("Error budget left", [Series("budget left", [(p.t, p.budget) for p in history], "s-budget")],
                        [Guide(0.0, "exhausted", "g-zero")], lambda v: pct(v, 0), include=(0.0, 1.0))
    burn = line_chart("Fastest burn rate", [Series("burn", [(p.t, p.burn) for p in history], "s-burn")],
                      [Guide(1.0, "1× = budget spent exactly over the window", "g-one")], lambda v: f"{v:g}×",
                      include=(0.0, 2.0))
    return sli + budget + burn


def _alert_table(alerts: list[dict], table_id: str, empty: str, now: float) -> str:
    if not alerts:
        return f'<p class="muted" id="{table_id}">{empty}</p>'
    rows = []
    for a in sorted(alerts, key=lambda a: a.get("starts_at") or "", reverse=True):
        annotations = a.get("annotations") or {}
        runbook = annotations.get("runbook_url")
        link = f' <a href="{escape(runbook)}">runbook</a>' if runbook else ""
        ended = f" → {when_text(a['ends_at'], now)}" if a.get("ends_at") else ""
        rows.append(f'<tr data-alert="{escape(a["id"])}"><td>{severity_chips([a.get("severity", "alert")])}</td>'
                    f'<td>{escape(a.get("type", ""))}</td><td>{escape(annotations.get("summary", a.get("rule", "")))}{link}</td>'
                    f'<td class="num">{when_text(a.get("starts_at"), now)}{ended}</td></tr>')
    return (f'<table id="{table_id}"><thead><tr><th>Severity</th><th>Type</th><th>Summary</th>'
            f'<th class="num">Since (event time)</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _resolved(alerts: list[dict]) -> list[dict]:
    return [a for a in alerts if a.get("status") == "resolved"]


def _windows_table(status: dict) -> str:
    windows = status.get("windows") or []
    if not windows:
        return '<p class="muted">No alert window has data yet.</p>'
    rows = "".join(f'<tr><td>{escape(w["window"])}</td><td class="num">{attainment_text(status, w["sli"])}</td>'
                   f'<td class="num">{burn_text({"windows": [w]})}</td></tr>' for w in windows)
    return f'<table><thead><tr><th>Window</th><th class="num">SLI</th><th class="num">Burn rate</th></tr></thead><tbody>{rows}</tbody></table>'


def _periods_table(status: dict) -> str:
    rows = "".join(f'<tr><td>{escape(p.get("period", ""))}</td>'
                   f'<td class="num">{attainment_text(status, p.get("attainment"))}</td>'
                   f"<td>{budget_bar(p.get('budget_remaining_ratio'))}</td></tr>" for p in status.get("periods") or [])
    if not rows:
        return '<p class="muted">No events counted yet.</p>'
    return f'<table><thead><tr><th>Period</th><th class="num">Attainment</th><th>Budget left</th></tr></thead><tbody>{rows}</tbody></table>'


def not_found_page(key: str, refresh_s: int, meta: str) -> str:
    return page("not found · slawatch status",
                f'<p class="empty-state">No SLO with key {escape(key)} has sent a status. <a href="/">All SLOs</a></p>',
                refresh_s, meta)
