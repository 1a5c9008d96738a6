"""The Django admin saves only what the API would accept, and shows the next run."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from schedules.models import BackupSchedule
from schedules.services import schedule_create

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/schedules/backupschedule/add/"


def form(**fields: Any) -> dict[str, Any]:
    data = {"name": "Nightly", "enabled": "on", "schedule_type": "daily", "hour": "2",
            "minute": "0", "day_of_week": "", "day_of_month": "", "cron_expression": "",
            "timezone": "", "priority": "5", "spread_minutes": "0", "overlap_policy": "skip"}
    data.update({k: str(v) for k, v in fields.items()})
    return data


@pytest.fixture
def admin(client: Client, admin_user: Any) -> Client:
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"schedule_type": "weekly"}, "A weekly schedule needs a day of the week"),
        ({"schedule_type": "monthly"}, "A monthly schedule needs a day of the month"),
        ({"schedule_type": "cron", "cron_expression": "every day"}, "cron"),
        ({"hour": "24"}, "Hour must be a whole number from 0 to 23"),
    ],
)
def test_admin_refuses_what_the_api_would_reject(admin: Client, fields: dict[str, Any],
                                                 message: str) -> None:
    response = admin.post(ADD_URL, form(**fields))
    assert response.status_code == 200  # the form again, with errors
    assert message in response.content.decode()
    assert not BackupSchedule.objects.exists()


def test_admin_saves_a_valid_schedule_and_lists_its_next_run(admin: Client) -> None:
    response = admin.post(ADD_URL, form(schedule_type="weekly", day_of_week="0"))
    assert response.status_code == 302
    schedule = BackupSchedule.objects.get()
    assert schedule.next_run_at is not None
    page = admin.get("/admin/schedules/backupschedule/").content.decode()
    assert "Weekly on Monday at 02:00" in page
    assert "AEDT" in page or "AEST" in page  # next run shown in the display timezone


def test_admin_edit_goes_through_the_services_and_refreshes_the_derived_fields(
    admin: Client,
) -> None:
    schedule = schedule_create(name="Nightly", hour=2, minute=0)
    url = f"/admin/schedules/backupschedule/{schedule.pk}/change/"
    assert admin.post(url, form(hour="3")).status_code == 302
    schedule.refresh_from_db()
    assert schedule.next_run_at is not None
    assert timezone.localtime(schedule.next_run_at).hour == 3  # the new hour's next run
    assert schedule.active_since is not None
    form_disabled = form(hour="3")
    del form_disabled["enabled"]  # an unticked checkbox is not sent
    assert admin.post(url, form_disabled).status_code == 302
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.next_run_at is None
    assert schedule.active_since is None


def test_admin_actions_enable_and_disable(admin: Client) -> None:
    schedule = schedule_create(name="a", hour=1, minute=0)
    admin.post("/admin/schedules/backupschedule/",
               {"action": "disable_schedules", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.next_run_at is None
    admin.post("/admin/schedules/backupschedule/",
               {"action": "enable_schedules", "_selected_action": [schedule.pk]})
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.next_run_at is not None


def test_device_and_result_admin_pages_render(admin: Client, fleet: dict[str, Any]) -> None:
    page = admin.get("/admin/devices/device/").content.decode()
    assert "Core-Router-01" in page and "Next backup" in page
    assert admin.get("/admin/devices/devicebackupresult/").status_code == 200
    assert admin.get("/admin/devices/collectiongroup/").status_code == 200
    assert admin.get("/admin/beat/schedulerstate/").status_code == 200
