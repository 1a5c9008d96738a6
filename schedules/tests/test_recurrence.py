"""Tests for schedules.recurrence: named DST cases with complete expected lists, then properties.

Expected instants were worked out by hand from the IANA rules and checked against zoneinfo;
the transition dates they rely on are asserted in test_*_transitions_are_where_the_cases_expect.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schedules.recurrence import SCHEDULE_TYPES, Recurrence, RecurrenceError, validate_cron

SYDNEY = "Australia/Sydney"
LORD_HOWE = "Australia/Lord_Howe"
SANTIAGO = "America/Santiago"
LONDON = "Europe/London"
NEW_YORK = "America/New_York"
PROPERTY_ZONES = (SYDNEY, LORD_HOWE, SANTIAGO, LONDON, NEW_YORK, "UTC")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


def local_days(tz: str, first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) covering the local dates first..last (midnight exists on these dates)."""
    start = datetime(first.year, first.month, first.day, tzinfo=ZoneInfo(tz))
    after = last + timedelta(days=1)
    end = datetime(after.year, after.month, after.day, tzinfo=ZoneInfo(tz))
    return start.astimezone(UTC), end.astimezone(UTC)


def daily(tz: str, hour: int, minute: int) -> Recurrence:
    return Recurrence(schedule_type="daily", hour=hour, minute=minute, timezone=tz)


def cron(expression: str, tz: str) -> Recurrence:
    return Recurrence(schedule_type="cron", cron_expression=expression, timezone=tz)


