"""What the engine hands back: plain immutable records, ready for a producer, and RFC 3339 times.

The Faust layer only moves these: topic, key, payload (JSON-able dict) and headers are decided here,
so the replay path and the live worker publish byte-identical payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import NamedTuple

from slawatch.core.event import Event


class AlertRecord(NamedTuple):
    topic: str  # conventions.TOPIC_WARNINGS or TOPIC_BREACHES
    key: str  # the SLO id
    payload: dict  # validates against topics/sla.warnings.yaml value_schema
    headers: list[tuple[str, bytes]]  # ce_id, ce_source, ce_type, ce_specversion, ce_time


class StatusRecord(NamedTuple):
    key: str  # payloads.status_key: the SLO, and its group for a grouped SLO
    payload: dict


@dataclass
class Applied:
    """What one `Engine.apply` did; counts are per (event, SLO) pair."""

    counted: int = 0
    duplicates: int = 0
    refused: list[tuple[Event, str, str]] = field(default_factory=list)  # (event, reason, message)
    touched: set[str] = field(default_factory=set)


@lru_cache(maxsize=4096)
def rfc3339(t: float | None) -> str | None:
    """Epoch seconds as RFC 3339 UTC with milliseconds ("2026-12-01T10:12:05.310Z"); None stays None.

    Memoised: the records of one evaluation share their observed time, and alerts that open at one
    decision share their start, so most calls repeat a recent instant."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
