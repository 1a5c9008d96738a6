"""Retention: old results and the configurations nobody needs any more go, in small batches.

- A result older than `retention.results_days` (by `queued_at`) goes, unless it is still
  waiting or running, or its configuration is one of the newest
  `retention.configs_keep_per_device` of its device: those stay whatever their age, so a
  device always keeps its newest configuration (the setting is at least 1). A result's stored
  configuration goes with it.
- A configuration text (`ConfigBlob`) no backup refers to any more, and older than the same
  cutoff, goes too.
- `results_days: 0` keeps everything.

Each batch is one short transaction (at most `batch` rows), so no statement holds locks for
long, and a batch that loses a race (a collection storing the same text at that moment)
is skipped and taken again by the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q

from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.models import ConfigBlob, DeviceBackup, DeviceBackupResult

logger = logging.getLogger(__name__)

BATCH = 1000  # rows per transaction


@dataclass(frozen=True)
class Pruned:
    results: int
    backups: int
    blobs: int


def prune(
    *, now: datetime, results_days: int, configs_keep_per_device: int, batch: int = BATCH
) -> Pruned:
    """Delete what retention allows; returns the counts deleted."""
    if results_days <= 0:
        return Pruned(0, 0, 0)
    keep = max(1, configs_keep_per_device)
    cutoff = now - timedelta(days=results_days)
    # The backup has `keep` newer backups of its device: it is not among the newest `keep`.
    superseded = Exists(
        DeviceBackup.objects.filter(device_id=OuterRef("device_id"), pk__gt=OuterRef("backup__pk"))
        .order_by("pk").values("pk")[keep - 1:keep]
    )
    old = (
        DeviceBackupResult.objects.filter(queued_at__lt=cutoff)
        .exclude(status__in=(Status.QUEUED, Status.RUNNING))
        .filter(Q(backup__isnull=True) | superseded)
        .order_by("pk").values_list("pk", flat=True)
    )
    results = backups = 0
    while ids := list(old[:batch]):
        with transaction.atomic():
            _, deleted = DeviceBackupResult.objects.filter(pk__in=ids).delete()
        results += deleted.get(DeviceBackupResult._meta.label, 0)
        backups += deleted.get(DeviceBackup._meta.label, 0)
    unreferenced = (
        ConfigBlob.objects.filter(created_at__lt=cutoff)
        .filter(~Exists(DeviceBackup.objects.filter(blob_id=OuterRef("pk"))))
        .order_by("pk").values_list("pk", flat=True)
    )
    blobs = 0
    after = ""
    while shas := list(unreferenced.filter(pk__gt=after)[:batch]):
        after = shas[-1]
        try:
            with transaction.atomic():
                blobs += ConfigBlob.objects.filter(pk__in=shas).filter(
                    ~Exists(DeviceBackup.objects.filter(blob_id=OuterRef("pk")))).delete()[0]
        except IntegrityError as exc:  # a collection stored one of these texts meanwhile
            logger.info("retention: a batch of configurations is in use again; skipped (%s)",
                        exc)
    pruned = Pruned(results=results, backups=backups, blobs=blobs)
    logger.info("retention: deleted results=%d backups=%d configurations=%d (older than %s, "
                "keeping the newest %d of each device)", pruned.results, pruned.backups,
                pruned.blobs, cutoff.isoformat(), keep)
    return pruned
