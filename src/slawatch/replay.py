"""`slawatch replay`: the same Engine and policies over a JSONL file, no broker, alerts to stdout.

Each line is one `sla.events` record (an event or an array of events), decoded by the ingest
decoder; an invalid line or element is reported on stderr with its line number and skipped, as is
an event the engine refuses (too old, too far ahead). Line n is applied as partition 0, offset n,
so a file that repeats itself is deduplicated exactly as a redelivered topic would be.

Time: with wall_clock="event" (the default) the wall clock is the file's own time: the highest event
time seen so far, never going back. So no-data and "a quiet second is decided after settle_s" are
deterministic offline. The engine decides at every event-time second edge as events cross it
(engine/runtime docstrings), so the output does not depend on how lines are grouped: `evaluate`
runs after every line and prints what was decided. wall_clock="system" reads the real clock instead
(a live tail of a file). Each alert payload is printed as one JSON line, keys sorted (orjson).

The whole catalogue is watched from the first line, so an SLO that never sees an event raises
no-data after its interval of file time.

`--summary` adds, after the alerts, one `"type": "summary"` line per SLO and group: exact counts
and ratios of every window at the file's last event time or `--at` (`engine.summary`).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

import orjson

from slawatch.catalog import load_catalog
from slawatch.engine import Engine
from slawatch.ingest.decode import decode_record
from slawatch.settings import Settings


def run_replay(catalog_paths: Sequence[str | Path], events_path: str | Path, out: TextIO | None = None,
               wall_clock: str = "event", err: TextIO | None = None, step_s: float | None = None,
               summary: bool = False, at: float | None = None) -> int:
    """Replay the file; return 0, or 1 when some line or event was refused (all others still count).

    With `summary`, one summary line per SLO and group follows the alerts (`engine.summary`), at
    event time `at`, by default the file's last event time."""
    if wall_clock not in ("event", "system"):
        raise ValueError(f"wall_clock must be 'event' or 'system', got {wall_clock!r}")
    out = out or sys.stdout
    err = err or sys.stderr
    engine = Engine(load_catalog(catalog_paths), step_s=Settings().decision_step_s if step_s is None else step_s)
    names = [slo.name for slo in engine.catalog.slos]
    wall = latest = -math.inf
    problems = 0
    watching = False
    with open(events_path, "rb") as source:
        for number, line in enumerate(source, start=1):
            line = line.strip()
            if not line:
                continue
            decoded = decode_record(line, now=math.inf)
            for invalid in decoded.invalid:
                problems += 1
                where = f"line {number}" + (f", element {invalid.index}" if invalid.index is not None else "")
                err.write(f"{events_path}:{where}: {invalid.reason}: {invalid.message}\n")
            if not decoded.events:
                continue
            latest = max(latest, max(e.ts for e in decoded.events))
            if wall_clock == "event":
                wall = max(wall, max(e.ts for e in decoded.events))
            else:
                wall = time.time()
            if not watching:
                engine.evaluate(wall, names)  # start every SLO's no-data clock at the file's start
                watching = True
            applied = engine.apply(decoded.events, partition=0, offset=number, wall_now=wall)
            for event, reason, message in applied.refused:
                problems += 1
                err.write(f"{events_path}:line {number}: {reason}: {message} (ts {event.ts})\n")
            for record in engine.evaluate(wall):
                out.write(orjson.dumps(record.payload, option=orjson.OPT_SORT_KEYS).decode() + "\n")
    if summary:
        problems += write_summaries(engine, names, latest if at is None else at, out, err)
    return 1 if problems else 0


def write_summaries(engine: Engine, names: Sequence[str], at: float, out: TextIO, err: TextIO) -> int:
    """One summary line per SLO and group at `at`; 1 (a problem) when there is no instant to use."""
    if at == -math.inf:
        err.write("replay --summary: the file has no events, so no time to summarise at; pass --at TIME\n")
        return 1
    for name in names:
        for line in engine.summary(name, at, complete_history=True):  # replay restores no checkpoint
            out.write(orjson.dumps(line, option=orjson.OPT_SORT_KEYS).decode() + "\n")
    return 0


def parse_instant(text: str) -> float:
    """`--at`: epoch seconds, or an RFC 3339 time with its offset; ValueError says what is valid."""
    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.strip().upper().replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise ValueError(f"{text!r} is neither epoch seconds nor an RFC 3339 time with an offset "
                             "(e.g. 1767572120 or 2026-01-05T00:15:20Z)") from None
        return moment.timestamp()
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number of epoch seconds")
    return value
