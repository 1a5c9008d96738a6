"""Stored configurations: each text kept once (by SHA-256), `changed` flags and diffs.

A backup links its result to the text, and to the device's previous backup, whose text
decides `changed` and is what the diff is taken against.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from devices.models import ConfigBlob, Device, DeviceBackup, DeviceBackupResult


def content_address(text: str) -> tuple[str, int]:
    """(SHA-256 hex, size in bytes) of the UTF-8 text."""
    data = text.encode("utf-8")
    return hashlib.sha256(data).hexdigest(), len(data)


def backup_store(*, result: DeviceBackupResult, text: str) -> DeviceBackup:
    """Store `text` as the backup of `result`'s device; call inside the transaction that
    records the result's success.

    The device row is locked for the moment it takes, so two collections of one device that
    finish together still chain `previous` (and `changed`) one after the other.
    """
    sha256, size = content_address(text)
    with transaction.atomic():
        Device.objects.select_for_update().filter(pk=result.device_id).values("pk").first()
        previous = (
            DeviceBackup.objects.filter(device_id=result.device_id)
            .order_by("-collected_at", "-id")
            .only("id", "blob_id")
            .first()
        )
        # An existing text is locked until this commits: retention cannot delete it between
        # this check and the backup that refers to it (devices/retention.py).
        if not ConfigBlob.objects.select_for_update().filter(sha256=sha256).values("pk").first():
            # Another device may store the same text at the same moment: whoever is second
            # inserts nothing.
            ConfigBlob.objects.bulk_create(
                [ConfigBlob(sha256=sha256, size=size, text=text)], ignore_conflicts=True
            )
        return DeviceBackup.objects.create(
            device_id=result.device_id,
            result=result,
            blob_id=sha256,
            previous=previous,
            changed=previous is None or previous.blob_id != sha256,
        )


def backups_of(device: Device) -> QuerySet[DeviceBackup]:
    """The device's backups, newest first, with what a listing shows (no configuration text)."""
    return (
        DeviceBackup.objects.filter(device=device)
        .select_related("result", "blob")
        .defer("blob__text")
        .order_by("-collected_at", "-id")
    )


@dataclass(frozen=True)
class BackupDiff:
    backup_id: int
    previous_id: int | None
    diff: str


def backup_diff(backup: DeviceBackup, against: DeviceBackup | None = None) -> BackupDiff:
    """Unified diff of the backup against `against` (another backup of the same device), by
    default the device's previous one (or nothing, for its first)."""
    previous = against if against is not None else backup.previous
    old = previous.blob.text if previous is not None else ""
    old_name = f"backup {previous.pk}" if previous is not None else "/dev/null"
    diff = "".join(
        difflib.unified_diff(
            _lines(old),
            _lines(backup.blob.text),
            fromfile=old_name,
            tofile=f"backup {backup.pk}",
        )
    )
    return BackupDiff(
        backup_id=backup.pk, previous_id=previous.pk if previous is not None else None, diff=diff
    )


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n"  # else the diff would glue it to the next line it prints
    return lines
