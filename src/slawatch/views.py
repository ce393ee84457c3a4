"""Human-readable views of alert and status records, for `slawatch alerts tail` and `slawatch status`.

Pure formatting of the JSON payloads documented in topics/: the same records other services consume.
"""

from __future__ import annotations


def _pct(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _group(payload: dict) -> str:
    group = payload.get("group")
    return "" if not group else " " + ",".join(f"{k}={v}" for k, v in group.items())


def alert_line(payload: dict, update: bool = False) -> str:
    """`10:12:05 FIRING   page    search-availability  burn 38.0x over 2m, 49.0x over 10s; budget 71% left`."""
    when = (payload.get("ends_at") if payload.get("status") == "resolved" else payload.get("starts_at")) or ""
    clock = when[11:19] if len(when) >= 19 else when
    burns = ", ".join(
        f"{w['burn_rate']:.1f}x over {w['window']}" for w in payload.get("windows") or [] if w.get("burn_rate") is not None
    )
    budget = (payload.get("error_budget_remaining") or {}).get("ratio")
    parts = [p for p in (burns and f"burn {burns}", budget is not None and f"budget {budget * 100:.0f}% left") if p]
    exhaustion = payload.get("predicted_exhaustion_at")
    if exhaustion:
        parts.append(f"exhausted at {exhaustion}")
    summary = (payload.get("annotations") or {}).get("summary", "")
    status = "UPDATE" if update else payload.get("status", "?").upper()
    return (f"{clock:8} {status:8} {payload.get('severity', '?'):7} "
            f"{payload.get('slo', '?')}{_group(payload)}  [{payload.get('type', '?')}] "
            f"{'; '.join(parts) or summary}  id={payload.get('id', '?')}")


def status_table(statuses: list[dict]) -> str:
    """One row per SLO (and group): objective, attainment and budget left per period, alerts firing."""
    header = f"{'SLO':36} {'objective':>9}  {'period':8} {'attainment':>10} {'budget left':>11}  firing"
    rows = [header, "-" * len(header)]
    for s in sorted(statuses, key=lambda p: (p.get("slo", ""), str(p.get("group")))):
        periods = s.get("periods") or [{}]
        for i, period in enumerate(periods):
            name = (s.get("slo", "?") + _group(s)) if i == 0 else ""
            objective = _pct(s.get("objective"), 2) if i == 0 else ""
            firing = str(len(s.get("firing") or [])) if i == 0 else ""
            rows.append(f"{name:36} {objective:>9}  {period.get('period', '-'):8} "
                        f"{_pct(period.get('attainment')):>10} {_pct(period.get('budget_remaining_ratio'), 1):>11}  {firing}")
    return "\n".join(rows)
