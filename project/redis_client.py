"""The Redis clients of every process, built in one place with the same timeouts.

`redis_client()` is the one shared client of a web or worker process (lock reads, group
slots, metrics, the change marker, the login throttle); `new_redis_client()` gives a process
that needs its own connection pool (the beat, the lock CLI, a broker on another server) one
built the same way.
"""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings

CONNECT_TIMEOUT = 2  # seconds
SOCKET_TIMEOUT = 5  # seconds

_shared: redis.Redis | None = None


def new_redis_client(url: str, **options: Any) -> redis.Redis:
    """A new client for `url` with the project's timeouts (`options` may override them)."""
    options.setdefault("socket_connect_timeout", CONNECT_TIMEOUT)
    options.setdefault("socket_timeout", SOCKET_TIMEOUT)
    return redis.Redis.from_url(url, **options)


def redis_client() -> redis.Redis:
    """The process's shared client for the configured Redis (`REDIS_URL` and friends)."""
    global _shared
    if _shared is None:
        _shared = new_redis_client(settings.REDIS_URL)
    return _shared
