"""Alert and status payloads, exactly as topics/sla.*.yaml describe them (compliance records: compliance.py).

Numbers are rounded (SLI 6 decimals, burn 4, minutes 2) so payloads are readable, stable in golden
files, and never claim more precision than the windows' bucket edges give.
"""

from __future__ import annotations

from slawatch import conventions as cv
from slawatch.core import evaluate as ev
from slawatch.core.alerts import RESOLVED, UPDATE, Notice
from slawatch.core.durations import format_duration
from slawatch.core.model import Service, Slo
from slawatch.core.policies import BREACH_TYPES, BURN_RATE, Condition
from slawatch.core.slo_state import SloState
from slawatch.engine.records import AlertRecord, StatusRecord, rfc3339

_CE_SPECVERSION = cv.CE_SPECVERSION.encode()


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def group_value(slo: Slo, group: str | None) -> dict | None:
    """The group as payloads carry it ({"customer": "acme"}), None for an ungrouped SLO."""
    return None if group is None or slo.group_by is None else {slo.group_by.dimension.value: group}


def status_key(slo: Slo, group: str | None) -> str:
    """The Kafka key of an SLO's (group's) sla.status record: one compacted entry per SLO and group."""
    return slo.name if group is None else f"{slo.name}|{group}"


def summary(slo: Slo, c: Condition, resolved: bool) -> str:
    if c.type == BURN_RATE and c.windows and c.windows[0].burn_rate is not None:
        text = f"{slo.name} is burning its error budget {min(w.burn_rate or 0 for w in c.windows):.3g}x too fast"
    else:
        text = f"{slo.name}: {c.rule}"
    return f"resolved: {text}" if resolved else text


def alert_record(slo: Slo, service: Service | None, notice: Notice, wall_now: float, source: str,
                 contributors: dict | None) -> AlertRecord:
    c = notice.condition
    resolved = notice.kind == RESOLVED
    status = "resolved" if resolved else "firing"
    labels = {"slo": slo.name, "service": slo.service, "severity": c.severity, "rule": c.id, "type": c.type}
    if slo.labels:
        labels.update(slo.labels)
    group = group_value(slo, notice.group)
    if group:
        labels.update(group)
    annotations = {"summary": summary(slo, c, resolved)}
    if service is not None:
        if service.runbook_url:
            annotations["runbook_url"] = service.runbook_url
        if service.dashboard_url:
            annotations["dashboard_url"] = service.dashboard_url
    observed = rfc3339(wall_now)
    budget_minutes = c.budget_remaining_minutes
    payload = {
        "schema_version": cv.ALERT_SCHEMA_VERSION,
        "id": notice.id,
        "type": c.type,
        "status": status,
        "severity": c.severity,
        "slo": slo.name,
        "service": slo.service,
        "group": group,
        "objective": slo.objective,
        "windows": [{"window": w.window, "sli": None if w.sli is None else round(w.sli, 6),
                     "burn_rate": None if w.burn_rate is None else round(w.burn_rate, 4), "events": w.events}
                    for w in c.windows],
        "error_budget_remaining": {"ratio": _round(c.budget_remaining_ratio, 4),
                                   "minutes": None if budget_minutes is None else round(budget_minutes, 2)},
        "predicted_exhaustion_at": rfc3339(c.predicted_exhaustion_at),
        "rule": c.rule,
        "starts_at": rfc3339(notice.starts_at),
        "ends_at": rfc3339(notice.ends_at),
        "observed_at": observed,
        "labels": labels,
        "annotations": annotations,
        "contributors": contributors or {},
    }
    ce_id = f"{notice.id}:{notice.kind}:{notice.seq}" if notice.kind == UPDATE else f"{notice.id}:{notice.kind}"
    headers = [
        ("ce_id", ce_id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", f"{cv.CE_TYPE_PREFIX}.{c.type}.{status}".encode()),
        ("ce_specversion", _CE_SPECVERSION),
        ("ce_time", observed.encode()),
    ]
    topic = cv.TOPIC_BREACHES if c.type in BREACH_TYPES else cv.TOPIC_WARNINGS
    return AlertRecord(topic, slo.name, payload, headers)


def alert_window_seconds(slo: Slo) -> list[float]:
    """Every long and short window of the SLO's burn-rate rules, shortest first."""
    return sorted({s for r in slo.alerting.burn_rate_rules for s in (r.long_window_s, r.short_window_s)})


def window_burns(slo: Slo, state: SloState, now: float) -> list[dict]:
    """SLI and burn rate over each alert window at `now`, as the gauges export them (no data: left out)."""
    out = []
    for seconds in alert_window_seconds(slo):
        sli = ev.sli(state, seconds, now)
        if sli is not None:
            out.append({"window": format_duration(seconds), "sli": round(sli, 6),
                        "burn_rate": round(ev.burn_rate(sli, slo.objective), 4)})
    return out


def status_record(slo: Slo, group: str | None, state: SloState, firing: list[str], wall_now: float) -> StatusRecord:
    """The SLO's present: attainment and budget per period, burn per alert window, alerts firing.
    The alert windows let a status page show the fastest burn without a metrics backend."""
    now = state.watermark
    periods, windows = [], []
    if now != float("-inf"):
        windows = window_burns(slo, state, now)
        for window in slo.windows:
            status = ev.budget(state, window, now)
            att = ev.attainment(state, window, now)
            periods.append({"period": window.name, "attainment": _round(att.sli, 6),
                            "budget_remaining_ratio": _round(status.remaining, 4)})
    payload = {
        "schema_version": cv.ALERT_SCHEMA_VERSION,
        "slo": slo.name,
        "service": slo.service,
        "group": group_value(slo, group),
        "objective": slo.objective,
        "periods": periods,
        "windows": windows,
        "firing": firing,
        "watermark": rfc3339(now) if now != float("-inf") else None,
        "observed_at": rfc3339(wall_now),
    }
    return StatusRecord(status_key(slo, group), payload)
