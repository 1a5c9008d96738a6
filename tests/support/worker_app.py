"""The Celery app for test workers: the real app plus a `test` backup method that records
each collection in Redis (and can be slowed down) so tests can count and time them.

With `TEST_COLLECT_LOG` set, each collection is also appended to that file as one line
`<result id> <device id> <group> <start> <end> <pid>`: the chaos test restarts Redis, and a file
survives that.
"""

from __future__ import annotations

import json
import os
import time

import redis
from celery import current_task

from devices.collection.collectors import Collected, register
from project.celery import app

COLLECTED_KEY = "devicevault:test:collected"  # list of "<device id>"
INTERVALS_KEY = "devicevault:test:intervals"  # list of "<group> <start> <end>"

__all__ = ["app"]


def _record(device: object) -> Collected:
    started = time.time()
    time.sleep(float(os.environ.get("TEST_COLLECT_SECONDS", "0")))
    group = getattr(getattr(device, "collection_group", None), "slug", None) or "default"
    log = os.environ.get("TEST_COLLECT_LOG")
    if log:
        result_id = json.loads(current_task.request.args[0])["result_id"]
        pk = device.pk  # type: ignore[attr-defined]
        line = f"{result_id} {pk} {group} {started} {time.time()} {os.getpid()}\n"
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return Collected(text=f"config of {device}")
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    pipe = client.pipeline()
    pipe.rpush(COLLECTED_KEY, str(device.pk))  # type: ignore[attr-defined]
    pipe.rpush(INTERVALS_KEY, f"{group} {started} {time.time()}")
    pipe.execute()
    return Collected(text=f"config of {device}")


register("test", _record)
