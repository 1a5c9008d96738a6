"""What happened to a device's backups: its last result, and whether it is stale.

A device is *stale* when it has had no `success` for `alerts.stale_after_periods` periods of
its schedule: no successful result for the N-th latest occurrence of its schedule or any
later one. A device that cannot have had N occurrences yet (created, or its schedule
created or re-enabled, after the N-th latest) is not stale, nor is one that is disabled or
on no (or a disabled) schedule: nothing is expected of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.models import Device, DeviceBackupResult
from schedules.models import BackupSchedule
from schedules.recurrence import Recurrence, RecurrenceError

# The result a device's "last backup" is: the newest one that started or finished.
LAST_BACKUP_STATUSES = (
    Status.RUNNING, Status.SUCCESS, Status.FAILED, Status.MISSED_WINDOW, Status.SKIPPED,
)
BACKUP_STATUS_FILTERS = ("success", "failed", "missed_window", "stale", "never")
_LAST_FIELDS = ("status", "scheduled_for", "finished_at", "error")
_LONGEST_SEARCH = timedelta(days=4 * 366)


def nth_latest_occurrence(recurrence: Recurrence, *, now: datetime, n: int) -> datetime | None:
    """The n-th latest occurrence at or before `now` (n=1: the latest), or None."""
    window = timedelta(days=2) * n
    while True:
        found = recurrence.between(now - window, now + timedelta(microseconds=1))
        if len(found) >= n:
            return found[-n]
        if window >= _LONGEST_SEARCH:
            return None
        window = min(window * 4, _LONGEST_SEARCH)


def stale_threshold(schedule: BackupSchedule, *, now: datetime, periods: int) -> datetime | None:
    """A success scheduled before this instant no longer counts (None: nothing is due yet)."""
    if not schedule.enabled:
        return None
    try:
        threshold = nth_latest_occurrence(schedule.recurrence(), now=now, n=periods)
    except RecurrenceError:
        return None
    if threshold is None or (schedule.active_since and threshold < schedule.active_since):
        return None
    return threshold


def stale_periods() -> int:
    return settings.DEVICEVAULT.alerts.stale_after_periods


def with_outcomes(devices: QuerySet[Device]) -> QuerySet[Device]:
    """Annotate each device with its last result's fields (`last_<field>`) and the
    `scheduled_for` of its last success (`last_success_at`), as subqueries."""
    results = DeviceBackupResult.objects.filter(device=OuterRef("pk")).order_by(
        "-scheduled_for", "-id"
    )
    last = results.filter(status__in=LAST_BACKUP_STATUSES)
    return devices.annotate(
        **{f"last_{name}": Subquery(last.values(name)[:1]) for name in _LAST_FIELDS},
        last_success_at=Subquery(
            results.filter(status=Status.SUCCESS).values("scheduled_for")[:1]
        ),
    )


def last_backup(device: Device) -> dict[str, object] | None:
    """`last_backup` of the API, from a device annotated by `with_outcomes`."""
    if getattr(device, "last_status", None) is None:
        return None
    return {name: getattr(device, f"last_{name}") for name in _LAST_FIELDS}


def is_stale(device: Device, *, now: datetime, periods: int) -> bool:
    """The rule of the module docstring, for a device annotated by `with_outcomes` (its
    `backup_schedule` loaded)."""
    schedule = device.backup_schedule
    if not device.enabled or schedule is None:
        return False
    threshold = stale_threshold(schedule, now=now, periods=periods)
    if threshold is None or device.created_at > threshold:
        return False
    last_success = getattr(device, "last_success_at", None)
    return last_success is None or last_success < threshold


def filter_backup_status(
    devices: QuerySet[Device], value: str, *, now: datetime, periods: int
) -> QuerySet[Device]:
    """Devices whose last backup has status `value`, that never had one (`never`), or that
    are stale (`stale`); `devices` is annotated by `with_outcomes`."""
    if value == "never":
        return devices.filter(
            ~Exists(DeviceBackupResult.objects.filter(
                device=OuterRef("pk"), status__in=LAST_BACKUP_STATUSES
            ))
        )
    if value != "stale":
        return devices.filter(**{"last_status": value})  # an annotation: mypy cannot see it
    schedule_ids = devices.filter(enabled=True).values("backup_schedule_id")
    return devices.filter(enabled=True).filter(
        _stale_q(BackupSchedule.objects.filter(pk__in=schedule_ids), now=now, periods=periods)
    )


def _stale_q(schedules: Iterable[BackupSchedule], *, now: datetime, periods: int) -> Q:
    """One condition per distinct threshold: on a schedule with that threshold, created
    before it, and no success at or after it."""
    by_threshold: dict[datetime, list[int]] = {}
    for schedule in schedules:
        threshold = stale_threshold(schedule, now=now, periods=periods)
        if threshold is not None:
            by_threshold.setdefault(threshold, []).append(schedule.pk)
    condition = Q(pk__in=[])
    for threshold, ids in by_threshold.items():
        condition |= Q(
            Q(backup_schedule_id__in=ids, created_at__lte=threshold),
            ~Exists(DeviceBackupResult.objects.filter(
                device=OuterRef("pk"), status=Status.SUCCESS, scheduled_for__gte=threshold
            )),
        )
    return condition
