"""Reads across schedules and the devices a user may see: calendar, history, device counts.

Every function here goes through `Device.objects.restrict(user)`, the one access rule, and
runs a fixed number of SQL queries whatever the fleet size or the length of the window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from devices.calendar_devices import CalendarDevice, calendar_devices
from devices.models import Device, DeviceBackupResult, MaintenanceWindow
from schedules.models import BackupSchedule
from schedules.policy import deferral_spans, deferred_until
from schedules.recurrence import RecurrenceError

logger = logging.getLogger(__name__)


def display_zone() -> ZoneInfo:
    """The timezone schedules are read in and dates are shown in."""
    return ZoneInfo(settings.DEVICEVAULT.display_timezone)


def display_today() -> date:
    """Today's date in the display timezone."""
    return timezone.now().astimezone(display_zone()).date()


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
        .on_schedule(OuterRef("pk"))
        .order_by()
        .values("backup_schedule")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(
        device_count=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))
    )


# -- calendar ------------------------------------------------------------------------------


class _CalendarEntryBase(TypedDict):
    schedule_id: int | None  # None: a schedule deleted since (past entries only)
    schedule_name: str
    time: str
    device_count: int
    devices: list[CalendarDevice]
    devices_truncated: bool
    spread_minutes: int  # the schedule's (0 for a schedule deleted since)
    timezone: str | None  # the zone the schedule lives in (null: the display timezone)


class CalendarEntry(_CalendarEntryBase, total=False):
    results: dict[str, int]  # occurrences at or before now only: result counts by status
    # upcoming occurrences a defer window holds (for every device): the planned local time,
    # `time` being when it really fires
    deferred_from: str


Calendar = dict[str, list[CalendarEntry]]

# Bounds of one calendar answer (DESIGN): devices listed per entry (the first by name; the
# count is always whole), and entries per window (more is a 400 asking for fewer days).
CALENDAR_DEVICES_PER_ENTRY = 50
CALENDAR_MAX_ENTRIES = 5000


