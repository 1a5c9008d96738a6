"""A worker bootstep: consume every collection group's queue, including groups added later."""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps

from devices.dispatch.queues import (
    DEFAULT_QUEUE,
    broker_is_amqp,
    collection_queue_name_from_slug,
    registered_collection_queue,
)

logger = logging.getLogger(__name__)


def collection_queue_names() -> list[str]:
    """`collect.default` and `collect.<slug>` of every collection group in the database."""
    from devices.models import CollectionGroup

    slugs = CollectionGroup.objects.values_list("slug", flat=True)
    return [DEFAULT_QUEUE, *(collection_queue_name_from_slug(s) for s in slugs)]


class CollectionQueues(bootsteps.StartStopStep):
    """Enabled by `celery worker --all-collection-queues`."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, all_collection_queues: bool = False, **kwargs: Any) -> None:
        self.enabled = bool(all_collection_queues)
        self._timer: Any = None
        super().__init__(parent, **kwargs)

    def create(self, parent: Any) -> None:
        """Before the consumer starts: select every group's queue, so the task consumer
        consumes them all from its first moment (and again after a reconnection)."""
        for name in self._names():
            parent.app.amqp.queues.select_add(registered_collection_queue(parent.app, name))

    def start(self, parent: Any) -> None:
        # Groups created later are added from the timer, inside the event loop: a queue
        # declared synchronously here, with RabbitMQ already delivering to the consumer,
        # would meet a message before the consumer has its callback.
        from django.conf import settings

        every = settings.DEVICEVAULT.collection.queue_refresh_seconds
        self._timer = parent.timer.call_repeatedly(every, self.refresh, (parent,))

    def stop(self, parent: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    shutdown = stop

    @staticmethod
    def _names() -> list[str]:
        from django.db import close_old_connections

        try:
            close_old_connections()
            return collection_queue_names()
        except Exception as exc:  # database down: keep the queues we have, try again later
            logger.warning("could not list collection groups: %s", exc)
            return []

    def refresh(self, parent: Any) -> None:
        for name in self._names():
            if not parent.task_consumer.consuming_from(name):
                # Registered first, so add_task_queue consumes the declaration every other
                # process uses instead of making up a classic queue of its own.
                queue = registered_collection_queue(parent.app, name)
                parent.add_task_queue(name)
                self._bind_delayed_delivery(parent, queue)

    @staticmethod
    def _bind_delayed_delivery(parent: Any, queue: Any) -> None:
        """On RabbitMQ, route delayed retries (native delayed delivery) to a queue added after
        the worker started: Celery's DelayedDelivery step binds only the queues it saw then."""
        quorum = (queue.queue_arguments or {}).get("x-queue-type") == "quorum"
        if not (quorum and broker_is_amqp(parent.app)):
            return
        from kombu.transport.native_delayed_delivery import (
            bind_queue_to_native_delayed_delivery_exchange,
        )

        try:
            with parent.app.connection_for_write() as connection:
                bind_queue_to_native_delayed_delivery_exchange(connection, queue)
        except Exception as exc:  # the queue works; only its delayed retries wait for a restart
            logger.warning("queue=%s: could not bind delayed delivery: %s", queue.name, exc)


class DeclaredQueues(bootsteps.StartStopStep):
    """On RabbitMQ with quorum queues: declare every queue the app knows before Celery's
    DelayedDelivery step binds them all to the delayed-delivery exchange.

    The app knows Celery's default queue (`celery`) even where nothing declares it, and
    binding a queue that does not exist fails that step, which then reports native delayed
    delivery unavailable. Declaring is idempotent, with the arguments every process uses.
    """

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        quorum = parent.app.conf.task_default_queue_type == "quorum"
        self.enabled = bool(quorum and broker_is_amqp(parent.app))
        super().__init__(parent, **kwargs)

    def create(self, parent: Any) -> None:
        from kombu.common import Broadcast

        try:
            with parent.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)
                channel = connection.default_channel
                for queue in list(parent.app.amqp.queues.values()):
                    if not isinstance(queue, Broadcast):
                        queue(channel).declare()
        except Exception as exc:  # the broker is not up yet: the consumer waits for it
            logger.warning("could not declare the queues before delayed delivery: %s", exc)

