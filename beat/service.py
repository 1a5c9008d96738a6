"""The beat's engine: leadership, the agenda of due occurrences, catch-up and fan-out.

`BackupScheduler` (beat/scheduler.py) only hands Celery's loop to this class. It talks to
Redis (the lock, the change marker), to the database (schedules, SchedulerState, results)
and, through devices.dispatch.fanout, to the broker.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import redis
from django.conf import settings
from django.db import close_old_connections

from beat.agenda import Agenda, ScheduleSpec
from beat.catchup import CatchupPlan, catchup_steps, handled_through, plan_catchup
from beat.lock import LeaderLock
from beat.models import SchedulerState, record_tick
from beat.periodic import FenceLost, PeriodicTaskRunner
from devices.dispatch.delivery import DeliveryRules
from devices.dispatch.fanout import (
    Occurrence,
    enqueue_occurrence,
    next_held_at,
    publish_held,
    record_missed,
    repair_stranded,
)
from devices.dispatch.redelivery import reconcile_deliveries
from devices.metrics import record_fanout
from project.config import Config
from project.redis_client import new_redis_client
from schedules.models import BackupSchedule
from schedules.policy import next_firing
from schedules.recurrence import RecurrenceError
from schedules.selectors import fleet_windows
from schedules.services import SCHEDULES_VERSION_KEY

logger = logging.getLogger("beat")

STANDBY_POLL = 2.0  # seconds between a standby's attempts to take the lock
MAX_SLEEP = 1.0  # seconds; the change marker is read at least this often
FULL_RELOAD_EVERY = 60.0  # seconds; safety net for a lost change-marker bump
STRANDED_SWEEP_EVERY = 60.0  # seconds between sweeps for rows left unpublished
ERROR_BACKOFF = 2.0  # seconds to wait after a database or broker error


def utcnow() -> datetime:
    return datetime.now(UTC)


class BeatService:
    """One beat process: standby until it holds the lock, then the leader's loop."""

    def __init__(
        self, *, config: Config | None = None, redis_client: redis.Redis | None = None,
        clock: Callable[[], datetime] = utcnow, monotonic: Callable[[], float] = time.monotonic,
        renew_in_background: bool = True,
    ) -> None:
        """Collaborators default to the process's own (settings, a Redis client of its own,
        the system clocks); tests pass theirs and drive `tick()` themselves."""
        self.config = cfg = config or settings.DEVICEVAULT
        self.clock = clock
        self.monotonic = monotonic
        self.window = timedelta(minutes=cfg.scheduler.restart_window_minutes)
        self.redis = redis_client or new_redis_client(
            settings.REDIS_URL, health_check_interval=30
        )
        self.lock = LeaderLock(self.redis, cfg.scheduler.lock_ttl_seconds, monotonic=monotonic,
                               renew_in_background=renew_in_background)
        self.agenda = Agenda()
        from project.celery import app as celery_app

        self.periodic = PeriodicTaskRunner(celery_app)  # django-celery-beat's PeriodicTasks
        self.leader = False
        self.has_led = False
        self.exit_code = 0  # BackupScheduler.close() exits with it once Celery's loop ends
        self.stop_requested = False
        self._stopped = False
        self._version: Any = None
        self._last_reload = 0.0
        self._last_sweep = 0.0
        self.delivery = DeliveryRules.from_config(cfg.collection)
        self._last_reconcile = 0.0
        self._horizon: datetime | None = None
        self._next_held: datetime | None = None  # the next row a spread or window holds

    # -- start and stop ------------------------------------------------------
    def start(self) -> None:
        """Check Redis (a failure stops the process), warn on unsafe settings, trap signals."""
        if not self.config.scheduler.enabled:
            logger.warning("scheduler disabled (scheduler.enabled: false in %s); exiting",
                           self.config.path)
            raise SystemExit(0)
        try:
            self.redis.ping()
        except redis.RedisError as exc:
            logger.critical("cannot reach Redis at %s: %s; the beat cannot run without its lock",
                            _safe_url(settings.REDIS_URL), exc)
            raise SystemExit(2) from None
        self._warn_on_eviction_policy()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._request_stop)
        logger.info("beat started: host=%s pid=%s ttl=%ss window=%s; waiting for the lock",
                    socket.gethostname(), os.getpid(), self.lock.ttl_ms // 1000, self.window)

    def _warn_on_eviction_policy(self) -> None:
        try:
            policy = self.redis.config_get("maxmemory-policy").get("maxmemory-policy")
        except redis.RedisError:
            logger.info("could not read Redis maxmemory-policy (CONFIG disabled?)")
            return
        if policy and policy != "noeviction":
            logger.warning(
                "UNSAFE REDIS SETTING: maxmemory-policy=%s may evict the scheduler lock key; "
                "set maxmemory-policy noeviction", policy,
            )

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        logger.info("signal %s: finishing the current tick, then stopping", signum)
        self.stop_requested = True

    def shutdown(self) -> None:
        """Publish nothing more, mark the state stopped, release the lock. Safe to repeat."""
        if self._stopped:
            return
        self._stopped = True
        was_leader, self.leader = self.leader, False
        if was_leader or self.has_led:
            # Also after stepping down (say Redis went away): the state still names this
            # process until another leader writes its own, and it no longer runs.
            try:
                SchedulerState.objects.filter(
                    pk=1, scheduler_pid=os.getpid(), scheduler_host=socket.gethostname()
                ).update(is_running=False)
            except Exception as exc:  # the database may be down; the lock still goes
                logger.warning("could not mark the scheduler stopped: %s", exc)
        if was_leader:
            self.lock.release()
        logger.info("beat stopped: pid=%s", os.getpid())

    # -- the loop ------------------------------------------------------------
    def tick(self) -> float:
        """One pass of Celery's loop; returns how long to sleep."""
        if self.stop_requested:
            self.shutdown()
            raise SystemExit(0)
        if not self.leader:
            return self._standby()
        if not self.lock.held():
            return self._step_down()
        try:
            return self._lead()
        except Exception as exc:  # database or broker trouble: keep the lock, retry soon
            logger.exception("tick failed: %s", exc)
            close_old_connections()
            return ERROR_BACKOFF

    def _standby(self) -> float:
        try:
            acquired = self.lock.try_acquire()
        except redis.RedisError as exc:
            logger.warning("standby: Redis unreachable: %s", exc)
            return STANDBY_POLL
        if not acquired:
            return STANDBY_POLL
        self.lock.start_renewing()
        self.leader = self.has_led = True
        try:
            complete = self._become_leader()
        except Exception:
            logger.exception("taking over as leader failed; standing by again")
            self._step_down()
            return ERROR_BACKOFF
        if not complete and not self.stop_requested:
            # The lock was lost mid catch-up: whoever leads next (maybe us) resumes it.
            return self._step_down()
        return 0.0

    def _step_down(self) -> float:
        self.leader = False
        self.lock.release()
        if self.lock.redis_unreachable:
            logger.error("lock could not be renewed for a whole TTL (Redis unreachable); "
                         "exiting 1")
            self.exit_code = 1
            raise SystemExit(1)
        logger.warning("lock lost: standing by")
        return STANDBY_POLL

    def _become_leader(self) -> bool:
        """Record ourselves in SchedulerState, then catch up what happened while no one led.

        Returns False when the catch-up was cut short (lock lost or stop requested):
        `last_tick` then stays before the first occurrence not handled.
        """
        close_old_connections()
        now = self.clock()
        state = SchedulerState.load()
        SchedulerState.objects.filter(pk=1).update(
            is_running=True, scheduler_pid=os.getpid(), scheduler_host=socket.gethostname(),
            last_restart_at=now,
        )
        self._reload(now, cursor=now)
        self._load_periodic()
        if not self._catch_up(state.last_tick, now):
            return False
        self._repair(now, older_than=now)
        self._next_held = next_held_at()
        self._horizon = now
        SchedulerState.objects.filter(pk=1).update(last_tick=now)
        logger.info("leading: pid=%s schedules=%d last_tick=%s", os.getpid(),
                    len(self.agenda.specs), state.last_tick)
        return True

    def _catch_up(self, last_tick: datetime | None, now: datetime) -> bool:
        """Handle every occurrence in (last_tick, now], oldest first, moving `last_tick` past
        each one handled; False when cut short (lock lost, stop requested)."""
        plans: dict[int, CatchupPlan] = {}
        for spec in self.agenda.specs.values():
            plan = plan_catchup(spec.recurrence, last_tick=last_tick,
                                active_since=spec.active_since, now=now, window=self.window)
            if plan.skipped:
                logger.warning("catch-up: schedule=%s skipped %d occurrences older than the "
                               "newest handled", spec.id, plan.skipped)
            if plan.catchup or plan.missed or plan.skipped:
                plans[spec.id] = plan
        steps = catchup_steps(plans)
        handled = 0
        for step in steps:
            if self.stop_requested or not self.lock.held():
                break
            spec = self.agenda.specs[step.schedule_id]
            if step.missed:
                rows = record_missed(Occurrence(schedule_id=spec.id, scheduled_for=step.at))
                logger.warning("missed window: schedule=%s occurrence=%s devices=%d",
                               spec.id, step.at.isoformat(), rows)
            else:
                self._fire(spec, step.at, is_catchup=True)
            if not self.lock.held():
                break  # cut short mid-publish: this occurrence is the next leader's
            handled += 1
            SchedulerState.objects.filter(pk=1).update(
                last_tick=handled_through(steps, handled, last_tick=last_tick, now=now)
            )
        if handled < len(steps):
            resume = handled_through(steps, handled, last_tick=last_tick, now=now)
            logger.warning(
                "catch-up cut short (%s): handled %d of %d occurrences; last_tick=%s, the next "
                "leader resumes at schedule=%s occurrence=%s",
                "stop requested" if self.stop_requested else "lock lost", handled, len(steps),
                resume.isoformat() if resume else None, steps[handled].schedule_id,
                steps[handled].at.isoformat(),
            )
            return False
        self._refresh_next_runs(plans, now)
        return True

    def _refresh_next_runs(self, plans: dict[int, CatchupPlan], now: datetime) -> None:
        """After a catch-up, each schedule it touched shows its next run after `now`: a
        schedule whose occurrences were all missed fired nothing that would have moved it."""
        windows = fleet_windows()
        for schedule_id in plans:
            spec = self.agenda.specs[schedule_id]
            BackupSchedule.objects.filter(pk=schedule_id).update(next_run_at=next_firing(
                spec.recurrence, windows, now, since=spec.active_since))

    def _lead(self) -> float:
        now = self.clock()
        self._maybe_reload(now)
        for spec, occurrence in self.agenda.due(now):
            if self.stop_requested or not self.lock.held():
                break
            self._fire(spec, occurrence, is_catchup=False)
            if not self.lock.held():
                break  # cut short mid-publish: the next leader publishes the rest
            self.agenda.done(spec.id, occurrence)
        if not self.lock.held():
            return self._step_down()
        if not self._run_periodic():
            return self._step_down()
        if self._next_held is not None and self._next_held <= now:
            self._publish_held(now)
        if self.monotonic() - self._last_sweep >= STRANDED_SWEEP_EVERY:
            self._repair(now, older_than=now - timedelta(seconds=STRANDED_SWEEP_EVERY))
        if self.monotonic() - self._last_reconcile >= self.delivery.sweep_every:
            self._reconcile(now)
        pending = self.agenda.next_due()
        # last_tick never passes an occurrence that is still pending (say, the broker was
        # down): a restart then catches it up instead of forgetting it.
        tick = now if pending is None or pending > now else pending - timedelta(microseconds=1)
        # The idle tick's one query: it also reads django-celery-beat's change marker.
        if record_tick(tick) != self.periodic.marker:
            self._load_periodic()
        self._horizon = now
        waits = [MAX_SLEEP, self.periodic.seconds_to_next_check()]
        for instant in (pending, self._next_held):
            if instant is not None:
                waits.append((instant - self.clock()).total_seconds())
        return max(0.0, min(w for w in waits if w is not None))

    def _fire(self, spec: ScheduleSpec, occurrence: datetime, *, is_catchup: bool) -> None:
        started = self.monotonic()
        lateness = (self.clock() - occurrence).total_seconds()
        created, published = enqueue_occurrence(
            Occurrence(schedule_id=spec.id, scheduled_for=occurrence, is_catchup=is_catchup,
                       spread_minutes=spec.spread_minutes),
            may_publish=self.lock.held, fence=self.lock.fence(),
        )
        duration = self.monotonic() - started
        self._next_held = next_held_at()  # a spread or a deferring window may hold rows
        record_fanout(lateness_seconds=round(lateness, 3), duration_seconds=round(duration, 3),
                      schedule=spec.id, occurrence=occurrence.isoformat(), devices=published,
                      at=self.clock().timestamp())
        BackupSchedule.objects.filter(pk=spec.id).update(
            last_run_at=occurrence, next_run_at=next_firing(
                spec.recurrence, fleet_windows(), occurrence, since=spec.active_since)
        )
        logger.info(
            "fan-out: schedule=%s occurrence=%s catchup=%s rows=%d published=%d "
            "duration=%.3fs lateness=%.3fs", spec.id, occurrence.isoformat(), is_catchup,
            created, published, duration, lateness,
        )

    def _publish_held(self, now: datetime) -> None:
        """Publish the rows whose spread offset or deferring window has passed."""
        published = publish_held(now=now, may_publish=self.lock.held, fence=self.lock.fence())
        self._next_held = next_held_at()
        logger.info("held rows published=%d next=%s", published,
                    self._next_held.isoformat() if self._next_held else None)

    def _repair(self, now: datetime, *, older_than: datetime) -> None:
        repair_stranded(now=now, window=self.window, older_than=older_than,
                        may_publish=self.lock.held, fence=self.lock.fence())
        self._last_sweep = self.monotonic()

    def _reconcile(self, now: datetime) -> None:
        """Redeliver published rows that never finished; give up on them after max_attempts."""
        self._last_reconcile = self.monotonic()
        reconcile_deliveries(now=now, rules=self.delivery, may_publish=self.lock.held,
                             fence=self.lock.fence())

    # -- django-celery-beat's periodic tasks ---------------------------------------
    def _load_periodic(self) -> None:
        self.periodic.load()
        logger.info("periodic tasks loaded: count=%d", len(self.periodic.tasks))

    def _run_periodic(self) -> bool:
        """Send the PeriodicTasks due now; False when the lock turned out to be lost."""
        try:
            self.periodic.run_due(still_leader=self.lock.extend)
        except FenceLost as exc:
            logger.warning("periodic task %s not sent: the lock is no longer ours", exc)
            return False
        return True

    # -- schedule changes ----------------------------------------------------
    def _maybe_reload(self, now: datetime) -> None:
        version = self.redis.get(SCHEDULES_VERSION_KEY)
        stale = self.monotonic() - self._last_reload >= FULL_RELOAD_EVERY
        changed = version != self._version
        if changed or stale:
            self._reload(now, cursor=self._horizon or now)
            if stale:  # the safety net covers a lost PeriodicTasks marker too
                self._load_periodic()
                self._next_held = next_held_at()
            logger.log(logging.INFO if changed else logging.DEBUG,
                       "schedules reloaded: count=%d reason=%s", len(self.agenda.specs),
                       "changed" if changed else "periodic")

    def _reload(self, now: datetime, *, cursor: datetime) -> None:
        self._version = self.redis.get(SCHEDULES_VERSION_KEY)
        specs = []
        tz = self.config.display_timezone
        for row in BackupSchedule.objects.filter(enabled=True):
            try:
                specs.append(ScheduleSpec(id=row.pk, name=row.name,
                                          recurrence=row.recurrence(tz),
                                          active_since=row.active_since, priority=row.priority,
                                          spread_minutes=row.spread_minutes))
            except RecurrenceError as exc:
                logger.error("schedule=%s is invalid and will not fire: %s", row.pk, exc)
        self.agenda.load(specs, cursor=cursor)
        self._last_reload = self.monotonic()
        logger.debug("schedules loaded: %d", len(specs))

    # -- introspection -------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        return {"leader": self.leader, "schedules": len(self.agenda.specs),
                "periodic_tasks": len(self.periodic.tasks),
                "next_due": self.agenda.next_due()}


def _safe_url(url: str) -> str:
    """A Redis URL without its password, for logs."""
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
