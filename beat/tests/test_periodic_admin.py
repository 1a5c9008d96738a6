"""The admin's "Periodic tasks" pages (django-celery-beat) are a superuser's: a periodic task
sends any Celery task with any arguments, past every group scope."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db

PAGES = ("periodictask", "intervalschedule", "crontabschedule", "solarschedule",
         "clockedschedule")


@pytest.fixture
def task() -> PeriodicTask:
    interval = IntervalSchedule.objects.create(every=1, period="hours")
    return PeriodicTask.objects.create(name="mine", task="tests.ping", interval=interval)


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_staff_with_every_periodic_task_permission_still_cannot_see_or_change_them(
    task: PeriodicTask,
) -> None:
    staff = User.objects.create_user("staff", password="pw", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="django_celery_beat"))
    client = login(staff)
    assert "django_celery_beat" not in client.get("/admin/").content.decode()
    for page in PAGES:
        assert client.get(f"/admin/django_celery_beat/{page}/").status_code == 403
    change = f"/admin/django_celery_beat/periodictask/{task.pk}/change/"
    assert client.get(change).status_code == 403
    assert client.post(change, {"name": "stolen", "task": "device.collect"}).status_code == 403
    assert PeriodicTask.objects.get(pk=task.pk).task == "tests.ping"


def test_a_superuser_sees_and_edits_periodic_tasks(task: PeriodicTask) -> None:
    client = login(User.objects.create_superuser("root", password="pw"))
    assert "Periodic tasks" in client.get("/admin/").content.decode()
    for page in PAGES:
        assert client.get(f"/admin/django_celery_beat/{page}/").status_code == 200
    page = client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert page.status_code == 200 and "tests.ping" in page.content.decode()
