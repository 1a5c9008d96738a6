"""A worker bootstep: every worker watches the leader's last tick, so `scheduler_down`
fires when no beat runs at all (the periodic evaluation needs a beat to be sent)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import bootsteps

logger = logging.getLogger(__name__)


def watch_once() -> None:
    """Evaluate `scheduler_down` for every rule that asks for it (one query when none does)."""
    from django.db import close_old_connections
    from django.utils import timezone

    from alerts.evaluation import evaluate
    from alerts.tasks import enqueue_deliveries

    close_old_connections()
    try:
        evaluate(now=timezone.now(), send=enqueue_deliveries, full=False)
    finally:
        close_old_connections()


class SchedulerWatch(bootsteps.StartStopStep):
    """Runs `watch_once` every settings.ALERTS_WATCH_SECONDS in a thread of its own (a slow
    database never stalls the worker's consumer)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        super().__init__(parent, **kwargs)

    def start(self, parent: Any) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alerts-scheduler-watch",
                                        daemon=True)
        self._thread.start()

    def stop(self, parent: Any) -> None:
        self._stop.set()
        self._thread = None

    shutdown = stop

    def _run(self) -> None:
        from django.conf import settings

        every = settings.ALERTS_WATCH_SECONDS
        while not self._stop.wait(every):
            try:
                watch_once()
            except Exception as exc:  # noqa: BLE001 - database down: try again next time
                logger.warning("scheduler watch failed: %s", exc)
