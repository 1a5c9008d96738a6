"""The `device.collect` task: claim the result row, collect once, record the outcome."""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

import devices.local  # noqa: F401 - registers the `local` backup method in every worker
import devices.ssh  # noqa: F401 - registers the `ssh` backup method in every worker
from devices.backups import backup_store
from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.collectors import (
    Collected,
    CollectionError,
    Collector,
    HostKeyRefused,
    TransientCollectionError,
    collector_for,
    config_too_large,
)
from devices.metrics import count_finished
from devices.models import CollectionGroup, Device, DeviceBackupResult
from devices.queues import DEFAULT_QUEUE
from devices.routing import COLLECT_TASK
from devices.services import device_offer_host_key, device_trust_host_key
from devices.slots import SLOT_TTL, GroupSlots

logger = logging.getLogger(__name__)

# Seconds before a task blocked by its group's limit tries again (jittered, so waiting
# tasks do not retry in lockstep).
SLOT_RETRY_DELAY = (0.5, 2.0)
# Seconds one collection may take, retries included: well inside the task's soft time limit
# (and so inside the group slot's expiry).
COLLECT_BUDGET = SLOT_TTL - 90


def _slots() -> GroupSlots:
    from project.redis_client import redis_client

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
    """Claim the row (`queued` → `running`), collect, store the configuration, record the
    outcome; a row already claimed is left alone."""
    started = time.monotonic()
    claimed = DeviceBackupResult.objects.filter(pk=result_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        logger.info("result=%s already handled; not collecting again", result_id)
        return "skipped"
    result = DeviceBackupResult.objects.select_related(
        "device", "device__credential_set", "device__device_group__credential_set",
        "device__collection_group",
    ).get(pk=result_id)
    device = result.device
    collected: Collected | None = None
    try:
        collector = collector_for(device)
        collected = _within_size_limit(collect_with_retries(
            collector, device, result_id=result_id, deadline=started + COLLECT_BUDGET
        ))
    except HostKeyRefused as exc:
        device_offer_host_key(device=device, key=exc.offered_key)
        status, error = Status.FAILED, str(exc)
    except CollectionError as exc:
        status, error = Status.FAILED, str(exc)
    except Exception as exc:  # a bug in a collector must still end the row
        logger.exception("collector crashed: device=%s result=%s", device.pk, result_id)
        status, error = Status.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        status, error = Status.SUCCESS, ""
    backup_id = None
    try:
        with transaction.atomic():
            if collected is not None:
                backup_id = backup_store(result=result, text=collected.text).pk
                if collected.trust_host_key:
                    device_trust_host_key(device=device, key=collected.trust_host_key)
            _finish(result_id, status, error)
    except Exception as exc:  # the configuration could not be stored: the row must still end
        logger.exception("storing the backup failed: device=%s result=%s", device.pk, result_id)
        status, error = Status.FAILED, f"could not store the configuration: {exc}"
        _finish(result_id, status, error)
    count_finished(status)  # metrics: the final status is committed
    if status == Status.SUCCESS:
        logger.info("collected: device=%s result=%s status=%s backup=%s",
                    device.pk, result_id, status, backup_id)
    else:
        logger.warning("collected: device=%s result=%s status=%s error=%s",
                       device.pk, result_id, status, error)
    return status


def _within_size_limit(collected: Collected) -> Collected:
    """The collected configuration, or CollectionError when it is larger than
    `collection.max_config_bytes` (whatever the backup method)."""
    limit = settings.DEVICEVAULT.collection.max_config_bytes
    if len(collected.text.encode()) > limit:
        raise config_too_large(command=collected.command or "the backup command", limit=limit)
    return collected


def _finish(result_id: int, status: str, error: str) -> None:
    DeviceBackupResult.objects.filter(pk=result_id).update(
        status=status, error=error, finished_at=timezone.now()
    )


def collect_with_retries(
    collector: Collector, device: Device, *, result_id: int, deadline: float
) -> Collected:
    """Run the collector; after a network failure try again after each of
    `settings.COLLECT_RETRY_DELAYS`, as long as another attempt fits before `deadline`.

    The retries happen here, inside the task, so the device keeps its group's slot: no other
    device of the group is collected in between, and the bounded delays keep that short.
    """
    delays = settings.COLLECT_RETRY_DELAYS
    attempt_cost = settings.COLLECT_CONNECT_TIMEOUT + settings.COLLECT_COMMAND_TIMEOUT
    for attempt in range(1, len(delays) + 2):
        try:
            return collector(device)
        except TransientCollectionError as exc:
            delay = delays[attempt - 1] if attempt <= len(delays) else None
            if delay is None or time.monotonic() + delay + attempt_cost > deadline:
                if attempt == 1:
                    raise
                raise TransientCollectionError(f"{exc} (tried {attempt} times)") from None
            logger.warning(
                "collect retry: device=%s result=%s attempt=%d delay=%gs error=%s",
                device.pk, result_id, attempt, delay, exc,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")
