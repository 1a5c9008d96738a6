"""django-celery-beat's PeriodicTasks with real beats: two beats, the leader killed with
SIGKILL, an edit made meanwhile; every run sent once (beat/periodic.py)."""

from __future__ import annotations

import base64
import json
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

pytestmark = [pytest.mark.processes, pytest.mark.timeout(180)]

QUEUE = "periodic-test"


SENT = re.compile(r"ts=(\S+) .*periodic task sent: name='([^']+)' task=\S+ id=([0-9a-f-]+)")


def queued(redis_db: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each message of the test queue: id -> (periodic task name, kwargs)."""
    out = {}
    for raw in redis_db.lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        body = json.loads(base64.b64decode(message["body"]))
        out[message["headers"]["id"]] = (message["headers"]["periodic_task_name"], body[1])
    return out


def sends(*beats: Any) -> list[tuple[datetime, str, str]]:
    """(when, periodic task name, message id) of every send the beats logged, in time order."""
    found = [(datetime.fromisoformat(ts), name, task_id)
             for beat in beats for ts, name, task_id in SENT.findall(beat.log())]
    return sorted(found)


def task(name: str, **fields: Any) -> PeriodicTask:
    return PeriodicTask.objects.create(name=name, task="tests.ping", queue=QUEUE, **fields)


def test_periodic_tasks_are_sent_once_across_a_kill9_failover_and_edits_are_seen_within_5s(
    procs: Any, redis_db: Any
) -> None:
    now = datetime.now(UTC)
    two = IntervalSchedule.objects.create(every=2, period="seconds")
    every2 = task("every 2 s", interval=two, last_run_at=now, kwargs=json.dumps({"v": 1}))
    task("each minute", crontab=CrontabSchedule.objects.create(minute="*", timezone="UTC"),
         last_run_at=now)
    task("one-off", interval=two, one_off=True, last_run_at=now - timedelta(seconds=5))
    task("disabled", interval=two, enabled=False, last_run_at=now - timedelta(seconds=5))

    first, second = procs.beat(), procs.beat()
    deadline = time.monotonic() + 30
    while not any("leading: pid=" in b.log() for b in (first, second)):
        assert time.monotonic() < deadline, "no beat leads"
        time.sleep(0.1)
    leader, standby = (first, second) if "leading: pid=" in first.log() else (second, first)
    time.sleep(7)
    assert len([s for s in sends(leader) if s[1] == "every 2 s"]) >= 2, "the leader sends"

    leader.signal(signal.SIGKILL)
    leader.wait(10)
    killed_at = datetime.now(UTC)
    standby.wait_for(r"leading: pid=", timeout=30)
    time.sleep(5)
    after = [at for at, name, _ in sends(standby) if name == "every 2 s"]
    assert after, "the new leader sends the 2 s task"
    print(f"\nfailover: the 2 s task's first send {(after[0] - killed_at).total_seconds():.1f}s "
          "after the kill")

    # An edit in the admin: the row as it is now, saved through the model (which moves
    # django-celery-beat's marker).
    every2.refresh_from_db()
    every2.kwargs = json.dumps({"v": 2})
    every2.save()
    edited_at = datetime.now(UTC)
    time.sleep(6)
    for beat in (first, second):
        beat.stop()

    logged = sends(first, second)
    messages = queued(redis_db)
    assert sorted(i for _, _, i in logged) == sorted(messages), "each logged send is queued"
    two_s = [(at, messages[i][1]) for at, name, i in logged if name == "every 2 s"]
    gaps = [(b - a).total_seconds() for (a, _), (b, _) in zip(two_s, two_s[1:], strict=False)]
    assert min(gaps) > 1.5, f"a run of the 2 s task was sent twice: gaps {gaps}"
    first_edited = next(at for at, kw in two_s if kw == {"v": 2})
    assert (first_edited - edited_at).total_seconds() <= 5.0, "the edit is seen within 5 s"
    assert all(kw == {"v": 1} for at, kw in two_s if at < edited_at)
    every2.refresh_from_db()
    assert every2.total_run_count == len(two_s), "each send counted once, each count sent"
    names = [name for _, name, _ in logged]
    assert names.count("one-off") == 1 and "disabled" not in names
    assert not PeriodicTask.objects.get(name="one-off").enabled
    assert names.count("each minute") <= 1  # about 20 s: one minute boundary at most
