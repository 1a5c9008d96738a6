"""django-celery-beat's PeriodicTask rows, run by the leader beside the backup schedules.

django-celery-beat's own scheduler keeps `last_run_at` in memory and writes it back every
few minutes, under no lock: two beats, or one restarted, send an occurrence twice. Here each
run is claimed in the database in the transaction that sends it:

1. one UPDATE moves `last_run_at` from the value this leader read to now and counts the run
   (`total_run_count`) — a compare-and-set: whoever ran it meanwhile (another leader, or
   this one before a failover) has moved it, and nothing is sent;
2. the leader proves it still holds the lock (a compare-and-extend in Redis);
3. the task is sent, then the transaction commits.

A kill before the commit rolls the claim back and the next leader sends the run; only a kill
between the broker's acknowledgement and the commit (a few milliseconds) sends it twice.
Which runs are due is django-celery-beat's own rule (`ModelEntry.is_due`: interval, crontab,
solar, clocked; `start_time`, `expires`, one-off), so the admin's "Periodic tasks" pages mean
here what they mean there. A one-off (or clocked) task is disabled in the claim itself.

The leader evaluates a task only when its next check is due (a heap): an idle tick costs
one look at it, whatever the number of tasks.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django_celery_beat.models import PeriodicTask, PeriodicTasks
from django_celery_beat.schedulers import ModelEntry

logger = logging.getLogger("beat")

RECHECK_MAX = 300.0  # seconds; a task is evaluated again at least this often


class FenceLost(Exception):
    """The lock is no longer this leader's: the claim is rolled back, nothing is sent."""


@dataclass
class _Task:
    entry: ModelEntry
    stored_last_run_at: datetime | None  # as read from the row: the compare-and-set's value


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PeriodicTaskRunner:
    """The enabled PeriodicTask rows, each with the instant it is next evaluated.

    Its clock is the wall clock django-celery-beat's rules read (`ModelEntry.is_due`), not
    the beat's injected one."""

    def __init__(self, app: Any, clock: Callable[[], datetime] = _utcnow) -> None:
        self.app = app
        self.clock = clock
        self.tasks: dict[int, _Task] = {}
        self._heap: list[tuple[datetime, int]] = []
        self.marker: Any = None  # PeriodicTasks.last_update when the rows were read

    def load(self) -> None:
        """Read every enabled task again (the change marker moved, or periodically)."""
        now = self.clock()
        self.marker = PeriodicTasks.last_change()
        rows = PeriodicTask.objects.filter(enabled=True).select_related(
            "interval", "crontab", "solar", "clocked")
        self.tasks = {}
        for row in rows:
            task = self._task(row)
            if task is not None:
                self.tasks[row.pk] = task
        self._heap = [(now, pk) for pk in self.tasks]
        heapq.heapify(self._heap)

    def _task(self, row: PeriodicTask) -> _Task | None:
        stored = row.last_run_at
        try:
            entry = ModelEntry(row, app=self.app)  # may disable a row it cannot run
        except Exception as exc:  # a schedule that cannot be built: skip it, say why
            logger.error("periodic task %r cannot run: %s", row.name, exc)
            return None
        return _Task(entry=entry, stored_last_run_at=stored) if row.enabled else None

    def seconds_to_next_check(self) -> float | None:
        """Seconds until a task is evaluated next (None: no task)."""
        if not self._heap:
            return None
        return max(0.0, (self._heap[0][0] - self.clock()).total_seconds())

    def run_due(self, *, still_leader: Callable[[], bool]) -> int:
        """Send every task due now, each at most once; returns how many were sent.

        FenceLost when the lock turned out to be lost (the current claim is rolled back)."""
        now = self.clock()
        sent = 0
        while self._heap and self._heap[0][0] <= now:
            _, pk = heapq.heappop(self._heap)
            task = self.tasks.get(pk)
            if task is None:
                continue
            state = task.entry.is_due()  # may disable an expired or spent one-off row
            if not task.entry.model.enabled:
                del self.tasks[pk]
                continue
            if state.is_due:
                sent += self._run(pk, task, now, still_leader)
                if pk not in self.tasks:
                    continue
                state = self.tasks[pk].entry.is_due()
            # At least a moment later: a task is never evaluated twice in one pass.
            wait = min(max(float(state.next), 0.05), RECHECK_MAX)
            heapq.heappush(self._heap, (now + timedelta(seconds=wait), pk))
        return sent

    def _run(self, pk: int, task: _Task, now: datetime,
             still_leader: Callable[[], bool]) -> int:
        model = task.entry.model
        once = bool(model.one_off or model.clocked_id)
        claim: dict[str, Any] = {"last_run_at": now, "total_run_count": F("total_run_count") + 1}
        if once:  # as django-celery-beat leaves a spent one-off: disabled, count reset
            claim.update(enabled=False, total_run_count=0)
        with transaction.atomic():
            claimed = PeriodicTask.objects.filter(
                pk=pk, enabled=True, last_run_at=task.stored_last_run_at
            ).update(**claim)
            if not claimed:
                logger.info("periodic task %r: changed or run by another leader; reading it "
                            "again", model.name)
                self._reread(pk)
                return 0
            if not still_leader():
                raise FenceLost(model.name)
            entry = task.entry
            result = self.app.send_task(entry.task, args=entry.args, kwargs=entry.kwargs,
                                        **entry.options)
        logger.info("periodic task sent: name=%r task=%s id=%s", model.name, entry.task,
                    result.id)
        if once:
            del self.tasks[pk]
            return 1
        model.last_run_at = now
        model.total_run_count += 1
        self.tasks[pk] = _Task(entry=ModelEntry(model, app=self.app), stored_last_run_at=now)
        return 1

    def _reread(self, pk: int) -> None:
        row = PeriodicTask.objects.filter(pk=pk, enabled=True).select_related(
            "interval", "crontab", "solar", "clocked").first()
        task = self._task(row) if row is not None else None
        if task is None:
            self.tasks.pop(pk, None)
            return
        self.tasks[pk] = task
