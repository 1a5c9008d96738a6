"""Benchmark of the read side of the API on a large fleet with months of results (not a test).

    DATABASE_URL=postgres://…/devicevault_bench_read .venv/bin/python -m bench.readside \
        [--devices 100000] [--schedules 1000] [--result-days 100] [--runs 10] \
        [--parts devices,analytics] [--out rows.json]

On the fleet of `bench.readfleet` (made in SQL, reused when its fingerprint matches), through
Django's test client logged in with a session as the front end is, as a user who sees half
the fleet:

- devices: `GET /api/devices/` (first page; ordered by the last backup; each
  `?backup_status=` value), latency and SQL queries per request;
- analytics: `GET /api/scheduled-backups/analytics/` over the last 30 days, for each
  `group_by`.

A request that runs into the statement timeout (`--timeout`, default 60 s) is reported as
such instead of holding the run for minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

DEVICE_FILTERS = ("success", "failed", "missed_window", "stale", "never")
GROUP_BYS = ("schedule", "device_group", "collection_group", "day")


def _many(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1_000_000 else f"{n:,}"


def measure(client: Any, url: str, runs: int) -> tuple[list[float], list[int], str]:
    """(milliseconds per request, SQL queries per request, note) over `runs` requests after a
    warm-up; stops at the first request that fails (the statement timeout)."""
    from django.db import connection
    from django.db.utils import OperationalError
    from django.test.utils import CaptureQueriesContext

    timings: list[float] = []
    queries: list[int] = []
    for index in range(runs + 1):
        try:
            with CaptureQueriesContext(connection) as captured:
                begin = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - begin) * 1000
        except OperationalError as exc:
            connection.close()
            return timings, queries, f"stopped: {str(exc).splitlines()[0]}"
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        if index:  # the first is a warm-up
            timings.append(elapsed)
            queries.append(len(captured))
    return timings, queries, ""


def summaries(mode: str, out: Any, loadavg: Any) -> None:
    """Build, forget or keep the analytics summaries (devices.analytics_summary) of the last 31
    days; a build is timed as a row of its own."""
    from django.db import connection
    from django.utils import timezone

    from devices import analytics_summary
    from devices.selectors import display_zone

    if mode == "keep" or not analytics_summary.available():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {analytics_summary.DAY_TABLE}")
        cursor.execute(f"DELETE FROM {analytics_summary.CELL_TABLE}")
    if mode == "clear":
        print("analytics summaries: none (every day read from the results)", file=sys.stderr)
        return
    began = time.perf_counter()
    made = analytics_summary.build(now=timezone.now(), zone=display_zone(), days=31, limit=31)
    seconds = time.perf_counter() - began
    print(f"analytics summaries: {made} days in {seconds:.1f} s", file=sys.stderr, flush=True)
    out.add("analytics.summaries", f"analytics summaries built, {made} days (periodic task)",
            "s", [seconds], note=f"load {loadavg()}")


def open_day(out: Any) -> Any:
    """Give today (display zone), a day still open that no summary covers, a full day of
    results: those of the day before the newest result's day (a whole day, wherever in its
    day the fleet was made) copied in, their times squeezed into the part of today gone by
    (up to ten minutes ago), so that the window's last day is read from its results at
    whatever hour the run starts. Returns the call that removes them again."""
    from django.db import connection
    from django.utils import timezone

    from devices.models import DeviceBackupResult
    from devices.selectors import display_today, display_zone, local_midnight

    table = DeviceBackupResult._meta.db_table
    zone = display_zone()
    now = timezone.now()
    today = local_midnight(display_today(), zone)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(scheduled_for) FROM {table} WHERE scheduled_for < %s",
                       [today])
        newest = cursor.fetchone()[0]
        if newest is None:
            return lambda: None
        day = newest.astimezone(zone).date() - timedelta(days=1)
        begins = local_midnight(day, zone)
        ends = local_midnight(day + timedelta(days=1), zone)
        gone = max(now - timedelta(minutes=10) - today, timedelta(minutes=1))
        squeeze = gone / (ends - begins)
        began = time.perf_counter()
        cursor.execute(
            f"INSERT INTO {table} (device_id, schedule_id, schedule_name, scheduled_for, "
            "status, skip_reason, is_catchup, manual, attempts, queued_at, published_at, "
            "started_at, finished_at, error, held) "
            "SELECT device_id, schedule_id, schedule_name, t.at, status, skip_reason, "
            "is_catchup, manual, attempts, t.at, t.at, started_at + (t.at - scheduled_for), "
            "finished_at + (t.at - scheduled_for), error, false "
            f"FROM {table}, LATERAL (SELECT %s + (scheduled_for - %s) * %s AS at) t "
            "WHERE scheduled_for >= %s AND scheduled_for < %s "
            "ON CONFLICT (device_id, schedule_id, scheduled_for) DO NOTHING",
            [today, begins, squeeze, begins, ends],
        )
        made = cursor.rowcount
    seconds = time.perf_counter() - began
    print(f"analytics: today open with {made:,} results ({day}'s, in {seconds:.1f} s)",
          file=sys.stderr, flush=True)
    out.add("analytics.open_day", "of which today, still open (read from its results)",
            "results", [made], note=f"{day}'s results, in today's first {gone}")

    def remove() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE scheduled_for >= %s", [today])

    return remove


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--schedules", type=int, default=1_000)
    parser.add_argument("--mix", choices=("realistic", "daily", "wide"), default="wide")
    parser.add_argument("--result-days", type=int, default=100)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--parts", default="devices,analytics")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per statement")
    parser.add_argument("--out", default=None, help="write the rows here (JSON)")
    parser.add_argument(
        "--summaries", choices=("build", "clear", "keep"), default="build",
        help="analytics: summarise the window's closed days first, as the periodic task does "
             "(build, timed), forget every summary (clear: every day read from the results) "
             "or leave them as they are (keep)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from bench import readfleet
    from bench.common import Results, loadavg
    from devices.models import Device, DeviceBackupResult
    from devices.selectors import display_today

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    began = time.perf_counter()
    call_command("migrate", verbosity=0)  # on a kept fleet: builds a new index on its rows
    print(f"migrate: {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    readfleet.ensure_fleet(devices=args.devices, schedules=args.schedules, mix=args.mix,
                           result_days=args.result_days,
                           log=lambda text: print(text, file=sys.stderr, flush=True))
    user = User.objects.get(username=readfleet.USERNAME)
    visible = Device.objects.restrict(user).count()
    results = DeviceBackupResult.objects.count()
    fleet = f"{args.devices:,} devices, {_many(results)} results"
    print(f"fleet: {fleet}; the user sees {visible:,} devices (load {loadavg()})",
          file=sys.stderr, flush=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(args.timeout * 1000)}")

    client = Client()
    client.force_login(user)
    out = Results()
    parts = [p for p in args.parts.split(",") if p]

    def add(key: str, label: str, url: str, runs: int, *, queries_row: bool = False) -> None:
        timings, queries, note = measure(client, url, runs)
        out.add(key, label, "ms", timings, note=note or f"load {loadavg()}",
                url=url, queries=max(queries) if queries else None)
        if queries_row and queries:
            out.add(f"{key}.queries", f"{label}: SQL queries per request", "queries",
                    queries, note="session auth included")
        if note:  # keep the connection's timeout after a reconnect
            with connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(args.timeout * 1000)}")

    if "devices" in parts:
        add("devices.page", f"GET devices, first page: {fleet}, a user seeing half",
            "/api/devices/", args.runs, queries_row=True)
        add("devices.ordering", "GET devices ordered by -last_backup, first page",
            "/api/devices/?ordering=-last_backup", max(3, args.runs // 2), queries_row=True)
        for value in DEVICE_FILTERS:
            add(f"devices.filter.{value}", f"GET devices ?backup_status={value}, first page",
                f"/api/devices/?backup_status={value}", max(3, args.runs // 2),
                queries_row=value == "stale")
    if "analytics" in parts:
        summaries(args.summaries, out, loadavg)
        remove = open_day(out)
        try:
            end = display_today()
            start = end - timedelta(days=29)
            window = DeviceBackupResult.objects.filter(
                scheduled_for__gte=timezone.now() - timedelta(days=31)).count()
            for group_by in GROUP_BYS:
                add(f"analytics.{group_by}",
                    f"GET analytics, 30 days ({_many(window)} results, today open), "
                    f"group_by={group_by}",
                    f"/api/scheduled-backups/analytics/?start={start}&end={end}"
                    f"&group_by={group_by}",
                    max(3, args.runs // 2), queries_row=group_by == "schedule")
        finally:
            remove()
    if args.out:
        out.dump(args.out)
    for row in out.rows:
        shown = (f"median {statistics.median(row.samples):.1f}" if row.samples else "-")
        print(f"{row.label}: {shown} {row.unit} {row.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
