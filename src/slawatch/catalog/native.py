"""The native catalogue form, `apiVersion: slawatch/v1`, `kind: Catalog`: services with their SLOs.

    apiVersion: slawatch/v1
    kind: Catalog
    services:
      - name: checkout
        owner: team-shop
        slos:
          - name: checkout-availability
            objective: 99.9            # percent
            sli: {availability: {}}
            windows: [28d]

The full schema is in docs/catalogue.md. This module reads services; native_slo reads each SLO.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slawatch.catalog.common import read_exclusion
from slawatch.catalog.fields import Fields
from slawatch.catalog.native_slo import read_slo
from slawatch.catalog.problems import Report
from slawatch.catalog.yamlpos import Document
from slawatch.core.model import Service, Slo

API_VERSION = "slawatch/v1"
DOCUMENT_KEYS = ("apiVersion", "kind", "services")
SERVICE_KEYS = ("name", "owner", "tier", "description", "runbook_url", "dashboard_url", "exclusions", "slos")


@dataclass
class Located:
    """A model object with the place it was defined, for cross-file checks and summaries."""

    value: Service | Slo
    file: str
    line: int
    path: str


@dataclass
class NativeResult:
    services: list[Located] = field(default_factory=list)
    slos: list[Located] = field(default_factory=list)


def read_document(report: Report, doc: Document, out: NativeResult) -> None:
    """Add the services and SLOs of one `slawatch/v1` document to `out`."""
    top = Fields.of(report, doc.file, "", doc.data, doc.line, DOCUMENT_KEYS)
    if top is None:
        return
    if top.data.get("kind") != "Catalog":
        top.error("kind", f"{top.data.get('kind')!r} is not a slawatch/v1 kind", "kind: Catalog")
        return
    for value, path, line in top.items("services", required=True, hint="a list of services"):
        read_service(report, doc.file, path, value, line, out)


def read_service(report: Report, file: str, path: str, value, line: int, out: NativeResult) -> None:
    f = Fields.of(report, file, path, value, line, SERVICE_KEYS)
    if f is None:
        return
    before = report.error_count
    name = f.text("name", required=True, hint="e.g. checkout")
    exclusions = tuple(read_exclusion(report, file, p, v, ln) for v, p, ln in f.items("exclusions"))
    service = Service(
        name=name or "",
        owner=f.text("owner") or "",
        tier=_tier(f),
        description=f.text("description") or "",
        runbook_url=f.text("runbook_url", hint="a URL") or "",
        dashboard_url=f.text("dashboard_url", hint="a URL") or "",
        exclusions=exclusions,
    )
    slo_items = f.items("slos", hint="a list of SLOs")
    service_ok = report.error_count == before
    if service_ok:
        out.services.append(Located(service, file, f.line, path))
    for slo_value, slo_path, slo_line in slo_items:
        slo = read_slo(report, file, slo_path, slo_value, slo_line, name or "")
        if slo is not None and service_ok:
            out.slos.append(Located(slo, file, slo_line, slo_path))


def _tier(f: Fields) -> str:
    """Tiers are often written as numbers (tier: 1); they are labels, so keep them as text."""
    value = f.data.get("tier")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f.text("tier") or ""
