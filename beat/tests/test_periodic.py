"""django-celery-beat's PeriodicTasks run by the leader (beat/periodic.py), against the real
database and the real Redis broker: what is sent, what the row keeps, and what two leaders,
a lost lock or an edit do. The process test (test_periodic_processes.py) kills real beats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
)

from beat.models import SchedulerState, record_tick
from beat.periodic import FenceLost, PeriodicTaskRunner
from project.celery import app

pytestmark = pytest.mark.usefixtures("transactional_db")

QUEUE = "periodic-test"


def sent(redis_db: Any) -> list[str]:
    """The `periodic_task_name` header of each message waiting in the test queue."""
    return [json.loads(m)["headers"]["periodic_task_name"]
            for m in reversed(redis_db.lrange(QUEUE, 0, -1))]


def every(seconds: int, name: str = "ping", **fields: Any) -> PeriodicTask:
    interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
    fields.setdefault("last_run_at", datetime.now(UTC) - timedelta(seconds=seconds + 1))
    return PeriodicTask.objects.create(name=name, task="tests.ping", interval=interval,
                                       queue=QUEUE, **fields)


def runner() -> PeriodicTaskRunner:
    r = PeriodicTaskRunner(app)
    r.load()
    return r


def leading() -> bool:
    return True


def test_a_due_task_is_sent_once_and_its_row_counts_the_run(redis_db: Any) -> None:
    task = every(60, args=json.dumps([1, 2]), kwargs=json.dumps({"x": 3}))
    r = runner()
    assert r.run_due(still_leader=leading) == 1
    assert r.run_due(still_leader=leading) == 0  # not due again for a minute
    assert sent(redis_db) == ["ping"]
    message = json.loads(redis_db.lrange(QUEUE, 0, -1)[0])
    assert message["headers"]["task"] == "tests.ping"
    task.refresh_from_db()
    assert task.total_run_count == 1
    assert datetime.now(UTC) - task.last_run_at < timedelta(seconds=5)
    assert r.seconds_to_next_check() is not None and r.seconds_to_next_check() > 50


def test_two_leaders_that_read_the_same_row_send_it_once(redis_db: Any) -> None:
    """Two beats leading at once (the lock key lost, one paused): the row's compare-and-set
    lets one of them send."""
    task = every(60)
    first, second = runner(), runner()
    assert first.run_due(still_leader=leading) + second.run_due(still_leader=leading) == 1
    assert sent(redis_db) == ["ping"]
    task.refresh_from_db()
    assert task.total_run_count == 1


def test_a_leader_that_lost_the_lock_sends_nothing_and_leaves_the_row(redis_db: Any) -> None:
    task = every(60)
    before = PeriodicTask.objects.get(pk=task.pk).last_run_at
    with pytest.raises(FenceLost):
        runner().run_due(still_leader=lambda: False)
    assert sent(redis_db) == []
    task.refresh_from_db()
    assert (task.last_run_at, task.total_run_count) == (before, 0)
    assert runner().run_due(still_leader=leading) == 1  # the next leader sends it


def test_a_one_off_task_is_sent_once_then_disabled(redis_db: Any) -> None:
    task = every(1, one_off=True)
    r = runner()
    assert r.run_due(still_leader=leading) == 1
    task.refresh_from_db()
    assert not task.enabled and task.total_run_count == 0  # as django-celery-beat leaves it
    assert runner().run_due(still_leader=leading) == 0
    assert sent(redis_db) == ["ping"]


def test_a_clocked_task_runs_at_its_time_once(redis_db: Any) -> None:
    clocked = ClockedSchedule.objects.create(clocked_time=datetime.now(UTC) - timedelta(seconds=1))
    PeriodicTask.objects.create(name="once", task="tests.ping", clocked=clocked, one_off=True,
                                queue=QUEUE)
    later = ClockedSchedule.objects.create(clocked_time=datetime.now(UTC) + timedelta(hours=1))
    PeriodicTask.objects.create(name="later", task="tests.ping", clocked=later, one_off=True,
                                queue=QUEUE)
    r = runner()
    assert r.run_due(still_leader=leading) == 1
    assert r.run_due(still_leader=leading) == 0
    assert sent(redis_db) == ["once"]


def test_disabled_expired_and_not_yet_started_tasks_are_not_sent(redis_db: Any) -> None:
    now = datetime.now(UTC)
    every(1, name="disabled", enabled=False)
    expired = every(1, name="expired", expires=now - timedelta(seconds=1))
    every(1, name="later", start_time=now + timedelta(hours=1))
    every(1, name="due")
    assert runner().run_due(still_leader=leading) == 1
    assert sent(redis_db) == ["due"]
    expired.refresh_from_db()
    assert not expired.enabled  # django-celery-beat disables an expired task


def test_a_crontab_task_is_due_at_its_minute() -> None:
    crontab = CrontabSchedule.objects.create(minute="*", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="cron", task="tests.ping", crontab=crontab, queue=QUEUE,
                                last_run_at=datetime.now(UTC) - timedelta(minutes=2))
    r = runner()
    assert r.run_due(still_leader=leading) == 1
    wait = r.seconds_to_next_check()
    assert wait is not None and wait <= 61


def test_the_tick_reads_the_change_marker_in_its_one_query() -> None:
    SchedulerState.load()
    PeriodicTasks.objects.all().delete()  # a migration's PeriodicTask may have set it
    assert record_tick(datetime.now(UTC)) is None  # no edit ever made
    every(60)  # saving a task through the ORM moves django-celery-beat's marker
    marker = PeriodicTasks.last_change()
    assert marker is not None
    with CaptureQueriesContext(connection) as captured:
        assert record_tick(datetime.now(UTC)) == marker
    assert len(captured) == 1
    assert SchedulerState.load().last_tick is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's commit modes")
def test_the_heartbeat_commits_without_a_wal_flush_and_leaves_every_other_commit_durable() -> None:
    """The tick's write waits for no fsync (it is most of an idle tick's time on a slow disk),
    and the setting ends with its transaction: the fan-out's commits stay synchronous."""
    SchedulerState.load()

    def wal_syncs() -> int:  # the cluster's WAL fsyncs so far (this backend's stats flushed)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
        with connection.cursor() as cursor:  # a statement after it: the stats are reported
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT wal_sync FROM pg_stat_wal")
            return int(cursor.fetchone()[0])

    with connection.cursor() as cursor:
        cursor.execute("SHOW fsync")
        if cursor.fetchone()[0] != "on":
            pytest.skip("this PostgreSQL never flushes its WAL")
    before = wal_syncs()
    for _ in range(100):
        SchedulerState.objects.filter(pk=1).update(is_running=True)  # an ordinary commit
    durable = wal_syncs() - before
    before = wal_syncs()
    for _ in range(100):
        record_tick(datetime.now(UTC))
    heartbeats = wal_syncs() - before
    assert durable >= 100  # each ordinary commit waited for its flush...
    assert heartbeats < 50  # ...the heartbeats did not (the WAL writer flushes a few times)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


@pytest.fixture
def leader(redis_db: Any) -> Any:
    from django.conf import settings

    from beat.service import BeatService
    from project.redis_client import new_redis_client

    service = BeatService(redis_client=new_redis_client(settings.REDIS_URL),
                          renew_in_background=False)
    assert service.tick() == 0.0 and service.leader
    yield service
    service.lock.release()


def test_an_idle_leader_tick_is_one_query_and_an_edit_is_read_on_the_next(
    leader: Any, redis_db: Any
) -> None:
    task = every(3600, last_run_at=datetime.now(UTC) - timedelta(seconds=10))
    leader.tick()  # the marker moved: the tasks are read again
    assert len(leader.periodic.tasks) == 1
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            leader.tick()
        assert len(captured) == 1, [q["sql"] for q in captured]
    assert sent(redis_db) == []
    # The admin's edit: every 1 s from now on, saved through the model (the marker moves).
    task.interval = IntervalSchedule.objects.create(every=1, period="seconds")
    task.save()
    leader.tick()  # reads the marker: reloads
    leader.tick()  # the edited task is due
    assert sent(redis_db) == ["ping"]
