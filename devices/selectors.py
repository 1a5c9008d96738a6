"""Reads across schedules and the devices a user may see: calendar, history, device counts.

Every function here goes through `Device.objects.restrict(user)`, the one access rule, and
runs a fixed number of SQL queries whatever the fleet size or the length of the window.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from devices.models import Device, DeviceBackupResult
from schedules.models import BackupSchedule
from schedules.recurrence import Recurrence, RecurrenceError

logger = logging.getLogger(__name__)


def display_zone() -> ZoneInfo:
    """The timezone schedules are read in and dates are shown in."""
    return ZoneInfo(settings.DEVICEVAULT.display_timezone)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a local calendar day, as an aware datetime in `zone`.

    A midnight skipped by a DST gap (America/Santiago) resolves, with fold=0, to the instant
    the day actually starts; a repeated midnight to the first one.
    """
    return datetime.combine(day, time(), tzinfo=zone)


# -- device counts on schedules ------------------------------------------------------------


def annotate_visible_device_count(
    queryset: QuerySet[BackupSchedule], user: Any
) -> QuerySet[BackupSchedule]:
    """Add `device_count`: the schedule's enabled devices that `user` may see (a subquery)."""
    counts = (
        Device.objects.restrict(user)
        .filter(backup_schedule=OuterRef("pk"), enabled=True)
        .order_by()
        .values("backup_schedule")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(
        device_count=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))
    )


# -- calendar ------------------------------------------------------------------------------


class CalendarDevice(TypedDict):
    id: int
    name: str
    ip_address: str


class CalendarEntry(TypedDict):
    schedule_id: int
    schedule_name: str
    time: str
    device_count: int
    devices: list[CalendarDevice]


Calendar = dict[str, list[CalendarEntry]]


def calendar_for_user(*, user: Any, start: date, days: int) -> Calendar:
    """Every occurrence of every enabled schedule on the local days [start, start + days).

    Keys are the ISO dates of the window, in order, each with a (maybe empty) list sorted by
    local fire time, then schedule name. `time` is the local wall-clock time the occurrence
    fires at (03:30 for a 02:30 schedule on a spring-forward day). Every enabled schedule
    appears, also one without devices; `devices` holds only the enabled devices `user` may
    see. Occurrences come from `BackupSchedule.recurrence()`, the maths the beat fires by.

    Two queries, whatever the fleet or the window. A schedule's device list is built once
    and the same list object is shared by all its entries (renderers may rely on that).
    """
    zone = display_zone()
    window_start = local_midnight(start, zone)
    window_end = local_midnight(start + timedelta(days=days), zone)

    schedules = list(
        BackupSchedule.objects.filter(enabled=True)
        .order_by()
        .only(
            "id", "name", "schedule_type", "hour", "minute", "day_of_week", "day_of_month",
            "cron_expression", "enabled",
        )
    )
    devices_by_schedule: dict[int, list[CalendarDevice]] = defaultdict(list)
    rows = (
        Device.objects.restrict(user)
        .filter(enabled=True, backup_schedule__enabled=True)
        .order_by("name", "id")
        .values_list("backup_schedule_id", "id", "name", "ip_address")
    )
    for schedule_id, device_id, name, ip_address in rows:
        devices_by_schedule[schedule_id].append(
            {"id": device_id, "name": name, "ip_address": ip_address}
        )

    by_day: dict[date, list[CalendarEntry]] = {
        start + timedelta(days=offset): [] for offset in range(days)
    }
    # Schedules with the same recurrence (many "daily at 02:00") share the maths.
    occurrences: dict[Recurrence, list[datetime]] = {}
    for schedule in schedules:
        try:
            recurrence = schedule.recurrence(zone.key)
            instants = occurrences.get(recurrence)
            if instants is None:
                instants = occurrences[recurrence] = recurrence.between(window_start, window_end)
        except RecurrenceError as exc:
            logger.warning("calendar skips invalid schedule=%s: %s", schedule.pk, exc)
            continue
        schedule_id, name = schedule.pk, schedule.name
        devices = devices_by_schedule.get(schedule_id, [])
        for instant in instants:
            local = instant.astimezone(zone)
            entries = by_day.get(local.date())
            if entries is None:  # only around a DST change at midnight: outside the window
                continue
            entries.append(
                {
                    "schedule_id": schedule_id,
                    "schedule_name": name,
                    "time": f"{local.hour:02d}:{local.minute:02d}",
                    "device_count": len(devices),
                    "devices": devices,
                }
            )
    calendar: Calendar = {}
    for day, entries in by_day.items():
        entries.sort(key=_entry_order)
        calendar[day.isoformat()] = entries
    return calendar


def _entry_order(entry: CalendarEntry) -> tuple[str, str, int]:
    return entry["time"], entry["schedule_name"], entry["schedule_id"]


# -- history -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class HistoryFilters:
    """Bounds and filters of the history: `start <= scheduled_for < end` (either optional)."""

    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None
    device_id: int | None = None
    schedule_id: int | None = None


def history_for_user(
    *, user: Any, filters: HistoryFilters | None = None
) -> QuerySet[DeviceBackupResult]:
    """Results of the devices `user` may see, newest `scheduled_for` first (one query a page)."""
    filters = filters or HistoryFilters()
    queryset = (
        DeviceBackupResult.objects.filter(device__in=Device.objects.restrict(user).values("pk"))
        .select_related("device", "schedule")
        .only(
            "id", "scheduled_for", "status", "is_catchup", "manual", "queued_at", "started_at",
            "finished_at", "error", "attempts", "skip_reason", "schedule_name", "device__id",
            "device__name", "schedule__id", "schedule__name",
        )
        .order_by("-scheduled_for", "-id")
    )
    if filters.start is not None:
        queryset = queryset.filter(scheduled_for__gte=filters.start)
    if filters.end is not None:
        queryset = queryset.filter(scheduled_for__lt=filters.end)
    if filters.status is not None:
        queryset = queryset.filter(status=filters.status)
    if filters.device_id is not None:
        queryset = queryset.filter(device_id=filters.device_id)
    if filters.schedule_id is not None:
        queryset = queryset.filter(schedule_id=filters.schedule_id)
    return queryset
