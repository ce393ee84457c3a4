"""Everything the engine keeps for one SLO: its counting state, alert book, clocks and contributors.

Decisions are taken at whole multiples of `step_s` of event time (default 1 s). The decision for
instant D sees exactly the events applied before the first event at or after D arrived, so the
alerts depend on the order of events only, never on how they were batched or when `evaluate` ran:
replay and the live worker agree. Instants without events in between are skipped (a gap is decided
once, at the first boundary after it), which is equally deterministic.

Checkpoint (`to_bytes`): b"SWE" + version (u8) + u32 length + the SLO state snapshot
(`core.snapshot`, which carries the offsets) + JSON (orjson) of the clocks, the firing alerts
(`AlertBook.to_json`) and the contributor rings. A few KiB beyond the state itself.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

import orjson

from slawatch.core import policies
from slawatch.core.alerts import AlertBook, LifecycleConfig, Notice
from slawatch.core.model import Slo
from slawatch.core.slo_state import GroupedSloState, SloState
from slawatch.core.snapshot import grouped_from_bytes, grouped_to_bytes, state_from_bytes, state_to_bytes
from slawatch.engine.contributors import Contributors

MAGIC = b"SWE"
VERSION = 1
_NEG_INF = -math.inf


def contributor_horizon_s(slo: Slo) -> float:
    """The fastest rule's short window: contributors show the most recent picture."""
    return float(min((r.short_window_s for r in slo.alerting.burn_rate_rules), default=300))


class SloRuntime:
    __slots__ = ("slo", "grouped", "state", "book", "contributors", "horizon", "watermark", "decided",
                 "last_received_wall", "pending", "_options", "policy")

    def __init__(self, slo: Slo, is_excluded: Callable[[float], bool] | None, max_future_s: float,
                 config: LifecycleConfig) -> None:
        self.slo = slo
        self.grouped = slo.group_by is not None
        self._options = (is_excluded, max_future_s)
        cls = GroupedSloState if self.grouped else SloState
        self.state = cls(slo, is_excluded, max_future_s)
        self.book = AlertBook(slo.name, config)
        self.policy = policies.Policy(slo)
        self.contributors: dict[str | None, Contributors] = {}
        self.horizon = contributor_horizon_s(slo)
        self.watermark = _NEG_INF  # highest accepted event time over all groups
        self.decided = _NEG_INF  # the last decision instant
        self.last_received_wall: float | None = None
        self.pending: list[tuple[Notice, float, dict | None]] = []  # (notice, wall time, contributors)

    def groups(self) -> list[tuple[str | None, SloState]]:
        if self.grouped:
            return list(self.state.groups.items())
        return [(None, self.state)]

    def state_for(self, group: str | None) -> SloState:
        return self.state.state_for(group) if self.grouped else self.state

    def contributors_for(self, group: str | None) -> Contributors:
        found = self.contributors.get(group)
        if found is None:
            found = self.contributors[group] = Contributors(self.horizon)
        return found

    def decide(self, now: float, wall_now: float) -> None:
        """Run the policy at event-time instant `now` for every group; keep the notices."""
        book = self.book
        for group, state in self.groups():
            alerts = book.alerts
            wanted = {rule for g, rule in alerts if g == group} if alerts else ()
            found = self.policy.conditions(state, now, wanted)
            if not found and not wanted:
                continue  # nothing holds and the group has no alert: AlertBook.step would change nothing
            notices = book.step(group, found, now, wall_now, policies.EVENT_TIME_TYPES)
            if notices:
                found = self.contributors.get(group)
                top = found.top(now, self.horizon) if found is not None else None
                self.pending.extend((n, wall_now, top) for n in notices)
        self.decided = now

    def take_pending(self) -> list[tuple[Notice, float, dict | None]]:
        out, self.pending = self.pending, []
        return out

    # Checkpoints.
    def to_bytes(self) -> bytes:
        state = grouped_to_bytes(self.state) if self.grouped else state_to_bytes(self.state)
        meta = {
            "watermark": None if self.watermark == _NEG_INF else self.watermark,
            "decided": None if self.decided == _NEG_INF else self.decided,
            "last_received_wall": self.last_received_wall,
            "alerts": self.book.to_json(),
            "contributors": [[g, c.to_json()] for g, c in self.contributors.items()],
        }
        return MAGIC + struct.pack("<BI", VERSION, len(state)) + state + orjson.dumps(meta)

    def load_bytes(self, data: bytes) -> None:
        if data[:3] != MAGIC:
            raise ValueError("not an engine checkpoint (bad magic bytes)")
        version, length = struct.unpack_from("<BI", data, 3)
        if version != VERSION:
            raise ValueError(f"engine checkpoint version {version} is unknown; this build reads {VERSION}")
        body = data[8 : 8 + length]
        is_excluded, max_future_s = self._options
        if self.grouped:
            self.state = grouped_from_bytes(body, self.slo, is_excluded, max_future_s=max_future_s)
        else:
            self.state = state_from_bytes(body, self.slo, is_excluded, max_future_s=max_future_s)
        meta = orjson.loads(data[8 + length :])
        self.watermark = _NEG_INF if meta["watermark"] is None else meta["watermark"]
        self.decided = _NEG_INF if meta["decided"] is None else meta["decided"]
        self.last_received_wall = meta["last_received_wall"]
        self.book.load_json(meta["alerts"])
        self.contributors = {}
        for group, rows in meta["contributors"]:
            self.contributors_for(group).load_json(rows)
        self.pending = []
