"""Anchor: django-celery-beat's `DatabaseScheduler`, set up the way its users would, measured
on the same machine in the same run. Started by `python -m bench` (DJANGO_SETTINGS_MODULE
bench.settings, its own database, the anchors' Redis database).

Two ways to express our fleet in it: one PeriodicTask per backup schedule whose task fans out
to the devices (a worker then sends one task per device: see the `send_task` figure), or one
PeriodicTask per device. Both are measured where they differ: the idle tick (per schedule,
and per device at 10,000 devices) and publishing N due entries (per device).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    CELERY,
    DISPLAY_TIMEZONE,
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
    publish_timeout: float  # seconds; beyond it the time is extrapolated from the rate
    duplicates_seconds: int
    memory_entries: int


SIZES = {
    "full": Sizes(idle=[10, 100, 1_000], idle_per_device=10_000, ticks=100, publish=[1_000],
                  publish_timeout=120, duplicates_seconds=15, memory_entries=10_000),
    "quick": Sizes(idle=[10], idle_per_device=0, ticks=20, publish=[30], publish_timeout=30,
                   duplicates_seconds=4, memory_entries=100),
}


def clear() -> None:
    """Remove every entry at once (a queryset delete() would signal once per row)."""
    from django.db import connection
    from django_celery_beat.models import PeriodicTasks

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE django_celery_beat_periodictask, "
                       "django_celery_beat_crontabschedule, django_celery_beat_intervalschedule "
                       "RESTART IDENTITY CASCADE")
    PeriodicTasks.update_changed()


def crontabs(n: int) -> list[Any]:
    """One crontab per backup schedule: weekly, local time, never due during the run."""
    from django_celery_beat.models import CrontabSchedule

    rows = [CrontabSchedule(minute=str(minute), hour=str(hour), day_of_week=str((day + 1) % 7),
                            day_of_month="*", month_of_year="*", timezone=DISPLAY_TIMEZONE)
            for day, hour, minute in idle_schedule_times(n)]
    return CrontabSchedule.objects.bulk_create(rows)


def per_schedule_entries(n: int) -> None:
    """One PeriodicTask per backup schedule, whose task would fan out to its devices."""
    from django_celery_beat.models import PeriodicTask

    clear()
    PeriodicTask.objects.bulk_create(
        PeriodicTask(name=f"backup-schedule-{i}", task="bench.fanout_schedule",
                     crontab=cron, args=json.dumps([i]))
        for i, cron in enumerate(crontabs(n))
    )


def per_device_entries(devices: int, schedules: int) -> None:
    """One PeriodicTask per device, on its schedule's crontab (devices spread over schedules)."""
    from django_celery_beat.models import PeriodicTask

    clear()
    crons = crontabs(schedules)
    PeriodicTask.objects.bulk_create(
        (PeriodicTask(name=f"device-{i}", task="device.collect", crontab=crons[i % schedules],
                      args=json.dumps([device_payload(i)])) for i in range(devices)),
        batch_size=2000,
    )


def scheduler() -> Any:
    from django_celery_beat.schedulers import DatabaseScheduler

    from project.celery import app

    return DatabaseScheduler(app=app)


