"""Housekeeping tasks. The beat sends them from the PeriodicTask rows the data migration
devices/migrations/0007_housekeeping_periodic_tasks.py creates, which an operator can see,
retime or pause in the admin's "Periodic tasks"."""

from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task
from django.conf import settings

from devices.analytics_summary import build
from devices.retention import prune
from devices.selectors import display_zone

RETENTION_TASK = "devicevault.retention"
ANALYTICS_SUMMARIES_TASK = "devicevault.analytics_summaries"


@shared_task(name=RETENTION_TASK, ignore_result=True)
def retention() -> dict[str, int]:
    """Apply `retention:` (results_days, configs_keep_per_device)."""
    config = settings.DEVICEVAULT.retention
    pruned = prune(now=datetime.now(UTC), results_days=config.results_days,
                   configs_keep_per_device=config.configs_keep_per_device)
    return {"results": pruned.results, "backups": pruned.backups, "blobs": pruned.blobs}


@shared_task(name=ANALYTICS_SUMMARIES_TASK, ignore_result=True)
def analytics_summaries() -> int:
    """Summarise the closed days the analytics read (devices.analytics_summary)."""
    return build(now=datetime.now(UTC), zone=display_zone())
