"""Numbers and times as a report writes them, the same in every format."""

from __future__ import annotations

from datetime import datetime


def pct(ratio: float | None, digits: int = 3) -> str:
    """0.99932 -> "99.932 %"; None -> "no data"."""
    return "no data" if ratio is None else f"{ratio * 100:.{digits}f} %"


def points(margin: float | None) -> str:
    """A margin in percentage points, signed: +0.068 pp."""
    return "no data" if margin is None else f"{margin * 100:+.3f} pp"


def number(value: float | None) -> str:
    if value is None:
        return "no data"
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.2f}"


def duration(seconds: float | None) -> str:
    """1 h 38 min, 12 min, 40 s."""
    if seconds is None:
        return "no data"
    seconds = round(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    text = " ".join(p for p in parts if p)
    return text or f"{secs} s"


def when(text: str | None) -> str:
    """RFC 3339 -> "2026-09-17 14:02 UTC"; None -> "still firing"."""
    if text is None:
        return "still firing"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def group_label(dimension: str | None, group: str | None) -> str:
    return "" if group is None else f"{dimension or 'group'}={group}"


def contributors_text(contributors: dict) -> str:
    """"authorise (300 of 700 bad); eu-west-1 (300 of 500)"."""
    parts = []
    for name in ("operation", "region"):
        top = (contributors or {}).get(name) or []
        if top:
            parts.append(", ".join(f"{item['value']} ({item['bad']:,} bad of {item['total']:,})" for item in top))
    return "; ".join(parts) or "none recorded"
