"""The catalogue as `sla.catalog` records (topics/sla.catalog.yaml): one per service, key = name.

Published at worker start to a compacted topic, so any subscriber can learn every service and its
agreed levels without reading YAML.
"""

from __future__ import annotations

from collections.abc import Iterator

from slawatch.core.model import Catalog, Service


def catalog_records(catalog: Catalog) -> Iterator[tuple[str, dict]]:
    names = [s.name for s in catalog.services] + [s.service for s in catalog.slos]
    for name in dict.fromkeys(names):  # every service once, catalogue order
        service = catalog.service(name) or Service(name)
        yield name, {
            "schema_version": 1,
            "service": {
                "name": service.name,
                "owner": service.owner,
                "tier": service.tier,
                "description": service.description,
                "runbook_url": service.runbook_url,
                "dashboard_url": service.dashboard_url,
            },
            "slos": [
                {
                    "name": slo.name,
                    "sli": slo.sli.kind.value,
                    "objective": slo.objective,
                    "windows": [w.name for w in slo.windows],
                    "contractual": slo.contractual,
                }
                for slo in catalog.slos_for(name)
            ],
        }
