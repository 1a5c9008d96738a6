"""Queue naming and declaration: one broker queue per collection group.

Every process that declares a collection queue (the publisher's first message to it, a
worker's `-Q`, the `--all-collection-queues` bootstep, the metrics' passive look) must declare
it with the same arguments, or RabbitMQ refuses the second declaration (PRECONDITION_FAILED).
So they all take it from the app's queue registry (`app.amqp.queues`), where
`install_collection_queues` makes `collection_queue` the builder of every `collect.*` entry.
"""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

from project.broker import is_amqp_url
from schedules.policy import MAX_PRIORITY

QUEUE_PREFIX = "collect."
DEFAULT_QUEUE = "collect.default"


def collection_queue_name_from_slug(slug: str | None) -> str:
    """`collect.<slug>`, or `collect.default` for devices without a group."""
    return f"{QUEUE_PREFIX}{slug}" if slug else DEFAULT_QUEUE


def collection_queue_name_from_group(group: Any) -> str:
    """`collect.<group slug>` for a CollectionGroup (or None: `collect.default`)."""
    return collection_queue_name_from_slug(getattr(group, "slug", None) if group else None)


def is_collection_queue(name: str) -> bool:
    """Whether `name` is a collection queue (`collect.default` or `collect.<slug>`)."""
    return name.startswith(QUEUE_PREFIX)


def broker_is_amqp(app: Any) -> bool:
    """Whether the app's broker is RabbitMQ (an `amqp://`, `amqps://` or `pyamqp://` URL)."""
    return is_amqp_url(str(app.conf.broker_url or ""))


def collection_queue(app: Any, name: str) -> Queue:
    """How collection queue `name` is declared on the app's broker.

    Redis: what Celery itself makes of an unknown queue name (a direct exchange of the same
    name), so the Redis broker sees exactly what it always saw. RabbitMQ: durable, never
    auto-deleted or exclusive, a quorum queue (`x-queue-type: quorum`, replicated, no global
    QoS) unless `DEVICEVAULT_AMQP_QUEUE_TYPE=classic`, behind a topic exchange so a retry's
    countdown can use native delayed delivery. No `x-max-priority`: quorum queues have none.
    """
    if not broker_is_amqp(app):
        return Queue(name, Exchange(name), routing_key=name)
    queue_type = app.conf.task_create_missing_queue_type or "classic"
    arguments = {"x-queue-type": queue_type} if queue_type == "quorum" else None
    return Queue(
        name, Exchange(name, type="topic", durable=True), routing_key=name,
        durable=True, auto_delete=False, exclusive=False, queue_arguments=arguments,
    )


def broker_priority(app: Any, priority: int) -> int:
    """The Celery message priority that makes the app's broker serve a priority 0-9
    (schedules/policy.py: 9 first) in that order. RabbitMQ serves the highest number first;
    kombu's Redis transport the lowest (its step 0 list is read first), so there a message
    carries 9 - priority."""
    return priority if broker_is_amqp(app) else MAX_PRIORITY - priority


def retry_countdown(app: Any, seconds: float) -> float:
    """The countdown to give a retry of `seconds`: on RabbitMQ with quorum queues a countdown
    goes through native delayed delivery, which counts whole seconds and refuses less than
    one (kombu's calculate_routing_key raises), so it is at least 1 s there."""
    if seconds < 1 and broker_is_amqp(app) and app.conf.task_default_queue_type == "quorum":
        return 1.0
    return seconds


def registered_collection_queue(app: Any, name: str) -> Queue:
    """The registry's declaration of collection queue `name`, added on first use."""
    queues = app.amqp.queues
    if name not in queues:
        queues.add(collection_queue(app, name))
    return queues[name]


def install_collection_queues(app: Any) -> None:
    """Make the app's queue registry build `collect.*` queues with `collection_queue`.

    Celery adds a queue it does not know yet (a route's, a `-Q` name) through the registry's
    `new_missing`; the devices app calls this from its `ready()`, before a worker reads `-Q`.
    """
    queues = app.amqp.queues
    if getattr(queues, "_devicevault_collection_queues", False):
        return
    celery_new_missing = queues.new_missing

    def new_missing(name: str) -> Queue:
        if is_collection_queue(name):
            return collection_queue(app, name)
        return celery_new_missing(name)

    queues.new_missing = new_missing
    queues._devicevault_collection_queues = True
