"""The Redis clients of every process, built in one place with the same timeouts.

`redis_client()` is the one shared client of a web or worker process (lock reads, group
slots, metrics, the change marker, the login throttle); `new_redis_client()` gives a process
that needs its own connection pool (the beat, the lock CLI, a broker on another server) one
built the same way.

With `REDIS_SENTINELS` set, a client for the configured Redis asks those Sentinels for the
current master of `REDIS_SENTINEL_MASTER` (REDIS_URL then gives only the database number and
the password). redis-py's Sentinel pool asks again whenever a connection fails or the server
answers READONLY (a demoted master), so the next command after a failover reaches the new
master.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import unquote, urlsplit

import redis
from django.conf import settings
from redis.sentinel import Sentinel

from project.config import SentinelConfig

CONNECT_TIMEOUT = 2  # seconds
SOCKET_TIMEOUT = 5  # seconds

FROM_SETTINGS: Final = "settings"  # new_redis_client's default: settings.REDIS_SENTINEL

_shared: redis.Redis | None = None


def new_redis_client(
    url: str, *, sentinel: SentinelConfig | None | str = FROM_SETTINGS, **options: Any
) -> redis.Redis:
    """A new client for `url` with the project's timeouts (`options` may override them).

    `sentinel` says where to find the master; by default settings.REDIS_SENTINEL when `url`
    is settings.REDIS_URL (a process without Django settings, like the lock CLI, passes its
    configuration's), None for a plain client of `url`."""
    options.setdefault("socket_connect_timeout", CONNECT_TIMEOUT)
    options.setdefault("socket_timeout", SOCKET_TIMEOUT)
    if sentinel == FROM_SETTINGS:
        sentinel = getattr(settings, "REDIS_SENTINEL", None) if url == settings.REDIS_URL else None
    if isinstance(sentinel, SentinelConfig):
        return sentinel_master_client(sentinel, url, **options)
    return redis.Redis.from_url(url, **options)


def sentinel_master_client(sentinel: SentinelConfig, url: str, **options: Any) -> redis.Redis:
    """A client of the current master named by `sentinel`, with `url`'s user and password.

    The Sentinels are asked with the same timeouts, without a password."""
    parts = urlsplit(url)
    timeouts = {k: v for k, v in options.items() if k.startswith("socket_")}
    manager = Sentinel(list(sentinel.sentinels), sentinel_kwargs=timeouts)
    if parts.username:
        options.setdefault("username", unquote(parts.username))
    if parts.password is not None:
        options.setdefault("password", unquote(parts.password))
    return manager.master_for(sentinel.master_name, db=sentinel.db, **options)


def redis_client() -> redis.Redis:
    """The process's shared client for the configured Redis (`REDIS_URL` and friends)."""
    global _shared
    if _shared is None:
        _shared = new_redis_client(settings.REDIS_URL)
    return _shared
