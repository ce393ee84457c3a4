"""What an SLO remembers for its compliance records: the alerts of its periods, data quality, finals.

Kept in the SLO's checkpoint (the runtime's meta JSON, `to_json` / `load_json`), so a restarted
worker still lists a period's alerts and neither forgets nor repeats a final record:

- alerts: per group, each alert people were told of (its firing was sent), by id: type, rule,
  severity, start, end (None while firing) and its top contributors (the notice with the most bad
  events among its firing and updates). Kept while they can still fall in a reported period
  (`prune`), at most MAX_ALERTS per group, the newest.
- quality: refused events (too old, too far ahead, invalid: the state's own counters, sampled) and
  dead letters of the service, per QUALITY_BUCKET_S of event time (every zone's period edges fall
  on quarter hours).
- peaks: per group, the busiest minute of each of the last PEAK_DAYS UTC days, counted minute by
  minute as event time passes them (the ring keeps minutes for a day at most).
- finals: per group and window, the last final record published: its period's index (a calendar
  period's number, else the UTC day's), good, total and revision. A final is marked only once its
  send was acknowledged (`mark_sent`), so a crash between the two publishes it again under the
  same key, never loses it.

Not kept (memory only): when the last running record was sent, and what has been checked since.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from slawatch.core.alerts import FIRING, RESOLVED, Notice

QUALITY_BUCKET_S = 900
MAX_ALERTS = 200
PEAK_DAYS = 3  # days whose busiest minute is kept (the day before's final may come late)
REFUSALS = ("too_old", "too_far_ahead", "invalid")  # SloState counters, in quality bucket order
DEAD_LETTERS = len(REFUSALS)  # index of the dead-letter count in a quality bucket


def group_text(group: str | None) -> str:
    """The group as keys write it: "" for an ungrouped SLO (None cannot key a JSON object)."""
    return "" if group is None else group


def _bad_events(contributors: dict | None) -> int:
    return sum(item["bad"] for item in (contributors or {}).get("operation", []))


@dataclass
class ComplianceLog:
    alerts: dict[str, dict[str, dict]] = field(default_factory=dict)  # group key -> alert id -> entry
    quality: dict[int, list[int]] = field(default_factory=dict)  # bucket index -> [too_old, ahead, invalid, dead]
    sampled: dict[str, list[int]] = field(default_factory=dict)  # group key -> state counters last sampled
    finals: dict[str, list] = field(default_factory=dict)  # "group|window" -> [index, good, total, revision]
    peaks: dict[str, dict] = field(default_factory=dict)  # group key -> {"scanned": minute, "days": {day: peak}}
    # Memory only.
    running_wall: float = -math.inf
    running_watermark: float = -math.inf
    checked: dict[str, int] = field(default_factory=dict)  # "group|window" -> last period index looked at
    late_seen: dict[str, int] = field(default_factory=dict)  # group key -> state.late when last revised
    schedule: object = None  # the SLO's ExclusionSchedule, set by the engine

    # Alerts.
    def note(self, notice: Notice, contributors: dict | None) -> None:
        """Record a notice that was sent: a firing opens an entry, a resolution closes it, an update
        keeps the contributors with the most bad events."""
        entries = self.alerts.setdefault(group_text(notice.group), {})
        entry = entries.get(notice.id)
        c = notice.condition
        if entry is None:
            if notice.kind == RESOLVED:
                return  # its firing left the log (pruned): nothing to close
            entry = entries[notice.id] = {"id": notice.id, "type": c.type, "rule": c.id, "severity": c.severity,
                                          "start": notice.starts_at, "end": None, "contributors": contributors or {}}
            if len(entries) > MAX_ALERTS:
                del entries[min(entries, key=lambda k: entries[k]["start"])]
        if notice.kind == RESOLVED:
            entry["end"] = notice.ends_at
        elif notice.kind != FIRING and _bad_events(contributors) > _bad_events(entry["contributors"]):
            entry["contributors"] = contributors

    def alerts_in(self, group: str | None, start: float, stop: float) -> list[dict]:
        """The group's alerts whose time [start, end) meets [start, stop), oldest first."""
        found = [a for a in self.alerts.get(group_text(group), {}).values()
                 if a["start"] < stop and (a["end"] is None or a["end"] > start)]
        return sorted(found, key=lambda a: (a["start"], a["id"]))

    # Data quality.
    def add_quality(self, at: float, index: int, count: int) -> None:
        bucket = self.quality.setdefault(int(at // QUALITY_BUCKET_S), [0] * (DEAD_LETTERS + 1))
        bucket[index] += count

    def sample_refusals(self, group: str | None, state, at: float) -> None:
        """Add what the state refused since the last sample to the quality bucket of `at`."""
        now = [state.too_old, state.too_far_ahead, state.invalid]
        before = self.sampled.get(group_text(group))
        self.sampled[group_text(group)] = now
        if before is None:
            return
        for index, (was, count) in enumerate(zip(before, now)):
            if count > was:
                self.add_quality(at, index, count - was)

    def quality_in(self, start: float, stop: float) -> dict:
        """Refused events by reason and dead letters in the quality buckets starting in [start, stop)."""
        first, last = math.ceil(start / QUALITY_BUCKET_S), math.ceil(stop / QUALITY_BUCKET_S) - 1
        sums = [0] * (DEAD_LETTERS + 1)
        for index, counts in self.quality.items():
            if first <= index <= last:
                sums = [a + b for a, b in zip(sums, counts)]
        by_reason = dict(zip(REFUSALS, sums))
        return {"refused_events": sum(sums[:DEAD_LETTERS]), "refused_by_reason": by_reason,
                "dead_letters": sums[DEAD_LETTERS]}

    def prune(self, oldest: float) -> None:
        """Forget alerts that ended, and quality buckets that start, before `oldest`."""
        for entries in self.alerts.values():
            for key in [k for k, a in entries.items() if a["end"] is not None and a["end"] < oldest]:
                del entries[key]
        for index in [i for i in self.quality if (i + 1) * QUALITY_BUCKET_S < oldest]:
            del self.quality[index]

    # The busiest minute of each day.
    def peak_scan_from(self, group: str | None, last: int) -> int:
        """The first minute to scan: the last one scanned (it may have grown), at most a day back; the
        first time, the start of the day before (what a restored or new state may already hold)."""
        scanned = self.peaks.get(group_text(group), {}).get("scanned")
        if scanned is None:
            return (last // 1440 - 1) * 1440
        return max(scanned, last - 1440)

    def note_minute(self, group: str | None, minute: int, events: int) -> None:
        days = self.peaks.setdefault(group_text(group), {"scanned": None, "days": {}})["days"]
        day = str(minute * 60 // 86400)
        days[day] = max(days.get(day, 0), events)
        for old in [d for d in days if int(d) <= int(day) - PEAK_DAYS]:
            del days[old]

    def peaks_scanned(self, group: str | None, minute: int) -> None:
        self.peaks.setdefault(group_text(group), {"scanned": None, "days": {}})["scanned"] = minute

    def peak_of(self, group: str | None, day: int) -> int | None:
        return self.peaks.get(group_text(group), {}).get("days", {}).get(str(day))

    # Checkpoint.
    def to_json(self) -> dict:
        return {"alerts": self.alerts, "quality": [[i, c] for i, c in sorted(self.quality.items())],
                "sampled": self.sampled, "finals": self.finals, "peaks": self.peaks}

    def load_json(self, data) -> None:
        """Restore what `to_json` wrote; anything unreadable is dropped (the log starts empty), never raised."""
        try:
            alerts = {str(g): {str(i): dict(a) for i, a in entries.items()} for g, entries in data["alerts"].items()}
            quality = {int(i): [int(n) for n in counts] for i, counts in data["quality"]}
            sampled = {str(g): [int(n) for n in counts] for g, counts in data["sampled"].items()}
            finals = {str(k): list(v) for k, v in data["finals"].items()}
            peaks = {str(g): {"scanned": p["scanned"], "days": {str(d): int(n) for d, n in p["days"].items()}}
                     for g, p in data.get("peaks", {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            return
        self.alerts, self.quality, self.sampled, self.finals, self.peaks = alerts, quality, sampled, finals, peaks
