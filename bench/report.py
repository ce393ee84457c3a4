"""Ratios, targets (issue 4, printed beside each figure, never asserted) and the printed table."""

from __future__ import annotations

import peer_bench
import startup_bench

KIB = 1024


def _get(results: dict, key: str, field: str):
    value = results.get(key, {})
    return None if not isinstance(value, dict) else value.get(field)


def _ratio(num, den):
    return None if num is None or not den else num / den


def ratios_and_targets(results: dict) -> tuple[dict, dict]:
    a = _get(results, "a", "events_per_s")
    a100 = _get(results, "a100", "events_per_s")
    b = _get(results, "b", "records_per_s")
    b2 = _get(results, "b2", "events_per_s")
    c1 = _get(results, "c1", "events_per_s")
    c100 = _get(results, "c100", "events_per_s")
    ef = results.get("ef", {}) if isinstance(results.get("ef"), dict) else {}
    d = results.get("d", {}) if isinstance(results.get("d"), dict) else {}
    ratios = {
        "c100/a": _ratio(c100, a), "c1/a": _ratio(c1, a), "c1/b": _ratio(c1, b), "c100/b2": _ratio(c100, b2),
        "c100/a100": _ratio(c100, a100),
    }
    p99 = d.get("p99_ms") if d.get("available") else None
    engine = results.get("engine", {}) if isinstance(results.get("engine"), dict) else {}
    cases = {case: engine.get(case, {}) if engine.get("available") else {} for case in ("burning", "healthy")}
    startup = results.get("g", {}) if isinstance(results.get("g"), dict) else {}
    targets = {
        "c100 >= 0.5 x a": _verdict(ratios["c100/a"], lambda r: r >= 0.5),
        "c1 >= 0.9 x b": _verdict(ratios["c1/b"], lambda r: r >= 0.9),
        "d p99 < 250 ms": _verdict(p99, lambda v: v < 250),
        "e state <= 64 KiB (30-day availability, full month)": _verdict(ef.get("state_bytes_busy"), lambda v: v <= 64 * KIB),
        "f evaluate 10,000 SLOs < 100 ms": _verdict(ef.get("evaluate_10k_ms"), lambda v: v < 100),
        **{f"f Engine.evaluate 10,000 SLOs ({case}) < 100 ms": _verdict(e.get("evaluate_10k_ms"), lambda v: v < 100)
           for case, e in cases.items()},
        **{f"f quiet SLOs ({case}) <= 2 us each": _verdict(_quiet_us(e), lambda v: v <= 2) for case, e in cases.items()},
        "e RSS per held SLO <= 2 x its checkpoint (SloState)": _verdict(ef.get("rss_per_checkpoint"), lambda v: v <= 2),
        **{f"e RSS per held SLO <= 2 x its checkpoint (Engine, {case})": _verdict(e.get("rss_per_checkpoint"),
                                                                                 lambda v: v <= 2)
           for case, e in cases.items()},
        "g start-up, 10,000 SLOs (load + validate, native and OpenSLO) < 3 s": _verdict(
            max((startup.get(form) or {}).get("load_s") or 0 for form in ("native", "openslo")) or None, lambda v: v < 3),
    }
    return ratios, targets


def _quiet_us(case: dict) -> float | None:
    """Microseconds per quiet SLO on the wall-clock timer (no events since its last decision)."""
    if "quiet_tick_10k_ms" not in case:
        return None
    return case["quiet_tick_10k_ms"] * 1000 / case["slos"]


def _verdict(value, test) -> str:
    return "n/a" if value is None else ("met" if test(value) else "missed")


