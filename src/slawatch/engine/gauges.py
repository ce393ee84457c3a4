"""Gauge samples for a scrape-time collector: (metric name, labels, value), names from conventions.

Computed at each group's own watermark (event time), never stored: a scrape reads live state. A
value without data (no SLI, no burn) is left out rather than exported as NaN or 0; time to
exhaustion is +Inf while the budget has data but nothing burns it. Grouped SLOs add
a `group` label ("customer=acme"), bounded by the SLO's max_groups.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from slawatch import conventions as cv
from slawatch.core import evaluate as ev
from slawatch.core.durations import format_duration
from slawatch.core.policies import forecast_window_s
from slawatch.engine.payloads import alert_window_seconds


def period_elapsed(window, now: float) -> float:
    """Share of the compliance period gone at `now`: a rolling window is always a full one."""
    start, end, _ = ev.compliance_interval(window, now)
    return min(1.0, max(0.0, (now - start) / (end - start))) if end > start else 1.0


def slo_gauges(rt) -> Iterator[tuple[str, dict[str, str], float]]:
    slo = rt.slo
    yield cv.METRIC_OBJECTIVE_RATIO, {"slo": slo.name}, slo.objective
    alert_windows = alert_window_seconds(slo)
    firing = {(a.group, a.condition.id): a for a in rt.book.firing(all_groups=True)}
    for group, state in rt.groups():
        base = {"slo": slo.name}
        if group is not None and slo.group_by is not None:
            base[cv.LABEL_GROUP] = f"{slo.group_by.dimension.value}={group}"
        now = state.watermark
        if now != -math.inf:
            for seconds in alert_windows:
                labels = {**base, "window": format_duration(seconds)}
                sli = ev.sli(state, seconds, now)
                if sli is not None:
                    yield cv.METRIC_SLI_RATIO, labels, sli
                    yield cv.METRIC_BURN_RATE, labels, ev.burn_rate(sli, slo.objective)
            for index, window in enumerate(slo.windows):
                status = ev.budget(state, window, now, burn_window_s=forecast_window_s(slo))
                if status.remaining is not None:
                    att = ev.attainment(state, window, now)
                    yield cv.METRIC_SLI_RATIO, {**base, "window": window.name}, att.sli
                    yield cv.METRIC_BUDGET_REMAINING_RATIO, {**base, "period": window.name}, status.remaining
                    yield cv.METRIC_PERIOD_ELAPSED_RATIO, {**base, "period": window.name}, period_elapsed(window, now)
                if index == 0 and status.remaining is not None:  # +Inf: not burning, never runs out
                    exhausted = status.exhausted_in_s
                    yield cv.METRIC_TIME_TO_EXHAUSTION, dict(base), math.inf if exhausted is None else exhausted
        for rule in slo.alerting.burn_rate_rules:
            alert = firing.pop((group, rule.name), None)
            yield cv.METRIC_ALERT_FIRING, {**base, "rule": rule.name, "severity": rule.severity.value}, float(alert is not None)
    for (group, rule), alert in firing.items():
        labels = {"slo": slo.name, "rule": rule, "severity": alert.condition.severity}
        if group is not None and slo.group_by is not None:
            labels[cv.LABEL_GROUP] = f"{slo.group_by.dimension.value}={group}"
        yield cv.METRIC_ALERT_FIRING, labels, 1.0
