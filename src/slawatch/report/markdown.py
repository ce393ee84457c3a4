"""The report as Markdown (GitHub-flavoured tables), for a wiki page or a ticket. Built from the JSON
document alone, so it says exactly what `--format json` says; stable for the same records."""

from __future__ import annotations

from collections import defaultdict

from slawatch.report.text import contributors_text, duration, group_label, number, pct, points, when


def _row(*cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _table(header: list[str], rows: list[list]) -> list[str]:
    return [_row(*header), _row(*["---"] * len(header)), *(_row(*r) for r in rows)]


def _attained(value) -> str:
    return "no data" if value is None else ("yes" if value else "**no**")


def by_slo(doc: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for s in doc["slos"]:
        out[s["slo"]].append(s)
    return out


def actions_lines(doc: dict) -> list[str]:
    lines = ["## Review actions", ""]
    if not doc["actions"]:
        return lines + ["Nothing to act on: every agreement was met, none is at risk, the telemetry is sound.", ""]
    for a in doc["actions"]:
        lines.append(f"{a['rank']}. **[{a['severity']}] {a['title']}** (`{a['rule']}`)")
        lines += [f"   - {e}" for e in a["evidence"]]
    return lines + [""]


def summary_lines(doc: dict) -> list[str]:
    rows = []
    for s in doc["slos"]:
        for p in s["periods"] + s["rolling"]:
            b = p["budget"]
            rows.append([s["slo"], group_label(s["dimension"], s["group"]) or "-", p["window"], p["period"], p["status"],
                         pct(p["sli"]), pct(s["objective"]), _attained(p["attained"]), pct(b["used_ratio"], 1),
                         number(b["remaining_minutes"])])
    header = ["SLO", "group", "window", "period", "status", "SLI", "objective", "attained", "budget used",
              "budget left (min)"]
    return ["## Agreements", "", *_table(header, rows), ""]


def customer_lines(doc: dict) -> list[str]:
    if not doc["customers"]:
        return []
    rows = [[c["slo"], c["customer"], c["period"], c["state"], pct(c["sli"]), points(c["margin"]),
             pct(c["budget_remaining_ratio"], 1)] for c in doc["customers"]]
    header = ["SLA", "customer", "period", "state", "SLI", "margin", "budget left"]
    return ["## Customers of contractual SLAs", "", *_table(header, rows), ""]


def slo_lines(slo: str, parts: list[dict]) -> list[str]:
    first = parts[0]
    kind = "SLA" if first["contractual"] else "SLO"
    lines = [f"## {kind} {slo}", "", f"Service `{first['service']}`, objective {pct(first['objective'])} of {first['unit']}.", ""]
    rows = []
    for s in parts:
        t = s["totals"]
        rows.append([group_label(s["dimension"], s["group"]) or "-", number(t["good"]), number(t["total"]), pct(t["sli"]),
                     number(t["excluded_events"]), duration(t["excluded_seconds"]), duration(t["no_data_seconds"]),
                     number(t["refused_events"]), number(t["dead_letters"])])
    header = ["group", "good", "total", "SLI", "excluded events", "excluded time", "no data", "refused", "dead letters"]
    lines += ["Range totals (the sum of its days):", "", *_table(header, rows), ""]
    incidents = sorted(((s["group"], i) for s in parts for i in s["incidents"]), key=lambda gi: (gi[1]["start"], gi[0] or ""))
    if incidents:
        rows = [[when(i["start"]), when(i["end"]), duration(i["duration_s"]), group or "-", ", ".join(i["rules"]),
                 contributors_text(i["contributors"])] for group, i in incidents]
        lines += ["Incidents (overlapping pages taken together):", "",
                  *_table(["start", "end", "duration", "group", "pages", "top contributors"], rows), ""]
    else:
        lines += ["Nobody was paged in the range.", ""]
    lines += [alert_counts(parts), ""]
    return lines


def alert_counts(parts: list[dict]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for s in parts:
        for a in s["alerts"]:
            counts[a["severity"]] += 1
    said = ", ".join(f"{counts[k]} {k}" for k in ("page", "ticket", "warning", "breach") if counts[k])
    return f"Alerts sent in the range: {said or 'none'} (each in the JSON)."


def traffic_lines(doc: dict) -> list[str]:
    rows = []
    for t in doc["traffic"]:
        f = t["forecast"]
        recent = sum(d["events"] for d in t["days"][-30:])
        peaks = [d["peak_per_minute"] for d in t["days"] if d["peak_per_minute"] is not None]
        rows.append([t["service"], t["slo"], number(recent), number(max(peaks)) if peaks else "not known",
                     f"{round(f['events_next_period']):,}" if f else "no forecast",
                     pct(t["growth_ratio"] - 1, 1) if t["growth_ratio"] is not None else "-",
                     f["method"] if f else "-", "**yes**" if t["flagged"] else "no"])
    header = ["service", "counted by", "events, last 30 days", "busiest minute", "forecast, next 30 days", "growth",
              "method", "flagged"]
    return [f"## Demand (flagged above {pct(doc['growth_threshold'], 0)} growth)", "", *_table(header, rows), ""]


def portfolio_lines(p: dict) -> list[str]:
    lines = ["## Portfolio", ""]
    for title, key in (("Agreements per owner", "by_owner"), ("Agreements per tier", "by_tier")):
        rows = [[r["name"], r["met"], r["missed"], r["running"], r["periods"]] for r in p[key]]
        lines += [f"{title}:", "", *_table(["", "met", "missed", "running", "periods"], rows), ""]
    rows = [[b["slo"], b["service"], pct(b["worst_used_ratio"], 1), pct(b["mean_used_ratio"], 1), b["groups"]]
            for b in p["budget_spent"]]
    lines += ["Budget spent in the last period:", "",
              *_table(["SLO", "service", "worst", "mean", "groups"], rows), ""]
    rows = [[t["slo"], t["window"], ", ".join(f"{r['period']} {r['met']}/{r['groups']}" + ("" if r["final"] else " (running)")
                                              for r in t["periods"])] for t in p["trend"]]
    lines += [f"Trend over the last {p['periods']} periods (groups that met the objective):", "",
              *_table(["SLO", "window", "periods"], rows), ""]
    rows = [[w["slo"], group_label(w["dimension"], w["group"]) or "-", w["period"], pct(w["sli"]), pct(w["used_ratio"], 1)]
            for w in p["worst"]]
    return lines + ["The worst five:", "", *_table(["SLO", "group", "period", "SLI", "budget used"], rows), ""]


def render_markdown(doc: dict) -> str:
    r = doc["range"]
    lines = [f"# {doc['title']}", "",
             f"{r['from'][:10]} to {r['to'][:10]} (UTC, {r['days']} days). Data until {when(doc['data_until'])}.",
             f"Source: {doc['source']}.", ""]
    if "portfolio" in doc:
        lines += portfolio_lines(doc["portfolio"])
    lines += summary_lines(doc) + customer_lines(doc)
    for slo, parts in sorted(by_slo(doc).items()):
        lines += slo_lines(slo, parts)
    lines += traffic_lines(doc) + actions_lines(doc)  # what happened, why, then what to do
    return "\n".join(lines).rstrip() + "\n"
