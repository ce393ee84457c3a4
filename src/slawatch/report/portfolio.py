"""`slawatch report --portfolio`: one page over every service.

- agreements met per owner (team) and per tier: the calendar periods of the range, one per SLO and
  group, counted as met, missed or still running;
- budget spent per SLO in the range's last period (a grouped SLO: its worst group and the mean);
- the trend over the last N periods up to the range's end: per SLO and period, how many of its
  groups met the objective and the lowest SLI among them;
- the worst five SLOs (or groups): the most budget used in their last period of the range.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from slawatch.report.period import Range
from slawatch.report.sources import Collected

WORST = 5


def _last_period(section):
    return max(section.periods, key=lambda p: p.start) if section.periods else None


def _tally(found, key) -> list[dict]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"met": 0, "missed": 0, "running": 0})
    for s, owner_tier in found:
        for p in s.periods:
            state = "running" if p.status == "running" else ("met" if p.attained else "missed")
            counts[key(owner_tier) or "(none)"][state] += 1
    return [{"name": name, **c, "periods": sum(c.values())} for name, c in sorted(counts.items())]


def portfolio(collected: Collected, found: Sequence, rng: Range, periods: int) -> dict:
    services = collected.services
    tagged = [(s, services.get(s.service, {})) for s in found]
    budget: dict[str, list[float]] = defaultdict(list)
    for s in found:
        last = _last_period(s)
        if last is not None and last.budget.get("used_ratio") is not None:
            budget[s.slo].append(last.budget["used_ratio"])
    worst = sorted(((s, _last_period(s)) for s in found if _last_period(s) is not None
                    and _last_period(s).budget.get("used_ratio") is not None),
                   key=lambda sp: -sp[1].budget["used_ratio"])[:WORST]
    return {
        "periods": periods,
        "by_owner": _tally(tagged, lambda info: info.get("owner")),
        "by_tier": _tally(tagged, lambda info: info.get("tier")),
        "budget_spent": [{"slo": slo, "service": next(s.service for s in found if s.slo == slo),
                          "worst_used_ratio": round(max(used), 6), "mean_used_ratio": round(sum(used) / len(used), 6),
                          "groups": len(used)} for slo, used in sorted(budget.items())],
        "trend": _trend(collected, rng, periods),
        "worst": [{"slo": s.slo, "group": s.group, "dimension": s.dimension, "period": p.period, "status": p.status,
                   "sli": p.sli, "objective": s.objective, "used_ratio": p.budget["used_ratio"]} for s, p in worst],
    }


def _trend(collected: Collected, rng: Range, periods: int) -> list[dict]:
    """Per SLO and calendar window, its last `periods` periods ending by the range's end."""
    by: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in collected.records:
        if r.kind == "calendar" and r.start < rng.end:
            by[(r.slo, r.window)][r.period].append(r)
    out = []
    for (slo, window), per_period in sorted(by.items()):
        labels = sorted(per_period, key=lambda label: per_period[label][0].start)[-periods:]
        rows = []
        for label in labels:
            found = per_period[label]
            slis = [r.sli for r in found if r.sli is not None]
            rows.append({"period": label, "final": all(r.final for r in found), "groups": len(found),
                         "met": sum(bool(r.attained) for r in found), "lowest_sli": min(slis) if slis else None})
        out.append({"slo": slo, "window": window, "periods": rows})
    return out
