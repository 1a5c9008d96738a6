"""Real `python -m beat` processes on Redis Sentinel (REDIS_SENTINELS): the lock follows a
`SENTINEL FAILOVER` to the new master, with one leader before, during and after it.

The failover is forced while the old master still runs: the Sentinels name the new master
after about a second, but the old one keeps answering the clients connected to it until the
Sentinels turn it into a replica (about 11 s here: Sentinel's INFO period). Only then do the
beats' connections break and redis-py ask the Sentinels again. Each test prints the time from
`SENTINEL FAILOVER` to the leader's lock confirmed on the new master."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from beat.lock import LOCK_KEY, LockOwner, read_owner
from tests.support.private_services import PrivateSentinels
from tests.support.processes import Proc

pytestmark = [pytest.mark.processes, pytest.mark.timeout(120)]

LEADING = "leading: pid="
STEPPED_DOWN = "lock lost: standing by"


def sentinel_env(sentinels: PrivateSentinels) -> dict[str, str]:
    # REDIS_URL's host and port lead nowhere: the beats find Redis through the Sentinels only.
    return {"REDIS_SENTINELS": sentinels.addresses, "REDIS_SENTINEL_MASTER": sentinels.name,
            "REDIS_URL": "redis://127.0.0.1:1/0", "CELERY_BROKER_URL": ""}


def owner_on(client: redis.Redis) -> LockOwner | None:
    return read_owner(client)


def leads_now(proc: Proc) -> bool:
    """Whether the beat's last word on leadership is that it leads."""
    log = proc.log()
    return log.rfind(LEADING) > log.rfind(STEPPED_DOWN)


def logged_at(log: str, text: str) -> float:
    """The timestamp (seconds since the epoch) of the last log line containing `text`."""
    stamps = re.findall(r"(?m)^ts=(\S+) [^\n]*" + re.escape(text), log)
    assert stamps, f"no {text!r} in the log"
    return datetime.fromisoformat(stamps[-1]).timestamp()


def wait_until(predicate: Any, timeout: float, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def test_the_leader_keeps_its_lock_across_a_sentinel_failover_and_the_standby_never_leads(
    sentinels: PrivateSentinels, procs: Any, beat_config: Any
) -> None:
    # `sentinels` first: set up before the beats, stopped after them.
    # TTL 30 s (renewed every 10 s): the key the replica got outlives the ~11 s failover.
    beat_config(lock_ttl_seconds=30)
    env = sentinel_env(sentinels)
    first = procs.beat(**env)
    first.wait_for(LEADING)
    second = procs.beat(**env)
    second.wait_for(r"beat started")
    old_master = sentinels.client(sentinels.master_port)
    assert owner_on(old_master).pid == first.pid  # type: ignore[union-attr]

    started = time.monotonic()
    _host, new_port = sentinels.failover()
    new_master = sentinels.client(new_port)
    last_ttl = new_master.pttl(LOCK_KEY)

    def renewed_on_new_master() -> bool:
        nonlocal last_ttl
        owner = owner_on(new_master)
        assert owner is not None and owner.pid == first.pid, "the lock left the leader"
        ttl = new_master.pttl(LOCK_KEY)
        renewed, last_ttl = ttl > last_ttl, ttl
        return renewed

    wait_until(renewed_on_new_master, timeout=25)
    took = time.monotonic() - started
    print(f"sentinel failover: sentinels switched after {sentinels.switched_after:.1f}s, "
          f"old master demoted after {sentinels.demoted_after:.1f}s, leader's lock renewed "
          f"on the new master {took:.1f}s after SENTINEL FAILOVER")
    assert took < 35
    time.sleep(1)
    assert leads_now(first) and LEADING not in second.log()
    assert "lock lost" not in first.log()
    assert owner_on(new_master).pid == first.pid  # type: ignore[union-attr]
    # The lock command asks the Sentinels too.
    check = subprocess.run([sys.executable, "-m", "beat", "--check-lock"],
                           env={**procs.env, **env}, capture_output=True, text=True,
                           timeout=30, check=False)
    assert (check.returncode, check.stdout.strip()) == (
        0, f"Lock held by PID {first.pid} on {socket.gethostname()} (process is alive)")


def test_a_lock_the_new_master_never_got_is_taken_again_there_by_exactly_one_beat(
    procs: Any, beat_config: Any, tmp_path: Path
) -> None:
    """Asynchronous replication may lose the lock key: the replica here drops it behind the
    master's back. The leader's next renewal after the failover finds no key, it stops leading
    (its publishing is fenced from then on) and one beat takes the lock on the new master."""
    sentinels = PrivateSentinels(tmp_path / "sentinels", replica_writable=True)
    try:
        beat_config(lock_ttl_seconds=6)
        env = sentinel_env(sentinels)
        first = procs.beat(**env)
        first.wait_for(LEADING)
        second = procs.beat(**env)
        second.wait_for(r"beat started")
        replica = sentinels.client(sentinels.replica_port)
        wait_until(lambda: replica.get(LOCK_KEY) is not None, timeout=5)
        replica.delete(LOCK_KEY)

        started = time.monotonic()
        _host, new_port = sentinels.failover()
        new_master = sentinels.client(new_port)
        first.wait_for(r"lock lost: key=", timeout=15)

        def one_leader_on_new_master() -> Proc | None:
            owner = owner_on(new_master)
            leader = {first.pid: first, second.pid: second}.get(owner.pid) if owner else None
            return leader if leader is not None and leads_now(leader) else None

        leader = wait_until(one_leader_on_new_master, timeout=20)
        took = time.monotonic() - started
        print(f"sentinel failover without the key: old master demoted after "
              f"{sentinels.demoted_after:.1f}s, pid {leader.pid} leading on the new master "
              f"{took:.1f}s after SENTINEL FAILOVER")
        time.sleep(2.5)  # longer than a standby's poll: a second leader would show by now
        other = second if leader is first else first
        assert leads_now(leader) and not leads_now(other)
        assert owner_on(new_master).pid == leader.pid  # type: ignore[union-attr]
        if leader is second:
            # Until its next renewal the deposed leader may still think it leads (its batches
            # are fenced by the lock value on the master): one renewal interval at most.
            overlap = (logged_at(first.log(), "lock lost: key=")
                       - logged_at(second.log(), "lock acquired"))
            print(f"the old leader learned it lost the lock {overlap:.2f}s after the new one "
                  "took it")
            assert overlap < 6 / 3 + 1
        else:
            assert LEADING not in second.log()
    finally:
        procs.stop_all()  # the beats before their Redis
        sentinels.stop()
