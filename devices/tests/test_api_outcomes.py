"""The past through the API: each device's last backup and staleness, filters and ordering
on them, back up one device now, a stored configuration's text, and a diff of any two."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.collection.backups import backup_store
from devices.models import Device, DeviceBackup, DeviceBackupResult
from schedules.models import BackupSchedule
from tests.support.broker import queued_payloads

pytestmark = pytest.mark.django_db

LIST = "/api/devices/"


def result(device: Device, when: datetime, status: str, error: str = "") -> DeviceBackupResult:
    return DeviceBackupResult.objects.create(
        device=device, schedule=device.backup_schedule, scheduled_for=when, status=status,
        error=error, finished_at=when + timedelta(minutes=1) if status != "running" else None,
    )


def by_name(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.content
    return {row["name"]: row for row in response.json()["results"]}


def daily_occurrence(days_ago: int) -> datetime:
    """The Daily 2 AM (Sydney) occurrence `days_ago` local days before the latest one."""
    schedule = BackupSchedule.objects.get(name="Daily 2 AM")
    latest = schedule.recurrence().between(
        timezone.now() - timedelta(days=2), timezone.now()
    )[-1]
    return schedule.recurrence().between(
        latest - timedelta(days=days_ago, hours=3), latest - timedelta(days=days_ago) +
        timedelta(seconds=1)
    )[-1]


@pytest.fixture
def old_fleet(fleet: dict[str, Any]) -> dict[str, Any]:
    """The fleet, created long ago: its schedules and devices have had many occurrences."""
    long_ago = timezone.now() - timedelta(days=60)
    Device.objects.update(created_at=long_ago)
    BackupSchedule.objects.update(active_since=long_ago)
    return fleet


def test_last_backup_is_the_newest_finished_or_running_result(
    old_fleet: dict[str, Any], api_client: Any
) -> None:
    core1 = old_fleet["devices"]["core1"]
    result(core1, daily_occurrence(2), "success")
    result(core1, daily_occurrence(1), "failed", "auth failed: bad password")
    DeviceBackupResult.objects.create(  # queued: not a backup yet
        device=core1, schedule=core1.backup_schedule, scheduled_for=daily_occurrence(0),
    )
    rows = by_name(api_client(old_fleet["users"]["viewer"]).get(LIST))
    assert rows["Core-Router-01"]["last_backup"] == {
        "status": "failed",
        "scheduled_for": daily_occurrence(1).isoformat().replace("+00:00", "Z"),
        "finished_at": (daily_occurrence(1) + timedelta(minutes=1))
        .isoformat().replace("+00:00", "Z"),
        "error": "auth failed: bad password",
    }
    assert rows["Core-Router-02"]["last_backup"] is None


def test_a_device_is_stale_after_two_periods_without_a_success(
    old_fleet: dict[str, Any], api_client: Any
) -> None:
    core1, branch1 = old_fleet["devices"]["core1"], old_fleet["devices"]["branch1"]
    result(core1, daily_occurrence(2), "success")  # then two failures: stale
    result(core1, daily_occurrence(1), "failed")
    result(core1, daily_occurrence(0), "failed")
    result(branch1, daily_occurrence(1), "success")  # one failure since: not stale yet
    result(branch1, daily_occurrence(0), "failed")
    rows = by_name(api_client(old_fleet["users"]["superuser"]).get(LIST))
    assert rows["Core-Router-01"]["stale"] is True
    assert rows["Branch-Switch-01"]["stale"] is False
    assert rows["Lab-01"]["stale"] is False  # no schedule: nothing is expected of it


def test_a_device_never_backed_up_is_stale_only_once_its_schedule_had_two_occurrences(
    fleet: dict[str, Any], api_client: Any
) -> None:
    client = api_client(fleet["users"]["superuser"])
    assert by_name(client.get(LIST))["Core-Router-01"]["stale"] is False  # created just now
    Device.objects.update(created_at=timezone.now() - timedelta(days=5))
    BackupSchedule.objects.update(active_since=timezone.now() - timedelta(days=5))
    assert by_name(client.get(LIST))["Core-Router-01"]["stale"] is True
    BackupSchedule.objects.filter(name="Daily 2 AM").update(enabled=False)
    assert by_name(client.get(LIST))["Core-Router-01"]["stale"] is False


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", {"Branch-Switch-01"}),
        ("failed", {"Core-Router-01"}),
        ("stale", {"Core-Router-01", "Core-Router-02"}),
        ("never", {"Core-Router-02", "Lab-01"}),
    ],
)
def test_backup_status_filter(
    old_fleet: dict[str, Any], api_client: Any, status: str, expected: set[str]
) -> None:
    core1, branch1 = old_fleet["devices"]["core1"], old_fleet["devices"]["branch1"]
    result(core1, daily_occurrence(1), "failed")
    result(core1, daily_occurrence(0), "failed")
    result(branch1, daily_occurrence(0), "success")
    client = api_client(old_fleet["users"]["superuser"])
    rows = by_name(client.get(f"{LIST}?backup_status={status}"))
    assert set(rows) == expected
    assert all(row["stale"] for row in rows.values()) or status != "stale"


def test_backup_status_filter_shows_only_visible_devices_and_refuses_unknown_values(
    old_fleet: dict[str, Any], api_client: Any
) -> None:
    client = api_client(old_fleet["users"]["viewer"])  # sees core only
    assert set(by_name(client.get(f"{LIST}?backup_status=never"))) == {
        "Core-Router-01", "Core-Router-02"
    }
    response = client.get(f"{LIST}?backup_status=unknown")
    assert response.status_code == 400 and "backup_status" in response.json()


def test_ordering_by_last_backup_puts_never_backed_up_last(
    old_fleet: dict[str, Any], api_client: Any
) -> None:
    result(old_fleet["devices"]["core1"], daily_occurrence(3), "success")
    result(old_fleet["devices"]["branch1"], daily_occurrence(1), "failed")
    client = api_client(old_fleet["users"]["superuser"])
    ascending = list(by_name(client.get(f"{LIST}?ordering=last_backup")))
    descending = list(by_name(client.get(f"{LIST}?ordering=-last_backup")))
    assert ascending[:2] == ["Core-Router-01", "Branch-Switch-01"]
    assert descending[:2] == ["Branch-Switch-01", "Core-Router-01"]
    assert set(ascending[2:]) == set(descending[2:]) == {"Core-Router-02", "Lab-01"}


def test_list_query_count_stays_constant_with_last_backups(
    old_fleet: dict[str, Any], api_client: Any, add_devices: Any
) -> None:
    client = api_client(old_fleet["users"]["viewer"])
    core = old_fleet["device_groups"]["core"]
    daily = old_fleet["schedules"]["daily"]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{LIST}?page_size=500&ordering=-last_backup").status_code == 200
        return len(queries)

    small = count()
    for device in add_devices(200, device_group=core, backup_schedule=daily):
        result(device, daily_occurrence(0), "success")
    assert count() == small == 2


def test_stale_filter_over_several_schedules_shows_only_the_devices_the_user_may_see(
    old_fleet: dict[str, Any], api_client: Any
) -> None:
    # Nothing ran for 60 days: every device on a schedule is stale, whatever its schedule's
    # threshold (daily: two days back, weekly: two weeks back).
    core1, branch1 = old_fleet["devices"]["core1"], old_fleet["devices"]["branch1"]
    result(branch1, daily_occurrence(0), "success")  # but this one
    users = old_fleet["users"]
    expected = {
        "superuser": {"Core-Router-01", "Core-Router-02"},
        "viewer": {"Core-Router-01", "Core-Router-02"},  # core only
        "branch": set(),  # branch only, and Branch-Switch-01 succeeded
        "nobody": set(),
    }
    for role, names in expected.items():
        rows = by_name(api_client(users[role]).get(f"{LIST}?backup_status=stale"))
        assert set(rows) == names, role
    result(core1, daily_occurrence(1), "success")
    rows = by_name(api_client(users["viewer"]).get(f"{LIST}?backup_status=stale"))
    assert set(rows) == {"Core-Router-02"}


def test_stale_filter_agrees_with_each_devices_stale_field(
    old_fleet: dict[str, Any], api_client: Any, add_devices: Any, make_schedule: Any
) -> None:
    core = old_fleet["device_groups"]["core"]
    schedules = [
        old_fleet["schedules"]["daily"], old_fleet["schedules"]["weekly"],
        make_schedule(name="Hourly", schedule_type="cron", cron_expression="15 * * * *"),
        make_schedule(name="Monthly", schedule_type="monthly", day_of_month=3, hour=1),
        # enough schedules for the thresholds' CASE to be a search tree (outcomes._CASE_LEAF)
        *(make_schedule(name=f"Daily {h}", hour=h, minute=3 * h) for h in range(20)),
    ]
    BackupSchedule.objects.update(active_since=timezone.now() - timedelta(days=90))
    now = timezone.now()
    for index, device in enumerate(add_devices(120, device_group=core)):
        schedule = schedules[index % len(schedules)]
        Device.objects.filter(pk=device.pk).update(
            backup_schedule=schedule, created_at=now - timedelta(days=90 if index % 7 else 1),
        )
        # Successes from one hour to 60 days ago: some recent enough for their schedule.
        if index % 5:
            DeviceBackupResult.objects.create(
                device=device, schedule=schedule, status="success",
                scheduled_for=now - timedelta(hours=(index * 37) % (60 * 24) + 1),
            )
    client = api_client(old_fleet["users"]["viewer"])
    every = by_name(client.get(f"{LIST}?page_size=500"))
    stale = {name for name, row in every.items() if row["stale"]}
    assert 0 < len(stale) < len(every)
    assert set(by_name(client.get(f"{LIST}?page_size=500&backup_status=stale"))) == stale


@pytest.mark.parametrize("status", ["success", "failed", "missed_window", "stale", "never"])
def test_backup_status_filter_query_count_stays_constant(
    old_fleet: dict[str, Any], api_client: Any, add_devices: Any, make_schedule: Any,
    status: str,
) -> None:
    client = api_client(old_fleet["users"]["viewer"])
    core = old_fleet["device_groups"]["core"]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{LIST}?backup_status={status}")
            assert response.status_code == 200
        return len(queries)

    def grow(index: int) -> None:
        """A schedule of its own (a stale threshold of its own) with 20 devices: some
        succeeded, failed, missed their window, and some never ran (stale)."""
        schedule = make_schedule(name=f"Extra {index}", schedule_type="daily", hour=index)
        for i, device in enumerate(add_devices(20, device_group=core, backup_schedule=schedule)):
            status = ("success", "failed", "missed_window", None)[i % 4]
            if status:
                result(device, daily_occurrence(0), status)
        BackupSchedule.objects.update(active_since=timezone.now() - timedelta(days=60))
        Device.objects.update(created_at=timezone.now() - timedelta(days=60))

    grow(0)
    small = count()
    for index in range(1, 6):
        grow(index)
    assert count() == small


# -- back up now ---------------------------------------------------------------------------


def backup_now_url(device: Device) -> str:
    return f"/api/devices/{device.pk}/backup-now/"


def test_backup_now_publishes_one_manual_message_with_no_schedule(
    fleet: dict[str, Any], api_client: Any, redis_db: Any
) -> None:
    core1 = fleet["devices"]["core1"]
    response = api_client(fleet["users"]["staff"]).post(backup_now_url(core1))
    assert response.status_code == 202 and response.json() == {"enqueued": 1}
    row = DeviceBackupResult.objects.get()
    assert row.device_id == core1.pk and row.schedule_id is None and row.manual
    assert row.status == "queued" and row.published_at is not None
    [payload] = queued_payloads(redis_db, "collect.sydney-dc1")
    assert payload["result_id"] == row.pk and payload["schedule_id"] is None
    assert payload["manual"] is True
    # A second press is a second backup, not a duplicate of the first.
    assert api_client(fleet["users"]["staff"]).post(backup_now_url(core1)).status_code == 202
    assert DeviceBackupResult.objects.count() == 2


@pytest.mark.parametrize(
    ("role", "device", "code"),
    [
        ("viewer", "core1", 403),  # sees it, may not change devices
        ("branch", "core1", 404),  # may not see it: exactly like a missing device
        ("staff", "branch1", 404),
        ("staff", "core1", 202),
        ("superuser", "orphan", 202),
    ],
)
def test_backup_now_access(
    fleet: dict[str, Any], api_client: Any, redis_db: Any, role: str, device: str, code: int
) -> None:
    response = api_client(fleet["users"][role]).post(backup_now_url(fleet["devices"][device]))
    assert response.status_code == code, response.content
    assert DeviceBackupResult.objects.count() == (1 if code == 202 else 0)


def test_backup_now_of_a_disabled_device_is_400(
    fleet: dict[str, Any], api_client: Any, redis_db: Any
) -> None:
    core1 = fleet["devices"]["core1"]
    Device.objects.filter(pk=core1.pk).update(enabled=False)
    response = api_client(fleet["users"]["staff"]).post(backup_now_url(core1))
    assert response.status_code == 400 and "disabled" in str(response.json())
    assert not DeviceBackupResult.objects.exists()


# -- a stored configuration and the diff of any two ------------------------------------------

TEXTS = ["hostname a\nend\n", "hostname b\nend\n", "hostname c\nntp 127.0.0.1\nend\n"]


@pytest.fixture
def backups(fleet: dict[str, Any]) -> list[DeviceBackup]:
    core1 = fleet["devices"]["core1"]
    t0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    return [
        backup_store(result=result(core1, t0 + timedelta(days=i), "success"), text=text)
        for i, text in enumerate(TEXTS)
    ]


def test_a_backup_shows_its_content(
    fleet: dict[str, Any], api_client: Any, backups: list[DeviceBackup]
) -> None:
    core1 = fleet["devices"]["core1"]
    url = f"/api/devices/{core1.pk}/backups/{backups[2].pk}/"
    body = api_client(fleet["users"]["viewer"]).get(url).json()
    assert body["content"] == TEXTS[2] and body["id"] == backups[2].pk
    assert body["size"] == len(TEXTS[2]) and body["previous_id"] == backups[1].pk
    assert api_client(fleet["users"]["branch"]).get(url).status_code == 404
    other = f"/api/devices/{fleet['devices']['branch1'].pk}/backups/{backups[2].pk}/"
    assert api_client(fleet["users"]["superuser"]).get(other).status_code == 404


def test_a_diff_against_any_other_backup_of_the_device(
    fleet: dict[str, Any], api_client: Any, backups: list[DeviceBackup], make_schedule: Any
) -> None:
    core1 = fleet["devices"]["core1"]
    client = api_client(fleet["users"]["viewer"])
    url = f"/api/devices/{core1.pk}/backups/{backups[2].pk}/diff/"
    body = client.get(url, {"against": backups[0].pk}).json()
    assert body["previous_id"] == backups[0].pk
    assert "-hostname a\n" in body["diff"] and "+hostname c\n" in body["diff"]
    assert "+ntp 127.0.0.1\n" in body["diff"]
    assert client.get(url).json()["previous_id"] == backups[1].pk  # default: the previous

    branch1 = fleet["devices"]["branch1"]
    foreign = backup_store(
        result=result(branch1, datetime(2026, 11, 1, tzinfo=UTC), "success"), text="secret\n"
    )
    assert client.get(url, {"against": foreign.pk}).status_code == 404  # not this device's
    response = client.get(url, {"against": "x"})
    assert response.status_code == 400 and "against" in response.json()
