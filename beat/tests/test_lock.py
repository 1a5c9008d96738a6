"""The leader lock against a real Redis: compare-and-set renewal and release, stale
takeover, and the exact lines and exit codes of `python -m beat --check-lock/--clear-lock`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from beat.lock import LOCK_KEY, LeaderLock, read_owner

ROOT = Path(__file__).resolve().parents[2]
HOST = socket.gethostname()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def fake_lock(client: Any, *, host: str = HOST, pid: int, ttl: int = 60) -> str:
    value = json.dumps({"host": host, "pid": pid, "token": "t" * 32,
                        "acquired_at": "2027-01-01T00:00:00Z"})
    client.set(LOCK_KEY, value, ex=ttl)
    return value


def test_value_is_json_with_host_pid_token_and_utc_acquired_at(redis_db: Any) -> None:
    lock = LeaderLock(redis_db, ttl_seconds=30)
    assert lock.try_acquire()
    data = json.loads(redis_db.get(LOCK_KEY))
    assert data["host"] == HOST and data["pid"] == os.getpid()
    assert len(data["token"]) == 32 and data["acquired_at"].endswith("Z")
    assert 29 <= redis_db.ttl(LOCK_KEY) <= 30


def test_a_second_owner_cannot_acquire_renew_or_release_a_live_lock(redis_db: Any) -> None:
    first, second = LeaderLock(redis_db, 30), LeaderLock(redis_db, 30)
    second.pid = os.getppid()  # as if it ran in another (live) process
    assert first.try_acquire()
    assert not second.try_acquire()
    second.value = second._new_value()  # even with a well-formed value of its own
    assert not second.renew()
    assert not second.release()
    assert json.loads(redis_db.get(LOCK_KEY))["token"] == first.token


def test_renewal_extends_only_our_own_lock_and_notices_a_lost_one(redis_db: Any) -> None:
    lock = LeaderLock(redis_db, ttl_seconds=30)
    assert lock.try_acquire()
    redis_db.pexpire(LOCK_KEY, 1000)
    assert lock.renew() and redis_db.pttl(LOCK_KEY) > 25_000
    fake_lock(redis_db, pid=os.getpid())  # somebody else's value now
    assert not lock.renew()
    assert not lock.held()


class FakeMonotonic:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_held_turns_false_when_renewals_stop_for_a_ttl(redis_db: Any) -> None:
    clock = FakeMonotonic()
    lock = LeaderLock(redis_db, ttl_seconds=3, monotonic=clock)
    assert lock.try_acquire() and lock.held()
    clock.now += 2.9
    assert lock.held()
    clock.now += 0.2  # no renewal: as if the process had been stopped past its TTL
    assert not lock.held()


def test_renewal_thread_keeps_a_short_lock_alive(redis_db: Any) -> None:
    lock = LeaderLock(redis_db, ttl_seconds=3)
    assert lock.try_acquire()
    lock.start_renewing()
    try:
        time.sleep(4)
        assert lock.held() and redis_db.get(LOCK_KEY) is not None
    finally:
        assert lock.release()
    assert redis_db.get(LOCK_KEY) is None


def test_a_dead_pid_on_this_host_is_taken_over_but_another_hosts_lock_is_not(
    redis_db: Any,
) -> None:
    fake_lock(redis_db, pid=dead_pid())
    lock = LeaderLock(redis_db, 30)
    assert lock.try_acquire()
    assert read_owner(redis_db).pid == os.getpid()  # type: ignore[union-attr]
    redis_db.delete(LOCK_KEY)
    fake_lock(redis_db, host="elsewhere.example", pid=dead_pid())
    assert not LeaderLock(redis_db, 30).try_acquire()


def run_cli(*args: str, redis_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": redis_url or settings.REDIS_URL}
    return subprocess.run([sys.executable, "-m", "beat", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_check_lock_lines_and_exit_codes(redis_db: Any) -> None:
    proc = run_cli("--check-lock")
    assert (proc.stdout, proc.returncode) == ("No scheduler lock held\n", 0)

    fake_lock(redis_db, pid=os.getpid())
    proc = run_cli("--check-lock")
    assert proc.stdout == f"Lock held by PID {os.getpid()} on {HOST} (process is alive)\n"
    assert proc.returncode == 0

    pid = dead_pid()
    fake_lock(redis_db, pid=pid)
    proc = run_cli("--check-lock")
    assert proc.stdout == f"Lock held by dead PID {pid} on {HOST} (stale lock)\n"
    assert proc.returncode == 1

    fake_lock(redis_db, host="beat-2.example", pid=42)
    proc = run_cli("--check-lock")
    assert proc.stdout == ("Lock held by PID 42 on another host beat-2.example "
                           "(cannot check liveness)\n")
    assert proc.returncode == 0


def test_clear_lock_removes_only_stale_locks_unless_forced(redis_db: Any) -> None:
    proc = run_cli("--clear-lock")
    assert proc.returncode == 0 and "nothing to clear" in proc.stdout

    fake_lock(redis_db, pid=os.getpid())
    proc = run_cli("--clear-lock")
    assert proc.returncode == 1 and "refusing" in proc.stdout
    assert redis_db.get(LOCK_KEY) is not None

    fake_lock(redis_db, host="beat-2.example", pid=42)
    proc = run_cli("--clear-lock")
    assert proc.returncode == 1 and redis_db.get(LOCK_KEY) is not None
    proc = run_cli("--clear-lock", "--force")
    assert proc.returncode == 0 and redis_db.get(LOCK_KEY) is None

    fake_lock(redis_db, pid=dead_pid())
    proc = run_cli("--clear-lock")
    assert proc.returncode == 0 and "Cleared stale lock" in proc.stdout
    assert redis_db.get(LOCK_KEY) is None


def test_lock_commands_exit_2_when_redis_is_unreachable() -> None:
    for args in (("--check-lock",), ("--clear-lock",), ("--clear-lock", "--force")):
        proc = run_cli(*args, redis_url="redis://127.0.0.1:1/0")
        assert proc.returncode == 2, args
        assert "Redis unreachable" in proc.stderr and "Traceback" not in proc.stderr


def test_force_without_clear_lock_is_a_usage_error() -> None:
    proc = run_cli("--check-lock", "--force")
    assert proc.returncode == 2 and "--force goes with --clear-lock" in proc.stderr


def test_a_lock_left_by_an_earlier_run_with_our_own_pid_is_taken_over(redis_db: Any) -> None:
    # A restarted container runs the beat as PID 1 again: same host, same PID, new token.
    fake_lock(redis_db, pid=os.getpid())
    lock = LeaderLock(redis_db, 30)
    assert lock.try_acquire()
    assert json.loads(redis_db.get(LOCK_KEY))["token"] == lock.token


def test_redis_unreachable_once_no_renewal_reached_redis_for_a_whole_ttl() -> None:
    import redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    lock = LeaderLock(client, ttl_seconds=10)
    lock._confirm(time.monotonic())  # as if it had just been acquired
    assert not lock.renew()  # Redis went away a moment later
    assert not lock.redis_unreachable  # the lock is still ours for the rest of the TTL
    lock._valid_until = time.monotonic()  # the TTL has run out since
    assert lock.redis_unreachable and not lock.held()


def test_a_lock_taken_by_another_owner_is_lost_not_unreachable(redis_db: Any) -> None:
    clock = FakeMonotonic()
    lock = LeaderLock(redis_db, ttl_seconds=1, monotonic=clock)
    assert lock.try_acquire()
    redis_db.delete(LOCK_KEY)
    assert not lock.renew()
    clock.now += 1.1
    assert not lock.held() and not lock.redis_unreachable
