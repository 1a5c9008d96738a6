"""`GET /api/devices/{id}/backups/` and `.../{backup_id}/diff/`: shape, order, access, schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.collection.backups import backup_store
from devices.models import Device, DeviceBackup, DeviceBackupResult

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
FIELDS = {"id", "result_id", "scheduled_for", "collected_at", "sha256", "size", "changed",
          "previous_id"}
TEXTS = ["hostname a\nend\n", "hostname a\nend\n", "hostname b\nend\n"]


def backups_url(device: Any) -> str:
    return f"/api/devices/{device.pk}/backups/"


def diff_url(device: Any, backup: Any) -> str:
    return f"/api/devices/{device.pk}/backups/{backup.pk}/diff/"


def store(device: Device, day: int, text: str) -> DeviceBackup:
    result = DeviceBackupResult.objects.create(
        device=device, schedule=device.backup_schedule, scheduled_for=T0 + timedelta(days=day),
        status="success",
    )
    return backup_store(result=result, text=text)


@pytest.fixture
def backups(fleet: dict[str, Any]) -> dict[str, list[DeviceBackup]]:
    return {
        name: [store(fleet["devices"][name], day, text) for day, text in enumerate(TEXTS)]
        for name in ("core1", "branch1")
    }


def test_list_is_newest_first_with_the_documented_fields(
    fleet: dict[str, Any], backups: dict[str, list[DeviceBackup]], api_client: Any
) -> None:
    response = api_client(fleet["users"]["viewer"]).get(backups_url(fleet["devices"]["core1"]))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 3
    rows = body["results"]
    assert [row["id"] for row in rows] == [b.pk for b in reversed(backups["core1"])]
    assert all(set(row) == FIELDS for row in rows)
    assert [row["changed"] for row in rows] == [True, False, True]
    newest = backups["core1"][2]
    assert rows[0] == {
        "id": newest.pk,
        "result_id": newest.result_id,
        "scheduled_for": "2026-11-25T02:00:00Z",
        "collected_at": rows[0]["collected_at"],
        "sha256": newest.blob_id,
        "size": len(TEXTS[2]),
        "changed": True,
        "previous_id": backups["core1"][1].pk,
    }
    assert rows[0]["collected_at"].endswith("Z")


def test_list_is_paginated(
    fleet: dict[str, Any], backups: dict[str, list[DeviceBackup]], api_client: Any
) -> None:
    client = api_client(fleet["users"]["superuser"])
    page = client.get(backups_url(fleet["devices"]["core1"]), {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    assert client.get(backups_url(fleet["devices"]["core1"]), {"x": 1}).status_code == 400


def test_a_device_without_backups_has_an_empty_list(
    fleet: dict[str, Any], api_client: Any
) -> None:
    response = api_client(fleet["users"]["viewer"]).get(backups_url(fleet["devices"]["core2"]))
    assert response.json()["count"] == 0


def test_diff_against_the_previous_backup(
    fleet: dict[str, Any], backups: dict[str, list[DeviceBackup]], api_client: Any
) -> None:
    device = fleet["devices"]["core1"]
    first, second, third = backups["core1"]
    client = api_client(fleet["users"]["viewer"])
    body = client.get(diff_url(device, third)).json()
    assert body == {
        "backup_id": third.pk,
        "previous_id": second.pk,
        "diff": f"--- backup {second.pk}\n+++ backup {third.pk}\n@@ -1,2 +1,2 @@\n"
                "-hostname a\n+hostname b\n end\n",
    }
    assert client.get(diff_url(device, second)).json()["diff"] == ""  # unchanged
    initial = client.get(diff_url(device, first)).json()
    assert initial["previous_id"] is None
    assert initial["diff"].startswith("--- /dev/null\n+++ backup")


@pytest.mark.parametrize("role", ["branch", "nobody"])
def test_backups_of_a_device_the_user_may_not_see_are_404_like_a_missing_device(
    fleet: dict[str, Any], backups: dict[str, list[DeviceBackup]], api_client: Any, role: str
) -> None:
    client = api_client(fleet["users"][role])
    device = fleet["devices"]["core1"]
    missing_list = client.get("/api/devices/999999/backups/")
    assert missing_list.status_code == 404
    assert client.get(backups_url(device)).status_code == 404
    assert client.get(backups_url(device)).json() == missing_list.json()
    response = client.get(diff_url(device, backups["core1"][2]))
    assert response.status_code == 404 and response.json() == missing_list.json()


def test_a_backup_of_another_device_is_404(
    fleet: dict[str, Any], backups: dict[str, list[DeviceBackup]], api_client: Any
) -> None:
    client = api_client(fleet["users"]["superuser"])
    response = client.get(diff_url(fleet["devices"]["core1"], backups["branch1"][0]))
    assert response.status_code == 404


@pytest.mark.parametrize("path", [
    "/api/devices/abc/backups/", "/api/devices/1/backups/x/diff/",
    "/api/devices/99999999999999999999999/backups/",
    "/api/devices/1/backups/99999999999999999999999/diff/",
])
def test_malformed_ids_are_json_404s(
    fleet: dict[str, Any], api_client: Any, path: str
) -> None:
    response = api_client(fleet["users"]["superuser"]).get(path)
    assert response.status_code == 404 and set(response.json()) == {"detail"}


def test_anonymous_is_refused(
    fleet: dict[str, Any], backups: dict[str, list[DeviceBackup]], api_client: Any
) -> None:
    device = fleet["devices"]["core1"]
    assert api_client().get(backups_url(device)).status_code in (401, 403)
    assert api_client().get(diff_url(device, backups["core1"][0])).status_code in (401, 403)


def test_the_list_costs_a_fixed_number_of_queries(
    fleet: dict[str, Any], backups: dict[str, list[DeviceBackup]], api_client: Any,
    django_assert_max_num_queries: Any,
) -> None:
    client = api_client(fleet["users"]["viewer"])
    with django_assert_max_num_queries(4):
        assert client.get(backups_url(fleet["devices"]["core1"])).status_code == 200


def test_both_endpoints_are_in_the_openapi_schema(
    fleet: dict[str, Any], api_client: Any
) -> None:
    schema = api_client(fleet["users"]["viewer"]).get("/api/schema/?format=json").json()
    listing = schema["paths"]["/api/devices/{device_id}/backups/"]["get"]
    diff = schema["paths"]["/api/devices/{device_id}/backups/{backup_id}/diff/"]["get"]
    assert listing["operationId"] == "devices_backups_list"
    assert diff["operationId"] == "devices_backups_diff"
    assert {"200", "404"} <= set(listing["responses"]) and {"200", "404"} <= set(diff["responses"])
    components = schema["components"]["schemas"]
    assert set(components["DeviceBackup"]["properties"]) == FIELDS
    assert set(components["BackupDiff"]["properties"]) == {"backup_id", "previous_id", "diff"}
