"""Alert figures for /metrics: notifications sent (devices.metrics keeps that counter, as
DESIGN.md exports it from the start) and notifications given up as failed, by channel kind."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from prometheus_client.metrics_core import CounterMetricFamily, Metric

from devices.metrics import NOTIFICATION_KINDS, count_notification_sent
from project.metrics import Scrape

logger = logging.getLogger(__name__)

NOTIFICATIONS_FAILED_KEY = "devicevault:metrics:notifications_failed"  # hash: kind -> count

__all__ = ["count_notification_failed", "count_notification_sent", "collect_metrics"]


def _client() -> redis.Redis:
    from project.redis_client import redis_client

    return redis_client()


def count_notification_failed(kind: str, count: int = 1) -> None:
    """Count notifications given up after their retries: never fails the caller."""
    try:
        _client().hincrby(NOTIFICATIONS_FAILED_KEY, kind, count)
    except redis.RedisError as exc:
        logger.debug("metrics not recorded: %s", exc)


def _read() -> dict[str, int]:
    raw = _client().hgetall(NOTIFICATIONS_FAILED_KEY)
    counts = {kind: 0 for kind in NOTIFICATION_KINDS}
    for key, value in raw.items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        try:
            counts[name] = int(value)
        except ValueError:
            continue
    return counts


def collect_metrics(scrape: Scrape) -> Iterable[Metric]:
    """`devicevault_notifications_failed_total{kind}`."""
    counts = scrape.read("redis", _read)
    if counts is None:
        return []
    failed = CounterMetricFamily(
        "devicevault_notifications_failed",
        "Notifications given up after retrying for 24 hours (or to a disabled channel), "
        "by channel kind.", labels=["kind"],
    )
    for kind in sorted(counts):
        failed.add_metric([kind], counts[kind])
    return [failed]
