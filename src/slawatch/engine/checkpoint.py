"""An SLO's checkpoint restored under the current catalogue, whatever the catalogue's edit.

Layout (`SloRuntime.to_bytes`, version 2): b"SWE" + version (u8) + u32 length + the state snapshot
(`core.snapshot`, with the offsets) + u16 length + the state definition it was written under
(`core.definition`, JSON) + JSON of the clocks, the firing alerts (`AlertBook.to_json`), the
contributor rings and their horizon, and the compliance log (`engine.compliance_log`: the alerts,
data quality and finals sent of its compliance records, restored whatever else starts afresh). Version 1 had no definition and no horizon; it is still read.

What `restore` carries over, and what it tallies (`Restored.notes`, reasons in `REASONS`):

- same definition: everything, exactly (the objective, rule factors, filters, labels may differ);
- ring plan changed (windows or alert windows edited): counts re-bucketed into the new layout, exact
  within each level's kept span, older ones dropped (`core.relayout`)      -> windows_rebucketed;
- calendar windows added, removed or re-zoned: kept windows keep their totals, new ones start from
  what the old ring knew                                                   -> calendar_changed;
- max_groups lowered: the groups first seen are kept                       -> groups_trimmed;
- an alert whose rule (or group) no longer exists: dropped from the book; if its firing was sent,
  its resolution is sent at the next evaluation, ended at the last decision instant before the
  restart (no-data: at that evaluation's wall time)                        -> alerts_retired;
- SLI kind, threshold, error handling or timeslice length changed: the counts answer another
  question, the SLO starts afresh (its firing alerts resolved as above)    -> sli_changed;
- group_by dimension changed (or added, or removed): afresh                -> group_by_changed;
- bytes that cannot be read (bad magic, truncated, corrupt): afresh        -> unreadable;
- an unknown checkpoint, snapshot or definition version, or a version-1 checkpoint whose layout is
  no longer the SLO's (it does not say which one it had): afresh          -> version.

Nothing here raises: whatever a checkpoint holds, the SLO keeps counting.
"""

from __future__ import annotations

import logging
import math
import struct
from dataclasses import dataclass, field, replace

import orjson

from slawatch.core import definition as defs
from slawatch.core.alerts import RESOLVED, Alert, Notice
from slawatch.core.model import CalendarWindow, RollingWindow, Slo
from slawatch.core.policies import (
    BUDGET_CONSUMED, BURN_RATE, FORECAST, NO_DATA, SLA_AT_RISK, SLA_BREACH, SLO_BREACH,
)
from slawatch.core.relayout import relayout, relayout_grouped, trim_groups
from slawatch.core.slo_state import GroupedSloState, SloState
from slawatch.core.snapshot import SnapshotVersionError, grouped_from_bytes, state_from_bytes

MAGIC = b"SWE"
VERSION = 2  # 2: the state definition and the contributors' horizon; 1: state + JSON
READABLE_VERSIONS = (1, 2)
WINDOWS_REBUCKETED = "windows_rebucketed"
CALENDAR_CHANGED = "calendar_changed"
GROUPS_TRIMMED = "groups_trimmed"
ALERTS_RETIRED = "alerts_retired"
SLI_CHANGED = "sli_changed"
GROUP_BY_CHANGED = "group_by_changed"
UNREADABLE = "unreadable"
VERSION_UNKNOWN = "version"
REASONS = (WINDOWS_REBUCKETED, CALENDAR_CHANGED, GROUPS_TRIMMED, ALERTS_RETIRED, SLI_CHANGED, GROUP_BY_CHANGED,
           UNREADABLE, VERSION_UNKNOWN)
_HEADER = struct.Struct("<BI")
_DEFINITION_LENGTH = struct.Struct("<H")
log = logging.getLogger("slawatch.engine")


