"""Per-collection-group concurrency: a Redis semaphore shared by every worker.

Holders are named `<host>:<pid>:<delivery>:<result id>`, one per delivery. A holder whose
process is gone (a pool child killed with `kill -9`) is dropped by the next worker on the
same host that finds the group full; on another host it expires with its TTL.
"""

from __future__ import annotations

import socket
import time

import redis

from project.processes import pid_alive

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
        key = SLOTS_KEY.format(group=group)
        if self._acquire(keys=[key], args=[time.time(), holder, limit, ttl]):
            return True
        if not self._drop_dead_local_holders(key):
            return False
        return bool(self._acquire(keys=[key], args=[time.time(), holder, limit, ttl]))

    def _drop_dead_local_holders(self, key: str) -> int:
        host = socket.gethostname()
        dead = []
        for raw in self.client.zrange(key, 0, -1):
            member = raw.decode() if isinstance(raw, bytes) else str(raw)
            parts = member.split(":")
            if len(parts) >= 3 and parts[0] == host and parts[1].isdigit():
                if not pid_alive(int(parts[1])):
                    dead.append(member)
        return int(self.client.zrem(key, *dead)) if dead else 0

    def release(self, group: str, holder: str) -> None:
        self.client.zrem(SLOTS_KEY.format(group=group), holder)
