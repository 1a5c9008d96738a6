"""`import_inventory`: idempotent upsert by name, all-or-nothing, errors that name the
record and the field."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from devices.models import CollectionGroup, Device, DeviceGroup
from schedules.models import BackupSchedule

pytestmark = pytest.mark.django_db
DEMO = Path(__file__).resolve().parents[2] / "config" / "demo-inventory.yaml"

GOOD = """
collection_groups: [sydney-dc1]
device_groups:
  - name: core
    user_groups: [netops]
schedules:
  - {name: "Daily 2 AM", schedule_type: daily, hour: 2, minute: 0}
  - {name: "Weekly Mon", schedule_type: weekly, day_of_week: 0, hour: 3, minute: 30}
  - {name: "Monthly 31st", schedule_type: monthly, day_of_month: 31, hour: 1, minute: 0}
devices:
  - {name: Core-Router-01, ip_address: 127.0.0.11, device_group: core,
     collection_group: sydney-dc1, backup_schedule: "Daily 2 AM", enabled: true}
"""


def run(tmp_path: Path, text: str, *args: str) -> str:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    out = StringIO()
    call_command("import_inventory", str(path), *args, stdout=out)
    return out.getvalue()


def snapshot() -> list[object]:
    return [
        list(BackupSchedule.objects.values_list("name", "hour", "minute", "enabled")),
        list(Device.objects.values_list("name", "ip_address", "backup_schedule__name")),
        list(DeviceGroup.objects.values_list("name", "user_groups__name")),
        list(CollectionGroup.objects.values_list("name", "slug")),
    ]


def test_good_file_imports_and_a_second_run_reports_everything_unchanged(tmp_path: Path) -> None:
    first = run(tmp_path, GOOD)
    assert "schedules: 3 created" in first and "devices: 1 created" in first
    device = Device.objects.get(name="Core-Router-01")
    assert device.backup_schedule.name == "Daily 2 AM"  # type: ignore[union-attr]
    assert device.collection_group.slug == "sydney-dc1"  # type: ignore[union-attr]
    assert Group.objects.filter(name="netops").exists()  # auth groups are created
    assert device.device_group.user_groups.get().name == "netops"  # type: ignore[union-attr]
    second = run(tmp_path, GOOD)
    assert second.strip() == (
        "collection_groups: 0 created, 0 updated, 1 unchanged; "
        "device_groups: 0 created, 0 updated, 1 unchanged; "
        "schedules: 0 created, 0 updated, 3 unchanged; "
        "devices: 0 created, 0 updated, 1 unchanged"
    )


def test_changed_records_are_updated_by_name(tmp_path: Path) -> None:
    run(tmp_path, GOOD)
    out = run(tmp_path, GOOD.replace("hour: 2, minute: 0", "hour: 4, minute: 15"))
    assert "schedules: 0 created, 1 updated, 2 unchanged" in out
    schedule = BackupSchedule.objects.get(name="Daily 2 AM")
    assert (schedule.hour, schedule.minute) == (4, 15)


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (("hour: 2, minute: 0", "hour: 24, minute: 0"), "schedules[0] (Daily 2 AM): hour:"),
        (('"Weekly Mon", schedule_type: weekly, day_of_week: 0,',
          '"Weekly Tue", schedule_type: weekly,'), "schedules[1] (Weekly Tue): day_of_week:"),
        (("ip_address: 127.0.0.11", "ip_address: not-an-ip"),
         "devices[0] (Core-Router-01): ip_address:"),
        (('backup_schedule: "Daily 2 AM"', 'backup_schedule: "Hourly"'),
         "devices[0] (Core-Router-01): backup_schedule: unknown schedule 'Hourly'"),
        (("collection_group: sydney-dc1,", "collection_group: perth,"),
         "devices[0] (Core-Router-01): collection_group: unknown collection group 'perth'"),
        (("device_group: core,", "device_group: edge,"),
         "devices[0] (Core-Router-01): device_group: unknown device group 'edge'"),
        (("enabled: true}", "enabled: maybe}"), "devices[0] (Core-Router-01): enabled:"),
        (("schedule_type: daily", "schedule_type: hourly"),
         "schedules[0] (Daily 2 AM): schedule_type:"),
        (("hour: 1, minute: 0}", "hour: 1, minute: 0, colour: red}"),
         "schedules[2] (Monthly 31st): colour: unknown field"),
    ],
)
def test_a_bad_record_changes_nothing_and_names_record_and_field(
    tmp_path: Path, mutation: tuple[str, str], expected: str
) -> None:
    run(tmp_path, GOOD.replace("Core-Router-01", "Existing-01"))  # something already stored
    before = snapshot()
    text = GOOD.replace(*mutation)
    assert text != GOOD
    with pytest.raises(CommandError) as err:
        run(tmp_path, text)
    assert expected in str(err.value)
    assert "nothing imported" in str(err.value)
    assert snapshot() == before


def test_cron_schedule_with_an_invalid_expression_is_rejected(tmp_path: Path) -> None:
    text = 'schedules:\n  - {name: c, schedule_type: cron, cron_expression: "61 * * * *"}\n'
    with pytest.raises(CommandError, match=r"schedules\[0\] \(c\): cron_expression:"):
        run(tmp_path, text)
    assert not BackupSchedule.objects.exists()


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("hour: 2, minute: 0", "hour: 25, minute: 0").replace(
        "ip_address: 127.0.0.11", "ip_address: 999.1.1.1")
    with pytest.raises(CommandError) as err:
        run(tmp_path, text)
    assert "2 error(s)" in str(err.value)


def test_dry_run_validates_and_writes_nothing(tmp_path: Path) -> None:
    out = run(tmp_path, GOOD, "--dry-run")
    assert out.startswith("dry run, nothing written:") and "schedules: 3 created" in out
    assert not BackupSchedule.objects.exists() and not Device.objects.exists()


def test_names_may_refer_to_objects_already_in_the_database(tmp_path: Path) -> None:
    run(tmp_path, GOOD)
    out = run(tmp_path, "devices:\n  - {name: R2, ip_address: 127.0.0.12, "
                        "backup_schedule: Weekly Mon, collection_group: sydney-dc1}\n")
    assert "devices: 1 created" in out
    assert Device.objects.get(name="R2").backup_schedule.name == "Weekly Mon"  # type: ignore[union-attr]


def test_unreadable_or_malformed_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="file not found"):
        call_command("import_inventory", str(tmp_path / "missing.yaml"))
    with pytest.raises(CommandError, match="invalid YAML"):
        run(tmp_path, "devices: [\n")
    with pytest.raises(CommandError, match="devices: expected a list"):
        run(tmp_path, "devices: 5\n")
    with pytest.raises(CommandError, match="hosts: unknown section"):
        run(tmp_path, "hosts: []\n")


def test_shipped_demo_inventory_imports_with_loopback_addresses_only() -> None:
    call_command("import_inventory", str(DEMO), stdout=StringIO())
    assert Device.objects.count() >= 5
    assert all(ip.startswith("127.") for ip in Device.objects.values_list("ip_address", flat=True))


def test_the_demo_backs_up_every_device_but_one_whose_file_is_missing(settings: Any) -> None:
    from datetime import UTC, datetime

    from devices.collection.service import run_collection
    from devices.models import DeviceBackupResult

    settings.LOCAL_COLLECT_ROOT = DEMO.parent / "demo-devices"  # what start copies to var/
    call_command("import_inventory", str(DEMO), stdout=StringIO())
    outcomes = {}
    for device in Device.objects.all():
        assert device.backup_method == "local", device.name
        result = DeviceBackupResult.objects.create(device=device, scheduled_for=datetime.now(UTC))
        run_collection(result.pk)
        result.refresh_from_db()
        outcomes[device.name] = result.error or result.status
    assert outcomes.pop("Branch-Router-01") == (
        f"local: file not found: branch-router-01.cfg (in {DEMO.parent / 'demo-devices'})"
    )
    assert set(outcomes.values()) == {"success"}, outcomes
    assert Device.objects.get(name="Branch-Router-01").backup_schedule.name == "Daily 2 AM"  # type: ignore[union-attr]


def test_a_local_device_without_a_file_is_a_located_error(tmp_path: Path) -> None:
    text = "devices:\n  - {name: Host-01, ip_address: 127.0.0.41, backup_method: local}\n"
    with pytest.raises(CommandError, match=r"devices\[0\] \(Host-01\): backup_command: the "
                                           r"local method needs the file to back up"):
        run(tmp_path, text)
    assert not Device.objects.exists()


def test_collection_settings_refer_to_a_stored_credential_set_by_name(tmp_path: Path) -> None:
    from devices.models import CredentialSet

    CredentialSet.objects.create(name="lab-ssh", username="backup")
    text = (
        "device_groups:\n  - {name: lab, credential_set: lab-ssh}\n"
        "devices:\n  - {name: Lab-Linux-01, ip_address: 127.0.0.41, device_group: lab,\n"
        "     backup_method: ssh, platform: linux, backup_command: cat /etc/motd,\n"
        "     credential_set: lab-ssh}\n"
    )
    run(tmp_path, text)
    device = Device.objects.get(name="Lab-Linux-01")
    assert (device.backup_method, device.platform, device.backup_command) == (
        "ssh", "linux", "cat /etc/motd")
    assert device.credential_set.name == "lab-ssh"  # type: ignore[union-attr]
    assert device.device_group.credential_set.name == "lab-ssh"  # type: ignore[union-attr]
    assert "unchanged" in run(tmp_path, text) and "0 updated" in run(tmp_path, text)
    with pytest.raises(CommandError, match=r"devices\[0\] \(Lab-Linux-01\): credential_set: "
                                           r"unknown credential set 'nope'"):
        run(tmp_path, text.replace("credential_set: lab-ssh}", "credential_set: nope}"))
    with pytest.raises(CommandError, match=r"devices\[0\] \(Lab-Linux-01\): platform:"):
        run(tmp_path, text.replace("platform: linux", "platform: junos"))


# -- bad input that used to end in a traceback (issue 14, finding 7) -------------------------


def refused(tmp_path: Path, text: str) -> str:
    """The command's error for `text`: a CommandError (never a database error or traceback),
    one short line per problem, and nothing written."""
    before = snapshot()
    with pytest.raises(CommandError) as err:
        run(tmp_path, text)
    message = str(err.value)
    assert "nothing imported" in message
    assert all(len(line) < 500 for line in message.splitlines()), message[:2000]
    assert snapshot() == before
    return message


def test_a_device_group_name_longer_than_the_column_is_a_located_error(tmp_path: Path) -> None:
    name = "g" * 150
    message = refused(tmp_path, GOOD.replace("name: core", f"name: {name}").replace(
        "device_group: core", f"device_group: {name}"))
    assert "device_groups[0]" in message and "name: Ensure this value has at most 100" in message


def test_collection_groups_whose_names_make_the_same_slug_are_a_located_error(
    tmp_path: Path,
) -> None:
    message = refused(tmp_path, "collection_groups: [Sydney DC1, sydney-dc1]\n")
    assert "collection_groups[1] (sydney-dc1): slug: 'sydney-dc1' is already the slug of " \
        "collection group 'Sydney DC1'" in message
    run(tmp_path, "collection_groups: [Sydney DC1]\n")
    message = refused(tmp_path, "collection_groups: [{name: Other, slug: sydney-dc1}]\n")
    assert "collection_groups[0] (Other): slug:" in message


def test_a_user_group_name_longer_than_django_allows_is_a_located_error(tmp_path: Path) -> None:
    message = refused(tmp_path, GOOD.replace("user_groups: [netops]",
                                             f"user_groups: [netops, {'u' * 151}]"))
    assert "device_groups[0] (core): user_groups: " in message
    assert "at most 150 characters" in message
    assert not Group.objects.exists()


BOMB = """\
a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
devices: [*f, {name: r1, ip_address: *f}]
"""


def test_a_yaml_alias_bomb_is_refused_with_a_short_located_error(tmp_path: Path) -> None:
    assert len(BOMB) < 400
    message = refused(tmp_path, BOMB)
    assert len(message) < 1000, len(message)
    assert "line 6" in message and "alias" in message


def test_values_in_error_messages_are_shortened(tmp_path: Path) -> None:
    small_bomb = "\n".join(BOMB.splitlines()[:4]) + "\ndevices: [*d]\nhosts: *d\n"
    message = refused(tmp_path, small_bomb)  # 729 leaves: under the alias limit
    assert "devices[0]: expected a mapping, got [[[" in message
    assert len(message) < 2000, len(message)


def test_recursive_aliases_are_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, "devices: &loop [*loop]\n")
    assert "line 1" in message and "refers to itself" in message


WINDOWS = GOOD + """
maintenance_windows:
  - {name: "Core freeze", schedule_type: daily, hour: 23, minute: 0, duration_minutes: 180,
     policy: defer, device_groups: [core]}
  - {name: "Migration", schedule_type: once, start: "2027-06-05T22:00:00+10:00",
     duration_minutes: 240, policy: skip, collection_groups: [sydney-dc1]}
