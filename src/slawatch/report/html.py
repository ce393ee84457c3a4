"""The report as one self-contained HTML file: inline CSS (screen and print), charts as inline SVG
(report.charts), no script, nothing fetched. Built from the JSON document, like the Markdown."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from html import escape

from slawatch.report.build import day_dates
from slawatch.report.markdown import alert_counts, by_slo
from slawatch.report.text import contributors_text, duration, group_label, number, pct, points, when

CSS = """
:root { --ink: #1a1a1a; --muted: #5f5f5f; --rule: #d0d0d0; --bad: #b2182b; --good: #1b7837; --warn: #b35806; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0 auto;
       max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 16px; margin: 18px 0 6px; }
p.meta { color: var(--muted); margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { font-weight: 600; border-bottom: 1px solid var(--ink); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.state { font-weight: 600; white-space: nowrap; }
.state-missed, .no { color: var(--bad); } .state-attained, .yes { color: var(--good); }
.state-at-risk { color: var(--warn); }
ol.actions { padding-left: 22px; } ol.actions li { margin: 0 0 10px; }
.sev { display: inline-block; min-width: 64px; font-size: 11px; font-weight: 700; text-transform: uppercase;
       border: 1px solid currentColor; border-radius: 3px; padding: 0 4px; margin-right: 6px; text-align: center; }
.sev-critical { color: var(--bad); } .sev-high { color: var(--warn); } .sev-medium { color: #1f4e79; }
.sev-low { color: var(--muted); }
ul.evidence { margin: 4px 0 0; color: #333; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; }
.chart svg { width: 100%; height: auto; }
section.slo { break-inside: avoid-page; }
section.actions { break-before: page; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  table { font-size: 9px; } th, td { white-space: nowrap; padding: 2px 5px; }
  td:last-child, ul.evidence, ol.actions { white-space: normal; }
  @page { size: A4; margin: 14mm 12mm; }
  h2 { break-after: avoid; } table, .chart, li { break-inside: avoid; }
  section.slo { break-before: page; }
  a { color: inherit; text-decoration: none; }
}
"""


def _cells(*values, num: tuple[int, ...] = ()) -> str:
    return "".join(f'<td class="num">{escape(str(v))}</td>' if i in num else f"<td>{escape(str(v))}</td>"
                   for i, v in enumerate(values))


def _table(header: list[str], rows: list[str], num: tuple[int, ...] = (), cls: str = "") -> str:
    head = "".join(f'<th class="num">{escape(h)}</th>' if i in num else f"<th>{escape(h)}</th>" for i, h in enumerate(header))
    body = "".join(f"<tr>{r}</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _attained(value) -> str:
    if value is None:
        return "<td>no data</td>"
    return '<td class="yes">yes</td>' if value else '<td class="no">no</td>'


def actions_html(doc: dict) -> str:
    if not doc["actions"]:
        return "<p>Nothing to act on: every agreement was met, none is at risk, the telemetry is sound.</p>"
    items = []
    for a in doc["actions"]:
        evidence = "".join(f"<li>{escape(e)}</li>" for e in a["evidence"])
        items.append(f'<li data-rule="{escape(a["rule"])}"><span class="sev sev-{escape(a["severity"])}">'
                     f'{escape(a["severity"])}</span><strong>{escape(a["title"])}</strong>'
                     f'<ul class="evidence">{evidence}</ul></li>')
    return f'<ol class="actions" id="actions">{"".join(items)}</ol>'


def agreements_html(doc: dict) -> str:
    rows = []
    for s in doc["slos"]:
        for p in s["periods"] + s["rolling"]:
            b = p["budget"]
            rows.append(_cells(s["slo"], group_label(s["dimension"], s["group"]) or "–", p["window"], p["period"],
                               p["status"], pct(p["sli"]), pct(s["objective"]), num=(5, 6)) + _attained(p["attained"])
                        + _cells(pct(b["used_ratio"], 1), number(b["remaining_minutes"]), num=(0, 1)))
    return _table(["SLO", "group", "window", "period", "status", "SLI", "objective", "attained", "budget used",
                   "left (min)"], rows, num=(5, 6, 8, 9), cls="agreements")


def customers_html(doc: dict) -> str:
    if not doc["customers"]:
        return ""
    rows = [f'{_cells(c["slo"], c["customer"], c["period"])}<td class="state state-{c["state"].replace(" ", "-")}">'
            f'{escape(c["state"])}</td>{_cells(pct(c["sli"]), points(c["margin"]), pct(c["budget_remaining_ratio"], 1), num=(0, 1, 2))}'
            for c in doc["customers"]]
    return ("<h2>Customers of contractual SLAs</h2>"
            + _table(["SLA", "customer", "period", "state", "SLI", "margin", "budget left"], rows, num=(4, 5, 6),
                     cls="customers"))


def _summed_days(parts: list[dict]) -> list[dict]:
    by: dict[str, list[dict]] = defaultdict(list)
    for s in parts:
        for d in s["days"]:
            by[d["date"]].append(d)
    out = []
    for text in sorted(by):
        good, total = sum(d["good"] for d in by[text]), sum(d["total"] for d in by[text])
        out.append({"date": text, "sli": good / total if total else None})
    return out


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def slo_charts(doc: dict, slo: str, parts: list[dict]) -> str:
    from slawatch.report import charts

    first = parts[0]
    days = _summed_days(parts)
    whom = " (all customers)" if first["group"] is not None else ""
    out = [charts.sli_per_day_svg(day_dates(days), [d["sli"] for d in days], first["objective"],
                                  f"{slo}: SLI per day{whom}")]
    latest = [(p, s) for s in parts for p in s["periods"]]
    if latest:
        period = max(p["start"] for p, _ in latest)
        candidates = [(p, s) for p, s in latest if p["start"] == period and p["burn_down"]]
        if candidates:
            p, s = min(candidates, key=lambda ps: ps[0]["burn_down"][-1]["remaining_ratio"] or 0)
            who = f", {group_label(s['dimension'], s['group'])} (least left)" if s["group"] is not None else ""
            out.append(charts.burn_down_svg(day_dates(p["burn_down"]), [d["remaining_ratio"] for d in p["burn_down"]],
                                            f"{slo}: error budget {p['period']}{who}"))
    incidents = sorted(((s["group"], i) for s in parts for i in s["incidents"]), key=lambda gi: gi[1]["start"])
    rng = doc["range"]
    timeline = [charts.TimelineIncident(_epoch(i["start"]), _epoch(i["end"]) if i["end"] else None,
                                        f"{group + ': ' if group else ''}{', '.join(i['rules'])}", "page")
                for group, i in incidents]
    out.append(charts.incident_timeline_svg(_epoch(rng["from"]), _epoch(rng["to"]), timeline, f"{slo}: incidents"))
    return '<div class="charts">' + "".join(f'<div class="chart">{svg}</div>' for svg in out) + "</div>"


def slo_html(doc: dict, slo: str, parts: list[dict]) -> str:
    first = parts[0]
    kind = "SLA" if first["contractual"] else "SLO"
    rows = []
    for s in parts:
        t = s["totals"]
        rows.append(_cells(group_label(s["dimension"], s["group"]) or "–", number(t["good"]), number(t["total"]),
                           pct(t["sli"]), number(t["excluded_events"]), duration(t["excluded_seconds"]),
                           duration(t["no_data_seconds"]), number(t["refused_events"]), number(t["dead_letters"]),
                           num=(1, 2, 3, 4, 5, 6, 7, 8)))
    totals = _table(["group", "good", "total", "SLI", "excluded events", "excluded time", "no data", "refused",
                     "dead letters"], rows, num=(1, 2, 3, 4, 5, 6, 7, 8))
    incidents = sorted(((s["group"], i) for s in parts for i in s["incidents"]), key=lambda gi: (gi[1]["start"], gi[0] or ""))
    rows = [_cells(when(i["start"]), when(i["end"]), duration(i["duration_s"]), group or "–", ", ".join(i["rules"]),
                   contributors_text(i["contributors"]), num=(2,)) for group, i in incidents]
    table = (_table(["start", "end", "duration", "group", "pages", "top contributors"], rows, num=(2,))
             if rows else "<p>Nobody was paged in the range.</p>") + f'<p class="meta">{escape(alert_counts(parts))}</p>'
    return (f'<section class="slo" data-slo="{escape(slo)}"><h2>{kind} {escape(slo)}</h2>'
            f'<p class="meta">Service {escape(first["service"])}, objective {pct(first["objective"])} of '
            f'{escape(first["unit"])}.</p>{slo_charts(doc, slo, parts)}<h3>Range totals</h3>{totals}'
            f'<h3>Incidents (overlapping pages taken together)</h3>{table}</section>')


def traffic_html(doc: dict) -> str:
    from slawatch.report import charts
    from slawatch.report.forecast import Forecast

    out = [f"<h2>Demand</h2><p class=\"meta\">Events per day and the forecast of the next 30 days; a service is "
           f"flagged when its forecast grows more than {pct(doc['growth_threshold'], 0)}.</p>"]
    svgs = []
    for t in doc["traffic"]:
        f = t["forecast"]
        forecast = Forecast(tuple(f["mean"]), tuple(f["lower"]), tuple(f["upper"]), f["growth_ratio"], f["method"],
                            f["level"]) if f else None
        flag = " (flagged)" if t["flagged"] else ""
        svgs.append(charts.traffic_svg(day_dates(t["days"]), [d["events"] for d in t["days"]], forecast,
                                       f"{t['service']}: events per day{flag}"))
    out.append('<div class="charts">' + "".join(f'<div class="chart">{svg}</div>' for svg in svgs) + "</div>")
    return "".join(out)


def portfolio_html(p: dict) -> str:
    parts = ["<h2>Portfolio</h2>"]
    for title, key in (("Agreements per owner", "by_owner"), ("Agreements per tier", "by_tier")):
        rows = [_cells(r["name"], r["met"], r["missed"], r["running"], r["periods"], num=(1, 2, 3, 4)) for r in p[key]]
        parts.append(f"<h3>{title}</h3>" + _table(["", "met", "missed", "running", "periods"], rows, num=(1, 2, 3, 4)))
    rows = [_cells(b["slo"], b["service"], pct(b["worst_used_ratio"], 1), pct(b["mean_used_ratio"], 1), b["groups"],
                   num=(2, 3, 4)) for b in p["budget_spent"]]
    parts.append("<h3>Budget spent in the last period</h3>"
                 + _table(["SLO", "service", "worst", "mean", "groups"], rows, num=(2, 3, 4)))
    rows = [_cells(t["slo"], t["window"], ", ".join(f"{r['period']} {r['met']}/{r['groups']}"
                                                   + ("" if r["final"] else " (running)") for r in t["periods"]))
            for t in p["trend"]]
    parts.append(f"<h3>Trend over the last {p['periods']} periods</h3>" + _table(["SLO", "window", "groups met"], rows))
    rows = [_cells(w["slo"], group_label(w["dimension"], w["group"]) or "–", w["period"], pct(w["sli"]),
                   pct(w["used_ratio"], 1), num=(3, 4)) for w in p["worst"]]
    parts.append("<h3>The worst five</h3>" + _table(["SLO", "group", "period", "SLI", "budget used"], rows, num=(3, 4)))
    return "".join(parts)


def render_html(doc: dict) -> str:
    r = doc["range"]
    body = [f"<h1>{escape(doc['title'])}</h1>",
            f'<p class="meta">{r["from"][:10]} to {r["to"][:10]} (UTC, {r["days"]} days). Data until '
            f'{escape(when(doc["data_until"]))}. Source: {escape(doc["source"])}.</p>']
    if "portfolio" in doc:
        body.append(portfolio_html(doc["portfolio"]))
    body += ["<h2>Agreements</h2>", agreements_html(doc), customers_html(doc)]
    body += [slo_html(doc, slo, parts) for slo, parts in sorted(by_slo(doc).items())]
    body += [traffic_html(doc), '<section class="actions"><h2>Review actions</h2>', actions_html(doc), "</section>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escape(doc['title'])}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
