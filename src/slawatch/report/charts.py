"""The report's charts as SVG text: SLI per day, budget burn-down, incident timeline, traffic forecast.

matplotlib (the plotting library every Python data tool reads, kept by a large team) draws them on
a Figure with its SVG canvas, not pyplot: no global figure state, nothing shown, no file written.
Settings apply inside `rc_context` only. Each chart is deterministic for the same input (element
ids salted by the title, no date in the metadata), so it can be golden-tested; text is drawn as
paths of the DejaVu Sans glyphs matplotlib ships, so the SVG needs no font and references nothing
outside itself. The XML prolog and DOCTYPE are dropped: the text embeds as-is in an HTML page.
Ink, dark blue and dark red with distinct line styles and markers, so they print in black and white.
Times are UTC; ratios in are ratios of the model (0.999), drawn in percent.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from html import escape

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from slawatch.report.forecast import Forecast

INK, SERIES, BAD, LIGHT = "#1a1a1a", "#1f4e79", "#b2182b", "#bdbdbd"
WIDTH_IN, HEIGHT_IN = 6.4, 2.5
SEVERITY_STYLE = {  # fill, hatch: told apart in grey too
    "breach": (BAD, "xxxx"),
    "page": (INK, ""),
    "ticket": ("#8c8c8c", ""),
    "warning": ("#dedede", ""),
}
STYLE = {
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 7.5,
    "axes.titlesize": 8.5,
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.5,
    "axes.axisbelow": True,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "lines.linewidth": 1.3,
    "hatch.linewidth": 0.6,
    "timezone": "UTC",
}
OVERSPENT_FLOOR = -100.0  # percent: the burn-down's axis stops at a budget spent twice over
LOW_DAY_FLOOR = 10  # the SLI axis goes down to objective - 10 budgets; lower days sit on its edge


@dataclass(frozen=True)
class TimelineIncident:
    """One alert or incident on the timeline: epoch seconds; `end` None = still open."""

    start: float
    end: float | None
    label: str
    severity: str  # page | ticket | warning | breach (others are drawn grey)


def sli_per_day_svg(days: Sequence[date], sli: Sequence[float | None], objective: float, title: str) -> str:
    """Each day's SLI against the objective; days below it marked ▼, days without data hatched."""
    _same_length(days, sli, "sli")
    with _chart(title) as (figure, axes):
        if not days:
            return _empty(figure, axes, "no days in this period")
        low = _sli_floor(sli, objective)
        x = [_midnight(d) for d in days]
        y = [math.nan if v is None else max(v * 100, low) for v in sli]
        axes.plot(x, y, color=SERIES, marker="o", markersize=2.5, label="SLI per day", gid="sli")
        axes.axhline(objective * 100, color=INK, linestyle="--", linewidth=1, label=f"objective {round(objective * 100, 4):g} %",
                     gid="objective")
        _below_objective(axes, [(t, v, s) for t, v, s in zip(x, y, sli) if s is not None and s < objective], low)
        _no_data_spans(axes, [t for t, s in zip(x, sli) if s is None])
        axes.set_ylim(low, 100)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _percent(v, 100 - low)))
        _date_axis(axes, x[0] - timedelta(hours=12), x[-1] + timedelta(hours=12))
        _legend(figure)
        return _svg(figure)


def burn_down_svg(days: Sequence[date], remaining: Sequence[float | None], title: str) -> str:
    """Error budget left at the end of each day against steady consumption from 100 % to 0 %. An
    overspent budget is drawn down to OVERSPENT_FLOOR at most, the last day's value written out."""
    _same_length(days, remaining, "remaining")
    with _chart(title) as (figure, axes):
        if not days:
            return _empty(figure, axes, "no days in this period")
        start, end = _midnight(days[0]), _midnight(days[-1]) + timedelta(days=1)
        x = [_midnight(d) + timedelta(days=1) for d in days]
        y = [math.nan if v is None else max(v * 100, OVERSPENT_FLOOR) for v in remaining]
        ideal = [100 * (1 - (t - start) / (end - start)) for t in x]
        axes.plot([start, end], [100, 0], color=INK, linestyle="--", linewidth=1, label="steady consumption", gid="ideal")
        axes.plot(x, y, color=SERIES, marker="o", markersize=2.5, label="budget left", gid="remaining")
        axes.fill_between(x, y, ideal, where=[v < i for v, i in zip(y, ideal)], interpolate=True, color=BAD,
                          alpha=0.18, linewidth=0, label="spent faster than steady", gid="ahead-of-steady")
        axes.axhline(0, color=INK, linewidth=0.8, gid="exhausted")
        known = [n for n, v in enumerate(remaining) if v is not None]
        if known and remaining[known[-1]] * 100 < OVERSPENT_FLOOR:  # off the scale: say how far
            axes.annotate(f"{remaining[known[-1]] * 100:,.0f} %", (x[known[-1]], OVERSPENT_FLOOR), xytext=(-4, 4),
                          textcoords="offset points", ha="right", va="bottom", color=BAD, fontsize=6.5)
        finite = [v for v in y if math.isfinite(v)]
        axes.set_ylim(min([0.0, *finite]) - 5, 105)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f} %"))
        _date_axis(axes, start, end)
        _legend(figure)
        return _svg(figure)


