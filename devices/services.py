"""Writes to devices: assign a backup schedule (one or many), run a schedule now, store a
maintenance window."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from devices.collection.hostkeys import fingerprint, normalize_key
from devices.dispatch.fanout import Occurrence, enqueue_occurrence
from devices.models import (
    CollectionGroup,
    CredentialSet,
    Device,
    DeviceGroup,
    DeviceQuerySet,
    MaintenanceWindow,
)
from schedules.models import BackupSchedule
from schedules.services import recompute_next_runs

logger = logging.getLogger(__name__)

# How many refused ids an error message lists before it says "and N more".
_IDS_SHOWN = 50


def device_assign_schedule(*, device: Device, schedule: BackupSchedule | None) -> Device:
    """Put the device on `schedule`, or take it off any schedule with None."""
    device.backup_schedule = schedule
    device.save(update_fields=["backup_schedule", "updated_at"])
    logger.info(
        "device schedule assigned: device=%s schedule=%s",
        device.pk, schedule.pk if schedule else None,
    )
    return device


def device_assign_credential_set(
    *, device: Device, credential_set: CredentialSet | None
) -> Device:
    """Make the device log in with `credential_set` (None: its device group's); a set of
    another device group is a ValidationError on `credential_set` (devices.access)."""
    device.credential_set = credential_set
    device.clean()
    device.save(update_fields=["credential_set", "updated_at"])
    logger.info(
        "device credential set assigned: device=%s credential_set=%s",
        device.pk, credential_set.pk if credential_set else None,
    )
    return device


def device_trust_host_key(*, device: Device, key: str) -> bool:
    """Trust `key` as the device's SSH host key on first use (tofu): only while none is
    trusted, so a concurrent acceptance by an admin is never overwritten. True if stored."""
    stored = Device.objects.filter(pk=device.pk, ssh_host_key="").update(
        ssh_host_key=normalize_key(key), ssh_host_key_offered=""
    )
    if stored:
        device.ssh_host_key, device.ssh_host_key_offered = normalize_key(key), ""
        logger.info("ssh host key trusted on first use: device=%s fingerprint=%s",
                    device.pk, fingerprint(key))
    return bool(stored)


def device_offer_host_key(*, device: Device, key: str) -> None:
    """Keep a refused SSH host key on the device until an admin accepts it."""
    Device.objects.filter(pk=device.pk).update(ssh_host_key_offered=normalize_key(key))
    device.ssh_host_key_offered = normalize_key(key)
    logger.warning("ssh host key refused: device=%s offered=%s trusted=%s",
                   device.pk, fingerprint(key), fingerprint(device.ssh_host_key) or "none")


def device_accept_offered_host_key(*, device: Device) -> bool:
    """Trust the SSH host key the device last offered (an admin checked its fingerprint).
    False when it offered none."""
    offered = device.ssh_host_key_offered
    if not offered:
        return False
    accepted = Device.objects.filter(pk=device.pk, ssh_host_key_offered=offered).update(
        ssh_host_key=offered, ssh_host_key_offered="", updated_at=timezone.now()
    )
    if accepted:
        logger.info("ssh host key accepted: device=%s fingerprint=%s previous=%s",
                    device.pk, fingerprint(offered), fingerprint(device.ssh_host_key) or "none")
        device.ssh_host_key, device.ssh_host_key_offered = offered, ""
    return bool(accepted)


def devices_bulk_assign(
    *, devices: DeviceQuerySet, device_ids: Iterable[int], schedule: BackupSchedule | None
) -> int:
    """Assign `schedule` (or None) to every id in `device_ids`, all or nothing.

    `devices` are the devices the caller may change (the access rule already applied): an id
    outside it, like an id that does not exist, fails the whole call with a ValidationError
    naming the ids, and nothing changes. Repeated ids count once. Returns how many devices
    were assigned (including those already on the schedule).
    """
    ids = set(device_ids)
    with transaction.atomic():
        found = set(
            devices.filter(pk__in=ids).select_for_update(of=("self",))
            .values_list("pk", flat=True)
        )
        refused = sorted(ids - found)
        if refused:
            raise ValidationError({"device_ids": [_refused_message(refused)]})
        updated = Device.objects.filter(pk__in=found).update(
            backup_schedule=schedule, updated_at=timezone.now()
        )
    logger.info(
        "devices bulk-assigned: schedule=%s devices=%d", schedule.pk if schedule else None, updated
    )
    return updated


def _refused_message(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:_IDS_SHOWN])
    more = f" and {len(ids) - _IDS_SHOWN} more" if len(ids) > _IDS_SHOWN else ""
    return f"Unknown device ids, or devices you may not see: {shown}{more}."


def device_backup_now(*, device: Device) -> int:
    """Back up one enabled device now: a `manual` result with no schedule, published before
    this returns. Returns 1 (the message published). Broker errors propagate."""
    if not device.enabled:
        raise ValidationError({"device": ["The device is disabled; enable it to back it up."]})
    occurrence = Occurrence(schedule_id=None, scheduled_for=timezone.now(), manual=True)
    created, published = enqueue_occurrence(occurrence, Device.objects.filter(pk=device.pk))
    logger.info(
        "device backup now: device=%s occurrence=%s created=%d published=%d",
        device.pk, occurrence.scheduled_for.isoformat(), created, published,
    )
    return published


def schedule_run_now(*, schedule: BackupSchedule, devices: DeviceQuerySet) -> int:
    """Enqueue one manual occurrence of `schedule`, now, for its enabled devices in `devices`.

    `devices` are the devices the caller may see. Works for a disabled schedule too (it is a
    test). The result rows are committed and the `device.collect` messages are in the broker
    when this returns; returns how many messages were published. Broker errors propagate.
    """
    targets = devices.on_schedule(schedule)
    if targets.query.is_empty():
        return 0
    occurrence = Occurrence(schedule_id=schedule.pk, scheduled_for=timezone.now(), manual=True)
    created, published = enqueue_occurrence(occurrence, targets)
    logger.info(
        "schedule run now: schedule=%s occurrence=%s created=%d published=%d",
        schedule.pk, occurrence.scheduled_for.isoformat(), created, published,
    )
    return published


WINDOW_FIELDS = (
    "name", "enabled", "timezone", "schedule_type", "start", "hour", "minute", "day_of_week",
    "day_of_month", "cron_expression", "duration_minutes", "policy",
)


@transaction.atomic
def maintenance_window_save(
    *, window: MaintenanceWindow, data: Mapping[str, Any],
    device_groups: Iterable[DeviceGroup] | None = None,
    collection_groups: Iterable[CollectionGroup] | None = None,
) -> MaintenanceWindow:
    """Validate and store a maintenance window (new or changed) with its scope, all or
    nothing (ValidationError naming the fields otherwise). The beat reads the windows at each
    fan-out; the schedules' `next_run_at` follows through `maintenance_windows_changed`."""
    unknown = set(data) - set(WINDOW_FIELDS)
    if unknown:
        raise TypeError(f"not a maintenance window field: {', '.join(sorted(unknown))}")
    for key, value in data.items():
        setattr(window, key, value)
    window.full_clean()
    window.save()
    if device_groups is not None:
        window.device_groups.set(device_groups)
    if collection_groups is not None:
        window.collection_groups.set(collection_groups)
    logger.info("maintenance window saved: window=%s policy=%s", window.pk, window.policy)
    return window


def maintenance_windows_changed(sender: Any, action: str = "", **kwargs: Any) -> None:
    """A maintenance window was saved, deleted or re-scoped (any write path: the API, the
    admin, an inventory import): once that commits, recompute every schedule's `next_run_at`,
    which the windows holding every device move. Connected in DevicesConfig.ready()."""
    if action not in ("", "post_add", "post_remove", "post_clear"):  # "": save or delete
        return
    # A save with its two scopes sends up to five signals in one transaction: one recompute.
    # A recompute already pending counts only if no savepoint it belongs to can roll back
    # without this change (its savepoints are all still open around this one).
    connection = transaction.get_connection()
    open_savepoints = set(connection.savepoint_ids)
    if not any(entry[1] is recompute_next_runs and set(entry[0]) <= open_savepoints
               for entry in connection.run_on_commit):
        transaction.on_commit(recompute_next_runs)
