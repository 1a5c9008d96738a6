"""Per-collection-group concurrency: a Redis semaphore shared by every worker."""

from __future__ import annotations

import time

import redis

SLOTS_KEY = "devicevault:collect:slots:{group}"
SLOT_TTL = 900  # seconds a slot is held at most when its worker dies mid-collection

# Drop expired holders, then take a slot when fewer than `limit` are held (or we hold one).
_ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
  return 1
end
return 0
"""


class GroupSlots:
    """At most `limit` holders per collection group at once, across processes and hosts."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._acquire = client.register_script(_ACQUIRE)

    def acquire(self, group: str, holder: str, limit: int, ttl: int = SLOT_TTL) -> bool:
        return bool(
            self._acquire(keys=[SLOTS_KEY.format(group=group)],
                          args=[time.time(), holder, limit, ttl])
        )

    def release(self, group: str, holder: str) -> None:
        self.client.zrem(SLOTS_KEY.format(group=group), holder)
