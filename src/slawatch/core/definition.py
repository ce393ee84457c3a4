"""What a checkpoint must know about the SLO it was written under: the state-relevant definition.

A checkpoint outlives the catalogue it was written under. To restore it under an edited catalogue
the engine must know what the old state means and how it is laid out:

- `sli`: how an event was classified (kind, threshold, error handling). If this changed, the counts
  answer another question: the state cannot be carried over.
- `slice_s`: the timeslice length (None: events are budgeted). Closed slices survive only as
  verdicts per slice of that length, so another length cannot be carried over either.
- `group_by`: the dimension groups are keyed by (None: one state). Another dimension, other groups.
- `calendars`: the calendar windows whose period totals the state keeps, in the order it keeps them.
- `plan`: the ring levels, sketch tiers, fine level and slice rollup (`plan.plan_for`), which
  the snapshot's byte layout follows.

The objective, alert rules, match filters, exclusions, labels and texts are not part of it: they do
not change what was counted. The definition is stored as a small JSON object with its own version
(`VERSION`); one of an unknown version is refused with `DefinitionVersionError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from slawatch.core.model import CalendarUnit, CalendarWindow, SliKind, Slo
from slawatch.core.ring import Level
from slawatch.core.plan import Plan, plan_for, slice_seconds

VERSION = 1


class DefinitionVersionError(ValueError):
    """A stored definition of a version this build does not read."""


@dataclass(frozen=True, slots=True)
class StateDefinition:
    sli: tuple  # (kind, threshold_ms, errors); threshold and errors are None for availability
    slice_s: int | None
    group_by: str | None
    calendars: tuple[CalendarWindow, ...]
    plan: Plan

    def counts_alike(self, other: StateDefinition) -> bool:
        """Whether a state written under `other` counts what one under self counts."""
        return self.sli == other.sli and self.slice_s == other.slice_s

    def changes(self, other: StateDefinition) -> list[str]:
        """What differs from `other` (the stored definition), in words, for logs."""
        out = []
        for name, mine, theirs in (("sli", self.sli, other.sli), ("timeslice", self.slice_s, other.slice_s),
                                   ("group_by", self.group_by, other.group_by)):
            if mine != theirs:
                out.append(f"{name} {_text(theirs)} -> {_text(mine)}")
        if self.calendars != other.calendars:
            out.append(f"calendars {_calendars_text(other.calendars)} -> {_calendars_text(self.calendars)}")
        if self.plan != other.plan:
            out.append(f"ring levels {_levels_text(other.plan.levels)} -> {_levels_text(self.plan.levels)}")
        return out


def definition_of(slo: Slo, plan: Plan | None = None) -> StateDefinition:
    """The state-relevant definition of `slo` (`plan`: its plan, when already computed)."""
    sli = slo.sli
    latency = sli.kind is not SliKind.AVAILABILITY
    return StateDefinition(
        sli=(sli.kind.value, sli.threshold_ms if latency else None, sli.errors.value if latency else None),
        slice_s=slice_seconds(slo),
        group_by=None if slo.group_by is None else slo.group_by.dimension.value,
        calendars=tuple(dict.fromkeys(w for w in slo.windows if isinstance(w, CalendarWindow))),
        plan=plan or plan_for(slo),
    )


def to_json(definition: StateDefinition) -> bytes:
    plan = definition.plan
    return orjson.dumps({
        "v": VERSION,
        "sli": list(definition.sli),
        "slice_s": definition.slice_s,
        "group_by": definition.group_by,
        "calendars": [[w.unit.value, w.count, w.time_zone] for w in definition.calendars],
        "levels": _levels_json(plan.levels),
        "sketch_levels": None if plan.sketch_levels is None else _levels_json(plan.sketch_levels),
        "fine": plan.fine,
        "rollup": None if plan.rollup is None else [plan.rollup.resolution_s, plan.rollup.capacity],
    })


def from_json(data: bytes) -> StateDefinition:
    """The definition `to_json` wrote; ValueError if it is not one, DefinitionVersionError if newer."""
    doc = orjson.loads(data)
    if not isinstance(doc, dict):
        raise ValueError("a state definition is a JSON object")
    if doc.get("v") != VERSION:
        raise DefinitionVersionError(f"state definition version {doc.get('v')!r} is unknown; "
                                     f"this build reads {VERSION}")
    sketch, rollup = doc["sketch_levels"], doc["rollup"]
    plan = Plan(_levels(doc["levels"]), None if sketch is None else _levels(sketch), doc["fine"],
                None if rollup is None else Level(*rollup))
    calendars = tuple(CalendarWindow(CalendarUnit(unit), count, zone) for unit, count, zone in doc["calendars"])
    return StateDefinition(tuple(doc["sli"]), doc["slice_s"], doc["group_by"], calendars, plan)


def _levels_json(levels: tuple[Level, ...]) -> list[list[int]]:
    return [[level.resolution_s, level.capacity] for level in levels]


def _levels(rows: list) -> tuple[Level, ...]:
    return tuple(Level(int(r), int(c)) for r, c in rows)


def _text(value) -> str:
    if isinstance(value, tuple):
        return "/".join(str(v) for v in value if v is not None)
    return str(value)


def _calendars_text(calendars: tuple[CalendarWindow, ...]) -> str:
    return "[" + ", ".join(f"{w.name} {w.time_zone}" for w in calendars) + "]"


def _levels_text(levels: tuple[Level, ...]) -> str:
    return " ".join(f"{level.resolution_s}s x {level.capacity}" for level in levels)
