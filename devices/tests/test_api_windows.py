"""`/api/maintenance-windows/` and its calendar: who may read and write, per-field errors,
and the spans per local day."""

from __future__ import annotations

from typing import Any

import pytest

from devices.models import DeviceGroup, MaintenanceWindow

pytestmark = pytest.mark.django_db

LIST = "/api/maintenance-windows/"
NIGHTLY = {"name": "Change freeze", "schedule_type": "daily", "hour": 23, "minute": 0,
           "duration_minutes": 180, "policy": "defer"}


def test_staff_create_a_window_everyone_reads_it_others_may_not_write(
    fleet: dict[str, Any], api_client: Any
) -> None:
    core = DeviceGroup.objects.get(name="core")
    staff = api_client(fleet["users"]["staff"])
    response = staff.post(LIST, {**NIGHTLY, "device_groups": [core.pk]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["device_groups"] == [core.pk] and body["collection_groups"] == []
    assert body["policy"] == "defer" and len(body["next_spans"]) == 3
    viewer = api_client(fleet["users"]["viewer"])
    assert [w["name"] for w in viewer.get(LIST).json()["results"]] == ["Change freeze"]
    assert viewer.post(LIST, {**NIGHTLY, "name": "x"}, format="json").status_code == 403
    assert viewer.delete(f"{LIST}{body['id']}/").status_code == 403
    assert staff.patch(f"{LIST}{body['id']}/", {"enabled": False},
                       format="json").json()["enabled"] is False
    assert staff.delete(f"{LIST}{body['id']}/").status_code == 204
    assert not MaintenanceWindow.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 10081}, "duration_minutes"),
        ({"hour": 24}, "hour"),
        ({"schedule_type": "once"}, "start"),
        ({"schedule_type": "hourly"}, "schedule_type"),
        ({"policy": "ignore"}, "policy"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"device_groups": [999999]}, "device_groups"),
        ({"schedule_type": "cron", "cron_expression": "61 * * * *"}, "cron_expression"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    fleet: dict[str, Any], api_client: Any, body: dict[str, Any], field: str
) -> None:
    response = api_client(fleet["users"]["staff"]).post(LIST, {**NIGHTLY, **body},
                                                        format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not MaintenanceWindow.objects.exists()


def test_the_calendar_splits_a_span_across_midnight_in_display_time(
    fleet: dict[str, Any], api_client: Any
) -> None:
    staff = api_client(fleet["users"]["staff"])
    assert staff.post(LIST, NIGHTLY, format="json").status_code == 201
    assert staff.post(LIST, {"name": "Once", "schedule_type": "once", "policy": "skip",
                             "start": "2027-06-02T00:00:00Z", "duration_minutes": 90},
                      format="json").status_code == 201
    days = api_client(fleet["users"]["viewer"]).get(
        "/api/maintenance-windows/calendar/?start=2027-06-02&days=2").json()
    assert list(days) == ["2027-06-02", "2027-06-03"]
    assert days["2027-06-02"] == [
        {"window_id": MaintenanceWindow.objects.get(name="Change freeze").pk,
         "name": "Change freeze", "policy": "defer", "start": "00:00", "end": "02:00"},
        {"window_id": MaintenanceWindow.objects.get(name="Once").pk, "name": "Once",
         "policy": "skip", "start": "10:00", "end": "11:30"},  # 00:00Z is 10:00 AEST
        {"window_id": MaintenanceWindow.objects.get(name="Change freeze").pk,
         "name": "Change freeze", "policy": "defer", "start": "23:00", "end": "24:00"},
    ]
    assert [s["start"] for s in days["2027-06-03"]] == ["00:00", "23:00"]
    bad = api_client(fleet["users"]["viewer"]).get("/api/maintenance-windows/calendar/?days=0")
    assert bad.status_code == 400 and "days" in bad.json()


def test_a_schedules_next_run_follows_the_windows_that_hold_every_device(
    fleet: dict[str, Any], api_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Whole-fleet windows move `next_run_at` and `next_runs` as soon as they are written:
    a skip drops the occurrence, a defer fires it at the window's end; a window scoped to a
    group leaves the time (the rest of the fleet fires then)."""
    from datetime import timedelta

    from django.utils.dateparse import parse_datetime

    from schedules.models import BackupSchedule

    staff = api_client(fleet["users"]["staff"])
    daily = BackupSchedule.objects.get(name="Daily 2 AM")

    def runs() -> list[Any]:
        body = staff.get(f"/api/backup-schedules/{daily.pk}/").json()
        assert body["next_run_at"] == body["next_runs"][0]  # the cache kept up to date
        return [parse_datetime(r) for r in body["next_runs"]]

    planned = runs()
    first, second = planned[0], planned[1]

    def window(**body: Any) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff.post(LIST, {"schedule_type": "once", "duration_minutes": 60,
                                         **body}, format="json")
        assert response.status_code == 201, response.content
        return int(response.json()["id"])

    core = DeviceGroup.objects.get(name="core")
    window(name="core only", policy="skip", start=(first - timedelta(minutes=30)).isoformat(),
           device_groups=[core.pk])
    assert runs() == planned

    freeze = window(name="freeze", policy="skip",
                    start=(first - timedelta(minutes=30)).isoformat())
    assert runs()[:2] == [second, planned[2]]

    with django_capture_on_commit_callbacks(execute=True):
        assert staff.delete(f"{LIST}{freeze}/").status_code == 204
    assert runs() == planned

    window(name="change", policy="defer", start=(first - timedelta(minutes=15)).isoformat())
    assert runs()[:2] == [first + timedelta(minutes=45), second]


def test_saving_a_window_with_its_scopes_recomputes_the_next_runs_once(
    fleet: dict[str, Any], api_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A write sends a save signal and up to four scope signals in one transaction; every
    schedule's `next_run_at` is recomputed once after the commit, not once per signal."""
    from devices.models import CollectionGroup
    from schedules.services import recompute_next_runs

    staff = api_client(fleet["users"]["staff"])
    core = DeviceGroup.objects.get(name="core")
    collection = CollectionGroup.objects.first()
    assert collection is not None
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff.post(LIST, {**NIGHTLY, "device_groups": [core.pk],
                                     "collection_groups": [collection.pk]}, format="json")
    assert response.status_code == 201, response.content
    assert [c for c in callbacks if c is recompute_next_runs] == [recompute_next_runs]
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff.patch(f"{LIST}{response.json()['id']}/",
                               {"device_groups": [], "collection_groups": []}, format="json")
    assert response.status_code == 200, response.content
    assert [c for c in callbacks if c is recompute_next_runs] == [recompute_next_runs]