def _rate(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _row(label: str, figure: str, note: str = "") -> str:
    return f"  {label:44s} {figure:>22s}  {note}"


def table(doc: dict) -> str:
    r, ratios, targets = doc["results"], doc["ratios"], doc["targets"]
    lines = [f"\nslawatch bench  {doc['date']}  {doc['machine']['cores']} cores  Python {doc['machine']['python']}", ""]

    def failed(key):
        value = r.get(key)
        if value is None:
            return "not run"
        return value.get("error") if isinstance(value, dict) and "error" in value else None

    for key, label, field, unit in [
        ("a", "(a) raw getmany, 1 event/record", "records_per_s", "records/s = events/s"),
        ("a100", "(a100) raw getmany, 100 events/record", "records_per_s", "records/s"),
        ("b", "(b) bare Faust agent, count records", "records_per_s", "records/s"),
        ("b2", "(b2) bare Faust, orjson 100-event records", "events_per_s", "events/s"),
        ("c1", "(c1) slawatch worker, 1 event/record", "events_per_s", "events/s"),
        ("c100", "(c100) slawatch worker, 100 events/record", "events_per_s", "events/s"),
        ("c100live", "(c100live) the same, live-stamped: decisions", "events_per_s", "events/s"),
    ]:
        problem = failed(key)
        if problem:
            lines.append(_row(label, "-", problem))
            continue
        extra = ""
        if key == "a100":
            extra = f"({_rate(r[key]['events_per_s'])} events/s)"
        elif key in ("c1", "c100", "c100live"):
            extra = f"(ready {r[key]['ready_s']:.1f} s, {r[key]['seconds']:.2f} s timed, CPU {r[key].get('worker_cpu_share')}, RSS {r[key]['worker_peak_rss_mib']} MiB)"
        elif key == "b2":
            extra = f"({_rate(r[key]['records_per_s'])} records/s)"
        lines.append(_row(label, f"{_rate(r[key][field])} {unit}", extra))
    d = r.get("d")
    if not isinstance(d, dict) or "error" in d:
        lines.append(_row("(d) page detection latency", "-", failed("d") or ""))
    elif not d.get("available"):
        lines.append(f"  (d) not available: the worker emits no alerts yet ({d.get('reason')})")
    else:
        lines.append(_row("(d) page detection latency p50 / p99", f"{d['p50_ms']:.0f} / {d['p99_ms']:.0f} ms",
                          f"({d['alerts']} of {d['trials']} alerts)  target p99 < 250 ms: {targets['d p99 < 250 ms']}"))
    ef = r.get("ef")
    if not isinstance(ef, dict) or "error" in ef:
        lines.append(_row("(e)/(f)", "-", failed("ef") or ""))
    else:
        t_e = targets["e state <= 64 KiB (30-day availability, full month)"]
        lines.append(_row("(e) state, 30-day SLO, month of traffic", f"{ef['state_bytes_month']:,} bytes",
                          f"every bucket filled: {ef['state_bytes_busy']:,} bytes; target <= 64 KiB: {t_e}"))
        lines.append(_row("    latency-percentile SLO, month", f"{ef['state_bytes_latency_percentile_month']:,} bytes",
                          "(sketches; not the target's SLO kind)"))
        lines.append(_row("(e) RSS holding 10,000 SLO states", f"{ef['rss_10k_mib']:,.0f} MiB",
                          f"({ef['rss_per_slo_kib']:.1f} KiB per SLO; {ef['rss_before_mib']} MiB before)"))
        if "rss_per_checkpoint" in ef:
            lines.append(_row("    RSS per SLO / its checkpoint", f"{ef['rss_per_checkpoint']:.2f} x",
                              f"({ef['rss_per_slo_bytes']:,.0f} / {ef['checkpoint_bytes']:,} bytes)  target <= 2: "
                              f"{targets['e RSS per held SLO <= 2 x its checkpoint (SloState)']}"))
        lines.append(_row("(f) evaluate 10,000 SLOs", f"{ef['evaluate_10k_ms']:.0f} ms",
                          f"({ef['rules_per_slo']} rules x 2 burn rates + budget each)  target < 100 ms: "
                          f"{targets['f evaluate 10,000 SLOs < 100 ms']}"))
    engine = r.get("engine")
    if not isinstance(engine, dict) or "error" in engine or not engine.get("available"):
        reason = failed("engine") or (engine or {}).get("reason")
        lines.append(f"  (f) Engine.evaluate not measured: {reason}")
    else:
        for case in ("burning", "healthy"):
            e = engine[case]
            lines.append(_row(f"(f) Engine.evaluate, 10,000 SLOs, {case}", f"{e['evaluate_10k_ms']:.0f} ms",
                              f"({e['alert_records']:,} alert records; nothing new: {e['evaluate_10k_nothing_new_ms']:.0f} ms)"
                              f"  target < 100 ms: {'met' if e['evaluate_10k_ms'] < 100 else 'missed'}"))
            if "quiet_tick_10k_ms" in e:
                per_slo_us = _quiet_us(e)
                lines.append(_row(f"(f) quiet SLOs on the wall-clock timer, 10,000, {case}",
                                  f"{e['quiet_tick_10k_ms']:.1f} ms per tick",
                                  f"({per_slo_us:.2f} µs per SLO; first tick, catching up a minute: "
                                  f"{e['quiet_catch_up_10k_ms']:.0f} ms)  target <= 2 µs per SLO: "
                                  f"{'met' if per_slo_us <= 2 else 'missed'}"))
            if "rss_per_checkpoint" in e:
                lines.append(_row(f"(e) RSS per SLO / checkpoint, Engine, {case}", f"{e['rss_per_checkpoint']:.2f} x",
                                  f"({e['rss_per_slo_bytes']:,.0f} / {e['checkpoint_bytes']:,} bytes; "
                                  f"{e['rss_10k_mib']:,.0f} MiB for 10,000)  target <= 2: "
                                  f"{'met' if e['rss_per_checkpoint'] <= 2 else 'missed'}"))
    g = r.get("g")
    if isinstance(g, dict) and "error" not in g:
        lines += startup_bench.table_lines(g)
    else:
        lines.append(_row("(g) start-up, 10,000 SLOs", "-", failed("g") or ""))
    lines += ["", "  ratios (target beside):"]
    notes = {"c100/a": f"target >= 0.5: {targets['c100 >= 0.5 x a']}", "c1/b": f"target >= 0.9: {targets['c1 >= 0.9 x b']}",
             "c100/b2": "share of a bare batched Faust agent's rate", "c1/a": "", "c100/a100": "vs raw batched records"}
    for name, value in ratios.items():
        lines.append(_row(f"    ({name.replace('/', ')/(')})", "-" if value is None else f"{value:.3f}", notes[name]))
    lines += ["", "  targets (issues 4 and 12; printed, never asserted):"]
    lines += [f"    {verdict:7s} {name}" for name, verdict in targets.items()]
    for key, name in (("profile", "c100"), ("profile_c1", "c1")):
        prof = r.get(key)
        if isinstance(prof, dict) and "error" not in prof:
            lines += ["", f"  profile of the worker on ({name}), py-spy, {prof['samples']:,} samples ({prof['folded']}):",
                      "    self time:"] + [f"      {pct:5.1f} %  {f}" for f, pct in prof["self_pct"][:12]]
            lines += ["    inclusive:"] + [f"      {pct:5.1f} %  {f}" for f, pct in prof["inclusive_pct"][:20]]
        elif isinstance(prof, dict):
            lines += ["", f"  profile of ({name}) failed: {prof['error']}"]
    peer = r.get("peer")
    if isinstance(peer, dict) and "error" not in peer:
        lines += ["", *peer_bench.table_lines(peer, r.get("d") if isinstance(r.get("d"), dict) else None)]
    elif isinstance(peer, dict):
        lines += ["", f"  peer (Sloth's rules on Prometheus) failed: {peer['error']}"]
    core = r.get("core")
    if isinstance(core, dict) and core.get("lines"):
        lines += ["", "  engine micro-benchmark (bench/core_bench.py):"] + [f"    {line}" for line in core["lines"]]
    return "\n".join(lines)
