"""A fleet under every fault at once: the chaos test's and `python -m bench --chaos`'s engine.

A private PostgreSQL cluster and a private Redis (append-only) — never the shared ones — a
migrated database with `devices` devices in `groups` collection groups (limit 1 each) spread
over `schedules` cron schedules so that one of them fires every minute, a worker per group
plus one on every group's queue (all collecting with the test-only `test` collector of
tests/support/worker_app.py, which appends each collection to a file), two beats, and a
driver that injects random faults: `kill -9` of a beat or of a worker's pool child, deleting
the lock key, `SIGSTOP` of the leader past its TTL, restarting Redis or PostgreSQL.
`run_chaos()` then waits for the window's occurrences to settle and reports what was lost,
duplicated or overlapping.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import yaml

from tests.support.private_services import PrivatePostgres, PrivateRedis
from tests.support.processes import ROOT, Proc, Processes

LOCK_KEY = "devicevault:scheduler:lock"  # beat.lock.LOCK_KEY (DESIGN.md)
SCHEDULES_VERSION_KEY = "devicevault:schedules:version"  # schedules.services
LOCK_TTL = 6  # seconds
# Short limits so that a killed worker's row comes back within the run; requeue_after stays
# above the time a message may wait in its group's queue behind the rest of the fleet.
COLLECTION = {"time_limit_seconds": 5, "requeue_after_seconds": 60, "max_attempts": 20}
FAULTS = ("kill_beat", "kill_worker_child", "delete_lock", "stop_leader", "restart_redis",
          "restart_postgres")
FINAL = ("success", "failed", "missed_window", "skipped")

SETUP = """
import sys
import django
django.setup()
from devices.models import CollectionGroup, Device
from schedules.services import schedule_create
from tests.support.fleet import make_devices
devices, groups, schedules = (int(x) for x in sys.argv[1:4])
made = [
    # overlap_policy "queue": every occurrence is collected, however late the one before (the
    # test counts deliveries; the overlap rule has tests of its own)
    schedule_create(name=f"minute {k} of {schedules}", schedule_type="cron",
                    cron_expression=",".join(str(m) for m in range(k, 60, schedules)) + " * * * *",
                    overlap_policy="queue")
    for k in range(schedules)
]
for g in range(groups):
    group = CollectionGroup.objects.create(name=f"chaos-{g}", concurrency_limit=1)
    ids = make_devices(devices // groups, schedule=None, group=group, prefix=f"g{g}")
    for k, schedule in enumerate(made):
        Device.objects.filter(pk__in=ids[k::schedules]).update(backup_schedule=schedule)
"""


@dataclass
class ChaosReport:
    """What happened, and what went wrong (every count but the first five should be 0)."""

    devices: int
    device_occurrences: int
    faults: Counter[str]
    settled_seconds: float | None  # after the last fault; None: not within the bound
    attempts: Counter[int]
    lost: int = 0  # device-occurrences without a result, or not in a final state
    not_success: Counter[str] = field(default_factory=Counter)
    duplicated: int = 0  # extra results of one device-occurrence, or extra collections
    overlapping: int = 0  # pairs of collections of one group that ran at once
    collected_again_after_a_kill: int = 0  # the test killed it after collecting: necessary
    # What was duplicated: "result <id> (attempts <n>): rows <n>" or "...: collected by <pids>"
    duplicates: list[str] = field(default_factory=list)

    def line(self) -> str:
        settled = "never" if self.settled_seconds is None else f"{self.settled_seconds:.0f}s"
        return (f"chaos: devices={self.devices} device-occurrences={self.device_occurrences} "
                f"faults={sum(self.faults.values())} {dict(self.faults)} lost={self.lost} "
                f"duplicated={self.duplicated} overlapping={self.overlapping} "
                f"not_success={dict(self.not_success)} settled_in={settled} "
                f"attempts={dict(sorted(self.attempts.items()))} "
                f"collected_again_after_a_kill={self.collected_again_after_a_kill}"
                + "".join(f"\n  duplicated: {what}" for what in self.duplicates))


class Fleet:
    """The private services, the processes and the SQL the driver needs."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.redis = PrivateRedis(tmp_path / "redis")
        try:
            self.pg = PrivatePostgres()
        except BaseException:
            self.redis.stop()
            raise
        self.collect_log = tmp_path / "collections.log"
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump({
            "display_timezone": "Australia/Sydney",
            "scheduler": {"enabled": True, "restart_window_minutes": 120,
                          "lock_ttl_seconds": LOCK_TTL},
            "collection": COLLECTION,
        }))
        self.env = {
            **os.environ, "DATABASE_URL": self.pg.url(), "REDIS_URL": self.redis.url,
            "DEVICEVAULT_CONFIG": str(config), "DEVICEVAULT_VAR_DIR": str(tmp_path / "var"),
            "PYTHONUNBUFFERED": "1", "C_FORCE_ROOT": "1", "DJANGO_SETTINGS_MODULE":
            "project.settings", "TEST_COLLECT_LOG": str(self.collect_log),
            "TEST_COLLECT_SECONDS": "0.005",
        }
        for name in ("CELERY_BROKER_URL", "DEVICEVAULT_DISPLAY_TIMEZONE"):
            self.env.pop(name, None)
        self.procs = Processes(self.env, tmp_path)
        self.killed: set[int] = set()

    def prepare(self, devices: int, groups: int, schedules: int) -> None:
        with closing(psycopg2.connect(self.pg.url("postgres"))) as conn:
            conn.autocommit = True
            conn.cursor().execute("CREATE DATABASE devicevault")
        run: dict[str, Any] = {"cwd": ROOT, "env": self.env, "check": True,
                               "capture_output": True}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], **run)
        subprocess.run([sys.executable, "-c", SETUP, str(devices), str(groups), str(schedules)],
                       **run)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        deadline = time.monotonic() + 60
        while True:
            try:
                with closing(psycopg2.connect(self.pg.url(), connect_timeout=3)) as conn:
                    conn.autocommit = True
                    cur = conn.cursor()
                    cur.execute(sql, params)
                    return list(cur.fetchall())
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis.url, socket_timeout=3)

    def leader_pid(self) -> int | None:
        try:
            raw = self.client().get(LOCK_KEY)
        except Exception:  # noqa: BLE001 - Redis may be restarting
            return None
        return int(json.loads(raw)["pid"]) if raw else None

    def stop(self) -> None:
        self.procs.stop_all()
        self.redis.stop()
        self.pg.stop()


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def run_chaos(
    tmp_path: Path, *, devices: int, groups: int = 4, schedules: int = 5,
    fault_seconds: float = 100, min_faults: int = 12, settle_seconds: float = 200,
    seed: int = 13, log: Callable[[str], None] = lambda _: None,
) -> ChaosReport:
    """Run the whole scenario; everything started here is stopped before it returns."""
    fleet = Fleet(tmp_path)
    try:
        fleet.prepare(devices, groups, schedules)
        log(f"fleet ready: {devices} devices, {groups} groups, {schedules} schedules")
        return _drive(fleet, random.Random(seed), devices=devices, groups=groups,
                      schedules=schedules, fault_seconds=fault_seconds,
                      min_faults=min_faults, settle_seconds=settle_seconds, log=log)
    finally:
        fleet.stop()


