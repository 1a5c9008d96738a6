"""Scheduling policy with real beats and a real worker: one occurrence of 2,000 devices spread
over two minutes across a leader kill, a skip window and a defer window around it
(schedules/policy.py)."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.models import Device, DeviceBackupResult, DeviceGroup, MaintenanceWindow
from schedules.services import schedule_create
from tests.support.fleet import make_devices
from tests.support.worker_app import COLLECTED_KEY

pytestmark = [pytest.mark.processes, pytest.mark.timeout(420)]

SPREAD_DEVICES = 2000
SPREAD_MINUTES = 2


def test_a_spread_occurrence_arrives_smoothly_once_per_device_across_a_leader_kill_and_windows_skip_or_defer(  # noqa: E501
    procs: Any, redis_db: Any
) -> None:
    now = datetime.now(UTC)
    at = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if at - now < timedelta(seconds=15):
        at += timedelta(minutes=1)
    daily = f"{at.minute} {at.hour} * * *"  # read in UTC: the schedules live there
    spread = schedule_create(name="spread", schedule_type="cron", cron_expression=daily,
                             timezone="UTC", spread_minutes=SPREAD_MINUTES)
    spread_ids = make_devices(SPREAD_DEVICES, schedule=spread, prefix="spread")
    held = schedule_create(name="held", schedule_type="cron", cron_expression=daily,
                           timezone="UTC")
    frozen, late = DeviceGroup.objects.create(name="frozen"), DeviceGroup.objects.create(
        name="late")
    frozen_ids = make_devices(20, schedule=held, prefix="frozen")
    late_ids = make_devices(20, schedule=held, prefix="late")
    Device.objects.filter(pk__in=frozen_ids).update(device_group=frozen)
    Device.objects.filter(pk__in=late_ids).update(device_group=late)
    skip = MaintenanceWindow.objects.create(name="freeze", policy="skip", schedule_type="once",
                                            start=at - timedelta(minutes=1), duration_minutes=10)
    skip.device_groups.set([frozen])
    defer = MaintenanceWindow.objects.create(name="change", policy="defer", schedule_type="once",
                                             start=at - timedelta(seconds=30),
                                             duration_minutes=1)  # ends at `at` + 30 s
    defer.device_groups.set([late])

    procs.worker("collect.default", concurrency=2)
    first, second = procs.beat(), procs.beat()
    deadline = time.monotonic() + 30
    while not any("leading: pid=" in b.log() for b in (first, second)):
        assert time.monotonic() < deadline, "no beat leads"
        time.sleep(0.1)
    leader, standby = (first, second) if "leading: pid=" in first.log() else (second, first)

    time.sleep(max(0.0, (at + timedelta(seconds=20) - datetime.now(UTC)).total_seconds()))
    leader.signal(signal.SIGKILL)
    killed_at = datetime.now(UTC)
    standby.wait_for(r"leading: pid=", timeout=30)

    expected = SPREAD_DEVICES + len(late_ids)
    deadline = time.monotonic() + SPREAD_MINUTES * 60 + 120
    while DeviceBackupResult.objects.filter(status="success").count() < expected:
        assert time.monotonic() < deadline, "the occurrence did not finish"
        time.sleep(0.5)
    time.sleep(2)  # duplicates still in flight would show now

    collected = Counter(int(x) for x in redis_db.lrange(COLLECTED_KEY, 0, -1))
    assert sorted(collected) == sorted(spread_ids + late_ids)
    assert set(collected.values()) == {1}, "a device was collected twice"

    rows = {r.device_id: r for r in DeviceBackupResult.objects.all()}
    assert {rows[pk].scheduled_for for pk in rows} == {at}
    assert {(rows[pk].status, rows[pk].skip_reason) for pk in frozen_ids} == {
        ("skipped", "maintenance")}
    for pk in late_ids:  # deferred to the window's end, the occurrence unchanged
        assert rows[pk].published_at >= at + timedelta(seconds=30)
    for pk in spread_ids:  # held until its offset, published soon after
        row = rows[pk]
        assert row.publish_after is not None and at <= row.publish_after < at + timedelta(
            minutes=SPREAD_MINUTES)
        assert row.published_at >= row.publish_after - timedelta(seconds=0.5)

    per_second = Counter(int((rows[pk].published_at - at).total_seconds()) for pk in spread_ids)
    failover = range(int((killed_at - at).total_seconds()),
                     int((datetime.now(UTC) - at).total_seconds()))
    seconds = SPREAD_MINUTES * 60
    steady = [n for s, n in per_second.items() if s not in failover[:10] and s < seconds]
    average = SPREAD_DEVICES / seconds
    print(f"\nspread: {SPREAD_DEVICES} devices over {seconds} s, at most {max(steady)} "
          f"published in one second outside the failover (average {average:.1f}); "
          f"{len(per_second)} distinct seconds")
    assert max(steady) <= 2 * average, per_second