def incident_timeline_svg(start: float, end: float, incidents: Sequence[TimelineIncident], title: str) -> str:
    """One bar per incident over [start, end], shaded by severity, with its duration; open ones hatched."""
    if end <= start:
        raise ValueError(f"the timeline must end after it starts ({start} .. {end})")
    rows = list(incidents)
    with _chart(title, height_in=max(1.5, 0.9 + 0.24 * len(rows))) as (figure, axes):
        t0, t1 = _utc(start), _utc(end)
        if not rows:
            return _empty(figure, axes, "no incidents in this period", (t0, t1))
        shortest = (end - start) * 0.004  # a 30 s page over a month is still seen
        for row, incident in enumerate(rows):
            _incident_bar(axes, row, incident, start, end, shortest)
        axes.set_yticks(range(len(rows)), [_shorten(i.label) for i in rows])
        axes.set_ylim(len(rows) - 0.4, -0.6)
        axes.grid(axis="y", visible=False)
        axes.tick_params(axis="y", length=0)
        _severity_legend(axes, rows)
        _date_axis(axes, t0, t1)
        return _svg(figure)


def traffic_svg(days: Sequence[date], per_day: Sequence[float], forecast: Forecast | None, title: str) -> str:
    """Events per day, and the forecast's mean (dashed) and prediction interval (grey band) after it."""
    _same_length(days, per_day, "per_day")
    with _chart(title) as (figure, axes):
        if not days:
            return _empty(figure, axes, "no days in this period")
        x = [_midnight(d) for d in days]
        axes.plot(x, list(per_day), color=SERIES, marker="o", markersize=2, label="events per day", gid="history")
        last = x[-1]
        if forecast is not None:
            ahead = [last + timedelta(days=h) for h in range(1, len(forecast.mean) + 1)]
            axes.fill_between(ahead, forecast.lower, forecast.upper, color=LIGHT, alpha=0.6, linewidth=0,
                              label=f"{forecast.level:.0%} interval", gid="forecast-interval")
            axes.plot([last, *ahead], [per_day[-1], *forecast.mean], color=INK, linestyle="--", linewidth=1.1,
                      label=f"forecast ({forecast.growth_ratio - 1:+.0%} vs the last {len(ahead)} days)", gid="forecast-mean")
            axes.axvline(last, color=INK, linestyle=":", linewidth=0.8, gid="forecast-start")
            last = ahead[-1]
        axes.set_ylim(bottom=0)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        _date_axis(axes, x[0] - timedelta(hours=12), last + timedelta(hours=12))
        _legend(figure)
        return _svg(figure)


@contextmanager
def _chart(title: str, height_in: float = HEIGHT_IN) -> Iterator[tuple[Figure, object]]:
    """A figure with one titled axes, under the report's style and an id salt taken from the title."""
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": f"slawatch:{title}"}):
        figure = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
        figure.set_label(title)
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        axes.set_title(title)
        yield figure, axes