def _drive(fleet: Fleet, rng: random.Random, *, devices: int, groups: int, schedules: int,
           fault_seconds: float, min_faults: int, settle_seconds: float,
           log: Callable[[str], None]) -> ChaosReport:
    # A worker per group, and one more on every group's queue: the group's slot keeps the
    # two consumers of each queue serial. (Two processes per group would halve the rate:
    # a task that finds its group busy waits a second or two as a retried message.)
    starts: list[Callable[[], Proc]] = [
        functools.partial(fleet.procs.worker, f"collect.chaos-{g}", concurrency=1,
                          all_queues=False)
        for g in range(groups)
    ]
    starts.append(functools.partial(fleet.procs.worker, concurrency=1))
    workers = [start() for start in starts]
    for worker in workers:
        worker.wait_for(r"ready", timeout=60)

    def supervise() -> None:
        """What a supervisor (compose `restart:`, systemd) does: start what exited. A
        Celery worker may exit on a broker restart ("Unrecoverable error: AttributeError
        … 'hostname'", a kombu reconnection bug); beats exit when Redis is gone a TTL."""
        for i, worker in enumerate(workers):
            if worker.popen.poll() is not None:
                log(f"worker {worker.name} exited ({worker.popen.returncode}); restarted")
                workers[i] = starts[i]()
        for i, beat in enumerate(beats):
            if beat.popen.poll() is not None:
                beats[i] = fleet.procs.beat()

    beats = [fleet.procs.beat() for _ in range(2)]
    deadline = time.monotonic() + 60
    while fleet.leader_pid() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    window_start = datetime.now(UTC)

    plan = rng.sample(FAULTS, len(FAULTS))  # each kind once, then at random
    done: Counter[str] = Counter()
    end = time.monotonic() + fault_seconds
    while (time.monotonic() < end or len(done) < len(FAULTS)
           or sum(done.values()) < min_faults):
        fault = plan.pop(0) if plan else rng.choice(FAULTS)
        time.sleep(rng.uniform(1, 6))
        supervise()
        if fault == "kill_beat":
            victim = rng.choice(beats)
            fleet.killed.add(victim.pid)
            victim.signal(signal.SIGKILL)
            victim.wait(10)
            beats[beats.index(victim)] = fleet.procs.beat()
        elif fault == "kill_worker_child":
            children = [c for w in workers for c in _children(w.pid)]
            if not children:
                continue
            child = rng.choice(children)
            fleet.killed.add(child)
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                continue
        elif fault == "delete_lock":
            fleet.client().delete(LOCK_KEY)
        elif fault == "stop_leader":
            pid = fleet.leader_pid()  # may name a beat just killed: its lock outlives it
            try:
                if pid is None:
                    continue
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            time.sleep(LOCK_TTL + 2)
            os.kill(pid, signal.SIGCONT)
        elif fault == "restart_redis":
            fleet.redis.restart()
        elif fault == "restart_postgres":
            fleet.pg.restart()
        done[fault] += 1
        log(f"fault {sum(done.values())}: {fault}")
    window_end = datetime.now(UTC)

    # No new occurrences: disable the schedules (the beat sees it within a second or so).
    fleet.query("UPDATE schedules_backupschedule SET enabled = false RETURNING id")
    fleet.client().incr(SCHEDULES_VERSION_KEY)
    supervise()

    first = window_start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    occurrences = []
    while first <= window_end:
        occurrences.append(first)
        first += timedelta(minutes=1)
    expected = devices // schedules * len(occurrences)
    in_window = "FROM devices_devicebackupresult WHERE scheduled_for = ANY(%s)"
    started = time.monotonic()
    settled: float | None = None
    while time.monotonic() - started < settle_seconds:
        supervise()
        ((total, final),) = fleet.query(
            f"SELECT count(*), count(*) FILTER (WHERE status = ANY(%s)) {in_window}",
            list(FINAL), occurrences)
        if total == expected and final == expected:
            settled = time.monotonic() - started
            break
        time.sleep(2)
    time.sleep(2)  # duplicates still in flight must find their rows already claimed
    log(f"settled: {settled}")

    rows = fleet.query(f"SELECT id, device_id, scheduled_for, status, attempts {in_window}",
                       occurrences)
    per_occurrence = Counter((device, when) for _, device, when, _, _ in rows)
    report = ChaosReport(
        devices=devices, device_occurrences=expected, faults=done, settled_seconds=settled,
        attempts=Counter(r[4] for r in rows),
    )
    report.lost = expected - len(per_occurrence) + sum(1 for r in rows if r[3] not in FINAL)
    report.duplicated = sum(n - 1 for n in per_occurrence.values())
    report.duplicates += [f"device {device} at {when.isoformat()}: {n} rows"
                          for (device, when), n in per_occurrence.items() if n > 1]
    report.not_success = Counter(r[3] for r in rows if r[3] != "success")

    lines = [line.split() for line in fleet.collect_log.read_text().splitlines()]
    by_result: dict[int, list[list[str]]] = {}
    for line in lines:
        by_result.setdefault(int(line[0]), []).append(line)
    for result_id, _, _, status, attempts in rows:
        collections = by_result.get(result_id, [])
        if status == "success" and not collections:
            report.lost += 1  # "success" without a collection would be a lie
        survivors = [c for c in collections if int(c[5]) not in fleet.killed]
        twice = max(0, len(survivors) - 1)
        report.duplicated += twice
        if twice:
            report.duplicates.append(
                f"result {result_id} (attempts {attempts}): collected by pids "
                + ", ".join(f"{c[5]} at {c[3]}" for c in collections))
        report.collected_again_after_a_kill += max(0, len(collections) - 1) - twice
    spans: dict[str, list[tuple[float, float]]] = {}
    for line in lines:
        spans.setdefault(line[2], []).append((float(line[3]), float(line[4])))
    for group_spans in spans.values():
        group_spans.sort()
        latest_end = 0.0
        for start, end_at in group_spans:
            if start < latest_end:
                report.overlapping += 1
            latest_end = max(latest_end, end_at)
    return report
