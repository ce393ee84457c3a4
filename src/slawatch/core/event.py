"""One service event (a request, a job run, a probe) after decoding and validation.

The ingest edge builds these from JSON (schema v1, see topics/sla.events.yaml); the engine only
reads them. `ts` is event time in epoch seconds; `latency_ms` is None for pure availability events.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    service: str
    ts: float
    ok: bool
    latency_ms: float | None = None
    operation: str | None = None
    customer: str | None = None
    region: str | None = None
    attributes: dict[str, str] | None = None
