"""Demand forecast for the report: the next `horizon` values of a series, with a prediction interval.

Holt's linear (additive) trend as a state-space exponential smoothing model (statsmodels' ETSModel,
error and trend additive, no seasonality), whose prediction intervals are analytic, so the same
input always gives the same forecast. Where that model cannot be fitted sensibly the forecast
falls back to a simpler method and `method` says which:

- no history: zero, no interval;
- a constant series: that constant, no interval (there is no variation to build one from);
- fewer than MIN_ETS_POINTS points, or a fit that fails: the drift method (the last value plus the
  mean step so far, interval from the steps' spread), as in Hyndman & Athanasopoulos, FPP3 §5.2.

A series that never goes below zero (event counts) is forecast never below zero either.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import NamedTuple

MIN_ETS_POINTS = 10  # Holt's model estimates 4 parameters (alpha, beta, level, trend) and a variance


class _Bands(NamedTuple):
    mean: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    method: str


@dataclass(frozen=True)
class Forecast:
    """Forecast of the next `horizon` values: mean and the `level` prediction interval per step."""

    mean: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    growth_ratio: float  # forecast mean over the horizon / mean of the last `horizon` input values
    method: str  # what produced the numbers, in words
    level: float = 0.9  # of the interval: 0.9 = the next value falls in [lower, upper] 9 times in 10


def forecast_series(values: Sequence[float], horizon: int, level: float = 0.9) -> Forecast:
    """The next `horizon` values of `values` (oldest first) with a `level` prediction interval."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (0.9 for a 90 % interval), got {level}")
    history = [float(v) for v in values]
    if not all(math.isfinite(v) for v in history):
        raise ValueError("values must be finite numbers")
    bands = _forecast(history, horizon, level)
    if history and min(history) >= 0:
        bands = _at_least_zero(bands)
    return Forecast(bands.mean, bands.lower, bands.upper, _growth_ratio(history, bands.mean, horizon), bands.method, level)


def _forecast(history: list[float], horizon: int, level: float) -> _Bands:
    if not history:
        zeros = (0.0,) * horizon
        return _Bands(zeros, zeros, zeros, "none: no history, forecast 0")
    if max(history) == min(history):
        flat = (history[0],) * horizon
        return _Bands(flat, flat, flat, "constant: the series never changed, forecast that value")
    if len(history) >= MIN_ETS_POINTS:
        try:
            return _holt(history, horizon, level)
        except (ValueError, ArithmeticError, RuntimeError) as exc:  # numpy's LinAlgError is a ValueError
            return _drift(history, horizon, level, f" (Holt's model failed: {exc})")
    return _drift(history, horizon, level, f" (fewer than {MIN_ETS_POINTS} points for Holt's model)")


def _holt(history: list[float], horizon: int, level: float) -> _Bands:
    """Holt's additive trend, ETS(A,A,N), fitted by maximum likelihood; exact prediction intervals."""
    import pandas as pd  # the optional `report` extra: imported only when a forecast is made
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = pd.Series(history)  # statsmodels 0.15's prediction summary needs an indexed input
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; a bad fit shows in its numbers
        fitted = ETSModel(series, error="add", trend="add").fit(disp=False)
        frame = fitted.get_prediction(start=len(history), end=len(history) + horizon - 1).summary_frame(alpha=1 - level)
    mean, lower, upper = (tuple(float(v) for v in frame[name]) for name in ("mean", "pi_lower", "pi_upper"))
    if not all(math.isfinite(v) for v in mean + lower + upper):
        raise ArithmeticError("the fit gave non-finite values")
    return _Bands(mean, lower, upper, "holt: exponential smoothing with additive trend, ETS(A,A,N), statsmodels")


def _drift(history: list[float], horizon: int, level: float, why: str) -> _Bands:
    """Last value plus h mean steps; interval from the steps' standard deviation (FPP3 §5.5)."""
    n = len(history)
    if n == 1:
        flat = (history[0],) * horizon
        return _Bands(flat, flat, flat, "naive: one point, forecast that value" + why)
    steps = [b - a for a, b in zip(history, history[1:])]
    slope = sum(steps) / len(steps)
    spread = math.sqrt(sum((s - slope) ** 2 for s in steps) / (len(steps) - 1)) if len(steps) > 1 else 0.0
    z = NormalDist().inv_cdf(0.5 + level / 2)
    mean = tuple(history[-1] + h * slope for h in range(1, horizon + 1))
    half = tuple(z * spread * math.sqrt(h * (1 + h / (n - 1))) for h in range(1, horizon + 1))
    lower = tuple(m - w for m, w in zip(mean, half))
    upper = tuple(m + w for m, w in zip(mean, half))
    return _Bands(mean, lower, upper, "drift: last value plus the mean step" + why)


def _at_least_zero(bands: _Bands) -> _Bands:
    """A series of counts is not forecast below zero."""
    mean, lower, upper = (tuple(max(0.0, v) for v in band) for band in (bands.mean, bands.lower, bands.upper))
    return _Bands(mean, lower, upper, bands.method)


def _growth_ratio(history: list[float], mean: Sequence[float], horizon: int) -> float:
    """Forecast mean over the mean of the last `horizon` values (all of them when fewer): 1.0 when
    both are zero, infinity when only the recent history is."""
    recent = history[-horizon:]
    baseline = sum(recent) / len(recent) if recent else 0.0
    ahead = sum(mean) / len(mean)
    if baseline == 0:
        return 1.0 if ahead == 0 else math.inf
    return ahead / baseline
