"""The calendar's device lists are kept between requests (devices.calendar_devices): every
way of writing a device shows at once, and a user never sees a device of another's groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from devices.calendar_devices import GroupFirsts, merge_firsts
from devices.models import Device, DeviceGroup

pytestmark = pytest.mark.django_db

URL = "/api/scheduled-backups/calendar/"
DAY = "2027-06-07"  # a Monday, in the future


def daily_entry(client: Any, schedule: Any) -> dict[str, Any]:
    response = client.get(f"{URL}?start={DAY}&days=1")
    assert response.status_code == 200, response.content
    [entry] = [e for e in response.json()[DAY] if e["schedule_id"] == schedule.pk]
    return entry  # type: ignore[no-any-return]


def names(client: Any, schedule: Any) -> list[str]:
    return [d["name"] for d in daily_entry(client, schedule)["devices"]]


@pytest.fixture
def clients(fleet: dict[str, Any], api_client: Any) -> dict[str, Any]:
    return {role: api_client(user) for role, user in fleet["users"].items()}


def test_merge_firsts_takes_the_first_by_rank_of_all_parts_and_counts_them_all() -> None:
    def part(count: int, *ranks: int) -> GroupFirsts:
        return GroupFirsts(count=count, devices=[
            (rank, {"id": rank, "name": f"d{rank:03d}", "ip_address": ""}) for rank in ranks
        ])

    devices, count = merge_firsts([part(9, 1, 4, 5), part(2, 2, 3), part(1, 7)], limit=4)
    assert [d["id"] for d in devices] == [1, 2, 3, 4] and count == 12
    devices, count = merge_firsts([part(60, *range(1, 51))], limit=50)
    assert len(devices) == 50 and count == 60
    assert merge_firsts([], limit=50) == ([], 0)


def test_each_user_sees_only_their_groups_devices_whoever_asked_first(
    fleet: dict[str, Any], clients: dict[str, Any]
) -> None:
    daily = fleet["schedules"]["daily"]
    for order in (["superuser", "viewer", "branch", "nobody"],
                  ["nobody", "branch", "viewer", "superuser"]):
        seen = {role: names(clients[role], daily) for role in order}
        assert seen == {
            "superuser": ["Branch-Switch-01", "Core-Router-01"],
            "viewer": ["Core-Router-01"],
            "branch": ["Branch-Switch-01"],
            "nobody": [],
        }


def test_a_device_without_a_group_shows_to_superusers_only(
    fleet: dict[str, Any], clients: dict[str, Any]
) -> None:
    daily = fleet["schedules"]["daily"]
    names(clients["viewer"], daily)
    Device.objects.filter(name="Lab-01").update(backup_schedule=daily)
    assert names(clients["superuser"], daily) == [
        "Branch-Switch-01", "Core-Router-01", "Lab-01"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    assert names(clients["nobody"], daily) == []


def test_a_user_given_a_group_sees_its_devices_at_once(
    fleet: dict[str, Any], clients: dict[str, Any]
) -> None:
    daily = fleet["schedules"]["daily"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    fleet["users"]["viewer"].groups.add(fleet["groups"]["branch-support"])
    assert names(clients["viewer"], daily) == ["Branch-Switch-01", "Core-Router-01"]
    fleet["device_groups"]["branch"].user_groups.clear()
    assert names(clients["viewer"], daily) == ["Core-Router-01"]


def test_a_device_created_shows_at_once(
    fleet: dict[str, Any], clients: dict[str, Any]
) -> None:
    daily = fleet["schedules"]["daily"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    Device.objects.create(name="Core-Router-00", ip_address="127.0.0.10",
                          device_group=fleet["device_groups"]["core"], backup_schedule=daily)
    entry = daily_entry(clients["viewer"], daily)
    assert [d["name"] for d in entry["devices"]] == ["Core-Router-00", "Core-Router-01"]
    assert entry["device_count"] == 2


def test_bulk_created_devices_show_at_once_and_the_cap_holds(
    fleet: dict[str, Any], clients: dict[str, Any], add_devices: Any
) -> None:
    daily = fleet["schedules"]["daily"]
    names(clients["viewer"], daily)
    add_devices(60, prefix="A", device_group=fleet["device_groups"]["core"],
                backup_schedule=daily)
    entry = daily_entry(clients["viewer"], daily)
    assert entry["device_count"] == 61 and entry["devices_truncated"] is True
    assert [d["name"] for d in entry["devices"]] == sorted(
        d.name for d in Device.objects.filter(name__startswith="A-"))[:50]


@pytest.mark.parametrize("how", ["save", "update"])
def test_a_device_renamed_shows_its_new_name_and_place_at_once(
    fleet: dict[str, Any], clients: dict[str, Any], how: str
) -> None:
    daily = fleet["schedules"]["daily"]
    assert names(clients["superuser"], daily) == ["Branch-Switch-01", "Core-Router-01"]
    core1 = fleet["devices"]["core1"]
    if how == "save":
        core1.name, core1.ip_address = "A-Core", "127.0.0.99"
        core1.save()
    else:
        Device.objects.filter(pk=core1.pk).update(name="A-Core", ip_address="127.0.0.99")
    assert daily_entry(clients["superuser"], daily)["devices"][0] == {
        "id": core1.pk, "name": "A-Core", "ip_address": "127.0.0.99"}
    assert names(clients["viewer"], daily) == ["A-Core"]


@pytest.mark.parametrize("how", ["save", "update"])
def test_a_device_disabled_goes_at_once(
    fleet: dict[str, Any], clients: dict[str, Any], how: str
) -> None:
    daily = fleet["schedules"]["daily"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    core1 = fleet["devices"]["core1"]
    if how == "save":
        core1.enabled = False
        core1.save()
    else:
        Device.objects.filter(pk=core1.pk).update(enabled=False)
    entry = daily_entry(clients["viewer"], daily)
    assert entry["devices"] == [] and entry["device_count"] == 0
    assert names(clients["superuser"], daily) == ["Branch-Switch-01"]


@pytest.mark.parametrize("how", ["save", "update"])
def test_a_device_moved_to_another_group_moves_between_users_at_once(
    fleet: dict[str, Any], clients: dict[str, Any], how: str
) -> None:
    daily = fleet["schedules"]["daily"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    assert names(clients["branch"], daily) == ["Branch-Switch-01"]
    core1, branch = fleet["devices"]["core1"], fleet["device_groups"]["branch"]
    if how == "save":
        core1.device_group = branch
        core1.save()
    else:
        Device.objects.filter(pk=core1.pk).update(device_group=branch)
    assert names(clients["viewer"], daily) == []
    assert names(clients["branch"], daily) == ["Branch-Switch-01", "Core-Router-01"]


def test_a_deleted_group_takes_its_devices_from_its_users_at_once(
    fleet: dict[str, Any], clients: dict[str, Any]
) -> None:
    daily = fleet["schedules"]["daily"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    DeviceGroup.objects.filter(name="core").delete()  # the devices' group is set to null
    assert names(clients["viewer"], daily) == []
    assert names(clients["superuser"], daily) == ["Branch-Switch-01", "Core-Router-01"]


def test_a_device_deleted_goes_at_once(fleet: dict[str, Any], clients: dict[str, Any]) -> None:
    daily = fleet["schedules"]["daily"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    fleet["devices"]["core1"].delete()
    assert names(clients["viewer"], daily) == []


def test_devices_assigned_through_the_api_show_at_once(
    fleet: dict[str, Any], clients: dict[str, Any]
) -> None:
    daily, weekly = fleet["schedules"]["daily"], fleet["schedules"]["weekly"]
    core1, core2 = fleet["devices"]["core1"], fleet["devices"]["core2"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    assert names(clients["viewer"], weekly) == ["Core-Router-02"]
    response = clients["staff"].post(
        "/api/scheduled-backups/bulk-assign/",
        {"schedule_id": weekly.pk, "device_ids": [core1.pk, core2.pk]}, format="json",
    )
    assert response.status_code == 200, response.content
    assert names(clients["viewer"], daily) == []
    assert names(clients["viewer"], weekly) == ["Core-Router-01", "Core-Router-02"]
    response = clients["staff"].patch(
        f"/api/devices/{core2.pk}/", {"backup_schedule_id": daily.pk}, format="json")
    assert response.status_code == 200, response.content
    assert names(clients["viewer"], daily) == ["Core-Router-02"]
    assert names(clients["viewer"], weekly) == ["Core-Router-01"]


def test_an_inventory_import_shows_at_once(
    fleet: dict[str, Any], clients: dict[str, Any], tmp_path: Path
) -> None:
    daily = fleet["schedules"]["daily"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    path = tmp_path / "inventory.yaml"
    path.write_text("""
