"""`slawatch catalog validate PATH...`: every problem, or a short summary of what loaded.

Exit status 0 when the catalogue loads (notes may still be printed), 1 on any error, so CI can gate
catalogue changes on it.
"""

from __future__ import annotations

import sys
from typing import TextIO

from slawatch.catalog import inspect_paths
from slawatch.catalog.common import window_label
from slawatch.core.durations import format_duration
from slawatch.core.model import Slo, SliKind


def describe_sli(slo: Slo) -> str:
    sli = slo.sli
    if sli.kind == SliKind.AVAILABILITY:
        return "availability"
    if sli.kind == SliKind.LATENCY_THRESHOLD:
        return f"latency <= {sli.threshold_ms:g} ms (errors: {sli.errors.value})"
    return f"p{sli.percentile:g} <= {sli.threshold_ms:g} ms per {format_duration(slo.budgeting.timeslice_s or 0)}"


def describe_slo(slo: Slo) -> list[str]:
    head = f"  {slo.name}: {describe_sli(slo)}, objective {slo.objective * 100:g} %, " \
           f"{slo.budgeting.method.value}, windows {', '.join(window_label(w) for w in slo.windows)}"
    extras = [x for x in (
        "contractual" if slo.contractual else "",
        f"group by {slo.group_by.dimension.value} (max {slo.group_by.max_groups})" if slo.group_by else "",
        f"{len(slo.exclusions)} exclusion(s)" if slo.exclusions else "",
        f"min {slo.alerting.min_events} events" if slo.alerting.min_events else "",
    ) if x]
    lines = [head + (f" [{'; '.join(extras)}]" if extras else "")]
    for r in slo.alerting.burn_rate_rules:
        lines.append(f"    {r.severity.value:<6} {r.name}: burn >= {r.factor:.4g} over "
                     f"{format_duration(r.long_window_s)} and {format_duration(r.short_window_s)} "
                     f"({r.budget_percent:.4g} % of budget)")
    return lines


def run_validate(paths: list[str], out: TextIO = sys.stdout) -> int:
    result = inspect_paths(paths)
    for problem in result.problems:
        print(problem, file=out)
    if result.errors:
        print(f"{len(result.errors)} error(s), {len(result.notes)} note(s): catalogue not loaded", file=out)
        return 1
    catalog = result.catalog
    print(f"ok: {len(catalog.service_names)} service(s), {len(catalog.slos)} SLO(s)"
          + (f", {len(result.notes)} note(s)" if result.notes else ""), file=out)
    for name in sorted(catalog.service_names):
        service = catalog.service(name)
        owner = f" (owner {service.owner})" if service and service.owner else ""
        print(f"{name}{owner}", file=out)
        for slo in catalog.slos_for(name):
            for line in describe_slo(slo):
                print(line, file=out)
    return 0


if __name__ == "__main__":  # pragma: no cover - the lead wires `slawatch catalog validate`
    raise SystemExit(run_validate(sys.argv[1:]))
