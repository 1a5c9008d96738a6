"""The devices API: who sees what, filters and ordering, assigning a schedule, query counts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devices.models import Device, DeviceBackupResult
from devices.services import schedule_run_now

pytestmark = pytest.mark.django_db

LIST = "/api/devices/"
DEVICE_FIELDS = {
    "id", "name", "ip_address", "enabled", "device_group", "collection_group", "backup_schedule",
    "next_backup", "last_backup", "stale", "ssh_host_key_fingerprint",
}
NESTED_SCHEDULE_FIELDS = {
    "id", "name", "schedule_type", "hour", "minute", "day_of_week", "day_of_month",
    "cron_expression", "enabled", "next_run_at", "last_run_at",
}
ALL = {"Core-Router-01", "Core-Router-02", "Branch-Switch-01", "Lab-01"}
VISIBLE = {
    "superuser": ALL,
    "staff": {"Core-Router-01", "Core-Router-02"},
    "viewer": {"Core-Router-01", "Core-Router-02"},
    "branch": {"Branch-Switch-01"},
    "nobody": set(),
}


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


def detail(device: Any) -> str:
    return f"{LIST}{device.pk}/"


# -- visibility ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(VISIBLE))
def test_list_shows_exactly_the_devices_the_user_may_see(
    fleet: dict[str, Any], api_client: Any, role: str
) -> None:
    response = api_client(fleet["users"][role]).get(LIST)
    assert set(names(response)) == VISIBLE[role]
    assert response.json()["count"] == len(VISIBLE[role])


@pytest.mark.parametrize("role", list(VISIBLE))
def test_detail_of_an_invisible_device_is_404_like_a_missing_one(
    fleet: dict[str, Any], api_client: Any, role: str
) -> None:
    client = api_client(fleet["users"][role])
    for device in fleet["devices"].values():
        expected = 200 if device.name in VISIBLE[role] else 404
        assert client.get(detail(device)).status_code == expected
    missing = client.get(f"{LIST}999999/")
    assert missing.status_code == 404
    invisible = [d for d in fleet["devices"].values() if d.name not in VISIBLE[role]]
    for device in invisible:
        assert client.get(detail(device)).json() == missing.json()


def test_anonymous_is_refused(fleet: dict[str, Any], api_client: Any) -> None:
    assert api_client().get(LIST).status_code in (401, 403)
    assert api_client().get(detail(fleet["devices"]["core1"])).status_code in (401, 403)


def test_device_json_has_exactly_the_documented_shape(
    fleet: dict[str, Any], api_client: Any
) -> None:
    rows = {
        row["name"]: row
        for row in api_client(fleet["users"]["superuser"]).get(LIST).json()["results"]
    }
    core1 = rows["Core-Router-01"]
    assert set(core1) == DEVICE_FIELDS
    assert core1["ip_address"] == "127.0.0.11" and core1["enabled"] is True
    assert core1["device_group"] == {"id": fleet["device_groups"]["core"].pk, "name": "core"}
    assert core1["collection_group"] == {
        "id": fleet["collection_groups"]["sydney-dc1"].pk, "name": "sydney-dc1",
    }
    schedule = core1["backup_schedule"]
    assert set(schedule) == NESTED_SCHEDULE_FIELDS
    assert schedule["id"] == fleet["schedules"]["daily"].pk
    assert schedule["schedule_type"] == "daily" and schedule["next_run_at"].endswith("Z")
    lab = rows["Lab-01"]
    assert lab["device_group"] is None and lab["collection_group"] is None
    assert lab["backup_schedule"] is None
    assert core1["ssh_host_key_fingerprint"] is None  # none trusted yet


def test_no_endpoint_leaks_devices_the_user_may_not_see(
    fleet: dict[str, Any], api_client: Any, redis_db: Any
) -> None:
    """Branch-Switch-01 must not appear in any answer given to a netops user."""
    branch1 = fleet["devices"]["branch1"]
    daily = fleet["schedules"]["daily"]
    schedule_run_now(schedule=daily, devices=Device.objects.all())  # history rows for all
    viewer = api_client(fleet["users"]["viewer"])
    answers = [
        viewer.get(LIST),
        viewer.get(f"{LIST}?search=Branch"),
        viewer.get(f"{LIST}?backup_schedule={daily.pk}"),
        viewer.get("/api/backup-schedules/"),
        viewer.get(f"/api/backup-schedules/{daily.pk}/"),
        viewer.get("/api/scheduled-backups/calendar/?days=7"),
        viewer.get("/api/scheduled-backups/history/"),
        viewer.get(f"/api/scheduled-backups/history/?device={branch1.pk}"),
        viewer.get("/api/scheduler/status/"),
    ]
    for response in answers:
        assert response.status_code == 200
        text = response.content.decode()
        assert "Branch-Switch-01" not in text and "127.0.0.21" not in text
    history = answers[6].json()
    assert history["count"] == 1  # core1 only
    assert answers[7].json()["count"] == 0


# -- filters and ordering ------------------------------------------------------------------


def test_filters(fleet: dict[str, Any], api_client: Any) -> None:
    client = api_client(fleet["users"]["superuser"])
    daily, weekly = fleet["schedules"]["daily"], fleet["schedules"]["weekly"]
    core, dc1 = fleet["device_groups"]["core"], fleet["collection_groups"]["sydney-dc1"]
    fleet["devices"]["core2"].enabled = False
    fleet["devices"]["core2"].save()
    cases = {
        f"backup_schedule={daily.pk}": {"Core-Router-01", "Branch-Switch-01"},
        f"backup_schedule={weekly.pk}": {"Core-Router-02"},
        "backup_schedule=none": {"Lab-01"},
        "backup_schedule=999999": set(),
        f"device_group={core.pk}": {"Core-Router-01", "Core-Router-02"},
        "device_group=none": {"Lab-01"},
        f"collection_group={dc1.pk}": {"Core-Router-01"},
        "enabled=true": ALL - {"Core-Router-02"},
        "enabled=false": {"Core-Router-02"},
        "search=router": {"Core-Router-01", "Core-Router-02"},
        "search=127.0.0.2": {"Branch-Switch-01"},
        "search=.31": {"Lab-01"},
        f"search=core&backup_schedule={daily.pk}&enabled=true": {"Core-Router-01"},
    }
    for query, expected in cases.items():
        assert set(names(client.get(f"{LIST}?{query}"))) == expected, query


def test_ordering(fleet: dict[str, Any], api_client: Any, make_schedule: Any) -> None:
    client = api_client(fleet["users"]["superuser"])
    assert names(client.get(f"{LIST}?ordering=name")) == sorted(ALL)
    assert names(client.get(f"{LIST}?ordering=-name")) == sorted(ALL, reverse=True)
    assert names(client.get(f"{LIST}?ordering=ip_address")) == [
        "Core-Router-01", "Core-Router-02", "Branch-Switch-01", "Lab-01",
    ]
    assert names(client.get(f"{LIST}?ordering=-ip_address"))[0] == "Lab-01"
    # Daily 02:00 fires before the weekly one; unscheduled devices come last both ways.
    disabled = make_schedule(enabled=False)
    fleet["devices"]["core2"].backup_schedule = disabled
    fleet["devices"]["core2"].save()
    ascending = names(client.get(f"{LIST}?ordering=next_run_at"))
    descending = names(client.get(f"{LIST}?ordering=-next_run_at"))
    assert ascending[:2] == ["Branch-Switch-01", "Core-Router-01"]
    assert set(ascending[2:]) == {"Core-Router-02", "Lab-01"}
    assert descending[:2] == ["Branch-Switch-01", "Core-Router-01"]
    assert set(descending[2:]) == {"Core-Router-02", "Lab-01"}


def test_next_run_ordering_puts_later_schedules_later(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any
) -> None:
    client = api_client(fleet["users"]["superuser"])
    fleet["devices"]["core2"].backup_schedule = make_schedule(
        schedule_type="monthly", day_of_month=31
    )
    fleet["devices"]["core2"].save()
    ascending = names(client.get(f"{LIST}?ordering=next_run_at"))
    descending = names(client.get(f"{LIST}?ordering=-next_run_at"))
    assert ascending.index("Core-Router-01") < ascending.index("Core-Router-02")
    assert descending.index("Core-Router-02") < descending.index("Core-Router-01")
    assert ascending[-1] == descending[-1] == "Lab-01"


@pytest.mark.parametrize(
    "query",
    [
        "backup_schedule=abc", "backup_schedule=-1", "backup_schedule=0",
        "backup_schedule=1.5", f"backup_schedule={10**30}", "backup_schedule=None",
        "device_group=x", "collection_group=%20", "enabled=maybe", "enabled=1",
        "ordering=colour", "ordering=next_run", "search=" + "x" * 201, "search=a%00b",
        "search=", "enabled=",
        "page_size=abc", "page_size=501", "page=0", "colour=blue", "backup_schedule_id=3",
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(
    fleet: dict[str, Any], api_client: Any, query: str
) -> None:
    response = api_client(fleet["users"]["viewer"]).get(f"{LIST}?{query}")
    assert response.status_code == 400, response.content
    name = query.split("=")[0]
    assert name in response.json() and response.json()[name]


def test_pagination(fleet: dict[str, Any], api_client: Any, add_devices: Any) -> None:
    add_devices(7, device_group=fleet["device_groups"]["core"])
    client = api_client(fleet["users"]["viewer"])
    first = client.get(f"{LIST}?page_size=4").json()
    assert first["count"] == 9 and len(first["results"]) == 4
    assert first["previous"] is None and "page=2" in first["next"]
    last = client.get(f"{LIST}?page_size=4&page=3").json()
    assert len(last["results"]) == 1 and last["next"] is None
    assert client.get(f"{LIST}?page_size=4&page=4").status_code == 404


# -- assigning a schedule --------------------------------------------------------------------


def test_staff_assigns_and_clears_a_schedule(fleet: dict[str, Any], api_client: Any) -> None:
    client = api_client(fleet["users"]["staff"])
    core1, weekly = fleet["devices"]["core1"], fleet["schedules"]["weekly"]
    response = client.patch(detail(core1), {"backup_schedule_id": weekly.pk}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == DEVICE_FIELDS
    assert response.json()["backup_schedule"]["id"] == weekly.pk
    core1.refresh_from_db()
    assert core1.backup_schedule_id == weekly.pk

    response = client.patch(detail(core1), {"backup_schedule_id": None}, format="json")
    assert response.status_code == 200 and response.json()["backup_schedule"] is None
    core1.refresh_from_db()
    assert core1.backup_schedule_id is None


def test_patch_without_the_field_changes_nothing(fleet: dict[str, Any], api_client: Any) -> None:
    core1 = fleet["devices"]["core1"]
    response = api_client(fleet["users"]["staff"]).patch(detail(core1), {}, format="json")
    assert response.status_code == 200
    core1.refresh_from_db()
    assert core1.backup_schedule_id == fleet["schedules"]["daily"].pk


@pytest.mark.parametrize(
    ("role", "device", "code"),
    [
        ("superuser", "branch1", 200),
        ("superuser", "orphan", 200),
        ("staff", "core1", 200),
        ("staff", "branch1", 404),  # invisible: 404 before any permission question
        ("viewer", "core1", 403),  # visible, but may not change devices
        ("viewer", "branch1", 404),
        ("branch", "core1", 404),
        ("branch", "branch1", 403),
        ("nobody", "core1", 404),
    ],
)
def test_patch_access_matrix(
    fleet: dict[str, Any], api_client: Any, role: str, device: str, code: int
) -> None:
    target = fleet["devices"][device]
    before = target.backup_schedule_id
    weekly = fleet["schedules"]["weekly"]
    response = api_client(fleet["users"][role]).patch(
        detail(target), {"backup_schedule_id": weekly.pk}, format="json"
    )
    assert response.status_code == code
    target.refresh_from_db()
    assert target.backup_schedule_id == (weekly.pk if code == 200 else before)


def test_change_device_permission_allows_patch_without_staff(
    fleet: dict[str, Any], api_client: Any
) -> None:
    viewer = fleet["users"]["viewer"]
    viewer.user_permissions.add(Permission.objects.get(codename="change_device"))
    viewer = User.objects.get(pk=viewer.pk)
    response = api_client(viewer).patch(
        detail(fleet["devices"]["core1"]), {"backup_schedule_id": None}, format="json"
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"backup_schedule_id": 999999},
        {"backup_schedule_id": "abc"},
        {"backup_schedule_id": "1"},
        {"backup_schedule_id": True},
        {"backup_schedule_id": 1.0},
        {"backup_schedule_id": 0},
        {"backup_schedule_id": 10**30},
        {"backup_schedule_id": [1]},
        {"backup_schedule_id": {"id": 1}},
        {"name": "renamed"},
        {"backup_schedule_id": None, "enabled": False},
    ],
)
def test_invalid_patch_is_400_per_field_and_changes_nothing(
    fleet: dict[str, Any], api_client: Any, body: dict[str, Any]
) -> None:
    core1 = fleet["devices"]["core1"]
    response = api_client(fleet["users"]["staff"]).patch(detail(core1), body, format="json")
    assert response.status_code == 400, response.content
    field = "backup_schedule_id" if "backup_schedule_id" in body and len(body) == 1 else None
    errors = response.json()
    assert field in errors if field else set(errors) & {"name", "enabled"}
    stored = Device.objects.get(pk=core1.pk)
    assert (stored.name, stored.enabled, stored.backup_schedule_id) == (
        "Core-Router-01", True, fleet["schedules"]["daily"].pk,
    )


@pytest.mark.parametrize("body", [[], [{"backup_schedule_id": None}], "x", 3])
def test_patch_body_that_is_not_an_object_is_400(
    fleet: dict[str, Any], api_client: Any, body: Any
) -> None:
    response = api_client(fleet["users"]["staff"]).patch(
        detail(fleet["devices"]["core1"]), json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400


def test_put_post_and_delete_are_not_allowed(fleet: dict[str, Any], api_client: Any) -> None:
    client = api_client(fleet["users"]["superuser"])
    core1 = fleet["devices"]["core1"]
    assert client.put(detail(core1), {"backup_schedule_id": None}, format="json").status_code == 405
    assert client.delete(detail(core1)).status_code == 405
    assert client.post(LIST, {"name": "x"}, format="json").status_code == 405
    assert Device.objects.filter(pk=core1.pk).exists()


# -- query counts --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["superuser", "viewer"])
def test_list_query_count_is_the_same_for_10_and_500_devices(
    fleet: dict[str, Any], api_client: Any, add_devices: Any, make_schedule: Any, role: str
) -> None:
    client = api_client(fleet["users"][role])
    core, dc1 = fleet["device_groups"]["core"], fleet["collection_groups"]["sydney-dc1"]
    schedules = [make_schedule() for _ in range(5)]

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{LIST}?page_size=500&ordering=next_run_at")
            assert response.status_code == 200
        return len(queries)

    add_devices(6, device_group=core, collection_group=dc1, backup_schedule=schedules[0])
    small = count_queries()
    for schedule in schedules:
        add_devices(98, device_group=core, collection_group=dc1, backup_schedule=schedule)
    assert Device.objects.count() == 500
    assert count_queries() == small == 2  # count + one page with every relation joined


def test_no_results_created_by_reads(fleet: dict[str, Any], api_client: Any) -> None:
    api_client(fleet["users"]["superuser"]).get(LIST)
    assert not DeviceBackupResult.objects.exists()


def test_next_run_ordering_puts_a_disabled_device_with_the_unscheduled_ones(
    fleet: dict[str, Any], api_client: Any
) -> None:
    client = api_client(fleet["users"]["superuser"])
    fleet["devices"]["core1"].enabled = False  # its schedule still runs, but not for it
    fleet["devices"]["core1"].save()
    for ordering in ("next_run_at", "-next_run_at"):
        ordered = names(client.get(f"{LIST}?ordering={ordering}"))
        assert set(ordered[-2:]) == {"Core-Router-01", "Lab-01"}, ordering


def test_next_backup_is_the_schedule_next_run_unless_device_or_schedule_is_disabled(
    fleet: dict[str, Any], api_client: Any
) -> None:
    from schedules.models import BackupSchedule

    client = api_client(fleet["users"]["superuser"])
    rows = {r["name"]: r for r in client.get(LIST).json()["results"]}
    assert rows["Core-Router-01"]["next_backup"] == rows["Core-Router-01"]["backup_schedule"][
        "next_run_at"
    ] is not None
    assert rows["Lab-01"]["next_backup"] is None  # no schedule
    Device.objects.filter(pk=fleet["devices"]["core1"].pk).update(enabled=False)
    BackupSchedule.objects.filter(pk=fleet["schedules"]["weekly"].pk).update(enabled=False)
    rows = {r["name"]: r for r in client.get(LIST).json()["results"]}
    assert rows["Core-Router-01"]["next_backup"] is None  # a disabled device
    assert rows["Core-Router-02"]["next_backup"] is None  # a disabled schedule
    assert rows["Branch-Switch-01"]["next_backup"] is not None
