"""The leader's delivery sweep against the database and the broker
(devices/dispatch/redelivery.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.collection.service import run_collection
from devices.dispatch.delivery import DeliveryRules
from devices.dispatch.fanout import Occurrence, enqueue_occurrence
from devices.dispatch.redelivery import reconcile_deliveries
from devices.metrics import read_counters
from devices.models import DeviceBackupResult
from tests.support.broker import drop_queue, queue_length, queued_payloads
from tests.support.fleet import make_devices

pytestmark = pytest.mark.django_db(transaction=True)

RULES = DeliveryRules(time_limit_seconds=300, requeue_after_seconds=900, max_attempts=3)
QUEUE = "collect.default"


@pytest.fixture
def rows(redis_db: Any, make_schedule: Any) -> list[int]:
    schedule = make_schedule()
    make_devices(4, schedule=schedule)
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    drop_queue(redis_db, QUEUE)  # as if the broker lost the messages
    return list(DeviceBackupResult.objects.order_by("id").values_list("id", flat=True))


def ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


def test_published_rows_still_queued_after_requeue_after_are_published_again(
    rows: list[int], redis_db: Any
) -> None:
    DeviceBackupResult.objects.filter(pk__in=rows[:2]).update(published_at=ago(901))
    done = reconcile_deliveries(now=datetime.now(UTC), rules=RULES)
    assert (done.redelivered, done.lost) == (2, 0)
    messages = queued_payloads(redis_db, QUEUE)
    assert sorted(m["result_id"] for m in messages) == rows[:2]
    assert {m["attempt"] for m in messages} == {2}
    assert list(DeviceBackupResult.objects.filter(pk__in=rows).order_by("id")
                .values_list("attempts", flat=True)) == [2, 2, 1, 1]


def test_a_row_running_past_the_limit_is_queued_and_published_again(
    rows: list[int], redis_db: Any
) -> None:
    DeviceBackupResult.objects.filter(pk=rows[0]).update(status="running", started_at=ago(361))
    DeviceBackupResult.objects.filter(pk=rows[1]).update(status="running", started_at=ago(300))
    done = reconcile_deliveries(now=datetime.now(UTC), rules=RULES)
    assert done.redelivered == 1
    row = DeviceBackupResult.objects.get(pk=rows[0])
    assert (row.status, row.started_at, row.attempts) == ("queued", None, 2)
    assert DeviceBackupResult.objects.get(pk=rows[1]).status == "running"
    assert [m["result_id"] for m in queued_payloads(redis_db, QUEUE)] == [rows[0]]


def test_after_max_attempts_an_overdue_row_fails_as_lost(rows: list[int], redis_db: Any) -> None:
    DeviceBackupResult.objects.filter(pk=rows[0]).update(attempts=3, published_at=ago(901))
    DeviceBackupResult.objects.filter(pk=rows[1]).update(
        attempts=3, status="running", started_at=ago(361))
    done = reconcile_deliveries(now=datetime.now(UTC), rules=RULES)
    assert (done.redelivered, done.lost) == (0, 2)
    for pk in rows[:2]:
        row = DeviceBackupResult.objects.get(pk=pk)
        assert row.status == "failed" and row.error.startswith("lost: ")
        assert row.finished_at is not None
    assert queue_length(redis_db, QUEUE) == 0
    counters = read_counters(redis_db)  # devicevault_results_lost_total, and failed
    assert counters.lost == 2 and counters.finished["failed"] == 2


def test_a_late_first_delivery_neither_claims_nor_overwrites_the_second(
    rows: list[int], redis_db: Any
) -> None:
    # Attempt 1 claimed the row, its worker vanished; the sweep delivered attempt 2.
    DeviceBackupResult.objects.filter(pk=rows[0]).update(status="running", started_at=ago(400))
    reconcile_deliveries(now=datetime.now(UTC), rules=RULES)
    assert run_collection(rows[0], attempt=1) == "skipped"  # a late copy of attempt 1
    assert DeviceBackupResult.objects.get(pk=rows[0]).status == "queued"
    assert run_collection(rows[0], attempt=2) in {"success", "failed"}


def test_the_outcome_of_a_superseded_attempt_is_not_recorded(rows: list[int]) -> None:
    from devices.collection import service

    # Attempt 1 is collecting when the row is published again as attempt 2 and claimed.
    DeviceBackupResult.objects.filter(pk=rows[0]).update(status="running")
    DeviceBackupResult.objects.filter(pk=rows[0]).update(attempts=2)
    assert not service._finish(rows[0], "success", "", attempt=1)
    assert service._finish(rows[0], "success", "", attempt=2)


def test_rows_that_finished_or_were_never_published_are_left_alone(rows: list[int]) -> None:
    DeviceBackupResult.objects.filter(pk=rows[0]).update(
        status="success", published_at=ago(5000), started_at=ago(5000))
    DeviceBackupResult.objects.filter(pk=rows[1]).update(published_at=None, attempts=0)
    done = reconcile_deliveries(now=datetime.now(UTC), rules=RULES)
    assert (done.redelivered, done.lost) == (0, 0)


def test_a_late_first_delivery_that_claims_while_the_sweep_publishes_again_records_its_outcome(
    rows: list[int], redis_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chaos test's duplicate: the sweep picks an overdue `queued` row and publishes it
    again; before it counts the new attempt, attempt 1's message (late, behind a backlog)
    claims the row. Attempt 1 collected the device, so its outcome must be recorded; the
    row must not stay `running` until the sweep delivers it a third time."""
    import threading

    from django.db import connection

    from devices.collection import collectors
    from devices.dispatch.publisher import CollectPublisher
    from devices.models import Device

    claimed, release = threading.Event(), threading.Event()

    def slow(device: object) -> collectors.Collected:
        claimed.set()
        release.wait(10)
        return collectors.Collected(text="hostname r1\n")

    collectors.register("test-slow", slow)
    DeviceBackupResult.objects.filter(pk=rows[0]).update(published_at=ago(901))
    Device.objects.filter(backup_results=rows[0]).update(backup_method="test-slow")
    outcome: list[str] = []

    def first_attempt() -> None:
        try:
            outcome.append(run_collection(rows[0], attempt=1))
        finally:
            connection.close()

    worker = threading.Thread(target=first_attempt)
    publish = CollectPublisher.publish

    def publish_then_claim(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent = publish(self, *args, **kwargs)
        worker.start()  # attempt 1's message arrives now, and claims the row
        assert claimed.wait(10)
        return sent

    monkeypatch.setattr(CollectPublisher, "publish", publish_then_claim)
    assert reconcile_deliveries(now=datetime.now(UTC), rules=RULES).redelivered == 1
    release.set()
    worker.join(10)
    assert outcome == ["success"]
    row = DeviceBackupResult.objects.get(pk=rows[0])
    assert (row.status, row.attempts) == ("success", 1)
    assert run_collection(rows[0], attempt=2) == "skipped"  # the second message: a no-op


def test_a_message_that_claims_its_row_before_the_publisher_counts_it_still_counts_one(
    rows: list[int], redis_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker may claim a row between the publish and the publisher's UPDATE: the row
    still shows the attempt that collected it (1, not 0)."""
    from devices.dispatch.fanout import publish_rows
    from devices.dispatch.publisher import CollectPublisher

    DeviceBackupResult.objects.filter(pk=rows[0]).update(published_at=None, attempts=0)
    publish = CollectPublisher.publish

    def publish_then_collect(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent = publish(self, *args, **kwargs)
        assert run_collection(rows[0], attempt=1) in {"success", "failed"}
        return sent

    monkeypatch.setattr(CollectPublisher, "publish", publish_then_collect)
    assert publish_rows(DeviceBackupResult.objects.filter(pk=rows[0])) == 1
    row = DeviceBackupResult.objects.get(pk=rows[0])
    assert row.status in {"success", "failed"} and row.attempts == 1
    assert row.published_at is not None
