"""Exclusion schedules against brute-force expansion of each rule and a sweep over raw intervals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from slawatch.core.exclusions import ExclusionSchedule, validate_exclusion, validate_rrule
from slawatch.core.model import FixedExclusion, RecurringExclusion

ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia"]
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()
SPAN = 3 * 365 * 86400  # queries fall in 2024-2026; rules start in 2023-2025


def at(zone: str, *wall: int) -> float:
    return datetime(*wall, tzinfo=ZoneInfo(zone)).timestamp()


def raw_intervals(exclusions, start: float, end: float) -> list[tuple[float, float]]:
    """Every occurrence and fixed interval touching [start, end), unmerged, straight from dateutil."""
    out = [(e.start, e.end) for e in exclusions if isinstance(e, FixedExclusion)]
    for e in exclusions:
        if isinstance(e, RecurringExclusion):
            zone = ZoneInfo(e.time_zone)
            rule = rrulestr(e.rrule, dtstart=datetime.fromisoformat(e.dtstart).replace(tzinfo=zone))
            after = datetime.fromtimestamp(start - e.duration_s - 2 * 86400, timezone.utc)
            before = datetime.fromtimestamp(end + 2 * 86400, timezone.utc)
            out += [(o.timestamp(), o.timestamp() + e.duration_s) for o in rule.between(after, before, inc=True)]
    return out


def swept(raw, start: float, end: float) -> list[tuple[float, float]]:
    """Merged coverage of [start, end) by a sweep over +1/-1 edges (touching intervals join up)."""
    edges = sorted(
        (x, delta)
        for s, e in raw
        if max(s, start) < min(e, end)
        for x, delta in ((max(s, start), -1), (min(e, end), +1))
    )  # at equal x an opening (-1 sorts first) comes before a closing
    out: list[tuple[float, float]] = []
    depth = 0
    for x, delta in edges:
        depth -= delta
        if depth == 1 and delta == -1:
            out.append((x, x)) if not out or out[-1][1] != x else None
        elif depth == 0:
            out[-1] = (out[-1][0], x)
    return out


rules = st.builds(
    lambda freq, interval, days, hour, count: ";".join(
        [f"FREQ={freq}", f"INTERVAL={interval}"]
        + ([f"BYDAY={','.join(days)}"] if days and freq in ("WEEKLY", "DAILY") else [])
        + ([f"BYHOUR={hour}"] if hour is not None and freq != "HOURLY" else [])
        + ([f"COUNT={count}"] if count else [])
    ),
    st.sampled_from(["HOURLY", "DAILY", "WEEKLY", "MONTHLY"]),
    st.integers(1, 3),
    st.lists(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), unique=True, max_size=3),
    st.one_of(st.none(), st.integers(0, 23)),
    st.one_of(st.none(), st.integers(1, 40)),
)
recurring = st.builds(
    RecurringExclusion,
    rrule=rules,
    dtstart=st.datetimes(datetime(2023, 6, 1), datetime(2025, 6, 1)).map(
        lambda d: d.replace(minute=d.minute // 30 * 30, second=0, microsecond=0).isoformat()
    ),
    duration_s=st.sampled_from([60, 1800, 3600, 4 * 3600, 2 * 86400]),
    time_zone=st.sampled_from(ZONES),
)
fixed = st.tuples(st.floats(T0, T0 + SPAN), st.floats(1, 30 * 86400)).map(
    lambda p: FixedExclusion(p[0], p[0] + p[1])
)
exclusion_lists = st.lists(st.one_of(recurring, fixed), min_size=1, max_size=3)
instants = st.floats(T0, T0 + SPAN)


@settings(max_examples=60, deadline=None)
@given(exclusion_lists, st.lists(instants, min_size=1, max_size=15))
def test_contains_agrees_with_brute_force_expansion_whatever_order_instants_come_in(exclusions, ts):
    schedule = ExclusionSchedule(exclusions)
    for t in ts:
        expected = any(s <= t < e for s, e in raw_intervals(exclusions, t, t + 1))
        assert schedule.contains(t) == expected


@settings(max_examples=60, deadline=None)
@given(exclusion_lists, instants, st.floats(0, 60 * 86400), instants)
def test_intervals_and_excluded_seconds_agree_with_a_sweep(exclusions, start, length, warm_up):
    schedule = ExclusionSchedule(exclusions)
    schedule.contains(warm_up)  # the lazily built span should not change any answer
    end = start + length
    expected = swept(raw_intervals(exclusions, start, end), start, end)
    got = schedule.intervals(start, end)
    assert got == expected
    assert schedule.excluded_seconds(start, end) == pytest.approx(sum(b - a for a, b in expected))


@settings(max_examples=40, deadline=None)
@given(exclusion_lists, instants)
def test_intervals_are_sorted_disjoint_and_never_touch(exclusions, start):
    got = ExclusionSchedule(exclusions).intervals(start, start + 90 * 86400)
    assert all(a < b for a, b in got)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(got, got[1:]))


def test_an_empty_schedule_excludes_nothing():
    schedule = ExclusionSchedule([])
    assert not schedule
    assert schedule.contains(T0) is False
    assert schedule.intervals(T0, T0 + 86400) == []
    assert schedule.excluded_seconds(T0, T0 + 86400) == 0


def test_a_sunday_1am_window_stays_at_1am_local_across_dst():
    weekly = RecurringExclusion("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1", "2024-01-07T01:00:00", 3600, "Europe/London")
    schedule = ExclusionSchedule([weekly])
    march = schedule.intervals(at("UTC", 2024, 3, 1), at("UTC", 2024, 4, 15))
    local_starts = [datetime.fromtimestamp(s, ZoneInfo("Europe/London")) for s, _ in march]
    assert [d.day for d in local_starts] == [3, 10, 17, 24, 31, 7, 14]
    # 31 March is the spring-forward day: 01:00 does not exist and reads as 02:00 BST (RFC 5545).
    assert [d.hour for d in local_starts] == [1, 1, 1, 1, 2, 1, 1]


def test_an_occurrence_at_0230_on_a_spring_forward_day_starts_at_0330_daylight_time():
    daily = RecurringExclusion("FREQ=DAILY", "2024-03-09T02:30:00", 1800, "America/New_York")
    schedule = ExclusionSchedule([daily])
    spring_forward = at("UTC", 2024, 3, 10, 7, 30)  # 03:30 EDT
    assert schedule.intervals(spring_forward - 3600, spring_forward + 3600) == [(spring_forward, spring_forward + 1800)]


def test_an_occurrence_in_the_repeated_hour_means_the_first_one():
    daily = RecurringExclusion("FREQ=DAILY", "2024-11-02T01:30:00", 600, "America/New_York")
    schedule = ExclusionSchedule([daily])
    first_0130 = at("UTC", 2024, 11, 3, 5, 30)  # 01:30 EDT, before the clocks go back
    assert schedule.contains(first_0130)
    assert not schedule.contains(first_0130 + 3600)  # 01:30 EST


def test_overlapping_occurrences_and_fixed_windows_merge_into_one_interval():
    schedule = ExclusionSchedule(
        [
            RecurringExclusion("FREQ=HOURLY", "2024-01-01T00:00:00", 5400),
            FixedExclusion(at("UTC", 2024, 1, 1, 5), at("UTC", 2024, 1, 1, 6)),
        ]
    )
    assert schedule.intervals(at("UTC", 2024, 1, 1), at("UTC", 2024, 1, 1, 3)) == [
        (at("UTC", 2024, 1, 1), at("UTC", 2024, 1, 1, 3))
    ]


def test_a_schedule_jumping_years_back_and_forth_still_answers_correctly():
    schedule = ExclusionSchedule([RecurringExclusion("FREQ=MONTHLY;BYMONTHDAY=1", "2020-01-01T00:00:00", 3600)])
    for year in (2030, 2021, 2029, 2021):
        assert schedule.contains(at("UTC", year, 5, 1, 0, 30))
        assert not schedule.contains(at("UTC", year, 5, 2, 0, 30))


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("", "empty"),
        ("BYDAY=SU", "no FREQ"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY=XX is invalid"),
        ("FREQ=WEEKLY;BYHOUR=25", "BYHOUR=25 is invalid"),
        ("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is not allowed"),
        ("FREQ=MINUTELY", "at most hourly"),
        ("FREQ=WEEKLY;COLOUR=RED", "'COLOUR' is unknown"),
        ("FREQ=WEEKLY;BYDAY", "not NAME=VALUE"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL=0 must be a whole number >= 1"),
        ("FREQ=WEEKLY;UNTIL=20261231", "must be UTC, ending in Z"),
        ("FREQ=YEARLY;BYMONTH=13", "'13' is not in 1..12"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never occurs"),
        ("FREQ=WEEKLY;FREQ=DAILY", "given twice"),
        ("DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "one RRULE line"),
    ],
)
def test_a_bad_rrule_is_refused_with_the_wrong_part_named(text, message_part):
    message = validate_rrule(text)
    assert message_part in message
    assert "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2" in message or "UNTIL=20261231T235959Z" in message or "never" in message


@pytest.mark.parametrize(
    "text", ["FREQ=WEEKLY;BYDAY=SU;BYHOUR=2", "RRULE:FREQ=MONTHLY;BYDAY=1SA", "freq=daily;until=20261231T000000Z"]
)
def test_a_good_rrule_passes(text):
    assert validate_rrule(text) is None


@pytest.mark.parametrize(
    ("exclusion", "message_part"),
    [
        (FixedExclusion(10.0, 10.0), "must be after its start"),
        (RecurringExclusion("FREQ=DAILY", "2026-01-04T02:00:00", 0), "duration must be positive"),
        (RecurringExclusion("FREQ=DAILY", "4 Jan 2026", 60), "4 Jan 2026"),
        (RecurringExclusion("FREQ=DAILY", "2026-01-04T02:00:00+01:00", 60), "without offset"),
        (RecurringExclusion("FREQ=DAILY", "2026-01-04T02:00:00", 60, "Mars/Base"), "Mars/Base"),
    ],
)
def test_an_unschedulable_exclusion_is_explained(exclusion, message_part):
    assert message_part in validate_exclusion(exclusion)
    with pytest.raises(ValueError, match=message_part.replace("+", r"\+")):
        ExclusionSchedule([exclusion])
