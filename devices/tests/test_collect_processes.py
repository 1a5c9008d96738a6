"""`device.collect` in real worker processes: once per result, serial per collection group,
honest failures, and workers that follow new collection groups."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from devices.dispatch.fanout import Occurrence, enqueue_occurrence
from devices.models import CollectionGroup, Device, DeviceBackupResult
from tests.support.fleet import make_devices
from tests.support.worker_app import COLLECTED_KEY, INTERVALS_KEY

pytestmark = [pytest.mark.processes, pytest.mark.timeout(180)]


def wait_for_results(done: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if DeviceBackupResult.objects.filter(status__in=["success", "failed"]).count() >= done:
            return
        time.sleep(0.1)
    raise AssertionError(
        f"only {DeviceBackupResult.objects.exclude(status='queued').count()} of {done} done"
    )


def test_each_group_collects_one_device_at_a_time_across_workers(
    procs: Any, redis_db: Any, make_schedule: Any
) -> None:
    schedule = make_schedule()
    dc1 = CollectionGroup.objects.create(name="dc1")
    dc2 = CollectionGroup.objects.create(name="dc2")
    make_devices(6, schedule=schedule, group=dc1, prefix="a")
    make_devices(6, schedule=schedule, group=dc2, prefix="b")
    for _ in range(2):  # two workers, three processes each, all on both queues
        procs.worker("collect.dc1", "collect.dc2", concurrency=3, TEST_COLLECT_SECONDS=0.3)
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    wait_for_results(12)
    intervals: dict[str, list[tuple[float, float]]] = {}
    for raw in redis_db.lrange(INTERVALS_KEY, 0, -1):
        group, start, end = raw.decode().split()
        intervals.setdefault(group, []).append((float(start), float(end)))
    for group, spans in intervals.items():
        spans.sort()
        assert len(spans) == 6
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"two collections of {group} overlapped"
    assert set(intervals) == {"dc1", "dc2"}
    assert DeviceBackupResult.objects.filter(status="success").count() == 12


def test_a_message_delivered_twice_collects_the_device_once(
    procs: Any, redis_db: Any, make_schedule: Any
) -> None:
    from devices.dispatch.fanout import publish_pending

    schedule = make_schedule()
    make_devices(5, schedule=schedule)
    occurrence = Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC))
    enqueue_occurrence(occurrence)
    DeviceBackupResult.objects.update(published_at=None)  # as if the beat died before noting it
    assert publish_pending(occurrence) == 5  # so the recovery publishes all five again
    procs.worker(concurrency=2)
    wait_for_results(5)
    time.sleep(2)  # let the duplicates arrive too
    collected = [int(x) for x in redis_db.lrange(COLLECTED_KEY, 0, -1)]
    assert sorted(collected) == sorted(Device.objects.values_list("id", flat=True))


def test_a_device_without_a_backup_method_fails_honestly(
    procs: Any, redis_db: Any, make_schedule: Any
) -> None:
    schedule = make_schedule()
    make_devices(1, schedule=schedule, method="")
    procs.worker(concurrency=1)
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    wait_for_results(1)
    result = DeviceBackupResult.objects.get()
    assert result.status == "failed"
    assert "has no backup method" in result.error
    assert result.started_at and result.finished_at
    assert redis_db.llen(COLLECTED_KEY) == 0


def test_worker_consumes_the_queue_of_a_group_created_after_it_started(
    procs: Any, redis_db: Any, make_schedule: Any
) -> None:
    worker = procs.worker(concurrency=1, DEVICEVAULT_QUEUE_REFRESH_SECONDS=1)
    worker.wait_for(r"ready")
    schedule = make_schedule()
    late = CollectionGroup.objects.create(name="Perth DC 3")
    make_devices(2, schedule=schedule, group=late)
    worker.wait_for(r"Started consuming from collect\.perth-dc-3", timeout=15)
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    wait_for_results(2, timeout=30)
    assert DeviceBackupResult.objects.filter(status="success").count() == 2


def test_a_worker_takes_the_waiting_messages_of_higher_priority_first(
    procs: Any, redis_db: Any, make_schedule: Any
) -> None:
    """Messages of a low-priority occurrence queued first, then a high-priority one's, then a
    run-now: one worker process collects the run-now, then the high, then the low."""
    from devices.services import schedule_run_now

    low = make_schedule(name="low", priority=1)
    high = make_schedule(name="high", priority=8)
    low_ids = make_devices(6, schedule=low, prefix="low")
    high_ids = make_devices(6, schedule=high, prefix="high")
    (urgent,) = make_devices(1, schedule=low, prefix="urgent")
    at = datetime.now(UTC)
    enqueue_occurrence(Occurrence(schedule_id=low.pk, scheduled_for=at))
    enqueue_occurrence(Occurrence(schedule_id=high.pk, scheduled_for=at))
    assert schedule_run_now(schedule=low, devices=Device.objects.filter(pk=urgent)) == 1

    procs.worker(concurrency=1)
    wait_for_results(14)
    collected = [int(x) for x in redis_db.lrange(COLLECTED_KEY, 0, -1)]
    assert collected[0] == urgent
    assert sorted(collected[1:7]) == sorted(high_ids)
    assert sorted(collected[7:]) == sorted([*low_ids, urgent])