def walls(instants: list[datetime], tz: str) -> list[str]:
    return [t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M%z") for t in instants]


@cache
def transitions(tz: str, year: int) -> tuple[tuple[datetime, timedelta, timedelta], ...]:
    """(UTC instant, offset before, offset after) of every offset change in `year`."""
    zone = ZoneInfo(tz)
    found = []
    t = utc(year, 1, 1)
    before = t.astimezone(zone).utcoffset()
    while t.year == year:
        t += timedelta(minutes=30)
        after = t.astimezone(zone).utcoffset()
        if after != before:
            found.append((t, before, after))
            before = after
    return tuple(found)


# -- the transitions the named cases rely on ------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        (
            SYDNEY,
            [("2027-04-03T16:00:00+00:00", 660, 600), ("2027-10-02T16:00:00+00:00", 600, 660)],
        ),
        (
            LORD_HOWE,
            [("2027-04-03T15:00:00+00:00", 660, 630), ("2027-10-02T15:30:00+00:00", 630, 660)],
        ),
        (
            SANTIAGO,
            [("2027-04-04T03:00:00+00:00", -180, -240), ("2027-09-05T04:00:00+00:00", -240, -180)],
        ),
        (LONDON, [("2027-03-28T01:00:00+00:00", 0, 60), ("2027-10-31T01:00:00+00:00", 60, 0)]),
    ],
)
def test_2027_transitions_are_where_the_cases_expect(tz, expected):
    found = [
        (t.isoformat(), before // timedelta(minutes=1), after // timedelta(minutes=1))
        for t, before, after in transitions(tz, 2027)
    ]
    assert found == expected


def test_santiago_2027_spring_forward_skips_midnight_and_fall_back_repeats_2300():
    (fall_back, _, _), (spring_forward, _, _) = transitions(SANTIAGO, 2027)
    zone = ZoneInfo(SANTIAGO)
    assert fall_back.astimezone(zone).isoformat() == "2027-04-03T23:00:00-04:00"
    assert (fall_back - timedelta(microseconds=1)).astimezone(zone).hour == 23
    assert spring_forward.astimezone(zone).isoformat() == "2027-09-05T01:00:00-03:00"
    assert (spring_forward - timedelta(microseconds=1)).astimezone(zone).hour == 23


# -- Australia/Sydney ---------------------------------------------------------------------------


def test_daily_0230_on_spring_gap_fires_at_0330_sydney():
    start, end = local_days(SYDNEY, date(2027, 10, 1), date(2027, 10, 5))
    assert daily(SYDNEY, 2, 30).between(start, end) == [
        utc(2027, 9, 30, 16, 30),  # 10-01 02:30 AEST
        utc(2027, 10, 1, 16, 30),  # 10-02 02:30 AEST
        utc(2027, 10, 2, 16, 30),  # 10-03 02:30 does not exist: 03:30 AEDT
        utc(2027, 10, 3, 15, 30),  # 10-04 02:30 AEDT
        utc(2027, 10, 4, 15, 30),  # 10-05 02:30 AEDT
    ]


def test_daily_0230_on_spring_gap_fires_at_0330_local_wall_time_sydney():
    start, end = local_days(SYDNEY, date(2027, 10, 2), date(2027, 10, 4))
    assert walls(daily(SYDNEY, 2, 30).between(start, end), SYDNEY) == [
        "2027-10-02 02:30+1000",
        "2027-10-03 03:30+1100",
        "2027-10-04 02:30+1100",
    ]


def test_daily_0200_on_spring_gap_fires_at_0300_sydney():
    start, end = local_days(SYDNEY, date(2027, 10, 2), date(2027, 10, 4))
    assert daily(SYDNEY, 2, 0).between(start, end) == [
        utc(2027, 10, 1, 16, 0),
        utc(2027, 10, 2, 16, 0),  # 03:00 AEDT
        utc(2027, 10, 3, 15, 0),
    ]


def test_next_after_inside_the_spring_gap_shift_still_finds_the_shifted_occurrence_sydney():
    # 16:10Z is 03:10 AEDT: past the wall time 02:30, but the shifted 03:30 is still ahead.
    schedule = daily(SYDNEY, 2, 30)
    assert schedule.next_after(utc(2027, 10, 2, 16, 10)) == utc(2027, 10, 2, 16, 30)
    assert schedule.between(utc(2027, 10, 2, 16, 10), utc(2027, 10, 2, 17)) == [
        utc(2027, 10, 2, 16, 30)
    ]


def test_daily_0300_on_spring_gap_day_is_not_confused_with_shifted_0200_sydney():
    start, end = local_days(SYDNEY, date(2027, 10, 3), date(2027, 10, 3))
    assert daily(SYDNEY, 3, 0).between(start, end) == [utc(2027, 10, 2, 16, 0)]


def test_daily_0230_on_autumn_fold_fires_once_at_the_first_0230_sydney():
    start, end = local_days(SYDNEY, date(2027, 4, 2), date(2027, 4, 6))
    assert daily(SYDNEY, 2, 30).between(start, end) == [
        utc(2027, 4, 1, 15, 30),  # 04-02 02:30 AEDT
        utc(2027, 4, 2, 15, 30),  # 04-03 02:30 AEDT
        utc(2027, 4, 3, 15, 30),  # 04-04 first 02:30 (AEDT, +11); not 16:30Z
        utc(2027, 4, 4, 16, 30),  # 04-05 02:30 AEST
        utc(2027, 4, 5, 16, 30),  # 04-06 02:30 AEST
    ]


def test_daily_0230_next_after_the_first_0230_on_autumn_fold_skips_the_repeat_sydney():
    first = local(SYDNEY, 2027, 4, 4, 2, 30, fold=0)
    assert daily(SYDNEY, 2, 30).next_after(first) == utc(2027, 4, 4, 16, 30)
    repeat = local(SYDNEY, 2027, 4, 4, 2, 30, fold=1)
    assert repeat.astimezone(UTC) == utc(2027, 4, 3, 16, 30)
    assert daily(SYDNEY, 2, 30).next_after(repeat) == utc(2027, 4, 4, 16, 30)


# -- Australia/Lord_Howe (30-minute DST) --------------------------------------------------------


def test_daily_0215_on_spring_gap_fires_at_0245_lord_howe():
    start, end = local_days(LORD_HOWE, date(2027, 10, 2), date(2027, 10, 4))
    result = daily(LORD_HOWE, 2, 15).between(start, end)
    assert result == [
        utc(2027, 10, 1, 15, 45),  # 10-02 02:15 +10:30
        utc(2027, 10, 2, 15, 45),  # 10-03 02:15 does not exist: 02:45 +11
        utc(2027, 10, 3, 15, 15),  # 10-04 02:15 +11
    ]
    assert walls(result, LORD_HOWE)[1] == "2027-10-03 02:45+1100"


def test_daily_0145_on_autumn_fold_fires_once_at_the_first_0145_lord_howe():
    start, end = local_days(LORD_HOWE, date(2027, 4, 3), date(2027, 4, 5))
    assert daily(LORD_HOWE, 1, 45).between(start, end) == [
        utc(2027, 4, 2, 14, 45),  # 04-03 01:45 +11
        utc(2027, 4, 3, 14, 45),  # 04-04 first 01:45 (+11); the repeat is 15:15Z
        utc(2027, 4, 4, 15, 15),  # 04-05 01:45 +10:30
    ]


# -- America/Santiago (midnight skipped) --------------------------------------------------------


def test_daily_0030_on_skipped_midnight_fires_at_0130_santiago():
    start, end = utc(2027, 9, 4), utc(2027, 9, 7, 12)
    result = daily(SANTIAGO, 0, 30).between(start, end)
    assert result == [
        utc(2027, 9, 4, 4, 30),  # 09-04 00:30 -04
        utc(2027, 9, 5, 4, 30),  # 09-05 00:30 does not exist: 01:30 -03
        utc(2027, 9, 6, 3, 30),  # 09-06 00:30 -03
        utc(2027, 9, 7, 3, 30),  # 09-07 00:30 -03
    ]
    assert walls(result, SANTIAGO) == [
        "2027-09-04 00:30-0400",
        "2027-09-05 01:30-0300",
        "2027-09-06 00:30-0300",
        "2027-09-07 00:30-0300",
    ]


def test_daily_0000_on_skipped_midnight_fires_at_0100_once_on_that_date_santiago():
    result = daily(SANTIAGO, 0, 0).between(utc(2027, 9, 4), utc(2027, 9, 7))
    assert walls(result, SANTIAGO) == [
        "2027-09-04 00:00-0400",
        "2027-09-05 01:00-0300",
        "2027-09-06 00:00-0300",
    ]


def test_daily_2330_on_autumn_fold_fires_once_at_the_first_2330_santiago():
    result = daily(SANTIAGO, 23, 30).between(utc(2027, 4, 2, 12), utc(2027, 4, 5, 12))
    assert result == [
        utc(2027, 4, 3, 2, 30),  # 04-02 23:30 -03
        utc(2027, 4, 4, 2, 30),  # 04-03 first 23:30 (-03); the repeat is 03:30Z
        utc(2027, 4, 5, 3, 30),  # 04-04 23:30 -04
    ]


# -- Europe/London (last Sunday of March / October) ---------------------------------------------


def test_daily_0130_on_spring_gap_fires_at_0230_london():
    start, end = local_days(LONDON, date(2027, 3, 27), date(2027, 3, 29))
    result = daily(LONDON, 1, 30).between(start, end)
    assert result == [
        utc(2027, 3, 27, 1, 30),  # 03-27 01:30 GMT
        utc(2027, 3, 28, 1, 30),  # 03-28 01:30 does not exist: 02:30 BST
        utc(2027, 3, 29, 0, 30),  # 03-29 01:30 BST
    ]
    assert walls(result, LONDON)[1] == "2027-03-28 02:30+0100"


def test_daily_0130_on_autumn_fold_fires_once_at_the_first_0130_london():
    start, end = local_days(LONDON, date(2027, 10, 30), date(2027, 11, 1))
    assert daily(LONDON, 1, 30).between(start, end) == [
        utc(2027, 10, 30, 0, 30),  # 10-30 01:30 BST
        utc(2027, 10, 31, 0, 30),  # 10-31 first 01:30 (BST); the repeat is 01:30Z
        utc(2027, 11, 1, 1, 30),  # 11-01 01:30 GMT
    ]


def test_between_ending_in_the_repeated_hour_includes_the_first_pass_london():
    # 01:10Z is 01:10 GMT (second pass); 00:30Z was 01:30 BST, earlier, so it is inside.
    result = cron("30 1 * * *", LONDON).between(utc(2027, 10, 31, 0), utc(2027, 10, 31, 1, 10))
    assert result == [utc(2027, 10, 31, 0, 30)]


# -- weekly and monthly -------------------------------------------------------------------------


def test_weekly_day_of_week_0_is_monday():
    weekly = Recurrence(schedule_type="weekly", day_of_week=0, hour=3, minute=30)
    result = weekly.between(utc(2027, 1, 1), utc(2027, 2, 1))
    assert result == [
        utc(2027, 1, 4, 3, 30),
        utc(2027, 1, 11, 3, 30),
        utc(2027, 1, 18, 3, 30),
        utc(2027, 1, 25, 3, 30),
    ]
    assert {t.strftime("%A") for t in result} == {"Monday"}


def test_weekly_sunday_6_across_sydney_spring_gap_keeps_local_time():
    weekly = Recurrence(schedule_type="weekly", day_of_week=6, hour=2, minute=30, timezone=SYDNEY)
    result = weekly.between(utc(2027, 9, 20), utc(2027, 10, 15))
    assert walls(result, SYDNEY) == [
        "2027-09-26 02:30+1000",
        "2027-10-03 03:30+1100",
        "2027-10-10 02:30+1100",
    ]


def test_monthly_31_fires_on_the_last_day_of_shorter_months_in_2027():
    monthly = Recurrence(schedule_type="monthly", day_of_month=31, hour=1, minute=0)
    assert monthly.between(utc(2027, 1, 1), utc(2028, 1, 1)) == [
        utc(2027, 1, 31, 1),
        utc(2027, 2, 28, 1),
        utc(2027, 3, 31, 1),
        utc(2027, 4, 30, 1),
        utc(2027, 5, 31, 1),
        utc(2027, 6, 30, 1),
        utc(2027, 7, 31, 1),
        utc(2027, 8, 31, 1),
        utc(2027, 9, 30, 1),
        utc(2027, 10, 31, 1),
        utc(2027, 11, 30, 1),
        utc(2027, 12, 31, 1),
    ]


def test_monthly_31_fires_on_29_february_in_leap_year_2028():
    monthly = Recurrence(schedule_type="monthly", day_of_month=31, hour=1, minute=0)
    assert monthly.between(utc(2028, 1, 1), utc(2028, 5, 1)) == [
        utc(2028, 1, 31, 1),
        utc(2028, 2, 29, 1),
        utc(2028, 3, 31, 1),
        utc(2028, 4, 30, 1),
    ]


@pytest.mark.parametrize("day", [29, 30])
def test_monthly_29_and_30_fire_on_the_last_day_of_february(day):
    monthly = Recurrence(schedule_type="monthly", day_of_month=day, hour=0, minute=15)
    assert monthly.between(utc(2027, 1, 1), utc(2028, 4, 1)) == [
        utc(2027, d.month, d.day, 0, 15) if d.year == 2027 else utc(2028, d.month, d.day, 0, 15)
        for d in [
            date(2027, 1, day),
            date(2027, 2, 28),
            *(date(2027, m, day) for m in range(3, 13)),
            date(2028, 1, day),
            date(2028, 2, 29),
            date(2028, 3, day),
        ]
    ]


def test_monthly_31_in_sydney_fires_on_local_month_end():
    monthly = Recurrence(
        schedule_type="monthly", day_of_month=31, hour=1, minute=0, timezone=SYDNEY
    )
    result = monthly.between(utc(2027, 1, 1), utc(2027, 5, 1))
    assert walls(result, SYDNEY) == [
        "2027-01-31 01:00+1100",
        "2027-02-28 01:00+1100",
        "2027-03-31 01:00+1100",
        "2027-04-30 01:00+1000",
    ]
    assert result[1] == utc(2027, 2, 27, 14)


def test_monthly_5_at_0000_on_skipped_midnight_fires_at_0100_santiago():
    monthly = Recurrence(
        schedule_type="monthly", day_of_month=5, hour=0, minute=0, timezone=SANTIAGO
    )
    result = monthly.between(utc(2027, 8, 1), utc(2027, 10, 1))
    assert walls(result, SANTIAGO) == ["2027-08-05 00:00-0400", "2027-09-05 01:00-0300"]


# -- cron ---------------------------------------------------------------------------------------


def test_cron_30_2_on_spring_gap_fires_once_at_0330_sydney():
    start, end = local_days(SYDNEY, date(2027, 10, 2), date(2027, 10, 4))
    result = cron("30 2 * * *", SYDNEY).between(start, end)
    assert result == daily(SYDNEY, 2, 30).between(start, end)
    assert walls(result, SYDNEY) == [
        "2027-10-02 02:30+1000",
        "2027-10-03 03:30+1100",
        "2027-10-04 02:30+1100",
    ]


def test_cron_every_15_minutes_of_hour_2_on_spring_gap_shifts_each_by_the_gap_sydney():
    result = cron("*/15 2 * * *", SYDNEY).between(utc(2027, 10, 2, 12), utc(2027, 10, 3, 12))
    assert result == [
        utc(2027, 10, 2, 16, 0),
        utc(2027, 10, 2, 16, 15),
        utc(2027, 10, 2, 16, 30),
        utc(2027, 10, 2, 16, 45),
    ]
    assert walls(result, SYDNEY) == [
        "2027-10-03 03:00+1100",
        "2027-10-03 03:15+1100",
        "2027-10-03 03:30+1100",
        "2027-10-03 03:45+1100",
    ]


def test_cron_every_15_minutes_of_hours_2_and_3_on_spring_gap_deduplicates_sydney():
    gap_day = cron("*/15 2-3 * * *", SYDNEY).between(utc(2027, 10, 2, 12), utc(2027, 10, 3, 12))
    assert walls(gap_day, SYDNEY) == [
        "2027-10-03 03:00+1100",
        "2027-10-03 03:15+1100",
        "2027-10-03 03:30+1100",
        "2027-10-03 03:45+1100",
    ]
    normal_day = cron("*/15 2-3 * * *", SYDNEY).between(utc(2027, 10, 3, 12), utc(2027, 10, 4, 12))
    assert len(normal_day) == 8


def test_cron_wall_times_out_of_order_after_gap_shift_come_back_sorted_sydney():
    # 02:45 shifts to 03:45 (16:45Z), after 03:00 (16:00Z); both collide with 03:xx.
    result = cron("0,45 2,3 * * *", SYDNEY).between(utc(2027, 10, 2, 12), utc(2027, 10, 3, 12))
    assert result == [utc(2027, 10, 2, 16, 0), utc(2027, 10, 2, 16, 45)]


def test_cron_every_30_minutes_on_autumn_fold_fires_once_per_wall_time_sydney():
    result = cron("*/30 * * * *", SYDNEY).between(utc(2027, 4, 3, 14), utc(2027, 4, 3, 18))
    assert result == [
        utc(2027, 4, 3, 14, 0),  # 01:00 +11
        utc(2027, 4, 3, 14, 30),  # 01:30 +11
        utc(2027, 4, 3, 15, 0),  # 02:00 +11 (first)
        utc(2027, 4, 3, 15, 30),  # 02:30 +11 (first)
        # 02:00 +10 (16:00Z) and 02:30 +10 (16:30Z) are repeats: not fired again
        utc(2027, 4, 3, 17, 0),  # 03:00 +10
        utc(2027, 4, 3, 17, 30),  # 03:30 +10
    ]


def test_cron_30_2_on_autumn_fold_fires_once_sydney():
    result = cron("30 2 * * *", SYDNEY).between(utc(2027, 4, 3), utc(2027, 4, 4, 12))
    assert result == [utc(2027, 4, 3, 15, 30)]


def test_cron_every_6_hours_keeps_local_wall_times_across_london_autumn_fold():
    result = cron("0 */6 * * *", LONDON).between(utc(2027, 10, 30, 11), utc(2027, 10, 31, 19))
    assert walls(result, LONDON) == [
        "2027-10-30 12:00+0100",
        "2027-10-30 18:00+0100",
        "2027-10-31 00:00+0100",
        "2027-10-31 06:00+0000",
        "2027-10-31 12:00+0000",
        "2027-10-31 18:00+0000",
    ]


def test_cron_day_of_month_and_weekday_use_croniter_or_semantics():
    # croniter (like cron): both restricted means "the 13th OR any Friday".
    result = cron("0 9 13 * 5", "UTC").between(utc(2027, 8, 1), utc(2027, 9, 1))
    assert [t.day for t in result] == [6, 13, 20, 27]
    # a weekday-only expression: Sunday is 0 in cron
    result = cron("0 9 * * 0", "UTC").between(utc(2027, 8, 1), utc(2027, 8, 15))
    assert [t.strftime("%a %d") for t in result] == ["Sun 01", "Sun 08"]


def test_cron_29_february_only_finds_the_next_leap_year():
    assert cron("0 0 29 2 *", "UTC").next_after(utc(2027, 1, 1)) == utc(2028, 2, 29)
    assert cron("0 0 29 2 *", "UTC").next_after(utc(2097, 1, 1)) == utc(2104, 2, 29)


# -- next_after, next_n, between: interface -----------------------------------------------------


def test_next_after_is_strictly_after_an_occurrence():
    schedule = daily(SYDNEY, 2, 0)
    occurrence = utc(2027, 6, 1, 16)
    assert schedule.next_after(occurrence - timedelta(microseconds=1)) == occurrence
    assert schedule.next_after(occurrence) == utc(2027, 6, 2, 16)


def test_next_after_returns_utc_for_any_aware_input():
    result = daily(SYDNEY, 2, 0).next_after(local(NEW_YORK, 2027, 6, 1, 9, 0))
    assert result == utc(2027, 6, 1, 16)
    assert result.tzinfo is UTC


def test_between_is_half_open_and_empty_for_empty_windows():
    schedule = daily("UTC", 2, 0)
    assert schedule.between(utc(2027, 1, 1, 2), utc(2027, 1, 2, 2)) == [utc(2027, 1, 1, 2)]
    assert schedule.between(utc(2027, 1, 2), utc(2027, 1, 1)) == []
    assert schedule.between(utc(2027, 1, 1, 2), utc(2027, 1, 1, 2)) == []


def test_next_n_lists_the_next_occurrences():
    schedule = daily(SYDNEY, 2, 30)
    assert schedule.next_n(utc(2027, 10, 1), 3) == [
        utc(2027, 10, 1, 16, 30),
        utc(2027, 10, 2, 16, 30),
        utc(2027, 10, 3, 15, 30),
    ]
    assert schedule.next_n(utc(2027, 10, 1), 0) == []
    with pytest.raises(ValueError):
        schedule.next_n(utc(2027, 10, 1), -1)


def test_between_a_daily_schedule_over_two_years_is_fast():
    schedule = daily(SYDNEY, 2, 30)
    started = time.perf_counter()
    result = schedule.between(utc(2027, 1, 1), utc(2029, 1, 1))
    assert time.perf_counter() - started < 1.0
    assert len(result) == 731


def test_between_an_hourly_cron_over_a_year_is_fast():
    schedule = cron("0 * * * *", SANTIAGO)
    started = time.perf_counter()
    result = schedule.between(utc(2027, 1, 1), utc(2028, 1, 1))
    assert time.perf_counter() - started < 2.0
    # 8760 hours, less the hour skipped at the spring gap, plus none for the fold
    assert len(result) == 8759


@pytest.mark.parametrize("method", ["next_after", "between", "next_n"])
def test_naive_datetimes_are_refused(method):
    schedule = daily("UTC", 2, 0)
    naive = datetime(2027, 1, 1)
    call = {
        "next_after": lambda: schedule.next_after(naive),
        "between": lambda: schedule.between(naive, utc(2027, 2, 1)),
        "next_n": lambda: schedule.next_n(naive, 2),
    }[method]
    with pytest.raises(ValueError, match="naive"):
        call()


def test_between_refuses_a_naive_end():
    with pytest.raises(ValueError, match="naive"):
        daily("UTC", 2, 0).between(utc(2027, 1, 1), datetime(2027, 2, 1))


# -- describe -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"schedule_type": "daily", "hour": 2}, "Daily at 02:00"),
        (
            {"schedule_type": "weekly", "day_of_week": 0, "hour": 3, "minute": 30},
            "Weekly on Monday at 03:30",
        ),
        (
            {"schedule_type": "weekly", "day_of_week": 6, "hour": 23, "minute": 5},
            "Weekly on Sunday at 23:05",
        ),
        (
            {"schedule_type": "monthly", "day_of_month": 31, "hour": 1},
            "Monthly on day 31 at 01:00 (last day in shorter months)",
        ),
        ({"schedule_type": "monthly", "day_of_month": 15, "hour": 1}, "Monthly on day 15 at 01:00"),
        ({"schedule_type": "cron", "cron_expression": "0 */6 * * *"}, "Cron: 0 */6 * * *"),
        ({"schedule_type": "cron", "cron_expression": "  0  */6 * *   * "}, "Cron: 0 */6 * * *"),
    ],
)
def test_describe(kwargs, text):
    assert Recurrence(timezone=SYDNEY, **kwargs).describe() == text


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"schedule_type": "daily", "hour": 24}, "hour"),
        ({"schedule_type": "daily", "hour": -1}, "hour"),
        ({"schedule_type": "daily", "hour": True}, "hour"),
        ({"schedule_type": "daily", "hour": 2.0}, "hour"),
        ({"schedule_type": "daily", "hour": "2"}, "hour"),
        ({"schedule_type": "daily", "minute": 60}, "minute"),
        ({"schedule_type": "daily", "minute": False}, "minute"),
        ({"schedule_type": "weekly", "day_of_week": 7}, "day_of_week"),
        ({"schedule_type": "weekly", "day_of_week": -1}, "day_of_week"),
        ({"schedule_type": "weekly", "day_of_week": None}, "day_of_week"),
        ({"schedule_type": "weekly"}, "day_of_week"),
        ({"schedule_type": "weekly", "day_of_week": True}, "day_of_week"),
        ({"schedule_type": "monthly", "day_of_month": 0}, "day_of_month"),
        ({"schedule_type": "monthly", "day_of_month": 32}, "day_of_month"),
        ({"schedule_type": "monthly", "day_of_month": None}, "day_of_month"),
        ({"schedule_type": "monthly"}, "day_of_month"),
        ({"schedule_type": "cron", "cron_expression": "61 * * * *"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": "not a cron"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": ""}, "cron_expression"),
        ({"schedule_type": "cron"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": "* * * * * *"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": None}, "cron_expression"),
        ({"schedule_type": "daily", "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"schedule_type": "daily", "timezone": ""}, "timezone"),
        ({"schedule_type": "daily", "timezone": "../etc/passwd"}, "timezone"),
        ({"schedule_type": "daily", "timezone": None}, "timezone"),
        ({"schedule_type": "hourly"}, "schedule_type"),
        ({"schedule_type": ""}, "schedule_type"),
        ({"schedule_type": "Daily"}, "schedule_type"),
    ],
)
def test_invalid_definitions_raise_recurrence_error_naming_the_field(kwargs, field):
    with pytest.raises(RecurrenceError) as caught:
        Recurrence(**kwargs)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)


