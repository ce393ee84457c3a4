"""Everything the engine keeps for one SLO: its counting state, alert book, clocks and contributors.

Decisions are taken at whole multiples of `step_s` of event time (default 1 s). The decision for
instant D sees exactly the events applied before the first event at or after D arrived, so the
alerts depend on the order of events only, never on how they were batched: replay and the live
worker agree. Every instant is decided, whether or not events came in between: an event after a gap
first decides the gap's instants, and a quiet SLO is decided by the engine's clock (`advance_to`,
called by `Engine.evaluate`). Both decide only the instants at which a decision can change
(`core.quiet`), which gives the notices deciding every instant would.

Checkpoint (`to_bytes`, layout in `engine.checkpoint`): the SLO state snapshot (`core.snapshot`,
which carries the offsets), the state definition it was written under (`core.definition`), then
JSON (orjson) of the clocks, the firing alerts (`AlertBook.to_json`) and the contributor rings. A
few KiB beyond the state itself. `load_bytes` restores it under the current SLO whatever changed
(`engine.checkpoint.restore`) and says what it could not carry over.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import NamedTuple

import orjson

from slawatch.core import policies
from slawatch.core.alerts import AlertBook, LifecycleConfig, Notice
from slawatch.core.quiet import NEVER, next_change
from slawatch.core.matching import SloIndex
from slawatch.core.model import Slo
from slawatch.core.slo_state import GroupedSloState, Outcome, SloState
from slawatch.core.snapshot import grouped_to_bytes, state_to_bytes
from slawatch.engine import checkpoint
from slawatch.engine.compliance_log import ComplianceLog
from slawatch.engine.contributors import Contributors

MAGIC, VERSION = checkpoint.MAGIC, checkpoint.VERSION
_HEADER, _DEFINITION_LENGTH = struct.Struct("<BI"), struct.Struct("<H")
_NEG_INF = -math.inf
_GOOD, _BAD = Outcome.GOOD, Outcome.BAD
_FIRST_REFUSED = Outcome.TOO_OLD  # TOO_OLD, TOO_FAR_AHEAD and INVALID are the highest outcomes: an
# int comparison per event instead of the `Outcome.refused` property
assert all(o.refused == (o >= _FIRST_REFUSED) for o in Outcome)
_group_of = SloIndex.group_of


class Refusal(NamedTuple):
    """An event an SLO refused: its position in the events given to `apply_events`, and why."""

    position: int
    outcome: Outcome


def contributor_horizon_s(slo: Slo) -> float:
    """The fastest rule's short window: contributors show the most recent picture."""
    return float(min((r.short_window_s for r in slo.alerting.burn_rate_rules), default=300))


