"""Benchmark of one alert evaluation (`alerts.evaluation.evaluate`) on a large fleet (not a test).

    .venv/bin/python -m bench.alerts_bench [--devices 100000] [--schedules 200] [--runs 5]

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/devicevault_alerts_bench), created and migrated when
missing and refilled on every run: `--devices` devices over `--schedules` schedules in four
device groups, created 30 days ago; 95 % have a recent success, 5 % never had one (stale).
Three rules: a superuser's (every event), a user's who sees half the fleet (backup_failed,
stale, recovered) and a scheduler_down rule. Three situations are measured, each from a
fresh state (no open condition) and then again with the conditions open (the steady state):

- quiet: nothing finished since the last evaluation;
- busy: 5 % of the fleet finished since the last evaluation, a tenth of them failed;
- storm: the whole fleet failed in one occurrence.

Prints the SQL query count and the median/min/max time of one evaluation.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/devicevault_alerts_bench"
)
# Before Django reads its settings: never touch the development or test database.
os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

DEVICE_GROUPS = ("core", "branch", "dmz", "lab")
VISIBLE_GROUPS = ("core", "branch")


def populate(*, devices: int, schedules: int) -> None:
    """Empty the tables and fill them again: devices, schedules, a success for 95 %, rules."""
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.utils import timezone

    from alerts.models import NotificationChannel, NotificationRule
    from devices.models import Device, DeviceBackupResult, DeviceGroup
    from schedules.models import BackupSchedule
    from schedules.services import refresh_schedule_fields

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE alerts_notification, alerts_alertcondition, alerts_notificationrule,"
            " alerts_notificationchannel, alerts_evaluatorstate,"
            " devices_devicebackupresult, devices_device, devices_devicegroup_user_groups,"
            " devices_devicegroup, schedules_backupschedule, auth_user_groups, auth_group,"
            " auth_user RESTART IDENTITY CASCADE"
        )
    now = timezone.now()
    month_ago = now - timedelta(days=30)
    with transaction.atomic():
        half = Group.objects.create(name="bench-half")
        groups = []
        for name in DEVICE_GROUPS:
            group = DeviceGroup.objects.create(name=name)
            if name in VISIBLE_GROUPS:
                group.user_groups.add(half)
            groups.append(group)
        rows = []
        for index in range(schedules):
            schedule = BackupSchedule(name=f"Schedule {index:03d}", schedule_type="daily",
                                      hour=index % 24, minute=(index * 7) % 60)
            schedule.full_clean()
            refresh_schedule_fields(schedule)
            rows.append(schedule)
        made = BackupSchedule.objects.bulk_create(rows)
        BackupSchedule.objects.update(active_since=month_ago)
        fleet = Device.objects.bulk_create(
            (Device(name=f"bench-{n:06d}", ip_address=f"10.{n // 65536 % 256}."
                    f"{n // 256 % 256}.{n % 256}", device_group=groups[n % len(groups)],
                    backup_schedule=made[n % len(made)]) for n in range(devices)),
            batch_size=5000,
        )
        Device.objects.update(created_at=month_ago)
        DeviceBackupResult.objects.bulk_create(
            (DeviceBackupResult(device=d, schedule=d.backup_schedule, scheduled_for=now - timedelta(
                hours=1), status="success", finished_at=now - timedelta(minutes=50))
             for n, d in enumerate(fleet) if n % 20 != 0),
            batch_size=5000,
        )
        root = User.objects.create_superuser("bench-root", "root@example.com", "bench-pw-1")
        user = User.objects.create_user("bench", password="bench-password-1")
        user.groups.add(half)
        channel = NotificationChannel.objects.create(name="hook", kind="webhook",
                                                     target="http://127.0.0.1:9/")
        NotificationRule.objects.create(
            name="everything", owner=root, channel=channel,
            events=["backup_failed", "missed_window", "stale", "config_changed", "recovered"],
        )
        NotificationRule.objects.create(name="half", owner=user, channel=channel,
                                        events=["backup_failed", "stale", "recovered"])
        NotificationRule.objects.create(name="scheduler", owner=root, channel=channel,
                                        events=["scheduler_down", "recovered"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def finish(fraction: float, failed_share: float, *, minute: int) -> int:
    """Results for `fraction` of the devices, finished a minute ago, `failed_share` failed."""
    from django.db import connection
    from django.utils import timezone

    from devices.models import Device, DeviceBackupResult

    now = timezone.now()
    step = max(1, round(1 / fraction))
    ids = list(Device.objects.order_by("id").values_list("id", "backup_schedule_id"))[::step]
    fail_every = max(1, round(1 / failed_share)) if failed_share else 0
    DeviceBackupResult.objects.bulk_create(
        (DeviceBackupResult(
            device_id=pk, schedule_id=schedule, scheduled_for=now - timedelta(minutes=minute),
            status="failed" if fail_every and i % fail_every == 0 else "success",
            finished_at=now - timedelta(seconds=30), error="timeout",
        ) for i, (pk, schedule) in enumerate(ids)),
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE devices_devicebackupresult")
    return len(ids)


def measure(label: str, runs: int, *, fresh: bool) -> None:
    """Evaluate `runs` times from the same watermark; print queries and times."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from alerts.evaluation import evaluate
    from alerts.models import AlertCondition, EvaluatorState, Notification

    times, queries, last = [], 0, None
    for _ in range(runs):
        if fresh:
            AlertCondition.objects.all().delete()
            Notification.objects.all().delete()
        EvaluatorState.objects.update_or_create(
            pk=1, defaults={"results_until": timezone.now() - timedelta(seconds=60)}
        )
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            last = evaluate(now=timezone.now(), send=lambda ids: None)
            times.append(time.perf_counter() - started)
        queries = len(captured)
    assert last is not None
    print(f"{label:<34} queries={queries:>3}  median={statistics.median(times) * 1000:8.0f} ms"
          f"  min={min(times) * 1000:8.0f}  max={max(times) * 1000:8.0f}  "
          f"opened={last.opened} closed={last.closed} notifications={len(last.notifications)} "
          f"stale={last.stale}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    from bench.calendar_bench import ensure_database

    ensure_database(BENCH_DATABASE_URL)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    populate(devices=args.devices, schedules=args.schedules)
    print(f"populated {args.devices} devices in {time.perf_counter() - started:.0f} s "
          f"(PostgreSQL, {os.cpu_count()} cores)")
    measure("quiet, fresh", args.runs, fresh=True)
    measure("quiet, conditions open", args.runs, fresh=False)
    count = finish(0.05, 0.1, minute=5)
    print(f"-- busy: {count} results finished since the last evaluation")
    measure("busy, fresh", args.runs, fresh=True)
    measure("busy, conditions open", args.runs, fresh=False)
    count = finish(1.0, 1.0, minute=2)
    print(f"-- storm: {count} results failed in one occurrence")
    measure("storm, fresh", max(1, args.runs // 2), fresh=True)
    measure("storm, conditions open", max(1, args.runs // 2), fresh=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
