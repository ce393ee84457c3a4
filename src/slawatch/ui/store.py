"""What the status page shows: the latest status per SLO (and group), a bounded history of it, and
the alerts, as read from sla.status, sla.warnings and sla.breaches.

sla.status is compacted, so a fresh reader may get only the latest record per key; history then
grows while the page runs. It is kept in two tiers so a long-running page stays small: every
record's point for the last `recent_points` (2 h at the worker's 5 s cadence), then one point per
`coarse_spacing_s` (5 min) for a week. Points are placed at the SLO's watermark (event time).
Thread-safe: the feed thread writes, request threads read.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from slawatch.core.durations import parse_duration
from slawatch.ui.links import status_key

RECENT_POINTS = 1440
COARSE_POINTS = 2016
COARSE_SPACING_S = 300.0
RESOLVED_KEPT = 20  # per SLO (and group), for the page's "recent alerts"
RECENT_WINDOW_MAX_S = 3600.0  # the SLI chart's short line: the longest alert window up to an hour


@dataclass(frozen=True, slots=True)
class Point:
    t: float  # watermark, epoch seconds
    attainment: float | None  # SLI over the primary period
    budget: float | None  # budget left in the primary period (ratio)
    recent_sli: float | None  # SLI over `recent_window`
    burn: float | None  # the fastest burn over any alert window


def epoch(text: str | None) -> float | None:
    return None if not text else datetime.fromisoformat(text).timestamp()


def seconds_of(window: str) -> float:
    try:
        return parse_duration(window)
    except ValueError:  # not an alert window (a calendar period): sorts first
        return 0.0


def recent_window(status: dict) -> dict | None:
    """The alert window the SLI chart draws beside the period's attainment: the longest up to an
    hour (a recent view that an outage shows in), else the shortest."""
    windows = status.get("windows") or []
    short = [w for w in windows if seconds_of(w["window"]) <= RECENT_WINDOW_MAX_S]
    if short:
        return max(short, key=lambda w: seconds_of(w["window"]))
    return min(windows, key=lambda w: seconds_of(w["window"]), default=None)


def fastest_burn(status: dict) -> dict | None:
    return max(status.get("windows") or [], key=lambda w: w.get("burn_rate") or 0.0, default=None)


def point_of(status: dict) -> Point | None:
    t = epoch(status.get("watermark"))
    if t is None:
        return None
    primary = (status.get("periods") or [{}])[0]
    recent, fastest = recent_window(status), fastest_burn(status)
    return Point(t, primary.get("attainment"), primary.get("budget_remaining_ratio"),
                 recent and recent.get("sli"), fastest and fastest.get("burn_rate"))


class _History:
    def __init__(self) -> None:
        self.recent: deque[Point] = deque(maxlen=RECENT_POINTS)
        self.coarse: deque[Point] = deque(maxlen=COARSE_POINTS)

    def add(self, point: Point) -> None:
        if self.recent and point.t <= self.recent[-1].t:
            return  # a redelivered or older record: history only moves forward
        if len(self.recent) == self.recent.maxlen:
            oldest = self.recent[0]
            if not self.coarse or oldest.t - self.coarse[-1].t >= COARSE_SPACING_S:
                self.coarse.append(oldest)
        self.recent.append(point)

    def points(self) -> list[Point]:
        start = self.recent[0].t if self.recent else float("inf")
        return [p for p in self.coarse if p.t < start] + list(self.recent)


class StatusStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[str, dict] = {}
        self._history: dict[str, _History] = {}
        self._alerts: dict[str, dict] = {}  # id -> latest payload
        self.records_read = 0
        self.last_record_at: float | None = None  # wall clock
        self.caught_up = False  # the topics were read to their end once
        self.feeding = True  # the feed thread runs

    def add_status(self, key: str, status: dict, now: float) -> None:
        with self._lock:
            self._status[key] = status
            point = point_of(status)
            if point is not None:
                self._history.setdefault(key, _History()).add(point)
            self._seen(now)

    def add_alert(self, alert: dict, now: float) -> None:
        with self._lock:
            self._alerts[alert["id"]] = alert
            if alert.get("status") == "resolved":
                self._prune_resolved(status_key(alert.get("slo", ""), alert.get("group")))
            self._seen(now)

    def _seen(self, now: float) -> None:
        self.records_read += 1
        self.last_record_at = now

    def _prune_resolved(self, key: str) -> None:
        resolved = [a for a in self._alerts.values() if a.get("status") == "resolved"
                    and status_key(a.get("slo", ""), a.get("group")) == key]
        resolved.sort(key=lambda a: a.get("ends_at") or "")
        for alert in resolved[:-RESOLVED_KEPT]:
            del self._alerts[alert["id"]]

    def statuses(self) -> dict[str, dict]:
        with self._lock:
            return dict(self._status)

    def status(self, key: str) -> dict | None:
        with self._lock:
            return self._status.get(key)

    def history(self, key: str) -> list[Point]:
        with self._lock:
            history = self._history.get(key)
            return history.points() if history else []

    def alerts(self, key: str | None = None) -> list[dict]:
        """Every alert known (firing, and the latest resolved ones), of one SLO key if given."""
        with self._lock:
            alerts = list(self._alerts.values())
        return [a for a in alerts if key is None or status_key(a.get("slo", ""), a.get("group")) == key]
