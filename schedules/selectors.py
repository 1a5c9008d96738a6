"""Reads of backup schedules, with the per-user annotations other apps contribute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from schedules.models import BackupSchedule

ScheduleAnnotator = Callable[[QuerySet[BackupSchedule], Any], QuerySet[BackupSchedule]]

# Every user sees every schedule, but what a schedule is *used by* (say, how many devices the
# user may see on it) belongs to other apps. Dependencies run devices -> schedules, so those
# apps register an annotator here from their AppConfig.ready() instead of schedules importing
# them.
_annotators: list[ScheduleAnnotator] = []


def register_schedule_annotator(annotator: ScheduleAnnotator) -> ScheduleAnnotator:
    """Add `annotator(queryset, user) -> queryset` to every `schedules_for_user` query."""
    if annotator not in _annotators:
        _annotators.append(annotator)
    return annotator


def schedules_for_user(*, user: Any) -> QuerySet[BackupSchedule]:
    """Every schedule, by name, annotated for `user` by the registered annotators (one query)."""
    queryset = BackupSchedule.objects.order_by("name", "id")
    for annotator in _annotators:
        queryset = annotator(queryset, user)
    return queryset
