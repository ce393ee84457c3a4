"""Durations as whole seconds, written the way SRE tools write them ("5m", "1h30m", "28d").

One parser for the catalogue, the CLI and the alert windows, so "1w" means the same everywhere.
"""

from __future__ import annotations

import re

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str, allow_zero: bool = False) -> int:
    """'1h30m' -> 5400. Raises ValueError naming what is valid; "0s" only with allow_zero."""
    text = text.strip()
    parts = _PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration; write e.g. 30s, 5m, 1h30m, 28d or 1w")
    seconds = sum(int(n) * UNIT_SECONDS[u] for n, u in parts)
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def format_duration(seconds: int) -> str:
    """5400 -> '1h30m'; the inverse of parse_duration for whole seconds (weeks shown as days)."""
    if seconds <= 0:
        return "0s"
    out = []
    for unit in ("d", "h", "m", "s"):
        n, seconds = divmod(seconds, UNIT_SECONDS[unit])
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
