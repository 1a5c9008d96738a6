"""The scheduled-backups calendar: shape, access, DST days, bad input and query counts."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from devices.api.renderers import CalendarData, CalendarJSONRenderer
from devices.selectors import calendar_for_user

pytestmark = pytest.mark.django_db

URL = "/api/scheduled-backups/calendar/"
ENTRY_FIELDS = {
    "schedule_id", "schedule_name", "time", "device_count", "devices", "devices_truncated",
    "spread_minutes", "timezone",
}


@pytest.fixture
def sydney(settings: Any) -> ZoneInfo:
    """Read schedules and show dates in Australia/Sydney, whatever the environment says."""
    settings.DEVICEVAULT = dataclasses.replace(
        settings.DEVICEVAULT, display_timezone="Australia/Sydney"
    )
    return ZoneInfo("Australia/Sydney")


def calendar(client: Any, query: str = "") -> dict[str, list[dict[str, Any]]]:
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


# -- shape ---------------------------------------------------------------------------------


def test_default_window_is_30_days_from_today_in_the_display_timezone(
    fleet: dict[str, Any], api_client: Any, sydney: ZoneInfo
) -> None:
    today = timezone.now().astimezone(sydney).date()
    days = calendar(api_client(fleet["users"]["viewer"]))
    assert list(days) == [(today + timedelta(days=n)).isoformat() for n in range(30)]


def test_every_day_lists_entries_sorted_by_time_then_name(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    make_schedule(name="B early", hour=1, minute=0)
    make_schedule(name="A early", hour=1, minute=0)
    make_schedule(name="Late", hour=23, minute=59)
    days = calendar(api_client(fleet["users"]["superuser"]), "start=2027-06-07&days=7")
    assert list(days) == [f"2027-06-{d:02d}" for d in range(7, 14)]
    monday = days["2027-06-07"]
    assert [(e["time"], e["schedule_name"]) for e in monday] == [
        ("01:00", "A early"), ("01:00", "B early"), ("02:00", "Daily 2 AM"),
        ("03:30", "Weekly Mon"), ("23:59", "Late"),
    ]
    assert all(set(entry) == ENTRY_FIELDS for entries in days.values() for entry in entries)
    tuesday = days["2027-06-08"]
    assert [e["schedule_name"] for e in tuesday] == ["A early", "B early", "Daily 2 AM", "Late"]


def test_devices_of_an_entry_are_the_enabled_devices_the_user_may_see(
    fleet: dict[str, Any], api_client: Any, sydney: ZoneInfo
) -> None:
    daily = fleet["schedules"]["daily"]
    devices = fleet["devices"]

    def daily_entry(role: str) -> dict[str, Any]:
        day = calendar(api_client(fleet["users"][role]), "start=2027-06-07&days=1")
        [entry] = [e for e in day["2027-06-07"] if e["schedule_id"] == daily.pk]
        return entry

    entry = daily_entry("superuser")
    assert entry["schedule_name"] == "Daily 2 AM" and entry["time"] == "02:00"
    assert entry["devices"] == [
        {"id": devices["branch1"].pk, "name": "Branch-Switch-01", "ip_address": "127.0.0.21"},
        {"id": devices["core1"].pk, "name": "Core-Router-01", "ip_address": "127.0.0.11"},
    ]
    assert entry["device_count"] == 2
    assert [d["name"] for d in daily_entry("staff")["devices"]] == ["Core-Router-01"]
    assert [d["name"] for d in daily_entry("branch")["devices"]] == ["Branch-Switch-01"]
    nobody = daily_entry("nobody")
    assert nobody["devices"] == [] and nobody["device_count"] == 0

    devices["core1"].enabled = False
    devices["core1"].save()
    assert daily_entry("staff")["device_count"] == 0


@pytest.mark.parametrize("role", ["superuser", "staff", "viewer", "branch", "nobody"])
def test_every_user_sees_every_enabled_schedule_and_no_disabled_one(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo, role: str
) -> None:
    make_schedule(name="Empty", hour=4)
    make_schedule(name="Off", hour=5, enabled=False)
    days = calendar(api_client(fleet["users"][role]), "start=2027-06-07&days=1")
    assert [e["schedule_name"] for e in days["2027-06-07"]] == [
        "Daily 2 AM", "Weekly Mon", "Empty",
    ]


def test_devices_on_a_disabled_schedule_do_not_appear(
    fleet: dict[str, Any], api_client: Any, sydney: ZoneInfo
) -> None:
    daily = fleet["schedules"]["daily"]
    daily.enabled = False
    daily.save()
    days = calendar(api_client(fleet["users"]["superuser"]), "start=2027-06-07&days=7")
    names = {e["schedule_name"] for entries in days.values() for e in entries}
    assert names == {"Weekly Mon"}


def test_occurrences_earlier_today_are_listed(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    make_schedule(name="Midnight", hour=0, minute=0)
    today = timezone.now().astimezone(sydney).date().isoformat()
    days = calendar(api_client(fleet["users"]["viewer"]), "days=1")
    assert "Midnight" in [e["schedule_name"] for e in days[today]]


def test_weekly_and_cron_schedules(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    make_schedule(name="Twice", schedule_type="cron", cron_expression="15 6,18 * * 1-5")
    days = calendar(api_client(fleet["users"]["viewer"]), "start=2027-06-05&days=3")  # Sat-Mon
    assert [e["schedule_name"] for e in days["2027-06-05"]] == ["Daily 2 AM"]
    assert [e["schedule_name"] for e in days["2027-06-06"]] == ["Daily 2 AM"]
    assert [(e["time"], e["schedule_name"]) for e in days["2027-06-07"]] == [
        ("02:00", "Daily 2 AM"), ("03:30", "Weekly Mon"), ("06:15", "Twice"), ("18:15", "Twice"),
    ]


# -- DST and month ends (Australia/Sydney) ----------------------------------------------------


def test_spring_forward_day_shows_0330_for_a_0230_schedule(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    make_schedule(name="Half past two", hour=2, minute=30)
    days = calendar(api_client(fleet["users"]["viewer"]), "start=2027-10-02&days=3")
    times = {
        day: [e["time"] for e in entries if e["schedule_name"] == "Half past two"]
        for day, entries in days.items()
    }
    assert times == {"2027-10-02": ["02:30"], "2027-10-03": ["03:30"], "2027-10-04": ["02:30"]}


def test_a_schedule_in_its_own_zone_shows_in_display_time_across_both_zones_dst(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    """02:00 New York is 18:00 Sydney in January (EST/AEDT), 16:00 in June (EDT/AEST), and on
    New York's spring-forward day (2027-03-14) 02:00 does not exist there: 03:00 EDT, which
    is 18:00 AEDT on the 14th; the entry says which zone the schedule lives in."""
    make_schedule(name="New York nights", hour=2, minute=0, timezone="America/New_York")

    def times(start: str, days: int) -> dict[str, list[str]]:
        answer = calendar(api_client(fleet["users"]["viewer"]), f"start={start}&days={days}")
        entries = {day: [e for e in found if e["schedule_name"] == "New York nights"]
                   for day, found in answer.items()}
        assert all(e["timezone"] == "America/New_York" for found in entries.values()
                   for e in found)
        return {day: [e["time"] for e in found] for day, found in entries.items()}

    assert times("2027-01-10", 1) == {"2027-01-10": ["18:00"]}
    assert times("2027-06-10", 1) == {"2027-06-10": ["16:00"]}
    assert times("2027-03-14", 2) == {"2027-03-14": ["18:00"], "2027-03-15": ["17:00"]}


def test_fall_back_day_shows_a_0230_schedule_once(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    make_schedule(name="Half past two", hour=2, minute=30)
    days = calendar(api_client(fleet["users"]["viewer"]), "start=2027-04-03&days=3")
    times = {
        day: [e["time"] for e in entries if e["schedule_name"] == "Half past two"]
        for day, entries in days.items()
    }
    assert times == {"2027-04-03": ["02:30"], "2027-04-04": ["02:30"], "2027-04-05": ["02:30"]}


def test_monthly_on_31st_shows_on_the_last_day_of_february(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    make_schedule(name="Month end", schedule_type="monthly", day_of_month=31, hour=1)
    days = calendar(api_client(fleet["users"]["viewer"]), "start=2027-01-01&days=90")
    fired = [
        day for day, entries in days.items()
        if any(e["schedule_name"] == "Month end" for e in entries)
    ]
    assert fired == ["2027-01-31", "2027-02-28", "2027-03-31"]


def test_window_edges_are_local_midnights(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    make_schedule(name="First minute", hour=0, minute=0)
    make_schedule(name="Last minute", hour=23, minute=59)
    days = calendar(api_client(fleet["users"]["viewer"]), "start=2027-10-03&days=1")
    assert [e["schedule_name"] for e in days["2027-10-03"]] == [
        "First minute", "Daily 2 AM", "Last minute",
    ]


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("days=0", "days"), ("days=367", "days"), ("days=1000", "days"), ("days=-1", "days"),
        ("days=abc", "days"), ("days=1.5", "days"), ("days=", "days"), ("start=", "start"),
        (f"days={10**30}", "days"),
        ("start=garbage", "start"), ("start=2027-02-30", "start"), ("start=2027-2-3", "start"),
        ("start=27-02-03", "start"), ("start=2027-02-03T00:00", "start"),
        ("start=0001-01-01", "start"), ("start=9999-12-31", "start"),
        ("start=%00", "start"), ("device=1", "device"), ("colour=blue", "colour"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    fleet: dict[str, Any], api_client: Any, query: str, name: str | None
) -> None:
    response = api_client(fleet["users"]["viewer"]).get(f"{URL}?{query}")
    if name is None:  # an empty value is the default
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content
    assert response.json()[name]


@pytest.mark.parametrize("days", [1, 366])
def test_days_range_limits_are_accepted(
    fleet: dict[str, Any], api_client: Any, sydney: ZoneInfo, days: int
) -> None:
    assert len(calendar(api_client(fleet["users"]["viewer"]), f"days={days}")) == days


def test_anonymous_is_refused(fleet: dict[str, Any], api_client: Any) -> None:
    assert api_client().get(URL).status_code in (401, 403)


def test_options_describes_the_endpoint(fleet: dict[str, Any], api_client: Any) -> None:
    response = api_client(fleet["users"]["viewer"]).options(URL)
    assert response.status_code == 200 and response.json()["name"]


# -- rendering and cost ---------------------------------------------------------------------


def test_entries_of_a_schedule_share_one_device_list(fleet: dict[str, Any]) -> None:
    days = calendar_for_user(user=fleet["users"]["superuser"], start=date(2027, 6, 1), days=10)
    lists = {
        id(e["devices"]) for entries in days.values() for e in entries
        if e["schedule_name"] == "Daily 2 AM"
    }
    assert len(lists) == 1


def test_fast_renderer_gives_the_same_json_as_drf(
    fleet: dict[str, Any], make_schedule: Any
) -> None:
    make_schedule(name='Quote " and \u2028 and ü', hour=3)
    fleet["devices"]["core2"].name = "Ünïcode\u2029"
    fleet["devices"]["core2"].backup_schedule = fleet["schedules"]["daily"]
    fleet["devices"]["core2"].save()
    days = calendar_for_user(user=fleet["users"]["superuser"], start=date(2027, 6, 1), days=10)

    fast = CalendarJSONRenderer().render(CalendarData(days))
    assert fast == JSONRenderer().render(days)
    assert json.loads(fast) == days


def test_query_count_is_the_same_for_10_and_500_devices_and_any_window(
    fleet: dict[str, Any], api_client: Any, add_devices: Any, make_schedule: Any
) -> None:
    client = api_client(fleet["users"]["viewer"])
    core, branch = fleet["device_groups"]["core"], fleet["device_groups"]["branch"]
    schedules = [make_schedule(hour=h) for h in range(5)]

    def count_queries(days: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            calendar(client, f"start=2027-06-01&days={days}")
        return len(queries)

    add_devices(3, device_group=core, backup_schedule=schedules[0])
    add_devices(3, device_group=branch, backup_schedule=schedules[0])
    small = count_queries(30)
    for schedule in schedules:
        add_devices(49, device_group=core, backup_schedule=schedule)
        add_devices(49, device_group=branch, backup_schedule=schedule)
    large = count_queries(30)
    # schedules + devices + the maintenance windows (their groups are read only when there
    # are some). PostgreSQL: schedules + the device lists' version and the user's groups +
    # the maintenance windows, and one more for the device lists after a write to devices.
    after_a_write, unchanged = (4, 3) if connection.vendor == "postgresql" else (3, 3)
    assert small == large == after_a_write
    assert count_queries(1) == count_queries(366) == unchanged
    days = calendar(client, "start=2027-06-01&days=1")
    assert sum(e["device_count"] for e in days["2027-06-01"]) == 1 + 3 + 49 * 5


# -- bounds (issue 14, finding 4: 200 devices on `* * * * *` made days=7 a 112 MB answer) --


def test_an_entry_lists_at_most_50_devices_by_name_and_says_it_was_cut(
    fleet: dict[str, Any], api_client: Any, add_devices: Any, sydney: ZoneInfo
) -> None:
    daily = fleet["schedules"]["daily"]
    added = add_devices(60, prefix="Bulk", backup_schedule=daily)
    days = calendar(api_client(fleet["users"]["superuser"]), "start=2027-06-07&days=2")
    for entries in days.values():
        [entry] = [e for e in entries if e["schedule_id"] == daily.pk]
        assert entry["device_count"] == 62
        assert entry["devices_truncated"] is True
        names = sorted(["Branch-Switch-01", "Core-Router-01", *(d.name for d in added)])
        assert [d["name"] for d in entry["devices"]] == names[:50]
    [weekly] = [e for e in days["2027-06-07"] if e["schedule_name"] == "Weekly Mon"]
    assert weekly["devices_truncated"] is False
    assert len(weekly["devices"]) == weekly["device_count"] == 1


def test_a_window_of_more_than_5000_entries_is_400_naming_the_limit(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    make_schedule(name="Every minute", schedule_type="cron", cron_expression="* * * * *")
    client = api_client(fleet["users"]["viewer"])
    response = client.get(f"{URL}?start=2027-06-07&days=4")  # 4 x 1,440 + the fleet's
    assert response.status_code == 400, response.content[:200]
    [message] = response.json()["days"]
    assert "5,000" in message and "5,7" in message  # the limit and what was asked for
    assert client.get(f"{URL}?start=2027-06-07&days=3").status_code == 200


def test_response_for_200_devices_on_an_every_minute_cron_is_bounded(
    fleet: dict[str, Any], api_client: Any, add_devices: Any, make_schedule: Any,
    sydney: ZoneInfo,
) -> None:
    every_minute = make_schedule(
        name="Every minute", schedule_type="cron", cron_expression="* * * * *"
    )
    add_devices(200, backup_schedule=every_minute)
    client = api_client(fleet["users"]["superuser"])
    response = client.get(f"{URL}?start=2027-06-07&days=3")
    assert response.status_code == 200
    days = response.json()
    entries = [e for day in days.values() for e in day]
    assert 3 * 1440 <= len(entries) <= 5000
    assert max(len(e["devices"]) for e in entries) == 50
    # 50 devices of ~60 bytes per entry: about 3 KB an entry, whatever the fleet size.
    assert len(response.content) < 5000 * 3_400
    assert client.get(f"{URL}?start=2027-06-07&days=7").status_code == 400


# -- the past: what really ran (issue 16) ------------------------------------------------------


def _ran(device: Any, schedule: Any, instant: Any, status: str, **fields: Any) -> Any:
    from devices.models import DeviceBackupResult

    return DeviceBackupResult.objects.create(
        device=device, schedule=schedule, schedule_name=schedule.name if schedule else "gone",
        scheduled_for=instant, status=status, **fields,
    )


def _days_ago(zone: ZoneInfo, days: int, hour: int = 2) -> Any:
    from datetime import datetime

    day = timezone.now().astimezone(zone).date() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=zone)


def _entries(days: dict[str, list[dict[str, Any]]], instant: Any, zone: ZoneInfo) -> list[Any]:
    return days[instant.astimezone(zone).date().isoformat()]


def test_past_entries_carry_result_counts_of_visible_devices_and_future_ones_do_not(
    fleet: dict[str, Any], api_client: Any, sydney: ZoneInfo
) -> None:
    from schedules.models import BackupSchedule

    daily = fleet["schedules"]["daily"]
    BackupSchedule.objects.filter(pk=daily.pk).update(updated_at=_days_ago(sydney, 10))
    two_days_ago = _days_ago(sydney, 2)
    _ran(fleet["devices"]["core1"], daily, two_days_ago, "success")
    _ran(fleet["devices"]["branch1"], daily, two_days_ago, "failed")
    start = (two_days_ago.date() - timedelta(days=1)).isoformat()
    days = calendar(api_client(fleet["users"]["viewer"]), f"start={start}&days=5")
    [ran] = [e for e in _entries(days, two_days_ago, sydney) if e["schedule_id"] == daily.pk]
    assert ran["results"] == {"success": 1}  # branch1's failure is not the viewer's to see
    assert ran["device_count"] == 1 and [d["name"] for d in ran["devices"]] == ["Core-Router-01"]
    assert set(ran) == ENTRY_FIELDS | {"results"}
    [nothing] = [e for e in _entries(days, _days_ago(sydney, 3), sydney)
                 if e["schedule_id"] == daily.pk]
    assert nothing["results"] == {} and nothing["devices"] == []  # due, nothing ran
    future = [e for entries in days.values() for e in entries if "results" not in e]
    assert future and all(set(e) == ENTRY_FIELDS for e in future)
    superuser = calendar(api_client(fleet["users"]["superuser"]), f"start={start}&days=5")
    [both] = [e for e in _entries(superuser, two_days_ago, sydney)
              if e["schedule_id"] == daily.pk]
    assert both["results"] == {"success": 1, "failed": 1} and both["device_count"] == 2


def test_an_edited_schedule_shows_its_old_time_in_the_past(
    fleet: dict[str, Any], api_client: Any, sydney: ZoneInfo
) -> None:
    from schedules.services import schedule_update

    daily = fleet["schedules"]["daily"]
    two_days_ago = _days_ago(sydney, 2, hour=2)
    _ran(fleet["devices"]["core1"], daily, two_days_ago, "success")
    schedule_update(schedule=daily, data={"hour": 5})  # 02:00 -> 05:00 today
    start = two_days_ago.date().isoformat()
    days = calendar(api_client(fleet["users"]["viewer"]), f"start={start}&days=1")
    mine = [e for e in days[start] if e["schedule_id"] == daily.pk]
    assert [(e["time"], e["results"]) for e in mine] == [("02:00", {"success": 1})]


def test_a_deleted_schedule_still_shows_in_the_past_under_its_name(
    fleet: dict[str, Any], api_client: Any, sydney: ZoneInfo
) -> None:
    weekly = fleet["schedules"]["weekly"]
    instant = _days_ago(sydney, 3, hour=3)
    _ran(fleet["devices"]["core2"], weekly, instant, "failed", error="timeout")
    weekly.delete()
    start = instant.date().isoformat()
    body = calendar(api_client(fleet["users"]["viewer"]), f"start={start}&days=1")
    [gone] = [e for e in body[start] if e["schedule_name"] == "Weekly Mon"]
    assert gone["schedule_id"] is None and gone["results"] == {"failed": 1}
    assert gone["time"] == "03:00"
    days = calendar_for_user(user=fleet["users"]["viewer"], start=instant.date(), days=1)
    assert CalendarJSONRenderer().render(CalendarData(days)) == JSONRenderer().render(days)


def test_manual_runs_are_not_occurrences_on_the_calendar(
    fleet: dict[str, Any], api_client: Any, sydney: ZoneInfo
) -> None:
    instant = _days_ago(sydney, 1, hour=14)
    _ran(fleet["devices"]["core1"], fleet["schedules"]["daily"], instant, "success",
         manual=True)
    start = instant.date().isoformat()
    body = calendar(api_client(fleet["users"]["viewer"]), f"start={start}&days=1")
    assert "14:00" not in {e["time"] for e in body[start]}


def test_query_count_of_a_past_window_is_fixed(
    fleet: dict[str, Any], api_client: Any, add_devices: Any, sydney: ZoneInfo
) -> None:
    daily = fleet["schedules"]["daily"]
    client = api_client(fleet["users"]["viewer"])
    start = _days_ago(sydney, 20).date().isoformat()

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            calendar(client, f"start={start}&days=30")
        return len(queries)

    _ran(fleet["devices"]["core1"], daily, _days_ago(sydney, 5), "success")
    small = count_queries()
    devices = add_devices(60, device_group=fleet["device_groups"]["core"],
                          backup_schedule=daily)
    for days_ago in range(1, 15):
        for device in devices:
            _ran(device, daily, _days_ago(sydney, days_ago), "success")
    # the past's 2, devices, schedules, windows; PostgreSQL: the past's 2, the device lists'
    # version and the user's groups, schedules, windows, and the device lists after a write
    after_a_write, unchanged = (6, 5) if connection.vendor == "postgresql" else (5, 5)
    assert count_queries() == small == after_a_write
    assert count_queries() == unchanged
    days = calendar(client, f"start={start}&days=30")
    [entry] = [e for e in _entries(days, _days_ago(sydney, 3), sydney)
               if e["schedule_id"] == daily.pk]
    assert entry["device_count"] == 60 and len(entry["devices"]) == 50
    assert entry["devices_truncated"] is True
    assert [d["name"] for d in entry["devices"]] == sorted(d["name"] for d in entry["devices"])


def test_an_occurrence_a_defer_window_holds_shows_at_its_end_and_says_when_it_was_planned(
    fleet: dict[str, Any], api_client: Any, make_schedule: Any, sydney: ZoneInfo
) -> None:
    from devices.models import MaintenanceWindow

    make_schedule(name="Late night", hour=23, minute=30)
    MaintenanceWindow.objects.create(  # 23:00-00:30 every night: 23:30 fires at 00:30
        name="Night freeze", policy="defer", schedule_type="daily", hour=23, minute=0,
        duration_minutes=90)
    days = calendar(api_client(fleet["users"]["viewer"]), "start=2027-06-01&days=2")
    june_2 = [e for e in days["2027-06-02"] if e["schedule_name"] == "Late night"]
    assert [(e["time"], e["deferred_from"]) for e in june_2] == [("00:30", "23:30")]
    assert all("deferred_from" not in e for entries in days.values() for e in entries
               if e["schedule_name"] != "Late night")