# -- idle tick ---------------------------------------------------------------------------------
def idle_tick(res: Results, sizes: Sizes, repeat: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    section("idle tick: django-celery-beat")
    cases = [(n, "schedule", n) for n in sizes.idle]
    if sizes.idle_per_device:
        cases.append((sizes.idle_per_device, "device", 100))
    for entries, per, schedules in cases:
        if per == "schedule":
            per_schedule_entries(entries)
        else:
            per_device_entries(entries, schedules)
        walls: list[float] = []
        queries: list[float] = []
        loaded = 0
        ticks = sizes.ticks if entries <= 1000 else max(10, sizes.ticks // 5)
        for _ in range(repeat):
            sched = scheduler()
            for _ in range(5):
                sched.tick()
            loaded = len(sched.schedule)
            times = []
            for _ in range(ticks):
                started = time.perf_counter()
                sched.tick()
                times.append((time.perf_counter() - started) * 1000)
            counts = []
            for _ in range(10):
                with CaptureQueriesContext(connection) as captured:
                    sched.tick()
                counts.append(len(captured))
            walls.append(statistics.median(times))
            queries.append(max(counts))
        label = f"django-celery-beat: {entries:,} entries (one per {per})"
        res.add(f"idle.dcb.{per}.{entries}", label, "ms", walls,
                note=f"{loaded:,} entries loaded", entries=entries)
        res.add(f"idle.dcb.{per}.{entries}.queries", f"{label}: SQL queries per tick",
                "queries", queries, entries=entries)


# -- publishing N due entries -------------------------------------------------------------------
def publish(res: Results, sizes: Sizes, repeat: int) -> None:
    from celery.signals import after_task_publish
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from project.redis_client import redis_client

    section("publish N due entries: django-celery-beat")
    sent = [0]

    def count(**kwargs: Any) -> None:
        sent[0] += 1

    after_task_publish.connect(count, weak=False)
    for n in sizes.publish:
        clear()
        every_minute = CrontabSchedule.objects.create(minute="*", hour="*", day_of_week="*",
                                                      day_of_month="*", month_of_year="*",
                                                      timezone=DISPLAY_TIMEZONE)
        PeriodicTask.objects.bulk_create(
            (PeriodicTask(name=f"device-{i}", task="device.collect", crontab=every_minute,
                          args=json.dumps([device_payload(i)])) for i in range(n)),
            batch_size=2000,
        )
        times, notes = [], []
        for _ in range(repeat):
            reset_redis(redis_client())
            PeriodicTask.objects.update(last_run_at=datetime.now(UTC) - timedelta(minutes=10),
                                        total_run_count=0)
            sched = scheduler()
            sent[0] = 0
            started = time.perf_counter()
            deadline = started + sizes.publish_timeout
            # Celery's beat loop (celery.beat.Service.start): tick, sleep what it asks, sync.
            while sent[0] < n and time.perf_counter() < deadline:
                interval = sched.tick()
                if interval and interval > 0:
                    time.sleep(max(0.0, min(interval, deadline - time.perf_counter())))
                    if sched.should_sync():
                        sched._do_sync()
            elapsed = time.perf_counter() - started
            if sent[0] < n:
                # Not finished within the budget: the time for all n at the rate reached.
                notes.append(f"stopped after {elapsed:.0f} s with {sent[0]:,}/{n:,} sent; "
                             "time extrapolated")
                elapsed = elapsed * n / max(sent[0], 1)
            times.append(elapsed)
        rate = n / statistics.median(times)
        res.add(f"publish.dcb.{n}", f"django-celery-beat: {n:,} due entries (one per device) "
                "→ all published", "s", times,
                note="; ".join(dict.fromkeys(notes)) or f"{rate:,.0f} tasks/s", n=n, rate=rate)
    after_task_publish.disconnect(count)


# -- two beats: duplicates; memory --------------------------------------------------------------
def duplicates_and_memory(res: Results, sizes: Sizes, targets: Targets,
                          log_dir: Path) -> None:
    """Two real DatabaseScheduler beats (there is no lock: both run) with one entry every
    second, and `memory_entries` per-device entries that are not due (loaded, kept in memory)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from project.redis_client import redis_client

    entries = sizes.memory_entries
    window = sizes.duplicates_seconds
    section(f"two django-celery-beat beats for {window} s, {entries:,} entries")
    per_device_entries(entries, min(100, entries))
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="heartbeat", task="bench.heartbeat", interval=every_second)
    reset_redis(redis_client())
    env = child_env(targets, database=targets.dcb_db, redis_url=targets.anchor_redis,
                    DJANGO_SETTINGS_MODULE="bench.settings")
    argv = [CELERY, "-A", "project", "beat", "-l", "info", "-S",
            "django_celery_beat.schedulers:DatabaseScheduler"]
    with Procs(log_dir) as procs:
        beats = [procs.start("dcb-beat", argv, env), procs.start("dcb-beat", argv, env)]
        for beat in beats:
            beat.wait_for(r"Sending due task heartbeat", timeout=180)
        begin = time.time() + 1
        time.sleep(1 + window + 0.5)
        end = begin + window
        sends = []
        for beat in beats:
            times = [line_time(line) for line in beat.lines(r"Sending due task heartbeat")]
            sends.append(sum(1 for t in times if t is not None and begin <= t < end))
        memory = [wait_settled_rss(beat, quiet_for=1.0, timeout=20) for beat in beats]
    total = sum(sends)
    res.add("duplicates.dcb", f"django-celery-beat: two beats, one entry every 1 s, {window} s",
            "sends", [total],
            note=f"{sends[0]} + {sends[1]} sends for {window} due: ×{total / window:.1f}; "
            "no lock, so a standby duplicates every task", expected=window, sends=sends)
    res.add("memory.dcb", f"django-celery-beat: peak RSS of a real beat, {entries:,} entries",
            "MiB", [m["VmHWM"] / 1024 for m in memory], entries=entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sections", default="idle,publish,duplicates")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    targets = Targets.from_json(os.environ["BENCH_TARGETS"])
    wanted = set(args.sections.split(","))

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command

    for name in ("celery", "django_celery_beat", "kombu"):
        logging.getLogger(name).setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    res = Results()
    try:
        if "idle" in wanted:
            idle_tick(res, sizes, args.repeat)
        if "publish" in wanted:
            publish(res, sizes, min(args.repeat, 3) if not args.quick else 1)
        if "duplicates" in wanted:
            duplicates_and_memory(res, sizes, targets, Path(targets.var_dir) / "logs")
        clear()
    finally:
        res.dump(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
