"""Scheduled backups: bulk assignment, run-now (real broker messages) and the history."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import kombu.exceptions
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devices.collection.backups import backup_store
from devices.dispatch.fanout import Occurrence, create_results, scheduled_devices
from devices.models import Device, DeviceBackupResult
from tests.support.broker import queued_messages

pytestmark = pytest.mark.django_db

BULK = "/api/scheduled-backups/bulk-assign/"
HISTORY = "/api/scheduled-backups/history/"


def run_now_url(schedule: Any) -> str:
    return f"/api/scheduled-backups/{getattr(schedule, 'pk', schedule)}/test/"


def assignments() -> dict[str, int | None]:
    return dict(Device.objects.values_list("name", "backup_schedule_id"))


# -- bulk assign ---------------------------------------------------------------------------


def test_staff_bulk_assigns_visible_devices(fleet: dict[str, Any], api_client: Any) -> None:
    devices, weekly = fleet["devices"], fleet["schedules"]["weekly"]
    ids = [devices["core1"].pk, devices["core2"].pk, devices["core1"].pk]  # repeated: once
    response = api_client(fleet["users"]["staff"]).post(
        BULK, {"schedule_id": weekly.pk, "device_ids": ids}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"updated": 2}
    stored = assignments()
    assert stored["Core-Router-01"] == stored["Core-Router-02"] == weekly.pk
    assert stored["Branch-Switch-01"] == fleet["schedules"]["daily"].pk


def test_bulk_assign_null_clears_the_schedule(fleet: dict[str, Any], api_client: Any) -> None:
    devices = fleet["devices"]
    response = api_client(fleet["users"]["superuser"]).post(
        BULK,
        {"schedule_id": None, "device_ids": [devices["core1"].pk, devices["branch1"].pk]},
        format="json",
    )
    assert response.json() == {"updated": 2}
    stored = assignments()
    assert stored["Core-Router-01"] is None and stored["Branch-Switch-01"] is None


@pytest.mark.parametrize(
    ("role", "targets", "code"),
    [
        ("superuser", ["core1", "branch1", "orphan"], 200),
        ("staff", ["core1", "core2"], 200),
        ("staff", ["core1", "branch1"], 400),  # branch1 invisible: all or nothing
        ("staff", ["orphan"], 400),
        ("viewer", ["core1"], 403),  # sees it, may not change devices
        ("branch", ["branch1"], 403),
        ("nobody", ["core1"], 403),
    ],
)
def test_bulk_assign_access_matrix(
    fleet: dict[str, Any], api_client: Any, role: str, targets: list[str], code: int
) -> None:
    before = assignments()
    weekly = fleet["schedules"]["weekly"]
    ids = [fleet["devices"][t].pk for t in targets]
    response = api_client(fleet["users"][role]).post(
        BULK, {"schedule_id": weekly.pk, "device_ids": ids}, format="json"
    )
    assert response.status_code == code, response.content
    if code == 200:
        assert response.json() == {"updated": len(ids)}
    else:
        assert assignments() == before


def test_invisible_and_unknown_ids_are_named_and_nothing_changes(
    fleet: dict[str, Any], api_client: Any
) -> None:
    before = assignments()
    devices = fleet["devices"]
    ids = [devices["core1"].pk, devices["branch1"].pk, 999_999, devices["orphan"].pk]
    response = api_client(fleet["users"]["staff"]).post(
        BULK, {"schedule_id": fleet["schedules"]["weekly"].pk, "device_ids": ids}, format="json"
    )
    assert response.status_code == 400
    [message] = response.json()["device_ids"]
    for refused in (devices["branch1"].pk, 999_999, devices["orphan"].pk):
        assert str(refused) in message
    assert f" {devices['core1'].pk}," not in f" {message},"
    assert assignments() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_ids": [1]}, "schedule_id"),  # the key is required (null is a value)
        ({"schedule_id": 999_999, "device_ids": ["core1"]}, "schedule_id"),
        ({"schedule_id": "1", "device_ids": ["core1"]}, "schedule_id"),
        ({"schedule_id": True, "device_ids": ["core1"]}, "schedule_id"),
        ({"schedule_id": 10**30, "device_ids": ["core1"]}, "schedule_id"),
        ({"schedule_id": None}, "device_ids"),
        ({"schedule_id": None, "device_ids": []}, "device_ids"),
        ({"schedule_id": None, "device_ids": "core1"}, "device_ids"),
        ({"schedule_id": None, "device_ids": 5}, "device_ids"),
        ({"schedule_id": None, "device_ids": {"a": 1}}, "device_ids"),
        ({"schedule_id": None, "device_ids": ["abc"]}, "device_ids"),
        ({"schedule_id": None, "device_ids": [True]}, "device_ids"),
        ({"schedule_id": None, "device_ids": [None]}, "device_ids"),
        ({"schedule_id": None, "device_ids": [10**30]}, "device_ids"),
        ({"schedule_id": None, "device_ids": ["core1"], "force": True}, "force"),
    ],
)
def test_bulk_assign_validation(
    fleet: dict[str, Any], api_client: Any, body: dict[str, Any], field: str
) -> None:
    before = assignments()
    if isinstance(body.get("device_ids"), list):
        body["device_ids"] = [
            fleet["devices"][v].pk if v in fleet["devices"] else v for v in body["device_ids"]
        ]
    response = api_client(fleet["users"]["superuser"]).post(BULK, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert assignments() == before


@pytest.mark.parametrize("body", [[], [{"schedule_id": None, "device_ids": [1]}], "x", None])
def test_bulk_assign_body_must_be_an_object(
    fleet: dict[str, Any], api_client: Any, body: Any
) -> None:
    response = api_client(fleet["users"]["superuser"]).post(
        BULK, json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400


# -- run now -------------------------------------------------------------------------------


def broker_messages(redis_db: Any, queue: str) -> list[dict[str, Any]]:
    """The `device.collect` payloads waiting in a kombu Redis queue (a list named so)."""
    payloads = []
    for message in queued_messages(redis_db, queue):
        assert message["headers"]["task"] == "device.collect"
        assert message["content-type"] == "application/json"
        body = base64.b64decode(message["body"]) if (
            message["properties"].get("body_encoding") == "base64"
        ) else message["body"]
        args, kwargs, _embed = json.loads(body)
        assert kwargs == {} and len(args) == 1 and isinstance(args[0], str)
        payloads.append(json.loads(args[0]))
    return payloads


def test_run_now_publishes_one_message_per_visible_enabled_device(
    fleet: dict[str, Any], api_client: Any, redis_db: Any
) -> None:
    daily = fleet["schedules"]["daily"]
    before = timezone.now()
    response = api_client(fleet["users"]["superuser"]).post(run_now_url(daily))
    after = timezone.now()
    assert response.status_code == 202
    assert response.json() == {"enqueued": 2}  # core1 and branch1

    rows = list(DeviceBackupResult.objects.order_by("device__name"))
    assert [r.device.name for r in rows] == ["Branch-Switch-01", "Core-Router-01"]
    [scheduled_for] = {r.scheduled_for for r in rows}
    assert before <= scheduled_for <= after
    assert all(r.manual and not r.is_catchup and r.schedule_id == daily.pk for r in rows)
    assert all(r.status == "queued" and r.published_at is not None for r in rows)

    [dc1] = broker_messages(redis_db, "collect.sydney-dc1")
    [default] = broker_messages(redis_db, "collect.default")
    core1 = fleet["devices"]["core1"]
    assert dc1["result_id"] == rows[1].pk
    assert dc1["device_id"] == core1.pk and dc1["device_name"] == "Core-Router-01"
    assert dc1["ip_address"] == "127.0.0.11" and dc1["schedule_id"] == daily.pk
    assert dc1["is_catchup"] is False and dc1["manual"] is True
    assert dc1["scheduled_for"].endswith("Z")
    assert datetime.fromisoformat(dc1["scheduled_for"]) == scheduled_for  # to the microsecond
    assert default["device_name"] == "Branch-Switch-01"


@pytest.mark.parametrize(
    ("role", "code", "devices"),
    [
        ("superuser", 202, {"Core-Router-01", "Branch-Switch-01"}),
        ("staff", 202, {"Core-Router-01"}),
        ("viewer", 403, set()),
        ("branch", 403, set()),
        ("nobody", 403, set()),
    ],
)
def test_run_now_access_matrix_counts_only_visible_devices(
    fleet: dict[str, Any], api_client: Any, redis_db: Any, role: str, code: int,
    devices: set[str],
) -> None:
    response = api_client(fleet["users"][role]).post(run_now_url(fleet["schedules"]["daily"]))
    assert response.status_code == code
    if code == 202:
        assert response.json() == {"enqueued": len(devices)}
    created = set(DeviceBackupResult.objects.values_list("device__name", flat=True))
    assert created == devices
    published = broker_messages(redis_db, "collect.sydney-dc1") + broker_messages(
        redis_db, "collect.default"
    )
    assert {p["device_name"] for p in published} == devices


@pytest.mark.parametrize("role", ["superuser", "staff", "viewer", "nobody"])
def test_run_now_of_an_unknown_schedule_is_404_for_everyone(
    fleet: dict[str, Any], api_client: Any, role: str
) -> None:
    client = api_client(fleet["users"][role])
    for pk in (999_999, "abc", 10**30):
        assert client.post(run_now_url(pk)).status_code == 404
    assert not DeviceBackupResult.objects.exists()


def test_run_now_publishes_every_message_of_a_busy_queue_decodably(
    fleet: dict[str, Any], api_client: Any, redis_db: Any, add_devices: Any
) -> None:
    daily, dc1 = fleet["schedules"]["daily"], fleet["collection_groups"]["sydney-dc1"]
    added = add_devices(
        40, device_group=fleet["device_groups"]["core"], collection_group=dc1,
        backup_schedule=daily,
    )
    response = api_client(fleet["users"]["staff"]).post(run_now_url(daily))
    assert response.json() == {"enqueued": 41}
    payloads = broker_messages(redis_db, "collect.sydney-dc1")
    assert sorted(p["device_id"] for p in payloads) == sorted(
        [fleet["devices"]["core1"].pk, *(d.pk for d in added)]
    )
    rows = dict(DeviceBackupResult.objects.values_list("device_id", "id"))
    assert all(rows[p["device_id"]] == p["result_id"] for p in payloads)
    assert all(p["manual"] is True and p["is_catchup"] is False for p in payloads)
    assert len({p["scheduled_for"] for p in payloads}) == 1


def test_run_now_works_for_a_disabled_schedule_and_skips_disabled_devices(
    fleet: dict[str, Any], api_client: Any, redis_db: Any
) -> None:
    daily = fleet["schedules"]["daily"]
    daily.enabled = False
    daily.save()
    branch1 = fleet["devices"]["branch1"]
    branch1.enabled = False
    branch1.save()
    response = api_client(fleet["users"]["superuser"]).post(run_now_url(daily))
    assert response.json() == {"enqueued": 1}
    assert list(DeviceBackupResult.objects.values_list("device__name", flat=True)) == [
        "Core-Router-01"
    ]


def test_run_now_for_a_user_who_sees_no_device_enqueues_nothing(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, redis_db: Any
) -> None:
    empty = make_schedule()
    response = api_client(fleet["users"]["staff"]).post(run_now_url(empty))
    assert response.status_code == 202 and response.json() == {"enqueued": 0}
    assert not DeviceBackupResult.objects.exists()


def test_two_runs_now_are_two_occurrences(
    fleet: dict[str, Any], api_client: Any, redis_db: Any
) -> None:
    client = api_client(fleet["users"]["staff"])
    daily = fleet["schedules"]["daily"]
    assert client.post(run_now_url(daily)).json() == {"enqueued": 1}
    assert client.post(run_now_url(daily)).json() == {"enqueued": 1}
    assert DeviceBackupResult.objects.values("scheduled_for").distinct().count() == 2
    assert len(broker_messages(redis_db, "collect.sydney-dc1")) == 2


def test_run_now_with_the_broker_down_is_503(
    fleet: dict[str, Any], api_client: Any, monkeypatch: Any
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> Any:
        raise kombu.exceptions.OperationalError("Error 111 connecting to broker")

    monkeypatch.setattr("devices.services.enqueue_occurrence", broker_down)
    response = api_client(fleet["users"]["staff"]).post(run_now_url(fleet["schedules"]["daily"]))
    assert response.status_code == 503
    assert "broker" in response.json()["detail"]


def test_run_now_refuses_get(fleet: dict[str, Any], api_client: Any) -> None:
    client = api_client(fleet["users"]["superuser"])
    assert client.get(run_now_url(fleet["schedules"]["daily"])).status_code == 405


# -- history -------------------------------------------------------------------------------

RESULT_FIELDS = {
    "id", "device", "schedule", "scheduled_for", "status", "is_catchup", "manual", "queued_at",
    "started_at", "finished_at", "error", "attempts", "skip_reason",
}


@pytest.fixture
def results(fleet: dict[str, Any], settings: Any) -> dict[str, Any]:
    """Results around Sydney local days 2027-06-07/08 (UTC+10): core1, core2, branch1, orphan."""
    settings.DEVICEVAULT = dataclasses.replace(
        settings.DEVICEVAULT, display_timezone="Australia/Sydney"
    )
    devices, daily = fleet["devices"], fleet["schedules"]["daily"]
    at = {
        "jun6_late": datetime(2027, 6, 6, 13, 59, 59, 999999, tzinfo=UTC),  # 06-06 23:59 local
        "jun7_first": datetime(2027, 6, 6, 14, 0, tzinfo=UTC),  # 2027-06-07 00:00 local
        "jun7_last": datetime(2027, 6, 7, 13, 59, tzinfo=UTC),  # 2027-06-07 23:59 local
        "jun8": datetime(2027, 6, 7, 16, 0, tzinfo=UTC),  # 2027-06-08 02:00 local
    }
    rows = [
        DeviceBackupResult(device=devices["core1"], schedule=daily, scheduled_for=at["jun6_late"],
                           status="success", finished_at=at["jun6_late"]),
        DeviceBackupResult(device=devices["core1"], schedule=daily, scheduled_for=at["jun7_first"],
                           status="failed", error="timeout"),
        DeviceBackupResult(device=devices["core2"], schedule=daily, scheduled_for=at["jun7_last"],
                           status="missed_window"),
        DeviceBackupResult(device=devices["branch1"], schedule=daily, scheduled_for=at["jun7_last"],
                           status="success"),
        DeviceBackupResult(device=devices["orphan"], schedule=daily, scheduled_for=at["jun8"],
                           status="queued", manual=True),
        DeviceBackupResult(device=devices["core1"], schedule=daily, scheduled_for=at["jun8"],
                           status="running", is_catchup=True),
    ]
    DeviceBackupResult.objects.bulk_create(rows)
    return {"at": at}


def history(client: Any, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"{HISTORY}?{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def rows_of(body: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(row["device"]["name"], row["scheduled_for"]) for row in body]


@pytest.mark.parametrize(
    ("role", "devices"),
    [
        ("superuser", {"Core-Router-01", "Core-Router-02", "Branch-Switch-01", "Lab-01"}),
        ("staff", {"Core-Router-01", "Core-Router-02"}),
        ("viewer", {"Core-Router-01", "Core-Router-02"}),
        ("branch", {"Branch-Switch-01"}),
        ("nobody", set()),
    ],
)
def test_history_shows_only_results_of_visible_devices(
    fleet: dict[str, Any], results: Any, api_client: Any, role: str, devices: set[str]
) -> None:
    body = history(api_client(fleet["users"][role]))
    assert {row["device"]["name"] for row in body} == devices


def test_history_rows_newest_first_with_the_documented_fields(
    fleet: dict[str, Any], results: Any, api_client: Any
) -> None:
    body = history(api_client(fleet["users"]["superuser"]))
    assert len(body) == 6
    stamps = [row["scheduled_for"] for row in body]
    assert stamps == sorted(stamps, reverse=True)
    row = next(r for r in body if r["status"] == "failed")
    assert set(row) == RESULT_FIELDS
    assert row["device"] == {"id": fleet["devices"]["core1"].pk, "name": "Core-Router-01"}
    assert row["schedule"] == {"id": fleet["schedules"]["daily"].pk, "name": "Daily 2 AM"}
    assert row["scheduled_for"] == "2027-06-06T14:00:00Z"
    assert row["error"] == "timeout" and row["queued_at"].endswith("Z")
    assert row["started_at"] is None and row["finished_at"] is None
    assert row["is_catchup"] is False and row["manual"] is False
    assert row["attempts"] == 0 and row["skip_reason"] == ""
    manual = next(r for r in body if r["device"]["name"] == "Lab-01")
    assert manual["manual"] is True
    catchup = next(r for r in body if r["status"] == "running")
    assert catchup["is_catchup"] is True


def test_history_dates_are_whole_local_days_with_end_inclusive(
    fleet: dict[str, Any], results: Any, api_client: Any
) -> None:
    client = api_client(fleet["users"]["superuser"])
    june7 = history(client, "start=2027-06-07&end=2027-06-07")
    assert sorted(rows_of(june7)) == [
        ("Branch-Switch-01", "2027-06-07T13:59:00Z"),
        ("Core-Router-01", "2027-06-06T14:00:00Z"),
        ("Core-Router-02", "2027-06-07T13:59:00Z"),
    ]
    assert len(history(client, "start=2027-06-08")) == 2
    assert len(history(client, "end=2027-06-06")) == 1
    assert len(history(client, "start=2027-06-06&end=2027-06-08")) == 6


def test_history_datetimes_bound_inclusively(
    fleet: dict[str, Any], results: Any, api_client: Any
) -> None:
    client = api_client(fleet["users"]["superuser"])
    assert len(history(client, "start=2027-06-07T13:59:00Z&end=2027-06-07T13:59:00Z")) == 2
    # Without an offset, a datetime is display-local; an unencoded '+' arrives as a space.
    assert len(history(client, "start=2027-06-07T23:59:00&end=2027-06-07T23:59:00")) == 2
    assert len(history(client, "start=2027-06-07T23:59+10:00&end=2027-06-07T23:59 10:00")) == 2
    assert len(history(client, "end=2027-06-06T13:59:59.999999%2B00:00")) == 1


def test_history_filters(fleet: dict[str, Any], results: Any, api_client: Any) -> None:
    client = api_client(fleet["users"]["superuser"])
    core1, daily = fleet["devices"]["core1"], fleet["schedules"]["daily"]
    assert {r["status"] for r in history(client, "status=success")} == {"success"}
    assert len(history(client, "status=success")) == 2
    assert len(history(client, f"device={core1.pk}")) == 3
    assert len(history(client, f"schedule={daily.pk}")) == 6
    assert history(client, f"schedule={fleet['schedules']['weekly'].pk}") == []
    assert len(history(client, f"device={core1.pk}&status=failed&start=2027-06-07")) == 1
    assert history(client, "device=999999") == []


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("status=done", "status"), ("status=SUCCESS", "status"), ("device=abc", "device"),
        ("device=-1", "device"), (f"device={10**30}", "device"), ("schedule=1.0", "schedule"),
        ("start=garbage", "start"), ("start=2027-02-30", "start"), ("end=2027-13-01", "end"),
        ("start=2027-06-07T25:00", "start"), ("end=0001-01-01T00:00:00+10:00", "end"),
        ("end=9999-12-31", "end"), ("start=2027-06-08&end=2027-06-07", "end"),
        ("page=abc", "page"), ("colour=blue", "colour"), ("status=", "status"),
    ],
)
def test_history_bad_parameters_are_400_naming_the_parameter(
    fleet: dict[str, Any], results: Any, api_client: Any, query: str, name: str
) -> None:
    response = api_client(fleet["users"]["superuser"]).get(f"{HISTORY}?{query}")
    assert response.status_code == 400, response.content
    assert response.json()[name]


@pytest.mark.parametrize("role", ["superuser", "viewer"])
def test_history_query_count_is_the_same_for_10_and_500_results(
    fleet: dict[str, Any], api_client: Any, add_devices: Any, make_schedule: Any, role: str
) -> None:
    client = api_client(fleet["users"][role])
    schedule = make_schedule()
    devices = add_devices(50, device_group=fleet["device_groups"]["core"])
    base = datetime(2027, 1, 1, tzinfo=UTC)

    def add_results(n: int, offset: int) -> None:
        DeviceBackupResult.objects.bulk_create(
            DeviceBackupResult(
                device=devices[i % len(devices)], schedule=schedule,
                scheduled_for=base + timedelta(minutes=offset + i),
            )
            for i in range(n)
        )

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            history(client, "page_size=500")
        return len(queries)

    add_results(10, 0)
    small = count_queries()
    add_results(490, 10)
    assert len(history(client, "page_size=500")) == 500
    assert count_queries() == small == 2  # count + one page with device and schedule joined


def test_deleting_a_schedule_keeps_its_history_and_stored_configurations(
    fleet: dict[str, Any], api_client: Any, client: Any
) -> None:
    daily, core1 = fleet["schedules"]["daily"], fleet["devices"]["core1"]
    occurrence = Occurrence(schedule_id=daily.pk, scheduled_for=datetime(2027, 6, 7, 16, 0,
                                                                          tzinfo=UTC))
    assert create_results(occurrence, scheduled_devices(daily.pk)) == 2  # core1, branch1
    result = DeviceBackupResult.objects.get(device=core1)
    DeviceBackupResult.objects.filter(pk=result.pk).update(status="success", attempts=1)
    backup = backup_store(result=result, text="hostname core1\nend\n")
    superuser = fleet["users"]["superuser"]
    before = history(api_client(superuser))
    assert {row["schedule"]["name"] for row in before} == {"Daily 2 AM"}

    response = api_client(superuser).delete(f"/api/backup-schedules/{daily.pk}/")
    assert response.status_code == 204

    after = history(api_client(superuser))
    assert [row["id"] for row in after] == [row["id"] for row in before]
    for row in after:
        assert set(row) == RESULT_FIELDS
        assert row["schedule"] == {"id": None, "name": "Daily 2 AM"}
    mine = next(row for row in after if row["id"] == result.pk)
    assert mine["status"] == "success" and mine["attempts"] == 1
    assert mine["skip_reason"] == ""
    backups = api_client(superuser).get(f"/api/devices/{core1.pk}/backups/").json()
    assert [b["id"] for b in backups["results"]] == [backup.pk]
    diff = api_client(superuser).get(f"/api/devices/{core1.pk}/backups/{backup.pk}/diff/")
    assert diff.status_code == 200
    client.force_login(superuser)
    for page in ("/admin/devices/devicebackupresult/",
                 f"/admin/devices/devicebackupresult/{result.pk}/change/",
                 "/admin/devices/devicebackup/",
                 f"/admin/devices/devicebackup/{backup.pk}/change/"):
        response = client.get(page)
        assert response.status_code == 200, page
    assert "Daily 2 AM" in client.get("/admin/devices/devicebackupresult/").content.decode()
