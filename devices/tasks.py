"""The `device.collect` task: claim the result row, collect once, record the outcome."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

from celery import shared_task
from django.utils import timezone

from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.collectors import CollectionError, collector_for
from devices.models import CollectionGroup, DeviceBackupResult
from devices.queues import DEFAULT_QUEUE
from devices.routing import COLLECT_TASK
from devices.slots import SLOT_TTL, GroupSlots

logger = logging.getLogger(__name__)

# Seconds before a task blocked by its group's limit tries again (jittered, so waiting
# tasks do not retry in lockstep).
SLOT_RETRY_DELAY = (0.5, 2.0)


def _slots() -> GroupSlots:
    from schedules.services import redis_client

    return GroupSlots(redis_client())


@shared_task(
    name=COLLECT_TASK, bind=True, max_retries=None, acks_late=True,
    # A collection never holds its group's slot longer than the slot's own expiry.
    soft_time_limit=SLOT_TTL - 60, time_limit=SLOT_TTL - 30,
)
def collect(self: Any, payload: str) -> str:
    """Collect one device for one occurrence, at most once, within its group's limit."""
    data = json.loads(payload)
    result_id = int(data["result_id"])
    group_slug = data.get("collection_group") or DEFAULT_QUEUE
    limit = (
        CollectionGroup.objects.filter(slug=data.get("collection_group"))
        .values_list("concurrency_limit", flat=True)
        .first()
        or 1
    )
    slots = _slots()
    holder = str(result_id)
    if not slots.acquire(group_slug, holder, limit):
        raise self.retry(countdown=random.uniform(*SLOT_RETRY_DELAY))
    try:
        return run_collection(result_id)
    finally:
        slots.release(group_slug, holder)


def run_collection(result_id: int) -> str:
    """Claim the row (`queued` → `running`) and collect; a row already claimed is left alone."""
    claimed = DeviceBackupResult.objects.filter(pk=result_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        logger.info("result=%s already handled; not collecting again", result_id)
        return "skipped"
    result = DeviceBackupResult.objects.select_related("device").get(pk=result_id)
    device = result.device
    try:
        collector = collector_for(device)
        collector(device)
    except CollectionError as exc:
        status, error = Status.FAILED, str(exc)
    except Exception as exc:  # a bug in a collector must still end the row
        logger.exception("collector crashed: device=%s result=%s", device.pk, result_id)
        status, error = Status.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        status, error = Status.SUCCESS, ""
    DeviceBackupResult.objects.filter(pk=result_id).update(
        status=status, error=error, finished_at=timezone.now()
    )
    logger.info("collected: device=%s result=%s status=%s", device.pk, result_id, status)
    return status
