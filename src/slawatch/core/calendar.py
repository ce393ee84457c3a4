"""Calendar periods (day, ISO week, month, quarter, year) as [start, end) epoch seconds.

A contractual SLA is judged per calendar period in the customer's time zone, so the period edges are
local midnights, not UTC ones: a New York day is 23 or 25 hours long when the clocks change, a month
is 28 to 31 days. Everything here is computed from local *dates* (plain `datetime.date` arithmetic,
immune to DST), and only the edges are turned into instants with `zoneinfo`.

Semantics:
- A period starts at the first instant whose local date is its first date ("local midnight"). If
  local midnight does not exist (a zone that springs forward at 00:00, or Pacific/Apia skipping
  2011-12-30 altogether) the period starts at the transition, the first instant of that date. If
  local midnight happens twice, the first one counts; the instants in between belong to the new
  period even though the clock briefly shows the old date again, so periods always tile time.
- `count` > 1 groups whole periods counted from a fixed anchor, never from "now":
  days from 1970-01-01, ISO weeks from Monday 1969-12-29 (the start of ISO week 1970-W01),
  months from 1970-01, quarters from 1970-Q1 and years from 1970. So `2 quarter` is the half-years
  Jan-Jun / Jul-Dec, `3 month` is the calendar quarters (1970-01 is a quarter start), but
  `5 month` runs 1970-01..05, 1970-06..10, ... regardless of which month you start in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slawatch.core.model import CalendarUnit, CalendarWindow

EPOCH_DAY_ANCHOR = date(1970, 1, 1)
ISO_WEEK_ANCHOR = date(1969, 12, 29)  # Monday of ISO week 1970-W01
EPOCH_MONTH_ANCHOR = 1970 * 12  # months are numbered year * 12 + (month - 1)

_DAYS_PER_UNIT = {CalendarUnit.DAY: 1, CalendarUnit.WEEK: 7}
_MONTHS_PER_UNIT = {CalendarUnit.MONTH: 1, CalendarUnit.QUARTER: 3, CalendarUnit.YEAR: 12}


def validate_time_zone(name: str) -> str | None:
    """A human error message if `name` is not an IANA time zone, else None (for the loader)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not an IANA time zone; write e.g. 'UTC', 'Europe/London' or 'America/New_York'"
    return None


def local_midnight(day: date, zone: ZoneInfo) -> float:
    """The first instant (epoch s) whose local date in `zone` is `day` or later."""
    wall = datetime(day.year, day.month, day.day)
    first = wall.replace(tzinfo=zone, fold=0).timestamp()
    if datetime.fromtimestamp(first, zone).replace(tzinfo=None) == wall:
        return first  # midnight exists; fold=0 is its first occurrence if it happens twice
    # Midnight falls in a DST gap: the day begins at the transition, somewhere between the
    # instants that the two offsets around the gap give. Bisect to the whole second.
    second = wall.replace(tzinfo=zone, fold=1).timestamp()
    low, high = int(min(first, second)), int(max(first, second)) + 1
    while low < high:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle + 1
    return float(low)


class CalendarPeriods:
    """The periods of one CalendarWindow, numbered from the anchor; remembers the last answer."""

    __slots__ = ("window", "zone", "_days", "_months", "_last", "_edges")

    def __init__(self, window: CalendarWindow) -> None:
        if window.count < 1:
            raise ValueError(f"calendar window count must be >= 1, got {window.count}")
        self.window = window
        self.zone = ZoneInfo(window.time_zone)
        self._days = _DAYS_PER_UNIT.get(window.unit, 0) * window.count
        self._months = _MONTHS_PER_UNIT.get(window.unit, 0) * window.count
        self._last: tuple[int, float, float] | None = None
        self._edges: dict[int, tuple[float, float]] = {}  # index -> bounds: the engine asks for few, often

    def index_of_date(self, day: date) -> int:
        if self._days:
            anchor = EPOCH_DAY_ANCHOR if self.window.unit is CalendarUnit.DAY else ISO_WEEK_ANCHOR
            return (day - anchor).days // self._days
        return (day.year * 12 + day.month - 1 - EPOCH_MONTH_ANCHOR) // self._months

    def first_date(self, index: int) -> date:
        if self._days:
            anchor = EPOCH_DAY_ANCHOR if self.window.unit is CalendarUnit.DAY else ISO_WEEK_ANCHOR
            return anchor + timedelta(days=index * self._days)
        year, month0 = divmod(EPOCH_MONTH_ANCHOR + index * self._months, 12)
        return date(year, month0 + 1, 1)

    def bounds_of_index(self, index: int) -> tuple[float, float]:
        found = self._edges.get(index)
        if found is None:
            if len(self._edges) >= 64:
                self._edges.clear()
            found = self._edges[index] = (
                local_midnight(self.first_date(index), self.zone),
                local_midnight(self.first_date(index + 1), self.zone),
            )
        return found

    def index_of(self, t: float) -> tuple[int, float, float]:
        """(index, start, end) of the period containing instant t."""
        last = self._last
        if last is not None and last[1] <= t < last[2]:
            return last
        index = self.index_of_date(datetime.fromtimestamp(t, self.zone).date())
        start, end = self.bounds_of_index(index)
        # Only when local midnight repeats can the local date disagree with the edges.
        while t >= end:
            index += 1
            start, end = end, self.bounds_of_index(index)[1]
        while t < start:
            index -= 1
            start, end = self.bounds_of_index(index)[0], start
        self._last = (index, start, end)
        return self._last

    def bounds(self, t: float) -> tuple[float, float]:
        _, start, end = self.index_of(t)
        return start, end

    def previous_bounds(self, t: float) -> tuple[float, float]:
        index, start, _ = self.index_of(t)
        previous_start = self.bounds_of_index(index - 1)[0]
        while previous_start == start:  # a day the zone skipped (Pacific/Apia, 2011-12-30)
            index -= 1
            previous_start = self.bounds_of_index(index - 1)[0]
        return previous_start, start


@lru_cache(maxsize=1024)
def periods(window: CalendarWindow) -> CalendarPeriods:
    """The shared, cached CalendarPeriods of a window (windows are frozen, hence hashable)."""
    return CalendarPeriods(window)


def period_bounds(window: CalendarWindow, t: float) -> tuple[float, float]:
    """[start, end) in epoch seconds of the period of `window` containing instant `t`."""
    return periods(window).bounds(t)


def previous_period_bounds(window: CalendarWindow, t: float) -> tuple[float, float]:
    """[start, end) of the period just before the one containing `t` (for period-end reports)."""
    return periods(window).previous_bounds(t)
