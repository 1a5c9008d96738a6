"""Web, worker and beat write to one database at once: on SQLite (the embedded default) as on
PostgreSQL, none of them may fail with "database is locked" or lose a write."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from beat.models import SchedulerState
from devices.models import CollectionGroup, Device, DeviceBackupResult
from schedules.models import BackupSchedule
from schedules.services import schedule_create
from tests.support.fleet import make_devices
from tests.support.worker_app import COLLECTED_KEY

pytestmark = [pytest.mark.processes, pytest.mark.timeout(300)]

DEVICES_PER_GROUP = 50
GROUPS = 4
OCCURRENCES = 3  # caught up at start-up: last_tick is this many minutes back


def test_beat_worker_and_api_write_at_once_without_a_locked_database(
    procs: Any, redis_db: Any, beat_config: Any, api_client: Any, fleet: dict[str, Any]
) -> None:
    beat_config(restart_window_minutes=10)
    now = datetime.now(UTC)
    # overlap_policy "queue": every occurrence is collected however busy the worker (the
    # test counts writes; overlap has tests of its own)
    every_minute = schedule_create(
        name="every minute", schedule_type="cron", cron_expression="* * * * *",
        overlap_policy="queue",
    )
    BackupSchedule.objects.filter(pk=every_minute.pk).update(
        active_since=now - timedelta(days=1)
    )
    for g in range(GROUPS):
        group = CollectionGroup.objects.create(name=f"zone-{g}")
        make_devices(DEVICES_PER_GROUP, schedule=every_minute, group=group, prefix=f"z{g}")
    state = SchedulerState.load()
    state.last_tick = now - timedelta(minutes=OCCURRENCES)
    state.save()

    workers = [procs.worker(concurrency=2) for _ in range(2)]
    beat = procs.beat()

    # The web's writes while the beat fans out and the workers collect: assignments, bulk
    # assignments and new schedules, each of which must succeed.
    client = api_client(fleet["users"]["superuser"])
    core1 = fleet["devices"]["core1"].pk
    statuses: list[tuple[str, int]] = []
    deadline = time.monotonic() + 20
    i = 0
    while time.monotonic() < deadline:
        i += 1
        schedule_id = fleet["schedules"]["weekly" if i % 2 else "daily"].pk
        answer = client.patch(f"/api/devices/{core1}/", {"backup_schedule_id": schedule_id},
                              format="json")
        statuses.append(("patch", answer.status_code))
        answer = client.post("/api/backup-schedules/", {
            "name": f"API schedule {i}", "schedule_type": "daily", "hour": i % 24, "minute": 0,
        }, format="json")
        statuses.append(("create", answer.status_code))
        answer = client.post("/api/scheduled-backups/bulk-assign/", {
            "schedule_id": answer.json()["id"] if answer.status_code == 201 else None,
            "device_ids": [fleet["devices"]["orphan"].pk],
        }, format="json")
        statuses.append(("bulk-assign", answer.status_code))
    assert all(code in (200, 201) for _, code in statuses), statuses

    beat.wait_for(r"leading: pid=")
    expected = GROUPS * DEVICES_PER_GROUP
    rows = DeviceBackupResult.objects.filter(schedule=every_minute)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        occurrences = rows.values("scheduled_for").distinct().count()
        if occurrences >= OCCURRENCES and not rows.exclude(status="success").exists():
            break
        time.sleep(0.5)
    by_occurrence = {
        t: rows.filter(scheduled_for=t).count()
        for t in rows.order_by().values_list("scheduled_for", flat=True).distinct()
    }
    assert len(by_occurrence) >= OCCURRENCES, by_occurrence
    assert set(by_occurrence.values()) == {expected}, by_occurrence
    assert not rows.exclude(status="success").exists(), list(
        rows.exclude(status="success").values_list("status", "error")[:5]
    )
    assert redis_db.llen(COLLECTED_KEY) == rows.count()  # each result collected once
    assert Device.objects.get(pk=core1).backup_schedule_id in {
        fleet["schedules"]["daily"].pk, fleet["schedules"]["weekly"].pk
    }
    for proc in (beat, *workers):
        assert "database is locked" not in proc.log(), proc.name
