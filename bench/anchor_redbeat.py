"""Anchor: celery-redbeat's `RedBeatScheduler`, set up the way its users would, measured on the
same machine in the same run. Started by `python -m bench` (the anchors' Redis database).

Entries are RedBeat's own (`RedBeatSchedulerEntry(...).save()`): one per backup schedule for
the idle tick, one per device for publishing N due entries.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.common import (
    CELERY,
    Procs,
    Results,
    Targets,
    child_env,
    device_payload,
    idle_schedule_times,
    line_time,
    reset_redis,
    section,
    wait_settled_rss,
)


@dataclass(frozen=True)
class Sizes:
    idle: list[int]  # entries, one per backup schedule
    idle_per_device: int  # entries, one per device (0: skipped)
    ticks: int
    publish: list[int]  # due entries, one per device
    memory_entries: int
    lock_timeout: int  # seconds, for the failover run


SIZES = {
    "full": Sizes(idle=[10, 100, 1_000], idle_per_device=10_000, ticks=300,
                  publish=[1_000, 10_000], memory_entries=10_000, lock_timeout=5),
    "quick": Sizes(idle=[10], idle_per_device=0, ticks=30, publish=[30], memory_entries=100,
                   lock_timeout=5),
}


def client() -> Any:
    from redbeat.schedulers import get_redis

    from bench.redbeat_app import app

    return get_redis(app)


def save_entries(entries: list[tuple[str, str, Any, list[Any]]],
                 last_run_at: datetime | None = None) -> None:
    """Store RedBeat entries (a new entry counts as last run now unless told otherwise)."""
    from redbeat.schedulers import RedBeatSchedulerEntry

    from bench.redbeat_app import app

    for name, task, schedule, args in entries:
        RedBeatSchedulerEntry(name=name, task=task, schedule=schedule, args=args, app=app,
                              last_run_at=last_run_at).save()


def weekly(n: int) -> list[Any]:
    """One crontab per backup schedule: weekly, local time (the app's timezone), not due."""
    from celery.schedules import crontab

    from bench.redbeat_app import app

    return [crontab(minute=minute, hour=hour, day_of_week=(day + 1) % 7, app=app)
            for day, hour, minute in idle_schedule_times(n)]


def scheduler() -> Any:
    """A RedBeatScheduler holding its lock, as after Celery's `beat_init` signal."""
    from redbeat.schedulers import RedBeatScheduler, acquire_distributed_beat_lock

    from bench.redbeat_app import app

    sched = RedBeatScheduler(app=app)
    acquire_distributed_beat_lock(sender=SimpleNamespace(scheduler=sched))
    return sched


def release(sched: Any) -> None:
    if sched.lock is not None and sched.lock.owned():
        sched.lock.release()


def idle_tick(res: Results, sizes: Sizes, repeat: int) -> None:
    section("idle tick: RedBeat")
    cases = [(n, "schedule") for n in sizes.idle]
    if sizes.idle_per_device:
        cases.append((sizes.idle_per_device, "device"))
    for entries, per in cases:
        reset_redis(client())
        crons = weekly(entries if per == "schedule" else 100)
        if per == "schedule":
            save_entries([(f"backup-schedule-{i}", "bench.fanout_schedule", cron, [i])
                          for i, cron in enumerate(crons)])
        else:
            save_entries([(f"device-{i}", "device.collect", crons[i % 100],
                           [device_payload(i)]) for i in range(entries)])
        walls = []
        for _ in range(repeat):
            sched = scheduler()
            for _ in range(5):
                sched.tick()
            times = []
            for _ in range(sizes.ticks):
                started = time.perf_counter()
                sched.tick()
                times.append((time.perf_counter() - started) * 1000)
            release(sched)
            walls.append(statistics.median(times))
        res.add(f"idle.redbeat.{per}.{entries}",
                f"RedBeat: {entries:,} entries (one per {per})", "ms", walls, entries=entries)


def publish(res: Results, sizes: Sizes, repeat: int) -> None:
    from celery.schedules import crontab
    from celery.signals import after_task_publish

    from bench.redbeat_app import app

    section("publish N due entries: RedBeat")
    sent = [0]

    def count(**kwargs: Any) -> None:
        sent[0] += 1

    after_task_publish.connect(count, weak=False)
    for n in sizes.publish:
        times = []
        runs = repeat if n <= 1_000 else 1
        for _ in range(runs):
            reset_redis(client())
            every_minute = crontab(app=app)
            # last run ten minutes ago: all due now (as for django-celery-beat)
            save_entries([(f"device-{i}", "device.collect", every_minute, [device_payload(i)])
                          for i in range(n)], last_run_at=datetime.now(UTC) - timedelta(minutes=10))
            sched = scheduler()
            sent[0] = 0
            started = time.perf_counter()
            deadline = started + 300
            while sent[0] < n and time.perf_counter() < deadline:
                interval = sched.tick()
                if sent[0] < n and interval and interval > 0:
                    time.sleep(min(interval, 0.1))
            times.append(time.perf_counter() - started)
            release(sched)
            if sent[0] < n:
                raise RuntimeError(f"RedBeat published {sent[0]} of {n}")
        rate = n / statistics.median(times)
        res.add(f"publish.redbeat.{n}", f"RedBeat: {n:,} due entries (one per device) → "
                "all published", "s", times, note=f"{rate:,.0f} tasks/s", n=n, rate=rate)
    after_task_publish.disconnect(count)
    reset_redis(client())


def failover_and_memory(res: Results, sizes: Sizes, cycles: int, targets: Targets,
                        log_dir: Path) -> None:
    """Two real RedBeat beats (a 5 s lock, a 1 s loop) holding `memory_entries` entries that are
    not due and one entry every second; the leader is killed with SIGKILL `cycles` times."""
    from celery.beat import DEFAULT_MAX_INTERVAL
    from celery.schedules import schedule

    entries, timeout = sizes.memory_entries, sizes.lock_timeout
    section(f"RedBeat: memory ({entries:,} entries) and failover with a {timeout} s lock")
    reset_redis(client())
    crons = weekly(min(100, entries))
    save_entries([(f"device-{i}", "device.collect", crons[i % len(crons)],
                   [device_payload(i)]) for i in range(entries)])
    save_entries([("heartbeat", "bench.heartbeat", schedule(1.0), [])])
    env = child_env(targets, database=targets.ours_db, redis_url=targets.anchor_redis,
                    BENCH_REDBEAT_LOCK_TIMEOUT=str(timeout), BENCH_REDBEAT_MAX_INTERVAL="1")
    argv = [CELERY, "-A", "bench.redbeat_app", "beat", "-l", "info"]
    acquired = r"beat: Acquired lock"
    samples, publishing, memory = [], [], None
    with Procs(log_dir) as procs:
        pair = [procs.start("redbeat", argv, env), procs.start("redbeat", argv, env)]
        deadline = time.monotonic() + 120
        leader = None
        while leader is None and time.monotonic() < deadline:
            leader = next((p for p in pair if acquired in p.log()), None)
            time.sleep(0.05)
        if leader is None:
            raise RuntimeError(f"no RedBeat beat took the lock: {pair[0].log_path}")
        standby = pair[1] if leader is pair[0] else pair[0]
        leader.wait_for(r"Sending due task heartbeat", timeout=60)
        memory = wait_settled_rss(leader, quiet_for=1.0, timeout=20)
        standby.wait_for(r"beat: Starting", timeout=60)
        time.sleep(1.5)
        for cycle in range(cycles):
            mark = len(standby.log())
            killed_at = leader.kill9()
            line = standby.wait_for(acquired, timeout=timeout * 4 + 60, after=mark)
            samples.append((line_time(line) or time.time()) - killed_at)
            sent = standby.wait_for(r"Sending due task heartbeat", timeout=30, after=mark)
            publishing.append((line_time(sent) or time.time()) - killed_at)
            leader = standby
            if cycle < cycles - 1:
                standby = procs.start("redbeat", argv, env)
                standby.wait_for(r"beat: Starting", timeout=60)
                time.sleep(1.5)
    reset_redis(client())
    res.add("failover.redbeat", f"RedBeat: leader kill -9 → standby holds the lock "
            f"(redbeat_lock_timeout {timeout} s, 1 s loop)", "s", samples,
            note=f"first task sent again after {statistics.median(publishing):.1f} s (median)")
    default = 5 * DEFAULT_MAX_INTERVAL
    res.add("failover.redbeat.default", "RedBeat: default lock timeout (5 × Celery's 300 s "
            "loop), so failover with default settings", "s", [default],
            note="configuration, not measured: the standby also polls only every 300 s")
    if memory:
        res.add("memory.redbeat", f"RedBeat: peak RSS of a real beat, {entries:,} entries",
                "MiB", [memory["VmHWM"] / 1024], entries=entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sections", default="idle,publish,failover")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    targets = Targets.from_json(os.environ["BENCH_TARGETS"])
    wanted = set(args.sections.split(","))
    for name in ("celery", "redbeat", "kombu"):
        logging.getLogger(name).setLevel(logging.WARNING)
    res = Results()
    try:
        if "idle" in wanted:
            idle_tick(res, sizes, args.repeat)
        if "publish" in wanted:
            publish(res, sizes, args.repeat if not args.quick else 1)
        if "failover" in wanted:
            failover_and_memory(res, sizes, 1 if args.quick else max(3, args.repeat), targets,
                                Path(targets.var_dir) / "logs")
    finally:
        res.dump(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
