"""The demand forecast: Holt's trend recovered from noisy data, and the stated fallbacks that keep a
short or flat series from failing the report."""

from __future__ import annotations

import math
import random

import pytest

from slawatch.report.forecast import MIN_ETS_POINTS, Forecast, forecast_series

SLOPE, INTERCEPT, NOISE = 3.0, 200.0, 5.0


def trend_with_noise(n: int = 90, seed: int = 11) -> list[float]:
    rng = random.Random(seed)
    return [INTERCEPT + SLOPE * t + rng.gauss(0, NOISE) for t in range(n)]


def truth(t: int) -> float:
    return INTERCEPT + SLOPE * t


def test_a_linear_trend_with_noise_is_recovered_within_the_interval():
    history = trend_with_noise()
    forecast = forecast_series(history, horizon=14)
    assert forecast.method.startswith("holt")
    for h, (mean, lower, upper) in enumerate(zip(forecast.mean, forecast.lower, forecast.upper), start=1):
        expected = truth(len(history) - 1 + h)
        assert lower <= expected <= upper, f"step {h}: {expected} outside [{lower:.1f}, {upper:.1f}]"
        assert abs(mean - expected) < 3 * NOISE
    slope = (forecast.mean[-1] - forecast.mean[0]) / (len(forecast.mean) - 1)
    assert slope == pytest.approx(SLOPE, rel=0.1)


def test_the_interval_is_about_as_wide_as_the_noise_asks():
    forecast = forecast_series(trend_with_noise(), horizon=7, level=0.9)
    half_width = (forecast.upper[0] - forecast.lower[0]) / 2
    assert 1.645 * NOISE * 0.6 < half_width < 1.645 * NOISE * 1.6  # the 90 % normal quantile times sigma
    assert forecast.level == 0.9


def test_a_higher_level_gives_a_wider_interval_around_the_same_mean():
    history = trend_with_noise()
    narrow, wide = forecast_series(history, 7, level=0.8), forecast_series(history, 7, level=0.99)
    assert narrow.mean == pytest.approx(wide.mean)
    for n_lo, n_hi, w_lo, w_hi in zip(narrow.lower, narrow.upper, wide.lower, wide.upper):
        assert w_lo < n_lo < n_hi < w_hi


def test_growth_ratio_is_the_forecast_over_the_same_length_of_recent_history():
    history = trend_with_noise()
    forecast = forecast_series(history, horizon=30)
    expected = sum(truth(89 + h) for h in range(1, 31)) / sum(truth(t) for t in range(60, 90))
    assert forecast.growth_ratio == pytest.approx(expected, rel=0.02)
    assert forecast.growth_ratio == pytest.approx(sum(forecast.mean) / sum(history[-30:]))


def test_twenty_percent_a_month_of_daily_counts_is_flagged_as_growth():
    rng = random.Random(3)
    daily = [1000 * 1.2 ** (d / 30) * rng.uniform(0.97, 1.03) for d in range(91)]
    forecast = forecast_series(daily, horizon=30)
    # A straight line under an exponential: a little under the +20 %, well over +10 %.
    assert 1.12 < forecast.growth_ratio < 1.22


def test_the_same_series_gives_the_same_forecast():
    assert forecast_series(trend_with_noise(), 10) == forecast_series(trend_with_noise(), 10)


def test_a_constant_series_forecasts_that_constant_with_no_interval():
    forecast = forecast_series([500.0] * 40, horizon=5)
    assert forecast == Forecast((500.0,) * 5, (500.0,) * 5, (500.0,) * 5, 1.0, forecast.method)
    assert forecast.method.startswith("constant")


@pytest.mark.parametrize("n", [2, 3, MIN_ETS_POINTS - 1])
def test_a_short_series_falls_back_to_the_drift_method(n):
    history = [10.0 + 2 * t + (1 if t % 2 else -1) * 0.5 for t in range(n)]
    forecast = forecast_series(history, horizon=3)
    assert forecast.method.startswith("drift") and f"fewer than {MIN_ETS_POINTS} points" in forecast.method
    slope = (history[-1] - history[0]) / (n - 1)
    assert forecast.mean == pytest.approx(tuple(history[-1] + h * slope for h in (1, 2, 3)))
    for lower, mean, upper in zip(forecast.lower, forecast.mean, forecast.upper):
        assert lower <= mean <= upper


def test_the_drift_interval_widens_with_the_horizon():
    forecast = forecast_series([10.0, 14.0, 11.0, 17.0, 15.0], horizon=4)
    widths = [u - lo for lo, u in zip(forecast.lower, forecast.upper)]
    assert widths == sorted(widths) and widths[0] > 0


def test_one_point_or_none_are_forecast_without_failing():
    one = forecast_series([42.0], horizon=2)
    assert one.mean == (42.0, 42.0) and one.method.startswith(("constant", "naive"))
    none = forecast_series([], horizon=2)
    assert none.mean == none.lower == none.upper == (0.0, 0.0)
    assert none.growth_ratio == 1.0 and none.method.startswith("none")


def test_counts_are_never_forecast_below_zero():
    falling = [float(max(0, 300 - 12 * t)) for t in range(30)]
    forecast = forecast_series(falling, horizon=10)
    assert min(forecast.lower + forecast.mean) >= 0.0


def test_growth_from_nothing_is_infinite_and_a_quiet_series_stays_at_one():
    rising_from_zero = forecast_series([-4.0, -2.0, 0.0], horizon=1)  # the last value 0, the next 2
    assert rising_from_zero.mean == (2.0,) and rising_from_zero.growth_ratio == math.inf
    assert forecast_series([0.0] * 12, horizon=3).growth_ratio == 1.0


@pytest.mark.parametrize("values, horizon, level, message", [
    ([1.0, 2.0], 0, 0.9, "horizon"),
    ([1.0, 2.0], 3, 90, "level"),
    ([1.0, math.nan, 2.0], 3, 0.9, "finite"),
])
def test_bad_arguments_are_refused_with_what_is_wrong(values, horizon, level, message):
    with pytest.raises(ValueError, match=message):
        forecast_series(values, horizon, level)