@pytest.mark.parametrize(
    "expression",
    [
        "61 * * * *",
        "not a cron",
        "",
        "   ",
        "* * * * * *",
        "0 0 * * * * 2027",
        "* * * *",
        "@daily",
        "0 24 * * *",
        "0 0 0 * *",
        "0 0 * 13 *",
        "0 0 * * 8",
        "*/0 * * * *",
        "1,,2 * * * *",
        "H * * * *",
        "R 2 * * *",
        "0 0 30 2 *",  # never matches
        "0 0 31 4,6,9,11 *",  # never matches
        "0\u00a00 * * *",
    ],
)
def test_validate_cron_rejects(expression):
    with pytest.raises(RecurrenceError) as caught:
        validate_cron(expression)
    assert caught.value.field == "cron_expression"
    assert str(caught.value)


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *",
        "0 */6 * * *",
        "30 2 * * *",
        "*/15 2-3 * * 1-5",
        "0 0 29 2 *",
        "0 0 31 2 1",  # OR semantics: every Monday in February
        "0 9 * jan-mar mon,fri",
        " 0 0 1 * * ",
    ],
)
def test_validate_cron_accepts(expression):
    validate_cron(expression)


def test_schedule_types():
    assert SCHEDULE_TYPES == ("daily", "weekly", "monthly", "cron")


