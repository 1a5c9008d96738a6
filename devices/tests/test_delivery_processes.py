"""What happens to a `device.collect` message that reached the broker, in real workers:
database or Redis trouble retries it, a worker killed mid-collection is reconciled by the
sweep, and a duplicate message never frees its group's slot (issue 13, findings 2 and 4)."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

from devices.dispatch.fanout import Occurrence, enqueue_occurrence
from devices.models import CollectionGroup, Device, DeviceBackupResult
from tests.support.fleet import make_devices
from tests.support.sshd import free_port
from tests.support.worker_app import COLLECTED_KEY, INTERVALS_KEY

pytestmark = [pytest.mark.processes, pytest.mark.timeout(180)]


def wait_until(predicate: Any, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def status_of(pk: int) -> str:
    return DeviceBackupResult.objects.values_list("status", flat=True).get(pk=pk)


def publish_copy(result_id: int) -> None:
    """Publish another copy of the first message of a row."""
    from devices.dispatch.fanout import collect_payload
    from devices.dispatch.publisher import CollectPublisher
    from project.celery import app

    row: dict[str, Any] = DeviceBackupResult.objects.filter(pk=result_id).values(  # type: ignore[assignment]
        "id", "device_id", "schedule_id", "scheduled_for", "is_catchup", "manual",
        "device__name", "device__ip_address", "device__collection_group__slug",
    ).get()
    row["attempts"] = 0
    with CollectPublisher(app) as publisher:
        publisher.publish([(collect_payload(row), row["device__collection_group__slug"], 5)])


def pool_children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(x) for x in fh.read().split()]


@pytest.mark.parametrize("down", ["database", "redis"])
def test_a_worker_that_cannot_reach_the_database_or_redis_retries_the_message_instead_of_acking_it(
    procs: Any, redis_db: Any, make_schedule: Any, down: str
) -> None:
    schedule = make_schedule()
    make_devices(1, schedule=schedule)
    dead = free_port()  # nothing listens there
    if down == "database":
        env = {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{dead}/nowhere"}
    else:
        env = {"REDIS_URL": f"redis://127.0.0.1:{dead}/0",
               "CELERY_BROKER_URL": settings.REDIS_URL}
    broken = procs.worker(concurrency=1, all_queues=False, **env)
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    result = DeviceBackupResult.objects.get()
    broken.wait_for(r"device\.collect\[[^\]]+\] (retry|raised unexpected)", timeout=60)
    time.sleep(1)
    broken.stop()
    # The message must still exist somewhere in the broker: a healthy worker collects it.
    procs.worker(concurrency=1)
    wait_until(lambda: status_of(result.pk) == "success", timeout=60,
               what="the retried message to be collected by a healthy worker")
    assert [int(x) for x in redis_db.lrange(COLLECTED_KEY, 0, -1)] == [result.device_id]


def test_a_row_whose_worker_was_killed_mid_collection_is_delivered_again_by_the_sweep(
    procs: Any, redis_db: Any, make_schedule: Any
) -> None:
    from devices.dispatch.redelivery import DeliveryRules, reconcile_deliveries

    schedule = make_schedule()
    make_devices(1, schedule=schedule)
    worker = procs.worker(concurrency=1, TEST_COLLECT_SECONDS=4)
    worker.wait_for(r"ready")
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    result = DeviceBackupResult.objects.get()
    wait_until(lambda: status_of(result.pk) == "running", what="the collection to start")
    (child,) = pool_children(worker.pid)
    os.kill(child, signal.SIGKILL)
    # The message comes back (reject on worker lost) and finds the row `running`.
    worker.wait_for(r"already handled", timeout=30)
    assert status_of(result.pk) == "running"

    rules = DeliveryRules(time_limit_seconds=10, requeue_after_seconds=900, max_attempts=3)
    later = datetime.now(UTC) + timedelta(seconds=10 + 61)
    assert reconcile_deliveries(now=later, rules=rules).redelivered == 1
    wait_until(lambda: status_of(result.pk) == "success", timeout=60,
               what="the redelivered row to be collected")
    row = DeviceBackupResult.objects.get()
    assert row.attempts == 2
    assert [int(x) for x in redis_db.lrange(COLLECTED_KEY, 0, -1)] == [row.device_id]


def test_a_duplicate_message_does_not_free_the_slot_its_first_copy_holds(
    procs: Any, redis_db: Any, make_schedule: Any
) -> None:
    schedule = make_schedule()
    group = CollectionGroup.objects.create(name="serial", concurrency_limit=1)
    first_id, second_id = make_devices(2, schedule=schedule, group=group)
    worker = procs.worker("collect.serial", concurrency=3, TEST_COLLECT_SECONDS=3)
    worker.wait_for(r"ready")
    first = Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC))
    enqueue_occurrence(first, Device.objects.filter(pk=first_id))
    row = DeviceBackupResult.objects.get(device_id=first_id)
    wait_until(lambda: status_of(row.pk) == "running", what="the first collection to start")
    # The same message again (as the broker may deliver it twice) ...
    publish_copy(row.pk)
    time.sleep(0.5)
    # ... then another device of the group, which must wait for the first one.
    second = Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC))
    enqueue_occurrence(second, Device.objects.filter(pk=second_id))
    wait_until(lambda: DeviceBackupResult.objects.filter(status="success").count() == 2,
               timeout=60, what="both collections")
    spans = sorted(
        (float(start), float(end))
        for _group, start, end in (raw.decode().split() for raw in
                                   redis_db.lrange(INTERVALS_KEY, 0, -1))
    )
    assert len(spans) == 2
    assert spans[1][0] >= spans[0][1], "two collections of one group ran at once"
