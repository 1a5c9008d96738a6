"""Counters the web's /metrics endpoint reads: kept in Redis so the beat needs no web server."""

from __future__ import annotations

import logging
from typing import Any

import redis

logger = logging.getLogger(__name__)

TASKS_PUBLISHED_KEY = "devicevault:metrics:tasks_published"  # hash: schedule id -> count
BEAT_METRICS_KEY = "devicevault:metrics:beat"  # hash: last fan-out figures of the leader


def _client() -> redis.Redis:
    from schedules.services import redis_client

    return redis_client()


def count_published(schedule_id: int | None, count: int) -> None:
    """Add `count` device tasks published for the schedule, or for single devices backed up
    now (`none`); never fails the caller."""
    try:
        label = "none" if schedule_id is None else str(schedule_id)
        _client().hincrby(TASKS_PUBLISHED_KEY, label, count)
    except redis.RedisError as exc:
        logger.debug("metrics not recorded: %s", exc)


def record_fanout(**fields: Any) -> None:
    """Remember the leader's last fan-out (lateness, duration, when) for /metrics."""
    try:
        _client().hset(BEAT_METRICS_KEY, mapping={k: str(v) for k, v in fields.items()})
    except redis.RedisError as exc:
        logger.debug("metrics not recorded: %s", exc)
