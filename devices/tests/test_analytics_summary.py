"""Analytics summaries (devices.analytics_summary): the analytics read the summarised days from
their cells and give exactly the figures the results give; every change to a summarised day's
results, or a device moving to another group, makes it read the results again."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import analytics, analytics_summary
from devices.analytics_summary import CLOSED_AFTER, days_to_build
from devices.models import Device, DeviceBackupResult
from devices.selectors import display_zone

URL = "/api/scheduled-backups/analytics/"
WINDOW = {"start": "2026-11-01", "end": "2026-11-30"}
DAY = datetime(2026, 11, 9, 15, 0, tzinfo=UTC)  # 2026-11-10 02:00 in Sydney
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
GROUP_BYS = ("schedule", "collection_group", "device_group", "day")
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="summaries: PostgreSQL")


# -- which days a build summarises (pure) ---------------------------------------------------

SYDNEY = ZoneInfo("Australia/Sydney")


def test_a_day_is_summarised_an_hour_after_it_ends_and_not_before() -> None:
    midnight = datetime(2026, 12, 3, 0, 0, tzinfo=SYDNEY)
    before = days_to_build(now=midnight + CLOSED_AFTER - timedelta(seconds=1), zone=SYDNEY,
                           covered=[], pending=[], days=3)
    after = days_to_build(now=midnight + CLOSED_AFTER, zone=SYDNEY, covered=[], pending=[],
                          days=3)
    assert [s.day for s in before] == [date(2026, 12, 1), date(2026, 11, 30)]
    assert [s.day for s in after] == [date(2026, 12, 2), date(2026, 12, 1), date(2026, 11, 30)]


def test_summarised_days_and_days_with_pending_results_are_left_out() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=SYDNEY)
    pending = [datetime(2026, 12, 1, 23, 30, tzinfo=SYDNEY).astimezone(UTC)]
    spans = days_to_build(now=now, zone=SYDNEY, covered=[date(2026, 11, 30)], pending=pending,
                          days=4, limit=5)
    assert [s.day for s in spans] == [date(2026, 12, 2), date(2026, 11, 29)]
    assert len(days_to_build(now=now, zone=SYDNEY, covered=[], pending=[], days=40,
                             limit=7)) == 7


def test_a_day_spans_local_midnight_to_local_midnight_across_dst() -> None:
    span = analytics_summary.day_span(date(2026, 10, 4), SYDNEY)  # 23 hours (DST starts)
    assert span.ends - span.begins == timedelta(hours=23)
    assert span.begins == datetime(2026, 10, 3, 14, 0, tzinfo=UTC)


# -- the figures, summarised or not ---------------------------------------------------------


def _add(device: Device, *, day: int, status: str, seconds: float | None = None,
         error: str = "", offset: int = 0, schedule: Any = "same") -> DeviceBackupResult:
    schedule = device.backup_schedule if schedule == "same" else schedule
    at = DAY + timedelta(days=day, seconds=offset)
    return DeviceBackupResult.objects.create(
        device=device, schedule=schedule, scheduled_for=at, status=status, error=error,
        started_at=at if seconds is not None else None,
        finished_at=at + timedelta(seconds=seconds) if seconds is not None else None,
    )


def _random_results(fleet: dict[str, Any], rng: random.Random, n: int) -> None:
    devices = list(fleet["devices"].values())
    rows = []
    for index in range(n):
        device = devices[index % len(devices)]
        status = rng.choice(["success", "success", "failed", "missed_window", "skipped",
                             "queued"])
        seconds = None if status in ("missed_window", "skipped") else rng.choice(
            [1, 2, 2.5, 3, 30, round(rng.uniform(0, 100), 6), 1e-6, 0.0005, 0.0015])
        at = DAY + timedelta(days=rng.randrange(-12, 12), seconds=index)
        rows.append(DeviceBackupResult(
            device=device, schedule=rng.choice([device.backup_schedule, None]),
            scheduled_for=at, status="failed" if status == "queued" and index % 2 else status,
            error=rng.choice(["a", "b", "c" * 300, "c" * 300 + "d", ""]),
            started_at=at if seconds is not None else None,
            finished_at=at + timedelta(seconds=seconds) if seconds is not None else None,
        ))
    DeviceBackupResult.objects.bulk_create(rows)


def _get(client: Any, group_by: str, **window: str) -> list[dict[str, Any]]:
    response = client.get(URL, {**(window or WINDOW), "group_by": group_by})
    assert response.status_code == 200, response.content
    return response.json()["groups"]  # type: ignore[no-any-return]


def _exact(client: Any, group_by: str, monkeypatch: Any, **window: str) -> list[dict[str, Any]]:
    """The figures from every result, by window functions (no summary read)."""
    with monkeypatch.context() as patch:
        patch.setattr(analytics, "_percentiles_by_aggregate", lambda: False)
        return _get(client, group_by, **window)


def _build() -> int:
    return analytics_summary.build(now=NOW, zone=display_zone())


def _ready_days() -> int:
    if not analytics_summary.available():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {analytics_summary.DAY_TABLE} WHERE ready")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db
@pytest.mark.parametrize("user", ["superuser", "viewer", "branch", "nobody"])
def test_summarised_days_give_exactly_the_figures_of_the_results(
    fleet: dict[str, Any], api_client: Any, monkeypatch: Any, user: str
) -> None:
    _random_results(fleet, random.Random(user), 300)
    client = api_client(fleet["users"][user])
    exact = {g: _exact(client, g, monkeypatch) for g in GROUP_BYS}
    assert {g: _get(client, g) for g in GROUP_BYS} == exact
    made = _build()
    if analytics_summary.available():
        assert made > 20 and _ready_days() == made
    assert {g: _get(client, g) for g in GROUP_BYS} == exact
    assert exact["schedule"] or user == "nobody"


@postgresql_only
@pytest.mark.django_db
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    durations=st.lists(st.integers(min_value=0, max_value=10**8), min_size=1, max_size=40),
    summarised=st.sets(st.integers(min_value=0, max_value=3)),
)
def test_merged_percentiles_are_the_exact_nearest_rank_whatever_is_summarised(
    fleet: dict[str, Any], api_client: Any, monkeypatch: Any, durations: list[int],
    summarised: set[int],
) -> None:
    DeviceBackupResult.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {analytics_summary.DAY_TABLE}")
    core1 = fleet["devices"]["core1"]
    for index, microseconds in enumerate(durations):
        _add(core1, day=index % 4, status="success", seconds=microseconds / 1e6, offset=index)
    _build()
    zone = display_zone()
    kept = [(DAY + timedelta(days=day)).astimezone(zone).date() for day in summarised]
    with connection.cursor() as cursor:  # only these days are read from their cells
        cursor.execute(f"DELETE FROM {analytics_summary.DAY_TABLE} WHERE NOT day = ANY(%s)",
                       [kept])
    client = api_client(fleet["users"]["viewer"])
    figures = _get(client, "schedule")[0]
    ranked = sorted(durations)
    n = len(ranked)
    assert figures["duration_p50_seconds"] == round(ranked[-(-n // 2) - 1] / 1e6, 3)
    assert figures["duration_p95_seconds"] == round(ranked[-(-n * 95 // 100) - 1] / 1e6, 3)
    assert _get(client, "schedule") == _exact(client, "schedule", monkeypatch)


@pytest.mark.django_db
def test_the_query_count_stays_two_with_summaries(fleet: dict[str, Any], api_client: Any) -> None:
    _random_results(fleet, random.Random(2), 100)
    _build()
    client = api_client(fleet["users"]["viewer"])
    for group_by in GROUP_BYS:
        with CaptureQueriesContext(connection) as queries:
            _get(client, group_by)
        assert len(queries) == 2


# -- what makes a summarised day read its results again --------------------------------------


@pytest.fixture
def summarised(fleet: dict[str, Any]) -> dict[str, Any]:
    core1, branch1 = fleet["devices"]["core1"], fleet["devices"]["branch1"]
    fleet["rows"] = [
        _add(core1, day=0, status="success", seconds=3),
        _add(core1, day=1, status="failed", seconds=4, error="timeout"),
        _add(branch1, day=0, status="failed", seconds=5, error="branch secret"),
    ]
    _build()
    if analytics_summary.available():
        assert _ready_days() > 20
    return fleet


def _daily(client: Any, group_by: str = "schedule") -> dict[str, Any]:
    return {g["name"]: g for g in _get(client, group_by)}


@pytest.mark.django_db
def test_a_late_outcome_on_a_summarised_day_is_counted(
    summarised: dict[str, Any], api_client: Any
) -> None:
    client = api_client(summarised["users"]["viewer"])
    before = _ready_days()
    row = summarised["rows"][0]
    DeviceBackupResult.objects.filter(pk=row.pk).update(status="failed", error="late")
    assert _ready_days() == max(before - 1, 0)
    daily = _daily(client)["Daily 2 AM"]
    assert (daily["success"], daily["failed"]) == (0, 2)
    assert {"error": "late", "count": 1} in daily["top_errors"]


@pytest.mark.django_db
def test_a_result_added_or_deleted_on_a_summarised_day_is_counted(
    summarised: dict[str, Any], api_client: Any
) -> None:
    client = api_client(summarised["users"]["viewer"])
    _add(summarised["devices"]["core1"], day=2, status="missed_window", offset=5)
    assert _daily(client)["Daily 2 AM"]["missed_window"] == 1
    DeviceBackupResult.objects.filter(pk=summarised["rows"][1].pk).delete()
    assert _daily(client)["Daily 2 AM"]["failed"] == 0
    _build()
    assert _daily(client)["Daily 2 AM"]["total"] == 2


@pytest.mark.django_db
def test_a_device_moved_to_a_group_the_user_cannot_see_takes_its_figures_along(
    summarised: dict[str, Any], api_client: Any
) -> None:
    viewer = api_client(summarised["users"]["viewer"])
    assert _daily(viewer, "device_group")["core"]["total"] == 2
    core1 = summarised["devices"]["core1"]
    core1.device_group = summarised["device_groups"]["branch"]
    core1.save()
    assert _ready_days() == 0
    assert _daily(viewer, "device_group") == {}
    branch = _daily(api_client(summarised["users"]["branch"]), "device_group")["branch"]
    assert branch["total"] == 3
    _build()
    assert _daily(viewer, "device_group") == {}
    assert "timeout" not in str(_get(viewer, "schedule"))


@pytest.mark.django_db
def test_a_deleted_device_or_schedule_leaves_the_summarised_figures(
    summarised: dict[str, Any], api_client: Any
) -> None:
    root = api_client(summarised["users"]["superuser"])
    summarised["schedules"]["daily"].delete()
    assert _daily(root)["(no schedule)"]["total"] == 3
    _build()
    summarised["devices"]["branch1"].delete()
    assert _daily(root)["(no schedule)"]["total"] == 2
    _build()
    assert "branch secret" not in str(_get(root, "collection_group"))


@postgresql_only
@pytest.mark.django_db
def test_a_day_changed_while_it_is_summed_is_not_made_ready(
    summarised: dict[str, Any], monkeypatch: Any
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {analytics_summary.DAY_TABLE}")
    real = analytics_summary._wait_for_writers

    def a_writer_meanwhile(cursor: Any) -> bool:
        # A result changes after the days are claimed: its trigger forgets its day.
        DeviceBackupResult.objects.filter(pk=summarised["rows"][0].pk).update(status="failed")
        return real(cursor)

    monkeypatch.setattr(analytics_summary, "_wait_for_writers", a_writer_meanwhile)
    made = _build()
    local = summarised["rows"][0].scheduled_for.astimezone(display_zone()).date()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT day FROM {analytics_summary.DAY_TABLE} WHERE ready")
        ready = {row[0] for row in cursor.fetchall()}
    assert local not in ready and len(ready) == made > 20