def test_non_cron_types_ignore_cron_expression_and_cron_ignores_hour():
    daily_with_leftover = Recurrence(schedule_type="daily", cron_expression="garbage")
    assert daily_with_leftover.describe() == "Daily at 00:00"
    assert cron("0 3 * * *", "UTC") == Recurrence(schedule_type="cron", cron_expression="0 3 * * *")


def test_recurrence_is_frozen():
    schedule = daily("UTC", 2, 0)
    with pytest.raises(AttributeError):
        schedule.hour = 3  # type: ignore[misc]


def test_module_imports_without_django():
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; import schedules.recurrence; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), "
        "'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


# -- properties ---------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, database=None)
CRONS = (
    "30 2 * * *",
    "*/15 2-3 * * *",
    "0,45 2,3 * * *",
    "30 0 * * *",
    "0 */6 * * *",
    "15 1 * * 0",
    "0 3 1 * *",
    "*/20 0-3 * * *",
    "0 23 * * 6",
)

zones = st.sampled_from(PROPERTY_ZONES)
hours = st.integers(0, 23)
minutes = st.integers(0, 59)
first_dates = st.dates(date(2025, 1, 1), date(2030, 12, 31))


@st.composite
def instants(draw, tz: str) -> datetime:
    """A UTC instant, often within a day and a half of one of the zone's offset changes."""
    changes = [t for year in (2026, 2027, 2028) for t, _, _ in transitions(tz, year)]
    if changes and draw(st.booleans()):
        near = draw(st.sampled_from(changes))
        return near + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))
    return draw(st.datetimes(datetime(2026, 1, 1), datetime(2029, 12, 31), timezones=st.just(UTC)))


