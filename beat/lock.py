"""The leader lock: one active beat, guarded by a Redis key with an owner token and a TTL.

Acquire is `SET NX EX`; renewal and release are compare-and-set Lua scripts, so a process
never extends or deletes a lock it does not own (RedBeat #127 is what a plain PEXPIRE does).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from devices.dispatch.publisher import Fence
from project.processes import pid_alive
from project.utc import utc_iso

logger = logging.getLogger(__name__)

LOCK_KEY = "devicevault:scheduler:lock"

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# Replace a stale value by ours only if it is still exactly the value we judged stale.
_REPLACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class LockOwner:
    """Who holds the lock, as stored in its JSON value, and how long it has left."""

    host: str
    pid: int
    token: str
    acquired_at: str
    ttl_seconds: float | None
    raw: str

    @classmethod
    def parse(cls, raw: str, ttl_ms: int | None) -> LockOwner:
        try:
            data = json.loads(raw)
            host, pid = str(data["host"]), int(data["pid"])
            token, acquired = str(data.get("token", "")), str(data.get("acquired_at", ""))
        except (ValueError, KeyError, TypeError):
            host, pid, token, acquired = "?", 0, "", ""
        ttl = None if ttl_ms is None or ttl_ms < 0 else ttl_ms / 1000
        return cls(host=host, pid=pid, token=token, acquired_at=acquired, ttl_seconds=ttl, raw=raw)

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def liveness(self) -> str:
        """'alive', 'dead' or 'unknown' (another host: we cannot look at its processes)."""
        if not self.on_this_host:
            return "unknown"
        return "alive" if pid_alive(self.pid) else "dead"


def read_owner(client: redis.Redis) -> LockOwner | None:
    """The current holder of the lock, or None."""
    pipe = client.pipeline()
    pipe.get(LOCK_KEY)
    pipe.pttl(LOCK_KEY)
    raw, ttl_ms = pipe.execute()
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode()
    return LockOwner.parse(raw, ttl_ms)


class LeaderLock:
    """This process's claim on the lock, with a background thread renewing it every TTL/3.

    `held()` answers from memory: true only while the last confirmed renewal is younger than
    the TTL (by the monotonic clock), so a process resumed after SIGSTOP learns it may no
    longer be leader before it does anything else.
    """

    def __init__(
        self, client: redis.Redis, ttl_seconds: int, *,
        monotonic: Callable[[], float] = time.monotonic, renew_in_background: bool = True,
    ) -> None:
        """`monotonic` is the clock of the lease; without `renew_in_background` nothing
        renews the lock but explicit `renew()` calls (tests drive it so)."""
        self.client = client
        self._monotonic = monotonic
        self._renew_in_background = renew_in_background
        self.ttl_ms = int(ttl_seconds * 1000)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.token = uuid.uuid4().hex
        self.value = ""
        self._valid_until = 0.0  # monotonic
        self._lost = threading.Event()
        self._redis_failed_since: float | None = None
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._replace = client.register_script(_REPLACE)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- state -------------------------------------------------------------
    def held(self) -> bool:
        return not self._lost.is_set() and self._monotonic() < self._valid_until

    @property
    def redis_unreachable(self) -> bool:
        """True once no renewal has reached Redis for a whole TTL (every attempt since the
        last confirmed one failed with a Redis error): the lock is gone by now."""
        return self._redis_failed_since is not None and self._monotonic() >= self._valid_until

    def _new_value(self) -> str:
        return json.dumps({
            "host": self.host, "pid": self.pid, "token": self.token,
            "acquired_at": utc_iso(datetime.now(UTC)),
        })

    def _confirm(self, started: float) -> None:
        # Count validity from before the round trip: the server's TTL started no earlier.
        self._valid_until = started + self.ttl_ms / 1000
        self._redis_failed_since = None  # Redis answered
        self._lost.clear()

    # -- acquire -----------------------------------------------------------
    def try_acquire(self) -> bool:
        """Take the lock if it is free, or held by a dead process on this host."""
        started = self._monotonic()
        value = self._new_value()
        if self.client.set(LOCK_KEY, value, nx=True, px=self.ttl_ms):
            self.value = value
            self._confirm(started)
            logger.info("lock acquired: key=%s host=%s pid=%s", LOCK_KEY, self.host, self.pid)
            return True
        owner = read_owner(self.client)
        if owner is None or not (owner.liveness() == "dead" or self._earlier_self(owner)):
            return False
        if self._replace(keys=[LOCK_KEY], args=[owner.raw, value, self.ttl_ms]):
            self.value = value
            self._confirm(started)
            logger.warning(
                "lock taken over from dead pid=%s on host=%s (stale lock)", owner.pid, owner.host
            )
            return True
        return False

    def _earlier_self(self, owner: LockOwner) -> bool:
        """Our host and PID but another token: a previous run of this process's slot (a
        restarted container is PID 1 again), not a live rival."""
        return owner.on_this_host and owner.pid == self.pid and owner.token != self.token

    def renew(self) -> bool:
        """Extend the TTL if we still own the lock; marks the lock lost otherwise."""
        started = self._monotonic()
        try:
            ok = bool(self._renew(keys=[LOCK_KEY], args=[self.value, self.ttl_ms]))
        except redis.RedisError as exc:
            if self._redis_failed_since is None:
                self._redis_failed_since = started
            logger.warning("lock renewal failed: %s", exc)
            return False
        self._redis_failed_since = None
        if ok:
            self._confirm(started)
            logger.debug("lock renewed: ttl_ms=%s", self.ttl_ms)
        else:
            self._lost.set()
            logger.error("lock lost: key=%s is no longer ours; stop publishing", LOCK_KEY)
        return ok

    def extend(self) -> bool:
        """Compare-and-extend now, synchronously: true only when the lock was still ours.

        The fence of the publish path when the broker is not the lock's Redis; a Redis
        error counts as "not ours" (publishing waits for certainty)."""
        if not self.held():
            return False
        return self.renew()

    def mark_lost(self) -> None:
        """Someone saw the key without our value (a fenced publish): stop leading now."""
        if not self._lost.is_set():
            self._lost.set()
            logger.error("lock lost: key=%s no longer holds our value; stop publishing",
                         LOCK_KEY)

    def fence(self) -> Fence:
        """What the publisher checks before each batch (devices/dispatch/publisher.py)."""
        return Fence(client=self.client, key=LOCK_KEY, value=self.value, extend=self.extend,
                     lost=self.mark_lost)

    def release(self) -> bool:
        """Delete the lock if it is ours (never anyone else's)."""
        self._stop_renewing()
        self._lost.set()
        if not self.value:
            return False
        try:
            released = bool(self._release(keys=[LOCK_KEY], args=[self.value]))
        except redis.RedisError as exc:
            logger.warning("lock not released (it expires by TTL): %s", exc)
            return False
        if released:
            logger.info("lock released: key=%s", LOCK_KEY)
        return released

    # -- renewal thread ----------------------------------------------------
    def start_renewing(self) -> None:
        self._stop_renewing()
        if not self._renew_in_background:
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name="lock-renewal", daemon=True)
        self._thread.start()

    def _stop_renewing(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._thread = None

    def _renew_loop(self) -> None:
        interval = self.ttl_ms / 3000
        while not self._stop.wait(interval):
            self.renew()
            if self._lost.is_set():
                return
