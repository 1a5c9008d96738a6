"""The `device.collect` task: a thin shell over the collection service.

It loads the payload, calls devices.collection.service and owns the retries: a full group
tries again after a moment (jittered, so waiting tasks do not retry in lockstep); a database
or Redis error retries the message later with a growing delay, so it is never acknowledged
unprocessed.
"""

from __future__ import annotations

import json
import logging
import random
from typing import Any

from celery import shared_task
from django.db import close_old_connections, connection

from devices.collection.service import (
    INFRASTRUCTURE_ERRORS,
    RULES,
    GroupBusy,
    collect_in_slot,
)
from devices.dispatch.queues import retry_countdown
from devices.dispatch.routing import COLLECT_TASK

logger = logging.getLogger(__name__)

SLOT_RETRY_DELAY = (0.5, 2.0)  # seconds before a task blocked by its group's limit retries
ERROR_RETRY_MAX = 30  # seconds; the longest wait between retries after such an error


@shared_task(
    name=COLLECT_TASK, bind=True, max_retries=None, acks_late=True,
    # collection.time_limit_seconds is the hard limit; the group slot outlives it by 60 s,
    # exactly as long as the sweep waits before it calls a `running` row abandoned.
    soft_time_limit=RULES.soft_time_limit, time_limit=RULES.hard_time_limit,
)
def collect(self: Any, payload: str) -> str:
    """Collect one device for one occurrence, at most once, within its group's limit."""
    data = json.loads(payload)
    try:
        return collect_in_slot(data)
    except GroupBusy:
        countdown = retry_countdown(self.app, random.uniform(*SLOT_RETRY_DELAY))
        raise self.retry(countdown=countdown) from None
    except INFRASTRUCTURE_ERRORS as exc:
        delay = min(ERROR_RETRY_MAX, 2 ** min(self.request.retries, 5)) * random.uniform(0.5, 1)
        logger.warning("result=%s: %s: %s; retrying in %.1fs", data.get("result_id"),
                       type(exc).__name__, exc, delay)
        close_old_connections()
        connection.close()
        raise self.retry(countdown=retry_countdown(self.app, delay)) from None
