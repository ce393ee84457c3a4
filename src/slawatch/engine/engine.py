"""The Engine: the one object the Faust layer (and `replay`) drives. Pure: time is a parameter.

    apply(events, partition=, offset=, wall_now=)  count a record's events; decide at second edges
    evaluate(wall_now, slos=None, clocks=None)     alert records made since the last call, plus those
                                                   of the clock: quiet SLOs decided, no-data
    checkpoint(slo) / restore(slo, data) / drop(slos)
    status / records / gauges                      sla.status, sla.records, the scrape collector

Order per batch for exactly-once alerting on at-least-once delivery: apply -> evaluate -> publish
the records -> checkpoint. A crash before the checkpoint replays the events from the previous one,
and the replay re-makes the same decisions, so the same alerts come again under the same ids.

Offsets: all events of one record share its offset, so the offset is checked once per (record,
SLO): a redelivered record is a duplicate for every SLO it was counted by.
Wall clock: `wall_now` of `apply` is when the events were received (no-data measures from it).
Time slides for quiet SLOs: `evaluate` decides an SLO that received nothing for `settle_s` of wall
time up to its clock - the event time up to which its partition is known to be read: by default
the highest event time applied from that partition (never past wall_now); the worker passes
`clocks` (the wall clock, less the lateness it allows, for partitions it has caught up with); and
always at least to the decision after the SLO's own last event. So its windows empty and its alerts
resolve on time, as Prometheus evaluates a rule whether or not samples came. An event of a quiet
SLO arriving later than its clock may miss decisions already taken (it still counts).
settle_s=None turns this off for runs that must depend on the SLO's own events alone.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from slawatch.core import evaluate as ev
from slawatch.core import policies
from slawatch.core.alerts import LifecycleConfig
from slawatch.core.event import Event
from slawatch.core.exclusions import ExclusionSchedule
from slawatch.core.matching import SloIndex, has_filters
from slawatch.core.model import Catalog, Slo
from slawatch.core.slo_state import Outcome, seen_before
from slawatch.engine import gauges as gauges_mod
from slawatch.engine.checkpoint import Restored, Retired
from slawatch.engine import compliance
from slawatch.engine.compliance import ComplianceRecord
from slawatch.engine.payloads import alert_record, status_record
from slawatch.engine.records import AlertRecord, Applied, StatusRecord
from slawatch.engine.runtime import Refusal, SloRuntime

_REASONS = {Outcome.TOO_OLD: "too_old", Outcome.TOO_FAR_AHEAD: "too_far_ahead", Outcome.INVALID: "invalid"}
_MESSAGES = {
    Outcome.TOO_OLD: "event time is older than the SLO keeps ({slo}); it can no longer change a window",
    Outcome.TOO_FAR_AHEAD: "event time is more than {ahead:g} s ahead of the SLO's watermark and the wall clock ({slo})",
    Outcome.INVALID: "latency_ms must be a finite number >= 0 for a latency SLI ({slo})",
}
_NEG_INF = -math.inf
_NO_DATA_TYPES = frozenset({policies.NO_DATA})
log = logging.getLogger("slawatch.engine")


class Engine:
    def __init__(self, catalog: Catalog, *, source: str = "/slawatch",
                 load_checkpoint: Callable[[str], bytes | None] | None = None, max_future_s: float = 300.0,
                 lifecycle: LifecycleConfig | None = None, step_s: float = 1.0,
                 settle_s: float | None = 1.0) -> None:
        self.catalog = catalog
        self.source = source
        # Each SLO refuses (TOO_FAR_AHEAD) an event further ahead than this of max(its watermark,
        # wall_now): one clock gone wrong must not advance its rings past every real bucket.
        # (Decode's max_future_skew_s, a day, refuses absurd times before any SLO sees them.)
        self.max_future_s = max_future_s
        self.lifecycle = lifecycle or LifecycleConfig()
        self.step_s = step_s
        self.settle_s = settle_s
        self._load = load_checkpoint
        self._index = SloIndex(catalog.slos)
        self._slos = {slo.name: slo for slo in catalog.slos}
        self._services = {s.name: s for s in catalog.services}
        self._runtimes: dict[str, SloRuntime] = {}
        # sla.events partition -> the highest event time applied from it: a quiet SLO's default clock
        self.partition_clock: dict[int | None, float] = {}
        self._partition_of: dict[str, int | None] = {}  # SLO -> the partition its events came from
        # (SLO, reason) -> checkpoints restored only in part or not at all (engine.checkpoint.REASONS)
        self.state_resets: Counter[tuple[str, str]] = Counter()
        self._retired: dict[str, list[Retired]] = {}  # resolutions owed for alerts whose rule is gone
        self.known_services: frozenset[str] = self._index.known_services
        self._by_service = {name: tuple(s.name for s in catalog.slos_for(name)) for name in self.known_services}
        self._rank = {slo.name: i for i, slo in enumerate(catalog.slos)}
        # Services whose SLOs have no filters: every event of theirs counts for all of them.
        self._plain: dict[str, tuple] = {}
        for name in self.known_services:
            slos = catalog.slos_for(name)
            if not any(has_filters(s.match) for s in slos):
                self._plain[name] = slos

    def slo_names_for(self, service: str) -> tuple[str, ...]:
        return self._by_service.get(service, ())

    @property
    def held(self) -> tuple[str, ...]:
        """The SLOs this engine holds state for."""
        return tuple(self._runtimes)

    # State handling.
    def _new_runtime(self, name: str) -> SloRuntime:
        slo = self._slos[name]
        service = self._services.get(slo.service)
        schedule = ExclusionSchedule(slo.exclusions + (service.exclusions if service else ()))
        rt = SloRuntime(slo, schedule.contains if schedule else None, self.max_future_s, self.lifecycle)
        rt.compliance.schedule = schedule  # excluded time of its compliance records
        return rt

    def _runtime(self, name: str) -> SloRuntime:
        rt = self._runtimes.get(name)
        if rt is None:
            if name not in self._slos:
                raise KeyError(f"SLO {name!r} is not in the catalogue")
            rt = self._new_runtime(name)
            data = self._load(name) if self._load is not None else None
            if data:
                self._restored(name, rt.load_bytes(data))
            self._runtimes[name] = rt
        return rt

    def checkpoint(self, slo: str) -> bytes:
        return self._runtime(slo).to_bytes()

    def restore(self, slo: str, data: bytes) -> None:
        rt = self._new_runtime(slo)
        self._restored(slo, rt.load_bytes(data))
        self._runtimes[slo] = rt

    def _restored(self, slo: str, restored: Restored) -> None:
        """Tally and log what a checkpoint could not carry over; owe the retired alerts' resolutions."""
        for note in restored.notes:
            self.state_resets[(slo, note.reason)] += 1
            log.warning("checkpoint not carried over in full: %s", note.detail, extra={"slo": slo, "reason": note.reason})
        if restored.retired:
            self._retired[slo] = restored.retired
        else:
            self._retired.pop(slo, None)

    def _release_retired(self, wall_now: float) -> None:
        """Queue the resolutions owed (see `_restored`) on their SLOs, stamped with this wall time."""
        for name, retired in self._retired.items():
            rt = self._runtimes.get(name)
            if rt is not None:
                rt.pending.extend((r.notice(wall_now), wall_now, None) for r in retired)
        self._retired.clear()

    def recent_counts(self, slo: str, span_s: float = 86_400.0) -> dict[str, int]:
        """Good, total and excluded events of the last `span_s` of event time (at most what the SLO's
        ring keeps), all groups summed.

        For operators and tests (`/debug/state`): what the state has counted, independent of alerts.
        """
        good = total = excluded = 0
        for _, state in self._runtime(slo).groups():
            if state.watermark == -math.inf:
                continue
            stats = ev.window_stats(state, min(span_s, state.levels[-1].span_s), state.watermark + 1)
            good, total, excluded = good + stats.good, total + stats.total, excluded + stats.excluded
        return {"good": good, "total": total, "excluded": excluded}

    def forget_offsets(self, slo: str) -> None:
        """Forget which source offsets the SLO has counted: its topic is a new log (recreated, or an
        in-memory broker restarted), where old offsets name other records."""
        self._runtime(slo).state.offsets.clear()

    def drop(self, slos: Iterable[str]) -> None:
        for name in slos:
            self._runtimes.pop(name, None)

    # The hot path.
    def apply(self, events: Sequence[Event], *, partition: int | None = None, offset: int | None = None,
              wall_now: float) -> Applied:
        """Count a record's events for every SLO they match, deciding at step edges.

        The events are grouped by SLO once (each SLO sees its events in record order; SLOs are taken
        in the order they are first matched), then each SLO counts its whole run
        (`SloRuntime.apply_events`). SLOs share nothing while counting, so this is the same as
        taking the events one by one; a refused event is reported once, with the reason of the
        first SLO (in catalogue order) that refused it."""
        return self.apply_records([RecordEvents(offset, events)], partition=partition, wall_now=wall_now)[0]

    def apply_records(self, records: Sequence[RecordEvents], *, partition: int | None = None,
                      wall_now: float) -> list[Applied]:
        """`apply` for several records of one partition, in offset order: one `Applied` per record,
        exactly what `apply` would return for each in turn.

        Each SLO counts the events of all the batch's records it matches in one run (a record it has
        already counted, by offset, is skipped as a duplicate), so a batch of one-event records costs
        one `SloRuntime.apply_events` per SLO, not one per record and SLO. The same as applying the
        records one by one: an SLO's run is its events in record order, and SLOs share nothing.
        Three steps: match events to SLOs, count each SLO's run, attribute counts and refusals back
        to the records."""
        results = [Applied() for _ in records]
        refusals = _FirstRefusals(len(records))
        for name, match in self._match(records).items():
            rt = self._runtimes.get(name) or self._runtime(name)
            run, shares = _unseen_run(rt.state, match, records, partition, results)
            if not shares:
                continue
            counted, refused = rt.apply_events(run, wall_now, self.step_s, self.max_future_s)
            if counted:
                self._partition_of[name] = partition
                if rt.watermark > self.partition_clock.get(partition, _NEG_INF):
                    self.partition_clock[partition] = rt.watermark
            refused_per_share = self._note_refusals(name, shares, refused, records, refusals) if refused else None
            for k, share in enumerate(shares):
                n = (shares[k + 1].begin if k + 1 < len(shares) else len(run)) - share.begin
                if refused_per_share is not None:
                    n -= refused_per_share[k]
                if n:
                    results[share.record].counted += n
                    results[share.record].touched.add(name)
        refusals.fill(results)
        return results

    def _match(self, records: Sequence[RecordEvents]) -> dict[str, SloMatch]:
        """Which events of which records each SLO counts, SLOs in the order they are first matched."""
        plain_for, slos_for = self._plain.get, self._index.slos_for
        matches: dict[str, SloMatch] = {}
        for r, (_, events) in enumerate(records):
            if not events:
                continue
            service = events[0].service
            plain = plain_for(service)
            if plain is not None and (len(events) == 1 or all(e.service == service for e in events)):
                matched: list = [(plain, None)]  # one service whose SLOs have no filters: all events count
            else:
                by_slos: dict[int, tuple[tuple, list[int]]] = {}  # id(tuple of SLOs) -> (SLOs, positions)
                for i, event in enumerate(events):
                    slos = slos_for(event)
                    if slos:
                        entry = by_slos.get(id(slos))
                        if entry is None:
                            by_slos[id(slos)] = (slos, [i])
                        else:
                            entry[1].append(i)
                matched = list(by_slos.values())
            for slos, positions in matched:
                for slo in slos:
                    match = matches.get(slo.name)
                    if match is None:
                        matches[slo.name] = SloMatch(slo, {r: [positions]})
                    elif (lists := match.positions.get(r)) is None:
                        match.positions[r] = [positions]
                    else:
                        lists.append(positions)
        return matches

    def _note_refusals(self, name: str, shares: list[Share], refused: list[Refusal],
                       records: Sequence[RecordEvents], refusals: _FirstRefusals) -> list[int]:
        """Hand each refused event of an SLO's run back to its record; how many each share lost."""
        rank, starts = self._rank[name], [share.begin for share in shares]
        refused_per_share = [0] * len(shares)
        for refusal in refused:
            k = bisect_right(starts, refusal.position) - 1
            refused_per_share[k] += 1
            share = shares[k]
            at = refusal.position - share.begin
            index = at if share.positions is None else share.positions[at]
            if refusals.is_first(share.record, index, rank):
                message = _MESSAGES[refusal.outcome].format(slo=name, ahead=self.max_future_s)
                refusals.note(share.record, index, rank,
                              (records[share.record][1][index], _REASONS[refusal.outcome], message))
        return refused_per_share

    # Decisions and their records.
    def evaluate(self, wall_now: float, slos: Iterable[str] | None = None,
                 clocks: Mapping[str, float] | None = None) -> list[AlertRecord]:
        """Alert records since the last call. `clocks`: per SLO, the event time up to which its events
        are known to be read (module docstring); by default its partition's clock."""
        runtimes = list(self._runtimes.values()) if slos is None else [self._runtime(name) for name in slos]
        if self._retired:
            self._release_retired(wall_now)
        out: list[AlertRecord] = []
        settle_s, step = self.settle_s, self.step_s
        for rt in runtimes:
            received = rt.last_received_wall
            if received is None:
                received = rt.last_received_wall = wall_now  # the no-data clock starts when the engine starts watching
            if settle_s is not None and rt.watermark != _NEG_INF and wall_now - received >= settle_s:
                clock = self._clock(rt.slo.name, wall_now) if clocks is None else clocks.get(rt.slo.name, _NEG_INF)
                # At least up to the decision after its own last event, but never past the wall clock.
                clock = min(max(clock, math.floor(rt.watermark / step) * step + step), wall_now)
                if (instant := math.floor(clock / step) * step) > rt.decided:
                    if rt.next_due(step) <= instant or (rt.book.alerts and rt.book.update_may_be_due(wall_now)):
                        rt.advance_to(instant, wall_now, step, decide_last=False)
                    else:
                        rt.decided = instant  # nothing can change before the next due instant
            if rt.no_data_after is not None:
                condition = policies.no_data(rt.slo, wall_now, received)
                notices = rt.book.step(None, [condition], wall_now, wall_now, _NO_DATA_TYPES)
                rt.pending.extend((n, wall_now, None) for n in notices)
            if rt.pending:
                out += self._records(rt)
        return out

    def _clock(self, slo: str, wall_now: float) -> float:
        """The default clock of a quiet SLO: its partition's highest applied event time, at most wall_now."""
        if slo not in self._partition_of:
            return _NEG_INF
        return min(self.partition_clock[self._partition_of[slo]], wall_now)

    def _records(self, rt: SloRuntime) -> list[AlertRecord]:
        out = []
        service = self._services.get(rt.slo.service)
        for notice, wall, contributors in rt.take_pending():
            out.append(alert_record(rt.slo, service, notice, wall, self.source, contributors))
            rt.compliance.note(notice, contributors)  # the alerts of its compliance periods
        return out

    # Views of the present.
    def status(self, slo: str, wall_now: float) -> list[StatusRecord]:
        rt = self._runtime(slo)
        out = []
        for group, state in rt.groups():
            firing = sorted(a.id for a in rt.book.firing(group) if a.notified)
            out.append(status_record(rt.slo, group, state, firing, wall_now))
        return out

    # Compliance records (sla.records, engine.compliance).
    def records(self, slo: str, wall_now: float) -> list[ComplianceRecord]:
        """The running record of every window (and the day) of every group, now."""
        return compliance.running_records(self._runtime(slo), wall_now)

    def compliance_due(self, slo: str, wall_now: float, running: bool = True) -> list[ComplianceRecord]:
        """Finals of the periods event time closed, and (`running`) the running records once a minute."""
        return compliance.due(self._runtime(slo), wall_now, running)

    def compliance_sent(self, slo: str, records: Sequence[ComplianceRecord], wall_now: float) -> None:
        """The broker acknowledged `records`: their finals are not due again (kept in the checkpoint)."""
        compliance.mark_sent(self._runtime(slo), records, wall_now)

    def note_dead_letters(self, by_service: Mapping[str, int], wall_now: float) -> None:
        """Dead letters of each service, for the data quality of its SLOs' records (SLOs held only)."""
        for service, count in by_service.items():
            for name in self.slo_names_for(service):
                rt = self._runtimes.get(name)
                if rt is not None:
                    compliance.note_dead_letters(rt, count, wall_now)

    def summary(self, slo: str, at: float, complete_history: bool = False) -> list[dict]:
        """`replay --summary`: exact counts and ratios per window at event time `at`, one per group.
        `complete_history`: no checkpoint was restored, so the state saw every event (as in replay)."""
        from slawatch.engine.summary import summary_lines

        return summary_lines(self._runtime(slo), at, complete_history)

    def gauges(self) -> Iterable[tuple[str, dict[str, str], float]]:
        """Gauge samples of every SLO held, each at its own watermark (engine.gauges)."""
        for rt in list(self._runtimes.values()):
            yield from gauges_mod.slo_gauges(rt)


