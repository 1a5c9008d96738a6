"""The Celery app of the RedBeat anchor: a plain Celery project set up as RedBeat's README says.

    celery -A bench.redbeat_app beat -S redbeat.RedBeatScheduler

Broker and schedule live in the anchors' Redis database named by the benchmark runner
(`BENCH_TARGETS`). `BENCH_REDBEAT_LOCK_TIMEOUT` and `BENCH_REDBEAT_MAX_INTERVAL` (seconds)
override RedBeat's and Celery's defaults (lock 5 × 300 s, loop 300 s) for the failover run.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging

_url = json.loads(os.environ.get("BENCH_TARGETS", "{}")).get(
    "anchor_redis", "redis://127.0.0.1:6379/9"
)

app = Celery("bench_redbeat", broker=_url, set_as_current=True)
app.conf.update(
    redbeat_redis_url=_url,
    beat_scheduler="redbeat.RedBeatScheduler",
    timezone="Australia/Sydney",
    enable_utc=True,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    result_backend=None,
    task_default_queue="bench.redbeat",
    broker_connection_retry_on_startup=True,
)
if os.environ.get("BENCH_REDBEAT_LOCK_TIMEOUT"):
    app.conf.redbeat_lock_timeout = int(os.environ["BENCH_REDBEAT_LOCK_TIMEOUT"])
if os.environ.get("BENCH_REDBEAT_MAX_INTERVAL"):
    app.conf.beat_max_loop_interval = int(os.environ["BENCH_REDBEAT_MAX_INTERVAL"])


@setup_logging.connect
def configure_logging(loglevel: int | None = None, **kwargs: Any) -> None:
    """Lines start with the epoch time, so the benchmark can time events from the log."""
    logging.basicConfig(level=loglevel or logging.INFO,
                        format="%(created).3f %(levelname)s %(name)s %(message)s")