devices:
  - {name: Core-Router-01, ip_address: 127.0.0.11, device_group: core, enabled: false}
  - {name: Core-Router-03, ip_address: 127.0.0.13, device_group: core,
     backup_schedule: Daily 2 AM}
  - {name: Branch-Switch-01, ip_address: 127.0.0.21, device_group: core,
     backup_schedule: Daily 2 AM}
""")
    call_command("import_inventory", str(path), stdout=open(tmp_path / "out", "w"))
    assert names(clients["viewer"], daily) == ["Branch-Switch-01", "Core-Router-03"]
    assert names(clients["branch"], daily) == []


def test_a_rolled_back_write_leaves_no_trace(
    fleet: dict[str, Any], clients: dict[str, Any]
) -> None:
    daily = fleet["schedules"]["daily"]
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    with pytest.raises(RuntimeError), transaction.atomic():
        Device.objects.filter(name="Core-Router-01").update(name="Core-Router-XX")
        assert names(clients["viewer"], daily) == ["Core-Router-XX"]
        raise RuntimeError("roll back")
    assert names(clients["viewer"], daily) == ["Core-Router-01"]
    Device.objects.filter(name="Core-Router-01").update(name="Core-Router-YY")
    assert names(clients["viewer"], daily) == ["Core-Router-YY"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_write_to_a_column_the_calendar_does_not_read_keeps_the_lists(
    fleet: dict[str, Any], clients: dict[str, Any]
) -> None:
    daily = fleet["schedules"]["daily"]
    names(clients["viewer"], daily)
    Device.objects.filter(pk=fleet["devices"]["core1"].pk).update(ssh_host_key="ssh-ed25519 AAAA")
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        names(clients["viewer"], daily)
    assert not any("devices_device" in q["sql"] and "ROW_NUMBER" in q["sql"].upper()
                   for q in queries)


def test_a_kept_list_renders_the_same_json_as_drf_every_time(
    fleet: dict[str, Any], clients: dict[str, Any], add_devices: Any
) -> None:
    from datetime import date

    from rest_framework.renderers import JSONRenderer

    from devices.api.renderers import CalendarData, CalendarJSONRenderer
    from devices.selectors import calendar_for_user

    add_devices(3, prefix="Ünï\u2028", device_group=fleet["device_groups"]["core"],
                backup_schedule=fleet["schedules"]["daily"])
    user = fleet["users"]["viewer"]
    first = calendar_for_user(user=user, start=date(2027, 6, 1), days=10)
    again = calendar_for_user(user=user, start=date(2027, 6, 1), days=10)
    for days in (first, again, first):
        assert CalendarJSONRenderer().render(CalendarData(days)) == JSONRenderer().render(days)
    response = clients["viewer"].get(f"{URL}?start=2027-06-01&days=10")
    assert response.content == JSONRenderer().render(first)
