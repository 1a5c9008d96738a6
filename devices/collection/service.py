"""The `device.collect` task: claim the result row, collect once, record the outcome.

A message whose row is no longer waiting (a duplicate, or an earlier attempt's late copy)
changes nothing, not even its group's slot. A database or Redis error before the claim
retries the message later; it is never acknowledged unprocessed. The outcome is recorded
only while the row still belongs to this attempt (devices/dispatch/delivery.py).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import Any

import redis
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.db.utils import InterfaceError, OperationalError
from django.utils import timezone

import devices.collection.local  # noqa: F401 - registers the `local` backup method in every worker
import devices.collection.ssh  # noqa: F401 - registers the `ssh` backup method in every worker
from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.collection.backups import backup_store
from devices.collection.collectors import (
    Collected,
    CollectionError,
    Collector,
    HostKeyRefused,
    TransientCollectionError,
    collector_for,
    config_too_large,
)
from devices.collection.slots import GroupSlots
from devices.dispatch.delivery import DeliveryRules, may_claim
from devices.dispatch.queues import DEFAULT_QUEUE
from devices.metrics import count_finished
from devices.models import CollectionGroup, Device, DeviceBackupResult
from devices.services import device_offer_host_key, device_trust_host_key

logger = logging.getLogger(__name__)

RULES = DeliveryRules.from_config(settings.DEVICEVAULT.collection)
# Seconds one collection may take, retries included: inside the task's soft time limit
# (and so inside the group slot's expiry).
COLLECT_BUDGET = RULES.collect_budget
# Errors of the database or Redis (not of the device): the message is retried later.
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError, redis.RedisError)
FINISH_RETRY_FOR = 60  # seconds an outcome keeps trying to reach the database


def _slots() -> GroupSlots:
    from project.redis_client import redis_client

    return GroupSlots(redis_client())


class GroupBusy(Exception):
    """The device's collection group already runs as many collections as it may."""


def collect_in_slot(data: dict[str, Any]) -> str:
    """Collect the device of one `device.collect` payload inside its group's slot.

    A row that is no longer waiting for this delivery (a duplicate, or an earlier attempt's
    late copy) changes nothing, not even the group's slot. GroupBusy when the group is full;
    database or Redis errors propagate (the task retries the message).
    """
    result_id = int(data["result_id"])
    attempt = data.get("attempt")
    row = DeviceBackupResult.objects.filter(pk=result_id).values_list(
        "status", "attempts").first()
    if row is None or not may_claim(row_status=row[0], row_attempts=row[1],
                                    message_attempt=attempt):
        logger.info("result=%s already handled; not collecting again (attempt=%s)",
                    result_id, attempt)
        return "skipped"
    group_slug = data.get("collection_group") or DEFAULT_QUEUE
    limit = (
        CollectionGroup.objects.filter(slug=data.get("collection_group"))
        .values_list("concurrency_limit", flat=True)
        .first()
        or 1
    )
    slots = _slots()
    # One holder per delivery: a duplicate of this message can never release our slot.
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}:{result_id}"
    if not slots.acquire(group_slug, holder, limit, ttl=RULES.slot_ttl):
        raise GroupBusy(group_slug)
    try:
        return run_collection(result_id, attempt=attempt)
    finally:
        try:
            slots.release(group_slug, holder)
        except redis.RedisError as exc:  # the slot expires on its own
            logger.warning("group slot not released (it expires): %s", exc)


class _Superseded(Exception):
    """The row was delivered again meanwhile: this attempt's outcome is not recorded."""


def run_collection(result_id: int, *, attempt: int | None = None) -> str:
    """Claim the row (`queued` → `running`), collect, store the configuration, record the
    outcome; a row already claimed (or published again after `attempt`) is left alone."""
    started = time.monotonic()
    mine = _this_attempt(result_id, attempt)
    claim: dict[str, Any] = {"status": Status.RUNNING, "started_at": timezone.now()}
    if attempt is not None:  # the row counts this attempt even if its publisher had not yet
        claim["attempts"] = Greatest(F("attempts"), Value(attempt))
    claimed = mine.filter(status=Status.QUEUED).update(**claim)
    if not claimed:
        logger.info("result=%s already handled; not collecting again", result_id)
        return "skipped"
    result = DeviceBackupResult.objects.select_related(
        "device", "device__credential_set", "device__device_group__credential_set",
        "device__collection_group",
    ).get(pk=result_id)
    device = result.device
    collected: Collected | None = None
    status: str
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
    try:
        backup_id, status, error = _record_outcome(result, attempt, status, error, collected)
    except _Superseded:
        logger.warning("result=%s was delivered again meanwhile; outcome %s of attempt %s "
                       "not recorded", result_id, status, attempt)
        return "superseded"
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


def _this_attempt(result_id: int, attempt: int | None) -> Any:
    rows = DeviceBackupResult.objects.filter(pk=result_id)
    return rows if attempt is None else rows.filter(attempts__lte=attempt)


def _record_outcome(
    result: DeviceBackupResult, attempt: int | None, status: str, error: str,
    collected: Collected | None,
) -> tuple[int | None, str, str]:
    """Store the configuration and end the row in one transaction; returns the backup id
    and the outcome recorded. The database may be
    briefly away (a restart): keep trying for FINISH_RETRY_FOR seconds, since the device
    was collected and a redelivery would collect it again."""
    deadline = time.monotonic() + FINISH_RETRY_FOR
    delay = 0.5
    while True:
        try:
            return _store_and_finish(result, attempt, status, error, collected)
        except INFRASTRUCTURE_ERRORS as exc:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("result=%s: recording the outcome failed (%s); trying again",
                           result.pk, exc)
            close_old_connections()
            connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _store_and_finish(
    result: DeviceBackupResult, attempt: int | None, status: str, error: str,
    collected: Collected | None,
) -> tuple[int | None, str, str]:
    try:
        with transaction.atomic():
            backup_id = None
            if collected is not None:
                backup_id = backup_store(result=result, text=collected.text).pk
                if collected.trust_host_key:
                    device_trust_host_key(device=result.device, key=collected.trust_host_key)
            if not _finish(result.pk, status, error, attempt):
                raise _Superseded
            return backup_id, status, error
    except (_Superseded, *INFRASTRUCTURE_ERRORS):
        raise
    except Exception as exc:  # the configuration could not be stored: the row must still end
        logger.exception("storing the backup failed: device=%s result=%s",
                         result.device_id, result.pk)
        error = f"could not store the configuration: {exc}"
        if not _finish(result.pk, Status.FAILED, error, attempt):
            raise _Superseded from None
        return None, Status.FAILED, error


def _finish(result_id: int, status: str, error: str, attempt: int | None = None) -> bool:
    """End the row, if it is still this attempt's running claim."""
    return bool(_this_attempt(result_id, attempt).filter(status=Status.RUNNING).update(
        status=status, error=error, finished_at=timezone.now()
    ))


def collect_with_retries(
    collector: Collector, device: Device, *, result_id: int, deadline: float
) -> Collected:
    """Run the collector; after a network failure try again after each of
    `collection.retry_delays_seconds`, as long as another attempt fits before `deadline`.

    The retries happen here, inside the task, so the device keeps its group's slot: no other
    device of the group is collected in between, and the bounded delays keep that short.
    """
    config = settings.DEVICEVAULT.collection
    delays = config.retry_delays_seconds
    attempt_cost = config.ssh_connect_timeout_seconds + config.ssh_command_timeout_seconds
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
