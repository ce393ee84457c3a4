"""sla.records payloads (topics/sla.records.yaml, schema 2) as typed values, and picking them by range."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime


def epoch(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Alert:
    id: str
    type: str
    rule: str
    severity: str
    start: float
    end: float | None
    duration_s: float
    contributors: dict


@dataclass(frozen=True)
class Record:
    """One compliance record: one SLO, group, window and period."""

    key: str
    slo: str
    service: str
    group: str | None  # the group's value ("acme"), None for an ungrouped SLO
    dimension: str | None  # "customer"
    contractual: bool
    window: str
    kind: str  # calendar | rolling | daily
    period: str
    start: float
    end: float
    final: bool
    as_of: float
    elapsed_ratio: float
    objective: float
    unit: str
    good: float
    bad: float
    total: int
    sli: float | None
    attained: bool | None
    budget: dict
    excluded_events: int
    excluded_seconds: float
    no_data_seconds: float | None
    no_data_resolution_s: int | None
    peak_per_minute: int | None
    alerts: tuple[Alert, ...]
    refused_events: int
    dead_letters: int

    @property
    def day(self) -> date:
        """The UTC day of a daily (or rolling) record."""
        return date.fromisoformat(self.period[:10])

    @classmethod
    def from_payload(cls, key: str, p: dict) -> Record:
        group = p.get("group") or None
        dimension, value = next(iter(group.items())) if group else (None, None)
        alerts = tuple(Alert(a["id"], a["type"], a["rule"], a["severity"], epoch(a["start"]), epoch(a["end"]),
                             float(a["duration_s"]), a.get("contributors") or {}) for a in p["alerts"])
        quality = p["data_quality"]
        return cls(key, p["slo"], p["service"], value, dimension, bool(p.get("contractual")), p["window"],
                   p["window_kind"], p["period"], epoch(p["start"]), epoch(p["end"]), p["status"] == "final",
                   epoch(p["as_of"]), float(p.get("elapsed_ratio", 1.0)), float(p["objective"]), p["unit"],
                   p["good"], p["bad"], int(p["total"]), p["sli"], p["attained"], p["budget"],
                   int(p["excluded"]["events"]), float(p["excluded"]["seconds"]), p["no_data"]["seconds"],
                   p["no_data"]["resolution_s"], p.get("peak_per_minute"), alerts, int(quality["refused_events"]), int(quality["dead_letters"]))


def parse(payloads: Iterable[tuple[str, dict]]) -> list[Record]:
    """Records of schema 2; older schemas (they lack what a report needs) and malformed records (any
    producer can write to the topic) are passed over."""
    out = []
    for key, p in payloads:
        if isinstance(p, dict) and p.get("schema_version") == 2:
            try:
                out.append(Record.from_payload(key, p))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
    return out
