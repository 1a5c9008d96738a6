"""A large occurrence's rows are created chunk by chunk, each chunk committed, on a connection
of their own, ahead of the publishing of the rows already committed (devices/dispatch/fanout.py,
`_CreatedAhead`): the guarantees are those of one INSERT for the whole fleet."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from devices.dispatch import fanout
from devices.dispatch.fanout import Occurrence, enqueue_occurrence
from devices.dispatch.publisher import CollectPublisher
from devices.models import Device, DeviceBackupResult, DeviceGroup, MaintenanceWindow
from tests.support.broker import queued_payloads
from tests.support.fleet import make_devices

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="PostgreSQL: the rows are created on a second connection"),
    pytest.mark.django_db(transaction=True),
]

QUEUE = "collect.default"
NOW = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)


def published_devices(redis_db: Any) -> list[int]:
    return sorted(p["device_id"] for p in queued_payloads(redis_db, QUEUE))


def test_a_large_occurrence_is_published_while_its_later_chunks_are_still_being_created(
    make_schedule: Any, redis_db: Any, collection_config: Any, monkeypatch: Any
) -> None:
    collection_config(publish_batch=10)
    schedule = make_schedule(name="ahead")
    ids = make_devices(95, schedule=schedule)
    first_push = threading.Event()
    chunks: list[tuple[str, int, bool]] = []  # thread, rows created, a push came first
    create, prepare = fanout._create_under_windows, CollectPublisher.prepare

    def create_and_note(occurrence: Any, devices: Any, hold: Any) -> Any:
        # A later chunk waits for the first push: were everything created before publishing
        # started, it would wait in vain.
        pushed_first = not chunks or first_push.wait(timeout=10)
        created = create(occurrence, devices, hold)
        chunks.append((threading.current_thread().name, sum(created.values()), pushed_first))
        return created

    def prepare_and_note(self: Any, items: Any, **kwargs: Any) -> Any:
        send = prepare(self, items, **kwargs)

        def send_and_note() -> int:
            count = send()
            first_push.set()
            return count

        return send_and_note

    monkeypatch.setattr(fanout, "_create_under_windows", create_and_note)
    monkeypatch.setattr(CollectPublisher, "prepare", prepare_and_note)

    assert enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=NOW)) == (95, 95)

    assert [rows for _, rows, _ in chunks] == [20, 40, 35]  # 2, then 4 batches, then the rest
    assert {name for name, _, _ in chunks} == {"fanout-create"}
    assert all(pushed_first for _, _, pushed_first in chunks)
    assert published_devices(redis_db) == ids  # each device once
    rows = DeviceBackupResult.objects.all()
    assert rows.count() == 95 and not rows.filter(published_at__isnull=True).exists()
    assert set(rows.values_list("attempts", flat=True)) == {1}


def test_maintenance_windows_hold_in_every_chunk_and_are_logged_once(
    make_schedule: Any, redis_db: Any, collection_config: Any, caplog: Any
) -> None:
    collection_config(publish_batch=10)
    schedule = make_schedule(name="windows")
    ids = make_devices(95, schedule=schedule)
    core, lab = DeviceGroup.objects.create(name="core"), DeviceGroup.objects.create(name="lab")
    Device.objects.filter(pk__in=ids[0::2]).update(device_group=core)  # in every chunk
    Device.objects.filter(pk__in=ids[1::4]).update(device_group=lab)
    skip = MaintenanceWindow.objects.create(name="core freeze", policy="skip",
                                            schedule_type="once", start=NOW - timedelta(minutes=5),
                                            duration_minutes=30)
    skip.device_groups.set([core])
    defer = MaintenanceWindow.objects.create(name="lab work", policy="defer",
                                             schedule_type="once",
                                             start=NOW - timedelta(minutes=5), duration_minutes=30)
    defer.device_groups.set([lab])

    with caplog.at_level(logging.WARNING, logger="devices.dispatch.fanout"):
        created, published = enqueue_occurrence(Occurrence(schedule_id=schedule.pk,
                                                           scheduled_for=NOW))

    rest = sorted(set(ids) - set(ids[0::2]) - set(ids[1::4]))
    assert (created, published) == (95, len(rest))
    assert published_devices(redis_db) == rest
    rows = DeviceBackupResult.objects.all()
    assert set(rows.filter(skip_reason="maintenance").values_list("device_id", flat=True)) \
        == set(ids[0::2])
    assert set(rows.filter(held=True).values_list("device_id", flat=True)) == set(ids[1::4])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("maintenance")]
    assert len(lines) == 2, lines
    assert f"window={skip.pk} skipped={len(ids[0::2])}" in lines[0]
    assert f"window={defer.pk} defer={len(ids[1::4])}" in lines[1]


def test_a_lock_lost_midway_leaves_the_rest_to_the_next_firing_and_nothing_twice(
    make_schedule: Any, redis_db: Any, collection_config: Any
) -> None:
    collection_config(publish_batch=10)
    schedule = make_schedule(name="lost")
    ids = make_devices(95, schedule=schedule)
    occurrence = Occurrence(schedule_id=schedule.pk, scheduled_for=NOW)
    asked = 0

    def held_for_three_batches() -> bool:
        nonlocal asked
        asked += 1
        return asked <= 3

    first_created, first_published = enqueue_occurrence(occurrence,
                                                        may_publish=held_for_three_batches)
    assert first_published == 30
    # The next leader fires the occurrence again (last_tick never passed it).
    created, published = enqueue_occurrence(occurrence)
    assert first_created + created == 95 and first_published + published == 95
    assert published_devices(redis_db) == ids
    assert not DeviceBackupResult.objects.filter(published_at__isnull=True).exists()