@dataclass(frozen=True, slots=True)
class Note:
    """One reset or partial carry-over: its reason (one of REASONS) and what happened, in words."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Retired:
    """An alert whose firing was sent and whose rule is gone: its resolution is still owed."""

    alert: Alert
    ended_at: float | None  # event time; None: the wall time of the evaluation that sends it

    def notice(self, wall_now: float) -> Notice:
        a = self.alert
        ended = wall_now if self.ended_at is None else self.ended_at
        return Notice(RESOLVED, a.id, a.group, a.condition, a.onset, ended)


@dataclass
class Restored:
    notes: list[Note] = field(default_factory=list)
    retired: list[Retired] = field(default_factory=list)


class CheckpointError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Checkpoint:
    version: int
    state: bytes
    definition: defs.StateDefinition | None
    meta: dict


_DEFINITIONS: dict[int, tuple[Slo, bytes]] = {}


def definition_bytes(slo: Slo, state) -> bytes:
    """The encoded definition of `slo`, computed once per SLO object (checkpoints are per batch)."""
    cached = _DEFINITIONS.get(id(slo))
    if cached is None or cached[0] is not slo:
        encoded = defs.to_json(defs.definition_of(slo, _plan_of(state)))
        cached = _DEFINITIONS[id(slo)] = (slo, encoded)
    return cached[1]


def read(data: bytes) -> Checkpoint:
    """Split a checkpoint into its parts; CheckpointError (with the reason) if it cannot be read."""
    if bytes(data[:3]) != MAGIC:
        raise CheckpointError(UNREADABLE, "not an engine checkpoint (bad magic bytes)")
    try:
        version, length = _HEADER.unpack_from(data, 3)
    except struct.error:
        raise CheckpointError(UNREADABLE, "truncated engine checkpoint") from None
    if version not in READABLE_VERSIONS:
        raise CheckpointError(VERSION_UNKNOWN, f"engine checkpoint version {version} is unknown; this build reads "
                                               f"{', '.join(map(str, READABLE_VERSIONS))}")
    at = 3 + _HEADER.size
    state, at = bytes(data[at : at + length]), at + length
    if len(state) != length:
        raise CheckpointError(UNREADABLE, "truncated engine checkpoint")
    definition = None
    try:
        if version >= 2:
            (size,) = _DEFINITION_LENGTH.unpack_from(data, at)
            definition = defs.from_json(data[at + 2 : at + 2 + size])
            at += 2 + size
        meta = orjson.loads(data[at:])
        if not isinstance(meta, dict):
            raise ValueError("checkpoint metadata is not a JSON object")
    except defs.DefinitionVersionError as error:
        raise CheckpointError(VERSION_UNKNOWN, str(error)) from None
    except (ValueError, KeyError, TypeError, struct.error) as error:
        raise CheckpointError(UNREADABLE, f"corrupt engine checkpoint: {error}") from None
    return Checkpoint(version, state, definition, meta)


def restore(rt, data: bytes) -> Restored:
    """Load `data` into `rt` (a fresh SloRuntime of the current SLO); see the module docstring."""
    out = Restored()
    try:
        checkpoint = read(data)
        meta = checkpoint.meta
        watermark, decided = _instant(meta.get("watermark")), _instant(meta.get("decided"))
        rt.book.load_json(meta.get("alerts") or [])
    except (CheckpointError, ValueError, KeyError, TypeError) as error:
        rt.book.alerts = {}
        out.notes.append(Note(getattr(error, "reason", UNREADABLE), str(error)))
        return out
    rt.last_received_wall = meta.get("last_received_wall")  # the no-data clock runs on, whatever else
    rt.compliance.load_json(meta.get("compliance"))  # a period's alerts and finals outlive its counts
    state = _guarded_state(rt, checkpoint, out.notes)
    if state is None:
        rt.state = (GroupedSloState if rt.grouped else SloState)(rt.slo, *rt._options)
        out.retired = _retire(rt, lambda alert: False, decided)
        return out
    if rt.grouped:
        dropped = trim_groups(state)
        if dropped:
            out.notes.append(Note(GROUPS_TRIMMED, f"max_groups is {state.max_groups}: dropped {', '.join(dropped)}"))
    rt.state = state
    rt.watermark, rt.decided = watermark, decided
    held = set(rt.book.alerts)
    out.retired = _retire(rt, lambda alert: _still_raised(rt, alert), decided)
    gone = sorted(rule for _, rule in held - set(rt.book.alerts))
    if gone:
        out.notes.append(Note(ALERTS_RETIRED, f"rules or groups no longer in the catalogue: {', '.join(gone)}"))
    _load_contributors(rt, meta)
    return out


def _guarded_state(rt, checkpoint: Checkpoint, notes: list[Note]):
    """`_state`, and UNREADABLE for whatever else a checkpoint can make go wrong: never raises."""
    try:
        return _state(rt, checkpoint, notes)
    except Exception as error:  # a checkpoint must never wedge the worker; the log keeps the trace
        log.exception("checkpoint of SLO %s could not be restored", rt.slo.name)
        notes.append(Note(UNREADABLE, f"{type(error).__name__}: {error}"))
        return None


def _load_contributors(rt, meta: dict) -> None:
    """The contributor rings, if their horizon (the fastest rule's short window) is unchanged."""
    if meta.get("contributor_horizon_s", rt.horizon) != rt.horizon:
        return
    groups = set(rt.state.groups) if rt.grouped else {None}
    for group, rows in meta.get("contributors") or []:
        if group in groups:
            rt.contributors_for(group).load_json(rows)


def _state(rt, checkpoint: Checkpoint, notes: list[Note]) -> SloState | GroupedSloState | None:
    """The restored counting state, or None when the SLO starts afresh (the reason is in `notes`)."""
    slo, fresh = rt.slo, rt.state
    current = defs.definition_of(slo, _plan_of(fresh))
    stored = checkpoint.definition
    if stored is None:
        return _version_1_state(rt, checkpoint.state, notes)
    try:
        changes = "; ".join(current.changes(stored))
        if not current.counts_alike(stored):
            notes.append(Note(SLI_CHANGED, f"{changes}: the counts answer another question, started afresh"))
            return None
        if current.group_by != stored.group_by:
            notes.append(Note(GROUP_BY_CHANGED, f"{changes}: groups are keyed otherwise, started afresh"))
            return None
        if stored.plan == current.plan and stored.calendars == current.calendars:
            state = _parse(rt, checkpoint.state, slo, None)
        else:
            shell = replace(slo, windows=stored.calendars or (RollingWindow(86400),))
            state = _parse(rt, checkpoint.state, shell, stored.plan)
            (relayout_grouped if rt.grouped else relayout)(state, fresh)
            state = fresh
            if stored.plan != current.plan:
                notes.append(Note(WINDOWS_REBUCKETED, f"{changes}: counts re-bucketed, "
                                                      "those older than each level's kept span dropped"))
            if stored.calendars != current.calendars:
                notes.append(Note(CALENDAR_CHANGED, f"{changes}: new calendar windows count what the old ring knew"))
    except SnapshotVersionError as error:
        notes.append(Note(VERSION_UNKNOWN, str(error)))
        return None
    except ValueError as error:
        notes.append(Note(UNREADABLE, f"corrupt state snapshot: {error}"))
        return None
    return state


def _version_1_state(rt, body: bytes, notes: list[Note]):
    """A version-1 checkpoint says nothing of its layout: restored only if it is the current one."""
    try:
        return _parse(rt, body, rt.slo, None)
    except SnapshotVersionError as error:
        notes.append(Note(VERSION_UNKNOWN, str(error)))
    except ValueError as error:
        notes.append(Note(VERSION_UNKNOWN, f"a version-1 checkpoint of another layout cannot be carried over: {error}"))
    return None


def _parse(rt, body: bytes, slo: Slo, plan):
    is_excluded, max_future_s = rt._options
    read_state = grouped_from_bytes if rt.grouped else state_from_bytes
    if plan is None:
        return read_state(body, slo, is_excluded, max_future_s=max_future_s)
    return read_state(body, slo, None, max_future_s=max_future_s, plan=plan)


def _plan_of(state):
    return state._options[2] if isinstance(state, GroupedSloState) else state.plan


def _retire(rt, keep, decided: float) -> list[Retired]:
    """Drop the book's alerts `keep` refuses; those whose firing was sent are owed a resolution."""
    retired = []
    for key, alert in list(rt.book.alerts.items()):
        if keep(alert):
            continue
        del rt.book.alerts[key]
        if alert.notified:
            timed = alert.condition.type != NO_DATA and decided != -math.inf
            retired.append(Retired(alert, decided if timed else None))
    return retired


def _still_raised(rt, alert: Alert) -> bool:
    """Whether the current SLO still raises this alert: its rule exists, and so does its group.

    Mirrors the condition ids of `core.policies`: burn rules by name, `budget-<pct>`, `forecast`,
    `slo-breach`, `sla-<window>-...` and `no-data`."""
    slo, c = rt.slo, alert.condition
    if alert.group is not None and not (rt.grouped and alert.group in rt.state.groups):
        return False
    alerting = slo.alerting
    primary = slo.windows[0]
    contract_period = slo.contractual and isinstance(primary, CalendarWindow)
    if c.type == BURN_RATE:
        return any(rule.name == c.id for rule in alerting.burn_rate_rules)
    if c.type == BUDGET_CONSUMED:
        return c.id in {f"budget-{t * 100:g}" for t in alerting.budget_consumed_thresholds}
    if c.type in (FORECAST, SLA_AT_RISK):
        return alerting.forecast and c.type == (SLA_AT_RISK if contract_period else FORECAST)
    if c.type == SLO_BREACH:
        return not contract_period
    if c.type == SLA_BREACH:
        return slo.contractual and any(c.id.startswith(f"sla-{w.name}-") for w in slo.windows
                                       if isinstance(w, CalendarWindow))
    if c.type == NO_DATA:
        return alerting.no_data_after_s is not None
    return False


def _instant(value) -> float:
    return -math.inf if value is None else float(value)