class RecordEvents(NamedTuple):
    """One record's events with its offset (None: not de-duplicated), as `apply_records` takes them."""

    offset: int | None
    events: Sequence[Event]


class SloMatch(NamedTuple):
    """The events one SLO counts in a batch: per record index, lists of positions in the record's
    events (one list per tuple of SLOs that matched them; None: all the record's events)."""

    slo: Slo
    positions: dict[int, list[list[int] | None]]


class Share(NamedTuple):
    """The part of an SLO's run that one record gave: which events, and where they start in the run."""

    record: int  # index in the batch
    positions: list[int] | None  # positions in the record's events; None: all of them
    begin: int


def _unseen_run(state, match: SloMatch, records: Sequence[RecordEvents], partition: int | None,
                results: list[Applied]) -> tuple[Sequence[Event], list[Share]]:
    """The SLO's run: the matched events of the records it has not counted yet (by offset), in
    record order, and each record's share of it. Records already counted are tallied as duplicates."""
    shares: list[Share] = []
    run: list = []
    for r, lists in match.positions.items():
        offset, events = records[r]
        if lists[0] is None:
            positions, theirs = None, events
        else:
            positions = lists[0] if len(lists) == 1 else sorted(i for part in lists for i in part)
            theirs = [events[i] for i in positions]
        if offset is not None and seen_before(state.offsets, partition, offset):
            state.duplicates += len(theirs)
            results[r].duplicates += len(theirs)
            continue
        shares.append(Share(r, positions, len(run)))
        if len(match.positions) == 1:
            run = theirs
        else:
            run.extend(theirs)
    return run, shares


class _FirstRefusals:
    """Per record, each refused event once, with the reason of the first SLO (in catalogue order)
    that refused it."""

    __slots__ = ("by_record",)

    def __init__(self, records: int) -> None:
        self.by_record: list[dict[int, tuple[int, tuple]] | None] = [None] * records

    def is_first(self, record: int, index: int, rank: int) -> bool:
        found = self.by_record[record]
        return found is None or index not in found or rank < found[index][0]

    def note(self, record: int, index: int, rank: int, refusal: tuple) -> None:
        found = self.by_record[record]
        if found is None:
            found = self.by_record[record] = {}
        found[index] = (rank, refusal)

    def fill(self, results: list[Applied]) -> None:
        for applied, found in zip(results, self.by_record):
            if found:
                applied.refused = [found[i][1] for i in sorted(found)]
