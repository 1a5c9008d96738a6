"""The lock commands of `python -m beat`: --check-lock and --clear-lock [--force]."""

from __future__ import annotations

import sys

import redis

from beat.lock import LOCK_KEY, LockOwner, read_owner

EXIT_OK, EXIT_STALE_OR_REFUSED, EXIT_REDIS_DOWN = 0, 1, 2


def _client() -> redis.Redis:
    from project.config import load_config
    from project.redis_client import new_redis_client

    config = load_config()
    return new_redis_client(config.redis_url, sentinel=config.redis_sentinel)


def describe(owner: LockOwner | None) -> str:
    """The one line --check-lock prints (DESIGN.md, "Commands")."""
    if owner is None:
        return "No scheduler lock held"
    liveness = owner.liveness()
    if liveness == "alive":
        return f"Lock held by PID {owner.pid} on {owner.host} (process is alive)"
    if liveness == "dead":
        return f"Lock held by dead PID {owner.pid} on {owner.host} (stale lock)"
    return f"Lock held by PID {owner.pid} on another host {owner.host} (cannot check liveness)"


def _read() -> tuple[redis.Redis, LockOwner | None] | None:
    from project.config import ConfigError

    try:
        client = _client()
        return client, read_owner(client)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None
    except redis.RedisError as exc:
        print(f"Redis unreachable: {exc}", file=sys.stderr)
        return None


def check_lock() -> int:
    found = _read()
    if found is None:
        return EXIT_REDIS_DOWN
    owner = found[1]
    print(describe(owner))
    return EXIT_STALE_OR_REFUSED if owner and owner.liveness() == "dead" else EXIT_OK


_DELETE_IF = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def clear_lock(*, force: bool = False) -> int:
    found = _read()
    if found is None:
        return EXIT_REDIS_DOWN
    client, owner = found
    if owner is None:
        print("No scheduler lock held; nothing to clear")
        return EXIT_OK
    liveness = owner.liveness()
    if liveness != "dead" and not force:
        why = "process is alive" if liveness == "alive" else "held from another host"
        print(f"{describe(owner)}; refusing to clear ({why}); use --force to clear it anyway")
        return EXIT_STALE_OR_REFUSED
    try:
        # Delete exactly what we judged, never a lock someone took in the meantime.
        deleted = client.eval(_DELETE_IF, 1, LOCK_KEY, owner.raw)
    except redis.RedisError as exc:
        print(f"Redis unreachable: {exc}", file=sys.stderr)
        return EXIT_REDIS_DOWN
    if not deleted:
        print("The lock changed hands while clearing; nothing removed (check again)")
        return EXIT_STALE_OR_REFUSED
    what = "stale lock" if liveness == "dead" else "lock (forced)"
    print(f"Cleared {what} of PID {owner.pid} on {owner.host}")
    return EXIT_OK
