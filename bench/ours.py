"""Our beat, measured: idle tick, fan-out, the machine's publishing limits, lateness, failover
and memory. Started by `python -m bench` (its environment names the databases to use).

In-process figures drive `beat.service.BeatService` exactly as Celery's loop does (`tick()`),
on the real PostgreSQL and Redis; the others run real `python -m beat` processes.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    PYTHON,
    ZONES,
    Procs,
    Results,
    Targets,
    child_env,
    idle_schedule_times,
    line_time,
    loopback,
    percentile,
    reset_redis,
    section,
)


@dataclass(frozen=True)
class Sizes:
    """How big each figure is: the goals' sizes, or the smallest that still runs (--quick)."""

    idle: list[tuple[int, int]]  # (devices, schedules)
    fanout: list[int]  # devices of one occurrence
    ticks: int  # idle ticks timed per run
    raw_n: int  # messages per raw Redis figure
    send_task_n: int
    lateness_schedules: int
    lateness_devices: int
    memory_devices: int
    memory_schedules: int


SIZES = {
    "full": Sizes(idle=[(1_000, 10), (10_000, 100), (100_000, 1_000)],
                  fanout=[1_000, 10_000, 100_000], ticks=300, raw_n=100_000,
                  send_task_n=10_000, lateness_schedules=20, lateness_devices=100,
                  memory_devices=100_000, memory_schedules=1_000),
    "quick": Sizes(idle=[(200, 5)], fanout=[300], ticks=30, raw_n=5_000, send_task_n=100,
                   lateness_schedules=3, lateness_devices=6, memory_devices=300,
                   memory_schedules=5),
}


class Fleet:
    """Devices and schedules in the benchmark database, reassigned in place between figures."""

    def __init__(self, *, devices: int, idle_schedules: int, lateness_schedules: int) -> None:
        from django.db import connection, transaction

        from devices.models import CollectionGroup, Device
        from schedules.models import BackupSchedule
        from schedules.services import refresh_schedule_fields

        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE devices_devicebackupresult, devices_device, devices_collectiongroup, "
                "schedules_backupschedule, beat_schedulerstate RESTART IDENTITY CASCADE"
            )
        with transaction.atomic():
            zones = [CollectionGroup.objects.create(name=f"zone-{z}") for z in range(ZONES)]
            rows = []
            for i, (day, hour, minute) in enumerate(idle_schedule_times(idle_schedules)):
                rows.append(BackupSchedule(name=f"weekly-{i:04d}", schedule_type="weekly",
                                           day_of_week=day, hour=hour, minute=minute))
            rows.append(BackupSchedule(name="hourly-fanout", schedule_type="cron",
                                       cron_expression="0 * * * *", enabled=False))
            rows += [BackupSchedule(name=f"every-minute-{i:02d}", schedule_type="cron",
                                    cron_expression="* * * * *", enabled=False)
                     for i in range(lateness_schedules)]
            for row in rows:
                refresh_schedule_fields(row)
                # active since yesterday: a catch-up of the last hour's occurrence is legitimate
                row.active_since = datetime.now(UTC) - timedelta(days=1)
            made = BackupSchedule.objects.bulk_create(rows)
            self.idle_ids = [s.pk for s in made[:idle_schedules]]
            self.fanout_id = made[idle_schedules].pk
            self.lateness_ids = [s.pk for s in made[idle_schedules + 1:]]
            Device.objects.bulk_create(
                (Device(name=f"dev-{i:06d}", ip_address=loopback(i),
                        collection_group=zones[i % ZONES]) for i in range(devices)),
                batch_size=5000,
            )
            self.periodic_tasks = _periodic_tasks(idle_schedules)
        self.devices = devices
        self._analyze()

    def assign(self, *, enabled: list[int], devices: int, expression: str) -> None:
        """Enable exactly `enabled` schedules; give devices 1..`devices` the schedule id
        `expression` (SQL over the device `id`) and the rest none."""
        from django.db import connection

        from schedules.models import BackupSchedule

        BackupSchedule.objects.exclude(pk__in=enabled).update(enabled=False)
        BackupSchedule.objects.filter(pk__in=enabled).update(enabled=True)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE devices_device SET backup_schedule_id = CASE WHEN id <= %s "
                f"THEN {expression} END", [devices]
            )
        self._analyze()

    @staticmethod
    def _analyze() -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE devices_device")
            cursor.execute("VACUUM ANALYZE schedules_backupschedule")


