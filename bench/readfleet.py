"""The read side's benchmark fleet: devices, schedules and months of results, made in SQL.

`ensure_fleet()` fills a PostgreSQL database (already migrated, Django set up) with
`devices` devices over `schedules` schedules in four device groups and eight collection
groups, a user whose one Django group sees two of the device groups (half the fleet), and
`result_days` daily results per device (10 M rows for 100,000 devices over 100 days). Rows are
made by `INSERT … SELECT … generate_series` in PostgreSQL, never by the ORM row by row, with
the results' triggers (foreign-key checks) off for the loading session: 10 M rows take a few
minutes. A database whose fingerprint (sizes, mix, generator version, the columns of its
tables) matches is reused as it is: only a changed fleet or a changed column fills it again.

Results, per device and day (deterministic, from the ids): 1 % of the devices never had one;
about 90 % of the rest succeeded, 6 % failed (five error texts), 2 % missed their window and
2 % were skipped; a device in 23 has failed for its last 20 days (stale). Every device and
schedule was created before the first result, so staleness is decided by the results.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from typing import Any

GENERATOR_VERSION = 1
DEVICE_GROUPS = ("core", "branch", "dmz", "lab")
VISIBLE_GROUPS = ("core", "branch")  # half of the four; devices are spread evenly
USERNAME, PASSWORD = "bench", "bench-password-1"
FINGERPRINT_TABLE = "bench_readfleet_fingerprint"
ERRORS = (
    "ssh: connection timed out", "auth failed: bad password", "ssh: host key mismatch",
    "command failed: exit status 1", "output check failed: no end line",
)


def schedule_fields(index: int, mix: str) -> dict[str, object]:
    """Schedule number `index` in a mix of the four types.

    `realistic`: 60 % daily, 25 % weekly, 10 % monthly, 5 % twice a day (cron); `daily`: all
    daily; `wide`: a large fleet's many schedules, 5 % daily, 60 % weekly, 35 % monthly, so that
    1,000 of them stay under the calendar's 5,000 entries in 30 days (about 4,400).
    """
    hour, minute = index % 24, (index * 7) % 60
    daily: dict[str, object] = {"schedule_type": "daily", "hour": hour, "minute": minute}
    weekly: dict[str, object] = {"schedule_type": "weekly", "day_of_week": index % 7,
                                 "hour": hour, "minute": minute}
    monthly: dict[str, object] = {"schedule_type": "monthly", "day_of_month": 1 + index % 28,
                                  "hour": hour, "minute": minute}
    if mix == "daily":
        return daily
    kind = index % 20
    if mix == "wide":
        return daily if kind < 1 else weekly if kind < 13 else monthly
    if kind < 12:
        return daily
    if kind < 17:
        return weekly
    if kind < 19:
        return monthly
    return {"schedule_type": "cron", "cron_expression": f"{minute} {hour},{(hour + 12) % 24} * * *"}


def fingerprint(*, devices: int, schedules: int, mix: str, result_days: int) -> str:
    """What the database holds: the sizes, the generator and the columns of the tables it
    fills. A migration that only adds an index keeps the fleet (migrate builds the index on
    it, as in production); one that changes a column fills it again."""
    from django.db import connection

    tables = [t for t in _TABLES.replace(",", " ").split() if t]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type, is_nullable"
            " FROM information_schema.columns WHERE table_name = ANY(%s)"
            " ORDER BY table_name, column_name", [tables],
        )
        columns = cursor.fetchall()
    text = json.dumps([GENERATOR_VERSION, devices, schedules, mix, result_days, columns])
    return hashlib.sha256(text.encode()).hexdigest()


def stored_fingerprint() -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {FINGERPRINT_TABLE} (value text NOT NULL)")
        cursor.execute(f"SELECT value FROM {FINGERPRINT_TABLE}")
        row = cursor.fetchone()
    return row[0] if row else None


def ensure_fleet(*, devices: int, schedules: int, mix: str, result_days: int,
                 log: Any = print) -> bool:
    """Fill the database unless its fingerprint matches; True when it was (re)filled."""
    wanted = fingerprint(devices=devices, schedules=schedules, mix=mix, result_days=result_days)
    if stored_fingerprint() == wanted:
        log(f"fleet: reusing the database ({devices:,} devices, {schedules:,} schedules, "
            f"{result_days} days of results)")
        return False
    started = time.perf_counter()
    populate(devices=devices, schedules=schedules, mix=mix, result_days=result_days, log=log)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FINGERPRINT_TABLE}")
        cursor.execute(f"INSERT INTO {FINGERPRINT_TABLE} VALUES (%s)", [wanted])
    log(f"fleet: filled in {time.perf_counter() - started:.0f} s")
    return True


def populate(*, devices: int, schedules: int, mix: str, result_days: int,
             log: Any = print) -> None:
    """Empty the tables and fill them again (see the module docstring)."""
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.utils import timezone

    from devices.models import CollectionGroup, DeviceGroup
    from schedules.models import BackupSchedule
    from schedules.services import refresh_schedule_fields

    now = timezone.now()
    first_day = (now - timedelta(days=result_days)).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
    created = first_day - timedelta(days=30)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE")
    with transaction.atomic():
        viewers = Group.objects.create(name="bench-half")
        groups = []
        for name in DEVICE_GROUPS:
            group = DeviceGroup.objects.create(name=name)
            if name in VISIBLE_GROUPS:
                group.user_groups.add(viewers)
            groups.append(group.pk)
        zones = [CollectionGroup.objects.create(name=f"zone-{n}").pk for n in range(8)]
        rows = []
        for index in range(schedules):
            schedule = BackupSchedule(name=f"Schedule {index:04d}", **schedule_fields(index, mix))
            schedule.full_clean()
            refresh_schedule_fields(schedule)  # bulk_create skips the pre_save signal
            rows.append(schedule)
        made = [s.pk for s in BackupSchedule.objects.bulk_create(rows)]
        BackupSchedule.objects.update(active_since=created, updated_at=created)
        user = User.objects.create_user(USERNAME, password=PASSWORD)
        user.groups.add(viewers)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO devices_device (name, ip_address, enabled, device_group_id,"
                " collection_group_id, backup_schedule_id, backup_method, platform,"
                " backup_command, ssh_host_key, ssh_host_key_offered, created_at, updated_at)"
                " SELECT 'bench-' || lpad(n::text, 6, '0'),"
                " ('10.' || (n / 65536 %% 256) || '.' || (n / 256 %% 256) || '.'"
                " || (n %% 256))::inet,"
                " n %% 50 <> 0, (%s::int[])[n %% 4 + 1], (%s::int[])[n %% 8 + 1],"
                " (%s::int[])[n %% %s + 1], 'ssh', 'cisco_ios', '', '', '', %s, %s"
                " FROM generate_series(0, %s - 1) AS n",
                [groups, zones, made, len(made), created, created, devices],
            )
    log(f"fleet: {devices:,} devices on {schedules:,} schedules; results…")
    errors = "ARRAY[" + ", ".join(f"'{e}'" for e in ERRORS) + "]"
    step = 10  # days per statement: about 1 M rows each at 100,000 devices
    with connection.cursor() as cursor:
        # A freshly made fleet: skip the per-row foreign-key triggers while loading.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET synchronous_commit = off")
        try:
            for first in range(0, result_days, step):
                began = time.perf_counter()
                with transaction.atomic():
                    cursor.execute(_RESULTS_SQL.format(errors=errors), [
                        first, min(first + step, result_days) - 1, first_day, result_days,
                    ])
                log(f"  days {first}-{min(first + step, result_days) - 1}: "
                    f"{cursor.rowcount:,} results in {time.perf_counter() - began:.1f} s")
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
        began = time.perf_counter()
        cursor.execute("VACUUM ANALYZE")
        log(f"  VACUUM ANALYZE: {time.perf_counter() - began:.0f} s")


_TABLES = ("devices_devicebackupresult, devices_device, devices_devicegroup_user_groups,"
           " devices_devicegroup, devices_collectiongroup, schedules_backupschedule,"
           " auth_user_groups, auth_group, auth_user, django_session, knox_authtoken")

# One row per device (but 1 % of them) per day: the day's occurrence at the schedule's hour.
# `h` is a per-(device, day) pseudo-random number in 0..99; a device in 23 fails its last 20.
_RESULTS_SQL = """
INSERT INTO devices_devicebackupresult (device_id, schedule_id, schedule_name, scheduled_for,
    status, is_catchup, manual, skip_reason, attempts, queued_at, publish_after, published_at,
    started_at, finished_at, error, held)
