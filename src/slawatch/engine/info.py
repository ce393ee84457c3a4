"""What each SLO promises, as the labels of one info series (slawatch_slo_info = 1), and the
factor of each of its burn-rate rules (slawatch_burn_rate_threshold), to draw beside the burn rates.

Dashboards need the objective, the primary window and the owner next to the live figures; Pyrra's
users asked for exactly that (pyrra#942). The labels come from the catalogue alone, so the series
exists from the first scrape, before the SLO has seen an event. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from slawatch.conventions import METRIC_BURN_RATE_THRESHOLD, METRIC_SLO_INFO, SLO_INFO_LABELS
from slawatch.core.durations import format_duration
from slawatch.core.model import Catalog, Slo


def objective_percent(objective: float) -> str:
    """0.999 -> '99.9', as the catalogue writes it (the ratio is slawatch_objective_ratio)."""
    return f"{round(objective * 100, 6):g}"


def slo_info_labels(catalog: Catalog, slo: Slo) -> dict[str, str]:
    service = catalog.service(slo.service)
    labels = {
        "slo": slo.name,
        "service": slo.service,
        "objective": objective_percent(slo.objective),
        "window": slo.windows[0].name,
        "sli": slo.sli.kind.value,
        "owner": service.owner if service else "",
        "tier": service.tier if service else "",
    }
    assert tuple(labels) == SLO_INFO_LABELS
    return labels



def burn_rate_thresholds(slo: Slo) -> Iterator[tuple[str, dict[str, str], float]]:
    """(metric, labels, factor) per burn-rate rule; the windows are named as slawatch_burn_rate's."""
    for rule in slo.alerting.burn_rate_rules:
        labels = {"slo": slo.name, "rule": rule.name, "severity": rule.severity.value,
                  "long_window": format_duration(rule.long_window_s), "short_window": format_duration(rule.short_window_s)}
        yield METRIC_BURN_RATE_THRESHOLD, labels, rule.factor


def slo_info_samples(catalog: Catalog, slos: Iterable[str]) -> Iterator[tuple[str, dict[str, str], float]]:
    """Info and burn-rate thresholds of each named SLO of the catalogue, in catalogue order."""
    wanted = set(slos)
    for slo in catalog.slos:
        if slo.name in wanted:
            yield METRIC_SLO_INFO, slo_info_labels(catalog, slo), 1.0
            yield from burn_rate_thresholds(slo)