"""


def test_maintenance_windows_import_with_their_scope_and_a_rerun_changes_nothing(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from devices.models import MaintenanceWindow

    first = run(tmp_path, WINDOWS)
    assert "maintenance_windows: 2 created" in first
    freeze = MaintenanceWindow.objects.get(name="Core freeze")
    assert (freeze.policy, freeze.hour, freeze.duration_minutes) == ("defer", 23, 180)
    assert [g.name for g in freeze.device_groups.all()] == ["core"]
    migration = MaintenanceWindow.objects.get(name="Migration")
    assert migration.start == datetime(2027, 6, 5, 12, tzinfo=UTC)
    assert [g.slug for g in migration.collection_groups.all()] == ["sydney-dc1"]
    assert "maintenance_windows: 0 created, 0 updated, 2 unchanged" in run(tmp_path, WINDOWS)
    widened = WINDOWS.replace("policy: defer, device_groups: [core]", "policy: defer")
    assert "maintenance_windows: 0 created, 1 updated, 1 unchanged" in run(tmp_path, widened)
    assert not MaintenanceWindow.objects.get(name="Core freeze").device_groups.exists()


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (("device_groups: [core]}", "device_groups: [edge]}"),
         "maintenance_windows[0] (Core freeze): device_groups: unknown device group 'edge'"),
        (("duration_minutes: 180", "duration_minutes: 0"),
         "maintenance_windows[0] (Core freeze): duration_minutes: Duration must be"),
        (('start: "2027-06-05T22:00:00+10:00"', 'start: "next friday"'),
         "maintenance_windows[1] (Migration): start: expected a date and time"),
        (("hour: 23, minute: 0, duration", "hour: '23', minute: 0, duration"),
         "maintenance_windows[0] (Core freeze): hour: expected a whole number"),
        (("policy: skip", "policy: pause"), "maintenance_windows[1] (Migration): policy:"),
    ],
)
def test_a_bad_maintenance_window_is_a_located_error_and_nothing_is_imported(
    tmp_path: Path, mutation: tuple[str, str], expected: str
) -> None:
    from devices.models import MaintenanceWindow

    text = WINDOWS.replace(*mutation)
    assert text != WINDOWS
    with pytest.raises(CommandError) as err:
        run(tmp_path, text)
    assert expected in str(err.value) and "nothing imported" in str(err.value)
    assert not MaintenanceWindow.objects.exists() and not Device.objects.exists()