class CalendarTooLarge(Exception):
    """The window holds more entries than one answer may (`entries` of them)."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        super().__init__(
            f"This window has {entries:,} schedule occurrences, more than the "
            f"{CALENDAR_MAX_ENTRIES:,} one answer may hold: ask for fewer days."
        )


def calendar_for_user(*, user: Any, start: date, days: int) -> Calendar:
    """Every occurrence of every enabled schedule on the local days [start, start + days).

    Keys are the ISO dates of the window, in order, each with a (maybe empty) list sorted by
    local fire time, then schedule name. `time` is the local wall-clock time the occurrence
    fires at (03:30 for a 02:30 schedule on a spring-forward day). Every enabled schedule
    appears, also one without devices; `devices` holds only the enabled devices `user` may
    see. Occurrences come from `BackupSchedule.recurrence()`, the maths the beat fires by.

    At most `CALENDAR_DEVICES_PER_ENTRY` devices are listed per entry (the first by name;
    `device_count` counts them all, `devices_truncated` says whether some were left out).
    Raises CalendarTooLarge, before reading any device, when the window holds more than
    `CALENDAR_MAX_ENTRIES` entries.

    The past is what happened: an entry at or before now carries `results` (counts by status
    of the results of the devices `user` may see, `{}` when none ran) and comes from the
    results, so an occurrence of a schedule edited or deleted since shows as it fired (a
    deleted schedule's entry has `schedule_id` None and the name it had). An enabled
    schedule's occurrence is projected into the past only from its last change on (or today),
    and then
    lists no devices unless they ran (today is listed whole, as it is planned). Manual runs
    are not occurrences and are left out.

    Five queries (seven with maintenance windows), whatever the fleet or the window, and
    memory bounded by the caps: the database returns at most 50 devices per schedule and per
    past occurrence. A schedule's
    upcoming device list is built once and the same list object is shared by all its future
    entries (renderers may rely on that).
    """
    zone = display_zone()
    window_start = local_midnight(start, zone)
    window_end = local_midnight(start + timedelta(days=days), zone)
    now = timezone.now()
    today_start = local_midnight(now.astimezone(zone).date(), zone)

    all_schedules = [
        _Schedule._make(row)
        for row in BackupSchedule.objects.order_by().values_list(*_Schedule._fields)
    ]
    names = {schedule.id: schedule.name for schedule in all_schedules}
    past = _past_occurrences(user, window_start, min(window_end, now), names)
    planned = _planned_occurrences(
        all_schedules, zone, window_start, window_end, today_start=today_start
    )
    if past:
        planned = [
            (schedule, [t for t in instants if (schedule.id, t) not in past])
            for schedule, instants in planned
        ]
    entries_count = len(past) + sum(len(instants) for _, instants in planned)
    if entries_count > CALENDAR_MAX_ENTRIES:
        raise CalendarTooLarge(entries_count)

    devices_by_schedule, counts = calendar_devices(user, CALENDAR_DEVICES_PER_ENTRY)
    by_day: dict[date, list[CalendarEntry]] = {
        start + timedelta(days=offset): [] for offset in range(days)
    }

    by_id = {schedule.id: schedule for schedule in all_schedules}

    def add(instant: datetime, entry: CalendarEntry) -> None:
        day, entry["time"] = _local(instant, zone)
        entries = by_day.get(day)
        if entries is not None:  # else only around a DST change at midnight: outside
            schedule = by_id.get(entry["schedule_id"])  # type: ignore[arg-type]
            entry["spread_minutes"] = schedule.spread_minutes if schedule else 0
            entry["timezone"] = schedule.timezone if schedule else None
            entries.append(entry)

    deferrals = deferral_spans(MaintenanceWindow.enabled_specs(), window_start, window_end)
    for schedule, instants in planned:
        devices = devices_by_schedule.get(schedule.id, [])
        upcoming = _upcoming_entry(schedule, devices, counts.get(schedule.id, 0))
        for instant in instants:
            fires = deferred_until(deferrals, instant) if deferrals else None
            if fires is not None and instant > now:
                entry = upcoming.copy()
                entry["deferred_from"] = _local(instant, zone)[1]
                add(fires, entry)
            elif instant > now:
                add(instant, upcoming.copy())
            else:  # due, and nothing ran for the devices this user sees
                add(instant, _past_entry(schedule.id, schedule.name))
    for (_, instant), entry in past.items():
        add(instant, entry)
    calendar: Calendar = {}
    for day, entries in by_day.items():
        entries.sort(key=_entry_order)
        calendar[day.isoformat()] = entries
    return calendar


class _Schedule(NamedTuple):
    """What the calendar reads of a schedule (a tuple: 1,000 model instances cost ~20 ms)."""

    id: int
    name: str
    schedule_type: str
    hour: int
    minute: int
    day_of_week: int | None
    day_of_month: int | None
    cron_expression: str
    timezone: str | None
    spread_minutes: int
    enabled: bool
    updated_at: datetime


def _planned_occurrences(
    schedules: list[_Schedule], zone: ZoneInfo, start: datetime, end: datetime, *,
    today_start: datetime,
) -> list[tuple[_Schedule, list[datetime]]]:
    """Each enabled schedule's occurrences in [start, end) by its current settings; the past
    only from its last change (or today) on: before that, only its results tell."""
    planned: list[tuple[_Schedule, list[datetime]]] = []
    for schedule in schedules:
        if not schedule.enabled:
            continue
        try:
            instants = _occurrences(schedule, zone, start, end)
        except RecurrenceError as exc:
            logger.warning("calendar skips invalid schedule=%s: %s", schedule.id, exc)
            continue
        # Today is listed whole (DESIGN: "occurrences earlier today are listed too").
        since = min(schedule.updated_at, today_start)
        planned.append((schedule, instants if since <= start else [
            t for t in instants if t >= since
        ]))
    return planned


# Occurrences by recurrence and window, kept between requests: the maths of frozen values,
# the same for every schedule with the same settings (many "daily at 02:00") and every request
# on the same window. Never changed by the callers; emptied when full.
_OCCURRENCES: dict[tuple[Any, ...], list[datetime]] = {}
_OCCURRENCES_KEPT = 10_000


def _occurrences(
    schedule: _Schedule, zone: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    """`BackupSchedule.recurrence(zone.key).between(start, end)`, remembered (raises
    RecurrenceError for invalid settings, which are not remembered)."""
    key = (
        schedule.schedule_type, schedule.hour, schedule.minute, schedule.day_of_week,
        schedule.day_of_month, schedule.cron_expression, schedule.timezone, zone.key,
        start, end,
    )
    instants = _OCCURRENCES.get(key)
    if instants is None:
        settings_only = BackupSchedule(
            schedule_type=schedule.schedule_type, hour=schedule.hour, minute=schedule.minute,
            day_of_week=schedule.day_of_week, day_of_month=schedule.day_of_month,
            cron_expression=schedule.cron_expression, timezone=schedule.timezone,
        )
        instants = settings_only.recurrence(zone.key).between(start, end)
        if len(_OCCURRENCES) >= _OCCURRENCES_KEPT:
            _OCCURRENCES.clear()
        _OCCURRENCES[key] = instants
    return instants


def _upcoming_entry(
    schedule: _Schedule, devices: list[CalendarDevice], count: int
) -> CalendarEntry:
    return {
        "schedule_id": schedule.id,
        "schedule_name": schedule.name,
        "time": "",
        "device_count": count,
        "devices": devices,  # shared by all of the schedule's upcoming entries
        "devices_truncated": count > len(devices),
        "spread_minutes": schedule.spread_minutes,
        "timezone": schedule.timezone,
    }


def _past_entry(schedule_id: int | None, name: str) -> CalendarEntry:
    return {
        "schedule_id": schedule_id,
        "schedule_name": name,
        "time": "",
        "device_count": 0,
        "devices": [],
        "devices_truncated": False,
        "spread_minutes": 0,
        "timezone": None,
        "results": {},
    }


# Local day and "HH:MM" of an instant, kept between requests (the same few thousand instants
# every time); emptied when full.
_LOCAL: dict[tuple[datetime, str], tuple[date, str]] = {}
_LOCAL_KEPT = 100_000


def _local(instant: datetime, zone: ZoneInfo) -> tuple[date, str]:
    """The local date of `instant` in `zone`, and its local wall-clock time as "HH:MM"."""
    key = (instant, zone.key)
    found = _LOCAL.get(key)
    if found is None:
        local = instant.astimezone(zone)
        if len(_LOCAL) >= _LOCAL_KEPT:
            _LOCAL.clear()
        found = _LOCAL[key] = (local.date(), f"{local.hour:02d}:{local.minute:02d}")
    return found


def _past_occurrences(
    user: Any, start: datetime, end: datetime, names: dict[int, str]
) -> dict[tuple[int | None, datetime], CalendarEntry]:
    """The scheduled occurrences in [start, end] that have results for devices `user` may
    see, from the results (a schedule edited or deleted since shows as it fired), with the
    counts by status and the first devices by name. Two queries; manual runs are not
    occurrences of their schedule and are left out."""
    if start > end:
        return {}
    results = DeviceBackupResult.objects.filter(
        device__in=Device.objects.restrict(user).values("pk"), manual=False,
        scheduled_for__gte=start, scheduled_for__lte=end,
    ).order_by()
    past: dict[tuple[int | None, datetime], CalendarEntry] = {}
    rows = results.values_list("schedule_id", "schedule_name", "scheduled_for", "status")
    for schedule_id, schedule_name, instant, status, n in rows.annotate(n=Count("pk")):
        entry = past.get((schedule_id, instant))
        if entry is None:
            name = names.get(schedule_id, schedule_name) if schedule_id is not None \
                else schedule_name
            entry = past[(schedule_id, instant)] = _past_entry(schedule_id, name)
        entry["results"][status] = entry["results"].get(status, 0) + n
        entry["device_count"] += n
    if not past:
        return past
    occurrence = [F("schedule_id"), F("scheduled_for")]
    firsts = (
        results.annotate(position=Window(
            RowNumber(), partition_by=occurrence, order_by=[F("device__name"), F("device_id")]
        ))
        .filter(position__lte=CALENDAR_DEVICES_PER_ENTRY)
        .values_list("schedule_id", "scheduled_for", "device_id", "device__name",
                     "device__ip_address")
    )
    for schedule_id, instant, device_id, name, ip_address in firsts:
        entry = past[(schedule_id, instant)]
        entry["devices"].append({"id": device_id, "name": name, "ip_address": ip_address})
    for entry in past.values():
        entry["devices"].sort(key=lambda d: (d["name"], d["id"]))
        entry["devices_truncated"] = entry["device_count"] > len(entry["devices"])
    return past


def _entry_order(entry: CalendarEntry) -> tuple[str, str, int]:
    return entry["time"], entry["schedule_name"], entry["schedule_id"] or 0


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
