"""Capacity warnings: can a schedule's next occurrence collect all its devices before the
next one, or before a maintenance window starts? (The rule: schedules/policy.py.)

The estimate uses what was measured: each collection group's p95 collection time over the
last week, its concurrency limit and how many of the schedule's devices it collects. Groups
with nothing measured yet are left out; a schedule with no measured group gets no warning.
Capacity is physical, so every device counts, whoever asks; only the seconds are shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Count

from devices.analytics import analytics
from devices.models import Device, MaintenanceWindow
from schedules.models import BackupSchedule
from schedules.policy import CapacityWarning, capacity_warning, occurrence_estimate
from schedules.recurrence import RecurrenceError

LOOKBACK = timedelta(days=7)  # the durations the estimate uses
_TINY = timedelta(microseconds=1)


def capacity_warnings(
    schedules: Sequence[BackupSchedule], *, now: datetime
) -> dict[int, CapacityWarning]:
    """The warning of each enabled schedule of `schedules` that has one (a fixed number of
    queries, whatever the schedules)."""
    enabled = {s.pk: s for s in schedules if s.enabled}
    if not enabled:
        return {}
    p95 = {g.id: g.duration_p95_seconds for g in analytics(
        devices=Device.objects.all(), start=now - LOOKBACK, end=now, group_by="collection_group",
        top_errors=False,
    ) if g.duration_p95_seconds}
    if not p95:
        return {}
    groups: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    rows = (Device.objects.filter(enabled=True, backup_schedule_id__in=list(enabled))
            .values_list("backup_schedule_id", "collection_group_id",
                         "collection_group__concurrency_limit")
            .annotate(n=Count("pk")).order_by())
    for schedule_id, group_id, limit, n in rows:
        if group_id in p95:
            groups[schedule_id].append((n, limit or 1, float(p95[group_id] or 0)))
    windows = MaintenanceWindow.enabled_specs() if groups else []
    warnings = {}
    for schedule_id, measured in groups.items():
        schedule = enabled[schedule_id]
        estimate = occurrence_estimate(measured, schedule.spread_minutes)
        try:
            recurrence = schedule.recurrence()
            occurrence = recurrence.next_after(now)
            following = recurrence.next_after(occurrence)
        except RecurrenceError:
            continue
        horizon = occurrence + timedelta(seconds=estimate) + _TINY
        starts = [(w.name, start) for w in windows
                  for start in w.starts_between(occurrence + _TINY, horizon)[:1]]
        warning = capacity_warning(estimate=estimate, occurrence=occurrence,
                                   next_occurrence=following,
                                   next_window=min(starts, key=lambda s: s[1], default=None))
        if warning is not None:
            warnings[schedule_id] = warning
    return warnings


def attach_capacity_warnings(schedules: Sequence[BackupSchedule]) -> None:
    """Set `capacity_warning` (or None) on each schedule (the schedule API's enricher)."""
    from django.utils import timezone

    found = capacity_warnings(schedules, now=timezone.now())
    for schedule in schedules:
        schedule.capacity_warning = found.get(schedule.pk)  # type: ignore[attr-defined]
