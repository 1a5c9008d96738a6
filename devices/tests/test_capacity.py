"""Capacity warnings from measured durations, on the real database, and in the schedule API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.capacity import capacity_warnings
from devices.models import CollectionGroup, Device, DeviceBackupResult
from tests.support.fleet import make_devices

pytestmark = pytest.mark.django_db


def measured(group: CollectionGroup, seconds: float, n: int = 20) -> None:
    """`n` collections of `seconds` each in the group, yesterday."""
    ids = make_devices(n, schedule=None, group=group, prefix=f"m-{group.slug}")
    start = datetime.now(UTC) - timedelta(days=1)
    DeviceBackupResult.objects.bulk_create(
        DeviceBackupResult(device_id=pk, scheduled_for=start + timedelta(seconds=i),
                           status="success", started_at=start,
                           finished_at=start + timedelta(seconds=seconds))
        for i, pk in enumerate(ids))
    Device.objects.filter(pk__in=ids).update(enabled=False)  # measured, not scheduled


def test_a_schedule_whose_devices_outlast_its_interval_is_flagged_with_the_estimate(
    make_schedule: Any, api_client: Any, fleet: dict[str, Any]
) -> None:
    slow = CollectionGroup.objects.create(name="slow", concurrency_limit=2)
    measured(slow, 30)
    tight = make_schedule(name="Every 10 min", schedule_type="cron",
                          cron_expression="*/10 * * * *")
    make_devices(100, schedule=tight, group=slow, prefix="tight")  # 50 rounds of 30 s
    roomy = make_schedule(name="Daily", hour=2)
    make_devices(10, schedule=roomy, group=slow, prefix="roomy")
    warnings = capacity_warnings([tight, roomy], now=datetime.now(UTC))
    assert set(warnings) == {tight.pk}
    warning = warnings[tight.pk]
    assert (warning.estimated_seconds, warning.available_seconds, warning.limited_by) == (
        1500, 600, "next_occurrence")
    body = api_client(fleet["users"]["viewer"]).get(
        f"/api/backup-schedules/{tight.pk}/").json()
    assert body["capacity_warning"]["estimated_seconds"] == 1500
    listed = {s["name"]: s for s in api_client(fleet["users"]["viewer"]).get(
        "/api/backup-schedules/?page_size=100").json()["results"]}
    assert listed["Every 10 min"]["capacity_warning"]["limited_by"] == "next_occurrence"
    assert listed["Daily"]["capacity_warning"] is None


def test_nothing_measured_means_no_warning(make_schedule: Any) -> None:
    schedule = make_schedule(schedule_type="cron", cron_expression="* * * * *")
    make_devices(1000, schedule=schedule)
    assert capacity_warnings([schedule], now=datetime.now(UTC)) == {}
