"""Benchmark of `GET /api/scheduled-backups/calendar/` on a large fleet (not a test).

    DJANGO_SETTINGS_MODULE=project.settings .venv/bin/python -m bench.calendar_bench \
        [--devices 100000] [--schedules 1000] [--days 30] [--runs 20] [--mix wide|realistic|daily]

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/devicevault_bench), created and migrated when missing,
holding the fleet of `bench.readfleet` (made in SQL, reused while its fingerprint matches):
`--devices` devices over `--schedules` schedules in four device groups, and a user whose one
Django group may see two of them (half the fleet). The `wide` mix keeps 1,000 schedules under
the 5,000 entries one calendar answer may hold over 30 days. The calendar is then
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

BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/devicevault_bench"
)
# Before Django reads its settings: never touch the development or test database.
os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

TARGET_MS = 100.0
TARGET_QUERIES = 10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--schedules", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--mix", choices=("realistic", "daily", "wide"), default="wide")
    parser.add_argument("--result-days", type=int, default=0,
                        help="days of results of the fleet (bench.readfleet; the calendar "
                        "window is in the future, so they only share the database)")
    args = parser.parse_args(argv)

    from bench.common import ensure_database

    ensure_database(BENCH_DATABASE_URL)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench import readfleet
    from devices.api.renderers import CalendarData, CalendarJSONRenderer
    from devices.models import Device
    from devices.selectors import calendar_for_user

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    began = time.perf_counter()
    call_command("migrate", verbosity=0)  # on a kept fleet: builds a new index on its rows
    print(f"migrate: {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    started = time.perf_counter()
    readfleet.ensure_fleet(devices=args.devices, schedules=args.schedules, mix=args.mix,
                           result_days=args.result_days)
    user = User.objects.get(username=readfleet.USERNAME)
    print(
        f"fleet: {args.devices} devices on {args.schedules} schedules ({args.mix} mix), "
        f"{len(readfleet.DEVICE_GROUPS)} device groups; the user sees "
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
