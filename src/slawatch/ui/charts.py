"""Line charts as inline SVG, drawn on the server: no script, no framework, readable without CSS.

A series is (time, value) points; a value of None breaks the line (no data then), and a point
alone is drawn as a dot. Guides are horizontal reference lines (the objective, 1x burn). An empty
chart says "no data yet" rather than showing an empty frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape

WIDTH, HEIGHT = 640, 210
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 26, 26


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    points: Sequence[tuple[float, float | None]]
    css: str  # a class: its colour comes from the page's stylesheet


@dataclass(frozen=True, slots=True)
class Guide:
    value: float
    label: str
    css: str


@dataclass(frozen=True, slots=True)
class _Frame:
    t0: float
    t1: float
    lo: float
    hi: float

    def x(self, t: float) -> float:
        return LEFT + (t - self.t0) / (self.t1 - self.t0) * (WIDTH - LEFT - RIGHT)

    def y(self, v: float) -> float:
        v = min(max(v, self.lo), self.hi)
        return TOP + (self.hi - v) / (self.hi - self.lo) * (HEIGHT - TOP - BOTTOM)


def line_chart(title: str, series: Sequence[Series], guides: Sequence[Guide] = (),
               y_format: Callable[[float], str] = "{:g}".format, include: Sequence[float] = ()) -> str:
    values = [v for s in series for _, v in s.points if v is not None and math.isfinite(v)]
    times = [t for s in series for t, v in s.points if v is not None]
    head = (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>{_legend(title, series)}")
    if not values:
        return head + f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no data yet</text></svg>'
    frame = _frame(times, values + [g.value for g in guides] + list(include))
    parts = [head, _axes(frame, y_format)]
    parts += [_guide(frame, g) for g in guides if frame.lo <= g.value <= frame.hi]
    parts += [_series(frame, s) for s in series]
    return "".join(parts) + "</svg>"


def _frame(times: list[float], values: list[float]) -> _Frame:
    t0, t1 = min(times), max(times)
    if t1 - t0 < 10:
        t0, t1 = t0 - 5, t1 + 5  # one point or a few seconds: ten seconds around them
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 0.05
    return _Frame(t0, t1, lo - pad, hi + pad)


def _legend(title: str, series: Sequence[Series]) -> str:
    out = [f'<text class="title" x="{LEFT}" y="16">{escape(title)}</text>']
    x = WIDTH - RIGHT
    for s in reversed(series):
        x -= 14 + 7 * len(s.name)
        out.append(f'<rect class="{s.css} key" x="{x}" y="8" width="10" height="10"/>'
                   f'<text class="legend" x="{x + 14}" y="17">{escape(s.name)}</text>')
    return "".join(out)


def _axes(frame: _Frame, y_format: Callable[[float], str]) -> str:
    out = [f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}"/>']
    for v in _ticks(frame.lo, frame.hi):
        y = frame.y(v)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(y_format(v))}</text>')
    span = frame.t1 - frame.t0
    layout = "%m-%d %H:%M" if span > 86400 else "%H:%M" if span > 600 else "%H:%M:%S"
    for i in range(5):
        t = frame.t0 + span * i / 4
        when = datetime.fromtimestamp(t, timezone.utc).strftime(layout)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(f'<text class="tick" x="{frame.x(t):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{when}</text>')
    return "".join(out)


def _ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round values between lo and hi, about `count` of them."""
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _guide(frame: _Frame, guide: Guide) -> str:
    y = frame.y(guide.value)
    label_y = y + 13 if y - 14 < TOP else y - 4  # below the line when it runs along the top
    return (f'<line class="guide {guide.css}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="guide-label {guide.css}" x="{WIDTH - RIGHT - 4}" y="{label_y:.1f}" '
            f'text-anchor="end">{escape(guide.label)}</text>')


def _series(frame: _Frame, series: Series) -> str:
    out, run = [], []
    for t, v in list(series.points) + [(math.inf, None)]:
        if v is not None and math.isfinite(v) and t != math.inf:
            run.append(f"{frame.x(t):.1f},{frame.y(v):.1f}")
            continue
        if len(run) > 1:
            out.append(f'<polyline class="line {series.css}" points="{" ".join(run)}"/>')
        elif run:
            x, y = run[0].split(",")
            out.append(f'<circle class="dot {series.css}" cx="{x}" cy="{y}" r="2.5"/>')
        run = []
    return "".join(out)
