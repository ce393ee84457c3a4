"""Calendar periods against a brute-force reference that walks local dates one day at a time."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.calendar import period_bounds, previous_period_bounds, validate_time_zone
from slawatch.core.model import CalendarUnit, CalendarWindow

ZONES = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kolkata",  # +05:30, no DST
    "Asia/Kathmandu",  # +05:30 -> +05:45 at midnight 1986-01-01: that midnight never happened
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "America/Santiago",  # DST changes at midnight
]
# Offsets of these zones are whole quarter hours from 1971 on, so every local midnight and every
# transition lies on the UTC 15-minute grid the reference scans.
GRID_S = 900
FIRST_T = datetime(1971, 1, 1, tzinfo=timezone.utc).timestamp()
LAST_T = datetime(2037, 12, 31, tzinfo=timezone.utc).timestamp()


def local_date(t: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(t, zone).date()


def reference_first_instant(day: date, zone: ZoneInfo) -> float:
    """The first grid instant whose local date is `day` or later, scanning around nominal midnight."""
    nominal = datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()
    s = nominal - 15 * 3600
    while local_date(s, zone) < day:
        s += GRID_S
    return s


def is_first_date(day: date, unit: CalendarUnit, count: int) -> bool:
    """The documented anchors, stated directly: days from 1970-01-01, ISO weeks, months from 1970-01."""
    if unit is CalendarUnit.DAY:
        return (day - date(1970, 1, 1)).days % count == 0
    if unit is CalendarUnit.WEEK:
        return day.weekday() == 0 and (day - date(1969, 12, 29)).days // 7 % count == 0
    months_per_period = {CalendarUnit.MONTH: 1, CalendarUnit.QUARTER: 3, CalendarUnit.YEAR: 12}[unit]
    month_index = (day.year - 1970) * 12 + day.month - 1
    return day.day == 1 and month_index % (months_per_period * count) == 0


def reference_bounds(window: CalendarWindow, t: float) -> tuple[float, float]:
    zone = ZoneInfo(window.time_zone)
    first = local_date(math.floor(t), zone)  # edges are whole seconds; fromtimestamp would round up
    while not is_first_date(first, window.unit, window.count):
        first -= timedelta(days=1)
    following = first + timedelta(days=1)
    while not is_first_date(following, window.unit, window.count):
        following += timedelta(days=1)
    return reference_first_instant(first, zone), reference_first_instant(following, zone)


windows = st.builds(
    CalendarWindow,
    unit=st.sampled_from(list(CalendarUnit)),
    count=st.one_of(st.just(1), st.integers(min_value=1, max_value=5)),
    time_zone=st.sampled_from(ZONES),
)
instants = st.floats(min_value=FIRST_T, max_value=LAST_T, allow_nan=False)


def at(zone: str, *wall: int) -> float:
    return datetime(*wall, tzinfo=ZoneInfo(zone)).timestamp()


def hours(bounds: tuple[float, float]) -> float:
    return (bounds[1] - bounds[0]) / 3600


@settings(max_examples=300, deadline=None)
@given(windows, instants)
def test_period_bounds_agree_with_stepping_through_local_dates(window, t):
    start, end = period_bounds(window, t)
    assert start <= t < end
    assert (start, end) == reference_bounds(window, t)


@settings(max_examples=200, deadline=None)
@given(windows, instants)
def test_consecutive_periods_tile_time_without_gap_or_overlap(window, t):
    start, end = period_bounds(window, t)
    assert period_bounds(window, end)[0] == end
    assert period_bounds(window, start - 0.001)[1] == start
    assert previous_period_bounds(window, t) == period_bounds(window, start - 0.001)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), instants)
def test_a_period_answer_is_the_same_however_often_and_in_whatever_order_it_is_asked(zone, t):
    window = CalendarWindow(CalendarUnit.MONTH, time_zone=zone)
    first = period_bounds(window, t)
    period_bounds(window, t + 86400 * 400)
    assert period_bounds(window, t) == first


def test_a_month_in_new_york_starts_at_local_midnight_across_dst():
    window = CalendarWindow(CalendarUnit.MONTH, time_zone="America/New_York")
    start, end = period_bounds(window, at("America/New_York", 2024, 3, 15, 12))
    assert start == at("America/New_York", 2024, 3, 1)
    assert end == at("America/New_York", 2024, 4, 1)
    assert hours((start, end)) == 31 * 24 - 1


def test_a_london_day_is_23_hours_in_spring_and_25_in_autumn():
    window = CalendarWindow(CalendarUnit.DAY, time_zone="Europe/London")
    assert hours(period_bounds(window, at("Europe/London", 2024, 3, 31, 12))) == 23
    assert hours(period_bounds(window, at("Europe/London", 2024, 10, 27, 12))) == 25


def test_a_lord_howe_day_loses_and_gains_half_an_hour():
    window = CalendarWindow(CalendarUnit.DAY, time_zone="Australia/Lord_Howe")
    assert hours(period_bounds(window, at("Australia/Lord_Howe", 2024, 10, 6, 12))) == 23.5
    assert hours(period_bounds(window, at("Australia/Lord_Howe", 2024, 4, 7, 12))) == 24.5


def test_apia_goes_from_29_to_31_december_2011_and_so_do_its_days():
    window = CalendarWindow(CalendarUnit.DAY, time_zone="Pacific/Apia")
    december_31 = period_bounds(window, at("Pacific/Apia", 2011, 12, 31, 12))
    assert december_31 == (at("Pacific/Apia", 2011, 12, 31), at("Pacific/Apia", 2012, 1, 1))
    december_29 = previous_period_bounds(window, december_31[0])
    assert december_29 == (at("Pacific/Apia", 2011, 12, 29), december_31[0])


def test_a_day_whose_midnight_never_happened_starts_at_the_transition():
    window = CalendarWindow(CalendarUnit.DAY, time_zone="Asia/Kathmandu")
    start, _ = period_bounds(window, at("Asia/Kathmandu", 1986, 1, 1, 12))
    assert datetime.fromtimestamp(start, ZoneInfo("Asia/Kathmandu")).time().isoformat() == "00:15:00"
    assert period_bounds(window, start - 1)[1] == start


def test_a_kolkata_leap_february_is_29_days_from_local_midnight():
    window = CalendarWindow(CalendarUnit.MONTH, time_zone="Asia/Kolkata")
    start, end = period_bounds(window, at("Asia/Kolkata", 2024, 2, 10))
    assert start == at("Asia/Kolkata", 2024, 2, 1)
    assert end - start == 29 * 86400


def test_an_iso_week_starts_on_the_monday_before_new_year():
    window = CalendarWindow(CalendarUnit.WEEK)
    assert period_bounds(window, at("UTC", 2021, 1, 1, 9)) == (at("UTC", 2020, 12, 28), at("UTC", 2021, 1, 4))


def test_quarters_begin_in_january_april_july_and_october():
    window = CalendarWindow(CalendarUnit.QUARTER, time_zone="Europe/London")
    london = ZoneInfo("Europe/London")
    starts = {
        datetime.fromtimestamp(period_bounds(window, at("Europe/London", 2025, month, 15))[0], london).month
        for month in range(1, 13)
    }
    assert starts == {1, 4, 7, 10}


@pytest.mark.parametrize(
    ("window", "when", "expected_first", "expected_next"),
    [
        (CalendarWindow(CalendarUnit.MONTH, 3), (2025, 5, 5), (2025, 4, 1), (2025, 7, 1)),
        (CalendarWindow(CalendarUnit.MONTH, 5), (2025, 5, 5), (2025, 1, 1), (2025, 6, 1)),
        (CalendarWindow(CalendarUnit.QUARTER, 2), (2025, 5, 5), (2025, 1, 1), (2025, 7, 1)),
        (CalendarWindow(CalendarUnit.YEAR, 2), (2025, 5, 5), (2024, 1, 1), (2026, 1, 1)),
        (CalendarWindow(CalendarUnit.DAY, 7), (1970, 1, 9), (1970, 1, 8), (1970, 1, 15)),
        (CalendarWindow(CalendarUnit.WEEK, 2), (1970, 1, 9), (1969, 12, 29), (1970, 1, 12)),
    ],
)
def test_grouped_periods_count_from_the_1970_anchor(window, when, expected_first, expected_next):
    assert period_bounds(window, at("UTC", *when)) == (at("UTC", *expected_first), at("UTC", *expected_next))


def test_a_count_below_one_is_refused_with_the_value_named():
    with pytest.raises(ValueError, match="count must be >= 1, got 0"):
        period_bounds(CalendarWindow(CalendarUnit.DAY, 0), 0.0)


def test_an_unknown_time_zone_gets_a_message_with_valid_examples():
    assert "Europe/London" in validate_time_zone("Mars/Olympus_Mons")
    assert validate_time_zone("Pacific/Apia") is None
