"""Reading one YAML mapping with its position: typed getters that report instead of raising.

Both catalogue forms read fields through `Fields`, so every error has the same shape (file, line,
path, what would be valid) and unknown keys are caught in one place, with a "did you mean" for typos.
A getter that finds a bad value records an error and returns None; the caller builds a model object
only when its part of the file produced no new errors (`Report.error_count` before/after).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slawatch.catalog.problems import Report, did_you_mean
from slawatch.catalog.yamlpos import PosDict, PosList
from slawatch.core.durations import parse_duration

MISSING = object()


def child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "empty" if value is None else type(value).__name__


def check_time_zone(name: str) -> str | None:
    """A message if `name` is not an IANA zone (zoneinfo + tzdata), else None."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not an IANA time zone"
    return None


class Fields:
    """One mapping of a catalogue file; `known` are its valid keys (others are errors)."""

    def __init__(self, report: Report, file: str, path: str, data: PosDict, known: Collection[str]):
        self.report, self.file, self.path, self.data = report, file, path, data
        self.line = getattr(data, "line", 0)
        for key in data:
            if key not in known:
                self.report.error(
                    file, getattr(data, "key_lines", {}).get(key, self.line), child(path, key),
                    "unknown key", did_you_mean(key, known),
                )

    @classmethod
    def of(cls, report: Report, file: str, path: str, value: Any, line: int, known: Collection[str]) -> Fields | None:
        """Fields over `value` if it is a mapping, else an error and None."""
        if not isinstance(value, dict):
            report.error(file, line, path or "(document)", f"must be a mapping, got {type_name(value)}",
                         "keys: " + ", ".join(sorted(known)))
            return None
        return cls(report, file, path, value, known)

    # -- position and reporting -------------------------------------------------------------
    def line_of(self, key: str) -> int:
        return getattr(self.data, "lines", {}).get(key, self.line)

    def path_of(self, key: str | int) -> str:
        return child(self.path, key)

    def error(self, key: str, message: str, hint: str = "") -> None:
        self.report.error(self.file, self.line_of(key), self.path_of(key), message, hint)

    def note(self, key: str, message: str, hint: str = "") -> None:
        self.report.note(self.file, self.line_of(key), self.path_of(key), message, hint)

    def has(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def raw(self, key: str, required: bool = False, hint: str = "") -> Any:
        if not self.has(key):
            if required:
                self.report.error(self.file, self.line, self.path_of(key), "is required", hint)
            return MISSING
        return self.data[key]

    # -- typed getters ----------------------------------------------------------------------
    def text(self, key: str, required: bool = False, default: str | None = "", hint: str = "") -> str | None:
        value = self.raw(key, required, hint)
        if value is MISSING:
            return None if required else default
        if not isinstance(value, str) or not value.strip():
            self.error(key, f"must be non-empty text, got {type_name(value)}", hint or "quote it if needed")
            return None
        return value

    def number(self, key: str, low: float, high: float, hint: str, required: bool = False,
               what: str = "a number") -> float | None:
        """A number in the open interval (low, high)."""
        value = self.raw(key, required, hint)
        if value is MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not low < value < high:
            span = f"> {low:g}" if math.isinf(high) else f"in ({low:g}, {high:g})"
            self.error(key, f"must be {what} {span}, got {type_name(value)}", hint)
            return None
        return float(value)

    def integer(self, key: str, minimum: int, hint: str, required: bool = False) -> int | None:
        value = self.raw(key, required, hint)
        if value is MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(key, f"must be a whole number >= {minimum}, got {type_name(value)}", hint)
            return None
        return value

    def boolean(self, key: str, default: bool = False) -> bool | None:
        value = self.raw(key)
        if value is MISSING:
            return default
        if not isinstance(value, bool):
            self.error(key, f"must be true or false, got {type_name(value)}", "write true or false")
            return None
        return value

    def duration(self, key: str, required: bool = False, hint: str = "e.g. 5m, 1h or 28d",
                 allow_zero: bool = False) -> int | None:
        value = self.raw(key, required, hint)
        if value is MISSING:
            return None
        return self.parse_duration_value(key, value, hint, allow_zero)

    def parse_duration_value(self, key: str, value: Any, hint: str = "e.g. 5m, 1h or 28d",
                             allow_zero: bool = False) -> int | None:
        if not isinstance(value, str):
            self.error(key, f"must be a duration, got {type_name(value)}", hint)
            return None
        try:
            return parse_duration(value, allow_zero)
        except ValueError as exc:
            self.error(key, str(exc), "")
            return None

    def time_zone(self, key: str, default: str = "UTC") -> str | None:
        value = self.text(key, default=default, hint="an IANA name, e.g. Europe/Berlin")
        if value is None:
            return None
        problem = check_time_zone(value)
        if problem:
            self.error(key, problem, "an IANA name, e.g. UTC, Europe/Berlin or America/New_York")
            return None
        return value

    def choice(self, key: str, choices: dict[str, Any], required: bool = False, default: Any = None) -> Any:
        value = self.raw(key, required, "one of " + ", ".join(choices))
        if value is MISSING:
            return default
        if not isinstance(value, str) or value not in choices:
            self.error(key, f"{value!r} is not allowed", did_you_mean(str(value), choices))
            return None
        return choices[value]

    def mapping(self, key: str, known: Collection[str], required: bool = False, hint: str = "") -> Fields | None:
        value = self.raw(key, required, hint)
        if value is MISSING:
            return None
        return Fields.of(self.report, self.file, self.path_of(key), value, self.line_of(key), known)

    def items(self, key: str, required: bool = False, hint: str = "") -> list[tuple[Any, str, int]]:
        """(value, path, line) for each item of a list."""
        value = self.raw(key, required, hint)
        if value is MISSING:
            return []
        if not isinstance(value, list):
            self.error(key, f"must be a list, got {type_name(value)}", hint)
            return []
        lines = getattr(value, "lines", [self.line_of(key)] * len(value))
        return [(item, self.path_of(key) + f"[{i}]", lines[i]) for i, item in enumerate(value)]

    def string_pairs(self, key: str) -> tuple[tuple[str, str], ...]:
        """A mapping of text to text (labels, attributes), as sorted pairs."""
        value = self.raw(key)
        if value is MISSING:
            return ()
        if not isinstance(value, dict):
            self.error(key, f"must be a mapping of text to text, got {type_name(value)}", "e.g. {team: shop}")
            return ()
        pairs = []
        for name, item in value.items():
            if not isinstance(item, str):
                self.report.error(self.file, value.lines.get(name, self.line), child(self.path_of(key), str(name)),
                                  f"must be text, got {type_name(item)}", f"quote it: '{item}'")
                continue
            pairs.append((str(name), item))
        return tuple(sorted(pairs))


def item_line(value: Any, fallback: int) -> int:
    return getattr(value, "line", fallback) if isinstance(value, (PosDict, PosList)) else fallback
