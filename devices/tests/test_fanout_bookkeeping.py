"""The publication bookkeeping of the fan-out: what marks a row published, and when.

A row is marked (`published_at`, one more attempt) only once the broker has its message. On
PostgreSQL a fan-out of more than one batch, outside a transaction, marks on a second
connection while the next batch is published (`_Bookkeeping`); the mark is a HOT update,
no index naming the columns it sets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from devices.dispatch import fanout
from devices.dispatch.fanout import Occurrence, create_results, publish_pending, scheduled_devices
from devices.dispatch.publisher import CollectPublisher
from devices.models import DeviceBackupResult
from tests.support.broker import queued_payloads
from tests.support.fleet import make_devices

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL: HOT updates, the second connection"
)
TABLE = DeviceBackupResult._meta.db_table


def _occurrence(schedule: Any, n: int) -> Occurrence:
    make_devices(n, schedule=schedule)
    occurrence = Occurrence(schedule_id=schedule.pk,
                            scheduled_for=datetime.now(UTC) - timedelta(minutes=1))
    assert create_results(occurrence, scheduled_devices(schedule.pk)) == n
    return occurrence


@postgres_only
@pytest.mark.django_db
def test_no_index_names_the_columns_a_publication_sets() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
                       [TABLE])
        indexes = dict(cursor.fetchall())
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [TABLE])
        options = cursor.fetchone()[0]
    assert "result_queued_occurrence" in indexes and "result_held_waiting" in indexes
    for name, definition in indexes.items():
        assert "published_at" not in definition and "attempts" not in definition, name
    assert "fillfactor=50" in options


@postgres_only
@pytest.mark.django_db
def test_the_publication_of_a_new_occurrence_is_a_hot_update(
    make_schedule: Any, redis_db: Any
) -> None:
    occurrence = _occurrence(make_schedule(name="hot"), 120)
    assert not DeviceBackupResult.objects.filter(held=True).exists()

    def hot() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                           "WHERE relname = %s", [TABLE])
            row = cursor.fetchone()
        return row[0], row[1]

    updated, hot_updated = hot()
    assert publish_pending(occurrence) == 120
    updated, hot_updated = hot()[0] - updated, hot()[1] - hot_updated
    assert updated == 120
    # Nearly all: the new version is a few bytes longer (published_at is no longer null), so
    # the last rows of a page may not fit in the half it keeps free.
    assert hot_updated >= 0.9 * 120


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_large_fan_out_marks_every_batch_on_a_second_connection_after_its_push(
    make_schedule: Any, redis_db: Any, collection_config: Any, monkeypatch: Any
) -> None:
    collection_config(publish_batch=10)
    occurrence = _occurrence(make_schedule(name="overlap"), 35)
    pushed: set[int] = set()
    marked_in: set[str] = set()
    pushed_in: set[str] = set()
    prepare, mark = CollectPublisher.prepare, fanout._mark_published

    def prepare_and_note(self: Any, items: Any, **kwargs: Any) -> Any:
        items = list(items)
        send = prepare(self, items, **kwargs)

        def send_and_note() -> int:
            import threading

            count = send()  # the broker has them once this returns
            pushed_in.add(threading.current_thread().name)
            pushed.update(int(p.split('"result_id":')[1].split(",")[0]) for p, *_ in items)
            return count

        return send_and_note

    def check_and_mark(ids: list[int]) -> None:
        import threading

        assert set(ids) <= pushed, "marked before the broker had the batch"
        marked_in.add(threading.current_thread().name)
        mark(ids)

    monkeypatch.setattr(CollectPublisher, "prepare", prepare_and_note)
    monkeypatch.setattr(fanout, "_mark_published", check_and_mark)

    assert publish_pending(occurrence) == 35

    assert all(name.startswith("fanout-db") for name in marked_in)
    assert all(name.startswith("fanout-push") for name in pushed_in)  # beside the building
    rows = DeviceBackupResult.objects.all()
    assert not rows.filter(published_at__isnull=True).exists()  # all marked on return
    assert set(rows.values_list("attempts", flat=True)) == {1}
    assert len(queued_payloads(redis_db, "collect.default")) == 35


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_mark_that_fails_stops_publishing_and_leaves_its_rows_to_the_repair(
    make_schedule: Any, redis_db: Any, collection_config: Any, monkeypatch: Any
) -> None:
    collection_config(publish_batch=10)
    occurrence = _occurrence(make_schedule(name="markfails"), 60)
    mark = fanout._mark_published
    calls: list[int] = []

    def fail_second(ids: list[int]) -> None:
        calls.append(len(ids))
        if len(calls) == 2:
            raise RuntimeError("database went away")
        mark(ids)

    monkeypatch.setattr(fanout, "_mark_published", fail_second)
    with pytest.raises(RuntimeError, match="database went away"):
        publish_pending(occurrence)

    unmarked = DeviceBackupResult.objects.filter(published_at__isnull=True).count()
    in_broker = len(queued_payloads(redis_db, "collect.default"))
    # The batch whose mark failed is in the broker but not marked; publishing stopped within a
    # batch or two of it instead of going on to the end.
    assert 10 <= unmarked < 60 and in_broker < 60
    assert in_broker + unmarked >= 60  # nothing is lost: unmarked rows are published again

    monkeypatch.setattr(fanout, "_mark_published", mark)
    assert publish_pending(occurrence) == unmarked
    assert not DeviceBackupResult.objects.filter(published_at__isnull=True).exists()
    assert len(queued_payloads(redis_db, "collect.default")) == in_broker + unmarked


@pytest.mark.django_db
def test_a_held_row_is_flagged_until_it_is_published(make_schedule: Any, redis_db: Any) -> None:
    schedule = make_schedule(name="spread", spread_minutes=30)
    ids = make_devices(40, schedule=schedule)
    at = datetime.now(UTC) - timedelta(minutes=10)
    occurrence = Occurrence(schedule_id=schedule.pk, scheduled_for=at, spread_minutes=30)
    assert create_results(occurrence, scheduled_devices(schedule.pk)) == 40
    rows = DeviceBackupResult.objects.all()
    due = rows.filter(publish_after__lte=datetime.now(UTC))
    assert 0 < due.count() < 40
    assert rows.filter(held=True).count() == 40  # every row of a spread occurrence is held

    published = publish_pending(occurrence)  # the ones whose offset has passed

    assert published == len(queued_payloads(redis_db, "collect.default")) == due.count()
    assert set(rows.filter(held=True).values_list("id", flat=True)) == set(
        rows.filter(published_at__isnull=True).values_list("id", flat=True))
    assert fanout.next_held_at() == min(
        rows.filter(held=True).values_list("publish_after", flat=True))
    assert fanout.publish_held(now=at + timedelta(minutes=31)) == 40 - published
    assert not rows.filter(held=True).exists()
    assert sorted(p["device_id"] for p in queued_payloads(redis_db, "collect.default")) == ids
    assert fanout.next_held_at() is None

