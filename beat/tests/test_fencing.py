"""Fencing (issue 13, finding 3): a leader whose lock key was deleted, expired or taken
publishes no further batch, even while its in-memory `held()` still says yes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from django.conf import settings

from beat.agenda import ScheduleSpec
from beat.lock import LOCK_KEY
from beat.service import BeatService
from devices.dispatch.fanout import Occurrence, enqueue_occurrence
from devices.models import DeviceBackupResult
from tests.support.broker import queue_length
from tests.support.fleet import make_devices

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "collect.default"


def leader(redis_db: Any, *, other_server: bool = False) -> BeatService:
    service = BeatService()
    if other_server:
        # The same Redis under another name: the publisher cannot prove it is the lock's
        # server, so it takes the compare-and-extend path (the RabbitMQ path).
        url = settings.REDIS_URL.replace("127.0.0.1", "localhost")
        service.redis = redis.Redis.from_url(url)
        service.lock.client = service.redis
        service.lock._renew = service.redis.register_script(_renew_source())
    assert service.lock.try_acquire()
    service.leader = True
    return service


def _renew_source() -> str:
    from beat import lock

    return lock._RENEW


def fire(service: BeatService, schedule: Any) -> None:
    spec = ScheduleSpec(id=schedule.pk, name=schedule.name,
                        recurrence=schedule.recurrence(settings.DEVICEVAULT.display_timezone),
                        active_since=None)
    service._fire(spec, datetime.now(UTC).replace(microsecond=0), is_catchup=False)


@pytest.mark.parametrize("other_server", [False, True], ids=["lua", "compare-and-extend"])
@pytest.mark.parametrize("what", ["deleted", "replaced"])
def test_a_leader_whose_lock_key_is_gone_publishes_no_batch(
    redis_db: Any, make_schedule: Any, what: str, other_server: bool
) -> None:
    schedule = make_schedule()
    make_devices(30, schedule=schedule)
    service = leader(redis_db, other_server=other_server)
    assert service.lock.held()  # in memory: the last renewal is recent
    if what == "deleted":
        redis_db.delete(LOCK_KEY)
    else:
        redis_db.set(LOCK_KEY, json.dumps({"host": "rival", "pid": 1, "token": "x",
                                           "acquired_at": "2026-12-03T00:00:00Z"}))
    fire(service, schedule)
    assert queue_length(redis_db, QUEUE) == 0, "a batch was published without the lock"
    assert DeviceBackupResult.objects.filter(published_at__isnull=False).count() == 0
    assert not service.lock.held(), "the leader must learn it lost the lock"
    if what == "replaced":
        assert json.loads(redis_db.get(LOCK_KEY))["host"] == "rival"


@pytest.mark.parametrize("other_server", [False, True], ids=["lua", "compare-and-extend"])
def test_a_leader_that_holds_its_lock_publishes_every_batch(
    redis_db: Any, make_schedule: Any, collection_config: Any, other_server: bool
) -> None:
    collection_config(publish_batch=7)
    schedule = make_schedule()
    make_devices(30, schedule=schedule)
    service = leader(redis_db, other_server=other_server)
    fire(service, schedule)
    assert queue_length(redis_db, QUEUE) == 30
    assert set(DeviceBackupResult.objects.values_list("attempts", flat=True)) == {1}
    assert service.lock.held()


def test_the_lock_lost_between_two_batches_stops_at_the_next_batch(
    redis_db: Any, make_schedule: Any, monkeypatch: Any, collection_config: Any
) -> None:
    import devices.dispatch.fanout as fanout

    collection_config(publish_batch=10)
    schedule = make_schedule()
    make_devices(30, schedule=schedule)
    service = leader(redis_db)
    real_count = fanout.count_published
    calls = []

    def after_first_batch(schedule_id: int, count: int) -> None:
        calls.append(count)
        redis_db.delete(LOCK_KEY)  # lost right after the first batch
        real_count(schedule_id, count)

    monkeypatch.setattr(fanout, "count_published", after_first_batch)
    occurrence = Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC))
    _, published = enqueue_occurrence(occurrence, may_publish=service.lock.held,
                                      fence=service.lock.fence())
    assert published == 10 and calls == [10]
    assert queue_length(redis_db, QUEUE) == 10


def test_a_fenced_batch_loads_the_push_script_again_when_the_server_forgot_it(
    redis_db: Any, make_schedule: Any, monkeypatch: Any, collection_config: Any
) -> None:
    """The fenced push sends EVALSHA itself (devices/dispatch/publisher.py, `_evalsha`): a
    Redis that lost its scripts (a restart, SCRIPT FLUSH) between two batches gets the script
    loaded again, and the batch is pushed once."""
    import devices.dispatch.fanout as fanout

    collection_config(publish_batch=10)
    schedule = make_schedule()
    make_devices(30, schedule=schedule)
    service = leader(redis_db)
    real_count = fanout.count_published

    def flush_after_each_batch(schedule_id: int, count: int) -> None:
        redis_db.script_flush()
        real_count(schedule_id, count)

    monkeypatch.setattr(fanout, "count_published", flush_after_each_batch)
    fire(service, schedule)
    assert queue_length(redis_db, QUEUE) == 30
    assert set(DeviceBackupResult.objects.values_list("attempts", flat=True)) == {1}
