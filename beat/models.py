"""The beat's own bookkeeping: the SchedulerState singleton."""

from __future__ import annotations

from django.db import models


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
