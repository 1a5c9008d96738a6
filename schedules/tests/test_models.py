"""BackupSchedule: database constraints, validation, the next-run cache and the change marker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from schedules.models import BackupSchedule
from schedules.services import (
    SCHEDULES_VERSION_KEY,
    recompute_next_runs,
    schedule_create,
    schedule_update,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields",
    [
        {"hour": 24},
        {"minute": 60},
        {"schedule_type": "weekly", "day_of_week": None},
        {"schedule_type": "weekly", "day_of_week": 7},
        {"schedule_type": "monthly", "day_of_month": None},
        {"schedule_type": "monthly", "day_of_month": 32},
        {"schedule_type": "monthly", "day_of_month": 0},
        {"schedule_type": "cron", "cron_expression": ""},
        {"schedule_type": "hourly"},
    ],
)
def test_database_constraints_reject_impossible_values(fields: dict[str, Any]) -> None:
    row = {"name": "x", "schedule_type": "daily", "hour": 2, "minute": 0, **fields}
    with pytest.raises(IntegrityError), transaction.atomic():
        BackupSchedule.objects.bulk_create([BackupSchedule(**row)])  # bypasses validation


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"hour": 24}, "hour"),
        ({"minute": 60}, "minute"),
        ({"schedule_type": "weekly"}, "day_of_week"),
        ({"schedule_type": "monthly"}, "day_of_month"),
        ({"schedule_type": "cron"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": "61 * * * *"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": "* * * * * *"}, "cron_expression"),
    ],
)
def test_validation_names_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        schedule_create(name="x", **fields)
    assert field in err.value.message_dict
    assert not BackupSchedule.objects.exists()


def test_next_run_is_cached_in_utc_on_save_and_cleared_when_disabled(
    redis_db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        schedule = schedule_create(name="d", hour=2, minute=30)
    assert schedule.next_run_at is not None
    assert schedule.next_run_at.tzinfo is not None
    assert schedule.next_run_at > datetime.now(UTC)
    local = schedule.next_run_at.astimezone(ZoneInfo("Australia/Sydney"))
    assert (local.hour, local.minute) == (2, 30)
    assert int(redis_db.get(SCHEDULES_VERSION_KEY)) == 1  # the beat is told, after commit

    with django_capture_on_commit_callbacks(execute=True):
        schedule_update(schedule=schedule, data={"enabled": False})
    schedule.refresh_from_db()
    assert schedule.next_run_at is None and schedule.active_since is None
    assert int(redis_db.get(SCHEDULES_VERSION_KEY)) == 2

    schedule_update(schedule=schedule, data={"enabled": True})
    schedule.refresh_from_db()
    assert schedule.next_run_at is not None and schedule.active_since is not None


def test_bulk_updates_are_repaired_by_the_explicit_recompute(redis_db: Any) -> None:
    schedule = schedule_create(name="d", hour=2, minute=0)
    BackupSchedule.objects.filter(pk=schedule.pk).update(hour=5, next_run_at=None)
    assert recompute_next_runs() == 1
    schedule.refresh_from_db()
    assert schedule.next_run_at is not None
    local = schedule.next_run_at.astimezone(ZoneInfo("Australia/Sydney"))
    assert local.hour == 5


def test_recompute_command_reports_what_changed(redis_db: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    schedule = schedule_create(name="d", hour=2, minute=0)
    BackupSchedule.objects.filter(pk=schedule.pk).update(next_run_at=None)
    out = StringIO()
    call_command("recompute_next_runs", stdout=out)
    assert out.getvalue().strip() == "next_run_at recomputed: 1 schedule(s) changed"


def test_every_entry_point_words_a_schedule_error_the_same(db: None, api_client: Any) -> None:
    from django.contrib.auth.models import User

    from schedules.recurrence import Recurrence, RecurrenceError

    with pytest.raises(RecurrenceError) as pure:
        Recurrence(schedule_type="weekly", hour=2, minute=0)
    with pytest.raises(ValidationError) as model:
        schedule_create(name="w", schedule_type="weekly")
    staff = User.objects.create_user("staff", is_staff=True)
    api = api_client(staff).post("/api/backup-schedules/",
                                 {"name": "w", "schedule_type": "weekly"}, format="json")
    assert api.status_code == 400
    assert [str(pure.value)] == model.value.message_dict["day_of_week"] == api.json()[
        "day_of_week"
    ]
    assert str(pure.value) == "A weekly schedule needs a day of the week (0-6, Monday = 0)."