@st.composite
def recurrences(draw) -> Recurrence:
    tz = draw(zones)
    kind = draw(st.sampled_from(SCHEDULE_TYPES))
    if kind == "cron":
        return cron(draw(st.sampled_from(CRONS)), tz)
    return Recurrence(
        schedule_type=kind,
        hour=draw(hours),
        minute=draw(minutes),
        day_of_week=draw(st.integers(0, 6)) if kind == "weekly" else None,
        day_of_month=draw(st.integers(1, 31)) if kind == "monthly" else None,
        timezone=tz,
    )


def two_years(first: date) -> tuple[datetime, datetime]:
    return datetime(first.year, first.month, first.day, tzinfo=UTC), datetime(
        first.year + 2, first.month, min(first.day, 28), tzinfo=UTC
    )


@PROPERTY_SETTINGS
@given(tz=zones, hour=hours, minute=minutes, first=first_dates)
@example(tz=SYDNEY, hour=2, minute=30, first=date(2027, 1, 1))
@example(tz=LORD_HOWE, hour=2, minute=15, first=date(2027, 1, 1))
@example(tz=SANTIAGO, hour=0, minute=0, first=date(2027, 1, 1))
@example(tz=SANTIAGO, hour=23, minute=30, first=date(2027, 1, 1))
@example(tz=LONDON, hour=1, minute=30, first=date(2027, 1, 1))
def test_daily_fires_exactly_once_on_every_local_date_over_two_years(tz, hour, minute, first):
    zone = ZoneInfo(tz)
    start, end = two_years(first)
    result = daily(tz, hour, minute).between(start, end)
    assert result == sorted(set(result))
    per_date = Counter(t.astimezone(zone).date() for t in result)
    dates = sorted(per_date)
    # every local date strictly inside the window fires exactly once (the edges may be cut)
    inner = [date.fromordinal(o) for o in range(dates[0].toordinal() + 1, dates[-1].toordinal())]
    assert len(inner) > 700
    assert all(per_date[d] == 1 for d in inner)
    wanted = (hour, minute)
    for t in result:
        wall = t.astimezone(zone)
        if (wall.hour, wall.minute) == wanted:
            # a repeated wall time fires at its first instant: no earlier instant shows it
            for k in range(1, 13):
                earlier = (t - timedelta(minutes=15 * k)).astimezone(zone)
                assert (earlier.date(), earlier.hour, earlier.minute) != (wall.date(), *wanted)
        else:
            # only a wall time that does not exist moves, forward by less than the gap (<= 1h)
            nominal = datetime(wall.year, wall.month, wall.day, hour, minute)
            assert (
                nominal.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
                != nominal
            )
            shift = wall.replace(tzinfo=None) - nominal
            assert timedelta(0) < shift <= timedelta(hours=1)


