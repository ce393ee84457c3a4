"""The alert lifecycle per (SLO, group, rule): inactive -> firing -> resolved, with hysteresis.

`AlertBook.step` takes the conditions `policies` computed at one decision instant and returns what
to tell the world (`Notice`s). Its memory is the set of alerts firing now, JSON-able (`to_json` /
`from_json`), so a restarted worker resumes them under the same ids and re-sends nothing.

Semantics (LifecycleConfig holds the knobs):
- Onset: an alert fires at the first decision instant its condition holds (or at the condition's
  `since`, when the policy knows it better, e.g. no-data). id = first 16 hex digits of
  sha256("slo|group|rule|onset"): stable under replay and restart, the dedup key downstream.
- Hysteresis by a resolve hold: a firing alert resolves only after its condition has been false at
  every decision for the SLO's `resolve_hold_s` of event time (catalogue `alerting.resolve_hold`,
  a fixed duration, not scaled by any window: the short window already gives the fast reset the SRE
  Workbook asks for). Noise that dips below a threshold for less than the hold never resolves and
  re-fires, so it never flaps. With a hold of 0 an alert resolves at the first decision its
  condition is false: the notified state is then exactly the condition. `ends_at` is the instant
  the condition stopped holding. SLA-period and no-data conditions are facts, not rates: they use
  no hold. We chose a hold over a clear ratio (burn below k x factor) because it is one rule for
  every condition type, rates or not.
- A firing alert whose condition the caller evaluated but did not return (a per-period SLA
  condition after the period rolled over) counts as false.
- Inhibition: among firing alerts of one `family`, one of lower `rank` (a faster burn rule of the
  same severity, a higher budget threshold) inhibits the others. An inhibited alert is recorded
  (status, gauges) but not notified: no firing record while inhibited, no updates; if it was
  notified before being inhibited, its resolution is still sent. An alert only notified after its
  inhibitor resolves fires then, with its own onset and id - if its condition still holds; one
  already clearing resolves silently (nobody should be paged for what is over). Hand-over: the
  alert uninhibited by a resolution is notified in the same step, and a step's firings come before
  its resolutions, so a consumer sees the slower page open before the faster one closes.
- Updates while firing: at most every `update_interval_s` (default 5 min) of wall time, and only on a material
  change (budget remaining moved by >= `material_change`, or the severity changed).
- Never resolved before fired: a resolution is sent only for an alert whose firing was sent.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, fields
from typing import NamedTuple

from slawatch.core.model import DEFAULT_RESOLVE_HOLD_S
from slawatch.core.policies import NO_DATA, SLA_BREACH, Condition, WindowReading

FIRING, UPDATE, RESOLVED = "firing", "update", "resolved"
NO_HOLD_TYPES = frozenset({SLA_BREACH, NO_DATA})


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """Notification knobs shared by every SLO of an engine (the hold is per SLO: AlertBook)."""

    update_interval_s: float = 300.0
    material_change: float = 0.01


def alert_id(slo: str, group: str | None, rule: str, onset: float) -> str:
    text = f"{slo}|{'' if group is None else group}|{rule}|{onset:.3f}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(slots=True)
class Alert:
    """One firing alert (mutable lifecycle state)."""

    group: str | None
    condition: Condition  # the latest reading of its condition
    onset: float
    id: str
    clear_since: float | None = None
    notified: bool = False
    inhibited: bool = False
    last_sent_wall: float | None = None
    last_sent_ratio: float | None = None
    last_sent_severity: str | None = None
    updates: int = 0  # updates sent: numbers them, so a re-sent one keeps its CloudEvents id


class Notice(NamedTuple):
    """Something to publish: kind is firing, update or resolved; seq numbers the updates."""

    kind: str
    id: str
    group: str | None
    condition: Condition
    starts_at: float
    ends_at: float | None
    seq: int = 0


@dataclass
class AlertBook:
    slo: str
    config: LifecycleConfig = field(default_factory=LifecycleConfig)
    resolve_hold_s: float = float(DEFAULT_RESOLVE_HOLD_S)
    alerts: dict[tuple[str | None, str], Alert] = field(default_factory=dict)
    # The oldest last send of a notified alert (inf: none; None: not known). Kept by `step` and
    # `load_json`; code that edits `alerts` directly only removes alerts, which leaves it too low:
    # one decision more, never an update missed.
    _oldest_send: float | None = field(default=None, init=False, repr=False, compare=False)

    def hold_s(self, condition: Condition) -> float:
        """Event time the condition must stay false before its alert resolves."""
        return 0.0 if condition.type in NO_HOLD_TYPES else self.resolve_hold_s

    def update_may_be_due(self, wall_now: float) -> bool:
        """Whether a notified alert's update interval has run out: a decision now may send an update."""
        oldest = self._oldest_send
        if oldest is None:
            oldest = self._oldest_send = min(
                ((a.last_sent_wall or 0.0) for a in self.alerts.values() if a.notified), default=math.inf)
        return wall_now - oldest >= self.config.update_interval_s

    def resolves_at(self, group: str | None) -> float | None:
        """The earliest instant one of the group's clearing alerts resolves if its condition stays
        false (None when none is clearing): the engine must decide then, even if nothing else changes."""
        found = [a.clear_since + self.hold_s(a.condition) for (g, _), a in self.alerts.items()
                 if g == group and a.clear_since is not None]
        return min(found) if found else None

    def firing(self, group: str | None = None, *, all_groups: bool = False) -> list[Alert]:
        return [a for (g, _), a in self.alerts.items() if all_groups or g == group]

    def step(self, group: str | None, conditions: list[Condition], now: float, wall_now: float,
             evaluated_types: frozenset[str]) -> list[Notice]:
        """Advance the group's alerts of `evaluated_types` to decision instant `now` (event time)."""
        alerts = self.alerts
        seen = set()
        for c in conditions:
            key = (group, c.id)
            seen.add(key)
            alert = alerts.get(key)
            if c.holds:
                if alert is None:
                    onset = c.since if c.since is not None else now
                    alerts[key] = Alert(group, c, onset, alert_id(self.slo, group, c.id, onset))
                else:
                    alert.condition, alert.clear_since = c, None
            elif alert is not None:
                alert.condition = c
                if alert.clear_since is None:
                    alert.clear_since = now
        # Alerts the caller evaluated but did not return clear now; those clear for their hold resolve.
        resolved = []
        for key, alert in list(alerts.items()):
            if key[0] != group or alert.condition.type not in evaluated_types:
                continue
            if alert.clear_since is None:
                if key in seen:
                    continue
                alert.clear_since = now
            if now - alert.clear_since >= self.hold_s(alert.condition):
                del alerts[key]
                if alert.notified:
                    resolved.append(Notice(RESOLVED, alert.id, group, alert.condition, alert.onset, alert.clear_since))
        # Firings first: an alert this step's resolutions uninhibited opens before its inhibitor closes.
        notices = self._notify(group, wall_now, evaluated_types)
        if notices or resolved:
            self._oldest_send = None
            return notices + resolved
        return notices

    def _notify(self, group: str | None, wall_now: float, evaluated_types: frozenset[str]) -> list[Notice]:
        mine = [a for (g, _), a in self.alerts.items() if g == group]
        best: dict[str, float] = {}
        for a in mine:
            family = a.condition.family
            if family:
                rank, found = a.condition.rank, best.get(family)
                if found is None or rank < found:
                    best[family] = rank
        notices = []
        interval = self.config.update_interval_s
        for a in mine:
            c = a.condition
            if c.type not in evaluated_types:
                continue
            a.inhibited = bool(c.family) and best[c.family] < c.rank
            if a.inhibited:
                continue
            kind = None
            if not a.notified:
                if a.clear_since is None:  # never page for a condition already clearing
                    kind = FIRING
            elif wall_now - (a.last_sent_wall or 0.0) >= interval and self._material(a):
                kind = UPDATE
            if kind is not None:
                a.notified, a.last_sent_wall = True, wall_now
                a.last_sent_ratio, a.last_sent_severity = c.budget_remaining_ratio, c.severity
                a.updates += kind == UPDATE
                notices.append(Notice(kind, a.id, group, c, a.onset, None, a.updates))
        return notices

    def _material(self, a: Alert) -> bool:
        c = a.condition
        if c.severity != a.last_sent_severity:
            return True
        old, new = a.last_sent_ratio, c.budget_remaining_ratio
        if old is None or new is None:
            return (old is None) != (new is None)
        return abs(new - old) >= self.config.material_change

    # Snapshots: JSON-able, so the engine checkpoint can carry them.
    def to_json(self) -> list[dict]:
        out = []
        for a in self.alerts.values():
            item = {name: getattr(a, name) for name in _ALERT_FIELDS}  # asdict, without its deep copies
            item["condition"] = _condition_json(a.condition)
            out.append(item)
        return out

    def load_json(self, items: list[dict]) -> None:
        self.alerts = {}
        self._oldest_send = None
        for item in items:
            item = dict(item)
            item["condition"] = _condition_from(item["condition"])
            alert = Alert(**item)
            self.alerts[(alert.group, alert.condition.id)] = alert


_ALERT_FIELDS = tuple(f.name for f in fields(Alert))


def _condition_json(c: Condition) -> dict:
    item = c._asdict()
    item["windows"] = [w._asdict() for w in c.windows]
    return item


def _condition_from(item: dict) -> Condition:
    item = dict(item)
    item["windows"] = tuple(WindowReading(**w) for w in item["windows"])
    return Condition(**item)
