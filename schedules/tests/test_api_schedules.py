"""The backup schedule API: who reads and writes, the per-field validation, the derived fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from schedules.models import BackupSchedule

pytestmark = pytest.mark.django_db

LIST = "/api/backup-schedules/"
SCHEDULE_FIELDS = {
    "id", "name", "schedule_type", "hour", "minute", "day_of_week", "day_of_month",
    "cron_expression", "enabled", "next_run_at", "last_run_at", "device_count", "description",
    "next_runs", "timezone", "priority", "spread_minutes", "overlap_policy", "capacity_warning",
}
ROLES = ["superuser", "staff", "viewer", "branch", "nobody"]


def detail(schedule: Any) -> str:
    return f"{LIST}{schedule.pk}/"


def snapshot() -> list[tuple[Any, ...]]:
    """Everything stored about schedules, to prove a rejected write changed nothing."""
    return list(
        BackupSchedule.objects.order_by("pk").values_list(
            "pk", "name", "schedule_type", "hour", "minute", "day_of_week", "day_of_month",
            "cron_expression", "enabled", "next_run_at",
        )
    )


# -- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "daily", "weekly"),
    [
        ("superuser", 2, 1),  # core1 + branch1 on daily, core2 on weekly
        ("staff", 1, 1),  # netops: core only
        ("viewer", 1, 1),
        ("branch", 1, 0),
        ("nobody", 0, 0),
    ],
)
def test_every_user_lists_every_schedule_counting_only_devices_they_may_see(
    fleet: dict[str, Any], api_client: Any, role: str, daily: int, weekly: int
) -> None:
    response = api_client(fleet["users"][role]).get(LIST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    counts = {row["name"]: row["device_count"] for row in body["results"]}
    assert counts == {"Daily 2 AM": daily, "Weekly Mon": weekly}


def test_device_count_leaves_out_disabled_devices(fleet: dict[str, Any], api_client: Any) -> None:
    core1 = fleet["devices"]["core1"]
    core1.enabled = False
    core1.save()
    response = api_client(fleet["users"]["superuser"]).get(detail(fleet["schedules"]["daily"]))
    assert response.json()["device_count"] == 1


def test_schedule_has_exactly_the_documented_fields(
    fleet: dict[str, Any], api_client: Any
) -> None:
    body = api_client(fleet["users"]["viewer"]).get(detail(fleet["schedules"]["weekly"])).json()
    assert set(body) == SCHEDULE_FIELDS
    assert body["description"] == "Weekly on Monday at 03:30"
    assert body["day_of_week"] == 0 and body["day_of_month"] is None
    assert body["next_run_at"].endswith("Z")
    runs = [datetime.fromisoformat(r) for r in body["next_runs"]]
    assert len(runs) == 5 and runs == sorted(runs)
    assert body["next_runs"][0] == body["next_run_at"]
    zone = ZoneInfo(settings.DEVICEVAULT.display_timezone)
    assert {(r.astimezone(zone).weekday(), r.astimezone(zone).strftime("%H:%M")) for r in runs} == {
        (0, "03:30")
    }


def test_disabled_schedule_has_no_next_runs(
    make_schedule: Any, fleet: dict[str, Any], api_client: Any
) -> None:
    schedule = make_schedule(enabled=False)
    body = api_client(fleet["users"]["viewer"]).get(detail(schedule)).json()
    assert body["next_runs"] == [] and body["next_run_at"] is None


def test_schedule_list_query_count_does_not_grow_with_schedules(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, add_devices: Any
) -> None:
    client = api_client(fleet["users"]["viewer"])
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    for _ in range(20):
        add_devices(5, device_group=fleet["device_groups"]["core"], backup_schedule=make_schedule())
    with CaptureQueriesContext(connection) as many:
        assert client.get(LIST).json()["count"] == 22
    # count + page (device_count is a subquery) + the capacity estimate's measured durations
    # + the maintenance windows (none here; with some, their groups add two)
    assert len(many) == len(few) == 4


def test_unknown_schedule_is_404(fleet: dict[str, Any], api_client: Any) -> None:
    client = api_client(fleet["users"]["viewer"])
    assert client.get(f"{LIST}999999/").status_code == 404
    assert client.get(f"{LIST}abc/").status_code == 404
    assert client.get(f"{LIST}{10**30}/").status_code == 404


@pytest.mark.parametrize(
    "query",
    ["page_size=abc", "page_size=0", "page_size=501", "page=abc", "page=0", "colour=blue"],
)
def test_bad_list_query_parameters_are_400_naming_the_parameter(
    fleet: dict[str, Any], api_client: Any, query: str
) -> None:
    response = api_client(fleet["users"]["viewer"]).get(f"{LIST}?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_page_past_the_end_is_404(fleet: dict[str, Any], api_client: Any) -> None:
    assert api_client(fleet["users"]["viewer"]).get(f"{LIST}?page=9").status_code == 404


# -- who may write -------------------------------------------------------------------------

NEW = {"name": "Nightly", "schedule_type": "daily", "hour": 1, "minute": 15}


@pytest.mark.parametrize(("role", "code"), [
    ("superuser", 201), ("staff", 201), ("viewer", 403), ("branch", 403), ("nobody", 403),
])
def test_only_staff_create_schedules(
    fleet: dict[str, Any], api_client: Any, role: str, code: int
) -> None:
    before = BackupSchedule.objects.count()
    response = api_client(fleet["users"][role]).post(LIST, NEW, format="json")
    assert response.status_code == code
    assert BackupSchedule.objects.count() == before + (1 if code == 201 else 0)


def test_anonymous_requests_are_refused(fleet: dict[str, Any], api_client: Any) -> None:
    client = api_client()
    assert client.get(LIST).status_code in (401, 403)
    assert client.post(LIST, NEW, format="json").status_code in (401, 403)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_non_staff_cannot_change_or_delete_but_unknown_ids_are_404_first(
    fleet: dict[str, Any], api_client: Any, method: str
) -> None:
    client = api_client(fleet["users"]["viewer"])
    before = snapshot()
    response = getattr(client, method)(detail(fleet["schedules"]["daily"]), NEW, format="json")
    assert response.status_code == 403
    assert getattr(client, method)(f"{LIST}999999/", NEW, format="json").status_code == 404
    assert snapshot() == before


def test_staff_create_returns_the_schedule_with_derived_fields(
    fleet: dict[str, Any], api_client: Any
) -> None:
    response = api_client(fleet["users"]["staff"]).post(LIST, NEW, format="json")
    body = response.json()
    assert set(body) == SCHEDULE_FIELDS
    assert body["description"] == "Daily at 01:15" and body["device_count"] == 0
    assert body["next_run_at"] == body["next_runs"][0]
    stored = BackupSchedule.objects.get(pk=body["id"])
    assert stored.next_run_at is not None and stored.active_since is not None


def test_staff_put_patch_and_delete(fleet: dict[str, Any], api_client: Any) -> None:
    client = api_client(fleet["users"]["staff"])
    daily = fleet["schedules"]["daily"]
    response = client.put(
        detail(daily),
        {"name": "Monthly last", "schedule_type": "monthly", "day_of_month": 31, "hour": 4,
         "minute": 0},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["description"].startswith("Monthly on day 31 at 04:00")
    response = client.patch(detail(daily), {"enabled": False}, format="json")
    assert response.json()["enabled"] is False and response.json()["next_runs"] == []
    daily.refresh_from_db()
    assert (daily.name, daily.enabled, daily.next_run_at) == ("Monthly last", False, None)

    assert client.delete(detail(daily)).status_code == 204
    fleet["devices"]["core1"].refresh_from_db()
    assert fleet["devices"]["core1"].backup_schedule is None


def test_editing_hour_recomputes_next_run(fleet: dict[str, Any], api_client: Any) -> None:
    daily = fleet["schedules"]["daily"]
    before = daily.next_run_at
    body = api_client(fleet["users"]["staff"]).patch(
        detail(daily), {"hour": 5}, format="json"
    ).json()
    assert body["next_run_at"] != before.isoformat()
    daily.refresh_from_db()
    assert daily.next_run_at is not None and daily.next_run_at != before


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"schedule_type": "weekly"}, "day_of_week"),
        ({"schedule_type": "monthly"}, "day_of_month"),
        ({"schedule_type": "cron"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": "not a cron"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": "0 2 30 2 *"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": "0 0 2 * * *"}, "cron_expression"),
        ({"schedule_type": "cron", "cron_expression": 5}, "cron_expression"),
        ({"schedule_type": "hourly"}, "schedule_type"),
        ({"schedule_type": None}, "schedule_type"),
        ({"hour": 24}, "hour"),
        ({"hour": -1}, "hour"),
        ({"minute": 60}, "minute"),
        ({"hour": "abc"}, "hour"),
        ({"hour": "3"}, "hour"),
        ({"hour": True}, "hour"),
        ({"hour": 1.5}, "hour"),
        ({"hour": None}, "hour"),
        ({"hour": 10**30}, "hour"),
        ({"schedule_type": "weekly", "day_of_week": 7}, "day_of_week"),
        ({"schedule_type": "monthly", "day_of_month": 0}, "day_of_month"),
        ({"schedule_type": "monthly", "day_of_month": 32}, "day_of_month"),
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "nul\x00byte"}, "name"),
        ({"name": 12}, "name"),
        ({"name": "Daily 2 AM"}, "name"),  # taken
        ({"next_run_at": "2030-01-01T00:00:00Z", "colour": "blue"}, "colour"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": 10}, "timezone"),
        ({"priority": 10}, "priority"),
        ({"priority": -1}, "priority"),
        ({"spread_minutes": 721}, "spread_minutes"),
        ({"overlap_policy": "sometimes"}, "overlap_policy"),
    ],
)
def test_invalid_create_is_400_naming_the_field_and_stores_nothing(
    fleet: dict[str, Any], api_client: Any, body: dict[str, Any], field: str
) -> None:
    before = snapshot()
    response = api_client(fleet["users"]["staff"]).post(LIST, {**NEW, **body}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors and all(isinstance(m, str) and m for m in errors[field])
    assert snapshot() == before


def test_every_out_of_range_field_is_reported_at_once(
    fleet: dict[str, Any], api_client: Any
) -> None:
    response = api_client(fleet["users"]["staff"]).post(
        LIST, {**NEW, "schedule_type": "weekly", "hour": 24, "minute": 99}, format="json"
    )
    errors = response.json()
    assert set(errors) == {"hour", "minute", "day_of_week"}
    assert errors["hour"] == ["Hour must be a whole number from 0 to 23."]


@pytest.mark.parametrize("body", [[], [NEW], "text", 5, None])
def test_body_that_is_not_an_object_is_400(
    fleet: dict[str, Any], api_client: Any, body: Any
) -> None:
    response = api_client(fleet["users"]["staff"]).post(LIST, body, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "raw", [b'{"name": ', b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe", b""]
)
def test_malformed_json_is_400_not_500(fleet: dict[str, Any], api_client: Any, raw: bytes) -> None:
    response = api_client(fleet["users"]["staff"]).post(
        LIST, raw, content_type="application/json"
    )
    assert response.status_code == 400


def test_form_encoded_body_is_415(fleet: dict[str, Any], api_client: Any) -> None:
    response = api_client(fleet["users"]["staff"]).post(LIST, NEW)  # multipart
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"schedule_type": "weekly", "day_of_week": None}, "day_of_week"),
        ({"hour": 99}, "hour"),
        ({"schedule_type": "cron", "cron_expression": "61 * * * *"}, "cron_expression"),
        ({"name": "Daily 2 AM"}, "name"),
    ],
)
def test_invalid_patch_is_400_and_leaves_the_schedule_as_it_was(
    fleet: dict[str, Any], api_client: Any, body: dict[str, Any], field: str
) -> None:
    before = snapshot()
    weekly = fleet["schedules"]["weekly"]
    response = api_client(fleet["users"]["staff"]).patch(detail(weekly), body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert snapshot() == before


def test_cron_expression_null_means_empty(fleet: dict[str, Any], api_client: Any) -> None:
    response = api_client(fleet["users"]["staff"]).post(
        LIST, {**NEW, "cron_expression": None}, format="json"
    )
    assert response.status_code == 201 and response.json()["cron_expression"] == ""


def test_cron_schedule_roundtrip(fleet: dict[str, Any], api_client: Any) -> None:
    response = api_client(fleet["users"]["staff"]).post(
        LIST,
        {"name": "Twice daily", "schedule_type": "cron", "cron_expression": "30 1,13 * * *"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["description"] == "Cron: 30 1,13 * * *"
    assert len(body["next_runs"]) == 5


def test_policy_fields_roundtrip_and_a_schedule_lives_in_its_own_zone(
    fleet: dict[str, Any], api_client: Any
) -> None:
    client = api_client(fleet["users"]["staff"])
    body = {**NEW, "hour": 2, "minute": 0, "timezone": "America/New_York", "priority": 9,
            "spread_minutes": 30, "overlap_policy": "queue"}
    created = client.post(LIST, body, format="json").json()
    assert {k: created[k] for k in ("timezone", "priority", "spread_minutes",
                                    "overlap_policy")} == {
        "timezone": "America/New_York", "priority": 9, "spread_minutes": 30,
        "overlap_policy": "queue"}
    from zoneinfo import ZoneInfo

    runs = [datetime.fromisoformat(r).astimezone(ZoneInfo("America/New_York"))
            for r in created["next_runs"]]
    assert {(r.hour, r.minute) for r in runs} <= {(2, 0), (3, 0)}  # 03:00 on spring-forward
    cleared = client.patch(detail(BackupSchedule.objects.get(pk=created["id"])),
                           {"timezone": ""}, format="json").json()
    assert cleared["timezone"] is None
    defaults = client.post(LIST, {**NEW, "name": "Defaults"}, format="json").json()
    assert (defaults["timezone"], defaults["priority"], defaults["spread_minutes"],
            defaults["overlap_policy"]) == (None, 5, 0, "skip")
