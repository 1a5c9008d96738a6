"""The beat's own bookkeeping: the SchedulerState singleton."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import connection, models
from django.utils.dateparse import parse_datetime


class SchedulerState(models.Model):
    """Singleton bookkeeping of the beat (pk is always 1): last tick, owner, restarts."""

    last_tick = models.DateTimeField(null=True, blank=True)
    is_running = models.BooleanField(default=False)
    scheduler_pid = models.IntegerField(null=True, blank=True)
    scheduler_host = models.CharField(max_length=255, blank=True, default="")
    last_restart_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "scheduler state"
        verbose_name_plural = "scheduler state"

    def __str__(self) -> str:
        return f"scheduler state (running={self.is_running}, pid={self.scheduler_pid})"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def load(cls) -> SchedulerState:
        """The one row, created on first use."""
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


def record_tick(tick: Any) -> Any:
    """Set `last_tick` and read django-celery-beat's change marker (`PeriodicTasks`'
    `last_update`, or None) in the same statement: the idle tick's one query.

    On PostgreSQL the heartbeat is committed without waiting for its WAL flush
    (`synchronous_commit` off for this one transaction, `set_config(…, true)`): a heartbeat
    written every second needs no fsync of its own. A PostgreSQL crash can lose at most the
    last ones (the WAL writer flushes within `wal_writer_delay`, and any later synchronous
    commit flushes them first), and a `last_tick` a moment older only makes a restart's
    catch-up look back that moment further, over occurrences whose rows exist: the unique
    row per device-occurrence makes firing one again a no-op. Every other write of the beat
    (the fan-out's rows, their marks) stays synchronous.
    """
    from django_celery_beat.models import PeriodicTasks

    table = SchedulerState._meta.db_table
    asynchronous = ""
    if connection.vendor == "postgresql":
        asynchronous = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS heartbeat "
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_tick = %s {asynchronous}WHERE id = 1 "
            f"RETURNING (SELECT last_update FROM {PeriodicTasks._meta.db_table} WHERE ident = 1)",
            [connection.ops.adapt_datetimefield_value(tick)],
        )
        row = cursor.fetchone()
    return _as_datetime(row[0]) if row else None


def _as_datetime(value: Any) -> Any:
    """The marker as the ORM reads it (SQLite gives text or a naive datetime, in UTC)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
