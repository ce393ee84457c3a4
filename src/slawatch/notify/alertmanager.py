"""Alert payloads (topics/sla.warnings.yaml) as Alertmanager API v2 alerts, and the client that posts them.

Alertmanager identifies an alert by its labels, so the labels are the alert's `labels` (slo, service,
severity, rule, type, catalogue labels, the group's dimension) plus `alertname` and `group`; the record's id, which changes per
onset, goes in the annotations. A firing alert is posted with `endsAt` = now + `hold_s` and must be
re-posted before then, as Prometheus does (4 x its 1-minute resend); a resolved one with its end.
Times are clamped to the wall clock: event time may run ahead of Alertmanager's clock, and an
`endsAt` before `startsAt` makes Alertmanager refuse the whole batch.
"""

from __future__ import annotations

import http.client
import re
import urllib.error
import urllib.request
from datetime import datetime
from urllib.parse import urlsplit

import orjson

from slawatch import conventions as cv
from slawatch.engine.records import rfc3339
from slawatch.ui.links import slo_path, status_key

POST_TIMEOUT_S = 10.0
_LABEL_NAME = re.compile(r"[^a-zA-Z0-9_]")


class DeliveryError(Exception):
    """Alertmanager did not take the alerts; `retryable` says whether trying again can help."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def alerts_endpoint(url: str) -> str:
    """`http(s)://host[:port][/prefix]` -> its `/api/v2/alerts`; ValueError saying what would be valid."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url {url!r}: not an Alertmanager address (e.g. http://127.0.0.1:9093)")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"--url {url!r}: the port is not a number 1-65535") from None
    return url.rstrip("/") + "/api/v2/alerts"


def label_name(name: str) -> str:
    """A label name Alertmanager accepts ([a-zA-Z_][a-zA-Z0-9_]*): other characters become `_`."""
    cleaned = _LABEL_NAME.sub("_", name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"


def alert_labels(payload: dict) -> dict[str, str]:
    """The payload's labels, `alertname`, and for a grouped SLO `group` ("customer=acme", as on the
    gauges), so routes and inhibitions can say `equal: [slo, group]` whatever the dimension."""
    labels = {label_name(k): str(v) for k, v in (payload.get("labels") or {}).items() if v not in (None, "")}
    labels["alertname"] = cv.ALERTNAMES.get(payload.get("type"), cv.ALERTNAME_OTHER)
    if payload.get("group"):
        labels[cv.LABEL_GROUP] = ",".join(f"{k}={v}" for k, v in payload["group"].items())
    return labels


def identity(alert: dict) -> tuple[tuple[str, str], ...]:
    """What Alertmanager tells alerts apart by: the label set."""
    return tuple(sorted(alert["labels"].items()))


def _epoch(text: str | None) -> float | None:
    """Seconds of an RFC 3339 time; None without one, or for one that is not (then: the wall clock)."""
    try:
        return datetime.fromisoformat(text).timestamp() if text else None
    except (TypeError, ValueError):
        return None


def to_alertmanager(payload: dict, now: float, hold_s: float, status_page_url: str) -> dict:
    """One alert record as an Alertmanager alert, valid until `now + hold_s` if it fires."""
    starts = min(_epoch(payload.get("starts_at")) or now, now)
    if payload.get("status") == "resolved":
        ends = max(starts, min(_epoch(payload.get("ends_at")) or now, now))
    else:
        ends = now + hold_s
    annotations = {k: str(v) for k, v in (payload.get("annotations") or {}).items() if v}
    annotations.setdefault("summary", f"{payload.get('slo')}: {payload.get('rule', '')}")
    annotations["description"] = str(payload.get("rule") or annotations["summary"])
    annotations["alert_id"] = str(payload.get("id", ""))
    key = status_key(payload.get("slo", ""), payload.get("group"))
    return {
        "labels": alert_labels(payload),
        "annotations": annotations,
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(ends),
        "generatorURL": status_page_url.rstrip("/") + slo_path(key),
    }


def extend(alert: dict, now: float, hold_s: float) -> dict:
    """The same firing alert, valid for another `hold_s`: what a re-send posts."""
    return {**alert, "endsAt": rfc3339(now + hold_s)}


class AlertmanagerClient:
    """POSTs alerts to one Alertmanager with the standard library; one request per call."""

    def __init__(self, url: str, timeout_s: float = POST_TIMEOUT_S) -> None:
        self.endpoint = alerts_endpoint(url)
        self.timeout_s = timeout_s

    def post(self, alerts: list[dict]) -> None:
        """Raises DeliveryError: retryable for no answer, a timeout, 5xx, 408, 429; not for a refusal."""
        request = urllib.request.Request(self.endpoint, data=orjson.dumps(alerts), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()[:300].decode("utf-8", "replace").strip()
            retryable = exc.code >= 500 or exc.code in (408, 429)
            raise DeliveryError(f"{self.endpoint} answered {exc.code}: {body}", retryable) from None
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timeout, not HTTP
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"{self.endpoint}: {reason}", retryable=True) from None
