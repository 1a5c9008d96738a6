"""The Celery app for test workers: the real app plus a `test` backup method that records
each collection in Redis (and can be slowed down) so tests can count and time them."""

from __future__ import annotations

import os
import time

import redis

from devices.collectors import Collected, register
from project.celery import app

COLLECTED_KEY = "devicevault:test:collected"  # list of "<device id>"
INTERVALS_KEY = "devicevault:test:intervals"  # list of "<group> <start> <end>"

__all__ = ["app"]


def _record(device: object) -> Collected:
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    started = time.time()
    time.sleep(float(os.environ.get("TEST_COLLECT_SECONDS", "0")))
    group = getattr(getattr(device, "collection_group", None), "slug", None) or "default"
    pipe = client.pipeline()
    pipe.rpush(COLLECTED_KEY, str(device.pk))  # type: ignore[attr-defined]
    pipe.rpush(INTERVALS_KEY, f"{group} {started} {time.time()}")
    pipe.execute()
    return Collected(text=f"config of {device}")


register("test", _record)
