"""Celery tasks of the alerts app: the periodic evaluation and one delivery per notification.

Both go to the default `celery` queue. The evaluation is sent by the PeriodicTask row of
alerts/migrations/0002_evaluation_periodic_task.py; deliveries by the evaluation, once its
transaction commits.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from alerts import delivery, evaluation

EVALUATE_TASK = "devicevault.alerts.evaluate"
DELIVER_TASK = "devicevault.alerts.deliver"


def enqueue_deliveries(ids: list[int]) -> None:
    """Send one `devicevault.alerts.deliver` task per notification id."""
    for notification_id in ids:
        deliver.apply_async((notification_id,))


@shared_task(name=EVALUATE_TASK, ignore_result=True)
def evaluate() -> dict[str, Any]:
    """Evaluate every rule (results, staleness, scheduler) and queue what it reports."""
    done = evaluation.evaluate(now=timezone.now(), send=enqueue_deliveries)
    return {"opened": done.opened, "closed": done.closed,
            "notifications": len(done.notifications), "stale": done.stale}


@shared_task(name=DELIVER_TASK, bind=True, ignore_result=True, max_retries=None)
def deliver(self: Any, notification_id: int) -> str:
    """Deliver one notification; on failure retry with exponential backoff (the row keeps
    the attempts, and decides when to give up)."""
    outcome = delivery.deliver(int(notification_id), now=timezone.now())
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status
