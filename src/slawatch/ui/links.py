"""Addresses of the status page's views, shared by the page itself and by what links to it
(the Alertmanager notifier's `generatorURL`), so a link in a page always lands on a page."""

from __future__ import annotations

from urllib.parse import quote

DEFAULT_UI_PORT = 6067


def status_key(slo: str, group: dict | None) -> str:
    """The sla.status key of an SLO (and group): `slo`, or `slo|value` for a grouped SLO."""
    if not group:
        return slo
    return f"{slo}|{next(iter(group.values()))}"


def slo_path(key: str) -> str:
    """The page of one SLO (and group), by its sla.status key."""
    return "/slo/" + quote(key, safe="")
