"""`GET /api/scheduled-backups/analytics/`: counts, success rate, duration percentiles and top
errors per group, over visible devices only, in a fixed number of queries."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devices.models import Device, DeviceBackupResult

pytestmark = pytest.mark.django_db

URL = "/api/scheduled-backups/analytics/"
# 2026-11-10 02:00 in Sydney (UTC+11) is 2026-11-09 15:00 UTC.
DAY = datetime(2026, 11, 9, 15, 0, tzinfo=UTC)
WINDOW = {"start": "2026-11-01", "end": "2026-11-30"}
_SECONDS = itertools.count()  # each row its own occurrence (one row per device-occurrence)


def add(device: Device, n: int, status: str, *, seconds: float | None = None,
        error: str = "", day: int = 0, schedule: Any = "same") -> None:
    schedule = device.backup_schedule if schedule == "same" else schedule
    start = DAY + timedelta(days=day)
    DeviceBackupResult.objects.bulk_create(
        DeviceBackupResult(
            device=device, schedule=schedule, schedule_name=schedule.name if schedule else "",
            scheduled_for=start + timedelta(seconds=next(_SECONDS)), status=status, error=error,
            started_at=start if seconds is not None else None,
            finished_at=start + timedelta(seconds=seconds) if seconds is not None else None,
        )
        for _ in range(n)
    )


def groups(client: Any, **params: str) -> dict[str, dict[str, Any]]:
    response = client.get(URL, {**WINDOW, **params})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"start", "end", "group_by", "groups"}
    return {g["name"]: g for g in body["groups"]}


def test_counts_rate_percentiles_and_top_errors_per_schedule(
    fleet: dict[str, Any], api_client: Any
) -> None:
    core1 = fleet["devices"]["core1"]
    for seconds in range(1, 21):  # 20 successes taking 1..20 s
        add(core1, 1, "success", seconds=seconds, day=seconds % 7)
    add(core1, 3, "failed", seconds=30, error="timeout: no answer in 30 s")
    add(core1, 1, "failed", seconds=1, error="auth failed", day=1)
    add(core1, 2, "missed_window")
    add(core1, 4, "skipped")
    add(core1, 5, "success", seconds=1, day=40)  # outside the window
    add(core1, 2, "queued", day=2)  # not finished: not counted

    daily = groups(api_client(fleet["users"]["superuser"]))["Daily 2 AM"]
    assert daily["id"] == fleet["schedules"]["daily"].pk
    assert (daily["total"], daily["success"], daily["failed"], daily["missed_window"],
            daily["skipped"]) == (30, 20, 4, 2, 4)
    assert daily["success_rate"] == round(20 / 26, 4)
    # 24 durations: twenty of 1..20 s, one of 1 s, three of 30 s. Nearest rank: the 12th
    # and the 23rd smallest.
    durations = sorted([*range(1, 21), 1, 30, 30, 30])
    assert daily["duration_p50_seconds"] == durations[11]
    assert daily["duration_p95_seconds"] == durations[22]
    assert daily["top_errors"] == [
        {"error": "timeout: no answer in 30 s", "count": 3}, {"error": "auth failed", "count": 1}
    ]


def test_only_visible_devices_count(fleet: dict[str, Any], api_client: Any) -> None:
    add(fleet["devices"]["core1"], 3, "success", seconds=2)
    add(fleet["devices"]["branch1"], 5, "failed", seconds=2, error="branch secret")
    viewer = groups(api_client(fleet["users"]["viewer"]))
    assert viewer["Daily 2 AM"]["total"] == 3 and viewer["Daily 2 AM"]["failed"] == 0
    assert "branch secret" not in str(viewer)
    assert groups(api_client(fleet["users"]["nobody"])) == {}
    assert groups(api_client(fleet["users"]["superuser"]))["Daily 2 AM"]["total"] == 8


def test_grouped_by_collection_and_device_group(fleet: dict[str, Any], api_client: Any) -> None:
    add(fleet["devices"]["core1"], 2, "success", seconds=1)  # core, sydney-dc1
    add(fleet["devices"]["core2"], 1, "failed", seconds=1, error="x")  # core, no coll. group
    add(fleet["devices"]["branch1"], 1, "success", seconds=1)  # branch, no coll. group
    client = api_client(fleet["users"]["superuser"])
    by_collection = groups(client, group_by="collection_group")
    assert {k: v["total"] for k, v in by_collection.items()} == {
        "sydney-dc1": 2, "(no group)": 2
    }
    assert list(by_collection) == ["sydney-dc1", "(no group)"]  # no group last
    by_device_group = groups(client, group_by="device_group")
    assert {k: (v["total"], v["success_rate"]) for k, v in by_device_group.items()} == {
        "branch": (1, 1.0), "core": (3, round(2 / 3, 4))
    }


def test_a_deleted_schedule_and_backups_now_count_under_no_schedule(
    fleet: dict[str, Any], api_client: Any
) -> None:
    core1 = fleet["devices"]["core1"]
    add(core1, 2, "success", seconds=1, schedule=None)
    by_schedule = groups(api_client(fleet["users"]["superuser"]))
    assert by_schedule["(no schedule)"]["total"] == 2
    assert by_schedule["(no schedule)"]["id"] is None


def test_query_count_does_not_grow_with_results(
    fleet: dict[str, Any], api_client: Any
) -> None:
    client = api_client(fleet["users"]["viewer"])

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            groups(client, group_by="collection_group")
        return len(queries)

    add(fleet["devices"]["core1"], 1, "success", seconds=1)
    small = count()
    for day in range(20):
        add(fleet["devices"]["core1"], 50, "failed", seconds=day, error=f"e{day % 7}", day=day)
        add(fleet["devices"]["core2"], 50, "success", seconds=day, day=day)
    assert count() == small == 2


@pytest.mark.parametrize(
    "query",
    ["start=2026-13-01", "end=yesterday", "group_by=device", "start=2026-12-01&end=2026-11-01",
     "start=2025-01-01&end=2026-12-31", "colour=blue", "end=9999-12-31", "group_by=week"],
)
def test_bad_parameters_are_400_naming_the_parameter(
    fleet: dict[str, Any], api_client: Any, query: str
) -> None:
    response = api_client(fleet["users"]["viewer"]).get(f"{URL}?{query}")
    assert response.status_code == 400, response.content
    assert set(response.json()) & {"start", "end", "group_by", "colour"}


def test_defaults_are_the_last_30_local_days_by_schedule(
    fleet: dict[str, Any], api_client: Any
) -> None:
    body = api_client(fleet["users"]["viewer"]).get(URL).json()
    assert body["group_by"] == "schedule"
    start, end = (datetime.fromisoformat(body[k]).date() for k in ("start", "end"))
    assert (end - start).days == 29


def test_grouped_by_local_day_lists_every_day_in_order(
    fleet: dict[str, Any], api_client: Any
) -> None:
    core1 = fleet["devices"]["core1"]
    add(core1, 2, "success", seconds=3)  # 2026-11-10 02:00 Sydney
    add(core1, 1, "failed", seconds=5, error="refused", day=1)  # 2026-11-11
    # 23:59:59 Sydney on the 11th is still the 11th; 00:00 on the 12th is the 12th.
    late = datetime(2026, 11, 11, 12, 59, 59, tzinfo=UTC)
    DeviceBackupResult.objects.create(device=core1, schedule=None, scheduled_for=late,
                                      status="success")
    DeviceBackupResult.objects.create(device=core1, schedule=None,
                                      scheduled_for=late + timedelta(seconds=1), status="failed")
    body = api_client(fleet["users"]["viewer"]).get(
        URL, {"start": "2026-11-09", "end": "2026-11-13", "group_by": "day"}
    ).json()
    days = body["groups"]
    assert [d["name"] for d in days] == [
        "2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"
    ]
    assert [d["id"] for d in days] == [0, 1, 2, 3, 4]
    assert [(d["success"], d["failed"]) for d in days] == [(0, 0), (2, 0), (1, 1), (0, 1), (0, 0)]
    assert days[1]["duration_p50_seconds"] == 3 and days[1]["success_rate"] == 1.0
    assert days[2]["top_errors"] == [{"error": "refused", "count": 1}]
    assert days[0]["success_rate"] is None and days[0]["top_errors"] == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="percentile_disc: PostgreSQL")
@pytest.mark.parametrize("group_by", ["schedule", "device_group", "day"])
def test_percentile_disc_gives_the_same_figures_as_the_window_functions(
    fleet: dict[str, Any], api_client: Any, monkeypatch: Any, group_by: str
) -> None:
    import random

    from devices import analytics

    rng = random.Random(19)
    devices = list(fleet["devices"].values())
    for index in range(400):  # ties, sizes that are multiples of 20 and not, nulls
        device = devices[index % len(devices)]
        status = rng.choice(["success", "success", "failed", "missed_window", "skipped"])
        seconds = None if status in ("missed_window", "skipped") else rng.choice(
            [1, 2, 2.5, 3, 30, rng.uniform(0, 100)])
        add(device, 1 + index % 3, status, seconds=seconds, day=index % 20,
            error=f"error {index % 7}" if status == "failed" else "")
    client = api_client(fleet["users"]["superuser"])
    by_aggregate = groups(client, group_by=group_by)
    monkeypatch.setattr(analytics, "_percentiles_by_aggregate", lambda: False)
    assert groups(client, group_by=group_by) == by_aggregate
    assert any(g["duration_p95_seconds"] for g in by_aggregate.values())
