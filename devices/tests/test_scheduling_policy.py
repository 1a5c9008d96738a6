"""Maintenance windows, spread and held rows in the fan-out, against the real database and
Redis broker (rules: schedules/policy.py; wiring: devices/dispatch/fanout.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.dispatch.fanout import (
    Occurrence,
    enqueue_occurrence,
    next_held_at,
    publish_held,
    repair_stranded,
)
from devices.models import DeviceBackupResult, DeviceGroup, MaintenanceWindow
from devices.services import schedule_run_now
from schedules.policy import spread_offset
from tests.support.broker import queued_payloads
from tests.support.fleet import make_devices

pytestmark = pytest.mark.django_db

QUEUE = "collect.default"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def window(policy: str, *, starts: datetime, minutes: int, **fields: Any) -> MaintenanceWindow:
    groups = fields.pop("device_groups", [])
    made = MaintenanceWindow.objects.create(
        name=f"{policy} {MaintenanceWindow.objects.count()}", policy=policy,
        schedule_type="once", start=starts, duration_minutes=minutes, **fields)
    made.device_groups.set(groups)
    return made


def rows() -> dict[int, DeviceBackupResult]:
    return {r.device_id: r for r in DeviceBackupResult.objects.all()}


def published_ids(redis_db: Any) -> list[int]:
    return sorted(p["device_id"] for p in queued_payloads(redis_db, QUEUE))


def test_an_occurrence_inside_a_skip_window_is_skipped_for_the_devices_in_scope(
    make_schedule: Any, redis_db: Any
) -> None:
    schedule = make_schedule()
    core = DeviceGroup.objects.create(name="core")
    ids = make_devices(4, schedule=schedule)
    from devices.models import Device

    Device.objects.filter(pk__in=ids[:2]).update(device_group=core)
    window("skip", starts=NOW - timedelta(minutes=30), minutes=60, device_groups=[core])
    created, published = enqueue_occurrence(Occurrence(schedule_id=schedule.pk,
                                                       scheduled_for=NOW))
    assert (created, published) == (4, 2)
    found = rows()
    for pk in ids[:2]:
        row = found[pk]
        assert (row.status, row.skip_reason) == ("skipped", "maintenance")
        assert row.finished_at is not None and "maintenance window" in row.error
    assert {found[pk].status for pk in ids[2:]} == {"queued"}
    assert published_ids(redis_db) == ids[2:]


def test_an_occurrence_inside_a_defer_window_waits_for_its_end_with_the_same_occurrence(
    make_schedule: Any, redis_db: Any
) -> None:
    schedule = make_schedule()
    ids = make_devices(3, schedule=schedule)
    end = NOW + timedelta(minutes=20)
    window("defer", starts=NOW - timedelta(minutes=40), minutes=60)
    assert enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=NOW)) == (3, 0)
    assert {(r.status, r.publish_after, r.scheduled_for) for r in rows().values()} == {
        ("queued", end, NOW)}
    assert next_held_at() == end
    # Before the end nothing goes, not even through the crash repair.
    assert publish_held(now=end - timedelta(seconds=1)) == 0
    assert repair_stranded(now=end - timedelta(seconds=1), window=timedelta(hours=2),
                           older_than=end) == 0
    assert publish_held(now=end) == 3
    assert published_ids(redis_db) == ids and next_held_at() is None
    assert publish_held(now=end) == 0  # each row once


def test_skip_wins_over_defer_and_run_now_ignores_windows(
    make_schedule: Any, redis_db: Any
) -> None:
    schedule = make_schedule()
    make_devices(2, schedule=schedule)
    window("defer", starts=NOW - timedelta(minutes=10), minutes=60)
    window("skip", starts=NOW - timedelta(minutes=10), minutes=30)
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=NOW))
    assert {(r.status, r.skip_reason) for r in rows().values()} == {("skipped", "maintenance")}
    DeviceBackupResult.objects.all().delete()
    from devices.models import Device

    # an operator's explicit run is not held
    assert schedule_run_now(schedule=schedule, devices=Device.objects.all()) == 2


def test_a_spread_occurrence_holds_each_device_until_its_offset_computed_like_the_rules(
    make_schedule: Any, redis_db: Any
) -> None:
    schedule = make_schedule(spread_minutes=10)
    ids = make_devices(200, schedule=schedule)
    at = NOW + timedelta(hours=1)  # ahead of the clock: no offset has passed yet
    assert enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=at,
                                         spread_minutes=10)) == (200, 0)
    found = rows()
    for pk in ids:  # the SQL and the pure rule agree, to the second
        assert found[pk].publish_after == at + spread_offset(pk, schedule.pk, 10), pk
    assert len({r.publish_after for r in found.values()}) > 100
    assert next_held_at() == min(r.publish_after for r in found.values())
    halfway = at + timedelta(minutes=5)
    first = publish_held(now=halfway)
    due = [pk for pk in ids if found[pk].publish_after <= halfway]
    assert first == len(due) and published_ids(redis_db) == sorted(due)
    assert 60 < first < 140  # about half
    assert publish_held(now=at + timedelta(minutes=10)) == len(ids) - first
    assert published_ids(redis_db) == ids


def test_a_held_row_counts_as_missed_only_once_its_time_is_older_than_the_window(
    make_schedule: Any, redis_db: Any
) -> None:
    schedule = make_schedule()
    make_devices(2, schedule=schedule)
    old = NOW - timedelta(hours=3)
    window("defer", starts=old - timedelta(minutes=1), minutes=150)  # ends 30 min ago
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=old))
    # as if the leader had died before publishing them
    DeviceBackupResult.objects.update(queued_at=old, published_at=None, attempts=0)
    redis_db.delete(QUEUE)
    # The occurrence is older than the 2 h restart window, but it was due 30 min ago.
    assert repair_stranded(now=NOW, window=timedelta(hours=2), older_than=NOW) == 2
    assert {r.status for r in rows().values()} == {"queued"}
