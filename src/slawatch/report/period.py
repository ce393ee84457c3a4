"""Which stretch of time a report covers: `--period`, `--from/--to` or `--last`, in UTC.

- `--period 2026-11` (a month), `2026-Q4`, `2026-W46`, `2026-11-14`, `2026`;
- `--from 2026-09-01 [--to 2026-11-30]`: whole UTC days, both ends included (`--to` defaults to the
  day of the newest data);
- `--last 3 months` (days, weeks, months, quarters): that many units up to and including the one
  holding the newest data;
- none of them: the month holding the newest data.

"The newest data" is the latest event time the records reached (their `as_of`), so a report over
an events file from last year covers last year, whatever today's date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month", "months": "month",
         "quarter": "quarter", "quarters": "quarter"}


@dataclass(frozen=True)
class Range:
    """[start, end) in epoch seconds, and how to call it."""

    start: float
    end: float
    label: str

    def holds(self, start: float, end: float) -> bool:
        """Whether a period [start, end) belongs to the range: its middle is inside (a month in a
        zone east of UTC starts the evening before, and still belongs to its own month)."""
        return self.start <= (start + end) / 2 < self.end

    @property
    def days(self) -> int:
        return round((self.end - self.start) / 86400)


class RangeError(ValueError):
    """A --period, --from, --to or --last that does not parse; the message says what would."""


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def _month_start(year: int, month: int) -> date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, 1)


def _unit_bounds(unit: str, day: date) -> tuple[date, date]:
    """[first day, first day of the next) of the unit holding `day`."""
    if unit == "day":
        return day, day + timedelta(days=1)
    if unit == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7)
    months = 3 if unit == "quarter" else 1
    first = _month_start(day.year, (day.month - 1) // months * months + 1)
    return first, _month_start(first.year, first.month + months)


def parse_period(text: str) -> Range:
    text = text.strip()
    patterns = (
        (r"(\d{4})-(\d{2})-(\d{2})", lambda y, m, d: _unit_bounds("day", date(int(y), int(m), int(d)))),
        (r"(\d{4})-W(\d{2})", lambda y, w: _unit_bounds("week", date.fromisocalendar(int(y), int(w), 1))),
        (r"(\d{4})-Q([1-4])", lambda y, q: _unit_bounds("quarter", date(int(y), 3 * int(q) - 2, 1))),
        (r"(\d{4})-(\d{2})", lambda y, m: _unit_bounds("month", date(int(y), int(m), 1))),
        (r"(\d{4})", lambda y: (date(int(y), 1, 1), date(int(y) + 1, 1, 1))),
    )
    for pattern, bounds in patterns:
        found = re.fullmatch(pattern, text)
        if found:
            try:
                first, after = bounds(*found.groups())
            except ValueError as exc:
                raise RangeError(f"--period {text}: {exc}") from None
            return Range(_midnight(first), _midnight(after), text)
    raise RangeError(f"--period {text!r} is not a period; write e.g. 2026-11, 2026-Q4, 2026-W46, 2026-11-14 or 2026")


def parse_day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise RangeError(f"{flag} {text!r} is not a date; write e.g. 2026-09-01") from None


def parse_last(words: list[str], newest: float) -> Range:
    text = " ".join(words)
    found = re.fullmatch(r"(\d+)\s*([a-z]+)", text.strip().lower())
    if not found or found.group(2) not in UNITS or int(found.group(1)) < 1:
        raise RangeError(f"--last {text!r}: write a count and a unit, e.g. 3 months, 6 weeks, 30 days, 2 quarters")
    count, unit = int(found.group(1)), UNITS[found.group(2)]
    first, after = _unit_bounds(unit, _day_of(newest))
    for _ in range(count - 1):
        first = _unit_bounds(unit, first - timedelta(days=1))[0]
    return Range(_midnight(first), _midnight(after), f"last {count} {unit}{'s' if count > 1 else ''}")


def _day_of(t: float) -> date:
    return datetime.fromtimestamp(t, timezone.utc).date()


def resolve(period: str | None, start: str | None, end: str | None, last: list[str] | None, newest: float) -> Range:
    """The report's range from its flags (at most one way of giving it), relative to `newest`."""
    given = [name for name, value in (("--period", period), ("--from", start), ("--last", last)) if value]
    if len(given) > 1:
        raise RangeError(f"give one of --period, --from/--to, --last (got {' and '.join(given)})")
    if end and not start:
        raise RangeError("--to needs --from")
    if period:
        return parse_period(period)
    if last:
        return parse_last(last, newest)
    if start:
        first = parse_day(start, "--from")
        final = parse_day(end, "--to") if end else _day_of(newest)
        if final < first:
            raise RangeError(f"--to {final} is before --from {first}")
        return Range(_midnight(first), _midnight(final + timedelta(days=1)), f"{first} to {final}")
    first, after = _unit_bounds("month", _day_of(newest))
    return Range(_midnight(first), _midnight(after), f"{first:%Y-%m}")
