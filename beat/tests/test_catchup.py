"""Catch-up planning: recent occurrences run late, older ones are missed, nothing before
the schedule existed counts, and an absurd gap is bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from beat.catchup import CatchupStep, catchup_steps, handled_through, plan_catchup
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


# -- resuming: last_tick moves only past what was fully handled ---------------------------

DAILY_AT_9 = Recurrence(schedule_type="daily", hour=9, minute=0, timezone="UTC")


def two_schedules_steps() -> list[CatchupStep]:
    plans = {
        7: plan_catchup(HOURLY, last_tick=at(7, 30), active_since=None, now=NOW,
                        window=timedelta(minutes=150)),
        3: plan_catchup(DAILY_AT_9, last_tick=at(7, 30), active_since=None, now=NOW,
                        window=timedelta(minutes=150)),
    }
    return catchup_steps(plans)


def test_steps_of_all_schedules_come_oldest_first_with_ties_by_schedule() -> None:
    steps = two_schedules_steps()
    assert [(s.at, s.schedule_id, s.missed) for s in steps] == [
        (at(8), 7, True), (at(9), 3, True), (at(9), 7, True),
        (at(10), 7, False), (at(11), 7, False), (at(12), 7, False),
    ]


def test_a_complete_catch_up_moves_last_tick_to_the_planning_instant() -> None:
    steps = two_schedules_steps()
    assert handled_through(steps, len(steps), last_tick=at(7, 30), now=NOW) == NOW


def test_a_catch_up_cut_short_moves_last_tick_to_just_before_the_first_unhandled_step() -> None:
    steps = two_schedules_steps()
    resumed = handled_through(steps, 4, last_tick=at(7, 30), now=NOW)  # 08:00 .. 10:00 done
    assert resumed == at(11) - timedelta(microseconds=1)
    plan = plan_catchup(HOURLY, last_tick=resumed, active_since=None, now=NOW,
                        window=timedelta(minutes=150))
    assert plan.catchup == [at(11), at(12)]  # the next leader starts where this one stopped


def test_a_step_half_done_at_a_shared_instant_is_planned_again_for_every_schedule() -> None:
    steps = two_schedules_steps()
    resumed = handled_through(steps, 2, last_tick=at(7, 30), now=NOW)  # 09:00 of 3, not of 7
    assert resumed == at(9) - timedelta(microseconds=1)
    assert resumed is not None
    assert plan_catchup(DAILY_AT_9, last_tick=resumed, active_since=None, now=NOW,
                        window=timedelta(minutes=150)).missed == [at(9)]


def test_a_catch_up_cut_short_before_any_step_keeps_last_tick() -> None:
    steps = two_schedules_steps()
    assert handled_through(steps, 0, last_tick=at(7, 30), now=NOW) == at(7, 30)
    assert handled_through([], 0, last_tick=at(7, 30), now=NOW) == NOW