SELECT d.id, d.backup_schedule_id, '', r.at, r.status, false, false,
    CASE WHEN r.status = 'skipped' THEN 'overlap' ELSE '' END, 1, r.at, NULL, r.at,
    CASE WHEN r.status IN ('success', 'failed') THEN r.at + interval '5 seconds' END,
    CASE WHEN r.status = 'skipped' THEN NULL
         ELSE r.at + interval '5 seconds' + (r.h * 0.37 + 2) * interval '1 second' END,
    CASE WHEN r.status = 'failed' THEN ({errors})[r.h %% 5 + 1]
         WHEN r.status = 'missed_window' THEN 'missed its window' ELSE '' END,
    false
FROM devices_device d
CROSS JOIN generate_series(%s, %s) AS day
CROSS JOIN LATERAL (
    SELECT %s::timestamptz + (day * interval '1 day')
           + ((d.backup_schedule_id %% 24) * interval '1 hour') AS at,
           ((d.id * 7919 + day * 104729) %% 100) AS h
) AS hh
CROSS JOIN LATERAL (
    SELECT hh.at, hh.h, CASE
        WHEN d.id %% 23 = 0 AND day >= %s - 20 THEN 'failed'
        WHEN hh.h < 90 THEN 'success' WHEN hh.h < 96 THEN 'failed'
        WHEN hh.h < 98 THEN 'missed_window' ELSE 'skipped' END AS status
) AS r
WHERE d.id %% 100 <> 0
"""
