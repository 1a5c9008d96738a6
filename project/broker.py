"""The Celery settings that depend on the broker: Redis (the default) or RabbitMQ."""

from __future__ import annotations

from typing import Any

AMQP_SCHEMES = frozenset({"amqp", "amqps", "pyamqp"})
QUEUE_TYPES = ("quorum", "classic")
# kombu's Redis transport keeps a list per queue and priority step and serves step 0 first;
# one step per priority, so that each of a schedule's ten priorities is its own level.
REDIS_PRIORITY_STEPS = list(range(10))


def is_amqp_url(url: str) -> bool:
    """Whether a broker URL (the first of a `;` failover list) names RabbitMQ."""
    return str(url).split(";", 1)[0].split("://", 1)[0] in AMQP_SCHEMES


def celery_broker_settings(url: str, *, queue_type: str = "quorum") -> dict[str, Any]:
    """Celery settings (lower-case names, as `app.conf` spells them) for the broker at `url`.

    Redis: messages survive the broker's restart through its append-only file; an unacked
    message comes back after `visibility_timeout`; a list per priority step, ten steps, step 0
    served first. RabbitMQ: the settings of Celery's "Using Quorum Queues": queues of
    `queue_type` (quorum: durable and replicated; classic: durable), publisher confirms on
    every publish, per-consumer QoS where quorum queues are detected, and topic exchanges, so
    that a retry's countdown goes through RabbitMQ's native delayed delivery instead of a
    message held unacknowledged by a worker.
    """
    if not is_amqp_url(url):
        return {"broker_transport_options": {"visibility_timeout": 3600,
                                             "priority_steps": REDIS_PRIORITY_STEPS}}
    if queue_type not in QUEUE_TYPES:
        raise ValueError(f"queue type must be quorum or classic, not {queue_type!r}")
    return {
        "broker_transport_options": {"confirm_publish": True},
        "task_default_queue_type": queue_type,
        "task_create_missing_queue_type": queue_type,
        "task_default_exchange_type": "topic",
        "task_create_missing_queue_exchange_type": "topic",
        "worker_detect_quorum_queues": True,
        "broker_native_delayed_delivery_queue_type": queue_type,
    }
