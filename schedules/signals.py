"""Keep the next-run cache true and tell the beat whenever a schedule is saved or deleted."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from schedules.models import BackupSchedule
from schedules.services import announce_schedules_changed, refresh_schedule_fields


@receiver(pre_save, sender=BackupSchedule)
def schedule_pre_save(sender: type, instance: BackupSchedule, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    refresh_schedule_fields(instance)


@receiver(post_save, sender=BackupSchedule)
@receiver(post_delete, sender=BackupSchedule)
def schedule_changed(sender: type, instance: BackupSchedule, **kwargs: Any) -> None:
    announce_schedules_changed()
