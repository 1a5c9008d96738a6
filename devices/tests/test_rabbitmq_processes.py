"""Real worker and beat processes on a RabbitMQ broker (`CELERY_BROKER_URL=amqp://…`): a
worker follows collection groups created after it started, and a beat's occurrence is
collected once per device, retries of a busy group included (skipped only when RabbitMQ
does not answer)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from beat.models import SchedulerState
from devices.dispatch.fanout import Occurrence, enqueue_occurrence
from devices.models import CollectionGroup, DeviceBackupResult
from schedules.models import BackupSchedule
from schedules.services import schedule_create
from tests.support.fleet import make_devices
from tests.support.worker_app import COLLECTED_KEY

pytestmark = [pytest.mark.processes, pytest.mark.timeout(180)]


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_on_rabbitmq_consumes_the_queue_of_a_group_created_after_it_started(
    rabbit: Any, procs: Any, redis_db: Any, make_schedule: Any
) -> None:
    worker = procs.worker(concurrency=2, CELERY_BROKER_URL=rabbit.url,
                          DEVICEVAULT_QUEUE_REFRESH_SECONDS=1, TEST_COLLECT_SECONDS=1)
    worker.wait_for(r"ready", timeout=60)
    schedule = make_schedule()
    # One device at a time: of the two that start together, one retries after a countdown,
    # which comes back through delayed delivery only if the new queue was bound to it too.
    late = CollectionGroup.objects.create(name="Hobart DC 2", concurrency_limit=1)
    rabbit.queues.add("collect.hobart-dc-2")
    make_devices(2, schedule=schedule, group=late)
    worker.wait_for(r"Started consuming from collect\.hobart-dc-2", timeout=15)
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    wait_until(lambda: DeviceBackupResult.objects.filter(status="success").count() == 2,
               timeout=30, what="both devices of the new group to be collected")
    assert "PRECONDITION_FAILED" not in worker.log()
    assert "Retry in" in worker.log()
    assert sorted(int(x) for x in redis_db.lrange(COLLECTED_KEY, 0, -1)) == sorted(
        DeviceBackupResult.objects.values_list("device_id", flat=True))


def test_beat_and_worker_on_rabbitmq_collect_every_device_of_an_occurrence_exactly_once(
    rabbit: Any, procs: Any, redis_db: Any
) -> None:
    now = datetime.now(UTC)
    # overlap_policy "queue": a minute the worker has not finished yet is collected too
    schedule = schedule_create(name="every minute", schedule_type="cron",
                               cron_expression="* * * * *", overlap_policy="queue")
    BackupSchedule.objects.filter(pk=schedule.pk).update(active_since=now - timedelta(days=1))
    # A group limited to one collection at a time, on a worker running two: the second of
    # its devices retries (a countdown: native delayed delivery on quorum queues).
    serial = CollectionGroup.objects.create(name="Rabbit Serial", concurrency_limit=1)
    rabbit.queues.add("collect.rabbit-serial")
    make_devices(4, schedule=schedule, group=serial, prefix="serial")
    make_devices(6, schedule=schedule, prefix="plain")
    # The beat starts with the last minute's occurrence still to catch up.
    state = SchedulerState.load()
    state.last_tick = now.replace(second=0, microsecond=0) - timedelta(seconds=30)
    state.save()

    env = {"CELERY_BROKER_URL": rabbit.url}
    worker = procs.worker(concurrency=2, TEST_COLLECT_SECONDS=0.2, **env)
    beat = procs.beat(**env)
    beat.wait_for(r"leading: pid=", timeout=60)
    beat.wait_for(rf"fan-out: schedule={schedule.pk} ", timeout=30)
    rows = DeviceBackupResult.objects.filter(schedule=schedule)
    wait_until(lambda: rows.exists() and not rows.exclude(status="success").exists(),
               timeout=90, what="every result of the schedule to succeed")
    time.sleep(1)  # a duplicate would arrive by now

    occurrences = set(rows.values_list("scheduled_for", flat=True))
    assert 1 <= len(occurrences) <= 2  # a minute boundary may pass during the test
    assert rows.count() == 10 * len(occurrences)
    assert set(rows.values_list("attempts", flat=True)) == {1}
    collected = Counter(int(x) for x in redis_db.lrange(COLLECTED_KEY, 0, -1))
    assert collected == Counter({pk: len(occurrences) for pk in
                                 rows.values_list("device_id", flat=True)})
    assert rabbit.depth("collect.default") == 0
    assert rabbit.depth("collect.rabbit-serial") == 0
    # Retries of the busy group go through native delayed delivery, which must be set up.
    assert "delayed delivery" not in worker.log(), worker.log()[-3000:]
    assert "PRECONDITION_FAILED" not in worker.log() + beat.log()
