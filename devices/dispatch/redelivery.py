"""The leader's delivery sweep: rows whose message reached the broker but that never
finished are delivered again, or given up as `lost:` (rules: devices/dispatch/delivery.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.dispatch.delivery import DeliveryRules
from devices.dispatch.fanout import publish_rows
from devices.dispatch.publisher import Fence
from devices.metrics import count_results_lost
from devices.models import DeviceBackupResult

logger = logging.getLogger(__name__)

__all__ = ["DeliveryRules", "Reconciled", "reconcile_deliveries"]


@dataclass(frozen=True)
class Reconciled:
    redelivered: int
    lost: int


def _overdue(rules: DeliveryRules, now: datetime, status: str) -> QuerySet[DeviceBackupResult]:
    rows = DeviceBackupResult.objects.order_by()
    if status == Status.QUEUED:
        return rows.filter(status=Status.QUEUED, published_at__lt=rules.queued_cutoff(now))
    return rows.filter(status=Status.RUNNING, started_at__lt=rules.running_cutoff(now))


def reconcile_deliveries(
    *, now: datetime, rules: DeliveryRules, may_publish: Callable[[], bool] = lambda: True,
    fence: Fence | None = None,
) -> Reconciled:
    """Apply the delivery rules to every overdue row; returns what was done.

    Every statement repeats the row's condition, so a worker that claims or finishes a row
    meanwhile wins: the sweep never touches a row that is no longer overdue.
    """
    lost = 0
    for status in (Status.QUEUED, Status.RUNNING):
        lost += _overdue(rules, now, status).filter(attempts__gte=rules.max_attempts).update(
            status=Status.FAILED, finished_at=now, error=rules.lost_error(status)
        )
    # An abandoned `running` row waits for a collection again; its old worker can no longer
    # record anything once the row is published again (the attempt moves on).
    running = list(
        _overdue(rules, now, Status.RUNNING).filter(attempts__lt=rules.max_attempts)
        .values_list("id", flat=True)
    )
    requeued = _overdue(rules, now, Status.RUNNING).filter(id__in=running).update(
        status=Status.QUEUED, started_at=None
    ) if running else 0
    queued = list(
        _overdue(rules, now, Status.QUEUED).filter(attempts__lt=rules.max_attempts)
        .values_list("id", flat=True)
    )
    ids = sorted(set(queued) | set(running))
    redelivered = 0
    if ids:
        base = DeviceBackupResult.objects.filter(
            Q(id__in=ids), Q(status=Status.QUEUED), attempts__lt=rules.max_attempts
        )
        redelivered = publish_rows(base, may_publish=may_publish, fence=fence,
                                   what="redelivery")
    count_results_lost(lost)  # metrics: lost, and failed (updates committed above)
    if lost or ids:
        logger.warning(
            "delivery sweep: redelivered=%d (still queued=%d, abandoned running=%d) lost=%d",
            redelivered, len(queued), requeued, lost,
        )
    return Reconciled(redelivered=redelivered, lost=lost)