class SloRuntime:
    __slots__ = ("slo", "grouped", "state", "book", "contributors", "horizon", "watermark", "decided",
                 "last_received_wall", "pending", "_options", "policy", "no_data_after", "_next_due",
                 "compliance")

    def __init__(self, slo: Slo, is_excluded: Callable[[float], bool] | None, max_future_s: float,
                 config: LifecycleConfig) -> None:
        self.slo = slo
        self.grouped = slo.group_by is not None
        self._options = (is_excluded, max_future_s)
        cls = GroupedSloState if self.grouped else SloState
        self.state = cls(slo, is_excluded, max_future_s)
        self.book = AlertBook(slo.name, config, float(slo.alerting.resolve_hold_s))
        self.policy = policies.Policy(slo)
        self.no_data_after = slo.alerting.no_data_after_s
        self.contributors: dict[str | None, Contributors] = {}
        self.horizon = contributor_horizon_s(slo)
        self.watermark = _NEG_INF  # highest accepted event time over all groups
        self.decided = _NEG_INF  # the last decision instant
        self.last_received_wall: float | None = None
        self.pending: list[tuple[Notice, float, dict | None]] = []  # (notice, wall time, contributors)
        self._next_due: float | None = None  # the next instant a decision can change; None = not known
        self.compliance = ComplianceLog()  # alerts, data quality and finals of its compliance records

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
        self._next_due = None

    def advance_to(self, instant: float, wall_now: float, step: float, decide_last: bool) -> None:
        """Decide every instant in (decided, instant) at which a decision can change (`core.quiet`),
        then `instant` itself if `decide_last` or an update may be due (updates go by wall clock);
        otherwise mark it decided, nothing having changed."""
        while (due := self.next_due(step)) < instant:
            self.decide(due, wall_now)
        if decide_last or due == instant or (self.book.alerts and self.book.update_may_be_due(wall_now)):
            self.decide(instant, wall_now)
        else:
            self.decided = instant

    def next_due(self, step: float) -> float:
        """The first instant after `decided` at which a decision could differ, if no event arrives."""
        due = self._next_due
        if due is None:
            due = NEVER
            for group, state in self.groups():
                if state.watermark != _NEG_INF:
                    due = min(due, next_change(state, self.policy, self.decided, step))
                resolves = self.book.resolves_at(group)
                if resolves is not None:
                    due = min(due, max(math.floor(resolves / step) * step, self.decided + step))
            self._next_due = due
        return due

    # Counting (the engine's hot path).
    def apply_events(self, events: Sequence, wall_now: float, step: float,
                     ahead: float) -> tuple[int, list[Refusal]]:
        """Count the events (one record's, those of this SLO, in order), deciding at step edges.

        Returns (events counted, the refused ones). Per event this is exactly: decide if the event
        reaches the next step edge, `accept` it into its group's state, then move the watermark and
        the contributors. Runs of events that fall in the head bucket of every ring level and of the
        contributors, before the next step edge and not too far ahead (`_head_span`), are counted in
        bulk (`SloState.accept_run`): nothing can be decided, advanced, evicted or refused inside
        such a run, so its events only bump the head cells."""
        n, i, counted = len(events), 0, 0
        refused: list[Refusal] = []
        grouped, slo = self.grouped, self.slo
        while i < n:
            end = self._grouped_head_run(events, i, wall_now, step) if grouped else self._head_run(events, i, wall_now, step)
            if end > i:
                counted += end - i
                i = end
                if i >= n:
                    break
            event = events[i]
            ts = event.ts
            if ts >= self.decided + step:
                instant = math.floor(ts / step) * step
                if self.watermark == _NEG_INF:
                    self.decided = instant  # nothing counted yet: the first decision is the next edge
                elif ts <= max(wall_now, self.watermark) + ahead:
                    self.advance_to(instant, wall_now, step, decide_last=True)
            group = _group_of(slo, event) if grouped else None
            outcome = self.state_for(group).accept(ts, event.ok, event.latency_ms, wall_now)
            i += 1
            if outcome >= _FIRST_REFUSED:
                refused.append(Refusal(i - 1, outcome))
                continue
            counted += 1
            if ts > self.watermark:
                self.watermark = ts
            if outcome is _BAD or outcome is _GOOD:
                self.contributors_for(group).add(ts, outcome is _BAD, event.operation, event.region)
        if counted:
            self._next_due = None
            if self.last_received_wall is None or wall_now > self.last_received_wall:
                self.last_received_wall = wall_now
        return counted, refused

    def _head_run(self, events: Sequence, start: int, wall_now: float, step: float) -> int:
        """Count the run of events from `start` that lies in the head span (`_head_span`) in bulk;
        return where it ends (`start`: no run)."""
        state = self.state
        if self.watermark < state.watermark:
            return start
        span = self._head_span(state, self.contributors.get(None), wall_now, step)
        if span is None:
            return start
        run = state.accept_run(events, start, span)
        if run.end > start:
            self.contributors[None].add_head_run(run.judged, run.bad)
            if state.watermark > self.watermark:
                self.watermark = state.watermark
        return run.end

    def _grouped_head_run(self, events: Sequence, start: int, wall_now: float, step: float) -> int:
        """`_head_run` for a grouped SLO: the run ends at the first event outside its own group's
        head span (or of a group with no state yet, or with an invalid latency); each group then
        counts its share of the run in bulk. Groups share nothing, so this is the same as counting
        the run's events one by one."""
        slo, held = self.slo, self.state.held
        shares: dict[str | None, tuple[SloState, tuple[float, float], list]] = {}
        end, n = start, len(events)
        while end < n:
            event = events[end]
            group = _group_of(slo, event)
            share = shares.get(group)
            if share is None:
                state = held(group)
                span = None if state is None else self._head_span(state, self.contributors.get(group), wall_now, step)
                if span is None:
                    break
                share = shares[group] = (state, span, [])
            state, (lo, hi), mine = share
            if not lo <= event.ts < hi or state.refuses_latency(event.latency_ms):
                break
            mine.append(event)
            end += 1
        for group, (state, span, mine) in shares.items():
            if mine:
                run = state.accept_run(mine, 0, span)
                self.contributors[group].add_head_run(run.judged, run.bad)
                if state.watermark > self.watermark:
                    self.watermark = state.watermark
        return end

    def _head_span(self, state: SloState, contributors: Contributors | None, wall_now: float,
                   step: float) -> tuple[float, float] | None:
        """[start, end): event times that land in the head bucket of every ring level of `state` and
        of its contributors, before the next decision edge and not too far ahead; None if none do."""
        watermark = state.watermark
        if watermark == _NEG_INF or contributors is None:
            return None
        start, end = contributors.head_span()
        ring_start, ring_end = state.ring.head_span()
        end = min(end, ring_end, self.decided + step, max(wall_now, watermark) + state.max_future_s)
        start = max(start, ring_start)
        return (start, end) if start < end else None

    def take_pending(self) -> list[tuple[Notice, float, dict | None]]:
        out, self.pending = self.pending, []
        return out

    # Checkpoints.
    def to_bytes(self) -> bytes:
        state = grouped_to_bytes(self.state) if self.grouped else state_to_bytes(self.state)
        definition = checkpoint.definition_bytes(self.slo, self.state)
        meta = {
            "watermark": None if self.watermark == _NEG_INF else self.watermark,
            "decided": None if self.decided == _NEG_INF else self.decided,
            "last_received_wall": self.last_received_wall,
            "alerts": self.book.to_json(),
            "contributors": [[g, c.to_json()] for g, c in self.contributors.items()],
            "contributor_horizon_s": self.horizon,
            "compliance": self.compliance.to_json(),
        }
        return b"".join((MAGIC, _HEADER.pack(VERSION, len(state)), state,
                         _DEFINITION_LENGTH.pack(len(definition)), definition, orjson.dumps(meta)))

    def load_bytes(self, data: bytes) -> checkpoint.Restored:
        """Restore a checkpoint (this runtime is fresh): whatever it holds, never raises; returns
        what could not be carried over and the alerts whose resolution is owed."""
        restored = checkpoint.restore(self, data)
        self.pending = []
        return restored
