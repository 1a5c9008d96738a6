"""The agenda: what is due when, across schedule edits and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from beat.agenda import Agenda, ScheduleSpec
from schedules.recurrence import Recurrence


def spec(sid: int, hour: int, minute: int = 0, tz: str = "Australia/Sydney",
         active_since: datetime | None = None) -> ScheduleSpec:
    rec = Recurrence(schedule_type="daily", hour=hour, minute=minute, timezone=tz)
    return ScheduleSpec(id=sid, name=f"s{sid}", recurrence=rec, active_since=active_since)


def run_ticks(agenda: Agenda, start: datetime, end: datetime,
              step: timedelta) -> list[tuple[int, datetime]]:
    """Drive the agenda like the beat does: tick, fire what is due, mark it done."""
    fired = []
    now = start
    while now < end:
        for s, occurrence in agenda.due(now):
            fired.append((s.id, occurrence))
            agenda.done(s.id, occurrence)
        now += step
    return fired


def test_daily_0230_fires_once_on_the_sydney_spring_forward_day_at_0330() -> None:
    agenda = Agenda()
    start = datetime(2027, 10, 1, 12, tzinfo=UTC)
    agenda.load([spec(1, 2, 30)], cursor=start)
    fired = run_ticks(agenda, start, start + timedelta(days=4), timedelta(minutes=1))
    sydney = ZoneInfo("Australia/Sydney")
    local = [t.astimezone(sydney).strftime("%m-%d %H:%M") for _, t in fired]
    assert local == ["10-02 02:30", "10-03 03:30", "10-04 02:30", "10-05 02:30"]


def test_daily_0230_fires_once_on_the_sydney_fall_back_day_at_the_first_0230() -> None:
    agenda = Agenda()
    start = datetime(2027, 4, 2, 12, tzinfo=UTC)
    agenda.load([spec(1, 2, 30)], cursor=start)
    fired = run_ticks(agenda, start, start + timedelta(days=3), timedelta(minutes=1))
    assert [t for _, t in fired] == [
        datetime(2027, 4, 2, 15, 30, tzinfo=UTC),  # 04-03 02:30 AEDT
        datetime(2027, 4, 3, 15, 30, tzinfo=UTC),  # 04-04 the first 02:30 (AEDT, +11)
        datetime(2027, 4, 4, 16, 30, tzinfo=UTC),  # 04-05 02:30 AEST
    ]


def test_idle_agenda_has_nothing_due_and_reports_the_next_instant() -> None:
    agenda = Agenda()
    now = datetime(2027, 1, 1, tzinfo=UTC)
    agenda.load([spec(1, 2), spec(2, 1)], cursor=now)
    assert agenda.due(now) == []
    assert agenda.next_due() == datetime(2027, 1, 1, 14, tzinfo=UTC)  # 01:00 AEDT on 01-02


def test_a_leader_that_falls_behind_fires_each_overdue_occurrence_once() -> None:
    agenda = Agenda()
    start = datetime(2027, 1, 1, tzinfo=UTC)
    agenda.load([spec(1, 2)], cursor=start)
    due = agenda.due(start + timedelta(days=3))
    assert [t.day for _, t in due] == [1, 2, 3]


def test_a_new_schedule_does_not_fire_for_times_before_it_was_active() -> None:
    agenda = Agenda()
    cursor = datetime(2027, 1, 1, tzinfo=UTC)
    active = datetime(2027, 1, 1, 16, tzinfo=UTC)  # after 02:00 AEDT on 01-02 (15:00 UTC)
    agenda.load([spec(1, 2, active_since=active)], cursor=cursor)
    assert agenda.next_due() == datetime(2027, 1, 2, 15, tzinfo=UTC)


def test_done_for_a_stale_occurrence_does_not_rewind() -> None:
    agenda = Agenda()
    start = datetime(2027, 1, 1, tzinfo=UTC)
    agenda.load([spec(1, 2)], cursor=start)
    first = agenda.next_due()
    assert first is not None
    agenda.done(1, first)
    second = agenda.next_due()
    agenda.done(1, first)  # repeated: ignored
    assert agenda.next_due() == second


def test_occurrences_at_one_instant_fan_out_highest_priority_first() -> None:
    agenda = Agenda()
    start = datetime(2027, 1, 1, tzinfo=UTC)
    rec = Recurrence(schedule_type="daily", hour=2, minute=0, timezone="Australia/Sydney")
    early = Recurrence(schedule_type="daily", hour=1, minute=0, timezone="Australia/Sydney")
    agenda.load([ScheduleSpec(id=1, name="low", recurrence=rec, active_since=None, priority=1),
                 ScheduleSpec(id=2, name="high", recurrence=rec, active_since=None, priority=9),
                 ScheduleSpec(id=3, name="mid", recurrence=rec, active_since=None),
                 ScheduleSpec(id=4, name="earlier", recurrence=early, active_since=None,
                              priority=0)], cursor=start)
    due = agenda.due(start + timedelta(days=1))
    assert [s.name for s, _ in due] == ["earlier", "high", "mid", "low"]


def test_a_schedule_in_its_own_time_zone_fires_at_its_local_time_across_dst() -> None:
    """New York's 02:00 on its spring-forward day (2027-03-14) does not exist: 03:00 EDT."""
    agenda = Agenda()
    start = datetime(2027, 3, 13, 12, tzinfo=UTC)
    agenda.load([spec(1, 2, tz="America/New_York")], cursor=start)
    fired = run_ticks(agenda, start, start + timedelta(days=2), timedelta(minutes=5))
    local = [t.astimezone(ZoneInfo("America/New_York")) for _, t in fired]
    assert [(t.day, t.hour) for t in local] == [(14, 3), (15, 2)]
