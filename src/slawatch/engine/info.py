"""What each SLO promises, as the labels of one info series (slawatch_slo_info = 1).

Dashboards need the objective, the primary window and the owner next to the live figures; Pyrra's
users asked for exactly that (pyrra#942). The labels come from the catalogue alone, so the series
exists from the first scrape, before the SLO has seen an event. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from slawatch.conventions import METRIC_SLO_INFO, SLO_INFO_LABELS
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


def slo_info_samples(catalog: Catalog, slos: Iterable[str]) -> Iterator[tuple[str, dict[str, str], float]]:
    """(metric, labels, 1.0) for each named SLO of the catalogue, in catalogue order."""
    wanted = set(slos)
    for slo in catalog.slos:
        if slo.name in wanted:
            yield METRIC_SLO_INFO, slo_info_labels(catalog, slo), 1.0
