"""slawatch_period_elapsed_ratio: how much of a compliance period is gone, in the period's own time
zone, so a budget burn-down can be drawn against constant consumption."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from slawatch.core.model import CalendarUnit, CalendarWindow, RollingWindow
from slawatch.engine.gauges import period_elapsed


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp()


def test_half_of_a_utc_march_is_gone_at_noon_on_the_16th():
    assert period_elapsed(CalendarWindow(CalendarUnit.MONTH), at("2026-03-16T12:00:00")) == pytest.approx(0.5)


def test_a_berlin_month_starts_at_berlin_midnight_and_is_an_hour_short_for_summer_time():
    march_berlin = CalendarWindow(CalendarUnit.MONTH, time_zone="Europe/Berlin")
    # 00:30 UTC is 01:30 in Berlin: 1.5 h of a 743 h March (clocks go forward on the 29th)
    assert period_elapsed(march_berlin, at("2026-03-01T00:30:00")) == pytest.approx(1.5 / 743)


def test_a_rolling_window_is_always_a_full_period():
    assert period_elapsed(RollingWindow(28 * 86400), at("2026-03-16T12:00:00")) == 1.0
