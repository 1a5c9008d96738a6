"""Chaos, with real beats, workers, Redis and PostgreSQL.

1. SIGKILL the beat at random moments of a 2,000-device fan-out, again and again: afterwards
   every device has exactly one result row for the occurrence and was collected exactly once
   by the real worker, however many messages the crashes duplicated.
2. A 2,000-device fleet in 4 collection groups on a per-minute schedule, while a driver
   kills beats and worker children, deletes the lock key, stops the leader past its TTL and
   restarts a private Redis (append-only) and a private PostgreSQL: every device-occurrence
   of the window ends with one `success` result and one collection (a collection whose
   process the test killed before it could record its outcome is repeated, necessarily),
   and no group ever has two collections at once.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from beat.models import SchedulerState
from devices.models import CollectionGroup, DeviceBackupResult
from schedules.models import BackupSchedule
from schedules.services import schedule_create
from tests.support.chaos import FAULTS, run_chaos
from tests.support.fleet import make_devices
from tests.support.worker_app import COLLECTED_KEY

pytestmark = [pytest.mark.processes, pytest.mark.timeout(600)]

DEVICES = 2000
KILLS = 12


def published(occurrence: datetime) -> tuple[int, int]:
    rows = DeviceBackupResult.objects.filter(scheduled_for=occurrence)
    return rows.count(), rows.filter(published_at__isnull=False).count()


def test_sigkill_at_random_moments_of_fan_out_ends_with_each_device_collected_once(
    procs: Any, redis_db: Any
) -> None:
    rng = random.Random(20271003)
    now = datetime.now(UTC)
    # One occurrence two minutes ago and none for a year after it: the test never sees a
    # second one, whenever it runs.
    local = (now - timedelta(minutes=2)).astimezone(ZoneInfo("Australia/Sydney"))
    yearly = schedule_create(
        name="once", schedule_type="cron",
        cron_expression=f"{local.minute} {local.hour} {local.day} {local.month} *",
    )
    BackupSchedule.objects.filter(pk=yearly.pk).update(active_since=now - timedelta(days=1))
    group = CollectionGroup.objects.create(name="chaos", concurrency_limit=4)
    ids = make_devices(DEVICES, schedule=yearly, group=group)
    occurrence = local.replace(second=0, microsecond=0).astimezone(UTC)
    state = SchedulerState.load()
    state.last_tick = occurrence - timedelta(seconds=1)  # every start catches this one up
    state.save()
    procs.worker("collect.chaos", concurrency=2)

    # Small batches make the moments between "rows written", "batch published" and
    # "batch noted as published" many, so the kills land in each of them.
    env = {"DEVICEVAULT_PUBLISH_BATCH": 50}
    thresholds = sorted(rng.sample(range(1, DEVICES), KILLS - 2))
    mid_fanout_kills = 0
    for kill in range(KILLS):
        beat = procs.beat(**env)
        if kill == 0:
            time.sleep(rng.uniform(0.2, 1.0))  # during start-up, before any row
        elif kill == 1:
            deadline = time.monotonic() + 30  # as soon as rows exist, before publishing
            while published(occurrence)[0] == 0 and time.monotonic() < deadline:
                time.sleep(0.002)
        else:
            target = thresholds[kill - 2]
            deadline = time.monotonic() + 30
            while published(occurrence)[1] < target and time.monotonic() < deadline:
                if beat.popen.poll() is not None:
                    break
                time.sleep(0.002)
        beat.signal(signal.SIGKILL)
        beat.wait(10)
        rows, sent = published(occurrence)
        if 0 < rows and sent < DEVICES:
            mid_fanout_kills += 1
    assert mid_fanout_kills >= 8, "the kills must land inside the fan-out"

    final = procs.beat()
    final.wait_for(r"leading: pid=", timeout=60)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        done = DeviceBackupResult.objects.filter(scheduled_for=occurrence,
                                                 status="success").count()
        if done == DEVICES:
            break
        time.sleep(0.5)
    time.sleep(2)  # duplicates still in flight must find their rows already claimed

    rows = DeviceBackupResult.objects.filter(scheduled_for=occurrence)
    per_device = Counter(rows.values_list("device_id", flat=True))
    assert sorted(per_device) == sorted(ids)
    assert set(per_device.values()) == {1}
    assert set(rows.values_list("status", flat=True)) == {"success"}
    collected = Counter(int(x) for x in redis_db.lrange(COLLECTED_KEY, 0, -1))
    assert sorted(collected) == sorted(ids)
    assert set(collected.values()) == {1}, "a device was collected twice"


# -- a fleet under every fault at once (issue 13) ---------------------------------------------

FLEET = int(os.environ.get("CHAOS_DEVICES", "2000"))


def test_a_fleet_under_random_faults_gets_every_occurrence_collected_once_and_serially(
    tmp_path: Path,
) -> None:
    """2,000 devices in 4 groups, an occurrence every minute (5 schedules, one fires each
    minute: all 2,000 every minute would outrun a loaded 2-core box's workers), 100 s of
    random faults of every kind, then every device-occurrence of the window settled."""
    report = run_chaos(tmp_path, devices=FLEET, groups=4, schedules=5,
                       fault_seconds=float(os.environ.get("CHAOS_FAULT_SECONDS", "100")),
                       min_faults=12, settle_seconds=200,
                       seed=int(os.environ.get("CHAOS_SEED", "13")))
    print("\n" + report.line())
    assert report.device_occurrences >= FLEET // 5, "the window must contain an occurrence"
    assert set(report.faults) == set(FAULTS) and sum(report.faults.values()) >= 12
    assert report.settled_seconds is not None, report.line()
    assert (report.lost, report.duplicated, report.overlapping) == (0, 0, 0), report.line()
    assert not report.not_success, report.line()