def _periodic_tasks(n: int) -> int:
    """`n` django-celery-beat PeriodicTasks beside the schedules (daily, none due while the
    benchmark runs): the leader holds them all, and its idle tick must not walk them."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    PeriodicTask.objects.filter(name__startswith="bench-").delete()
    daily, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.bulk_create(
        PeriodicTask(name=f"bench-{i:05d}", task="bench.noop", interval=daily,
                     last_run_at=datetime.now(UTC))
        for i in range(n)
    )
    return n


def broker_is_amqp() -> bool:
    """Whether the broker measured is RabbitMQ (`python -m bench --broker amqp://…`)."""
    from django.conf import settings

    return bool(settings.BROKER_IS_AMQP)


def collection_queues() -> list[str]:
    from devices.dispatch.queues import DEFAULT_QUEUE

    return [DEFAULT_QUEUE, *(f"collect.zone-{z}" for z in range(ZONES))]


def purge_rabbitmq() -> None:
    """Empty the benchmark's collection queues on RabbitMQ (a queue not declared yet is
    skipped)."""
    from amqp.exceptions import NotFound
    from django.conf import settings
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=5) as conn:
        channel = conn.connection.channel()
        for name in collection_queues():
            try:
                channel.queue_purge(name)
            except NotFound:
                channel = conn.connection.channel()


def fresh_start() -> None:
    """No results, no scheduler state (so no catch-up), an empty Redis database (and empty
    collection queues when the broker is RabbitMQ)."""
    from django.db import connection

    from project.redis_client import redis_client

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE devices_devicebackupresult, beat_schedulerstate CASCADE")
    reset_redis(redis_client())
    if broker_is_amqp():
        purge_rabbitmq()


def new_leader() -> Any:
    """A BeatService that has taken the lock and become leader (one `tick()`)."""
    from beat.service import BeatService

    service = BeatService()
    service.start()
    service.tick()
    if not service.leader:
        raise RuntimeError("the benchmark's BeatService did not get the lock")
    return service


def queued_messages() -> int:
    """Messages waiting in the collection queues of the broker measured."""
    if broker_is_amqp():
        from django.conf import settings

        from project.metrics import read_amqp_queue_depths

        return sum(read_amqp_queue_depths(settings.CELERY_BROKER_URL,
                                          collection_queues()).values())
    from project.redis_client import redis_client

    client = redis_client()
    return sum(client.llen(key) for key in client.scan_iter(match="collect.*", count=1000))


# -- 1. idle tick ----------------------------------------------------------------------------
def idle_tick(res: Results, fleet: Fleet, sizes: list[tuple[int, int]], repeat: int,
              ticks: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from beat.models import record_tick

    section("idle tick: ours")
    writes: list[float] = []
    for devices, schedules in sizes:
        ids = fleet.idle_ids[:schedules]
        first = ids[0]
        fleet.assign(enabled=ids, devices=devices, expression=f"{first} + MOD(id - 1, {schedules})")
        walls: list[float] = []
        p99s: list[float] = []
        queries: list[float] = []
        for _ in range(repeat):
            fresh_start()
            service = new_leader()
            for _ in range(20):
                service.tick()  # warm: connections, statement caches
            times = []
            for _ in range(ticks):
                started = time.perf_counter()
                service.tick()
                times.append((time.perf_counter() - started) * 1000)
            counts = []
            for _ in range(max(10, ticks // 5)):
                with CaptureQueriesContext(connection) as captured:
                    service.tick()
                counts.append(len(captured))
            for _ in range(ticks):  # the tick's one query alone, as the tick writes it
                started = time.perf_counter()
                record_tick(datetime.now(UTC))
                writes.append((time.perf_counter() - started) * 1000)
            service.shutdown()
            walls.append(statistics.median(times))
            p99s.append(percentile(times, 99) or 0)
            queries.append(max(counts))
        label = f"ours: {devices:,} devices / {schedules:,} schedules"
        res.add(f"idle.ours.{schedules}", label, "ms", walls,
                note=f"p99 of a run's ticks ≤ {max(p99s):.2f} ms; beside "
                     f"{fleet.periodic_tasks:,} periodic tasks", devices=devices,
                schedules=schedules)
        res.add(f"idle.ours.{schedules}.queries", f"{label}: SQL queries per tick", "queries",
                queries, devices=devices, schedules=schedules)
    res.add("idle.ours.write", "ours: of which the one query, UPDATE SchedulerState.last_tick "
            "(committed without waiting for the WAL flush)", "ms", [statistics.median(writes)],
            note=f"median of {len(writes):,} at every size; p99 "
            f"{percentile(writes, 99) or 0:.2f} ms")


# -- 2. fan-out ------------------------------------------------------------------------------
def fire_overdue(fleet: Fleet, profile: Path | None = None, *,
                 fenced: bool = True) -> tuple[float, int]:
    """Become leader, make the hourly schedule's last occurrence due, time the tick firing it.

    `fenced=False` publishes without the lock check per batch (`held()` only, as before
    issue 13): the comparison that prices fencing."""
    service = new_leader()
    if not fenced:
        service.lock.fence = lambda: None
    spec = service.agenda.specs[fleet.fanout_id]
    occurrence = spec.recurrence.next_after(datetime.now(UTC) - timedelta(hours=1))
    service.agenda.load(list(service.agenda.specs.values()),
                        cursor=occurrence - timedelta(microseconds=1))
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    service.tick()
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    service.shutdown()
    if profiler and profile:
        profiler.dump_stats(profile)
        stats = pstats.Stats(str(profile), stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(20)
    return elapsed, queued_messages()


def fanout(res: Results, fleet: Fleet, sizes: list[int], repeat: int,
           profile: Path | None) -> None:
    from project.redis_client import redis_client

    amqp = broker_is_amqp()
    # RabbitMQ's figures get keys of their own: the goals and the anchors' comparisons are
    # about the default broker, Redis.
    key = "fanout.rabbitmq" if amqp else "fanout.ours"
    if amqp:
        from django.conf import settings

        broker = f" on RabbitMQ ({settings.AMQP_QUEUE_TYPE} queues, confirms)"
    else:
        broker = ""
    section(f"fan-out: ours{broker}")
    fleet.assign(enabled=[fleet.fanout_id], devices=min(100, fleet.devices),
                 expression=str(fleet.fanout_id))
    fresh_start()
    fire_overdue(fleet)  # warm-up: imports, broker connection, queue declarations
    for n in sizes:
        fleet.assign(enabled=[fleet.fanout_id], devices=n, expression=str(fleet.fanout_id))
        times: list[float] = []
        unfenced: list[float] = []
        size = 0
        for r in range(repeat):
            # Fenced (the product) and unfenced runs alternate, so load drift hits both.
            for fenced, out in ((True, times), (False, unfenced)):
                fresh_start()
                prof = (profile if fenced and profile and r == repeat - 1 and n == sizes[-1]
                        else None)
                elapsed, published = fire_overdue(fleet, prof, fenced=fenced)
                if published != n:
                    raise RuntimeError(f"fan-out of {n}: {published} messages in the broker")
                out.append(elapsed)
            if not amqp:
                size = len(redis_client().lindex("collect.zone-0", 0) or b"")
        rate = n / statistics.median(times)
        bare = n / statistics.median(unfenced)
        res.add(f"{key}.{n}", f"ours{broker}: {n:,} devices, due → last task in the broker",
                "s", times, note=f"{rate:,.0f} tasks/s", n=n, rate=rate, message_bytes=size)
        res.add(f"{key}.{n}.unfenced",
                f"ours{broker}: {n:,} devices without fencing (for comparison)", "s", unfenced,
                note=f"{bare:,.0f} tasks/s; fencing costs {100 * (1 - rate / bare):+.1f} %",
                n=n, rate=bare)


# -- the machine's limits --------------------------------------------------------------------
def raw_limits(res: Results, repeat: int, n: int, send_n: int, targets: Targets) -> None:
    import redis

    from project.celery import app
    from project.redis_client import redis_client

    section("publishing limits of this machine")
    url = targets.ours_redis
    client = redis.Redis.from_url(url)
    db = client.connection_pool.connection_kwargs.get("db", 0)
    host = client.connection_pool.connection_kwargs.get("host", "127.0.0.1")
    port = client.connection_pool.connection_kwargs.get("port", 6379)
    tool = shutil.which("redis-benchmark")
    for pipeline in (None, 64):
        rates = []
        for _ in range(repeat if tool else 0):
            argv = [tool or "redis-benchmark", "-h", str(host), "-p", str(port), "--dbnum",
                    str(db), "-t", "lpush", "-n", str(n), "-q"]
            if pipeline:
                argv += ["-P", str(pipeline)]
            out = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout
            match = re.search(r"LPUSH:\s*([\d.]+) requests per second", out.replace("\r", "\n"))
            if match:
                rates.append(float(match.group(1)))
            reset_redis(client)
        what = f"with -P {pipeline}" if pipeline else "without pipelining"
        res.add(f"raw.redis_benchmark.{pipeline or 1}", f"redis-benchmark -t lpush {what}",
                "tasks/s", rates, note="" if tool else "redis-benchmark not installed")

    value = b"x" * 1024
    for per_command in (1, 1000):
        rates = []
        for _ in range(repeat):
            reset_redis(client)
            pipe = client.pipeline(transaction=False)
            started = time.perf_counter()
            for _batch in range(0, n, 1000):
                if per_command == 1:
                    for _ in range(1000):
                        pipe.lpush("bench.raw", value)
                else:
                    pipe.lpush("bench.raw", *([value] * 1000))
                pipe.execute()
            rates.append(n / (time.perf_counter() - started))
        reset_redis(client)
        what = ("redis-py pipelined LPUSH of a 1 KB string (1,000 per round trip)"
                if per_command == 1 else "redis-py LPUSH of 1,000 1 KB strings per command")
        res.add(f"raw.redis_py.{per_command}", what, "tasks/s", rates)

    from devices.models import Device

    rates = []
    for _ in range(repeat):
        reset_redis(redis_client())
        started = time.perf_counter()
        count = 0
        for row in Device.objects.filter(id__lte=send_n).values(
            "id", "name", "ip_address", "collection_group__slug"
        ).iterator(chunk_size=2000):
            payload = json.dumps({"device_id": row["id"], "device_name": row["name"],
                                  "ip_address": row["ip_address"],
                                  "collection_group": row["collection_group__slug"]})
            app.send_task("device.collect", args=[payload])
            count += 1
        rates.append(count / (time.perf_counter() - started))
        if queued_messages() != count:
            raise RuntimeError("send_task loop: messages missing from the broker")
    reset_redis(redis_client())
    res.add("raw.send_task", f"Celery send_task loop over {send_n:,} devices (read from the "
            "database)", "tasks/s", rates, n=send_n)


# -- 3. lateness -----------------------------------------------------------------------------
_FANOUT = re.compile(r"fan-out: schedule=(\d+) occurrence=(\S+) catchup=(\w+) rows=(\d+) "
                     r"published=(\d+) duration=([\d.]+)s lateness=(-?[\d.]+)s")


def lateness(res: Results, fleet: Fleet, minutes: float, schedules: int, devices: int,
             procs: Procs, env: dict[str, str]) -> None:
    section(f"lateness: a real beat for {minutes:g} min")
    label = (f"ours: {schedules} schedules `* * * * *` ({devices} devices), real beat, "
             f"{minutes:g} min")
    if minutes <= 0:
        for key, what in (("start", "due → fan-out start"), ("done", "due → last task published")):
            res.add(f"lateness.ours.{key}", f"{label}: {what}", "s", [],
                    note="not measured (lateness minutes = 0)")
        return
    ids = fleet.lateness_ids[:schedules]
    fleet.assign(enabled=ids, devices=devices, expression=f"{ids[0]} + MOD(id - 1, {len(ids)})")
    fresh_start()
    beat = procs.start("beat-lateness", [PYTHON, "-m", "beat", "--loglevel", "info"], env)
    beat.wait_for(r"leading: pid=", timeout=120)
    led_at = time.time()
    first = (int(led_at // 60) + 1) * 60
    last = first + (max(1, round(minutes)) - 1) * 60
    expected = len(ids) * (max(1, round(minutes)))
    deadline = last + 30
    while time.time() < deadline:
        fired = [m for m in map(_FANOUT.search, beat.lines("fan-out:")) if m]
        if time.time() > last and len(fired) >= expected:
            break
        time.sleep(0.5)
    beat.stop()
    start, done = [], []
    for match in map(_FANOUT.search, beat.lines("fan-out:")):
        if match and match.group(3) == "False":
            lateness_s, duration = float(match.group(7)), float(match.group(6))
            start.append(lateness_s)
            done.append(lateness_s + duration)
    for key, what, values in (("start", "due → fan-out start", start),
                              ("done", "due → last task published", done)):
        p99 = percentile(values, 99)
        res.add(f"lateness.ours.{key}", f"{label}: {what}", "s", values,
                note=f"p50 {statistics.median(values):.3f} s, p99 {p99:.3f} s, "
                f"n={len(values)}" if values else "no occurrence fired",
                p99=p99, n=len(values))


# -- 4 and 7. failover and memory --------------------------------------------------------------
def failover_and_memory(res: Results, fleet: Fleet, devices: int, schedules: int, cycles: int,
                        procs: Procs, env: dict[str, str]) -> None:
    """Two real beats on a fleet of `devices`; the one that leads first catches up the hourly
    schedule's last occurrence (a fan-out to every device): its peak RSS is the memory figure.
    Then the leader is killed with SIGKILL, again and again; each time the standby takes over."""
    from beat.models import SchedulerState

    section(f"memory ({devices:,} devices) and failover ({cycles} kills)")
    enabled = fleet.idle_ids[:schedules - 1] + [fleet.fanout_id]
    fleet.assign(enabled=enabled, devices=devices, expression=str(fleet.fanout_id))
    fresh_start()
    from schedules.models import BackupSchedule

    recurrence = BackupSchedule.objects.get(pk=fleet.fanout_id).recurrence()
    occurrence = recurrence.next_after(datetime.now(UTC) - timedelta(hours=1))
    state = SchedulerState.load()
    state.last_tick = occurrence - timedelta(seconds=1)
    state.save()

    argv = [PYTHON, "-m", "beat", "--loglevel", "info"]
    pair = [procs.start("beat", argv, env), procs.start("beat", argv, env)]
    deadline = time.monotonic() + 600
    leader = None
    while leader is None:
        for proc in pair:
            if "leading: pid=" in proc.log():
                leader = proc
        if time.monotonic() > deadline:
            raise RuntimeError("no beat became leader")
        if any(p.popen.poll() is not None for p in pair):
            raise RuntimeError(f"a beat exited: {pair[0].log_path}, {pair[1].log_path}")
        time.sleep(0.05)
    standby = pair[1] if leader is pair[0] else pair[0]
    memory = leader.status()
    match = _FANOUT.search(leader.wait_for(rf"fan-out: schedule={fleet.fanout_id} ", 5))
    published = int(match.group(5)) if match else 0
    duration = float(match.group(6)) if match else 0.0
    res.add("memory.ours", f"ours: peak RSS of a real beat, {devices:,} devices on "
            f"{schedules:,} schedules and {fleet.periodic_tasks:,} PeriodicTasks, after a "
            f"{published:,}-device fan-out", "MiB",
            [memory["VmHWM"] / 1024], note=f"RSS now {memory['VmRSS'] / 1024:.0f} MiB",
            devices=devices)
    res.add("fanout.ours.process", f"ours: real beat process, catch-up fan-out of "
            f"{published:,} devices at start", "s", [duration],
            note=f"{published / duration:,.0f} tasks/s" if duration else "", n=published)

    samples = []
    standby.wait_for(r"beat started:", timeout=120)
    time.sleep(0.5)
    for cycle in range(cycles):
        mark = len(standby.log())
        killed_at = leader.kill9()
        line = standby.wait_for(r"leading: pid=", timeout=400, after=mark)
        took = (line_time(line) or time.time()) - killed_at
        samples.append(took)
        leader = standby
        if cycle < cycles - 1:
            standby = procs.start("beat", argv, env)
            standby.wait_for(r"beat started:", timeout=120)
            time.sleep(0.5)
    ttl = 180
    res.add("failover.ours", "ours: leader kill -9 → standby `leading:` (same host, "
            f"lock_ttl_seconds {ttl})", "s", samples,
            note="standby checks the lock every 2 s and takes it from a dead PID")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lateness-minutes", type=float, default=3)
    parser.add_argument("--sections", default="idle,fanout,raw,lateness,failover")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--fanout-sizes", default=None,
                        help="comma-separated fan-out sizes instead of the defaults")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    sizes = SIZES["quick" if args.quick else "full"]
    if args.fanout_sizes:
        sizes = replace(sizes, fanout=[int(n) for n in args.fanout_sizes.split(",")])
    targets = Targets.from_json(os.environ["BENCH_TARGETS"])
    wanted = set(args.sections.split(","))

    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    import django

    django.setup()
    from django.core.management import call_command

    for name in ("beat", "devices", "celery", "kombu"):
        logging.getLogger(name).setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    res = Results()
    log_dir = Path(targets.var_dir) / "logs"
    shutil.rmtree(log_dir, ignore_errors=True)
    env = child_env(targets, database=targets.ours_db, redis_url=targets.ours_redis)
    try:
        section("fleet: ours")
        most = max([d for d, _ in sizes.idle] * ("idle" in wanted) + sizes.fanout
                   + [sizes.memory_devices] * ("failover" in wanted))
        fleet = Fleet(devices=most,
                      idle_schedules=max([s for _, s in sizes.idle] + [sizes.memory_schedules]),
                      lateness_schedules=sizes.lateness_schedules)
        if "idle" in wanted:
            idle_tick(res, fleet, sizes.idle, args.repeat, sizes.ticks)
        if "fanout" in wanted:
            profile = Path(targets.var_dir) / "fanout.prof" if args.profile else None
            fanout(res, fleet, sizes.fanout, args.repeat, profile)
        if "raw" in wanted:
            raw_limits(res, args.repeat, sizes.raw_n, sizes.send_task_n, targets)
        with Procs(log_dir) as procs:
            if "lateness" in wanted:
                lateness(res, fleet, args.lateness_minutes, sizes.lateness_schedules,
                         sizes.lateness_devices, procs, env)
            if "failover" in wanted:
                failover_and_memory(res, fleet, sizes.memory_devices, sizes.memory_schedules,
                                    1 if args.quick else max(3, args.repeat), procs, env)
        fresh_start()
    finally:
        res.dump(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