@PROPERTY_SETTINGS
@given(tz=zones, hour=hours, minute=minutes, day=st.integers(28, 31), first=first_dates)
@example(tz=SYDNEY, hour=1, minute=0, day=31, first=date(2027, 1, 1))
@example(tz=SANTIAGO, hour=0, minute=30, day=31, first=date(2027, 1, 1))
def test_monthly_month_end_fires_exactly_once_every_month_over_two_years(
    tz, hour, minute, day, first
):
    zone = ZoneInfo(tz)
    start, end = two_years(first)
    result = Recurrence(
        schedule_type="monthly", day_of_month=day, hour=hour, minute=minute, timezone=tz
    ).between(start, end)
    assert result == sorted(set(result))
    local_dates = [t.astimezone(zone).date() for t in result]
    per_month = Counter((d.year, d.month) for d in local_dates)
    assert set(per_month.values()) == {1}
    assert len(per_month) in (23, 24, 25)
    months = sorted(per_month)
    ordinals = [y * 12 + m for y, m in months]
    assert ordinals == list(range(ordinals[0], ordinals[-1] + 1))
    for d in local_dates:
        last = (date(d.year + d.month // 12, d.month % 12 + 1, 1) - timedelta(days=1)).day
        assert d.day == min(day, last)


@PROPERTY_SETTINGS
@given(tz=zones, hour=hours, minute=minutes, weekday=st.integers(0, 6), first=first_dates)
def test_weekly_fires_once_per_iso_week_on_the_right_weekday(tz, hour, minute, weekday, first):
    zone = ZoneInfo(tz)
    start, end = two_years(first)
    result = Recurrence(
        schedule_type="weekly", day_of_week=weekday, hour=hour, minute=minute, timezone=tz
    ).between(start, end)
    assert result == sorted(set(result))
    local_dates = [t.astimezone(zone).date() for t in result]
    assert {d.weekday() for d in local_dates} == {weekday}
    per_week = Counter(d.isocalendar()[:2] for d in local_dates)
    assert set(per_week.values()) == {1}
    assert all((b - a).days == 7 for a, b in zip(local_dates, local_dates[1:], strict=False))
    assert len(local_dates) >= 103


@settings(max_examples=60, deadline=None, database=None)
@given(data=st.data(), schedule=recurrences())
def test_next_after_is_strictly_increasing_and_agrees_with_between(data, schedule):
    start = data.draw(instants(schedule.timezone))
    span = timedelta(days=70 if schedule.schedule_type == "monthly" else 9)
    end = start + span
    expected = schedule.between(start, end)
    assert expected == sorted(set(expected))
    assert all(t.tzinfo is UTC for t in expected)

    walked = []
    t = schedule.next_after(start - timedelta(microseconds=1))
    while t < end:
        assert not walked or t > walked[-1]
        walked.append(t)
        t = schedule.next_after(t)
    assert walked == expected
    assert schedule.next_n(start - timedelta(microseconds=1), len(expected)) == expected
    if expected:
        first = expected[0]
        assert schedule.next_after(first - timedelta(microseconds=1)) == first
        assert schedule.between(first + timedelta(microseconds=1), end) == expected[1:]


@settings(max_examples=30, deadline=None, database=None)
@given(tz=zones, expression=st.sampled_from(CRONS), first=first_dates)
def test_cron_fires_at_most_once_per_instant_and_on_matching_wall_times(tz, expression, first):
    zone = ZoneInfo(tz)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    result = cron(expression, tz).between(start, start + timedelta(days=60))
    assert result == sorted(set(result))
    assert result
    for t in result:
        wall = t.astimezone(zone).replace(tzinfo=None)
        if not croniter.match(expression, wall):
            # a gap-shifted wall time: the wall time it came from (<= 1h earlier) matches
            # and does not exist
            assert any(
                croniter.match(expression, wall - timedelta(minutes=m))
                and (wall - timedelta(minutes=m)).replace(tzinfo=zone).astimezone(UTC) == t
                for m in range(1, 61)
            )


@settings(max_examples=60, deadline=None, database=None)
@given(data=st.data(), schedule=recurrences())
def test_any_window_agrees_with_a_wide_window_around_transitions(data, schedule):
    """Short windows and next_after, placed just before or after real occurrences near DST
    changes, see exactly what a wide window sees."""
    centre = data.draw(instants(schedule.timezone))
    wide_start, wide_end = centre - timedelta(days=40), centre + timedelta(days=40)
    wide = schedule.between(wide_start, wide_end)
    assert wide
    nearby = [t for t in wide if abs(t - centre) <= timedelta(hours=36)] or wide
    anchor = data.draw(st.sampled_from(nearby))
    lead = timedelta(minutes=data.draw(st.integers(-180, 180)))
    length = timedelta(minutes=data.draw(st.integers(1, 240)))
    start = anchor + lead
    end = start + length
    assert schedule.between(start, end) == [t for t in wide if start <= t < end]
    later = [t for t in wide if t > start]
    if later and start > wide_start:
        assert schedule.next_after(start) == later[0]


@st.composite
def dst_wall_times(draw):
    """(tz, transition UTC instant, offset before, offset after, wall time in the gap/fold)."""
    tz = draw(st.sampled_from(PROPERTY_ZONES[:-1]))
    when, before, after = draw(
        st.sampled_from(transitions(tz, draw(st.sampled_from([2027, 2028]))))
    )
    first_wall = (when + min(before, after)).replace(tzinfo=None)
    span_minutes = abs(after - before) // timedelta(minutes=1)
    wall = first_wall + timedelta(minutes=draw(st.integers(0, span_minutes - 1)))
    return tz, when, before, after, wall


@settings(max_examples=60, deadline=None, database=None)
@given(case=dst_wall_times(), lead=st.integers(0, 240), kind=st.sampled_from(["daily", "cron"]))
def test_gap_and_fold_wall_times_fire_once_at_the_rule_instant_from_any_nearby_start(
    case, lead, kind
):
    tz, _, before, after, wall = case
    if kind == "daily":
        schedule = daily(tz, wall.hour, wall.minute)
    else:
        schedule = cron(f"{wall.minute} {wall.hour} * * *", tz)
    # Both rules give the instant at the offset in force before the change: a gap time
    # lands the gap's length later on the wall clock, a repeated time fires on its first pass.
    expected = (wall - before).replace(tzinfo=UTC)
    start = expected - timedelta(minutes=lead)
    assert schedule.next_after(start - timedelta(microseconds=1)) == expected
    assert schedule.between(start, expected + timedelta(minutes=1)) == [expected]
    shown = expected.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    assert shown == (wall + (after - before) if after > before else wall)
    # and nothing more fires until the next local day
    assert schedule.next_after(expected) - expected > timedelta(hours=20)
