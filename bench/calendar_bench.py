"""Benchmark of `GET /api/scheduled-backups/calendar/` on a large fleet (not a test).

    DJANGO_SETTINGS_MODULE=project.settings .venv/bin/python -m bench.calendar_bench \
        [--devices 10000] [--schedules 200] [--days 30] [--runs 20] [--mix realistic|daily]

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/devicevault_bench), created and migrated when missing and
refilled on every run: `--devices` devices over `--schedules` schedules in four device groups,
and a user whose one Django group may see two of them (half the fleet). The calendar is then
fetched through Django's test client, logged in with a session like the web front end, and
the median/min/max latency and the SQL query count are printed against the targets.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from urllib.parse import urlsplit

BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/devicevault_bench"
)
# Before Django reads its settings: never touch the development or test database.
os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

TARGET_MS = 150.0
TARGET_QUERIES = 10
DEVICE_GROUPS = ("core", "branch", "dmz", "lab")
VISIBLE_GROUPS = ("core", "branch")  # half of the four, devices are spread evenly


def ensure_database(url: str) -> None:
    """Create the benchmark database when it does not exist yet."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password, dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    conn.close()


def schedule_fields(index: int, mix: str) -> dict[str, object]:
    """Schedule number `index`: all daily, or a realistic mix of the four types."""
    hour, minute = index % 24, (index * 7) % 60
    if mix == "daily":
        return {"schedule_type": "daily", "hour": hour, "minute": minute}
    kind = index % 20
    if kind < 12:  # 60 % daily
        return {"schedule_type": "daily", "hour": hour, "minute": minute}
    if kind < 17:  # 25 % weekly
        return {"schedule_type": "weekly", "day_of_week": index % 7, "hour": hour,
                "minute": minute}
    if kind < 19:  # 10 % monthly
        return {"schedule_type": "monthly", "day_of_month": 1 + index % 31, "hour": hour,
                "minute": minute}
    twice = f"{minute} {hour},{(hour + 12) % 24} * * *"
    return {"schedule_type": "cron", "cron_expression": twice}


def populate(*, devices: int, schedules: int, mix: str) -> object:
    """Empty the benchmark tables and fill them again; returns the half-fleet user."""
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from devices.models import CollectionGroup, Device, DeviceGroup
    from schedules.models import BackupSchedule
    from schedules.services import refresh_schedule_fields

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE devices_devicebackupresult, devices_device, devices_devicegroup_user_groups,"
            " devices_devicegroup, devices_collectiongroup, schedules_backupschedule,"
            " auth_user_groups, auth_group, auth_user, django_session, knox_authtoken"
            " RESTART IDENTITY CASCADE"
        )
    with transaction.atomic():
        viewers = Group.objects.create(name="bench-half")
        groups = []
        for name in DEVICE_GROUPS:
            group = DeviceGroup.objects.create(name=name)
            if name in VISIBLE_GROUPS:
                group.user_groups.add(viewers)
            groups.append(group)
        zones = [CollectionGroup.objects.create(name=f"zone-{n}") for n in range(8)]
        rows = []
        for index in range(schedules):
            schedule = BackupSchedule(name=f"Schedule {index:03d}", **schedule_fields(index, mix))
            schedule.full_clean()
            refresh_schedule_fields(schedule)  # bulk_create skips the pre_save signal
            rows.append(schedule)
        made = BackupSchedule.objects.bulk_create(rows)
        Device.objects.bulk_create(
            (
                Device(
                    name=f"bench-{n:06d}",
                    ip_address=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                    device_group=groups[n % len(groups)],
                    collection_group=zones[n % len(zones)],
                    backup_schedule=made[n % len(made)],
                    enabled=n % 50 != 0,  # 2 % disabled
                )
                for n in range(devices)
            ),
            batch_size=2000,
        )
        user = User.objects.create_user("bench", password="bench-password-1")
        user.groups.add(viewers)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return user


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--mix", choices=("realistic", "daily"), default="realistic")
    args = parser.parse_args(argv)

    ensure_database(BENCH_DATABASE_URL)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from devices.api.renderers import CalendarData, CalendarJSONRenderer
    from devices.models import Device
    from devices.selectors import calendar_for_user

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    user = populate(devices=args.devices, schedules=args.schedules, mix=args.mix)
    print(
        f"fleet: {args.devices} devices on {args.schedules} schedules ({args.mix} mix), "
        f"{len(DEVICE_GROUPS)} device groups; the user sees "
        f"{Device.objects.restrict(user).count()} devices "
        f"(set up in {time.perf_counter() - started:.1f} s)"
    )

    client = Client()
    client.force_login(user)
    url = f"/api/scheduled-backups/calendar/?start=2027-09-20&days={args.days}"
    response = client.get(url)  # warm-up: connections, caches, imports
    assert response.status_code == 200, response.content[:300]

    timings, queries = [], []
    for _ in range(args.runs):
        with CaptureQueriesContext(connection) as captured:
            begin = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200
        queries.append(len(captured))
    body = response.content
    data = response.json()
    entries = sum(len(day) for day in data.values())
    listed = sum(len(entry["devices"]) for day in data.values() for entry in day)

    # Where the time goes (medians): the selector (SQL + recurrence maths), the rendering.
    selector_runs, render_runs = [], []
    for _ in range(max(3, args.runs // 4)):
        begin = time.perf_counter()
        calendar = calendar_for_user(user=user, start=date(2027, 9, 20), days=args.days)
        selector_runs.append((time.perf_counter() - begin) * 1000)
        begin = time.perf_counter()
        CalendarJSONRenderer().render(CalendarData(calendar))
        render_runs.append((time.perf_counter() - begin) * 1000)
    selector_ms, render_ms = statistics.median(selector_runs), statistics.median(render_runs)

    median = statistics.median(timings)
    print(
        f"GET calendar, {args.days} days, {args.runs} runs: median {median:.1f} ms, "
        f"min {min(timings):.1f} ms, max {max(timings):.1f} ms"
    )
    print(
        f"  SQL queries per request: {max(queries)} (session auth included; min {min(queries)})"
    )
    print(
        f"  response: {len(body) / 1e6:.2f} MB, {entries} entries listing {listed} devices; "
        f"selector {selector_ms:.1f} ms, rendering {render_ms:.1f} ms"
    )
    time_ok, queries_ok = median < TARGET_MS, max(queries) < TARGET_QUERIES
    print(
        f"targets: < {TARGET_MS:.0f} ms -> {'OK' if time_ok else 'MISSED'} "
        f"(median is {median / TARGET_MS:.2f} of the target); "
        f"< {TARGET_QUERIES} queries -> {'OK' if queries_ok else 'MISSED'}"
    )
    return 0 if time_ok and queries_ok else 1


if __name__ == "__main__":
    sys.exit(main())
