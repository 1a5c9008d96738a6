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
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)

from devices.choices import LAST_BACKUP_RESULT_STATUSES
from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.models import Device, DeviceBackupResult
from schedules.models import BackupSchedule
from schedules.recurrence import Recurrence, RecurrenceError

# A device's "last backup" is its newest result of LAST_BACKUP_RESULT_STATUSES (one that
# started or finished). Both lookups below are one probe of a partial index of the results
# (devices.models: result_last, result_last_success), whatever the number of results.
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
    last = results.filter(status__in=LAST_BACKUP_RESULT_STATUSES)
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


def is_stale(
    device: Device, *, now: datetime, periods: int,
    thresholds: dict[int, datetime | None] | None = None,
) -> bool:
    """The rule of the module docstring, for a device annotated by `with_outcomes` (its
    `backup_schedule` loaded). `thresholds`, when given, keeps each schedule's threshold
    for the next device (a page of devices shares a few schedules; same `now` for all)."""
    schedule = device.backup_schedule
    if not device.enabled or schedule is None:
        return False
    if thresholds is None:
        threshold = stale_threshold(schedule, now=now, periods=periods)
    elif schedule.pk in thresholds:
        threshold = thresholds[schedule.pk]
    else:
        threshold = thresholds[schedule.pk] = stale_threshold(schedule, now=now,
                                                              periods=periods)
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
                device=OuterRef("pk"), status__in=LAST_BACKUP_RESULT_STATUSES
            ))
        )
    if value != "stale":
        return devices.filter(**{"last_status": value})  # an annotation: mypy cannot see it
    schedule_ids = devices.filter(enabled=True).values("backup_schedule_id")
    return only_stale(
        devices, BackupSchedule.objects.filter(pk__in=schedule_ids), now=now, periods=periods
    )


def stale_thresholds(
    schedules: Iterable[BackupSchedule], *, now: datetime, periods: int
) -> dict[int, datetime]:
    """Each of `schedules`' `stale_threshold` by schedule id (those with none left out)."""
    thresholds: dict[int, datetime] = {}
    for schedule in schedules:
        threshold = stale_threshold(schedule, now=now, periods=periods)
        if threshold is not None:
            thresholds[schedule.pk] = threshold
    return thresholds


def only_stale(
    devices: QuerySet[Device], schedules: Iterable[BackupSchedule], *, now: datetime,
    periods: int,
) -> QuerySet[Device]:
    """The stale devices of `devices` on one of `schedules` (the rule of the module docstring).

    Each device's threshold comes from its schedule (annotated as `stale_threshold`), and one
    NOT EXISTS per device probes its successes from that threshold on (the partial index
    `result_last_success`). ORing one NOT EXISTS per distinct threshold instead, as this did
    before, made PostgreSQL run that many subplans for every device (18 s for 2,000 devices
    over 200 schedules).
    """
    thresholds = stale_thresholds(schedules, now=now, periods=periods)
    if not thresholds:
        return devices.none()
    return (
        devices.filter(enabled=True)
        .annotate(stale_threshold=_threshold_of(sorted(thresholds.items())))
        .filter(stale_threshold__isnull=False, created_at__lte=F("stale_threshold"))
        .filter(~Exists(DeviceBackupResult.objects.filter(
            device=OuterRef("pk"), status=Status.SUCCESS,
            scheduled_for__gte=OuterRef("stale_threshold"),
        )))
    )


_CASE_LEAF = 8  # schedules compared one by one at the bottom of the search


def _threshold_of(pairs: list[tuple[int, datetime]]) -> Case:
    """The threshold of a device's schedule, from (schedule id, threshold) pairs sorted by id:
    a CASE that halves the ids at each level, so a device costs about log2(schedules)
    comparisons, not one per schedule (a flat CASE of 800 schedules was 2 s over 50,000
    devices)."""
    if len(pairs) <= _CASE_LEAF:
        return Case(
            *(When(backup_schedule_id=pk, then=Value(threshold)) for pk, threshold in pairs),
            default=Value(None), output_field=DateTimeField(),
        )
    middle = len(pairs) // 2
    return Case(
        When(backup_schedule_id__lt=pairs[middle][0], then=_threshold_of(pairs[:middle])),
        default=_threshold_of(pairs[middle:]), output_field=DateTimeField(),
    )
