"""Writes to backup schedules: create, update, recompute the next-run cache, announce changes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import redis
from django.db import transaction
from django.utils import timezone

from project.redis_client import redis_client
from schedules.models import BackupSchedule
from schedules.selectors import fleet_windows

logger = logging.getLogger(__name__)

# Redis counter the beat compares on every tick to notice edits within seconds.
SCHEDULES_VERSION_KEY = "devicevault:schedules:version"

def announce_schedules_changed() -> None:
    """Bump the change marker once the surrounding transaction commits (never before)."""

    def bump() -> None:
        try:
            redis_client().incr(SCHEDULES_VERSION_KEY)
        except redis.RedisError as exc:
            # The beat's periodic full reload is the safety net for a lost bump.
            logger.warning("could not bump %s: %s", SCHEDULES_VERSION_KEY, exc)

    transaction.on_commit(bump)


def refresh_schedule_fields(schedule: BackupSchedule, *, now: datetime | None = None) -> None:
    """Set the derived fields of an unsaved schedule: `next_run_at` and `active_since`."""
    now = now or timezone.now()
    if not schedule.enabled:
        schedule.active_since = None
    elif schedule.active_since is None:
        schedule.active_since = now
    schedule.next_run_at = schedule.next_run_after(now, fleet_windows())


# What a schedule's owner sets; everything else is derived (next_run_at, active_since) or
# the beat's bookkeeping (last_run_at).
SCHEDULE_FIELDS = (
    "name", "schedule_type", "hour", "minute", "day_of_week", "day_of_month",
    "cron_expression", "enabled", "timezone", "priority", "spread_minutes", "overlap_policy",
)


def schedule_create(
    *, name: str, schedule_type: str = "daily", hour: int = 2, minute: int = 0,
    day_of_week: int | None = None, day_of_month: int | None = None,
    cron_expression: str = "", enabled: bool = True, timezone: str | None = None,
    priority: int = 5, spread_minutes: int = 0, overlap_policy: str = "skip",
) -> BackupSchedule:
    """Validate and store a new schedule (ValidationError naming the fields otherwise)."""
    return _store(BackupSchedule(
        name=name, schedule_type=schedule_type, hour=hour, minute=minute,
        day_of_week=day_of_week, day_of_month=day_of_month, cron_expression=cron_expression,
        enabled=enabled, timezone=timezone, priority=priority, spread_minutes=spread_minutes,
        overlap_policy=overlap_policy,
    ))


def schedule_update(*, schedule: BackupSchedule, data: Mapping[str, Any]) -> BackupSchedule:
    """Validate and store changes (fields of SCHEDULE_FIELDS) to an existing schedule."""
    unknown = set(data) - set(SCHEDULE_FIELDS)
    if unknown:
        raise TypeError(f"not a schedule field: {', '.join(sorted(unknown))}")
    for key, value in data.items():
        setattr(schedule, key, value)
    return _store(schedule)


def _store(schedule: BackupSchedule) -> BackupSchedule:
    """The one place a schedule is written: validated, its derived fields refreshed; the
    post_save signal then tells the beat."""
    schedule.full_clean()
    refresh_schedule_fields(schedule)
    schedule.save()
    return schedule


def schedules_set_enabled(*, schedules: Iterable[BackupSchedule], enabled: bool) -> int:
    """Enable or disable several schedules (admin actions); returns how many changed."""
    changed = 0
    with transaction.atomic():
        for schedule in schedules:
            if schedule.enabled != enabled:
                schedule_update(schedule=schedule, data={"enabled": enabled})
                changed += 1
    return changed


def recompute_next_runs(*, now: datetime | None = None) -> int:
    """Recompute every schedule's `next_run_at` cache (after bulk updates, and when the
    maintenance windows change); returns the count."""
    now = now or timezone.now()
    windows = fleet_windows()
    updated = 0
    for schedule in BackupSchedule.objects.all():
        value = schedule.next_run_after(now, windows)
        if value != schedule.next_run_at:
            BackupSchedule.objects.filter(pk=schedule.pk).update(next_run_at=value)
            updated += 1
    if updated:
        announce_schedules_changed()
    return updated


def schedule_delete(*, schedule: BackupSchedule) -> None:
    """Delete a schedule; its devices become unscheduled (SET_NULL) and the beat is told."""
    schedule_id = schedule.pk
    schedule.delete()  # the post_delete signal announces the change
    logger.info("schedule deleted: schedule=%s", schedule_id)