def _svg(figure: Figure) -> str:
    """The figure as SVG text from its <svg> element on, titled: no prolog, DOCTYPE nor metadata
    (they name outside addresses), so nothing in it points outside it."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    head, _, rest = text.partition(">")
    before, _, after = rest.partition("<metadata>")
    after = after.partition("</metadata>")[2]
    title = escape(figure.get_label())
    return f'{head} role="img" aria-label="{title}">\n <title>{title}</title>{before}{after}'


def _empty(figure: Figure, axes, message: str, span: tuple[datetime, datetime] | None = None) -> str:
    axes.text(0.5, 0.5, message, transform=axes.transAxes, ha="center", va="center", color="#555555")
    axes.set_yticks([])
    if span is None:
        axes.set_xticks([])
    else:
        _date_axis(axes, *span)
    return _svg(figure)


def _incident_bar(axes, row: int, incident: TimelineIncident, start: float, end: float, shortest: float) -> None:
    onset = min(max(incident.start, start), end)
    finish = end if incident.end is None else min(max(incident.end, onset), end)
    fill, hatch = SEVERITY_STYLE.get(incident.severity, ("#9e9e9e", ""))
    if incident.end is None:
        hatch += "///"
    width_s = max(finish - onset, shortest)
    axes.barh(row, timedelta(seconds=width_s), left=_utc(onset), height=0.6, color=fill, hatch=hatch, edgecolor=INK,
              linewidth=0.5, gid=f"incident-{row}")
    duration = _duration((end if incident.end is None else incident.end) - incident.start)
    note = f"{duration}, open" if incident.end is None else duration
    axes.annotate(note, (_utc(onset + width_s), row), xytext=(3, 0), textcoords="offset points", va="center",
                  fontsize=6.5, annotation_clip=False)


def _severity_legend(axes, rows: Sequence[TimelineIncident]) -> None:
    """One swatch per severity present, in the order page, breach, ticket, warning, then the others."""
    order = {name: rank for rank, name in enumerate(SEVERITY_STYLE)}
    present = sorted({i.severity for i in rows}, key=lambda s: (order.get(s, len(order)), s))
    handles = [Patch(facecolor=SEVERITY_STYLE.get(s, ("#9e9e9e", ""))[0], hatch=SEVERITY_STYLE.get(s, ("", ""))[1],
                     edgecolor=INK, linewidth=0.5, label=s) for s in present]
    _legend(axes.figure, handles)


def _below_objective(axes, days: Sequence[tuple[datetime, float, float]], low: float) -> None:
    """A ▼ on each (time, drawn value, SLI) day under the objective; the value written when off the scale."""
    if not days:
        return
    axes.plot([t for t, _, _ in days], [v for _, v, _ in days], linestyle="none", marker="v", markersize=5,
              color=BAD, label="below objective", gid="below-objective", clip_on=False)
    for t, v, sli in days:
        if sli * 100 <= low:
            axes.annotate(_percent(sli * 100), (t, v), xytext=(5, 1), textcoords="offset points", ha="left",
                          va="bottom", color=BAD, fontsize=6.5)


def _legend(figure: Figure, handles: Sequence[object] | None = None) -> None:
    """The legend on one row under the chart, where it covers no data."""
    if handles is None:
        handles = [h for axes in figure.axes for h in axes.get_legend_handles_labels()[0]]
    figure.legend(handles=handles, loc="outside lower center", ncols=max(1, len(handles)))


def _no_data_spans(axes, days: Sequence[datetime]) -> None:
    for n, day in enumerate(days):
        axes.axvspan(day - timedelta(hours=12), day + timedelta(hours=12), facecolor="none", edgecolor=LIGHT,
                     hatch="////", linewidth=0, label="no data" if n == 0 else None, gid=f"no-data-{n}")


def _date_axis(axes, start: datetime, end: datetime) -> None:
    locator = AutoDateLocator(minticks=4, maxticks=10)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))
    axes.set_xlim(start, end)


def _sli_floor(sli: Sequence[float | None], objective: float) -> float:
    """Bottom of the SLI axis in percent: the lowest day, at most LOW_DAY_FLOOR budgets under the
    objective (so one bad day does not flatten the others), with a little room under it."""
    lowest = min([objective, *(v for v in sli if v is not None)]) * 100
    floor = max(lowest, (objective - LOW_DAY_FLOOR * (1 - objective)) * 100)
    return max(0.0, floor - (100 - floor) * 0.12)


def _percent(value: float, span: float | None = None) -> str:
    """99.95 % with as many decimals as the axis span (or the value) needs."""
    scale = span if span is not None else 100 - value
    decimals = 0 if scale >= 10 else 1 if scale >= 1 else 2 if scale >= 0.1 else 3
    return f"{value:.{decimals}f} %"


def _duration(seconds: float) -> str:
    minutes = round(max(seconds, 0) / 60)
    if minutes < 1:
        return f"{max(seconds, 0):.0f} s"
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p)


def _shorten(label: str, limit: int = 42) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _same_length(days: Sequence[date], values: Sequence[object], name: str) -> None:
    if len(days) != len(values):
        raise ValueError(f"{name} has {len(values)} values for {len(days)} days")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
