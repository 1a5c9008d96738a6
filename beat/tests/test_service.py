"""`BeatService` state by state, in milliseconds: standby, leader, step-down, exit, firing and
catch-up, driven tick by tick with injected clocks against the real Redis and database (the
process tests show the same with real processes, signals and kills)."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from django.conf import settings

from beat.lock import LOCK_KEY, read_owner
from beat.models import SchedulerState
from beat.service import STANDBY_POLL, BeatService
from devices.models import DeviceBackupResult
from project.redis_client import new_redis_client
from schedules.models import BackupSchedule
from schedules.services import schedule_create
from tests.support.fleet import make_devices

pytestmark = pytest.mark.usefixtures("transactional_db")

TTL = 6  # seconds
T0 = datetime(2026, 12, 3, 10, 0, 30, tzinfo=UTC)


class Clocks:
    """The wall clock and the monotonic clock of one beat, moved by the test."""

    def __init__(self) -> None:
        self.now = T0
        self.mono = 1000.0

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def beat(redis_db: Any, clocks: Clocks) -> Iterator[BeatService]:
    config = dataclasses.replace(
        settings.DEVICEVAULT,
        scheduler=dataclasses.replace(
            settings.DEVICEVAULT.scheduler, lock_ttl_seconds=TTL, restart_window_minutes=3
        ),
    )
    service = BeatService(config=config, redis_client=new_redis_client(settings.REDIS_URL),
                          clock=clocks.wall,
                          monotonic=clocks.monotonic, renew_in_background=False)
    yield service
    service.lock.release()


def lead(beat: BeatService) -> None:
    assert beat.tick() == 0.0
    assert beat.leader


def other_owner(pid: int, host: str | None = None) -> str:
    return json.dumps({"host": host or socket.gethostname(), "pid": pid, "token": "theirs",
                       "acquired_at": "2026-12-03T10:00:00Z"})


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def every_minute(devices: int = 3, overlap_policy: str = "skip") -> BackupSchedule:
    schedule = schedule_create(name="every minute", schedule_type="cron",
                               cron_expression="* * * * *", overlap_policy=overlap_policy)
    BackupSchedule.objects.filter(pk=schedule.pk).update(active_since=T0 - timedelta(days=1))
    make_devices(devices, schedule=schedule)
    return schedule


# -- standby -> leader -------------------------------------------------------------------------


def test_a_standby_takes_a_free_lock_records_itself_and_leads(
    beat: BeatService, redis_db: Any
) -> None:
    lead(beat)
    owner = read_owner(redis_db)
    assert owner is not None and owner.token == beat.lock.token and owner.pid == os.getpid()
    state = SchedulerState.load()
    assert state.is_running and state.scheduler_pid == os.getpid()
    assert state.last_restart_at == T0 and state.last_tick == T0


def test_a_standby_waits_while_a_live_process_holds_the_lock(
    beat: BeatService, redis_db: Any
) -> None:
    redis_db.set(LOCK_KEY, other_owner(os.getppid()), px=TTL * 1000)
    assert beat.tick() == STANDBY_POLL
    assert not beat.leader
    assert json.loads(redis_db.get(LOCK_KEY))["token"] == "theirs"


def test_a_standby_waits_for_a_lock_of_another_host_to_expire(
    beat: BeatService, redis_db: Any
) -> None:
    redis_db.set(LOCK_KEY, other_owner(1, host="elsewhere"), px=TTL * 1000)
    assert beat.tick() == STANDBY_POLL and not beat.leader
    redis_db.delete(LOCK_KEY)  # its TTL ran out
    lead(beat)


def test_a_standby_takes_over_the_lock_of_a_dead_process_on_its_host(
    beat: BeatService, redis_db: Any
) -> None:
    redis_db.set(LOCK_KEY, other_owner(dead_pid()), px=TTL * 1000)
    lead(beat)
    assert read_owner(redis_db).token == beat.lock.token  # type: ignore[union-attr]


# -- leader -> standby, leader -> exit ------------------------------------------------------------


def test_a_leader_whose_key_was_taken_steps_down_and_leaves_the_new_owner_alone(
    beat: BeatService, redis_db: Any
) -> None:
    lead(beat)
    redis_db.set(LOCK_KEY, other_owner(os.getppid()), px=TTL * 1000)
    assert beat.lock.renew() is False  # the renewal sees another value
    assert beat.tick() == STANDBY_POLL
    assert not beat.leader and beat.exit_code == 0
    assert json.loads(redis_db.get(LOCK_KEY))["token"] == "theirs"


def test_a_leader_whose_lease_ran_out_unrenewed_steps_down_before_doing_anything(
    beat: BeatService, clocks: Clocks, redis_db: Any
) -> None:
    every_minute()
    lead(beat)
    clocks.advance(TTL + 60)  # a pause (SIGSTOP) longer than the TTL, across an occurrence
    assert beat.tick() == STANDBY_POLL
    assert not beat.leader
    assert not DeviceBackupResult.objects.exists()  # nothing fired without the lock


def test_a_leader_that_cannot_reach_redis_for_a_whole_ttl_exits_1(
    beat: BeatService, clocks: Clocks, redis_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead(beat)

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise redis.ConnectionError("Redis is unreachable (test)")

    monkeypatch.setattr(beat.redis, "execute_command", unreachable)
    assert beat.lock.renew() is False
    beat.tick()  # still inside its lease: it keeps leading
    assert beat.leader
    clocks.advance(TTL + 1)
    with pytest.raises(SystemExit) as exited:
        beat.tick()
    assert exited.value.code == 1 and beat.exit_code == 1


def test_a_stop_request_marks_the_state_stopped_releases_the_lock_and_exits_0(
    beat: BeatService, redis_db: Any
) -> None:
    lead(beat)
    beat.stop_requested = True
    with pytest.raises(SystemExit) as exited:
        beat.tick()
    assert exited.value.code == 0
    assert redis_db.get(LOCK_KEY) is None
    assert SchedulerState.load().is_running is False


def test_a_stopped_standby_exits_0_without_touching_the_lock_or_the_state(
    beat: BeatService, redis_db: Any
) -> None:
    redis_db.set(LOCK_KEY, other_owner(os.getppid()), px=TTL * 1000)
    beat.stop_requested = True
    with pytest.raises(SystemExit) as exited:
        beat.tick()
    assert exited.value.code == 0
    assert json.loads(redis_db.get(LOCK_KEY))["token"] == "theirs"
    assert not SchedulerState.objects.filter(is_running=True).exists()


# -- what a leader does --------------------------------------------------------------------------


def test_a_leader_fires_each_occurrence_once_when_it_comes_due(
    beat: BeatService, clocks: Clocks
) -> None:
    schedule = every_minute(devices=3)
    lead(beat)
    assert not DeviceBackupResult.objects.exists()  # 10:00:30: nothing due yet
    sleep = beat.tick()
    assert 0 < sleep <= 1.0
    clocks.advance(30.5)  # 10:01:00.5
    beat.lock.renew()
    beat.tick()
    beat.tick()  # the same instant again fires nothing more
    rows = DeviceBackupResult.objects.filter(schedule=schedule)
    assert rows.count() == 3
    assert set(rows.values_list("scheduled_for", "is_catchup")) == {
        (datetime(2026, 12, 3, 10, 1, tzinfo=UTC), False)
    }
    schedule.refresh_from_db()
    assert schedule.last_run_at == datetime(2026, 12, 3, 10, 1, tzinfo=UTC)
    assert schedule.next_run_at == datetime(2026, 12, 3, 10, 2, tzinfo=UTC)


def test_after_firing_into_a_whole_fleet_defer_window_the_next_run_is_the_windows_end(
    beat: BeatService, clocks: Clocks
) -> None:
    """10:01 falls in a defer window 10:00:45-10:03:45: its rows wait, and the schedule
    shows it fires at 10:03:45 (then 10:04), not at 10:02, which the window defers too."""
    from devices.models import MaintenanceWindow

    schedule = every_minute(devices=2)
    MaintenanceWindow.objects.create(name="change", policy="defer", schedule_type="once",
                                     start=T0 + timedelta(seconds=15), duration_minutes=3)
    lead(beat)
    clocks.advance(30.5)  # 10:01:00.5
    beat.lock.renew()
    beat.tick()
    assert set(DeviceBackupResult.objects.values_list("publish_after", flat=True)) == {
        datetime(2026, 12, 3, 10, 3, 45, tzinfo=UTC)}
    schedule.refresh_from_db()
    assert schedule.last_run_at == datetime(2026, 12, 3, 10, 1, tzinfo=UTC)
    assert schedule.next_run_at == datetime(2026, 12, 3, 10, 3, 45, tzinfo=UTC)


def test_a_new_leader_catches_up_recent_occurrences_and_records_old_ones_as_missed(
    beat: BeatService, clocks: Clocks
) -> None:
    schedule = every_minute(devices=2, overlap_policy="queue")
    state = SchedulerState.load()
    state.last_tick = T0 - timedelta(minutes=5)  # down since 09:55:30; window 3 minutes
    state.save()
    lead(beat)
    minute = lambda m: datetime(2026, 12, 3, 9, m, tzinfo=UTC)  # noqa: E731
    assert outcomes(schedule) == {  # older than 09:57:30 missed, the rest caught up
        minute(56): {("missed_window", False)}, minute(57): {("missed_window", False)},
        minute(58): {("queued", True)}, minute(59): {("queued", True)},
        datetime(2026, 12, 3, 10, 0, tzinfo=UTC): {("queued", True)},
    }
    assert SchedulerState.load().last_tick == T0


def outcomes(schedule: BackupSchedule) -> dict[datetime, set[tuple[str, bool]]]:
    rows = DeviceBackupResult.objects.filter(schedule=schedule)
    return {t: set(rows.filter(scheduled_for=t).values_list("status", "is_catchup"))
            for t in rows.values_list("scheduled_for", flat=True)}


def test_with_overlap_skip_a_catch_up_queues_a_device_once_and_skips_the_rest_as_overlap(
    beat: BeatService, clocks: Clocks
) -> None:
    """The default policy: while a device's caught-up 09:58 waits, 09:59 and 10:00 would be
    a second and third collection of it at once; they are skipped/overlap instead."""
    schedule = every_minute(devices=2)
    state = SchedulerState.load()
    state.last_tick = T0 - timedelta(minutes=3)
    state.save()
    lead(beat)
    minute = lambda m: datetime(2026, 12, 3, 9, m, tzinfo=UTC)  # noqa: E731
    assert outcomes(schedule) == {
        minute(58): {("queued", True)}, minute(59): {("skipped", True)},
        datetime(2026, 12, 3, 10, 0, tzinfo=UTC): {("skipped", True)},
    }
    skipped = DeviceBackupResult.objects.filter(status="skipped")
    assert set(skipped.values_list("skip_reason", flat=True)) == {"overlap"}
    assert all(r.finished_at is not None and "still queued or running" in r.error
               for r in skipped)
    assert DeviceBackupResult.objects.filter(published_at__isnull=False).count() == 2


def test_a_catch_up_cut_short_by_a_lost_lock_is_resumed_by_the_next_leader(
    beat: BeatService, clocks: Clocks, redis_db: Any
) -> None:
    schedule = every_minute(devices=1)
    down_since = T0 - timedelta(minutes=3)
    state = SchedulerState.load()
    state.last_tick = down_since
    state.save()
    original = beat._fire
    fired: list[datetime] = []

    def fire_then_lose_the_lock(spec: Any, occurrence: datetime, *, is_catchup: bool) -> None:
        original(spec, occurrence, is_catchup=is_catchup)
        fired.append(occurrence)
        if len(fired) == 1:  # someone else takes the key during the first fan-out
            redis_db.set(LOCK_KEY, other_owner(os.getppid()), px=TTL * 1000)
            beat.lock.renew()  # the renewal notices: lost

    beat._fire = fire_then_lose_the_lock  # type: ignore[method-assign]
    assert beat.tick() == STANDBY_POLL
    assert not beat.leader and len(fired) == 1
    # Lost mid-publish: that occurrence is not counted as handled, nor anything after it.
    assert SchedulerState.load().last_tick == down_since

    redis_db.delete(LOCK_KEY)  # the other leader went away
    lead(beat)  # and this one, leading again, resumes where the catch-up stopped
    rows = DeviceBackupResult.objects.filter(schedule=schedule)
    assert sorted(rows.values_list("scheduled_for", flat=True)) == [
        datetime(2026, 12, 3, 9, 58, tzinfo=UTC), datetime(2026, 12, 3, 9, 59, tzinfo=UTC),
        datetime(2026, 12, 3, 10, 0, tzinfo=UTC),
    ]
    assert SchedulerState.load().last_tick == T0
