"""Retention on the real database (devices/retention.py), and its housekeeping task as the
data migration ships it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from devices.collection.backups import backup_store
from devices.models import ConfigBlob, DeviceBackup, DeviceBackupResult
from devices.retention import prune
from tests.support.fleet import make_devices

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=500)


def result(device: int, status: str = "success", *, at: datetime = OLD,
           text: str | None = None) -> int:
    row = DeviceBackupResult.objects.create(
        device_id=device, scheduled_for=at + timedelta(microseconds=DeviceBackupResult.objects
                                                       .count()), status=status)
    if text is not None:
        backup_store(result=row, text=text)
        ConfigBlob.objects.filter(backups__result=row).update(created_at=at)
    DeviceBackupResult.objects.filter(pk=row.pk).update(queued_at=at)
    return row.pk


@pytest.fixture
def fleet() -> dict[str, list[int]]:
    a, b = make_devices(2, schedule=None)
    return {
        "a_configs": [result(a, text=f"hostname a\nversion {n}\n") for n in range(5)],
        "a_failed": [result(a, "failed"), result(a, "missed_window")],
        "a_waiting": [result(a, "queued"), result(a, "running")],
        "a_recent": [result(a, "failed", at=NOW - timedelta(days=3))],
        "b_only": [result(b, text="hostname b\n")],
        # the same text as a's newest: one blob, still referenced
        "b_shared": [result(b, "success", at=NOW - timedelta(days=1),
                            text="hostname a\nversion 4\n")],
    }


def left() -> set[int]:
    return set(DeviceBackupResult.objects.values_list("pk", flat=True))


def test_old_results_go_but_the_newest_configurations_of_each_device_stay(
    fleet: dict[str, list[int]],
) -> None:
    pruned = prune(now=NOW, results_days=400, configs_keep_per_device=2)
    kept = (set(fleet["a_configs"][-2:]) | set(fleet["a_waiting"]) | set(fleet["a_recent"])
            | set(fleet["b_only"]) | set(fleet["b_shared"]))
    assert left() == kept
    assert (pruned.results, pruned.backups, pruned.blobs) == (5, 3, 3)
    texts = set(ConfigBlob.objects.values_list("text", flat=True))
    assert texts == {"hostname a\nversion 3\n", "hostname a\nversion 4\n", "hostname b\n"}
    # what stays still reads: a's oldest kept backup lost its (deleted) previous, nothing else
    oldest_kept = DeviceBackup.objects.get(result_id=fleet["a_configs"][-2])
    assert oldest_kept.previous_id is None and oldest_kept.blob.text.endswith("version 3\n")


def test_a_device_always_keeps_its_newest_configuration(fleet: dict[str, list[int]]) -> None:
    prune(now=NOW, results_days=1, configs_keep_per_device=1)
    newest = {d: DeviceBackup.objects.filter(device_id=d).order_by("-pk").first()
              for d in DeviceBackup.objects.values_list("device_id", flat=True).distinct()}
    assert len(newest) == 2 and all(b is not None for b in newest.values())
    assert DeviceBackup.objects.count() == 2


def test_zero_days_keeps_everything(fleet: dict[str, list[int]]) -> None:
    before = left()
    assert prune(now=NOW, results_days=0, configs_keep_per_device=1).results == 0
    assert left() == before


def test_it_deletes_in_bounded_batches(fleet: dict[str, list[int]]) -> None:
    with CaptureQueriesContext(connection) as captured:
        pruned = prune(now=NOW, results_days=400, configs_keep_per_device=2, batch=2)
    deletes = [q["sql"] for q in captured
               if q["sql"].startswith('DELETE FROM "devices_devicebackupresult"')]
    assert pruned.results == 5 and len(deletes) == 3  # 2 + 2 + 1


def test_the_housekeeping_task_ships_as_a_periodic_task_the_worker_knows() -> None:
    from project.celery import app

    task = PeriodicTask.objects.get(name="devicevault: retention")
    assert task.enabled and task.task in app.tasks
    assert (task.crontab.minute, task.crontab.hour) == ("30", "3")


def test_the_task_applies_the_configured_retention(fleet: dict[str, list[int]]) -> None:
    from devices.housekeeping import retention

    # the defaults (400 days, keep 100): only a's old results without a configuration go
    assert retention.apply().get()["results"] == 2
    assert not set(fleet["a_failed"]) & left() and set(fleet["a_configs"]) <= left()
