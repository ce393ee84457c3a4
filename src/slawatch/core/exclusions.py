"""Maintenance windows and other excluded time, asked "is this instant excluded?" once per event.

Events inside an exclusion do not count against an SLO, so `contains` sits on the hot path. The
schedule keeps the merged exclusion intervals of a span of time as two sorted arrays (starts, ends)
and answers with one bisection; the span grows lazily, a week-aligned chunk at a time, as event time
moves, so an RRULE is only expanded for the time actually asked about. Without exclusions (the
common case) `contains` is a single attribute test; with only fixed exclusions nothing is ever
expanded.

Recurring exclusions follow RFC 5545:
- occurrences are wall-clock times in the exclusion's zone ("Sunday 02:00 local" stays 02:00 local
  across DST), each lasting `duration_s` real seconds;
- a wall time that does not exist (02:30 on a spring-forward day in New York) is read with the
  offset before the gap, i.e. 03:30 EDT, one hour after 01:30 EST (RFC 5545 section 3.3.5, which is
  also Python's fold=0); a wall time that happens twice means its first occurrence;
- UNTIL must be UTC (ending in Z) because DTSTART carries a time zone (RFC 5545 section 3.3.10).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from slawatch.core.model import FixedExclusion, RecurringExclusion

CHUNK_S = 7 * 86400  # the lazily expanded span grows by whole weeks
MAX_SPAN_S = 3 * 366 * 86400  # beyond this the span restarts around the asked time
Interval = tuple[float, float]

RRULE_EXAMPLE = "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2"
RRULE_PARTS = frozenset(
    "FREQ INTERVAL COUNT UNTIL WKST BYSETPOS BYMONTH BYMONTHDAY BYYEARDAY BYWEEKNO BYDAY BYHOUR "
    "BYMINUTE BYSECOND".split()
)
ALLOWED_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY")
_LONGEST_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
# Ranges dateutil does not check itself (a value outside them would silently never match).
_NUMBER_RANGES = {
    "BYMONTH": (1, 12, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "COUNT": (1, 10**9, False),
}
_PROBE_DTSTART = datetime(2026, 1, 4, 2, 0, tzinfo=timezone.utc)


def validate_rrule(text: str) -> str | None:
    """A precise human message if `text` is not a usable RRULE, else None (for the catalogue loader)."""
    body = text.strip().removeprefix("RRULE:").rstrip(";")
    hint = f"; write e.g. {RRULE_EXAMPLE}"
    if not body:
        return f"the RRULE is empty{hint}"
    if "\n" in body or "DTSTART" in body.upper():
        return f"give one RRULE line only; the first occurrence goes in dtstart{hint}"
    parts: dict[str, str] = {}
    for part in body.split(";"):
        name, equals, value = part.partition("=")
        name = name.strip().upper()
        if not equals or not value.strip():
            return f"RRULE part {part!r} is not NAME=VALUE{hint}"
        if name not in RRULE_PARTS:
            return f"RRULE part {name!r} is unknown; known parts are {', '.join(sorted(RRULE_PARTS))}{hint}"
        if name in parts:
            return f"RRULE part {name} is given twice{hint}"
        parts[name] = value.strip().upper()
    freq = parts.get("FREQ")
    if freq is None:
        return f"the RRULE has no FREQ{hint}"
    if freq not in ALLOWED_FREQS:
        return f"FREQ={freq} is not allowed; use one of {', '.join(ALLOWED_FREQS)} (excluded time recurs at most hourly){hint}"
    if "INTERVAL" in parts and not (parts["INTERVAL"].isdigit() and int(parts["INTERVAL"]) >= 1):
        return f"INTERVAL={parts['INTERVAL']} must be a whole number >= 1{hint}"
    if "UNTIL" in parts and not parts["UNTIL"].endswith("Z"):
        return f"UNTIL={parts['UNTIL']} must be UTC, ending in Z (e.g. UNTIL=20261231T235959Z), as RFC 5545 requires with a time zone"
    for name, (low, high, negative_too) in _NUMBER_RANGES.items():
        problem = _out_of_range(name, parts.get(name), low, high, negative_too)
        if problem:
            return f"{problem}{hint}"
    for name, value in parts.items():  # name the first part dateutil refuses
        try:
            rrulestr(f"FREQ={freq};{name}={value}", dtstart=_PROBE_DTSTART)
        except (ValueError, TypeError, KeyError) as error:
            return f"RRULE part {name}={value} is invalid: {error}{hint}"
    try:
        rrulestr(body, dtstart=_PROBE_DTSTART)
    except (ValueError, TypeError, KeyError) as error:
        return f"the RRULE is invalid: {error}{hint}"
    return _never_matching_month_day(parts)


def _out_of_range(name: str, value: str | None, low: int, high: int, negative_too: bool) -> str | None:
    if value is None:
        return None
    allowed = f"{low}..{high}" + (f" or -{high}..-{low}" if negative_too else "")
    for item in value.split(","):
        number = item.strip()
        if not number.lstrip("+-").isdigit() or not low <= (abs(int(number)) if negative_too else int(number)) <= high:
            return f"{name}={value}: {item!r} is not in {allowed}"
    return None


def _never_matching_month_day(parts: dict[str, str]) -> str | None:
    # A rule whose days never exist would make the expansion spin to year 9999; catch the usual one.
    if "BYMONTH" not in parts or "BYMONTHDAY" not in parts:
        return None
    months = [int(m) for m in parts["BYMONTH"].split(",")]
    days = [abs(int(d)) for d in parts["BYMONTHDAY"].split(",")]
    if any(d <= _LONGEST_MONTH[m] for m in months for d in days):
        return None
    return f"BYMONTH={parts['BYMONTH']} has no day BYMONTHDAY={parts['BYMONTHDAY']}: the rule never occurs"


def validate_exclusion(exclusion: FixedExclusion | RecurringExclusion) -> str | None:
    """A human message if the exclusion cannot be scheduled, else None."""
    try:
        if isinstance(exclusion, RecurringExclusion):
            _Recurrence(exclusion)
        else:
            _check_fixed(exclusion)
    except ValueError as error:
        return str(error)
    return None


def _check_fixed(exclusion: FixedExclusion) -> None:
    if not exclusion.end > exclusion.start:
        raise ValueError(f"exclusion end {exclusion.end} must be after its start {exclusion.start}")


class _Recurrence:
    """One recurring exclusion, expanded on demand."""

    __slots__ = ("rule", "duration_s")

    def __init__(self, exclusion: RecurringExclusion) -> None:
        problem = validate_rrule(exclusion.rrule)
        if problem:
            raise ValueError(problem)
        if exclusion.duration_s <= 0:
            raise ValueError(f"exclusion duration must be positive, got {exclusion.duration_s}s")
        try:
            zone = ZoneInfo(exclusion.time_zone)
            start = datetime.fromisoformat(exclusion.dtstart)
        except Exception as error:  # ZoneInfoNotFoundError, ValueError
            raise ValueError(f"exclusion {exclusion.dtstart!r} in {exclusion.time_zone!r}: {error}") from None
        if start.tzinfo is not None:
            raise ValueError(f"dtstart {exclusion.dtstart!r} must be a local time without offset, e.g. 2026-01-04T02:00:00")
        self.rule: rrule = rrulestr(exclusion.rrule.strip().removeprefix("RRULE:").rstrip(";"), dtstart=start.replace(tzinfo=zone))
        self.duration_s = exclusion.duration_s

    def intervals(self, start: float, end: float) -> Iterable[Interval]:
        """Occurrences overlapping [start, end), unclipped."""
        # A day of slack either side: wall-clock order and instant order differ only around folds.
        after = datetime.fromtimestamp(start - self.duration_s - 86400, timezone.utc)
        before = datetime.fromtimestamp(end + 86400, timezone.utc)
        for occurrence in self.rule.between(after, before, inc=True):
            begin = occurrence.timestamp()
            if begin < end and begin + self.duration_s > start:
                yield begin, begin + self.duration_s


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals; touching ones ([a, b) and [b, c)) become one."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


class ExclusionSchedule:
    """All exclusions of one SLO (its own plus its service's), as one merged timeline."""

    def __init__(self, exclusions: Sequence[FixedExclusion | RecurringExclusion]) -> None:
        fixed = [e for e in exclusions if isinstance(e, FixedExclusion)]
        for exclusion in fixed:
            _check_fixed(exclusion)
        self._fixed = merge((e.start, e.end) for e in fixed)
        self._recurring = [_Recurrence(e) for e in exclusions if isinstance(e, RecurringExclusion)]
        self._empty = not exclusions
        if self._recurring:
            self._lo = self._hi = 0.0
            self._set([])
        else:  # fixed intervals are known for all time
            self._lo, self._hi = -math.inf, math.inf
            self._set(self._fixed)

    def __bool__(self) -> bool:
        return not self._empty

    def contains(self, t: float) -> bool:
        """Whether instant t (epoch s) is excluded. O(log n); the span is extended when needed."""
        if self._empty:
            return False
        if not self._lo <= t < self._hi:
            self._cover(t, t)
        i = bisect_right(self._starts, t) - 1
        return i >= 0 and t < self._ends[i]

    def intervals(self, start: float, end: float) -> list[Interval]:
        """The excluded time within [start, end): merged, sorted and clipped."""
        if self._empty or end <= start:
            return []
        if not (self._lo <= start and end <= self._hi):
            self._cover(start, end)
        first = bisect_right(self._ends, start)
        out = []
        for i in range(first, len(self._starts)):
            if self._starts[i] >= end:
                break
            out.append((max(self._starts[i], start), min(self._ends[i], end)))
        return out

    def excluded_seconds(self, start: float, end: float) -> float:
        """How many seconds of [start, end) are excluded."""
        return sum(e - s for s, e in self.intervals(start, end))

    def _cover(self, start: float, end: float) -> None:
        lo = math.floor(start / CHUNK_S) * CHUNK_S
        hi = (math.floor(end / CHUNK_S) + 1) * CHUNK_S
        if self._hi <= self._lo or max(hi, self._hi) - min(lo, self._lo) > MAX_SPAN_S or lo > self._hi or hi < self._lo:
            self._lo, self._hi = lo, hi  # start afresh around the asked time
            self._set(self._expand(lo, hi))
            return
        before = self._expand(lo, self._lo) if lo < self._lo else []
        after = self._expand(self._hi, hi) if hi > self._hi else []
        self._lo, self._hi = min(lo, self._lo), max(hi, self._hi)
        self._set(merge([*before, *zip(self._starts, self._ends), *after]))

    def _expand(self, start: float, end: float) -> list[Interval]:
        """Merged exclusions within [start, end), clipped to it."""
        raw = [*self._fixed, *(i for r in self._recurring for i in r.intervals(start, end))]
        return [(max(s, start), min(e, end)) for s, e in merge(raw) if s < end and e > start]

    def _set(self, intervals: list[Interval]) -> None:
        self._starts = [s for s, _ in intervals]
        self._ends = [e for _, e in intervals]
