"""Catch-up planning: recent occurrences run late, older ones are missed, nothing before
the schedule existed counts, and an absurd gap is bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from beat.catchup import plan_catchup
from schedules.recurrence import Recurrence

HOURLY = Recurrence(schedule_type="cron", cron_expression="0 * * * *", timezone="UTC")
NOW = datetime(2027, 1, 10, 12, 30, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=UTC)


def test_occurrences_within_the_window_are_caught_up_and_older_ones_missed() -> None:
    plan = plan_catchup(HOURLY, last_tick=at(7, 30), active_since=None, now=NOW,
                        window=timedelta(minutes=150))
    assert plan.catchup == [at(10), at(11), at(12)]
    assert plan.missed == [at(8), at(9)]
    assert plan.skipped == 0


def test_window_boundary_is_inclusive() -> None:
    plan = plan_catchup(HOURLY, last_tick=at(9, 59), active_since=None, now=at(12),
                        window=timedelta(hours=2))
    assert plan.catchup == [at(10), at(11), at(12)]
    assert plan.missed == []


def test_zero_window_catches_up_nothing() -> None:
    plan = plan_catchup(HOURLY, last_tick=at(10, 30), active_since=None, now=NOW,
                        window=timedelta(0))
    assert plan.catchup == []
    assert plan.missed == [at(11), at(12)]


def test_occurrence_exactly_at_last_tick_was_handled_already() -> None:
    plan = plan_catchup(HOURLY, last_tick=at(11), active_since=None, now=NOW,
                        window=timedelta(hours=5))
    assert plan.catchup == [at(12)]


def test_occurrences_before_the_schedule_was_active_are_not_missed() -> None:
    plan = plan_catchup(HOURLY, last_tick=at(1), active_since=at(10, 15), now=NOW,
                        window=timedelta(minutes=60))
    assert plan.catchup == [at(12)]
    assert plan.missed == [at(11)]


def test_first_start_ever_has_nothing_to_catch_up() -> None:
    plan = plan_catchup(HOURLY, last_tick=None, active_since=at(1), now=NOW,
                        window=timedelta(hours=5))
    assert plan.catchup == [] and plan.missed == [] and plan.skipped == 0


def test_a_year_of_a_per_minute_cron_is_capped_to_the_newest_occurrences() -> None:
    every_minute = Recurrence(schedule_type="cron", cron_expression="* * * * *", timezone="UTC")
    plan = plan_catchup(every_minute, last_tick=NOW - timedelta(days=365), active_since=None,
                        now=NOW, window=timedelta(minutes=120), limit=500)
    assert len(plan.catchup) == 121  # 120 minutes back, inclusive
    assert len(plan.missed) == 500 - 121
    assert plan.skipped == 365 * 24 * 60 - 500
    assert plan.catchup[-1] == NOW.replace(second=0)
