"""Shared builders for the engine tests: one valid SLO and catalogue to start from."""

from __future__ import annotations

from dataclasses import replace

from slawatch.core.model import AlertPolicy, BurnRateRule, Catalog, EventMatch, RollingWindow, Service, Severity, Sli, SliKind, Slo

BASE = 1_767_571_200.0  # 2026-01-05T00:00:00Z
PAGE = BurnRateRule("page-fast", Severity.PAGE, 120, 10, 2.0, 14.4)
TICKET = BurnRateRule("ticket-fast", Severity.TICKET, 2880, 240, 10.0, 3.0)


def make_slo(**changes) -> Slo:
    slo = Slo(
        name="api-availability",
        match=EventMatch(service="api"),
        sli=Sli(SliKind.AVAILABILITY),
        objective=0.99,
        windows=(RollingWindow(86400),),
        alerting=AlertPolicy((PAGE, TICKET), min_events=0),
    )
    return replace(slo, **changes)


def make_catalog(*slos: Slo) -> Catalog:
    slos = slos or (make_slo(),)
    services = tuple(Service(name, runbook_url=f"https://runbooks.example.com/{name}") for name in sorted({s.service for s in slos}))
    return Catalog(services, slos)
