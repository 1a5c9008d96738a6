"""Tell the beat whenever a schedule is saved or deleted (its derived fields are the
services' job: schedules.services is the only write path)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from schedules.models import BackupSchedule
from schedules.services import announce_schedules_changed


@receiver(post_save, sender=BackupSchedule)
@receiver(post_delete, sender=BackupSchedule)
def schedule_changed(sender: type, instance: BackupSchedule, **kwargs: Any) -> None:
    announce_schedules_changed()
